//! Previews over large populations are jobs, against the real server: `previewSegmentation`
//! over `segments.sync_preview_max_customers` is refused with PREVIEW_JOB_REQUIRED, a random
//! `sample` stays small, `startPreview` runs in the background with progress over `preview(id)`
//! and `jobProgress`, the job and its result are rows that survive a restart, only the key that
//! started it and admins see it, and a cancelled job stops before its next plugin call and
//! frees its heavy-work permit.

use kindred_e2e::metrics::{scrape, total};
use kindred_e2e::{Server, Subscription, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

fn settings(extra: &str) -> String {
    let plugins = [
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), ""),
    ]
    .concat();
    format!("{extra}\n[segments]\nsync_preview_max_customers = 50\n{plugins}")
}

fn demo(work: &Workspace, extra: &str) {
    work.write("kindred.toml", &settings(extra));
    let loaded = work.run(&["demo", "--customers", "200"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
}

fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

async fn ask(server: &Server, key: Option<&str>, query: &str) -> Value {
    let (status, _, body) = server.graphql_with_key(key, query, json!({})).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

const JOB: &str = "status done total error startedBy expiresAt \
                   result { customers sampledFrom memberships segments { label size share } }";

/// Polls `preview(id)` as `key` until it is no longer RUNNING.
async fn finished(server: &Server, key: Option<&str>, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let body = ask(server, key, &format!("{{ preview(id: \"{id}\") {{ {JOB} }} }}")).await;
        let preview = body["data"]["preview"].clone();
        if preview["status"] != "RUNNING" {
            return preview;
        }
        assert!(started.elapsed() < DEADLINE, "preview {id} still running: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_preview_is_a_job_kept_with_its_result_for_its_owner_and_admins() {
    let work = Workspace::new();
    demo(&work, "[auth]\nenabled = true");
    let alice = work.create_key("analyst", "alice");
    let bob = work.create_key("analyst", "bob");
    let root = work.create_key("admin", "root");
    let server = work.serve(&[]).await;
    let (alice, bob, root) = (Some(alice.as_str()), Some(bob.as_str()), Some(root.as_str()));

    let refused =
        ask(&server, alice, "{ previewSegmentation(strategy: \"behavioral\") { customers } }").await;
    assert_eq!(code(&refused), Some("PREVIEW_JOB_REQUIRED"), "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("startPreview") && message.contains("50"), "{message}");

    let sampled = ask(
        &server,
        alice,
        "{ previewSegmentation(strategy: \"behavioral\", sample: 30) { customers sampledFrom segments { size share } } }",
    )
    .await;
    let sampled = &sampled["data"]["previewSegmentation"];
    assert_eq!(sampled["customers"], 30, "{sampled}");
    let everyone = sampled["sampledFrom"].as_i64().expect("sampledFrom");
    assert!(everyone > 50, "{sampled}");

    let init = |key: Option<&str>| json!({ "authorization": format!("Bearer {}", key.unwrap_or_default()) });
    let query = "subscription { jobProgress { jobId kind segmentationId done total status } }";
    let mut alice_hears = Subscription::open(server.base(), query, json!({}), init(alice)).await;
    let mut bob_hears = Subscription::open(server.base(), query, json!({}), init(bob)).await;

    let started =
        ask(&server, alice, "mutation { startPreview(strategy: \"behavioral\") { id status startedBy } }")
            .await;
    let job = &started["data"]["startPreview"];
    assert_eq!(job["startedBy"], "alice", "{started}");
    let id = job["id"].as_str().expect("id").to_owned();

    let done = finished(&server, alice, &id).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!((done["done"].as_i64(), done["total"].as_i64()), (Some(everyone), Some(everyone)), "{done}");
    assert!(done["expiresAt"].is_string(), "{done}");
    let result = &done["result"];
    assert_eq!(result["customers"].as_i64(), Some(everyone), "{done}");
    assert!(result["sampledFrom"].is_null(), "{done}");
    let sizes: i64 =
        result["segments"].as_array().expect("segments").iter().filter_map(|s| s["size"].as_i64()).sum();
    assert_eq!(Some(sizes), result["memberships"].as_i64(), "{done}");

    // Alice hears her job end; Bob hears nothing of it.
    let heard_at = Instant::now();
    loop {
        let event = alice_hears.next(DEADLINE).await.expect("alice hears her preview");
        let progress = &event["jobProgress"];
        assert_eq!(progress["kind"], "PREVIEW", "{event}");
        assert!(progress["segmentationId"].is_null(), "{event}");
        if progress["status"] == "SUCCEEDED" {
            assert_eq!(progress["jobId"], id.as_str(), "{event}");
            break;
        }
        assert!(heard_at.elapsed() < DEADLINE);
    }
    assert_eq!(bob_hears.next(Duration::from_millis(500)).await, None, "bob hears alice's preview");

    // Bob neither sees it nor can cancel it; an admin sees it.
    let hidden = ask(&server, bob, &format!("{{ preview(id: \"{id}\") {{ status }} }}")).await;
    assert_eq!(code(&hidden), Some("NOT_FOUND"), "{hidden}");
    let hidden = ask(&server, bob, &format!("mutation {{ cancelPreview(id: \"{id}\") {{ status }} }}")).await;
    assert_eq!(code(&hidden), Some("NOT_FOUND"), "{hidden}");
    let listed = ask(&server, bob, "{ previews { id } }").await;
    assert_eq!(listed["data"]["previews"], json!([]), "{listed}");
    let listed = ask(&server, root, "{ previews { id startedBy status } }").await;
    assert_eq!(
        listed["data"]["previews"],
        json!([{ "id": id, "startedBy": "alice", "status": "SUCCEEDED" }])
    );

    // A sampled job draws from everyone.
    let started =
        ask(&server, alice, "mutation { startPreview(strategy: \"behavioral\", sample: 40) { id } }").await;
    let sample_id = started["data"]["startPreview"]["id"].as_str().expect("id").to_owned();
    let sampled = finished(&server, alice, &sample_id).await;
    assert_eq!(sampled["result"]["customers"], 40, "{sampled}");
    assert_eq!(sampled["result"]["sampledFrom"].as_i64(), Some(everyone), "{sampled}");

    // Bad input is refused before any job exists.
    let bad =
        ask(&server, alice, "mutation { startPreview(strategy: \"behavioral\", sample: 0) { id } }").await;
    assert_eq!(code(&bad), Some("VALIDATION"), "{bad}");
    let bad = ask(&server, alice, "mutation { startPreview(strategy: \"nothing-here\") { id } }").await;
    assert_eq!(code(&bad), Some("PLUGIN_UNAVAILABLE"), "{bad}");

    // The job and its result are rows: a restarted server still has them.
    assert!(server.terminate(), "a clean stop");
    let server = work.serve(&[]).await;
    let kept = finished(&server, alice, &id).await;
    assert_eq!(kept["status"], "SUCCEEDED");
    assert_eq!(kept["result"], done["result"], "the same result after a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_preview_stops_before_its_next_plugin_call_and_frees_its_permit() {
    let work = Workspace::new();
    demo(&work, "[server]\nheavy_operations_per_key = 1\nheavy_operations_total = 1\nheavy_wait_secs = 1");
    let server = work.serve(&[]).await;

    // The slow fit takes 3 s and holds the only heavy permit meanwhile.
    let slow = ask(
        &server,
        None,
        "mutation { startPreview(strategy: \"misbehaving\", params: { mode: \"slow\" }) { id } }",
    )
    .await;
    let id = slow["data"]["startPreview"]["id"].as_str().expect("id").to_owned();
    let (status, retry, busy) = server
        .graphql_with_key(None, "mutation { startPreview(strategy: \"behavioral\") { id } }", json!({}))
        .await;
    assert_eq!((status, code(&busy)), (429, Some("BUSY")), "{busy}");
    assert!(retry.is_some());

    let cancelled = ask(
        &server,
        None,
        &format!("mutation {{ cancelPreview(id: \"{id}\") {{ status result {{ customers }} }} }}"),
    )
    .await;
    assert_eq!(
        cancelled["data"]["cancelPreview"],
        json!({ "status": "CANCELLED", "result": null }),
        "{cancelled}"
    );

    // Once the fit under way returns, the job stops and its permit frees: another job starts.
    let asked = Instant::now();
    loop {
        let (status, _, body) = server
            .graphql_with_key(None, "mutation { startPreview(strategy: \"behavioral\") { id } }", json!({}))
            .await;
        if status == 200 && body["errors"].is_null() {
            break;
        }
        assert_eq!(code(&body), Some("BUSY"), "{body}");
        assert!(asked.elapsed() < DEADLINE, "the cancelled preview never freed its permit");
    }
    let scraped = scrape(&server, None).await;
    let calls = |call: &str| {
        total(&scraped, "kindred_plugin_calls_total", &[("plugin", "misbehaving"), ("call", call)])
    };
    assert_eq!(calls("fit"), 1.0, "the fit under way returned");
    assert_eq!(calls("assign"), 0.0, "nothing ran after the cancel");
    let still = finished(&server, None, &id).await;
    assert_eq!(still["status"], "CANCELLED", "{still}");
}
