//! Every code an error of the API can carry in `extensions.code`, with its meaning and its
//! HTTP status: the one table the GraphQL and HTTP layers answer from, and the README's list
//! is checked against (`tests/error_codes.rs`).

use std::fmt;

/// A machine-readable error code, as `extensions.code` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A value is refused.
    Validation,
    /// The record does not exist (or is not the caller's to see).
    NotFound,
    /// The write conflicts with what is stored.
    Conflict,
    /// The strategy is unknown, refused or disabled.
    PluginUnavailable,
    /// The strategy refused its parameters, failed or panicked.
    PluginFailed,
    /// An isolated strategy's worker process died during the call.
    PluginCrashed,
    /// The settings file could not be read again; nothing was reloaded.
    SettingsInvalid,
    /// A preview too large to answer at once.
    PreviewJobRequired,
    /// The key's role may not do this.
    Forbidden,
    /// No key, or a key that is unknown or revoked.
    Unauthenticated,
    /// Over the key's request rate.
    RateLimited,
    /// Too much heavy work at once.
    Busy,
    /// The document is not GraphQL.
    GraphqlParseFailed,
    /// The document does not fit the schema, or its variables do not coerce.
    GraphqlValidationFailed,
    /// The query is nested too deep.
    QueryTooDeep,
    /// The query is too complex.
    QueryTooComplex,
    /// The last error of a response that had too many.
    TooManyErrors,
    /// A request that is not a GraphQL request.
    BadRequest,
    /// A body that is not JSON.
    InvalidJson,
    /// A JSON array of requests.
    BatchNotSupported,
    /// A body that is not JSON in UTF-8.
    UnsupportedMediaType,
    /// A method the route does not take.
    MethodNotAllowed,
    /// A body over the limit.
    PayloadTooLarge,
    /// A request slower than the limit.
    Timeout,
    /// The database does not answer.
    Unavailable,
    /// Something failed on Kindred's side.
    Internal,
}

impl ErrorCode {
    /// Every code, in the README's order.
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::Validation,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::PluginUnavailable,
        ErrorCode::PluginFailed,
        ErrorCode::PluginCrashed,
        ErrorCode::SettingsInvalid,
        ErrorCode::PreviewJobRequired,
        ErrorCode::Forbidden,
        ErrorCode::Unauthenticated,
        ErrorCode::RateLimited,
        ErrorCode::Busy,
        ErrorCode::GraphqlParseFailed,
        ErrorCode::GraphqlValidationFailed,
        ErrorCode::QueryTooDeep,
        ErrorCode::QueryTooComplex,
        ErrorCode::TooManyErrors,
        ErrorCode::BadRequest,
        ErrorCode::InvalidJson,
        ErrorCode::BatchNotSupported,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Timeout,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code as `extensions.code` spells it.
    pub fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// The code spelled `code`, if it is one.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }

