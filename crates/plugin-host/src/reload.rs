//! Reading `[[plugins]]` again while the server runs.
//!
//! Each listed plugin is compared with the one serving: same settings and same file (by
//! SHA-256) is kept as it is; new default parameters on the same build are checked and taken;
//! a new build is loaded beside the old one (in process, from a copy named by its hash, see
//! [`crate::copies`]) and checked like a first load. A new build or new settings that are
//! refused leave the old build serving. Loaded code is never unloaded, so each plugin may
//! hold at most its `max_loaded_versions` builds in process; past that, a reload refuses.
//! In process, every build (the first too) is loaded from a copy named by its hash.

use crate::config::{Isolation, PluginConfig};
use crate::copies::LibraryCopies;
use crate::error::PluginError;
use crate::library::{StrategyLibrary, load, sha256_of};
use crate::plugin::{Plugin, PluginStatus, accepted, start_isolated};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a reload did to one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReloadOutcome {
    /// Same settings, same build: kept as it was.
    Unchanged,
    /// Not loaded before (new in the settings, enabled, or no longer refused); loaded now.
    Loaded,
    /// A new build of its library was loaded and serves from now on.
    Reloaded,
    /// Same build, new settings (default parameters or an isolation setting) taken.
    Reconfigured,
    /// The new build or settings were refused; the build loaded before keeps serving.
    Kept,
    /// Refused, and no build of it serves.
    Refused,
    /// Disabled in the settings.
    Disabled,
    /// No longer in the settings (its library stays mapped; nothing new can use it).
    Removed,
}

impl ReloadOutcome {
    /// As the API and `kindred plugins reload` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadOutcome::Unchanged => "UNCHANGED",
            ReloadOutcome::Loaded => "LOADED",
            ReloadOutcome::Reloaded => "RELOADED",
            ReloadOutcome::Reconfigured => "RECONFIGURED",
            ReloadOutcome::Kept => "KEPT",
            ReloadOutcome::Refused => "REFUSED",
            ReloadOutcome::Disabled => "DISABLED",
            ReloadOutcome::Removed => "REMOVED",
        }
    }

    /// Whether segmentations using the plugin must be refitted: it now serves another build
    /// or other default parameters.
    pub fn needs_refit(self) -> bool {
        matches!(self, ReloadOutcome::Loaded | ReloadOutcome::Reloaded | ReloadOutcome::Reconfigured)
    }
}

/// What a reload did to one plugin, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginReload {
    /// The plugin's name in the settings.
    pub name: String,
    /// What happened.
    pub outcome: ReloadOutcome,
    /// The SHA-256 of the build serving now, if any.
    pub sha256: Option<String>,
    /// Why a build or settings were refused.
    pub error: Option<String>,
}

/// What a reload did, plugin by plugin, in the settings' order (removed ones last).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// One entry per plugin.
    pub plugins: Vec<PluginReload>,
}

impl ReloadReport {
    /// Names of the plugins whose segmentations must be refitted.
    pub fn needing_refit(&self) -> impl Iterator<Item = &str> {
        self.plugins.iter().filter(|plugin| plugin.outcome.needs_refit()).map(|plugin| plugin.name.as_str())
    }
}

/// A build ready to serve plugin `config`.
struct Build {
    library: StrategyLibrary,
    sha256: String,
    /// False when it is the build already serving.
    fresh: bool,
}

