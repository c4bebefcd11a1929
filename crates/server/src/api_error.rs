//! Errors the HTTP layer answers itself (before GraphQL runs), in GraphQL's error shape so
//! clients read them like any other: `{"errors":[{"message", "extensions":{"code"}}]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kindred_graphql::ErrorCode;

/// A response refusing the request with one error with `code` and `message`, and the status
/// the table of codes gives it.
pub fn api_error(code: ErrorCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.refusal_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, Json(body)).into_response()
}
