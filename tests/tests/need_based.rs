//! The need-based plugin through the host on the demo data: its communities match the planted
//! ones (normalised mutual information at least 0.95), each is named by needs, and a customer
//! assigned alone lands where the whole run put them.

use kindred_e2e::{Workspace, plugin_library};
use kindred_need_based::communities::nmi::nmi;
use kindred_plugin_host::{PluginConfig, PluginHost, run_strategy};
use kindred_store::Store;
use kindred_store::import::{Format, ImportKind, import};
use serde_json::json;
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communities_match_the_planted_ones() {
    let work = Workspace::new();
    let files = work.path().join("demo-files");
    let output = work.run(&[
        "demo",
        "--write-files",
        files.to_str().expect("path"),
        "--customers",
        "3000",
        "--seed",
        "11",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let store = Store::connect(&format!("sqlite://{}/need.db", work.path().display())).await.expect("sqlite");
    store.migrate().await.expect("migrate");
    for (kind, name) in [
        (ImportKind::Customers, "customers.csv"),
        (ImportKind::Ties, "ties.csv"),
        (ImportKind::Needs, "needs.csv"),
    ] {
        let file = std::fs::File::open(files.join(name)).expect("demo file");
        import(&store, kind, Format::Csv, file, |error| panic!("{name}: {error:?}")).await.expect("import");
    }
    let config = PluginConfig::new("need-based".to_owned(), plugin_library("kindred_need_based"));
    let host = PluginHost::load(&[config], work.path());
    let run = run_strategy(&store, &host, "need-based", None, 0).await.expect("run need-based");
    assert_eq!(run.assigned, run.customers, "one segment each");

    let planted: HashMap<String, usize> = std::fs::read_to_string(files.join("planted_communities.csv"))
        .expect("planted")
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .map(|(external_id, community)| {
            (external_id.to_owned(), community.trim().parse().expect("community"))
        })
        .collect();
    let ids: Vec<i64> = run.memberships.iter().map(|m| m.customer_id).collect();
    let external: HashMap<i64, String> = store
        .customers_by_ids(&ids)
        .await
        .expect("customers")
        .into_iter()
        .map(|c| (c.id, c.external_id))
        .collect();
    let mut labels: HashMap<&str, usize> = HashMap::new();
    let (mut found, mut truth) = (Vec::new(), Vec::new());
    for membership in &run.memberships {
        let next = labels.len();
        found.push(*labels.entry(membership.segment.as_str()).or_insert(next));
        truth.push(planted[&external[&membership.customer_id]]);
    }
    let score = nmi(&found, &truth);
    assert!(score >= 0.95, "NMI with the planted communities {score}; segments {:?}", run.sizes);
    let model = &run.model;
    assert!(model["modularity"].as_f64().is_some_and(|q| q > 0.3), "{model}");
    assert_eq!(model["objective"], "cpm", "{model}");
    assert!(model["resolution_used"].as_f64().is_some_and(|r| r > 0.0), "{model}");
    let summaries = model["summaries"].as_array().expect("summaries");
    assert!(summaries.len() > 20, "{model}");
    assert!(
        summaries.iter().all(|s| s["top_needs"].as_array().is_some_and(|n| !n.is_empty())),
        "named by needs: {model}"
    );
}

const PREVIEW: &str = "query($p: JSON) { previewSegmentation(strategy: \"need-based\", params: $p) { segments { label size } model } }";

fn unconnected(preview: &serde_json::Value) -> i64 {
    let segments = preview["previewSegmentation"]["segments"].as_array().expect("segments");
    segments.iter().find(|s| s["label"] == "unconnected").map_or(0, |s| s["size"].as_i64().expect("size"))
}

/// Over HTTP, against the real server and plugin: a customer with no ties and no declared need
/// who posts about one is "unconnected" until the strategy listens, then joins a community,
/// and the model counts them among the customers who gained needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_places_a_customer_who_only_writes() {
    let work = Workspace::new();
    let settings = kindred_e2e::plugin_entry("need-based", &plugin_library("kindred_need_based"), "");
    work.write("kindred.toml", &settings);
    let server = work.serve(&["--demo", "--customers", "600"]).await;
    let created = server
        .data("mutation { upsertCustomer(input: { externalId: \"quiet-runner\" }) { id } }", json!({}))
        .await;
    assert!(created["upsertCustomer"]["id"].is_string(), "{created}");
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    for (kind, text) in [
        ("post", "Up at dawn for trail running again, then #TrailRunning with the club"),
        ("review", "These shoes are perfect for trail running"),
    ] {
        let recorded = server
            .data(
                "mutation($i: InteractionInput!) { recordInteraction(input: $i) { id } }",
                json!({ "i": { "customerExternalId": "quiet-runner", "occurredAt": yesterday, "kind": kind, "channel": "social", "text": text } }),
            )
            .await;
        assert!(recorded["recordInteraction"]["id"].is_string(), "{recorded}");
    }
    let deaf = server.data(PREVIEW, json!({ "p": {} })).await;
    let listening = server.data(PREVIEW, json!({ "p": { "listen": true } })).await;
    assert_eq!(unconnected(&listening), unconnected(&deaf) - 1, "deaf {deaf}\nlistening {listening}");
    let heard = &listening["previewSegmentation"]["model"]["graph"]["listening"];
    assert!(heard["texts_read"].as_u64().is_some_and(|n| n > 100), "the demo's posts are read: {heard}");
    assert_eq!(heard["customers_gained"], 1, "{heard}");
    assert_eq!(heard["top_gained"][0]["need"], "trail_running", "{heard}");
    assert!(server.terminate(), "clean shutdown");
}