/// What a host has mapped into its process, across reloads.
#[derive(Debug, Default)]
pub(crate) struct Loader {
    copies: LibraryCopies,
    /// Each file opened in process (canonical path) and the SHA-256 of what was mapped from it.
    mapped: HashMap<PathBuf, String>,
    /// Each plugin's builds in process, by the file each was mapped from.
    builds: HashMap<String, HashSet<PathBuf>>,
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

impl Loader {
    /// The plugins `configs` list, built from `old` and what changed; and what happened to each.
    pub(crate) fn reload(
        &mut self,
        old: &[Arc<Plugin>],
        configs: &[PluginConfig],
        base: &Path,
    ) -> (Vec<Arc<Plugin>>, ReloadReport) {
        let mut next: Vec<Arc<Plugin>> = Vec::with_capacity(configs.len());
        let mut report = ReloadReport::default();
        for config in configs {
            let path = config.resolved_path(base);
            let previous = old.iter().find(|plugin| plugin.name == config.name);
            let (plugin, outcome) = if next.iter().any(|known| known.name == config.name) {
                let mut plugin = Plugin::unloaded(config, path.clone(), PluginStatus::Refused);
                plugin.error = Some(PluginError::Duplicate { path, name: config.name.clone() }.to_string());
                (plugin, ReloadOutcome::Refused)
            } else if !config.enabled {
                tracing::info!(plugin = %config.name, "plugin disabled in the settings");
                let was_disabled = previous.is_some_and(|plugin| plugin.status == PluginStatus::Disabled);
                let outcome = if was_disabled { ReloadOutcome::Unchanged } else { ReloadOutcome::Disabled };
                (Plugin::unloaded(config, path, PluginStatus::Disabled), outcome)
            } else {
                self.enabled(config, path, previous.map(Arc::as_ref), &next)
            };
            if let Some(error) = &plugin.error {
                match outcome {
                    ReloadOutcome::Kept => {
                        tracing::error!(plugin = %config.name, %error, "reload refused; the loaded build keeps serving")
                    }
                    _ => tracing::error!(plugin = %config.name, %error, "plugin refused"),
                }
            }
            report.plugins.push(PluginReload {
                name: plugin.name.clone(),
                outcome,
                sha256: plugin.sha256.clone(),
                error: plugin.error.clone(),
            });
            next.push(Arc::new(plugin));
        }
        for gone in old.iter().filter(|plugin| !configs.iter().any(|config| config.name == plugin.name)) {
            tracing::warn!(plugin = %gone.name, "plugin no longer in the settings");
            report.plugins.push(PluginReload {
                name: gone.name.clone(),
                outcome: ReloadOutcome::Removed,
                sha256: None,
                error: None,
            });
        }
        (next, report)
    }

    /// Enabled plugin `config`: its build serving before (`previous`), a new one, or none.
    fn enabled(
        &mut self,
        config: &PluginConfig,
        path: PathBuf,
        previous: Option<&Plugin>,
        loaded: &[Arc<Plugin>],
    ) -> (Plugin, ReloadOutcome) {
        let serving =
            previous.filter(|plugin| plugin.status == PluginStatus::Loaded && plugin.library.is_some());
        match self.build(config, &path, serving, loaded) {
            Ok(build) => {
                let outcome = match serving {
                    None => ReloadOutcome::Loaded,
                    Some(_) if build.fresh => ReloadOutcome::Reloaded,
                    // Only the defaults change what a segmentation is fitted with.
                    Some(old) if old.config.params == config.params => ReloadOutcome::Unchanged,
                    Some(_) => ReloadOutcome::Reconfigured,
                };
                if outcome != ReloadOutcome::Unchanged {
                    let library = &build.library;
                    tracing::info!(
                        plugin = %config.name, strategy = %library.name, version = %library.version,
                        abi = %library.abi_version, sha256 = %build.sha256, path = %path.display(),
                        outcome = outcome.as_str(), "plugin loaded"
                    );
                }
                let mut plugin = Plugin::unloaded(config, path, PluginStatus::Loaded);
                plugin.library = Some(build.library);
                plugin.sha256 = Some(build.sha256);
                plugin.builds_loaded = self.builds.get(&config.name).map_or(0, HashSet::len);
                (plugin, outcome)
            }
            Err(error) => match serving {
                Some(old) => {
                    let mut kept = old.clone();
                    kept.builds_loaded = self.builds.get(&config.name).map_or(0, HashSet::len);
                    kept.error =
                        Some(format!("reload refused, the build loaded before keeps serving: {error}"));
                    (kept, ReloadOutcome::Kept)
                }
                None => {
                    let mut plugin = Plugin::unloaded(config, path, PluginStatus::Refused);
                    plugin.error = Some(error.to_string());
                    (plugin, ReloadOutcome::Refused)
                }
            },
        }
    }

