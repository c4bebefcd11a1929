//! The plugins the settings list: loaded, refused or disabled, never stopping the server.

use crate::config::PluginConfig;
use crate::error::PluginError;
use crate::plugin::{Plugin, PluginStatus};
use crate::reload::{Loader, ReloadReport};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Every plugin the settings list, in their order. Reloading swaps the whole list at once:
/// readers hold a snapshot, and a library once loaded stays loaded.
#[derive(Debug, Default)]
pub struct PluginHost {
    current: RwLock<Arc<[Arc<Plugin>]>>,
    loader: Mutex<Loader>,
}

impl PluginHost {
    /// Loads every enabled plugin of `configs`, resolving relative paths against `base`.
    /// A plugin that cannot be loaded is recorded as refused and logged; this never fails.
    pub fn load(configs: &[PluginConfig], base: &Path) -> Self {
        let host = Self::default();
        host.reload(configs, base);
        host
    }

    /// [`PluginHost::load`] on the blocking pool: opening a library runs its initialisers and
    /// its `describe`, third-party code that must not hold an async worker.
    pub async fn load_off_runtime(configs: Vec<PluginConfig>, base: PathBuf) -> Self {
        tokio::task::spawn_blocking(move || Self::load(&configs, &base)).await.unwrap_or_else(|error| {
            tracing::error!(%error, "loading the plugins stopped; none is loaded");
            Self::default()
        })
    }

    /// Reads `configs` again (see [`crate::reload`]): loads what is new or rebuilt, keeps what
    /// did not change, and swaps the list at once. Never fails: what could not be loaded is
    /// in the report, and a plugin whose new build is refused keeps serving its old one.
    pub fn reload(&self, configs: &[PluginConfig], base: &Path) -> ReloadReport {
        let mut loader = self.loader.lock().unwrap_or_else(PoisonError::into_inner);
        let (plugins, report) = loader.reload(&self.plugins(), configs, base);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = plugins.into();
        report
    }

    /// [`PluginHost::reload`] on the blocking pool.
    pub async fn reload_off_runtime(
        self: Arc<Self>,
        configs: Vec<PluginConfig>,
        base: PathBuf,
    ) -> ReloadReport {
        match tokio::task::spawn_blocking(move || self.reload(&configs, &base)).await {
            Ok(report) => report,
            Err(error) => {
                tracing::error!(%error, "reloading the plugins stopped; the loaded ones are kept");
                ReloadReport::default()
            }
        }
    }

    /// Every plugin, in the settings' order, as of now.
    pub fn plugins(&self) -> Arc<[Arc<Plugin>]> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The loaded plugin named `name`.
    pub fn loaded(&self, name: &str) -> Result<Arc<Plugin>, PluginError> {
        let plugins = self.plugins();
        let plugin = plugins.iter().find(|plugin| plugin.name == name).ok_or_else(|| {
            let known: Vec<&str> = plugins.iter().map(|plugin| plugin.name.as_str()).collect();
            PluginError::Unavailable {
                name: name.to_owned(),
                reason: format!("no such plugin (known: {})", known.join(", ")),
            }
        })?;
        match plugin.status {
            PluginStatus::Loaded => Ok(plugin.clone()),
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
