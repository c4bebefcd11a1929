//! Plugins reloaded without a restart, end to end: a rebuilt library (a file with another
//! SHA-256) is loaded beside the old one from a copy named by its hash, by `kindred plugins
//! reload`, by SIGHUP and by `reloadPlugins`; its segmentations are refitted with it; a
//! refused build leaves the old one serving; `max_loaded_versions` bounds the builds; and
//! `kindred plugins` tells what the server runs against what is on disk.

use kindred_e2e::{Server, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

const PLUGIN: &str = "query { plugins { name status sha256 loadedFrom buildsLoaded error defaultParams } }";
const CREATE: &str = "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";
const STATE: &str = "query($id: ID!) { segmentation(id: $id) { status segments { label } jobs(first: 5) { reason status } } }";
const RELOAD: &str =
    "mutation { reloadPlugins { plugins { name outcome sha256 error } refittedSegmentations } }";

fn sha256_of(path: &std::path::Path) -> String {
    kindred_plugin_host::sha256_hex(path).expect("hash the library")
}

/// Appends bytes past the library's end: the loader ignores them, the hash changes.
fn rebuild(path: &std::path::Path, marker: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).expect("open the library");
    file.write_all(marker.as_bytes()).expect("append to the library");
}

async fn plugin(server: &Server, name: &str) -> Value {
    let plugins = server.data(PLUGIN, json!({})).await["plugins"].clone();
    plugins
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == name).cloned())
        .expect("the plugin is listed")
}

