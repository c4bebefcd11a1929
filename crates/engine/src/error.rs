//! Errors of the engine.

use kindred_plugin_host::PluginError;
use kindred_store::StoreError;

/// What can go wrong when managing segmentations.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The strategy refused the parameters, or failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// No such segmentation.
    #[error("segmentation {0} not found")]
    NotFound(i64),
    /// A field has a value that is not allowed.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The request clashes with the segmentation's state (a refit already running).
    #[error("{0}")]
    Conflict(String),
}

/// Results of engine operations.
pub type EngineResult<T> = Result<T, EngineError>;