    /// The build that serves `config` from now on: the one serving, if neither the file nor
    /// the way it is loaded changed; else a new one. Checked against the settings either way.
    fn build(
        &mut self,
        config: &PluginConfig,
        path: &Path,
        serving: Option<&Plugin>,
        loaded: &[Arc<Plugin>],
    ) -> Result<Build, PluginError> {
        let bytes = std::fs::read(path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => PluginError::Missing { path: path.to_owned() },
            _ => PluginError::Open { path: path.to_owned(), message: error.to_string() },
        })?;
        let sha256 = sha256_of(&bytes);
        let same =
            serving.filter(|old| old.sha256.as_ref() == Some(&sha256) && old.config.loads_like(config));
        let (library, fresh) = match same.and_then(|old| old.library.clone()) {
            Some(library) => (library, false),
            None if config.isolation == Isolation::Process => (start_isolated(config, path, &sha256)?, true),
            None => (self.load_in_process(config, path, &sha256, &bytes)?, true),
        };
        let library = accepted(config, path, library, loaded)?;
        Ok(Build { library, sha256, fresh })
    }

    /// Maps `bytes` (the file at `path`, hashing to `sha256`) into this process, from a copy
    /// named by the hash: the operator's file is then never mapped, so replacing it in any way
    /// (even writing over it in place) cannot touch loaded code. For the plugin's first build
    /// only, where no copy can be made or loaded (a temporary folder mounted `noexec`), from
    /// `path` itself, with a warning: that file must then be replaced, never written over.
    fn load_in_process(
        &mut self,
        config: &PluginConfig,
        path: &Path,
        sha256: &str,
        bytes: &[u8],
    ) -> Result<StrategyLibrary, PluginError> {
        let original = canonical(path);
        let from_original = original.clone();
        let copy = self.copies.copy(&config.name, sha256, bytes).map(|copy| canonical(&copy));
        let first_build = self.builds.get(&config.name).is_none_or(HashSet::is_empty);
        let original_usable = first_build && self.mapped.get(&original).is_none_or(|mapped| mapped == sha256);
        let mut candidates: Vec<PathBuf> = copy.as_ref().ok().cloned().into_iter().collect();
        if original_usable {
            candidates.push(original);
        }
        let mut last_error = match copy {
            Ok(_) => None,
            Err(error) => {
                let message = format!("cannot copy the build to load it beside the others: {error}");
                tracing::warn!(plugin = %config.name, %message, "plugin copy");
                Some(PluginError::Open { path: path.to_owned(), message })
            }
        };
        for from in candidates {
            let builds = self.builds.entry(config.name.clone()).or_default();
            let limit = config.version_limit();
            if !builds.contains(&from) && builds.len() >= limit {
                return Err(PluginError::TooManyBuilds { path: path.to_owned(), limit });
            }
            let result = load(&from, config.sha256.as_deref());
            match &result {
                Err(PluginError::Open { message, .. }) => {
                    tracing::warn!(plugin = %config.name, from = %from.display(), %message, "cannot load the library from here");
                    last_error = result.err();
                    continue;
                }
                // A file the loader opened stays mapped even when the checks after refused it.
                Err(PluginError::Missing { .. } | PluginError::Checksum { .. }) => {}
                _ => {
                    if from == from_original {
                        tracing::warn!(
                            plugin = %config.name, path = %path.display(),
                            "loaded from the library file itself, not a copy: replace that file (write a new one and rename it), never write over it, while the server runs"
                        );
                    }
                    self.mapped.insert(from.clone(), sha256.to_owned());
                    builds.insert(from);
                }
            }
            return result;
        }
        Err(last_error.unwrap_or_else(|| PluginError::Open {
            path: path.to_owned(),
            message: "another build was loaded from this file and its copy cannot be loaded".to_owned(),
        }))
    }
}
