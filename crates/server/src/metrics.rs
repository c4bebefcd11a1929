//! `GET /metrics`: the server's metrics in the Prometheus text format. The libraries record
//! through the `metrics` facade (plugin calls in kindred-plugin-host, refits, the write queue,
//! webhooks and the change feed in kindred-engine); this module installs the exporter, adds
//! the HTTP and GraphQL metrics and samples the database pool at each scrape.

use crate::api_error::api_error;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kindred_graphql::ErrorCode;
use kindred_graphql::access::{Caller, Permission};
use kindred_store::SegmentationStatus;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

/// HTTP requests answered, by route, method and status.
pub const HTTP_REQUESTS: &str = "kindred_http_requests_total";
/// How long HTTP requests took, by route and method.
pub const HTTP_SECONDS: &str = "kindred_http_request_duration_seconds";
/// GraphQL operations run, by operation name and outcome (`ok` or `error`).
pub const GRAPHQL_OPERATIONS: &str = "kindred_graphql_operations_total";
/// GraphQL errors answered, by operation name and error code.
pub const GRAPHQL_ERRORS: &str = "kindred_graphql_errors_total";
/// The database pool's connections, by state (`in_use`, `idle`).
pub const DB_POOL_CONNECTIONS: &str = "kindred_db_pool_connections";
/// Segmentations in each status, sampled at each scrape.
pub const SEGMENTATIONS: &str = "kindred_segmentations";

/// Latency buckets (seconds) for every `_seconds` histogram: from a cached read to a long refit.
const BUCKETS: [f64; 16] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Distinct operation names given their own label; later ones are counted as `other`, so a
/// client cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls return the same
/// handle) and describes every metric.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                // Another recorder is installed (an embedding program's): ours renders empty.
                tracing::warn!(%error, "cannot install the metrics recorder");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route, method and status.");
    describe_histogram!(
        HTTP_SECONDS,
        metrics::Unit::Seconds,
        "Duration of HTTP requests, by route and method."
    );
    describe_counter!(GRAPHQL_OPERATIONS, "GraphQL operations run, by operation name and outcome.");
    describe_counter!(GRAPHQL_ERRORS, "GraphQL errors answered, by operation name and error code.");
    describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections, by state (in_use, idle).");
    describe_gauge!(SEGMENTATIONS, "Segmentations in each status (ready, running, failed, degraded).");
    kindred_plugin_host::metrics::describe();
    kindred_engine::metrics::describe();
    kindred_graphql::metrics::describe();
}

/// `GET /metrics`, behind the gate: a key that may read (admin, editor, analyst) when
/// authentication is on.
pub async fn scrape(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    if !caller.role.allows(Permission::Read) {
        let message = format!("the {} role may not read metrics", caller.role);
        return api_error(ErrorCode::Forbidden, &message);
    }
    let usage = state.store.pool_usage();
    gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(f64::from(usage.in_use));
    gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(usage.open - usage.in_use));
    match state.store.segmentation_status_counts().await {
        Ok(counts) => {
            for status in SegmentationStatus::ALL {
                let count = counts.iter().find(|(counted, _)| *counted == status).map_or(0, |(_, n)| *n);
                gauge!(SEGMENTATIONS, "status" => status.as_str()).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count segmentations by status for /metrics"),
    }
    let handle = install();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

/// Middleware: counts every request by its route (the pattern, not the path, so ids do not
/// multiply the series) and times it.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!(HTTP_SECONDS, "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status).increment(1);
    response
}

/// Counts one GraphQL operation and its errors' codes (`NONE` for an error without one).
pub fn graphql_operation<'a>(name: Option<&str>, codes: impl Iterator<Item = Option<&'a str>>) {
    let operation = operation_label(name);
    let mut failed = false;
    for code in codes {
        failed = true;
        let code = code.and_then(ErrorCode::parse).map_or("NONE", ErrorCode::as_str);
        counter!(GRAPHQL_ERRORS, "operation" => operation.clone(), "code" => code).increment(1);
    }
    let outcome = if failed { "error" } else { "ok" };
    counter!(GRAPHQL_OPERATIONS, "operation" => operation, "outcome" => outcome).increment(1);
}

/// The label of an operation name: the name itself if it is a GraphQL name among the first
/// [`MAX_OPERATION_NAMES`] seen, `anonymous` without one, `other` beyond.
fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|name| !name.is_empty()) else {
        return "anonymous".to_owned();
    };
    if !is_graphql_name(name) {
        return "other".to_owned();
    }
    let mut seen = SEEN.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES && seen.insert(name.to_owned()) {
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// A GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`) of at most 64 characters.
fn is_graphql_name(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("")), "anonymous");
        assert_eq!(operation_label(Some("Stats")), "Stats");
        assert_eq!(operation_label(Some("not a name")), "other");
        assert_eq!(operation_label(Some(&"a".repeat(65))), "other");
        for n in 0..MAX_OPERATION_NAMES {
            operation_label(Some(&format!("Op{n}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), "other");
        assert_eq!(operation_label(Some("Stats")), "Stats");
    }
}
