//! Models that survive restarts and a queue of touched customers that nothing forgets, end to
//! end against the real binary and the real plugins, on SQLite and PostgreSQL, with a real
//! `kill -9` and `segments.refit_on_start = false`:
//!
//! - purchases imported while the server was down reach the segment at the next start, with
//!   the model its last refit saved and no refit;
//! - every acknowledged write of a stream is in the segment after the server is killed right
//!   after the last acknowledgement and started again.

use kindred_e2e::{Server, Workspace, create_big_spenders, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const STATE: &str = "query($id: ID!) { segmentation(id: $id) { status error segments { label size } \
    job { status reason } modelVersion { jobId librarySha256 stateBytes } } }";
const RECORD: &str = "mutation($i: InteractionInput!) { recordInteraction(input: $i) { id } }";

/// How long a condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(90);

fn settings(refit_on_start: bool) -> String {
    settings_with(refit_on_start, "")
}

/// As [`settings`], with `extra` lines in the plugin's entry.
fn settings_with(refit_on_start: bool, extra: &str) -> String {
    let plugin = plugin_entry("behavioral", &plugin_library("kindred_behavioral"), extra);
    format!("{plugin}\n[segments]\nrefit_on_start = {refit_on_start}\n")
}

fn yesterday() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339()
}

async fn state(server: &Server, id: &str) -> Value {
    server.data(STATE, json!({ "id": id })).await["segmentation"].clone()
}

fn big_spenders(state: &Value) -> i64 {
    let segments = state["segments"].as_array().expect("segments");
    segments.iter().find(|s| s["label"] == "big spenders").map_or(0, |s| s["size"].as_i64().unwrap_or(0))
}

/// Polls until the segmentation is READY with `expected` big spenders; fails at the deadline.
async fn until_big_spenders(server: &Server, id: &str, expected: i64) -> Value {
    let started = Instant::now();
    loop {
        let state = state(server, id).await;
        if state["status"] == "READY" && big_spenders(&state) == expected {
            return state;
        }
        assert!(started.elapsed() < DEADLINE, "expected {expected} big spenders: {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The demo's customers and a READY "big spenders" segmentation; returns the server, its id
/// and how many big spenders the demo has.
async fn demo_with_big_spenders(work: &Workspace) -> (Server, String, i64) {
    let loaded = work.run(&["demo", "--customers", "200"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;
    let id = create_big_spenders(&server).await;
    let started = Instant::now();
    let ready = loop {
        let state = state(&server, &id).await;
        if state["status"] != "RUNNING" {
            break state;
        }
        assert!(started.elapsed() < DEADLINE, "still running: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((&ready["status"], &ready["job"]["reason"]), (&json!("READY"), &json!("create")), "{ready}");
    let version = &ready["modelVersion"];
    assert!(
        version["stateBytes"].as_i64().is_some_and(|bytes| bytes > 0),
        "the refit saved its model: {ready}"
    );
    assert_eq!(version["librarySha256"].as_str().map(str::len), Some(64), "{ready}");
    let before = big_spenders(&ready);
    (server, id, before)
}

async fn an_import_while_stopped_is_applied_at_the_next_start(work: Workspace) {
    work.write("kindred.toml", &settings(false));
    let (server, id, before) = demo_with_big_spenders(&work).await;
    server.kill_hard();

    let newcomers = 2_000;
    let mut file = String::from("customer_external_id,occurred_at,channel,kind,amount,currency\n");
    for n in 0..newcomers {
        file.push_str(&format!("offline-{n},{},store,purchase,1500,EUR\n", yesterday()));
    }
    work.write("purchases.csv", &file);
    let imported = work.run(&["import", "interactions", "purchases.csv"]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));

    // No refit at start (the saved model is loaded), yet every imported buyer enters.
    let server = work.serve(&[]).await;
    let ready = until_big_spenders(&server, &id, before + newcomers).await;
    assert_eq!(ready["job"]["reason"], "create", "no refit ran at start: {ready}");
    let saved_by = ready["modelVersion"]["jobId"].clone();
    server.kill_hard();

    // With refit_on_start on, a usable saved model still means no refit.
    work.write("kindred.toml", &settings(true));
    let server = work.serve(&[]).await;
    let ready = until_big_spenders(&server, &id, before + newcomers).await;
    assert_eq!(ready["job"]["reason"], "create", "a usable saved model is loaded, not refitted: {ready}");
    assert_eq!(ready["modelVersion"]["jobId"], saved_by, "the same model version: {ready}");
    assert!(server.terminate(), "a clean stop");
}

async fn acknowledged_writes_survive_a_kill(work: Workspace) {
    work.write("kindred.toml", &settings(false));
    let (server, id, before) = demo_with_big_spenders(&work).await;
    let writes = 1_200;
    let writers = 12;
    let occurred_at = yesterday();
    // Every write is acknowledged before the kill.
    futures::future::join_all((0..writers).map(|writer| {
        let (server, occurred_at) = (&server, occurred_at.clone());
        async move {
            for n in (writer..writes).step_by(writers) {
                let purchase = json!({ "i": { "customerExternalId": format!("stream-{n}"), "occurredAt": occurred_at,
                    "kind": "purchase", "amount": 1500.0, "currency": "EUR", "channel": "web" } });
                server.data(RECORD, purchase).await;
            }
        }
    }))
    .await;
    server.kill_hard();

    let server = work.serve(&[]).await;
    let ready = until_big_spenders(&server, &id, before + writes as i64).await;
    assert_eq!(ready["job"]["reason"], "create", "no refit ran at start: {ready}");
    assert!(server.terminate(), "a clean stop");
}

/// An isolated plugin's worker saves and loads the state too: after a kill, the new server's
/// worker loads the saved model and re-assigns a write with it, without a refit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_plugin_loads_its_saved_model_after_a_kill() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings_with(false, "isolation = \"process\""));
    let (server, id, before) = demo_with_big_spenders(&work).await;
    server.kill_hard();
    let server = work.serve(&[]).await;
    let purchase = json!({ "i": { "customerExternalId": "after-restart", "occurredAt": yesterday(),
        "kind": "purchase", "amount": 1500.0, "currency": "EUR", "channel": "store" } });
    server.data(RECORD, purchase).await;
    let ready = until_big_spenders(&server, &id, before + 1).await;
    assert_eq!(ready["job"]["reason"], "create", "no refit ran at start: {ready}");
    assert!(server.terminate(), "a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_while_stopped_is_applied_at_the_next_start_on_sqlite() {
    an_import_while_stopped_is_applied_at_the_next_start(Workspace::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_while_stopped_is_applied_at_the_next_start_on_postgres() {
    if let Some(work) = Workspace::on_postgres("restart_import").await {
        an_import_while_stopped_is_applied_at_the_next_start(work).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_on_sqlite() {
    acknowledged_writes_survive_a_kill(Workspace::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_on_postgres() {
    if let Some(work) = Workspace::on_postgres("restart_writes").await {
        acknowledged_writes_survive_a_kill(work).await;
    }
}
