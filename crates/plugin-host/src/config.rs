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
    /// The library's path: a leading `{bin_dir}` is the folder of the running `kindred`
    /// binary (where cargo also puts the in-tree plugins), and other relative paths are
    /// resolved against `base` (the settings file's folder).
    pub fn resolved_path(&self, base: &Path) -> PathBuf {
        let bin_dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
        resolve(&self.path, base, bin_dir.as_deref())
    }
}

/// The token that stands for the running binary's folder at the start of a plugin path.
pub const BIN_DIR: &str = "{bin_dir}";

fn resolve(path: &Path, base: &Path, bin_dir: Option<&Path>) -> PathBuf {
    if let (Ok(rest), Some(bin_dir)) = (path.strip_prefix(BIN_DIR), bin_dir) {
        return bin_dir.join(rest);
    }
    if path.is_absolute() { path.to_path_buf() } else { base.join(path) }
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
        let beside =
            resolve(Path::new("{bin_dir}/libdemo.so"), Path::new("/etc"), Some(Path::new("/usr/bin")));
        assert_eq!(beside, Path::new("/usr/bin/libdemo.so"));
    }
}
