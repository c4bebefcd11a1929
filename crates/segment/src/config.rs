//! The `[[plugins]]` entries of the settings file.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One plugin the operator wants loaded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The name the plugin is known by in the API (unique).
    pub name: String,
    /// The library file; a relative path is taken from the settings file's folder.
    pub path: PathBuf,
    /// Whether to load it (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// When set, the library's SHA-256 (hex) must match or it is refused.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Parameters used where a segmentation does not set them.
    #[serde(default)]
    pub params: Option<serde_json::Value>,
}

fn enabled_by_default() -> bool {
    true
}

impl PluginConfig {
    /// The library's path, relative paths resolved against `base` (the settings file's folder).
    pub fn resolved_path(&self, base: &Path) -> PathBuf {
        if self.path.is_absolute() { self.path.clone() } else { base.join(&self.path) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_the_settings_file() {
        let config = PluginConfig {
            name: "demo".into(),
            path: "lib/libdemo.so".into(),
            enabled: true,
            sha256: None,
            params: None,
        };
        assert_eq!(config.resolved_path(Path::new("/etc/kindred")), Path::new("/etc/kindred/lib/libdemo.so"));
        let absolute = PluginConfig { path: "/opt/libdemo.so".into(), ..config };
        assert_eq!(absolute.resolved_path(Path::new("/etc/kindred")), Path::new("/opt/libdemo.so"));
    }
}
