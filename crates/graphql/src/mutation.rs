//! Mutations: write customers, interactions, ties and needs.

use crate::context::store;
use crate::error::{ApiError, ApiResult, api};
use crate::query::parse_id;
use crate::types::{Customer, Interaction, Need, Tie};
use async_graphql::{ID, InputObject, Json, Object};
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft, TieKind, Token};
use kindred_store::StoreError;
use std::collections::BTreeMap;

/// A customer's profile. Fields left out (or null) keep what is stored.
#[derive(InputObject)]
pub(crate) struct CustomerInput {
    /// The key: the id in the system the customer came from.
    external_id: String,
    /// The system the record comes from (`shop`, `web`...): the external id is an identifier
    /// of that origin. Default: `default`.
    origin: Option<String>,
    email: Option<String>,
    /// International (`+49 30 1234567`), or national in `identity.default_phone_region`;
    /// stored in E.164.
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// `YYYY-MM-DD`.
    birth_date: Option<String>,
    /// female, male, non_binary or other.
    gender: Option<String>,
    income: Option<f64>,
    education: Option<String>,
    occupation: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    region: Option<String>,
    city: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    /// Any case and spacing; stored in upper case.
    postcode: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    /// Replaces the lifestyle tags when given.
    lifestyle: Option<Vec<String>>,
    consent_marketing: Option<bool>,
    consent_profiling: Option<bool>,
    /// Network -> handle; merged into the stored ones.
    social_handles: Option<Json<BTreeMap<String, String>>>,
    /// Free attributes; merged into the stored ones.
    attributes: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

/// Something a customer did or said.
#[derive(InputObject)]
pub(crate) struct InteractionInput {
    customer_external_id: String,
    /// RFC 3339 or `YYYY-MM-DD`.
    occurred_at: String,
    /// Defaults to `purchase`.
    kind: Option<String>,
    channel: Option<String>,
    amount: Option<f64>,
    currency: Option<String>,
    cost_to_serve: Option<f64>,
    text: Option<String>,
    /// The id in the source system; recording the same one twice is a no-op.
    source_id: Option<String>,
}

/// A tie between two customers.
#[derive(InputObject)]
pub(crate) struct TieInput {
    from_external_id: String,
    to_external_id: String,
    /// Defaults to `friend`.
    kind: Option<String>,
    /// 0..1, defaults to 1.
    weight: Option<f64>,
    /// Defaults to true.
    mutual: Option<bool>,
}

/// A customer's need.
#[derive(InputObject)]
pub(crate) struct NeedInput {
    customer_external_id: String,
    tag: String,
    /// interest (default), passion, need or job.
    kind: Option<String>,
    /// declared (default) or inferred.
    source: Option<String>,
    /// 0..1, defaults to 1.
    weight: Option<f64>,
}

/// The entry points for writing.
#[derive(Default)]
pub struct MutationRoot;

/// Maps a store error, naming the input field of an erased customer: `field_of` tells the
/// field from the erased external id.
fn erased_as(field_of: impl Fn(&str) -> &'static str) -> impl Fn(StoreError) -> async_graphql::Error {
    move |error| match error {
        StoreError::Erased { external_id } => api(ApiError::Erased { field: field_of(&external_id) }),
        other => api(other),
    }
}

/// Wakes the segmentation engine (when there is one) after a write: the store queued the
/// customers it touched in the write's transaction, and dynamic segments re-assign them. The
/// write does not wait.
fn wake_engine(ctx: &async_graphql::Context<'_>) {
    if let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() {
        engine.written();
    }
}

#[Object]
impl MutationRoot {
    /// Creates a customer or updates the one the record's identifiers name: its external id
    /// (or an alias of a merged customer), email, phone or social handles, by the `[identity]`
    /// rules; a record that names several customers merges them (logged, see `mergeLog`), and
    /// the customer returned is the one that stays. A customer who was erased is refused
    /// (CONFLICT on `externalId`) unless `allowErased` is true, which re-creates them and
    /// removes their tombstone.
    async fn upsert_customer(
        &self,
        ctx: &async_graphql::Context<'_>,
        input: CustomerInput,
        allow_erased: Option<bool>,
    ) -> ApiResult<Customer> {
        let draft = CustomerDraft {
            external_id: input.external_id,
            origin: input.origin,
            email: input.email,
            phone: input.phone,
            first_name: input.first_name,
            last_name: input.last_name,
            birth_date: input.birth_date,
            gender: input.gender,
            income: input.income,
            education: input.education,
            occupation: input.occupation,
            country: input.country,
            region: input.region,
            city: input.city,
            address_line1: input.address_line1,
            address_line2: input.address_line2,
            postcode: input.postcode,
            lat: input.lat,
            lon: input.lon,
            lifestyle: input.lifestyle.unwrap_or_default(),
            consent_marketing: input.consent_marketing,
            consent_profiling: input.consent_profiling,
            social_handles: input.social_handles.map(|j| j.0).unwrap_or_default(),
            attributes: input.attributes.map(|j| j.0).unwrap_or_default(),
        };
        let region = ctx.data_opt::<crate::InputRules>().and_then(|rules| rules.phone_region);
        let customer = draft.validate_in(chrono::Utc::now().date_naive(), region).map_err(api)?;
        let written = store(ctx)?
            .write_customer(customer, allow_erased.unwrap_or(false), &crate::identity::actor(ctx))
            .await
            .map_err(erased_as(|_| "externalId"))?;
        crate::identity::publish_merges(ctx, &written.merges);
        wake_engine(ctx);
        Ok(Customer(written.customer))
    }