/// Waits until segmentation `id`'s newest job is a finished refit for `reason`; returns its state.
async fn refitted_for(server: &Server, id: &str, reason: &str, count: usize) -> Value {
    let started = Instant::now();
    loop {
        let state = server.data(STATE, json!({ "id": id })).await["segmentation"].clone();
        let jobs = state["jobs"].as_array().cloned().unwrap_or_default();
        let done = jobs.iter().filter(|job| job["reason"] == reason && job["status"] == "SUCCEEDED").count();
        if done >= count && state["status"] == "READY" {
            return state;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no {reason} refit ({count}) in time: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn labels(state: &Value) -> Vec<String> {
    let mut labels: Vec<String> = state["segments"]
        .as_array()
        .map(|segments| segments.iter().filter_map(|s| s["label"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    labels.sort();
    labels
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuilt_library_is_loaded_beside_the_old_one_and_its_segmentations_refitted() {
    let work = Workspace::new();
    let library = work.path().join("libdemo.so");
    std::fs::copy(plugin_library("kindred_demographic"), &library).expect("copy the library");
    let settings = |extra: &str| plugin_entry("demo", &library, &format!("max_loaded_versions = 3\n{extra}"));
    work.write("kindred.toml", &settings(""));
    let server = work.serve(&["--demo", "--customers", "300"]).await;

    let first = sha256_of(&library);
    let loaded = plugin(&server, "demo").await;
    assert_eq!(
        (loaded["status"].as_str(), loaded["sha256"].as_str()),
        (Some("LOADED"), Some(first.as_str()))
    );
    let from = loaded["loadedFrom"].as_str().expect("loaded from");
    assert!(
        from.contains("kindred-plugins-") && from.ends_with(&format!("demo-{first}.so")),
        "a copy: {from}"
    );
    assert_eq!(loaded["buildsLoaded"], 1);
    let input = json!({ "i": { "name": "ages", "strategy": "demo", "params": {}, "mode": "DYNAMIC" } });
    let id = server.data(CREATE, input).await["createSegmentation"]["id"].as_str().expect("id").to_owned();
    let before = labels(&refitted_for(&server, &id, "create", 1).await);

    // `kindred plugins` asks the running server and compares with the disk.
    let listing = work.run(&["plugins"]);
    assert!(listing.status.success(), "{}", text(&listing));
    let listing = text(&listing);
    assert!(listing.contains(&format!("the server at {}/graphql runs:", server.base())), "{listing}");
    assert!(listing.contains(&format!("sha256 {first}, the build the server runs")), "{listing}");

    // A rebuilt library: the server still runs the old build until it is told.
    rebuild(&library, "second build");
    let second = sha256_of(&library);
    let listing = text(&work.run(&["plugins"]));
    assert!(listing.contains(&format!("sha256 {second}, NOT the build the server runs")), "{listing}");

    let reload = work.run(&["plugins", "reload"]);
    let printed = text(&reload);
    assert!(reload.status.success(), "{printed}");
    assert!(printed.contains(&format!("demo  RELOADED  sha256 {second}")), "{printed}");
    let refitting = printed.lines().find_map(|line| line.strip_prefix("refitting segmentations "));
    let refitting = refitting.unwrap_or_else(|| panic!("no refit listed: {printed}"));
    assert!(
        refitting.split(" with").next().unwrap_or_default().split(", ").any(|listed| listed == id),
        "{printed}"
    );
    let reloaded = plugin(&server, "demo").await;
    assert_eq!(reloaded["sha256"], second.as_str());
    assert_eq!(reloaded["buildsLoaded"], 2);
    let from = reloaded["loadedFrom"].as_str().expect("loaded from");
    assert!(from.contains("kindred-plugins-") && from.ends_with(&format!("demo-{second}.so")), "{from}");
    assert_eq!(labels(&refitted_for(&server, &id, "reload", 1).await), before, "same code, same segments");

    // Nothing changed: nothing is refitted.
    let again = server.data(RELOAD, json!({})).await["reloadPlugins"].clone();
    assert_eq!(again["plugins"][0]["outcome"], "UNCHANGED", "{again}");
    assert_eq!(again["refittedSegmentations"], json!([]));

    // SIGHUP reads the settings again: new default parameters refit the segmentation with them.
    work.write("kindred.toml", &settings("params = { dimensions = [\"gender\"] }"));
    let hangup = std::process::Command::new("kill").args(["-HUP", &server.pid().to_string()]).status();
    assert!(hangup.expect("send SIGHUP").success());
    let after = labels(&refitted_for(&server, &id, "reload", 2).await);
    assert_ne!(after, before, "the gender defaults make other segments: {after:?}");
    assert_eq!(plugin(&server, "demo").await["defaultParams"], json!({ "dimensions": ["gender"] }));

    // A build that is not a plugin, written over the file in place, is refused and the one
    // loaded keeps serving (from its copy: the file written over was never mapped).
    std::fs::write(&library, b"not a library").expect("break the library");
    let broken = server.data(RELOAD, json!({})).await["reloadPlugins"]["plugins"][0].clone();
    assert_eq!(broken["outcome"], "KEPT", "{broken}");
    assert_eq!(broken["sha256"], second.as_str());
    let kept = plugin(&server, "demo").await;
    assert_eq!((kept["status"].as_str(), kept["sha256"].as_str()), (Some("LOADED"), Some(second.as_str())));
    assert!(kept["error"].as_str().unwrap_or_default().contains("reload refused"), "{kept}");

    // A third build loads; a fourth is one more than max_loaded_versions (3) and is refused.
    std::fs::copy(plugin_library("kindred_demographic"), &library).expect("restore the library");
    rebuild(&library, "third build");
    let third = server.data(RELOAD, json!({})).await["reloadPlugins"]["plugins"][0].clone();
    assert_eq!(third["outcome"], "RELOADED", "{third}");
    refitted_for(&server, &id, "reload", 3).await;
    rebuild(&library, "fourth build");
    let fourth = work.run(&["plugins", "reload"]);
    assert_eq!(fourth.status.code(), Some(1), "{}", text(&fourth));
    let printed = text(&fourth);
    assert!(
        printed.contains("demo  KEPT") && printed.contains("3 builds of this library are already loaded"),
        "{printed}"
    );
    assert_eq!(plugin(&server, "demo").await["buildsLoaded"], 3);
    assert!(server.terminate(), "the server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_needs_an_admin_key_when_keys_are_required() {
    let work = Workspace::new();
    work.write(
        "kindred.toml",
        &format!(
            "[auth]\nenabled = true\n{}",
            plugin_entry("demo", &plugin_library("kindred_demographic"), "")
        ),
    );
    let admin = work.create_key("admin", "operator");
    let reader = work.create_key("analyst", "reader");
    let server = work.serve(&[]).await;

    let anonymous = work.run(&["plugins", "reload"]);
    assert_eq!(anonymous.status.code(), Some(1));
    assert!(text(&anonymous).contains("UNAUTHENTICATED"), "{}", text(&anonymous));
    let read_only = work.run(&["plugins", "reload", "--key", &reader]);
    assert!(text(&read_only).contains("FORBIDDEN"), "{}", text(&read_only));
    let (_, _, body) = server.graphql_with_key(Some(&reader), RELOAD, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");

    let operator = work.command(&["plugins", "reload"]).env("KINDRED_API_KEY", &admin).output().expect("run");
    assert!(operator.status.success(), "{}", text(&operator));
    assert!(text(&operator).contains("demo  UNCHANGED"), "{}", text(&operator));
    // The listing works with a read key, and says what the server runs.
    let listing = work.run(&["plugins", "--key", &reader]);
    assert!(listing.status.success() && text(&listing).contains("demo  LOADED"), "{}", text(&listing));
}
