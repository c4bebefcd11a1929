//! The HTTP surface: the dashboard at `/`, GraphQL (and GraphiQL), subscriptions, CSV exports,
//! `/metrics`, `/health` and `/ready`.

use crate::api_error::api_error;
use crate::auth::{Gate, authenticate, same_machine};
use crate::export::{self, ExportError};
use crate::graphql_http::{self, MediaType};
use crate::state::AppState;
use crate::subscriptions::subscribe;
use async_graphql::http::GraphiQLSource;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures::TryStreamExt;
use kindred_graphql::ErrorCode;
use kindred_graphql::access::{Caller, Permission};
use kindred_graphql::request_loader;
use std::sync::Arc;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    // Every API endpoint is behind the gate (key and rate limit) and, with authentication
    // off, answers only this machine; the pages (GraphiQL, the dashboard) and the probes hold
    // no data.
    let same_machine = middleware::from_fn_with_state(state.gate.clone(), same_machine);
    let gate = middleware::from_fn_with_state(state.gate.clone(), authenticate);
    let gate_queries = middleware::from_fn_with_state(state.gate.clone(), gate_get_queries);
    // Subscriptions (graphql-transport-ws, and the older graphql-ws) live on their own path
    // and are not cut by the request timeout; their key comes in `connection_init`.
    let subscriptions = Router::new()
        .route("/graphql/ws", get(subscribe.layer(same_machine.clone())))
        .with_state(state.clone());
    Router::new()
        .route(
            "/graphql",
            get(graphql_get.layer(gate_queries))
                .post(graphql_post.layer(gate.clone()).layer(same_machine.clone()))
                .fallback(graphql_method_not_allowed),
        )
        .route("/segments/{id}/members.csv", get(members_csv.layer(gate.clone()).layer(same_machine.clone())))
        .route("/metrics", get(crate::metrics::scrape.layer(gate).layer(same_machine)))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(middleware::map_response_with_state(limits.max_body_bytes, explain_too_large))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.timeout))
        .layer(middleware::map_response_with_state(limits.timeout, explain_timeout))
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

/// `POST /graphql`: one request as JSON.
async fn graphql_post(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = graphql_http::negotiate(&headers);
    // Read here, not by an extractor, so a chunked body over the limit gets the same answer
    // as a declared one.
    let Ok(bytes) = axum::body::to_bytes(body, state.limits.max_body_bytes).await else {
        return too_large(state.limits.max_body_bytes);
    };
    match graphql_http::read_post(&headers, &bytes) {
        Ok(request) => execute(&state, caller, request, media).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// `GET /graphql`: a query in the query string, or the GraphiQL page when there is none.
async fn graphql_get(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut request = match graphql_http::read_get(query.as_deref()) {
        Ok(Some(request)) => request,
        Ok(None) => return graphiql().await.into_response(),
        Err(refusal) => return refusal.into_response(),
    };
    let media = graphql_http::negotiate(&headers);
    if graphql_http::parse(&mut request).is_ok() && !graphql_http::is_query(&mut request) {
        return graphql_http::get_not_allowed();
    }
    // The gate put the caller in for any GET that carries a query.
    let Some(Extension(caller)) = caller else {
        return api_error(ErrorCode::Unauthenticated, "an API key is required");
    };
    execute(&state, caller, request, media).await
}

/// Any other method on `/graphql`.
async fn graphql_method_not_allowed() -> Response {
    let mut response = api_error(
        ErrorCode::MethodNotAllowed,
        "/graphql takes POST (any operation) and GET (queries); subscriptions use /graphql/ws",
    );
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    response
}

/// A GET that carries a query is an API call: it passes the same checks as a POST (this
/// machine only without authentication, then the key and the rate limit). One without a query
/// is the GraphiQL page, which holds no data.
async fn gate_get_queries(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let names_query = request.uri().query().is_some_and(|query| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .is_ok_and(|pairs| pairs.iter().any(|(name, _)| name == "query"))
    });
    if !names_query {
        return next.run(request).await;
    }
    if !gate.enabled()
        && let Some(why) = crate::auth::origin::refusal(request.headers())
    {
        return api_error(ErrorCode::Forbidden, why);
    }
    authenticate(State(gate), request, next).await
}

/// Runs a parsed request and answers it in `media`.
async fn execute(
    state: &AppState,
    caller: Caller,
    mut request: async_graphql::Request,
    media: MediaType,
) -> Response {
    let operation = request.operation_name.clone();
    let response = match graphql_http::parse(&mut request) {
        Ok(()) => state.schema.execute(request.data(request_loader(&state.store)).data(caller)).await,
        Err(error) => async_graphql::Response::from_errors(vec![error]),
    };
    let answer = graphql_http::Answer::new(response);
    crate::metrics::graphql_operation(operation.as_deref(), answer.codes());
    answer.into_http(media)
}

/// A bare 413, or a body that turned out larger than the limit while read, explained.
fn too_large(max_body_bytes: usize) -> Response {
    let message = format!(
        "the request body is larger than the server accepts ({max_body_bytes} bytes, server.max_body_bytes)"
    );
    api_error(ErrorCode::PayloadTooLarge, &message)
}

/// Turns the timeout's bare 408 into an error that says what the limit is.
async fn explain_timeout(State(timeout): State<Duration>, response: Response) -> Response {
    if response.status() != StatusCode::REQUEST_TIMEOUT
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let message = format!(
        "the request took longer than the server allows ({} s, server.request_timeout_secs); its work was stopped",
        timeout.as_secs()
    );
    api_error(ErrorCode::Timeout, &message)
}

/// Turns the body limit's bare 413 into an error that says what the limit is, in GraphQL's
/// error shape.
async fn explain_too_large(State(max_body_bytes): State<usize>, response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    too_large(max_body_bytes)
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
        return api_error(ErrorCode::Forbidden, &message);
    }
    let (segmentation, segment) = match id.split_once(':') {
        Some((segmentation, segment)) => (segmentation, Some(segment)),
        None => (id.as_str(), None),
    };
    let target = match export::resolve(&state.store, segmentation, segment, false).await {
        Ok(target) => target,
        Err(ExportError::NotFound(what)) => return api_error(ErrorCode::NotFound, &format!("no {what}")),
        Err(error) => {
            tracing::error!(%error, "cannot start an export");
            return api_error(ErrorCode::Internal, "the export could not start");
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
        Err(busy) => return api_error(ErrorCode::Busy, &busy.to_string()),
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
