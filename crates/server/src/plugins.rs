//! Loading the plugins the settings list, and `kindred plugins`.

use crate::config::Settings;
use kindred_plugin_host::{PluginHost, PluginStatus};
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
pub fn any_refused(host: &PluginHost) -> bool {
    host.plugins().iter().any(|plugin| plugin.status == PluginStatus::Refused)
}

/// What `kindred plugins` prints: one block per plugin.
pub fn describe(host: &PluginHost) -> String {
    if host.plugins().is_empty() {
        return "no plugins are listed in the settings ([[plugins]])\n".to_owned();
    }
    let mut out = String::new();
    for plugin in host.plugins() {
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