    /// Records an interaction; its customer is created if unknown.
    async fn record_interaction(
        &self,
        ctx: &async_graphql::Context<'_>,
        input: InteractionInput,
    ) -> ApiResult<Interaction> {
        let draft = InteractionDraft {
            customer_external_id: input.customer_external_id,
            occurred_at: input.occurred_at,
            channel: input.channel,
            kind: input.kind,
            amount: input.amount,
            currency: input.currency,
            cost_to_serve: input.cost_to_serve,
            text: input.text,
            source_id: input.source_id,
        };
        let max_amount = ctx.data_opt::<crate::InputRules>().copied().unwrap_or_default().max_amount;
        let interaction = draft.validate_with(&kindred_domain::Plausible::now(max_amount)).map_err(api)?;
        let (stored, _) = store(ctx)?
            .record_interaction(&interaction)
            .await
            .map_err(erased_as(|_| "customerExternalId"))?;
        wake_engine(ctx);
        Ok(Interaction(stored))
    }

    /// Adds a tie (or updates its weight); unknown customers are created.
    async fn add_tie(&self, ctx: &async_graphql::Context<'_>, input: TieInput) -> ApiResult<Tie> {
        let draft = TieDraft {
            from_external_id: input.from_external_id,
            to_external_id: input.to_external_id,
            kind: input.kind,
            weight: input.weight,
            mutual: input.mutual,
        };
        let from = draft.from_external_id.trim().to_owned();
        let tie = draft.validate().map_err(api)?;
        let field_of = |erased: &str| if erased == from { "fromExternalId" } else { "toExternalId" };
        let (stored, _) = store(ctx)?.add_tie(&tie).await.map_err(erased_as(field_of))?;
        wake_engine(ctx);
        Ok(Tie(stored))
    }

    /// Removes a tie of a kind between two customers. Returns whether one was removed.
    async fn remove_tie(
        &self,
        ctx: &async_graphql::Context<'_>,
        from_external_id: String,
        to_external_id: String,
        #[graphql(default = "friend")] kind: String,
    ) -> ApiResult<bool> {
        let kind = TieKind::parse("kind", &kind).map_err(api)?;
        let removed = store(ctx)?.remove_tie(&from_external_id, &to_external_id, kind).await.map_err(api)?;
        wake_engine(ctx);
        Ok(!removed.is_empty())
    }

    /// Adds a need to a customer (or updates it); an unknown customer is created.
    async fn add_need(&self, ctx: &async_graphql::Context<'_>, input: NeedInput) -> ApiResult<Need> {
        let draft = NeedDraft {
            customer_external_id: input.customer_external_id,
            tag: input.tag,
            kind: input.kind,
            source: input.source,
            weight: input.weight,
        };
        let need = draft.validate().map_err(api)?;
        let (stored, _) = store(ctx)?.add_need(&need).await.map_err(erased_as(|_| "customerExternalId"))?;
        wake_engine(ctx);
        Ok(Need(stored))
    }

    /// Removes a customer's need by tag. Returns whether one was removed.
    async fn remove_need(
        &self,
        ctx: &async_graphql::Context<'_>,
        customer_external_id: String,
        tag: String,
    ) -> ApiResult<bool> {
        let tag = Token::parse("tag", &tag).map_err(api)?;
        let removed = store(ctx)?.remove_need(&customer_external_id, &tag).await.map_err(api)?;
        wake_engine(ctx);
        Ok(removed.is_some())
    }

    /// Deletes a customer with their interactions, ties and needs, and returns its id; an
    /// unknown id is NOT_FOUND.
    async fn delete_customer(&self, ctx: &async_graphql::Context<'_>, id: ID) -> ApiResult<ID> {
        let key = parse_id("id", &id).map_err(api)?;
        let store = store(ctx)?;
        if store.delete_customer(key).await.map_err(api)? {
            // The exits it queued are published from the store, on every server.
            if let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() {
                engine.customer_deleted();
            }
            Ok(id)
        } else {
            Err(api(crate::ApiError::NotFound { what: "customer", key: id.to_string() }))
        }
    }
}
