//! Consent end to end, over HTTP and WebSocket against the real server and plugins: a customer
//! who refused profiling is in no computed segment of a demographic, a behavioral and a
//! need-based segmentation, is counted as excluded, leaves every segment live when consent is
//! withdrawn by a write and comes back when it is given again; exports leave out those who
//! refused marketing.

use kindred_e2e::{Server, Subscription, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const CUSTOMERS: i64 = 200;

const CREATE: &str = "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";
const STATE: &str = "query($id: ID!) { segmentation(id: $id) { id status excludedCustomers \
    job { status excluded customersTotal } } }";
const PAGE: &str = "query($after: String) { customers(first: 100, after: $after) { edges { node { \
    externalId consentProfiling consentMarketing memberships { segmentation { id } segment { label } } } } \
    pageInfo { hasNextPage endCursor } } }";
const UPSERT: &str = "mutation($i: CustomerInput!) { upsertCustomer(input: $i) { id } }";

fn settings() -> String {
    [
        plugin_entry("demographic", &plugin_library("kindred_demographic"), ""),
        plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""),
        plugin_entry("need-based", &plugin_library("kindred_need_based"), ""),
    ]
    .concat()
}

/// Polls until the segmentation is no longer RUNNING; returns its state.
async fn settled(server: &Server, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let state = server.data(STATE, json!({ "id": id })).await["segmentation"].clone();
        if state["status"] != "RUNNING" {
            return state;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "still running: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every customer, by external id.
async fn customers(server: &Server) -> HashMap<String, Value> {
    let mut found = HashMap::new();
    let mut after = Value::Null;
    loop {
        let page = server.data(PAGE, json!({ "after": after })).await["customers"].clone();
        for edge in page["edges"].as_array().expect("edges") {
            let node = edge["node"].clone();
            found.insert(node["externalId"].as_str().expect("external id").to_owned(), node);
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return found;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// The segmentations (of `ids`) a customer is a member of.
fn member_of(customer: &Value, ids: &[String]) -> HashSet<String> {
    customer["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .filter_map(|m| m["segmentation"]["id"].as_str())
        .filter(|id| ids.iter().any(|wanted| wanted == id))
        .map(str::to_owned)
        .collect()
}

fn refused(customer: &Value, consent: &str) -> bool {
    customer[consent] == json!(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_without_profiling_consent_is_in_no_computed_segment() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let server = work.serve(&["--demo", "--customers", &CUSTOMERS.to_string()]).await;
    let mut ids = Vec::new();
    for (name, strategy) in [("ages", "demographic"), ("rfm", "behavioral"), ("communities", "need-based")] {
        let input = json!({ "i": { "name": name, "strategy": strategy, "mode": "DYNAMIC" } });
        ids.push(
            server.data(CREATE, input).await["createSegmentation"]["id"].as_str().expect("id").to_owned(),
        );
    }
    let everyone = customers(&server).await;
    assert_eq!(everyone.len() as i64, CUSTOMERS);
    let without: Vec<&String> =
        everyone.iter().filter(|(_, c)| refused(c, "consentProfiling")).map(|(id, _)| id).collect();
    let excluded = without.len() as i64;
    assert!(excluded > 0 && excluded < CUSTOMERS, "the demo has both: {excluded}");
    for id in &ids {
        let state = settled(&server, id).await;
        assert_eq!(state["status"], "READY", "{state}");
        assert_eq!(state["excludedCustomers"], excluded, "{state}");
        assert_eq!(state["job"]["excluded"], excluded, "{state}");
        assert_eq!(
            state["job"]["customersTotal"],
            CUSTOMERS - excluded,
            "strategies never see them: {state}"
        );
    }
    let everyone = customers(&server).await;
    for (external_id, customer) in &everyone {
        let segmentations = member_of(customer, &ids);
        if refused(customer, "consentProfiling") {
            assert!(segmentations.is_empty(), "{external_id} refused profiling: {customer}");
        } else {
            assert_eq!(segmentations.len(), ids.len(), "{external_id} is placed everywhere: {customer}");
        }
    }
    for strategy in ["demographic", "behavioral", "need-based"] {
        let preview = server
            .data(
                "query($s: String!) { previewSegmentation(strategy: $s) { customers excludedCustomers } }",
                json!({ "s": strategy }),
            )
            .await["previewSegmentation"]
            .clone();
        assert_eq!(
            (preview["customers"].as_i64(), preview["excludedCustomers"].as_i64()),
            (Some(CUSTOMERS - excluded), Some(excluded)),
            "{strategy}: {preview}"
        );
    }

    // Consent withdrawn by a write: the customer leaves every dynamic segmentation live.
    let (chosen, _) = everyone
        .iter()
        .filter(|(_, c)| !refused(c, "consentProfiling"))
        .min_by_key(|(id, _)| id.as_str())
        .expect("a consenting customer");
    let changes =
        "subscription { membershipChanged { segmentationId customer { externalId } change reason } }";
    let mut live = Subscription::open_held(&server, None, changes, json!({}), json!({})).await;
    let withdraw = json!({ "i": { "externalId": chosen, "consentProfiling": false } });
    server.data(UPSERT, withdraw).await;
    let mut left = HashSet::new();
    while left.len() < ids.len() {
        let event = live.next(Duration::from_secs(10)).await.expect("an exit from every segmentation");
        let change = &event["membershipChanged"];
        assert_eq!(
            (&change["customer"]["externalId"], &change["change"], &change["reason"]),
            (&json!(chosen), &json!("EXITED"), &json!("WRITE")),
            "{event}"
        );
        left.insert(change["segmentationId"].as_str().expect("segmentation").to_owned());
    }
    let after = customers(&server).await;
    assert!(member_of(&after[chosen.as_str()], &ids).is_empty(), "{}", after[chosen.as_str()]);
    let state = server.data(STATE, json!({ "id": ids[0] })).await;
    assert_eq!(state["segmentation"]["excludedCustomers"], excluded + 1, "{state}");
    // A refit keeps them out.
    server.data("mutation($id: ID!) { refreshSegmentation(id: $id) { id } }", json!({ "id": ids[1] })).await;
    let state = settled(&server, &ids[1]).await;
    assert_eq!(state["job"]["excluded"], excluded + 1, "{state}");
    assert!(member_of(&customers(&server).await[chosen.as_str()], &ids).is_empty());

    // Consent given again: assigned again, live.
    let mut live = Subscription::open_held(&server, None, changes, json!({}), json!({})).await;
    server.data(UPSERT, json!({ "i": { "externalId": chosen, "consentProfiling": true } })).await;
    let mut entered = HashSet::new();
    while entered.len() < ids.len() {
        let event = live.next(Duration::from_secs(10)).await.expect("an entry into every segmentation");
        let change = &event["membershipChanged"];
        assert_eq!(
            (&change["customer"]["externalId"], &change["change"]),
            (&json!(chosen), &json!("ENTERED"))
        );
        entered.insert(change["segmentationId"].as_str().expect("segmentation").to_owned());
    }
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_leave_out_customers_who_refused_marketing() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let server = work.serve(&["--demo", "--customers", &CUSTOMERS.to_string()]).await;
    let input = json!({ "i": { "name": "rfm", "strategy": "behavioral", "mode": "DYNAMIC" } });
    let id = server.data(CREATE, input).await["createSegmentation"]["id"].as_str().expect("id").to_owned();
    assert_eq!(settled(&server, &id).await["status"], "READY");
    let everyone = customers(&server).await;
    let members: Vec<(&String, &Value)> =
        everyone.iter().filter(|(_, c)| !member_of(c, std::slice::from_ref(&id)).is_empty()).collect();
    let reachable: HashSet<&str> =
        members.iter().filter(|(_, c)| !refused(c, "consentMarketing")).map(|(id, _)| id.as_str()).collect();
    assert!(reachable.len() < members.len(), "the demo has members who refused marketing");
    assert!(!reachable.is_empty());

    let output = work.run(&["export", "rfm", "--output", "rfm.csv"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let file = std::fs::read_to_string(work.path().join("rfm.csv")).expect("exported file");
    let exported: HashSet<&str> = file.lines().skip(1).filter_map(|line| line.split(',').next()).collect();
    assert_eq!(exported, reachable, "only members marketing may reach");

    let response =
        reqwest::get(format!("{}/segments/{id}/members.csv", server.base())).await.expect("export");
    assert_eq!(response.status(), 200);
    let csv = response.text().await.expect("csv");
    let exported: HashSet<&str> = csv.lines().skip(1).filter_map(|line| line.split(',').next()).collect();
    assert_eq!(exported, reachable, "the same over HTTP");
    assert!(server.terminate(), "clean shutdown");
}
