//! What a strategy returns when it cannot do what it was asked.

/// A strategy's error: a message the host shows to the operator as it is.
///
/// Return [`StrategyError::new`] for anything that went wrong, and [`StrategyError::param`]
/// from `create` when a parameter is wrong, so the client is told which one:
///
/// ```
/// use kindred_plugin_sdk::{StrategyError, StrategyResult};
///
/// fn check_window(days: i64) -> StrategyResult<i64> {
///     if days <= 0 {
///         return Err(StrategyError::param("/window_days", format!("must be positive, got {days}")));
///     }
///     Ok(days)
/// }
///
/// fn check_population(customers: usize) -> StrategyResult<()> {
///     if customers == 0 {
///         return Err(StrategyError::new("no customers to learn from"));
///     }
///     Ok(())
/// }
///
/// assert_eq!(check_window(0).unwrap_err().param_path(), Some(("/window_days", "must be positive, got 0")));
/// assert_eq!(check_population(0).unwrap_err().message(), "no customers to learn from");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StrategyError {
    message: String,
    /// For bad parameters: the JSON Pointer of the bad value and the reason.
    param: Option<(String, String)>,
}

impl StrategyError {
    /// An error with this message, shown to the operator as it is (the call fails with it).
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), param: None }
    }

    /// An error about parameter `path` (a JSON Pointer such as `/dimensions/0/field`, as a
    /// `&str` or a `String`): `create` refuses the parameters, and the client is told the path.
    pub fn param(path: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        let (path, reason) = (path.into(), reason.to_string());
        Self { message: format!("params {path}: {reason}"), param: Some((path, reason)) }
    }

    /// For an error about parameters: the JSON Pointer of the bad value and the reason.
    pub fn param_path(&self) -> Option<(&str, &str)> {
        self.param.as_ref().map(|(path, reason)| (path.as_str(), reason.as_str()))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<arrow_schema::ArrowError> for StrategyError {
    fn from(error: arrow_schema::ArrowError) -> Self {
        Self::new(format!("arrow: {error}"))
    }
}

impl From<serde_json::Error> for StrategyError {
    fn from(error: serde_json::Error) -> Self {
        Self::new(format!("params: {error}"))
    }
}

/// Results of strategy calls.
pub type StrategyResult<T> = Result<T, StrategyError>;
