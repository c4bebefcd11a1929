//! How quickly each dashboard page shows its data, in headless Chromium against a release
//! server with the README's demo (10,000 customers, the demo segmentations): the time from
//! asking for the page to its data on screen, over repeated cold loads. Run by
//! `bench/run.sh dashboard`; prints the figures BENCHMARKS.md records.

use kindred_e2e::{Browser, Workspace, real_plugins};
use serde_json::json;
use std::time::{Duration, Instant};

/// Loads of each page.
const LOADS: usize = 10;

#[tokio::main]
async fn main() {
    let customers = std::env::var("BENCH_CUSTOMERS").unwrap_or_else(|_| "10000".to_owned());
    let work = Workspace::new();
    work.write("kindred.toml", &real_plugins());
    let server = work.serve(&["--demo", "--customers", &customers]).await;
    let started = Instant::now();
    let segmentations = loop {
        let data = server.data("{ segmentations { id name status segments { label } } }", json!({})).await;
        let all = data["segmentations"].as_array().cloned().unwrap_or_default();
        if all.len() == 4 && all.iter().all(|s| s["status"] == "READY") {
            break all;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "the demo segmentations did not settle");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let id = |name: &str| {
        let found = segmentations.iter().find(|s| s["name"] == name).expect("a demo segmentation");
        found["id"].as_str().expect("id").to_owned()
    };
    let (rfm, ages, communities) = (id("RFM"), id("Age bands"), id("Communities"));
    let champions = "Champions";
    // A customer with purchases (a champion), so the timeline has something to show.
    let members = server
        .data(
            "query($id: ID!) { segmentation(id: $id) { members(segment: \"Champions\", first: 1) { edges { node { customer { id } } } } } }",
            json!({ "id": rfm }),
        )
        .await;
    let customer = members["segmentation"]["members"]["edges"][0]["node"]["customer"]["id"]
        .as_str()
        .expect("a champion")
        .to_owned();
    let pages = [
        ("overview", String::new(), ".segmentation-card canvas"),
        ("segmentation (RFM)", format!("#/segmentations/{rfm}"), "#personas .persona canvas"),
        ("communities", format!("#/segmentations/{communities}/communities"), "svg.graph .node"),
        ("overlap (RFM × age)", format!("#/overlap?a={rfm}&b={ages}"), "#heatmap tbody td"),
        ("members", format!("#/segmentations/{rfm}/members/{champions}"), "#members-table tbody tr"),
        ("customer", format!("#/customers/{customer}"), "#timeline li"),
        ("plugins", "#/plugins".to_owned(), "#create-form .field"),
    ];
    let browser = Browser::start().await;
    println!(
        "dashboard: {customers} demo customers, release server, headless Chromium, {LOADS} cold loads per page"
    );
    println!("{:<22} {:>10} {:>10} {:>10}", "page", "median ms", "max ms", "DOM ms");
    for (name, route, ready) in pages {
        let mut shown = Vec::with_capacity(LOADS);
        let mut dom = Vec::with_capacity(LOADS);
        for _ in 0..LOADS {
            browser.open("about:blank").await;
            let asked = Instant::now();
            browser.open(&format!("{}/{route}", server.base())).await;
            browser.find(ready).await;
            shown.push(asked.elapsed().as_secs_f64() * 1000.0);
            let loaded = browser
                .run("const n = performance.getEntriesByType('navigation')[0]; return n ? n.domContentLoadedEventEnd : null;")
                .await;
            dom.push(loaded.as_f64().unwrap_or(f64::NAN));
        }
        shown.sort_by(f64::total_cmp);
        dom.sort_by(f64::total_cmp);
        println!("{name:<22} {:>10.0} {:>10.0} {:>10.0}", shown[LOADS / 2], shown[LOADS - 1], dom[LOADS / 2]);
    }
    browser.assert_no_console_errors("the benchmark's pages").await;
    browser.close().await;
}
