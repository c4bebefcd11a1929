//! The plugins the settings list: loaded, refused or disabled, never stopping the server.

use crate::config::{DEFAULT_CALL_TIMEOUT_SECS, Isolation, PluginConfig};
use crate::error::PluginError;
use crate::failures::FailureLog;
use crate::isolation::{IsolatedPlugin, WorkerSettings};
use crate::library::{LibrarySource, StrategyLibrary, load};
use crate::params::check_default_params;
use serde::Serialize;
use std::path::{Path, PathBuf};
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
    /// Why it was refused.
    pub error: Option<String>,
    /// The library, when loaded.
    pub library: Option<StrategyLibrary>,
    /// Parameters a segmentation starts from.
    pub default_params: serde_json::Value,
}

/// Opens the library of `config` at `path`: loaded here, or started in its worker process.
fn open(config: &PluginConfig, path: &Path) -> Result<StrategyLibrary, PluginError> {
    if config.isolation == Isolation::InProcess {
        return load(path, config.sha256.as_deref());
    }
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
        sha256: config.sha256.clone(),
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
        source: LibrarySource::Isolated(isolated),
        failures: FailureLog::default(),
    })
}

/// `library`, unless the operator's default parameters break its schema or another file
/// already loaded exports the same strategy.
fn accepted(
    config: &PluginConfig,
    library: StrategyLibrary,
    loaded: &[Plugin],
) -> Result<StrategyLibrary, PluginError> {
    if let Some(defaults) = &config.params {
        check_default_params(&library.description.params_schema, defaults)
            .map_err(|errors| PluginError::DefaultParams { path: library.path.clone(), errors })?;
    }
    let file = std::fs::canonicalize(&library.path).unwrap_or_else(|_| library.path.clone());
    let twin = loaded.iter().filter_map(|plugin| plugin.library.as_ref()).find(|other| {
        other.name == library.name
            && std::fs::canonicalize(&other.path).unwrap_or_else(|_| other.path.clone()) != file
    });
    if let Some(other) = twin {
        return Err(PluginError::SameStrategy {
            path: library.path.clone(),
            strategy: library.name.clone(),
            other: other.path.clone(),
        });
    }
    Ok(library)
}

/// Every plugin the settings list, in their order.
#[derive(Debug, Clone, Default)]
pub struct PluginHost {
    plugins: Vec<Plugin>,
}

impl PluginHost {
    /// Loads every enabled plugin of `configs`, resolving relative paths against `base`.
    /// A plugin that cannot be loaded is recorded as refused and logged; this never fails.
    pub fn load(configs: &[PluginConfig], base: &Path) -> Self {
        let mut plugins: Vec<Plugin> = Vec::with_capacity(configs.len());
        for config in configs {
            let path = config.resolved_path(base);
            let mut plugin = Plugin {
                name: config.name.clone(),
                path: path.clone(),
                status: PluginStatus::Disabled,
                error: None,
                library: None,
                default_params: config.params.clone().unwrap_or_else(|| serde_json::json!({})),
            };
            if plugins.iter().any(|known| known.name == config.name) {
                plugin.status = PluginStatus::Refused;
                plugin.error = Some(PluginError::Duplicate { path, name: config.name.clone() }.to_string());
            } else if config.enabled {
                match open(config, &path).and_then(|library| accepted(config, library, &plugins)) {
                    Ok(library) => {
                        tracing::info!(
                            plugin = %config.name, strategy = %library.name, version = %library.version,
                            abi = %library.abi_version, path = %path.display(), "plugin loaded"
                        );
                        plugin.status = PluginStatus::Loaded;
                        plugin.library = Some(library);
                    }
                    Err(error) => {
                        plugin.status = PluginStatus::Refused;
                        plugin.error = Some(error.to_string());
                    }
                }
            } else {
                tracing::info!(plugin = %config.name, "plugin disabled in the settings");
            }
            if let Some(error) = &plugin.error {
                tracing::error!(plugin = %config.name, %error, "plugin refused");
            }
            plugins.push(plugin);
        }
        Self { plugins }
    }

    /// [`PluginHost::load`] on the blocking pool: opening a library runs its initialisers and
    /// its `describe`, third-party code that must not hold an async worker.
    pub async fn load_off_runtime(configs: Vec<PluginConfig>, base: PathBuf) -> Self {
        tokio::task::spawn_blocking(move || Self::load(&configs, &base)).await.unwrap_or_else(|error| {
            tracing::error!(%error, "loading the plugins stopped; none is loaded");
            Self::default()
        })
    }

    /// Every plugin, in the settings' order.
    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// The loaded plugin named `name`.
    pub fn loaded(&self, name: &str) -> Result<&Plugin, PluginError> {
        let plugin = self.plugins.iter().find(|plugin| plugin.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.plugins.iter().map(|plugin| plugin.name.as_str()).collect();
            PluginError::Unavailable {
                name: name.to_owned(),
                reason: format!("no such plugin (known: {})", known.join(", ")),
            }
        })?;
        match plugin.status {
            PluginStatus::Loaded => Ok(plugin),
            PluginStatus::Disabled => Err(PluginError::Unavailable {
                name: name.to_owned(),
                reason: "disabled in the settings".to_owned(),
            }),
            PluginStatus::Refused => Err(PluginError::Unavailable {
                name: name.to_owned(),
                reason: plugin.error.clone().unwrap_or_else(|| "refused".to_owned()),
            }),
        }
    }
}