    /// The HTTP statuses a response carrying this code can have: 200 inside a GraphQL
    /// response, the other one when the request is refused as a whole. None for a code that is
    /// never the only one of a response.
    pub fn statuses(self) -> &'static [u16] {
        self.entry().1
    }

    /// The status of a response that refuses a request with this code (the last of
    /// [`statuses`](Self::statuses); 200 for a code only ever inside a GraphQL response).
    pub fn refusal_status(self) -> u16 {
        self.statuses().last().copied().unwrap_or(200)
    }

    /// Whether an error with this code names the input at fault in `extensions.field`
    /// (`CONFLICT` does for an erased customer).
    pub fn carries_field(self) -> bool {
        self.entry().2
    }

    /// What the code means, as the README's table says it.
    pub fn meaning(self) -> &'static str {
        self.entry().3
    }

    /// (code, statuses, carries a field, meaning).
    fn entry(self) -> (&'static str, &'static [u16], bool, &'static str) {
        match self {
            ErrorCode::Validation => (
                "VALIDATION",
                &[200],
                true,
                "a value is refused; `extensions.field` names the first, `extensions.errors` lists each (field, value prefix, reason)",
            ),
            ErrorCode::NotFound => (
                "NOT_FOUND",
                &[200, 404],
                false,
                "the record does not exist (or is not yours to see; 404: a members CSV of no segment)",
            ),
            ErrorCode::Conflict => (
                "CONFLICT",
                &[200],
                true,
                "the write conflicts with what is stored (a name taken, a refit running, an erased customer: `extensions.field` names the input)",
            ),
            ErrorCode::PluginUnavailable => {
                ("PLUGIN_UNAVAILABLE", &[200], false, "the strategy is unknown, refused or disabled")
            }
            ErrorCode::PluginFailed => {
                ("PLUGIN_FAILED", &[200], false, "the strategy refused its parameters, failed or panicked")
            }
            ErrorCode::PluginCrashed => (
                "PLUGIN_CRASHED",
                &[200],
                false,
                "an isolated strategy's worker process died during the call (a signal, an abort, out of memory, the call timeout): the message names the cause; the next call starts a new worker",
            ),
            ErrorCode::SettingsInvalid => (
                "SETTINGS_INVALID",
                &[200],
                false,
                "`reloadPlugins` could not read the settings file again (the message says where and why); nothing was reloaded",
            ),
            ErrorCode::PreviewJobRequired => (
                "PREVIEW_JOB_REQUIRED",
                &[200],
                false,
                "a preview too large to answer at once: `startPreview`, or a `sample`",
            ),
            ErrorCode::Forbidden => (
                "FORBIDDEN",
                &[200, 403],
                false,
                "the key's role may not do this (403: a request from another machine without authentication)",
            ),
            ErrorCode::Unauthenticated => {
                ("UNAUTHENTICATED", &[401], false, "no key, or a key that is unknown or revoked")
            }
            ErrorCode::RateLimited => {
                ("RATE_LIMITED", &[429], false, "over the key's request rate (`Retry-After` says when)")
            }
            ErrorCode::Busy => ("BUSY", &[429], false, "too much heavy work at once; retry shortly"),
            ErrorCode::GraphqlParseFailed => {
                ("GRAPHQL_PARSE_FAILED", &[200, 400], false, "the document is not GraphQL")
            }
            ErrorCode::GraphqlValidationFailed => (
                "GRAPHQL_VALIDATION_FAILED",
                &[200, 400],
                false,
                "the document does not fit the schema, or its variables do not coerce",
            ),
            ErrorCode::QueryTooDeep => ("QUERY_TOO_DEEP", &[200, 400], false, "deeper than 10 levels"),
            ErrorCode::QueryTooComplex => (
                "QUERY_TOO_COMPLEX",
                &[200, 400],
                false,
                "over the complexity limit (heavy fields count what they cost)",
            ),
            ErrorCode::TooManyErrors => {
                ("TOO_MANY_ERRORS", &[], false, "the last error of a response that had more than 50")
            }
            ErrorCode::BadRequest => (
                "BAD_REQUEST",
                &[400],
                false,
                "an empty body, or a request that is not `{query, operationName, variables, extensions}`",
            ),
            ErrorCode::InvalidJson => {
                ("INVALID_JSON", &[400], false, "the body (or a GET's `variables`) is not JSON")
            }
            ErrorCode::BatchNotSupported => {
                ("BATCH_NOT_SUPPORTED", &[400], false, "a JSON array of requests: send one per request")
            }
            ErrorCode::UnsupportedMediaType => {
                ("UNSUPPORTED_MEDIA_TYPE", &[415], false, "a POST that is not `application/json` in UTF-8")
            }
            ErrorCode::MethodNotAllowed => (
                "METHOD_NOT_ALLOWED",
                &[405],
                false,
                "a mutation by GET, or a method other than GET and POST",
            ),
            ErrorCode::PayloadTooLarge => (
                "PAYLOAD_TOO_LARGE",
                &[413],
                false,
                "a body over `server.max_body_bytes`, declared or sent in chunks",
            ),
            ErrorCode::Timeout => {
                ("TIMEOUT", &[408], false, "slower than `server.request_timeout_secs`; its work is stopped")
            }
            ErrorCode::Unavailable => ("UNAVAILABLE", &[503], false, "the database does not answer"),
            ErrorCode::Internal => {
                ("INTERNAL", &[200, 500], false, "something failed on our side (logged, not shown)")
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_read_back() {
        for (at, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!(!ErrorCode::ALL[..at].contains(&code), "{code} twice");
            assert!(code.as_str().chars().all(|c| c == '_' || c.is_ascii_uppercase()), "{code}");
        }
        assert_eq!(ErrorCode::parse("validation"), None);
    }

    #[test]
    fn a_refusal_has_the_status_outside_graphql() {
        assert_eq!(ErrorCode::Forbidden.refusal_status(), 403);
        assert_eq!(ErrorCode::Validation.refusal_status(), 200);
        assert_eq!(ErrorCode::TooManyErrors.refusal_status(), 200);
        assert!(ErrorCode::Validation.carries_field() && !ErrorCode::NotFound.carries_field());
    }
}
