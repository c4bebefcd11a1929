//! The HTTP router in-process (`tower::ServiceExt::oneshot`, no socket): the gate (keys,
//! roles, rate limits, the same-machine check), the request limits, and the members CSV route.
#![allow(missing_docs, clippy::unwrap_used)]

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use kindred_graphql::audit::AuditLog;
use kindred_graphql::heavy::{HeavyLimits, HeavyWork};
use kindred_plugin_host::PluginHost;
use kindred_server::auth::{Gate, GateSettings, KeyRing};
use kindred_server::http::router;
use kindred_server::state::{AppState, Limits, Shutdown};
use kindred_store::{NewApiKey, NewSegmentation, Role, SegmentationMode, Store};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const MAX_BODY: usize = 16 * 1024;

struct App {
    router: Router,
    store: Store,
    _folder: tempfile::TempDir,
}

async fn app(auth: bool, per_second: Option<u32>) -> App {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/kindred.db", folder.path().display())).await.unwrap();
    store.migrate().await.unwrap();
    let heavy = HeavyWork::new(HeavyLimits::default());
    let (audit, _writer) = AuditLog::start(store.clone());
    let schema = kindred_graphql::build_server_schema(
        store.clone(),
        Arc::new(PluginHost::default()),
        None,
        audit,
        heavy.clone(),
        kindred_graphql::InputRules { max_amount: 1_000_000.0, ..Default::default() },
        kindred_graphql::plugins::PluginSettingsSource(Arc::new(|| Ok((Vec::new(), ".".into())))),
    );
    let settings = GateSettings {
        enabled: auth,
        per_second: per_second.and_then(NonZeroU32::new),
        burst: NonZeroU32::new(2).unwrap(),
    };
    let gate = Gate::new(settings, KeyRing::new(store.clone()));
    let limits = Limits { max_body_bytes: MAX_BODY, timeout: Duration::from_secs(10) };
    let (_stop, shutdown) = Shutdown::new();
    let state = AppState { store: store.clone(), schema, shutdown, gate, limits, heavy };
    let client = SocketAddr::from(([127, 0, 0, 1], 40_000));
    App { router: router(state).layer(MockConnectInfo(client)), store, _folder: folder }
}

impl App {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (status, to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
    }

    async fn graphql(&self, query: &str, key: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::post("/graphql")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let body = Body::from(json!({ "query": query }).to_string());
        let (status, bytes) = self.send(request.body(body).unwrap()).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn key(&self, name: &str, role: Role) -> String {
        let made = kindred_graphql::keys::generate().unwrap();
        let new = NewApiKey { name: name.to_owned(), role, prefix: made.prefix, hash: made.hash };
        self.store.create_api_key(&new).await.unwrap();
        made.key
    }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().or(body["error"]["code"].as_str()).unwrap_or_default()
}

#[tokio::test]
async fn the_gate_wants_a_valid_key_and_checks_its_role() {
    let app = app(true, None).await;
    let (status, body) = app.graphql("{ customers(first: 1) { edges { cursor } } }", None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"), "{body}");
    let (status, body) = app.graphql("{ __typename }", Some("kdr_nothing_wrong")).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"), "{body}");

    let analyst = app.key("reader", Role::Analyst).await;
    let (status, body) = app.graphql("{ customers(first: 1) { edges { cursor } } }", Some(&analyst)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let write = r#"mutation { upsertCustomer(input: { externalId: "x" }) { id } }"#;
    let (_, body) = app.graphql(write, Some(&analyst)).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn without_authentication_only_this_machine_is_served() {
    let app = app(false, None).await;
    let (status, _) = app.graphql("{ __typename }", None).await;
    assert_eq!(status, StatusCode::OK);
    let foreign = Request::post("/graphql")
        .header(header::HOST, "crm.example.com")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"query":"{ __typename }"}"#))
        .unwrap();
    let (status, bytes) = app.send(foreign).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&bytes));
}

#[tokio::test]
async fn a_caller_over_the_rate_is_told_when_to_retry() {
    let app = app(false, Some(1)).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.graphql("{ __typename }", None).await.0);
    }
    assert_eq!(statuses[0], StatusCode::OK);
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_whole() {
    let app = app(false, None).await;
    let padding = "x".repeat(MAX_BODY * 2);
    let request = Request::post("/graphql")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "query": "{ __typename }", "variables": { "pad": padding } }).to_string()))
        .unwrap();
    let (status, _) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_members_csv_streams_a_segment_or_names_what_is_missing() {
    let app = app(false, None).await;
    let csv =
        |path: &str| Request::get(path).header(header::HOST, "127.0.0.1:8080").body(Body::empty()).unwrap();
    let (status, bytes) = app.send(csv("/segments/999/members.csv")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{}", String::from_utf8_lossy(&bytes));
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(code(&body), "NOT_FOUND", "{body}");

    let new = NewSegmentation {
        name: "by hand".to_owned(),
        strategy: "none".to_owned(),
        params: json!({}),
        mode: SegmentationMode::Static,
        refresh_interval_seconds: None,
    };
    let id = app.store.create_segmentation(&new).await.unwrap().id;
    let (status, bytes) = app.send(csv(&format!("/segments/{id}/members.csv"))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().next(), Some(kindred_server::export::HEADER.join(",").as_str()), "{text}");
    assert_eq!(text.lines().count(), 1, "an empty segmentation exports its header only: {text}");
}
