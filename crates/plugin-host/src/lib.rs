//! Kindred's plugin host: loads segmentation strategies from the libraries the settings list
//! (with libloading; never linked in, never unloaded), checks their ABI and build flags,
//! builds the Arrow tables each asks for from the store, and calls fit and assign on the
//! blocking pool. A refused or failing plugin is reported, never fatal. The settings can be
//! read again while the server runs: rebuilt libraries are loaded beside the old ones.

mod batches;
mod config;
mod copies;
mod description;
mod error;
mod failures;
mod ffi;
mod host;
mod instance;
pub mod isolation;
mod library;
pub mod metrics;
mod params;
mod plugin;
pub mod reload;
mod run;
mod stored_text;
mod table_sink;
pub mod tables;
pub mod worker;

pub use batches::AssignBatches;
pub use config::{DEFAULT_MAX_LOADED_VERSIONS, Isolation, PluginConfig};
pub use description::StrategyDescription;
pub use error::PluginError;
pub use failures::{FailureLog, Failures};
pub use host::PluginHost;
pub use instance::StrategyInstance;
pub use kindred_plugin_abi::TableId;
pub use library::{REQUIRED_MINOR, StrategyLibrary, load, sha256_hex, sha256_of};
pub use params::{ParamError, check_params, merged_params};
pub use plugin::{Plugin, PluginStatus};
pub use reload::{PluginReload, ReloadOutcome, ReloadReport};
pub use run::{
    ASSIGN_BATCH, FittedRun, Membership, RunObserver, RunOutput, Scope, Unobserved, assign_customers,
    assign_customers_in_each, check_output, create_instance, run_observed, run_strategy,
};
