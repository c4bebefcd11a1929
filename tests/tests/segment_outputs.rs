//! What flows out of segments, end to end against the real server and plugins: signed
//! webhooks over http and https (and retries of a failing receiver), the streamed CSV export
//! over HTTP and from `kindred export`, personas, the overlap of two segmentations, and sizes
//! over time.

use hmac::{Hmac, Mac};
use kindred_e2e::{Receiver, Server, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

const CREATE: &str = "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";
const ADD_HOOK: &str = "mutation($s: ID!, $u: String!) { addWebhook(segmentationId: $s, url: $u) { secret webhook { id url } } }";
const HOOKS: &str = "query($id: ID!) { segmentation(id: $id) { webhooks { id counts { pending delivered failed } \
    deliveries { status attempts lastError } } } }";

async fn create(server: &Server, name: &str, params: Value) -> String {
    let input = json!({ "i": { "name": name, "strategy": "behavioral", "params": params } });
    let created = server.data(CREATE, input).await;
    let id = created["createSegmentation"]["id"].as_str().expect("id").to_owned();
    let started = Instant::now();
    loop {
        let state =
            server.data("query($id: ID!) { segmentation(id: $id) { status } }", json!({ "id": id })).await;
        if state["segmentation"]["status"] == "READY" {
            return id;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn verify(secret: &str, received: &kindred_e2e::Received) {
    let timestamp = &received.headers["x-kindred-timestamp"];
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(received.headers["x-kindred-signature"], format!("sha256={expected}"));
}

fn big_spenders() -> Value {
    json!({ "method": "rules", "rules": [{ "label": "big spenders", "when": {
        "agg": "sum", "of": "amount", "where": { "kind": "purchase" }, "within_days": 365, "op": "gt", "value": 1000 } }] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_exports_personas_and_overlaps() {
    let work = Workspace::new();
    // An https receiver whose certificate comes from a private CA the server is told to trust.
    let (mut secure, ca_pem) = Receiver::start_tls().await;
    work.write("ca.pem", &ca_pem);
    let config = plugin_entry("behavioral", &plugin_library("kindred_behavioral"), "");
    work.write("kindred.toml", &format!("[webhooks]\nca_file = \"ca.pem\"\n\n{config}"));
    let server = work.serve(&["--demo", "--customers", "200"]).await;
    let spenders = create(&server, "big spenders", big_spenders()).await;
    let rfm = create(&server, "rfm", json!({ "method": "rfm" })).await;

    let mut good = Receiver::start(Vec::new()).await;
    let mut flaky = Receiver::start(vec![500, 503]).await;
    let added = server.data(ADD_HOOK, json!({ "s": spenders, "u": good.url })).await;
    let secret = added["addWebhook"]["secret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 64);
    let flaky_added = server.data(ADD_HOOK, json!({ "s": spenders, "u": flaky.url })).await;
    let flaky_secret = flaky_added["addWebhook"]["secret"].as_str().expect("secret").to_owned();
    let secure_added = server.data(ADD_HOOK, json!({ "s": spenders, "u": secure.url })).await;
    let secure_secret = secure_added["addWebhook"]["secret"].as_str().expect("secret").to_owned();
    let refused = server.graphql(ADD_HOOK, json!({ "s": spenders, "u": "ftp://example.com/hook" })).await;
    assert_eq!(refused["errors"][0]["extensions"]["field"], "url", "{refused}");

    // The newcomer enters "other"; the purchase moves them to "big spenders".
    server
        .data(
            "mutation { upsertCustomer(input: { externalId: \"whale\", email: \"w@example.com\" }) { id } }",
            json!({}),
        )
        .await;
    let purchase = json!({ "i": { "customerExternalId": "whale", "occurredAt": chrono::Utc::now().to_rfc3339(),
        "kind": "purchase", "amount": 1500.0, "currency": "EUR", "channel": "store" } });
    server.data("mutation($i: InteractionInput!) { recordInteraction(input: $i) { id } }", purchase).await;
    // The worker may take both writes in one batch (straight into "big spenders") or one by
    // one (through "other"); either way the receiver hears what the history holds.
    let mut events: Vec<Value> = Vec::new();
    while !events.iter().any(|e| e["change"] == "ENTERED" && e["segment"] == "big spenders") {
        let received = good.next(Duration::from_secs(10)).await.expect("the good receiver gets the events");
        verify(&secret, &received);
        let body: Value = serde_json::from_str(&received.body).expect("JSON");
        events.extend(body["events"].as_array().expect("events").iter().cloned());
    }
    let moves: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["change"].as_str().unwrap_or(""), e["segment"].as_str().unwrap_or("")))
        .collect();
    assert!(
        moves.len() == 1 || moves == [("ENTERED", "other"), ("ENTERED", "big spenders"), ("EXITED", "other")],
        "{events:?}"
    );
    assert!(events.iter().all(|e| e["externalId"] == "whale" && e["reason"] == "WRITE"), "{events:?}");
    let sent = events.len();

    // The https receiver gets the same signed events over TLS.
    let mut secure_events = 0;
    while secure_events < sent {
        let received =
            secure.next(Duration::from_secs(10)).await.expect("the https receiver gets the events");
        verify(&secure_secret, &received);
        let body: Value = serde_json::from_str(&received.body).expect("JSON");
        secure_events += body["events"].as_array().map_or(0, Vec::len);
    }

    // The flaky receiver fails twice, is retried with backoff, and gets everything.
    let first = flaky.next(Duration::from_secs(10)).await.expect("first attempt");
    assert_eq!(first.answered, 500);
    let hooks = server.data(HOOKS, json!({ "id": spenders })).await;
    let flaky_hook = &hooks["segmentation"]["webhooks"][1];
    assert!(
        flaky_hook["deliveries"].as_array().expect("deliveries").iter().any(|d| {
            d["status"] == "PENDING" && d["lastError"].as_str().is_some_and(|e| e.contains("500"))
        }),
        "the failure is visible: {hooks}"
    );
    let mut flaky_events = 0;
    let started = Instant::now();
    while flaky_events < sent {
        let received = flaky.next(Duration::from_secs(30)).await.expect("retries");
        verify(&flaky_secret, &received);
        if received.answered == 200 {
            let body: Value = serde_json::from_str(&received.body).expect("JSON");
            flaky_events += body["events"].as_array().map_or(0, Vec::len);
        }
    }
    assert!(started.elapsed() >= Duration::from_secs(2), "retries wait");
    // The sender records a delivery after the receiver's answer: wait for the record.
    let settled = json!({ "pending": 0, "delivered": sent, "failed": 0 });
    let waited = Instant::now();
    let hooks = loop {
        let hooks = server.data(HOOKS, json!({ "id": spenders })).await;
        if hooks["segmentation"]["webhooks"][1]["counts"] == settled {
            break hooks;
        }
        assert!(waited.elapsed() < Duration::from_secs(30), "deliveries not recorded: {hooks}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        hooks["segmentation"]["webhooks"][1]["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .all(|d| d["attempts"].as_i64() >= Some(2))
    );
    assert_eq!(hooks["segmentation"]["webhooks"][0]["counts"]["delivered"], sent);

    // CSV: one segment over HTTP (the label percent-encoded), everything from the CLI.
    let segments = server
        .data(
            "query($id: ID!) { segmentation(id: $id) { segments { label size membersCsvPath } } }",
            json!({ "id": spenders }),
        )
        .await;
    let segment = segments["segmentation"]["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .find(|s| s["label"] == "big spenders")
        .expect("big spenders")
        .clone();
    let response =
        reqwest::get(format!("{}{}", server.base(), segment["membersCsvPath"].as_str().expect("path")))
            .await
            .expect("export");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/csv")));
    let csv = response.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "external_id,email,first_name,last_name,segmentation,segment,score,since");
    // Members who refused marketing are left out of exports (tests/tests/consent.rs counts them).
    let size = segment["size"].as_i64().expect("size");
    assert!(lines.len() > 1 && lines.len() as i64 <= size + 1, "{csv}");
    assert!(
        lines.iter().any(|line| line.starts_with("whale,w@example.com,,,big spenders,big spenders,1500,")),
        "{csv}"
    );
    let missing =
        reqwest::get(format!("{}/segments/{spenders}:nobody/members.csv", server.base())).await.expect("404");
    assert_eq!(missing.status(), 404);
    let output = work.run(&["export", "big spenders", "--output", "all.csv"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let all = std::fs::read_to_string(work.path().join("all.csv")).expect("exported file");
    // Customers who refused profiling are in no segment, those who refused marketing in no
    // export: the rest of the 200 demo customers and the whale, with the header.
    let state = server
        .data("query($id: ID!) { segmentation(id: $id) { excludedCustomers } }", json!({ "id": spenders }))
        .await;
    let profiled = 201 - state["segmentation"]["excludedCustomers"].as_i64().expect("excluded");
    let count = all.lines().count() as i64;
    assert!(count > 1 && count <= profiled + 1, "every member marketing may reach, and the header");

    // Personas: every segment profiled; shares add up.
    let personas = server.data("query($id: ID!) { segmentation(id: $id) { personas { segment size share ages { value customers } \
        genders { value customers } topCountries { value } topNeeds { tag lift } rfm { buyers recencyDays frequency monetary } revenueShare } } }",
        json!({ "id": rfm })).await;
    let personas = personas["segmentation"]["personas"].as_array().expect("personas").clone();
    assert!(personas.len() > 1);
    let shares: f64 = personas.iter().map(|p| p["share"].as_f64().unwrap_or(0.0)).sum();
    // Shares of all customers: those who refused profiling are in no segment.
    assert!((shares - profiled as f64 / 201.0).abs() < 1e-9, "{personas:?}");
    let revenue: f64 = personas.iter().map(|p| p["revenueShare"].as_f64().unwrap_or(0.0)).sum();
    // A share of every customer's revenue: those who refused profiling are in no segment.
    assert!(
        revenue > 0.0 && revenue <= 1.0 + 1e-6,
        "each profiled customer in one RFM segment: {personas:?}"
    );
    assert!(personas.iter().any(|p| !p["genders"].as_array().is_some_and(Vec::is_empty)));

    // Overlap: RFM against big spenders covers everyone once.
    let overlap = server.data("query($a: ID!, $b: ID!) { overlap(a: $a, b: $b) { customers cells { a b customers share lift } rows { label size } } }",
        json!({ "a": rfm, "b": spenders })).await;
    assert_eq!(overlap["overlap"]["customers"], profiled, "{overlap}");
    let cells = overlap["overlap"]["cells"].as_array().expect("cells");
    assert!(
        cells.iter().any(|c| c["b"] == "big spenders" && c["lift"].as_f64().is_some_and(|l| l > 1.0)),
        "{overlap}"
    );
    let unknown = server.graphql("{ overlap(a: \"1\", b: \"999\") { customers } }", json!({})).await;
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "NOT_FOUND", "{unknown}");

    // Sizes over time: the last point is now.
    let history = server.data("query($id: ID!) { segmentation(id: $id) { sizeHistory(bucket: HOUR) { at segments { label size } } segments { label size } } }",
        json!({ "id": spenders })).await;
    let points = history["segmentation"]["sizeHistory"].as_array().expect("points");
    let mut last = points.last().expect("a point")["segments"].as_array().expect("segments").clone();
    let mut now = history["segmentation"]["segments"].as_array().expect("segments").clone();
    let key = |s: &Value| s["label"].as_str().unwrap_or_default().to_owned();
    last.sort_by_key(key);
    now.sort_by_key(key);
    assert_eq!(last, now);

    // Deleting the customer: the webhook hears the exit, with the external id it had.
    let whale = server.data("{ customer(externalId: \"whale\") { id } }", json!({})).await;
    let whale_id = whale["customer"]["id"].clone();
    server.data("mutation($id: ID!) { deleteCustomer(id: $id) }", json!({ "id": whale_id })).await;
    let received = good.next(Duration::from_secs(10)).await.expect("the exit of a deleted customer");
    verify(&secret, &received);
    let body: Value = serde_json::from_str(&received.body).expect("JSON");
    let exit = &body["events"][0];
    assert_eq!(
        (&exit["change"], &exit["segment"], &exit["externalId"]),
        (&json!("EXITED"), &json!("big spenders"), &json!("whale")),
        "{body}"
    );
    assert!(server.terminate());
}
