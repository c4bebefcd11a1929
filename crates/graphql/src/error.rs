//! API errors with a machine-readable code in `extensions`.

use async_graphql::{Error, ErrorExtensions};
use kindred_domain::{ValidationError, ValidationErrors};
use kindred_plugin_host::PluginError;
use kindred_store::StoreError;

/// What a client can be told went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is not valid; `extensions.field` names the first bad field.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// The record does not exist.
    #[error("{what} {key} not found")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// The key looked up.
        key: String,
    },
    /// The write conflicts with data already stored.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The write names an erased customer; `extensions.field` names the input field. The
    /// message leaves the external id out.
    #[error("{field}: the customer was erased; upsertCustomer with allowErased: true re-creates them")]
    Erased {
        /// The input field, as the API names it.
        field: &'static str,
    },
    /// Strategy parameters that break the strategy's JSON Schema.
    #[error("{0}")]
    InvalidParams(String, Vec<kindred_plugin_host::ParamError>),
    /// The plugin asked for is not loaded (unknown, refused or disabled).
    #[error("{0}")]
    PluginUnavailable(String),
    /// A plugin refused the parameters, failed, panicked or broke the contract.
    #[error("{0}")]
    PluginFailed(String),
    /// An isolated plugin's worker process died during the call.
    #[error("{0}")]
    PluginCrashed(String),
    /// The settings file could not be read again.
    #[error("{0}")]
    SettingsInvalid(String),
    /// A field whose value is not allowed, with why.
    #[error("{field}: {message}")]
    InvalidField {
        /// The input field, as the API names it.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Too much heavy work is running (for this key or the server); retry shortly. The HTTP
    /// answer is 429.
    #[error("{BUSY}")]
    Busy,
    /// A preview over more customers than are answered at once: start a preview job.
    #[error(
        "the preview covers {customers} customers, more than segments.sync_preview_max_customers ({limit}): \
         start a preview job with startPreview, or ask for a sample of at most {limit}"
    )]
    PreviewJobRequired {
        /// Customers the preview would cover.
        customers: u64,
        /// The most answered at once.
        limit: u64,
    },
    /// Something failed on our side; details are logged, not shown.
    #[error("internal error")]
    Internal,
}

