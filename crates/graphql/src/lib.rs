//! Kindred's GraphQL API over the store: customers with their interactions, ties and needs,
//! and the mutations that write them.
//!
//! Nested lists are loaded through one [`DataLoader`](async_graphql::dataloader::DataLoader)
//! per request, so a field costs one query per request whatever the number of parents.
//! Query depth, complexity and page size are limited.

pub mod access;
pub mod api_keys;
pub mod audit;
mod context;
mod error;
mod error_code;
pub mod heavy;
pub mod identity;
pub mod keys;
mod loaders;
pub mod metrics;
pub mod mutation;
mod pagination;
pub mod plugins;
pub mod previews;
pub mod query;
pub mod rights;
pub mod segmentations;
mod types;

use async_graphql::dataloader::DataLoader;
use async_graphql::{MergedObject, Schema};
use kindred_engine::Engine;
use kindred_plugin_host::PluginHost;
use kindred_store::Store;
use std::sync::Arc;

pub use error::ApiError;
pub use error_code::ErrorCode;
pub use loaders::StoreLoader;
pub use pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The deepest query accepted.
pub const MAX_DEPTH: usize = 10;
/// The most complex query accepted (roughly, fields times page sizes).
pub const MAX_COMPLEXITY: usize = 20_000;

/// Every query field.
#[derive(MergedObject, Default)]
pub struct Query(
    query::QueryRoot,
    plugins::PluginQuery,
    previews::PreviewQuery,
    segmentations::SegmentationQuery,
    audit::AuditQuery,
    rights::RightsQuery,
    api_keys::ApiKeyQuery,
    identity::IdentityQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::MutationRoot,
    segmentations::SegmentationMutation,
    previews::PreviewMutation,
    segmentations::webhooks::WebhookMutation,
    rights::RightsMutation,
    api_keys::ApiKeyMutation,
    plugins::PluginMutation,
    identity::IdentityMutation,
);

/// Kindred's schema type.
pub type KindredSchema = Schema<Query, Mutation, segmentations::SubscriptionRoot>;

/// Builds the schema over `store`, the loaded `plugins` and the segmentation `engine` (without
/// one, segmentations can be read but not changed, and writes re-assign nothing), with
/// Kindred's limits. Requests without a [`Caller`](access::Caller) may do everything and
/// mutations are not audited: for programs that embed the schema, and tests. A server uses
/// [`build_server_schema`].
pub fn build_schema(store: Store, plugins: Arc<PluginHost>, engine: Option<Engine>) -> KindredSchema {
    let access = access::AccessControl::new(None, false);
    schema_with(store, plugins, engine, access, None, InputRules::default())
}

/// The schema a server serves: every request must carry a [`Caller`](access::Caller) (the
/// server puts one in each request's data), every field is checked against its role, and
/// every mutation is recorded in `audit`.
/// Inputs are checked against `input` (`data.max_amount`, `identity.default_phone_region`);
/// `reloadPlugins` reads the plugin settings from `plugin_settings`.
pub fn build_server_schema(
    store: Store,
    plugins: Arc<PluginHost>,
    engine: Option<Engine>,
    audit: audit::AuditLog,
    heavy: Arc<heavy::HeavyWork>,
    input: InputRules,
    plugin_settings: plugins::PluginSettingsSource,
) -> KindredSchema {
    let access = access::AccessControl::new(Some(audit), true);
    let server = ServerData { heavy, plugin_settings };
    schema_with(store, plugins, engine, access, Some(server), input)
}

/// What only a server's schema carries.
struct ServerData {
    heavy: Arc<heavy::HeavyWork>,
    plugin_settings: plugins::PluginSettingsSource,
}

/// What inputs are checked against, in the schema's data.
#[derive(Debug, Clone, Copy)]
pub struct InputRules {
    /// The largest amount (and cost to serve) an interaction may carry.
    pub max_amount: f64,
    /// The region national phone numbers are read in; none: only international ones.
    pub phone_region: Option<kindred_domain::PhoneRegion>,
    /// Probabilistic matching merges pairs at or above this probability.
    pub auto_merge_probability: f64,
    /// ...and queues for review those at or above this one.
    pub review_probability: f64,
}

impl Default for InputRules {
    fn default() -> Self {
        Self {
            max_amount: kindred_domain::Plausible::DEFAULT_MAX_AMOUNT,
            phone_region: None,
            auto_merge_probability: 0.95,
            review_probability: 0.8,
        }
    }
}

fn schema_with(
    store: Store,
    plugins: Arc<PluginHost>,
    engine: Option<Engine>,
    access: access::AccessControl,
    server: Option<ServerData>,
    input: InputRules,
) -> KindredSchema {
    // Subscriptions have no per-request data: they load through this loader, which batches
    // and never caches.
    let subscription_loader = request_loader(&store);
    let mut schema = Schema::build(Query::default(), Mutation::default(), segmentations::SubscriptionRoot)
        .data(subscription_loader)
        .data(store)
        .data(plugins)
        .data(access.policy())
        .data(input)
        .extension(access)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(engine) = engine {
        schema = schema.data(engine);
    }
    if let Some(server) = server {
        schema = schema.data(server.heavy).data(server.plugin_settings);
    }
    schema.finish()
}

/// A fresh loader for one request: batches and caches loads for that request only.
pub fn request_loader(store: &Store) -> DataLoader<StoreLoader> {
    DataLoader::new(StoreLoader::new(store.clone()), tokio::spawn)
}

/// The schema in SDL, as `kindred schema` prints it.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), segmentations::SubscriptionRoot).finish().sdl()
}
