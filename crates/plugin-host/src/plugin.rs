//! One plugin as the host knows it, and opening and checking its library.

use crate::config::{DEFAULT_CALL_TIMEOUT_SECS, PluginConfig};
use crate::error::PluginError;
use crate::failures::FailureLog;
use crate::isolation::{IsolatedPlugin, WorkerSettings};
use crate::library::{LibrarySource, StrategyLibrary};
use crate::params::check_default_params;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Whether a plugin can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PluginStatus {
    /// Loaded and checked: strategies can be created from it.
    Loaded,
    /// Missing, incompatible or failing: `error` says why.
    Refused,
    /// Turned off in the settings.
    Disabled,
}

impl PluginStatus {
    /// As the API and `kindred plugins` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginStatus::Loaded => "LOADED",
            PluginStatus::Refused => "REFUSED",
            PluginStatus::Disabled => "DISABLED",
        }
    }
}

/// One plugin as the host knows it.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The name from the settings.
    pub name: String,
    /// The library's path, resolved.
    pub path: PathBuf,
    /// Loaded, refused or disabled.
    pub status: PluginStatus,
    /// Why it was refused, or why the last reload kept the build it had.
    pub error: Option<String>,
    /// The library, when loaded.
    pub library: Option<StrategyLibrary>,
    /// Parameters a segmentation starts from.
    pub default_params: serde_json::Value,
    /// The SHA-256 (hex) of the build loaded.
    pub sha256: Option<String>,
    /// How many builds of this library the server holds in process (never unloaded).
    pub builds_loaded: usize,
    /// Its entry in the settings.
    pub(crate) config: PluginConfig,
}

impl Plugin {
    /// A plugin of `config` at `path` that is not loaded (yet).
    pub(crate) fn unloaded(config: &PluginConfig, path: PathBuf, status: PluginStatus) -> Self {
        Self {
            name: config.name.clone(),
            path,
            status,
            error: None,
            library: None,
            default_params: config.params.clone().unwrap_or_else(|| serde_json::json!({})),
            sha256: None,
            builds_loaded: 0,
            config: config.clone(),
        }
    }
}

/// Starts the worker process of isolated plugin `config`, on the library at `path` whose
/// SHA-256 is `sha256`: the worker refuses any other file, so a worker restarted after a
/// crash runs this build or none (never one written over the file since).
pub(crate) fn start_isolated(
    config: &PluginConfig,
    path: &Path,
    sha256: &str,
) -> Result<StrategyLibrary, PluginError> {
    let program = match &config.worker_path {
        Some(program) => program.clone(),
        None => std::env::current_exe().map_err(|error| PluginError::Open {
            path: path.to_owned(),
            message: format!("cannot find the kindred binary to run the worker: {error}"),
        })?,
    };
    let settings = WorkerSettings {
        program,
        library: path.to_owned(),
        sha256: Some(config.sha256.clone().unwrap_or_else(|| sha256.to_owned())),
        max_memory_mb: config.max_memory_mb,
        call_timeout: Duration::from_secs(
            config.call_timeout_secs.unwrap_or(DEFAULT_CALL_TIMEOUT_SECS).max(1),
        ),
    };
    let (isolated, facts) = IsolatedPlugin::start(&config.name, settings)?;
    Ok(StrategyLibrary {
        path: path.to_owned(),
        name: facts.name,
        version: facts.version,
        sdk_version: facts.sdk_version,
        abi_version: facts.abi_version,
        description: facts.description,
        sha256: sha256.to_owned(),
        saves_state: facts.saves_state,
        source: LibrarySource::Isolated(isolated),
        failures: FailureLog::default(),
    })
}

/// `library` (plugin `config`'s build from `path`), unless the operator's default parameters
/// break its schema or another file among `loaded` exports the same strategy.
pub(crate) fn accepted(
    config: &PluginConfig,
    path: &Path,
    library: StrategyLibrary,
    loaded: &[Arc<Plugin>],
) -> Result<StrategyLibrary, PluginError> {
    if let Some(defaults) = &config.params {
        check_default_params(&library.description.params_schema, defaults)
            .map_err(|errors| PluginError::DefaultParams { path: path.to_owned(), errors })?;
    }
    let canonical = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let file = canonical(path);
    let twin = loaded.iter().find(|other| {
        other.library.as_ref().is_some_and(|other| other.name == library.name)
            && canonical(&other.path) != file
    });
    if let Some(other) = twin {
        return Err(PluginError::SameStrategy {
            path: path.to_owned(),
            strategy: library.name.clone(),
            other: other.path.clone(),
        });
    }
    Ok(library)
}