/// `customer_external_id` -> `customerExternalId`, as the API names fields.
pub(crate) fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn describe(error: &ValidationError) -> String {
    format!("{}: {:?} {}", camel_case(error.field), error.value, error.reason)
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> Error {
        match self {
            ApiError::Validation(errors) => {
                let message = errors.0.iter().map(describe).collect::<Vec<_>>().join("; ");
                let first = errors.0.first().map(|e| camel_case(e.field)).unwrap_or_default();
                let details: Vec<async_graphql::Value> = errors
                    .0
                    .iter()
                    .map(|e| {
                        let mut map = async_graphql::indexmap::IndexMap::new();
                        map.insert(async_graphql::Name::new("field"), camel_case(e.field).into());
                        map.insert(async_graphql::Name::new("value"), e.value.clone().into());
                        map.insert(async_graphql::Name::new("reason"), e.reason.to_string().into());
                        async_graphql::Value::Object(map)
                    })
                    .collect();
                Error::new(message).extend_with(|_, ext| {
                    ext.set("code", crate::ErrorCode::Validation.as_str());
                    ext.set("field", first);
                    ext.set("errors", async_graphql::Value::List(details));
                })
            }
            ApiError::NotFound { .. } => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::NotFound.as_str())),
            ApiError::Conflict(_) => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::Conflict.as_str())),
            ApiError::Erased { field } => Error::new(self.to_string()).extend_with(|_, ext| {
                ext.set("code", crate::ErrorCode::Conflict.as_str());
                ext.set("field", *field);
            }),
            ApiError::InvalidParams(message, errors) => {
                let details: Vec<async_graphql::Value> = errors
                    .iter()
                    .map(|e| {
                        let mut map = async_graphql::indexmap::IndexMap::new();
                        map.insert(async_graphql::Name::new("field"), "params".into());
                        map.insert(
                            async_graphql::Name::new("path"),
                            kindred_domain::prefix(&e.path, 200).into_owned().into(),
                        );
                        map.insert(
                            async_graphql::Name::new("reason"),
                            kindred_domain::prefix(&e.message, 300).into_owned().into(),
                        );
                        async_graphql::Value::Object(map)
                    })
                    .collect();
                Error::new(message.clone()).extend_with(|_, ext| {
                    ext.set("code", crate::ErrorCode::Validation.as_str());
                    ext.set("field", "params");
                    ext.set("errors", async_graphql::Value::List(details));
                })
            }
            ApiError::SettingsInvalid(_) => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::SettingsInvalid.as_str())),
            ApiError::PluginUnavailable(_) => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::PluginUnavailable.as_str())),
            ApiError::PluginFailed(_) => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::PluginFailed.as_str())),
            ApiError::PluginCrashed(_) => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::PluginCrashed.as_str())),
            ApiError::InvalidField { field, message } => {
                let mut detail = async_graphql::indexmap::IndexMap::new();
                detail.insert(async_graphql::Name::new("field"), (*field).into());
                detail.insert(
                    async_graphql::Name::new("reason"),
                    kindred_domain::prefix(message, 300).into_owned().into(),
                );
                Error::new(self.to_string()).extend_with(|_, ext| {
                    ext.set("code", crate::ErrorCode::Validation.as_str());
                    ext.set("field", *field);
                    ext.set(
                        "errors",
                        async_graphql::Value::List(vec![async_graphql::Value::Object(detail.clone())]),
                    );
                })
            }
            ApiError::PreviewJobRequired { .. } => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::PreviewJobRequired.as_str())),
            ApiError::Busy => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::Busy.as_str())),
            ApiError::Internal => Error::new(self.to_string())
                .extend_with(|_, ext| ext.set("code", crate::ErrorCode::Internal.as_str())),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::Validation(error.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Invalid(errors) => ApiError::Validation(errors),
            StoreError::NotFound { what, key } => ApiError::NotFound { what, key },
            StoreError::Erased { .. } => ApiError::Erased { field: "externalId" },
            conflict if conflict.is_conflict() => ApiError::Conflict(conflict.to_string()),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::Internal
            }
        }
    }
}

impl From<PluginError> for ApiError {
    fn from(error: PluginError) -> Self {
        match error {
            PluginError::Unavailable { .. } => ApiError::PluginUnavailable(error.to_string()),
            PluginError::Params { ref errors, .. } => {
                ApiError::InvalidParams(error.to_string(), errors.clone())
            }
            PluginError::Store(_) => {
                tracing::error!(%error, "store error while running a plugin");
                ApiError::Internal
            }
            PluginError::Crashed { .. } => {
                tracing::error!(%error, "a plugin's worker process died");
                ApiError::PluginCrashed(error.to_string())
            }
            other => {
                tracing::warn!(error = %other, "plugin call failed");
                ApiError::PluginFailed(other.to_string())
            }
        }
    }
}

impl From<kindred_engine::EngineError> for ApiError {
    fn from(error: kindred_engine::EngineError) -> Self {
        use kindred_engine::EngineError;
        match error {
            EngineError::Store(error) => error.into(),
            EngineError::Plugin(error) => error.into(),
            EngineError::NotFound(id) => ApiError::NotFound { what: "segmentation", key: id.to_string() },
            EngineError::Invalid { field, message } => ApiError::InvalidField { field, message },
            EngineError::Conflict(message) => ApiError::Conflict(message),
        }
    }
}

/// Shorthand for resolver results.
pub(crate) type ApiResult<T> = Result<T, Error>;

/// What a caller refused for too much heavy work at once is told.
pub(crate) const BUSY: &str =
    "the server is busy with other heavy work (previews, overlaps, personas, exports): retry shortly";

/// Turns any API error into a GraphQL error with its extensions.
pub(crate) fn api<E: Into<ApiError>>(error: E) -> Error {
    error.into().extend()
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn field_names_follow_the_api() {
        assert_eq!(camel_case("customer_external_id"), "customerExternalId");
        assert_eq!(camel_case("email"), "email");
    }
}
