//! Loading the plugins the settings list, reloading them on SIGHUP, and what `kindred
//! plugins` prints of them.

use crate::config::Settings;
use kindred_engine::{Engine, PluginsReloaded};
use kindred_graphql::plugins::PluginSettingsSource;
use kindred_plugin_host::{Plugin, PluginHost, PluginStatus, ReloadOutcome};
use std::sync::Arc;

/// Loads every plugin of the settings, on the blocking pool. Refused plugins are logged and
/// kept in the list; loading never fails.
pub async fn load_plugins(settings: &Settings) -> Arc<PluginHost> {
    let host = PluginHost::load_off_runtime(settings.plugins.clone(), settings.base_dir.clone()).await;
    let loaded = host.plugins().iter().filter(|plugin| plugin.status == PluginStatus::Loaded).count();
    tracing::info!(listed = host.plugins().len(), loaded, "plugins");
    Arc::new(host)
}

/// Whether a plugin the settings enable was refused (a disabled one is not refused).
pub fn any_refused(plugins: &[Arc<Plugin>]) -> bool {
    plugins.iter().any(|plugin| plugin.status == PluginStatus::Refused)
}

/// Reads `[[plugins]]` again and reloads at each SIGHUP, for as long as the server runs.
pub async fn reload_on_hangup(engine: Engine, settings: PluginSettingsSource) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGHUP: plugins reload only through reloadPlugins");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP received: reloading the plugins");
        let (configs, base) = match (settings.0)() {
            Ok(read) => read,
            Err(error) => {
                tracing::error!(%error, "plugins not reloaded");
                continue;
            }
        };
        match engine.reload_plugins(configs, base).await {
            Ok(reloaded) => log_reload(&reloaded),
            Err(error) => {
                tracing::error!(%error, "plugin reload failed")
            }
        }
    }
}

/// One line per plugin a reload changed or refused.
fn log_reload(reloaded: &PluginsReloaded) {
    for plugin in &reloaded.report.plugins {
        let outcome = plugin.outcome.as_str();
        match plugin.outcome {
            ReloadOutcome::Unchanged => {}
            ReloadOutcome::Kept | ReloadOutcome::Refused => {
                tracing::error!(plugin = %plugin.name, outcome, error = plugin.error.as_deref().unwrap_or(""), "plugin reload")
            }
            _ => {
                tracing::info!(plugin = %plugin.name, outcome, sha256 = plugin.sha256.as_deref().unwrap_or(""), "plugin reload")
            }
        }
    }
}

/// What `kindred plugins` prints of plugins loaded in its own process: one block per plugin.
pub fn describe(plugins: &[Arc<Plugin>]) -> String {
    if plugins.is_empty() {
        return "no plugins are listed in the settings ([[plugins]])\n".to_owned();
    }
    let mut out = String::new();
    for plugin in plugins {
        let status = plugin.status.as_str();
        out.push_str(&format!("{}  {status}\n  path: {}\n", plugin.name, plugin.path.display()));
        if let Some(library) = &plugin.library {
            out.push_str(&format!(
                "  strategy: {} {} (ABI {}, SDK {})\n  {}\n",
                library.name,
                library.version,
                library.abi_version,
                library.sdk_version,
                library.description.summary
            ));
        }
        if let Some(error) = &plugin.error {
            out.push_str(&format!("  error: {error}\n"));
        }
    }
    out
}
