//! `GET /metrics` end to end: the real server's Prometheus text parses, and its counters move
//! after a write, a refit and a failing plugin call; with authentication on, it needs a key
//! that may read.

use kindred_e2e::metrics::{scrape, total};
use kindred_e2e::{Server, Workspace, plugin_entry, plugin_library};
use prometheus_parse::Scrape;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn settings() -> String {
    [
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), ""),
    ]
    .concat()
}

async fn graphql_named(server: &Server, name: &str, query: &str, variables: Value) -> Value {
    let client = reqwest::Client::new();
    client
        .post(format!("{}/graphql", server.base()))
        .json(&json!({ "query": query, "variables": variables, "operationName": name }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON")
}

/// Scrapes until `check` holds, for at most 60 seconds.
async fn eventually(server: &Server, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
    let started = Instant::now();
    loop {
        let scraped = scrape(server, None).await;
        if check(&scraped) {
            return scraped;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what} never showed in /metrics");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const CREATE: &str = "mutation Create($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_after_a_write_a_refit_and_a_failing_plugin_call() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let loaded = work.run(&["demo", "--customers", "200"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;

    let before = scrape(&server, None).await;
    assert!(total(&before, "kindred_db_pool_connections", &[("state", "idle")]) >= 0.0);
    assert!(
        before.samples.iter().any(|sample| sample.metric == "kindred_db_pool_connections"),
        "the pool gauge is there from the first scrape"
    );
    let refits_before = total(&before, "kindred_refit_jobs_total", &[]);

    // A refit that succeeds, on the real behavioral plugin.
    let rules = json!({ "method": "rules", "rules": [{ "label": "buyers", "when": {
        "agg": "count", "where": { "kind": "purchase" }, "op": "gt", "value": 0 } }] });
    let input =
        json!({ "i": { "name": "buyers", "strategy": "behavioral", "params": rules, "mode": "DYNAMIC" } });
    let created = graphql_named(&server, "Create", CREATE, input).await;
    assert!(created.get("errors").is_none(), "{created}");
    let succeeded = eventually(&server, "a succeeded refit", |s| {
        total(s, "kindred_refit_jobs_total", &[("outcome", "succeeded")]) >= 1.0
    })
    .await;
    assert!(total(&succeeded, "kindred_refit_duration_seconds", &[("outcome", "succeeded")]) >= 1.0);
    assert!(
        total(
            &succeeded,
            "kindred_plugin_calls_total",
            &[("plugin", "behavioral"), ("call", "fit"), ("outcome", "ok")]
        ) >= 1.0
    );
    assert!(
        total(
            &succeeded,
            "kindred_plugin_call_duration_seconds",
            &[("plugin", "behavioral"), ("call", "assign")]
        ) >= 1.0
    );

    // A write: a purchase that makes a new customer a buyer, re-assigned by the write worker.
    let record = "mutation Write($at: DateTime!) { recordInteraction(input: { customerExternalId: \"metrics-new\", \
        occurredAt: $at, kind: \"purchase\", amount: 12.5 }) { id } }";
    let at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let written = graphql_named(&server, "Write", record, json!({ "at": at })).await;
    assert!(written.get("errors").is_none(), "{written}");
    let after_write = eventually(&server, "the write's re-assignment", |s| {
        total(s, "kindred_write_to_event_seconds", &[]) >= 1.0
            && total(s, "kindred_membership_changes_total", &[("reason", "write")]) >= 1.0
    })
    .await;
    assert!(
        total(&after_write, "kindred_graphql_operations_total", &[("operation", "Write"), ("outcome", "ok")])
            >= 1.0
    );
    assert!(
        total(
            &after_write,
            "kindred_http_requests_total",
            &[("route", "/graphql"), ("method", "POST"), ("status", "200")]
        ) >= 2.0
    );
    assert!(total(&after_write, "kindred_http_request_duration_seconds", &[("route", "/graphql")]) >= 2.0);
    assert_eq!(total(&after_write, "kindred_write_queue_customers", &[]), 0.0, "the queue drained");

    // A plugin call that fails, and the refit it fails.
    let failing = json!({ "i": { "name": "failing", "strategy": "misbehaving", "params": { "mode": "error_in_fit" }, "mode": "DYNAMIC" } });
    let created = graphql_named(&server, "Create", CREATE, failing).await;
    assert!(created.get("errors").is_none(), "{created}");
    let failed = eventually(&server, "the failed plugin call", |s| {
        total(
            s,
            "kindred_plugin_calls_total",
            &[("plugin", "misbehaving"), ("call", "fit"), ("outcome", "error")],
        ) >= 1.0
            && total(s, "kindred_refit_jobs_total", &[("outcome", "failed")]) >= 1.0
    })
    .await;
    assert!(total(&failed, "kindred_refit_jobs_total", &[]) >= refits_before + 2.0);

    // An error answered to a client is counted by its code.
    let wrong =
        graphql_named(&server, "Missing", "query Missing { segmentation(id: \"999999\") { id } }", json!({}))
            .await;
    let refreshed = graphql_named(
        &server,
        "Refresh",
        "mutation Refresh { refreshSegmentation(id: \"999999\") { id } }",
        json!({}),
    )
    .await;
    assert!(refreshed["errors"][0]["extensions"]["code"].is_string(), "{refreshed} {wrong}");
    let code = refreshed["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned();
    let errors = scrape(&server, None).await;
    assert!(
        total(&errors, "kindred_graphql_errors_total", &[("operation", "Refresh"), ("code", &code)]) >= 1.0
    );
    assert!(
        total(&errors, "kindred_graphql_operations_total", &[("operation", "Refresh"), ("outcome", "error")])
            >= 1.0
    );
    // Unknown paths are one series, whatever the path.
    let _ = server.get("/no/such/page/1", None).await;
    let _ = server.get("/no/such/page/2", None).await;
    let unmatched = scrape(&server, None).await;
    assert!(!unmatched.samples.iter().any(|s| s.labels.get("route").is_some_and(|r| r.contains("such"))));
    assert!(server.terminate(), "clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_authentication_metrics_need_a_key_that_may_read() {
    let work = Workspace::new();
    work.write("kindred.toml", &format!("[auth]\nenabled = true\n{}", settings()));
    let analyst = work.create_key("analyst", "prometheus");
    let ingest = work.create_key("ingest", "loader");
    let server = work.serve(&[]).await;
    let (status, _) = server.get("/metrics", None).await;
    assert_eq!(status, 401);
    let (status, _) = server.get("/metrics", Some("kdr_wrong_key")).await;
    assert_eq!(status, 401);
    let (status, body) = server.get("/metrics", Some(&ingest)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("FORBIDDEN"), "{body}");
    let scraped = scrape(&server, Some(&analyst)).await;
    assert!(
        total(&scraped, "kindred_http_requests_total", &[("route", "/metrics"), ("status", "401")]) >= 2.0
    );
}
