//! Hostile requests against the real server: heavy fields cost what they cost (many in one
//! request are refused before anything runs), heavy work is bounded per key and in total
//! (`BUSY`, 429) while cheap queries are answered, work stops when its client goes away, and
//! SIGTERM ends the process within `server.shutdown_grace_secs` even during a fit nothing can
//! interrupt.

use kindred_e2e::metrics::{scrape, total, wait_for_metric};
use kindred_e2e::{Server, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn settings(server: &str) -> String {
    let plugins = [
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), ""),
    ]
    .concat();
    format!("[server]\n{server}\n{plugins}")
}

async fn demo_server(work: &Workspace, server_settings: &str) -> Server {
    work.write("kindred.toml", &settings(server_settings));
    let loaded = work.run(&["demo", "--customers", "200"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    work.serve(&[]).await
}

/// A query with `count` aliases of a preview of the misbehaving plugin in `mode`.
fn previews(count: usize, mode: &str) -> String {
    let fields: Vec<String> = (0..count)
        .map(|n| format!("p{n}: previewSegmentation(strategy: \"misbehaving\", params: {{ mode: \"{mode}\" }}) {{ customers }}"))
        .collect();
    format!("{{ {} }}", fields.join(" "))
}

fn plugin_calls(scraped: &prometheus_parse::Scrape, call: &str) -> f64 {
    total(scraped, "kindred_plugin_calls_total", &[("plugin", "misbehaving"), ("call", call)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_heavy_fields_in_one_request_are_refused_before_they_run() {
    let work = Workspace::new();
    let server = demo_server(&work, "").await;
    let answer = server.graphql(&previews(50, "ok"), json!({})).await;
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("complex"), "{answer}");
    let overlaps: Vec<String> =
        (0..20).map(|n| format!("o{n}: overlap(a: \"1\", b: \"1\") {{ customers }}")).collect();
    let answer = server.graphql(&format!("{{ {} }}", overlaps.join(" ")), json!({})).await;
    assert!(answer["errors"][0]["message"].as_str().unwrap_or_default().contains("complex"), "{answer}");
    let scraped = scrape(&server, None).await;
    assert_eq!(plugin_calls(&scraped, "create"), 0.0, "nothing ran");
    // One preview is an ordinary request.
    let one = server.data(&previews(1, "ok"), json!({})).await;
    assert_eq!(one["p0"]["customers"].as_i64().map(|n| n > 0), Some(true), "{one}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_work_is_bounded_and_cheap_queries_are_answered_meanwhile() {
    let work = Workspace::new();
    let server =
        demo_server(&work, "heavy_operations_per_key = 2\nheavy_operations_total = 1\nheavy_wait_secs = 1")
            .await;
    // Three slow previews (3 s of fit each, the most one request may ask for): one runs, the
    // other two wait a second and are BUSY.
    let heavy = {
        let base = server.base().to_owned();
        tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .json(&json!({ "query": previews(3, "slow") }))
                .send()
                .await
                .expect("send");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        })
    };
    wait_for_metric(&server, "kindred_heavy_operations_running", &[], "a preview runs", |n| n >= 1.0).await;
    let asked = Instant::now();
    let stats = server.data("{ stats { customers } }", json!({})).await;
    let cheap = asked.elapsed();
    assert_eq!(stats["stats"]["customers"], 200);
    assert!(cheap < Duration::from_secs(2), "a cheap query waited {cheap:?} behind heavy work");
    eprintln!("cheap query answered in {cheap:?} while heavy work ran");
    let (status, body) = heavy.await.expect("heavy request");
    assert_eq!(status, 429, "{body}");
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str()).collect())
        .unwrap_or_default();
    // One ran; the two that found no permit in time are BUSY (and, the field being
    // non-null, the whole answer's data is null).
    assert_eq!(codes, ["BUSY", "BUSY"], "{body}");
    let scraped = scrape(&server, None).await;
    assert_eq!(plugin_calls(&scraped, "fit"), 1.0, "only one fit ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_stops_when_its_client_goes_away() {
    let work = Workspace::new();
    // One heavy operation at a time, waiting long for its turn: the three previews would run
    // one after another for nine seconds if nobody stopped them.
    let server =
        demo_server(&work, "heavy_operations_per_key = 1\nheavy_operations_total = 1\nheavy_wait_secs = 60")
            .await;
    // Half way through the first three-second fit, with time to spare for starting it.
    let cut = reqwest::Client::builder().timeout(Duration::from_millis(1500)).build().expect("client");
    let sent = cut
        .post(format!("{}/graphql", server.base()))
        .json(&json!({ "query": previews(3, "slow") }))
        .send()
        .await;
    assert!(sent.is_err(), "the client gave up first");
    // The fit that had started runs to its end (a plugin call cannot be interrupted); nothing
    // after it starts: once it has ended, no heavy work holds a permit (a preview left waiting
    // would have taken it at once).
    wait_for_metric(
        &server,
        "kindred_plugin_calls_total",
        &[("plugin", "misbehaving"), ("call", "fit")],
        "the fit ends",
        |n| n >= 1.0,
    )
    .await;
    let scraped =
        wait_for_metric(&server, "kindred_heavy_operations_running", &[], "every permit is back", |n| {
            n == 0.0
        })
        .await;
    assert_eq!(plugin_calls(&scraped, "fit"), 1.0, "only the fit under way when the client left ran");
    assert_eq!(plugin_calls(&scraped, "assign"), 0.0, "nothing of the abandoned request ran after it");
    // The server is free for the next caller at once.
    let one = server.data(&previews(1, "ok"), json!({})).await;
    assert!(one["p0"]["customers"].is_number(), "{one}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_process_within_the_grace_period_during_a_stuck_fit() {
    let work = Workspace::new();
    let server = demo_server(&work, "shutdown_grace_secs = 2").await;
    let input = json!({ "i": { "name": "stuck", "strategy": "misbehaving", "params": { "mode": "stuck" }, "mode": "DYNAMIC" } });
    let created = server
        .data("mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }", input)
        .await;
    assert!(created["createSegmentation"]["id"].is_string(), "{created}");
    // Wait until the fit is under way.
    let started = Instant::now();
    loop {
        let state = server.data("{ segmentations { status job { customersTotal } } }", json!({})).await;
        if state["segmentations"][0]["job"]["customersTotal"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the fit never started: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = server.pid().to_string();
    let signalled = Instant::now();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let ended = loop {
        let alive = std::process::Command::new("kill").args(["-0", &pid]).status().map(|s| s.success());
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.split_whitespace().nth(2) == Some("Z"))
            .unwrap_or(true);
        if alive.is_ok_and(|alive| !alive) || zombie {
            break signalled.elapsed();
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("ended {ended:?} after SIGTERM");
    assert!(ended < Duration::from_secs(4), "grace is 2 s; ended after {ended:?}");
}
