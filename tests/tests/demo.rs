//! The demo shows what Kindred does: `serve --demo` starts with four segmentations, READY,
//! whose parameters were chosen from the demo data, so that in each no segment holds more than
//! 60% of the customers it covers and each named segment at least 1% (a community, a circle
//! of a few dozen, at least the strategy's `min_size` of 10 members); few customers refuse
//! profiling, as in real companies.

use kindred_e2e::{Workspace, real_plugins};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CUSTOMERS: i64 = 10_000;

/// Segments that gather what is left rather than name a group.
const CATCH_ALL: [&str; 2] = ["small groups", "unconnected"];

/// The need-based strategy's default `min_size`.
const MIN_COMMUNITY: i64 = 10;

/// Checks one segmentation's segments against the demo's promise; returns the problems.
fn problems(segmentation: &Value, customers: i64) -> Vec<String> {
    let name = segmentation["name"].as_str().unwrap_or_default();
    let covered = customers - segmentation["excludedCustomers"].as_i64().expect("excluded");
    let mut found = Vec::new();
    for segment in segmentation["segments"].as_array().expect("segments") {
        let label = segment["label"].as_str().unwrap_or_default();
        let share = segment["size"].as_i64().expect("size") as f64 / covered as f64;
        if share > 0.6 {
            found.push(format!("{name}: {label:?} holds {:.1}% of {covered}", share * 100.0));
        }
        let size = segment["size"].as_i64().expect("size");
        if name == "Communities" {
            if size < MIN_COMMUNITY && !CATCH_ALL.contains(&label) {
                found.push(format!("{name}: {label:?} has only {size} members"));
            }
            continue;
        }
        if share < 0.01 && !CATCH_ALL.contains(&label) {
            found.push(format!("{name}: {label:?} holds only {:.2}% of {covered}", share * 100.0));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_segmentation_is_balanced() {
    let work = Workspace::new();
    work.write("kindred.toml", &real_plugins());
    let server = work.serve(&["--demo", "--customers", &CUSTOMERS.to_string()]).await;
    let query =
        "{ stats { customers } segmentations { name status excludedCustomers segments { label size } } }";
    let started = Instant::now();
    let data = loop {
        let data = server.data(query, json!({})).await;
        let all = data["segmentations"].as_array().cloned().unwrap_or_default();
        if all.len() == 4 && all.iter().all(|s| s["status"] == "READY") {
            break data;
        }
        assert!(all.iter().all(|s| s["status"] != "FAILED"), "{data}");
        assert!(started.elapsed() < Duration::from_secs(300), "demo not ready: {data}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(data["stats"]["customers"], CUSTOMERS);
    let segmentations = data["segmentations"].as_array().expect("segmentations");
    let names: Vec<&str> = segmentations.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["Age bands", "RFM", "Big spenders", "Communities"]);
    let excluded = segmentations[0]["excludedCustomers"].as_i64().expect("excluded");
    let refusing = excluded as f64 / CUSTOMERS as f64;
    assert!((0.02..=0.15).contains(&refusing), "{excluded} of {CUSTOMERS} refused profiling");
    let found: Vec<String> = segmentations.iter().flat_map(|s| problems(s, CUSTOMERS)).collect();
    assert!(found.is_empty(), "{found:#?}\n{data}");
    let spenders = &segmentations[2]["segments"];
    assert!(spenders.as_array().expect("tiers").len() >= 3, "{spenders}");
    assert!(server.terminate(), "clean stop");
}
