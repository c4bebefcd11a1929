//! Errors the HTTP layer answers itself (before GraphQL runs), in GraphQL's error shape so
//! clients read them like any other: `{"errors":[{"message", "extensions":{"code"}}]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A response with `status` and one error with `code` and `message`.
pub fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}
