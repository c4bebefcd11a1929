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
    /// Where the library runs: `in_process` (the default: zero-copy, but a crash in it stops
    /// the server) or `process` (a worker process of its own, which may crash alone).
    #[serde(default)]
    pub isolation: Isolation,
    /// With `isolation = "process"`: the worker's address-space limit in megabytes.
    #[serde(default)]
    pub max_memory_mb: Option<u64>,
    /// With `isolation = "process"`: the longest one call may take before the worker is
    /// killed, in seconds (default 600).
    #[serde(default)]
    pub call_timeout_secs: Option<u64>,
    /// With `isolation = "process"`: the `kindred` binary that runs the worker (default: the
    /// running one).
    #[serde(default)]
    pub worker_path: Option<PathBuf>,
    /// In process: how many builds of this library a reload may load into the server, the
    /// first included (default 8). Loaded code is never unloaded, so each build stays mapped
    /// until the server restarts; past this, a reload refuses the new build.
    #[serde(default)]
    pub max_loaded_versions: Option<usize>,
}

/// Where a plugin's library runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Loaded into the server's process.
    #[default]
    InProcess,
    /// In a worker process of its own.
    Process,
}

/// The call timeout of an isolated plugin when the settings give none.
pub const DEFAULT_CALL_TIMEOUT_SECS: u64 = 600;

/// The builds of one library a server holds in process when the settings give no limit.
pub const DEFAULT_MAX_LOADED_VERSIONS: usize = 8;

fn enabled_by_default() -> bool {
    true
}

impl PluginConfig {
    /// A plugin named `name` from the library at `path`, enabled, in process, with no pinned
    /// hash and no default parameters.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            enabled: true,
            sha256: None,
            params: None,
            isolation: Isolation::InProcess,
            max_memory_mb: None,
            call_timeout_secs: None,
            worker_path: None,
            max_loaded_versions: None,
        }
    }

    /// How many builds of the library a server may hold in process.
    pub fn version_limit(&self) -> usize {
        self.max_loaded_versions.unwrap_or(DEFAULT_MAX_LOADED_VERSIONS).max(1)
    }

    /// Whether `other` loads its library the same way (same file, pinned hash and isolation
    /// settings): if the file did not change either, the loaded library can be kept.
    pub(crate) fn loads_like(&self, other: &PluginConfig) -> bool {
        self.path == other.path
            && self.sha256 == other.sha256
            && self.isolation == other.isolation
            && self.max_memory_mb == other.max_memory_mb
            && self.call_timeout_secs == other.call_timeout_secs
            && self.worker_path == other.worker_path
    }

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
        let config = PluginConfig::new("demo", "lib/libdemo.so");
        assert_eq!(config.resolved_path(Path::new("/etc/kindred")), Path::new("/etc/kindred/lib/libdemo.so"));
        let absolute = PluginConfig { path: "/opt/libdemo.so".into(), ..config };
        assert_eq!(absolute.resolved_path(Path::new("/etc/kindred")), Path::new("/opt/libdemo.so"));
        let beside =
            resolve(Path::new("{bin_dir}/libdemo.so"), Path::new("/etc"), Some(Path::new("/usr/bin")));
        assert_eq!(beside, Path::new("/usr/bin/libdemo.so"));
    }
}
