//! The plugins the server loaded: their strategies, versions, parameters and status.

use crate::error::ApiResult;
use async_graphql::{Context, Enum, Json, Object, SimpleObject};
use kindred_plugin_host::Plugin as HostPlugin;

/// Whether a plugin can be used.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kindred_plugin_host::PluginStatus")]
pub enum PluginStatus {
    /// Loaded and checked.
    Loaded,
    /// Missing, incompatible or failing: `error` says why.
    Refused,
    /// Turned off in the settings.
    Disabled,
}

/// A plugin's failed calls since the server loaded it.
#[derive(SimpleObject)]
pub struct PluginFailures {
    /// How many calls failed.
    count: i64,
    /// The last failure's message.
    last_error: Option<String>,
    /// When it happened.
    last_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A segmentation strategy plugin listed in the settings.
pub struct Plugin(HostPlugin);

#[Object]
impl Plugin {
    /// The name it is known by (from the settings).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The strategy's own name, from the library.
    async fn strategy(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.name.as_str())
    }

    /// The plugin's version.
    async fn version(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.version.as_str())
    }

    /// The SDK version it was built with.
    async fn sdk_version(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.sdk_version.as_str())
    }

    /// `major.minor` of the plugin ABI it was built against.
    async fn abi_version(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.abi_version.as_str())
    }

    /// LOADED, REFUSED or DISABLED.
    async fn status(&self) -> PluginStatus {
        self.0.status.into()
    }

    /// Why it was refused.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// Its calls that failed since the server loaded it (errors, panics, crashes, refused
    /// outputs): how many, and the last one; none while it has not failed.
    async fn failures(&self) -> PluginFailures {
        let failures = self.0.library.as_ref().map(|library| library.failures.snapshot()).unwrap_or_default();
        PluginFailures {
            count: i64::try_from(failures.count).unwrap_or(i64::MAX),
            last_error: failures.last_error,
            last_at: failures.last_at,
        }
    }

    /// The library file.
    async fn path(&self) -> String {
        self.0.path.display().to_string()
    }

    /// What the strategy does.
    async fn description(&self) -> Option<&str> {
        self.0.library.as_ref().map(|library| library.description.summary.as_str())
    }

    /// JSON Schema of its parameters.
    async fn params_schema(&self) -> Option<Json<serde_json::Value>> {
        self.0.library.as_ref().map(|library| Json(library.description.params_schema.clone()))
    }

    /// The parameters from the settings that a segmentation starts from.
    async fn default_params(&self) -> Json<serde_json::Value> {
        Json(self.0.default_params.clone())
    }

    /// The columns it reads, by table.
    async fn inputs(&self) -> Vec<PluginInput> {
        let Some(library) = &self.0.library else { return Vec::new() };
        let inputs = &library.description.inputs;
        inputs
            .iter()
            .map(|(table, columns)| PluginInput { table: table.clone(), columns: columns.clone() })
            .collect()
    }

    /// The segments it can produce, when known in advance.
    async fn segments(&self) -> Vec<String> {
        self.0.library.as_ref().map(|library| library.description.segments.clone()).unwrap_or_default()
    }
}

/// Columns a strategy reads from one table.
#[derive(SimpleObject)]
pub struct PluginInput {
    /// customers, interactions, ties or needs.
    table: String,
    /// The columns (the table's keys always come too).
    columns: Vec<String>,
}

/// Queries about plugins.
#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Every plugin listed in the settings: loaded, refused (with the reason) or disabled.
    async fn plugins(&self, ctx: &Context<'_>) -> ApiResult<Vec<Plugin>> {
        Ok(crate::context::host(ctx)?.plugins().iter().cloned().map(Plugin).collect())
    }
}
