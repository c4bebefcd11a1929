//! A person's rights end to end, against the real server and plugin: everything held about a
//! customer is exported over GraphQL; once erased they cannot be found by id, external id,
//! email, in any segment's members, in an export, in membership history or in a pending
//! webhook delivery (the receiver never hears of them again); and replaying an old import
//! file does not bring them back unless `kindred import --allow-erased` asks for it.

use kindred_e2e::{Receiver, Server, Workspace, plugin_entry, plugin_library};
use kindred_store::Store;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const UPSERT: &str = "mutation($i: CustomerInput!) { upsertCustomer(input: $i) { id } }";
const PURCHASE: &str = "mutation($x: String!, $at: String!, $amount: Float!) { recordInteraction(input: { \
    customerExternalId: $x, occurredAt: $at, amount: $amount, currency: \"EUR\", channel: \"web\" }) { id } }";
const SEGMENTS: &str = "query($id: ID!) { segmentation(id: $id) { status segments { label size } \
    webhooks { deliveries(status: PENDING, first: 100) { payload } } } }";
const MEMBERS: &str = "query($id: ID!, $s: String!, $q: String) { segmentation(id: $id) { \
    members(segment: $s, first: 100, search: $q) { edges { node { customer { id externalId } } } } } }";
const EXPORT: &str = "query($id: ID!) { exportCustomerData(id: $id) }";
const ERASE: &str = "mutation($id: ID!) { eraseCustomer(id: $id) { erasureId customerId erasedAt interactions \
    ties needs memberships historyEvents webhookEvents sentWebhookEvents modelMentions } }";
const FIND: &str = "query($id: ID!, $x: String!, $email: String!) { byId: customer(id: $id) { id } \
    byExternalId: customer(externalId: $x) { id } customers(filter: { email: $email }) { edges { node { id } } } }";

fn big_spenders() -> Value {
    json!({ "method": "rules", "rules": [{ "label": "big spenders", "when": {
        "agg": "sum", "of": "amount", "where": { "kind": "purchase" }, "within_days": 365, "op": "gt", "value": 1000 } }] })
}

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339()
}

