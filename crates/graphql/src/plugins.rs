//! The plugins the server loaded: their strategies, versions, parameters and status.

use crate::context::engine;
use crate::error::{ApiError, ApiResult, api};
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use kindred_plugin_host::{Plugin as HostPlugin, PluginConfig};
use std::path::PathBuf;
use std::sync::Arc;

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
pub struct Plugin(Arc<HostPlugin>);

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

    /// Why it was refused, or why its last reload kept the build it had.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The SHA-256 (hex) of the build the server runs.
    async fn sha256(&self) -> Option<&str> {
        self.0.sha256.as_deref()
    }

    /// The file the running build was loaded from: `path`, or after a reload a copy named by
    /// its SHA-256.
    async fn loaded_from(&self) -> Option<String> {
        self.0.library.as_ref().map(|library| library.path.display().to_string())
    }

    /// Builds of this library the server holds in process (loaded code is never unloaded;
    /// at most `max_loaded_versions`).
    async fn builds_loaded(&self) -> i32 {
        i32::try_from(self.0.builds_loaded).unwrap_or(i32::MAX)
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

/// Reads the plugin settings again for `reloadPlugins`: the `[[plugins]]` entries and the
/// folder their relative paths start from, or why they cannot be read. The server reads its
/// settings file; without one in the schema's data, `reloadPlugins` is not available.
#[derive(Clone)]
pub struct PluginSettingsSource(pub Arc<dyn Fn() -> PluginSettingsRead + Send + Sync>);

/// The `[[plugins]]` entries and the folder their relative paths start from, or why the
/// settings could not be read.
pub type PluginSettingsRead = Result<(Vec<PluginConfig>, PathBuf), String>;

/// What a reload did to a plugin.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "kindred_plugin_host::ReloadOutcome")]
pub enum PluginReloadOutcome {
    /// Same settings, same build: kept as it was.
    Unchanged,
    /// Not loaded before; loaded now.
    Loaded,
    /// A new build of its library was loaded and serves from now on.
    Reloaded,
    /// Same build, new settings taken.
    Reconfigured,
    /// The new build or settings were refused (`error` says why); the old build serves.
    Kept,
    /// Refused, and no build of it serves.
    Refused,
    /// Disabled in the settings.
    Disabled,
    /// No longer in the settings.
    Removed,
}

/// What a reload did to one plugin.
#[derive(SimpleObject)]
pub struct PluginReload {
    /// The plugin's name in the settings.
    name: String,
    /// What happened.
    outcome: PluginReloadOutcome,
    /// The SHA-256 of the build serving now.
    sha256: Option<String>,
    /// Why a build or settings were refused.
    error: Option<String>,
}

/// What `reloadPlugins` did.
#[derive(SimpleObject)]
pub struct PluginsReloaded {
    /// Each plugin, in the settings' order (removed ones last).
    plugins: Vec<PluginReload>,
    /// The dynamic segmentations being refitted with a reloaded plugin (follow them with
    /// `job` or `jobProgress`).
    refitted_segmentations: Vec<ID>,
}

/// Mutations about plugins.
#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Reads `[[plugins]]` from the settings file again, as SIGHUP and `kindred plugins
    /// reload` do (admin): a library whose file changed (by SHA-256) is loaded beside the old
    /// one, new plugins are loaded, and the dynamic segmentations of each plugin that now
    /// serves another build or other defaults are refitted with it. A new build that is
    /// refused leaves the old one serving (outcome KEPT). SETTINGS_INVALID when the settings
    /// file cannot be read.
    async fn reload_plugins(&self, ctx: &Context<'_>) -> ApiResult<PluginsReloaded> {
        let source = ctx.data::<PluginSettingsSource>().map_err(|_| {
            api(ApiError::SettingsInvalid(
                "this server has no settings file to reload plugins from".to_owned(),
            ))
        })?;
        let (configs, base) = (source.0)().map_err(|message| api(ApiError::SettingsInvalid(message)))?;
        let reloaded = engine(ctx)?.reload_plugins(configs, base).await.map_err(api)?;
        Ok(PluginsReloaded {
            plugins: reloaded
                .report
                .plugins
                .into_iter()
                .map(|plugin| PluginReload {
                    name: plugin.name,
                    outcome: plugin.outcome.into(),
                    sha256: plugin.sha256,
                    error: plugin.error,
                })
                .collect(),
            refitted_segmentations: reloaded.refitted.into_iter().map(|id| ID(id.to_string())).collect(),
        })
    }
}
