//! What a strategy returns when it cannot do what it was asked.

/// A strategy's error: a message the host shows to the operator as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StrategyError {
    message: String,
    /// For bad parameters: the JSON Pointer of the bad value and the reason.
    param: Option<(String, String)>,
}

impl StrategyError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), param: None }
    }

    /// An error about parameter `path` (a JSON path such as `/dimensions/0/field`).
    pub fn param(path: &str, reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string();
        Self { message: format!("params {path}: {reason}"), param: Some((path.to_owned(), reason)) }
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