async fn ready(server: &Server, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let state = server.data(SEGMENTS, json!({ "id": id })).await["segmentation"].clone();
        if state["status"] == "READY" {
            return state;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn size_of(state: &Value, label: &str) -> i64 {
    let segments = state["segments"].as_array().expect("segments");
    segments.iter().find(|s| s["label"] == label).map_or(0, |s| s["size"].as_i64().expect("size"))
}

/// The external ids of a segment's members (those matching `search`).
async fn members(server: &Server, id: &str, segment: &str, search: Option<&str>) -> Vec<String> {
    let page = server.data(MEMBERS, json!({ "id": id, "s": segment, "q": search })).await;
    let edges = page["segmentation"]["members"]["edges"].as_array().expect("edges").clone();
    edges
        .iter()
        .map(|e| e["node"]["customer"]["externalId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_customer_is_gone_everywhere_and_not_replayed_back() {
    let work = Workspace::new();
    // The retry of the failed delivery waits long enough that the export and the erasure
    // always come before it, even on a loaded machine.
    let settings = plugin_entry("behavioral", &plugin_library("kindred_behavioral"), "");
    work.write("kindred.toml", &format!("{settings}\n[webhooks]\nfirst_retry_secs = 10\n"));
    let server = work.serve(&[]).await;

    // Ana, with a profile, purchases, ties both ways and needs declared and inferred; Bo.
    let ana = json!({ "externalId": "ana-1", "email": "ana@example.com", "firstName": "Ana", "lastName": "Lima",
        "city": "Porto", "country": "PT", "consentMarketing": true, "consentProfiling": true });
    let ana_id = server.data(UPSERT, json!({ "i": ana })).await["upsertCustomer"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    server.data(UPSERT, json!({ "i": { "externalId": "bo-2", "email": "bo@example.com" } })).await;
    for (who, days) in [("ana-1", 30), ("ana-1", 20), ("bo-2", 25)] {
        server.data(PURCHASE, json!({ "x": who, "at": days_ago(days), "amount": 100.0 })).await;
    }
    server
        .data(
            "mutation { a: addTie(input: { fromExternalId: \"ana-1\", toExternalId: \"bo-2\" }) { id } \
             b: addTie(input: { fromExternalId: \"cy-3\", toExternalId: \"ana-1\", mutual: false, kind: \"follows\" }) { id } \
             c: addNeed(input: { customerExternalId: \"ana-1\", tag: \"trail_running\" }) { id } \
             d: addNeed(input: { customerExternalId: \"ana-1\", tag: \"vegan_food\", source: \"inferred\", weight: 0.4 }) { id } }",
            json!({}),
        )
        .await;

    // A dynamic segmentation, and a webhook whose receiver fails once: what ana's purchases
    // change waits in the outbox.
    let created = server
        .data(
            "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }",
            json!({ "i": { "name": "big spenders", "strategy": "behavioral", "params": big_spenders(), "mode": "DYNAMIC" } }),
        )
        .await;
    let segmentation = created["createSegmentation"]["id"].as_str().expect("id").to_owned();
    ready(&server, &segmentation).await;
    let mut receiver = Receiver::start(vec![500]).await;
    server
        .data(
            "mutation($s: ID!, $u: String!) { addWebhook(segmentationId: $s, url: $u) { secret } }",
            json!({ "s": segmentation, "u": receiver.url }),
        )
        .await;
    for who in ["ana-1", "bo-2"] {
        server.data(PURCHASE, json!({ "x": who, "at": days_ago(1), "amount": 2000.0 })).await;
    }
    let first = receiver.next(Duration::from_secs(20)).await.expect("the first attempt");
    assert_eq!(first.answered, 500);
    assert!(first.body.contains("ana-1"), "ana entered: {}", first.body);
    let state = ready(&server, &segmentation).await;
    assert_eq!(size_of(&state, "big spenders"), 2, "{state}");

    // The export holds everything.
    let export = server.data(EXPORT, json!({ "id": ana_id })).await["exportCustomerData"].clone();
    assert_eq!(export["customer"]["email"], "ana@example.com", "{export}");
    assert_eq!(export["customer"]["lastName"], "Lima");
    assert_eq!(export["customer"]["consentProfiling"], true);
    assert_eq!(export["interactions"].as_array().expect("interactions").len(), 3, "{export}");
    let mut ties: Vec<(String, String)> = export["ties"]
        .as_array()
        .expect("ties")
        .iter()
        .map(|t| {
            (
                t["otherExternalId"].as_str().unwrap_or_default().to_owned(),
                t["direction"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    ties.sort();
    assert_eq!(
        ties,
        [("bo-2".to_owned(), "OUTGOING".to_owned()), ("cy-3".to_owned(), "INCOMING".to_owned())]
    );
    let mut needs: Vec<&str> =
        export["needs"].as_array().expect("needs").iter().filter_map(|n| n["source"].as_str()).collect();
    needs.sort_unstable();
    assert_eq!(needs, ["declared", "inferred"]);
    let memberships = export["memberships"].as_array().expect("memberships");
    assert!(
        memberships.iter().any(|m| m["segment"] == "big spenders" && m["segmentationName"] == "big spenders"),
        "{export}"
    );
    let history = export["membershipHistory"].as_array().expect("history");
    assert!(history.iter().any(|e| e["change"] == "ENTERED" && e["segment"] == "big spenders"), "{export}");
    let pending = export["pendingWebhookEvents"].as_array().expect("pending webhook events");
    assert!(!pending.is_empty() && pending.iter().all(|d| d["payload"]["externalId"] == "ana-1"), "{export}");
    assert!(export["exportedAt"].is_string());

    // Erased: a receipt of counts, with nothing personal in it.
    let receipt = server.data(ERASE, json!({ "id": ana_id })).await["eraseCustomer"].clone();
    assert_eq!(receipt["customerId"], ana_id.as_str(), "{receipt}");
    assert_eq!(
        (receipt["interactions"].as_i64(), receipt["ties"].as_i64(), receipt["needs"].as_i64()),
        (Some(3), Some(2), Some(2))
    );
    assert!(
        receipt["memberships"].as_i64() >= Some(1) && receipt["historyEvents"].as_i64() >= Some(2),
        "{receipt}"
    );
    assert_eq!(receipt["webhookEvents"].as_i64(), Some(pending.len() as i64), "{receipt}");
    let text = receipt.to_string();
    for personal in ["ana", "Lima", "example.com", "Porto"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // Not found by id, external id or email; not in the export, any segment, or the outbox.
    let found = server.data(FIND, json!({ "id": ana_id, "x": "ana-1", "email": "ana@example.com" })).await;
    assert_eq!(found, json!({ "byId": null, "byExternalId": null, "customers": { "edges": [] } }));
    let again = server.graphql(EXPORT, json!({ "id": ana_id })).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "NOT_FOUND", "{again}");
    let state = server.data(SEGMENTS, json!({ "id": segmentation })).await["segmentation"].clone();
    assert_eq!(size_of(&state, "big spenders"), 1, "sizes reflect the erasure: {state}");
    for segment in state["segments"].as_array().expect("segments") {
        let label = segment["label"].as_str().expect("label");
        assert!(!members(&server, &segmentation, label, None).await.contains(&"ana-1".to_owned()));
        assert!(members(&server, &segmentation, label, Some("ana")).await.is_empty());
    }
    let outbox = state["webhooks"][0]["deliveries"].as_array().expect("deliveries");
    assert!(!outbox.is_empty(), "bo's events wait: {state}");
    assert!(outbox.iter().all(|d| d["payload"]["externalId"] == "bo-2"), "{state}");
    // The retry carries bo's events only.
    let retried = receiver.next(Duration::from_secs(60)).await.expect("the retry");
    assert_eq!(retried.answered, 200);
    assert!(retried.body.contains("bo-2") && !retried.body.contains("ana-1"), "{}", retried.body);
    // Membership history, read from the database itself.
    let store =
        Store::connect(&format!("sqlite://{}/data/kindred.db", work.path().display())).await.expect("open");
    let id: i64 = ana_id.parse().expect("numeric id");
    assert!(store.customer_history(id, 100).await.expect("history").is_empty());
    let events =
        store.segmentation_events(segmentation.parse().expect("id"), 0, 10_000).await.expect("events");
    assert!(!events.is_empty() && events.iter().all(|e| e.customer_id != id));
    assert!(store.is_erased("ana-1").await.expect("tombstone"));
    store.close().await.expect("close");

    // An old import file replayed: ana's row is refused, the others imported.
    let file = work.write(
        "customers.csv",
        "external_id,email,first_name\nana-1,ana@example.com,Ana\ndee-4,dee@example.com,Dee\n",
    );
    let output = work.run(&["import", "customers", file.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("read 2, imported 1, updated 0, unchanged 0, rejected 1"), "{stdout}");
    assert!(stderr.contains("line 2, column external_id: erased customer"), "{stderr}");
    assert!(!stderr.contains("ana"), "no personal data in the report: {stderr}");
    let interactions =
        work.write("interactions.csv", "customer_external_id,occurred_at,amount\nana-1,2026-01-01,5\n");
    let output = work.run(&["import", "interactions", interactions.to_str().expect("path")]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("rejected 1, superseded 0, customers created 0")
    );
    let found = server.data(FIND, json!({ "id": ana_id, "x": "ana-1", "email": "ana@example.com" })).await;
    assert_eq!(found["byExternalId"], Value::Null);
    let dee = server.data("{ customer(externalId: \"dee-4\") { id } }", json!({})).await;
    assert!(dee["customer"]["id"].is_string());

    // Asked for: re-created as a new customer with nothing of the old one.
    let output = work.run(&["import", "customers", file.to_str().expect("path"), "--allow-erased"]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(stdout.contains("imported 1, updated 0, unchanged 1, rejected 0"), "{stdout}");
    let back = server
        .data(
            "{ customer(externalId: \"ana-1\") { id email interactions { edges { node { id } } } } }",
            json!({}),
        )
        .await;
    assert_ne!(back["customer"]["id"], ana_id.as_str());
    assert_eq!(back["customer"]["email"], "ana@example.com");
    assert_eq!(back["customer"]["interactions"]["edges"], json!([]));
}
