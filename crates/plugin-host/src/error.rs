//! What can go wrong loading or calling a plugin.

use std::path::PathBuf;

/// Why a plugin was refused at load time or a call to it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The library file is not there.
    #[error("{path}: no such file")]
    Missing {
        /// The library.
        path: PathBuf,
    },
    /// The library's SHA-256 is not the one the config pins.
    #[error("{path}: sha256 expected {expected}, found {found}")]
    Checksum {
        /// The library.
        path: PathBuf,
        /// From the config.
        expected: String,
        /// Of the file.
        found: String,
    },
    /// The dynamic loader refused the file.
    #[error("{path}: cannot load the library: {message}")]
    Open {
        /// The library.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The library does not export `kindred_strategy_v1`.
    #[error(
        "{path}: no symbol kindred_strategy_v1: not a Kindred strategy plugin (build it with export_strategy!)"
    )]
    NoSymbol {
        /// The library.
        path: PathBuf,
    },
    /// The descriptor is missing or not a Kindred descriptor, or does not fit this host.
    #[error("{path}: {what}: expected {expected}, found {found}")]
    Incompatible {
        /// The library.
        path: PathBuf,
        /// What was checked (magic, ABI major, ABI minor, descriptor size, panic strategy).
        what: &'static str,
        /// What this host needs.
        expected: String,
        /// What the library has.
        found: String,
    },
    /// The strategy's description is not valid.
    #[error("{path}: describe failed: {message}")]
    Describe {
        /// The library.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Two plugins in the config share a name.
    #[error("{path}: a plugin named {name:?} is already loaded")]
    Duplicate {
        /// The library.
        path: PathBuf,
        /// The name.
        name: String,
    },
    /// The operator's default `params` break the strategy's schema.
    #[error("{path}: the default params in the settings do not match the strategy's schema: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    DefaultParams {
        /// The library.
        path: PathBuf,
        /// Every violation, with its JSON path.
        errors: Vec<crate::ParamError>,
    },
    /// Another library file already loaded exports the same strategy.
    #[error("{path}: strategy {strategy:?} is already loaded from another file, {other}")]
    SameStrategy {
        /// The library refused.
        path: PathBuf,
        /// The strategy both export.
        strategy: String,
        /// The library loaded first.
        other: PathBuf,
    },
    /// A reload would load one build more than the plugin's `max_loaded_versions`.
    #[error(
        "{path}: {limit} builds of this library are already loaded (max_loaded_versions); loaded code is never unloaded, so restart the server to load another"
    )]
    TooManyBuilds {
        /// The library.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// A call to a strategy failed: it returned an error, panicked or broke the contract.
    #[error("plugin {plugin}: {call} failed: {message}")]
    Call {
        /// The plugin's name.
        plugin: String,
        /// Which call (create, fit, assign, model).
        call: &'static str,
        /// The strategy's message, or what it got wrong.
        message: String,
    },
    /// The strategy panicked; its instance is disabled.
    #[error("plugin {plugin}: {call} panicked, the instance is disabled: {message}")]
    Panicked {
        /// The plugin's name.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// The panic message.
        message: String,
    },
    /// An isolated plugin's worker process died during the call (a signal, an abort, an exit,
    /// running out of memory, or the call timeout); it is started again for the next call.
    #[error("plugin {plugin}: its worker process died: {cause}")]
    Crashed {
        /// The plugin's name.
        plugin: String,
        /// Which call.
        call: &'static str,
        /// How it died, e.g. "killed by signal 11 (SIGSEGV) during fit".
        cause: String,
    },
    /// The parameters break the strategy's JSON Schema.
    #[error("plugin {plugin}: parameters do not match its schema: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Params {
        /// The plugin's name.
        plugin: String,
        /// Every violation, with its JSON path.
        errors: Vec<crate::ParamError>,
    },
    /// The plugin is not loaded (refused, disabled or unknown).
    #[error("plugin {name:?} is not available: {reason}")]
    Unavailable {
        /// The name asked for.
        name: String,
        /// Why.
        reason: String,
    },
    /// Reading the population from the store failed.
    #[error("reading the population: {0}")]
    Store(String),
    /// The run was cancelled before it finished.
    #[error("the run was cancelled")]
    Cancelled,
}
