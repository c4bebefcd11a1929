//! Plugins isolated in a worker process, end to end with the real binary: a plugin that
//! segfaults, aborts, allocates without end or never returns fails its call with PLUGIN_CRASHED
//! naming the cause, the server keeps answering, and the next call works in a new worker; an
//! output with a NaN score (with its row) or broken offsets is refused, isolated or not.

use kindred_e2e::{Server, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};

const PREVIEW: &str = "query($s: String!, $p: JSON) { previewSegmentation(strategy: $s, params: $p) { customers segments { label size } } }";

async fn preview(server: &Server, strategy: &str, mode: &str) -> Value {
    server.graphql(PREVIEW, json!({ "s": strategy, "p": { "mode": mode } })).await
}

fn error_of(answer: &Value) -> (String, String) {
    let error = &answer["errors"][0];
    (
        error["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_isolated_plugin_fails_its_call_and_the_server_goes_on() {
    let work = Workspace::new();
    let fixture = plugin_library("kindred_fixture_misbehaving");
    let settings = [
        plugin_entry(
            "isolated",
            &fixture,
            // Room for a new worker to start and for `allocate` to reach the limit, even on a
            // loaded machine; `endless_loop` waits it out.
            "isolation = \"process\"\nmax_memory_mb = 768\ncall_timeout_secs = 10",
        ),
        plugin_entry("in-process", &fixture, ""),
    ]
    .concat();
    work.write("kindred.toml", &settings);
    let loaded = work.run(&["demo", "--customers", "60"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;

    let plugins = server.data("{ plugins { name status error } }", json!({})).await;
    assert!(
        plugins["plugins"].as_array().is_some_and(|all| all.iter().all(|p| p["status"] == "LOADED")),
        "{plugins}"
    );
    let works = preview(&server, "isolated", "ok").await;
    assert!(works["errors"].is_null(), "{works}");
    let customers = works["data"]["previewSegmentation"]["customers"].clone();
    assert_eq!(works["data"]["previewSegmentation"]["segments"][0]["size"], customers, "{works}");

    for (mode, cause) in [
        ("segfault", "killed by signal 11 (SIGSEGV) during fit"),
        ("abort", "killed by signal 6 (SIGABRT) during fit"),
        ("allocate", "ran out of memory (max_memory_mb = 768) during fit"),
        ("endless_loop", "timed out after 10 s during fit"),
    ] {
        let answer = preview(&server, "isolated", mode).await;
        let (code, message) = error_of(&answer);
        assert_eq!(code, "PLUGIN_CRASHED", "{mode}: {answer}");
        assert!(message.contains(cause), "{mode}: {message}");
        // The server goes on, and the next call runs in a new worker.
        let stats = server.data("{ stats { customers } }", json!({})).await;
        assert_eq!(stats["stats"]["customers"], 60, "{mode}");
        let again = preview(&server, "isolated", "ok").await;
        assert!(again["errors"].is_null(), "after {mode}: {again}");
    }

    // An output with a NaN score or broken offsets is refused, wherever the plugin runs, and
    // the next call works.
    for strategy in ["isolated", "in-process"] {
        for (mode, refusal) in
            [("nan_score", "output row 0 has the score NaN"), ("broken_offsets", "not a valid Arrow array")]
        {
            let (code, message) = error_of(&preview(&server, strategy, mode).await);
            assert_eq!(code, "PLUGIN_FAILED", "{strategy} {mode}");
            assert!(message.contains(refusal), "{strategy} {mode}: {message}");
            let again = preview(&server, strategy, "ok").await;
            assert!(again["errors"].is_null(), "{strategy} after {mode}: {again}");
        }
    }

    let plugins = server.data("{ plugins { name failures { count lastError } } }", json!({})).await;
    let isolated = plugins["plugins"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == "isolated"))
        .cloned()
        .unwrap_or_default();
    assert!(isolated["failures"]["count"].as_i64() >= Some(6), "{plugins}");
    assert!(server.terminate(), "clean shutdown: the workers end with the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segmentations_whose_instances_died_with_their_worker_are_refitted() {
    let work = Workspace::new();
    let fixture = plugin_library("kindred_fixture_misbehaving");
    let settings = format!(
        "[segments]\nrepair_backoff_secs = 1\n{}",
        plugin_entry("isolated", &fixture, "isolation = \"process\"\ncall_timeout_secs = 5")
    );
    work.write("kindred.toml", &settings);
    let loaded = work.run(&["demo", "--customers", "40"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;
    let create = "mutation($n: String!) { createSegmentation(input: { name: $n, strategy: \"isolated\", \
        mode: DYNAMIC, params: { mode: \"ok\" } }) { id } }";
    let mut ids = Vec::new();
    for name in ["first", "second"] {
        let created = server.data(create, json!({ "n": name })).await;
        ids.push(created["createSegmentation"]["id"].as_str().expect("id").to_owned());
    }
    let jobs = "query($id: ID!) { segmentation(id: $id) { status jobs(first: 5) { reason status } } }";
    let wait = |id: String, what: &'static str, done: fn(&Value) -> bool| {
        let server = &server;
        async move {
            let started = std::time::Instant::now();
            loop {
                let state = server.data(jobs, json!({ "id": id })).await["segmentation"].clone();
                if done(&state) {
                    return state;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(60), "{what}: {state}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    for id in &ids {
        wait(id.clone(), "ready", |state| state["status"] == "READY").await;
    }

    // One crash ends the worker that held both fitted instances.
    let (code, _) = error_of(&preview(&server, "isolated", "segfault").await);
    assert_eq!(code, "PLUGIN_CRASHED");
    server
        .data("mutation { upsertCustomer(input: { externalId: \"after-the-crash\" }) { id } }", json!({}))
        .await;

    // Both are repaired by a refit in the new worker, and are READY again.
    for id in &ids {
        let repaired = |state: &Value| {
            state["status"] == "READY"
                && state["jobs"].as_array().is_some_and(|jobs| {
                    jobs.iter().any(|job| job["reason"] == "repair" && job["status"] == "SUCCEEDED")
                })
        };
        let state = wait(id.clone(), "repaired", repaired).await;
        assert_eq!(state["status"], "READY", "{state}");
    }
    assert!(server.terminate(), "clean shutdown");
}
