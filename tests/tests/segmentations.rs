//! Adaptive segments end to end, over HTTP and WebSocket against the real server and plugins:
//! segmentations created and refitted as jobs, a purchase that crosses a threshold entering a
//! customer live without any refresh, a static snapshot that does not move, cancelled and
//! failed jobs that leave memberships whole, and the errors a client gets.

use kindred_e2e::{Server, Subscription, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CREATE: &str =
    "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id status mode } }";
const STATE: &str = "query($id: ID!) { segmentation(id: $id) { id name status error lastRefreshedAt \
    excludedCustomers segments { label size } job { status reason customersDone customersTotal entered exited excluded durationMs } } }";
const REFRESH: &str = "mutation($id: ID!) { refreshSegmentation(id: $id) { id status } }";

fn big_spenders() -> Value {
    json!({ "method": "rules", "rules": [{ "label": "big spenders", "when": {
        "agg": "sum", "of": "amount", "where": { "kind": "purchase" }, "within_days": 365, "op": "gt", "value": 1000 } }] })
}

async fn create(server: &Server, name: &str, strategy: &str, params: Value, mode: &str) -> String {
    let input = json!({ "i": { "name": name, "strategy": strategy, "params": params, "mode": mode } });
    let created = server.data(CREATE, input).await;
    created["createSegmentation"]["id"].as_str().expect("id").to_owned()
}

/// Polls until the segmentation is no longer RUNNING; returns its state.
async fn settled(server: &Server, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let state = server.data(STATE, json!({ "id": id })).await["segmentation"].clone();
        if state["status"] != "RUNNING" {
            return state;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "still running: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn size_of(state: &Value, label: &str) -> i64 {
    let segments = state["segments"].as_array().expect("segments");
    segments.iter().find(|s| s["label"] == label).map_or(0, |s| s["size"].as_i64().expect("size"))
}

fn yesterday() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339()
}

fn settings() -> String {
    [
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), ""),
    ]
    .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_over_the_threshold_enters_the_customer_live() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let server = {
        // Demo data without the demo's segmentations: these tests count their own.
        let loaded = work.run(&["demo", "--customers", "200"]);
        assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
        work.serve(&[]).await
    };
    let dynamic = create(&server, "big spenders", "behavioral", big_spenders(), "DYNAMIC").await;
    let snapshot = create(&server, "big spenders snapshot", "behavioral", big_spenders(), "STATIC").await;
    let dynamic_state = settled(&server, &dynamic).await;
    assert_eq!(dynamic_state["status"], "READY", "{dynamic_state}");
    assert_eq!(dynamic_state["job"]["status"], "SUCCEEDED", "{dynamic_state}");
    // Customers of the demo who refused profiling are left out; the strategy sees the rest.
    let excluded = dynamic_state["excludedCustomers"].as_i64().expect("excluded customers");
    assert!(excluded > 0, "{dynamic_state}");
    assert_eq!(dynamic_state["job"]["excluded"], excluded, "{dynamic_state}");
    let profiled = 200 - excluded;
    assert_eq!(dynamic_state["job"]["customersDone"], profiled, "{dynamic_state}");
    let before = size_of(&dynamic_state, "big spenders");
    let placed: i64 = dynamic_state["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["size"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(placed, profiled, "everyone is placed: {dynamic_state}");
    assert_eq!(dynamic_state["job"]["entered"], profiled, "the first refit enters everyone it places");
    let snapshot_before = settled(&server, &snapshot).await;
    assert_eq!(size_of(&snapshot_before, "big spenders"), before);

    let changes = "subscription($s: ID) { membershipChanged(segmentationId: $s) { segmentationId customerId \
        customer { externalId } segment change reason score at } }";
    let mut live = Subscription::open_held(&server, None, changes, json!({ "s": dynamic }), json!({})).await;
    let mut everything = Subscription::open_held(&server, None, changes, json!({}), json!({})).await;
    // A new customer lands in "other" (what no rule matches) at once.
    server.data("mutation { upsertCustomer(input: { externalId: \"whale\" }) { id } }", json!({})).await;
    let event = live.next(Duration::from_secs(10)).await.expect("the newcomer enters \"other\"");
    let change = &event["membershipChanged"];
    assert_eq!((&change["segment"], &change["change"]), (&json!("other"), &json!("ENTERED")), "{event}");

    let purchase = json!({ "i": { "customerExternalId": "whale", "occurredAt": yesterday(), "kind": "purchase",
        "amount": 1500.0, "currency": "EUR", "channel": "store" } });
    let sent = Instant::now();
    server.data("mutation($i: InteractionInput!) { recordInteraction(input: $i) { id } }", purchase).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = live.next(Duration::from_secs(10)).await.expect("events without any refresh");
        let change = event["membershipChanged"].clone();
        assert_eq!(
            (&change["reason"], &change["customer"]["externalId"]),
            (&json!("WRITE"), &json!("whale")),
            "{event}"
        );
        assert_eq!(change["segmentationId"], json!(dynamic));
        seen.push((
            change["change"].as_str().unwrap_or_default().to_owned(),
            change["segment"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let latency = sent.elapsed();
    seen.sort();
    assert_eq!(
        seen,
        [("ENTERED".to_owned(), "big spenders".to_owned()), ("EXITED".to_owned(), "other".to_owned())]
    );
    assert!(latency < Duration::from_secs(5), "events after {latency:?}");
    // The unfiltered subscription sees the same three events, and nothing from the snapshot.
    for _ in 0..3 {
        let event = everything.next(Duration::from_secs(10)).await.expect("the same events");
        assert_eq!(event["membershipChanged"]["segmentationId"], json!(dynamic), "{event}");
    }
    assert!(
        everything.next(Duration::from_millis(500)).await.is_none(),
        "a static segment does not move on a write"
    );

    let state = settled(&server, &dynamic).await;
    assert_eq!(size_of(&state, "big spenders"), before + 1);
    assert_eq!(size_of(&settled(&server, &snapshot).await, "big spenders"), before, "the snapshot stays");

    let picture = server
        .data(
            "{ customer(externalId: \"whale\") { memberships { segmentation { id name } segment { label } score since } \
               membershipHistory { segmentation { id } segment { label } change reason } } }",
            json!({}),
        )
        .await;
    let memberships = picture["customer"]["memberships"].as_array().expect("memberships").clone();
    assert_eq!(memberships.len(), 1, "{picture}");
    assert_eq!(memberships[0]["segmentation"]["name"], "big spenders");
    assert_eq!(memberships[0]["score"], json!(1500.0));
    assert_eq!(picture["customer"]["membershipHistory"][0]["reason"], "WRITE", "{picture}");

    let members = server
        .data(
            "query($id: ID!) { segmentation(id: $id) { members(segment: \"big spenders\", first: 100) { edges { node { customer { externalId } score } } } } }",
            json!({ "id": dynamic }),
        )
        .await;
    let edges = members["segmentation"]["members"]["edges"].as_array().expect("edges").clone();
    assert_eq!(edges.len() as i64, before + 1);
    assert!(edges.iter().any(|e| e["node"]["customer"]["externalId"] == "whale"));

    // A manual refresh reports its progress over the WebSocket and changes nothing.
    let progress = "subscription($s: ID) { jobProgress(segmentationId: $s) { jobId done total status } }";
    let mut job = Subscription::open(server.base(), progress, json!({ "s": dynamic }), json!({})).await;
    server.data(REFRESH, json!({ "id": dynamic })).await;
    let mut last = Value::Null;
    while let Some(event) = job.next(Duration::from_secs(20)).await {
        last = event["jobProgress"].clone();
        if last["status"] != "RUNNING" {
            break;
        }
    }
    assert_eq!(
        (&last["status"], &last["done"], &last["total"]),
        (&json!("SUCCEEDED"), &json!(profiled + 1), &json!(profiled + 1)),
        "{last}"
    );
    let state = settled(&server, &dynamic).await;
    assert_eq!(
        (state["job"]["entered"].as_i64(), state["job"]["exited"].as_i64()),
        (Some(0), Some(0)),
        "{state}"
    );
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_and_failed_jobs_leave_memberships_whole() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let server = {
        // Demo data without the demo's segmentations: these tests count their own.
        let loaded = work.run(&["demo", "--customers", "50"]);
        assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
        work.serve(&[]).await
    };
    let id = create(&server, "everyone", "misbehaving", json!({ "mode": "ok" }), "DYNAMIC").await;
    let state = settled(&server, &id).await;
    // Of the 50 demo customers, those who refused profiling are left out.
    let profiled = 50 - state["excludedCustomers"].as_i64().expect("excluded customers");
    assert_eq!((state["status"].as_str(), size_of(&state, "all")), (Some("READY"), profiled), "{state}");

    // New parameters start a slow refit; a second refresh meanwhile is a conflict; cancel it.
    let update = "mutation($id: ID!, $p: JSON) { updateSegmentation(id: $id, input: { params: $p }) { id } }";
    server.data(update, json!({ "id": id, "p": { "mode": "slow" } })).await;
    let again = server.graphql(REFRESH, json!({ "id": id })).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "CONFLICT", "{again}");
    let cancelled = server.data("mutation($id: ID!) { cancelRefresh(id: $id) }", json!({ "id": id })).await;
    assert_eq!(cancelled["cancelRefresh"], true);
    let state = settled(&server, &id).await;
    assert_eq!(state["job"]["status"], "CANCELLED", "{state}");
    assert_eq!(state["status"], "READY");
    assert_eq!(
        (size_of(&state, "all"), size_of(&state, "slow")),
        (profiled, 0),
        "the previous memberships stay: {state}"
    );

    // A strategy that fails: FAILED with its error, and nothing written.
    let failing =
        create(&server, "failing", "misbehaving", json!({ "mode": "error_in_fit" }), "DYNAMIC").await;
    let state = settled(&server, &failing).await;
    assert_eq!(state["status"], "FAILED", "{state}");
    assert!(state["error"].as_str().is_some_and(|e| e.contains("fixture fails in fit as asked")), "{state}");
    assert_eq!(state["job"]["status"], "FAILED");
    assert!(state["segments"].as_array().is_some_and(Vec::is_empty));

    // Errors a client gets: bad parameters with their JSON path, a taken name, an unknown id.
    let bad = json!({ "method": "rules", "rules": [{ "label": "x", "when": { "agg": "median", "op": "gt", "value": 1 } }] });
    let input = json!({ "i": { "name": "bad", "strategy": "behavioral", "params": bad } });
    let refused = server.graphql(CREATE, input).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "VALIDATION", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["errors"][0]["path"], "/rules/0/when/agg", "{refused}");
    let input = json!({ "i": { "name": "everyone", "strategy": "misbehaving", "params": { "mode": "ok" } } });
    let taken = server.graphql(CREATE, input).await;
    assert_eq!(taken["errors"][0]["extensions"]["code"], "CONFLICT", "{taken}");
    let input = json!({ "i": { "name": "x", "strategy": "misbehaving", "params": { "mode": "ok" }, "refreshIntervalSeconds": 5 } });
    let short = server.graphql(CREATE, input).await;
    assert_eq!(short["errors"][0]["extensions"]["field"], "refreshIntervalSeconds", "{short}");
    let listed = server.data("{ segmentations { name } }", json!({})).await;
    assert_eq!(
        listed["segmentations"],
        json!([{ "name": "everyone" }, { "name": "failing" }]),
        "nothing half-made"
    );

    // A static segmentation is edited by hand; a dynamic one refuses it.
    let manual = create(&server, "hand picked", "misbehaving", json!({ "mode": "ok" }), "STATIC").await;
    settled(&server, &manual).await;
    let first_two = "query($id: ID!) { segmentation(id: $id) { members(segment: \"all\", first: 2) { edges { node { customer { externalId } } } } } }";
    let members = server.data(first_two, json!({ "id": manual })).await;
    let two: Vec<Value> = members["segmentation"]["members"]["edges"]
        .as_array()
        .expect("members")
        .iter()
        .map(|edge| edge["node"]["customer"]["externalId"].clone())
        .collect();
    let edit = "mutation($id: ID!, $x: [String!]!) { removeSegmentMembers(segmentationId: $id, segment: \"all\", externalIds: $x) }";
    let removed = server.data(edit, json!({ "id": manual, "x": two })).await;
    assert_eq!(removed["removeSegmentMembers"], 2);
    let unknown = server.graphql(edit, json!({ "id": manual, "x": [two[0].clone(), "nobody-here"] })).await;
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "NOT_FOUND", "{unknown}");
    assert!(unknown["errors"][0]["message"].as_str().is_some_and(|m| m.contains("nobody-here")), "{unknown}");
    assert_eq!(size_of(&settled(&server, &manual).await, "all"), profiled - 2);
    let refused = server.graphql(edit, json!({ "id": id, "x": ["c0000001"] })).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "CONFLICT", "{refused}");

    let deleted =
        server.data("mutation($id: ID!) { deleteSegmentation(id: $id) }", json!({ "id": failing })).await;
    assert_eq!(deleted["deleteSegmentation"], json!(failing));
    assert!(server.data(STATE, json!({ "id": failing })).await["segmentation"].is_null());
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_move_dynamic_segments_and_fill_static_ones() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let server = {
        // Demo data without the demo's segmentations: these tests count their own.
        let loaded = work.run(&["demo", "--customers", "50"]);
        assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
        work.serve(&[]).await
    };
    let dynamic = create(&server, "big spenders", "behavioral", big_spenders(), "DYNAMIC").await;
    settled(&server, &dynamic).await;
    let hand = create(&server, "hand picked", "misbehaving", json!({ "mode": "ok" }), "STATIC").await;
    settled(&server, &hand).await;

    // An import run as its own process moves the customers it touches, live.
    let changes = "subscription($s: ID) { membershipChanged(segmentationId: $s) { customer { externalId } segment change reason } }";
    let mut live = Subscription::open_held(&server, None, changes, json!({ "s": dynamic }), json!({})).await;
    let file = work.write(
        "big.csv",
        &format!("customer_external_id,occurred_at,channel,kind,amount,currency,source_id\nc0000003,{},store,purchase,5000,EUR,big-1\n", yesterday()),
    );
    let imported = work.run(&["import", "interactions", file.to_str().expect("path")]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let mut entered = false;
    while let Some(event) = live.next(Duration::from_secs(10)).await {
        let change = &event["membershipChanged"];
        assert_eq!(
            (&change["customer"]["externalId"], &change["reason"]),
            (&json!("c0000003"), &json!("WRITE")),
            "{event}"
        );
        if change["change"] == "ENTERED" {
            assert_eq!(change["segment"], "big spenders");
            entered = true;
            break;
        }
    }
    assert!(entered, "the imported purchase enters the customer without any refresh");

    // A list of external ids fills a static segment; unknown ids are reported, not fatal.
    let import = "mutation($id: ID!, $x: [String!]!, $r: Boolean) { importSegmentMembers(segmentationId: $id, segment: \"vip\", \
        externalIds: $x, replace: $r) { entered exited unknownExternalIds } }";
    let first =
        server.data(import, json!({ "id": hand, "x": ["c0000001", "c0000002", "nobody", "c0000001"] })).await;
    assert_eq!(
        first["importSegmentMembers"],
        json!({ "entered": 2, "exited": 0, "unknownExternalIds": ["nobody"] })
    );
    let replaced = server.data(import, json!({ "id": hand, "x": ["c0000002", "c0000003"], "r": true })).await;
    assert_eq!(
        replaced["importSegmentMembers"],
        json!({ "entered": 1, "exited": 1, "unknownExternalIds": [] })
    );
    let state = settled(&server, &hand).await;
    let profiled = 50 - state["excludedCustomers"].as_i64().expect("excluded customers");
    assert_eq!((size_of(&state, "vip"), size_of(&state, "all")), (2, profiled), "{state}");
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_failing_on_writes_degrades_its_segmentation_which_heals_itself() {
    let work = Workspace::new();
    work.write("kindred.toml", &format!("[segments]\nrepair_backoff_secs = 2\n{}", settings()));
    let loaded = work.run(&["demo", "--customers", "30"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;
    let id = create(&server, "touchy", "misbehaving", json!({ "mode": "panic_on_write" }), "DYNAMIC").await;
    let ready = settled(&server, &id).await;
    assert_eq!(ready["status"], "READY", "{ready}");
    let before = size_of(&ready, "all");

    // The fixture panics re-assigning a write's customers: the segmentation says so.
    server.data("mutation { upsertCustomer(input: { externalId: \"touchy-1\" }) { id } }", json!({})).await;
    let watched = "query($id: ID!) { segmentation(id: $id) { status error degradedSince job { status } } }";
    let started = Instant::now();
    let degraded = loop {
        let state = server.data(watched, json!({ "id": id })).await["segmentation"].clone();
        if state["status"] == "DEGRADED" {
            break state;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never degraded: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        degraded["error"].as_str().is_some_and(|e| e.contains("fixture panics re-assigning")),
        "{degraded}"
    );
    assert!(degraded["degradedSince"].is_string(), "{degraded}");
    let plugins = server.data("{ plugins { name failures { count lastError lastAt } } }", json!({})).await;
    let failures = plugins["plugins"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "misbehaving"))
        .map(|p| p["failures"].clone())
        .unwrap_or_default();
    assert!(failures["count"].as_i64() >= Some(1), "{plugins}");
    assert!(failures["lastError"].as_str().is_some_and(|e| e.contains("panicked")), "{plugins}");
    let scraped = kindred_e2e::metrics::scrape(&server, None).await;
    let degradations = kindred_e2e::metrics::total(&scraped, "kindred_segmentation_degradations_total", &[]);
    assert!(degradations >= 1.0, "{degradations}");

    // It heals by itself: a repair refit replaces the instance, and the newcomer is a member.
    let started = Instant::now();
    let healed = loop {
        let state = server.data(STATE, json!({ "id": id })).await["segmentation"].clone();
        if state["status"] == "READY" {
            break state;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never repaired: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(healed["error"].is_null(), "{healed}");
    assert_eq!(size_of(&healed, "all"), before + 1, "{healed}");
    let scraped = kindred_e2e::metrics::scrape(&server, None).await;
    let degraded_now =
        kindred_e2e::metrics::total(&scraped, "kindred_segmentations", &[("status", "degraded")]);
    assert_eq!(degraded_now, 0.0);
    assert!(server.terminate(), "clean shutdown");
}
