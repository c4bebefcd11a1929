//! The HTTP surface: the dashboard at `/`, GraphQL (and GraphiQL), subscriptions, CSV exports,
//! `/metrics`, `/health` and `/ready`.

use crate::api_error::api_error;
use crate::auth::{Gate, authenticate, same_machine};
use crate::export::{self, ExportError};
use crate::subscriptions::{Shutdown, subscribe};
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures::TryStreamExt;
use kindred_graphql::access::{Caller, Permission};
use kindred_graphql::heavy::HeavyWork;
use kindred_graphql::{KindredSchema, request_loader};
use kindred_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The GraphQL schema.
    pub schema: KindredSchema,
    /// Raised when the server stops, to end open subscriptions.
    pub shutdown: Shutdown,
    /// Who may call, and how often.
    pub gate: Arc<Gate>,
    /// Request limits (the largest WebSocket message is the largest body).
    pub limits: Limits,
    /// Permits for heavy work (GraphQL's heavy fields and CSV exports share them).
    pub heavy: Arc<HeavyWork>,
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub timeout: Duration,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    // Every API endpoint is behind the gate (key and rate limit) and, with authentication
    // off, answers only this machine; the pages (GraphiQL, the dashboard) and the probes hold
    // no data.
    let same_machine = middleware::from_fn_with_state(state.gate.clone(), same_machine);
    let gate = middleware::from_fn_with_state(state.gate.clone(), authenticate);
    // Subscriptions (graphql-transport-ws, and the older graphql-ws) live on their own path
    // and are not cut by the request timeout; their key comes in `connection_init`.
    let subscriptions = Router::new()
        .route("/graphql/ws", get(subscribe.layer(same_machine.clone())))
        .with_state(state.clone());
    Router::new()
        .route("/graphql", get(graphiql).post(graphql.layer(gate.clone()).layer(same_machine.clone())))
        .route("/segments/{id}/members.csv", get(members_csv.layer(gate.clone()).layer(same_machine.clone())))
        .route("/metrics", get(crate::metrics::scrape.layer(gate).layer(same_machine)))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(middleware::map_response_with_state(limits.max_body_bytes, explain_too_large))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.timeout))
        .merge(subscriptions)
        .merge(crate::dashboard::routes())
        // Counted and timed by route, outside every other layer so refusals (401, 408, 413,
        // 429) are counted too.
        .layer(middleware::from_fn(crate::metrics::track_requests))
        // One span per request at INFO, so anything logged while serving it carries the
        // method and path; each response is logged at DEBUG to keep busy servers quiet.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
}

async fn graphql(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request: GraphQLRequest,
) -> Response {
    let request = request.into_inner().data(request_loader(&state.store)).data(caller);
    let operation = request.operation_name.clone();
    let response = state.schema.execute(request).await;
    let codes =
        response.errors.iter().map(|error| match error.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(async_graphql::Value::String(code)) => Some(code.as_str()),
            _ => None,
        });
    crate::metrics::graphql_operation(operation.as_deref(), codes);
    let busy = response.errors.iter().any(|error| {
        matches!(error.extensions.as_ref().and_then(|e| e.get("code")), Some(async_graphql::Value::String(code)) if code == "BUSY")
    });
    let mut answer = GraphQLResponse::from(response).into_response();
    if busy {
        // Heavy work refused for now: an HTTP client's retry logic knows 429.
        *answer.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        answer.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    answer
}

/// Turns the body limit's bare 413 into an error that says what the limit is, in GraphQL's
/// error shape.
async fn explain_too_large(State(max_body_bytes): State<usize>, response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let message = format!(
        "the request body is larger than the server accepts ({max_body_bytes} bytes, server.max_body_bytes)"
    );
    api_error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", &message)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql/ws").finish())
}

/// `GET /segments/{id}/members.csv`: the members of segment `id` (`<segmentation id>:<label>`,
/// the label percent-encoded) or of every segment of segmentation `id`, as streamed CSV.
async fn members_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    if !caller.role.allows(Permission::Read) {
        let message = format!("the {} role may not export members", caller.role);
        return api_error(StatusCode::FORBIDDEN, "FORBIDDEN", &message);
    }
    let (segmentation, segment) = match id.split_once(':') {
        Some((segmentation, segment)) => (segmentation, Some(segment)),
        None => (id.as_str(), None),
    };
    let target = match export::resolve(&state.store, segmentation, segment, false).await {
        Ok(target) => target,
        Err(ExportError::NotFound(what)) => {
            let error = serde_json::json!({ "error": format!("no {what}") });
            return (StatusCode::NOT_FOUND, Json(error)).into_response();
        }
        Err(error) => {
            tracing::error!(%error, "cannot start an export");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let file: String = target
        .segmentation_name
        .chars()
        .chain(target.segment.iter().flat_map(|segment| std::iter::once('-').chain(segment.chars())))
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    // An export scans a segment: heavy work, holding its permit until the last byte is sent.
    let permit = match state.heavy.acquire(caller.key_name.as_deref().unwrap_or_default()).await {
        Ok(permit) => permit,
        Err(busy) => return api_error(StatusCode::TOO_MANY_REQUESTS, "BUSY", &busy.to_string()),
    };
    let chunks = export::members_csv(state.store.clone(), target)
        .map_ok(move |chunk| {
            let _held = &permit;
            chunk.bytes
        })
        .inspect_err(|error| {
            tracing::error!(%error, "export stopped");
        });
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}.csv\"")),
    ];
    (headers, Body::from_stream(chunks)).into_response()
}

/// The process is up.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The database answers.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "unavailable" })))
        }
    }
}
