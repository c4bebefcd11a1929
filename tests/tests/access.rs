//! Access control end to end, against the real server with authentication on: every role
//! against every mutation and a sample of queries (a table), 401 without a valid key (and for
//! a revoked one), subscriptions refused without a key, the audit log of who did what, and the
//! per-key rate limit answering 429 and recovering.

use kindred_e2e::{Server, Subscription, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ROLES: [&str; 4] = ["admin", "editor", "analyst", "ingest"];

/// Operations and the roles that may run them. Each is well-formed, so a role that may run it
/// gets its result or an ordinary error (NOT_FOUND, CONFLICT, ...), never FORBIDDEN.
fn operations() -> Vec<(&'static str, String, &'static [&'static str])> {
    const WRITERS: &[&str] = &["admin", "editor", "ingest"];
    const MANAGERS: &[&str] = &["admin", "editor"];
    const READERS: &[&str] = &["admin", "editor", "analyst"];
    const ADMINS: &[&str] = &["admin"];
    let at = "2026-01-01T00:00:00Z";
    vec![
        ("upsertCustomer", "mutation { upsertCustomer(input: { externalId: \"role-a\" }) { id } }".into(), WRITERS),
        (
            "recordInteraction",
            format!("mutation {{ recordInteraction(input: {{ customerExternalId: \"role-a\", occurredAt: \"{at}\", kind: \"purchase\", amount: 5 }}) {{ id }} }}"),
            WRITERS,
        ),
        ("addTie", "mutation { addTie(input: { fromExternalId: \"role-a\", toExternalId: \"role-b\" }) { id } }".into(), WRITERS),
        ("removeTie", "mutation { removeTie(fromExternalId: \"role-a\", toExternalId: \"role-b\") }".into(), WRITERS),
        ("addNeed", "mutation { addNeed(input: { customerExternalId: \"role-a\", tag: \"hiking\" }) { id } }".into(), WRITERS),
        ("removeNeed", "mutation { removeNeed(customerExternalId: \"role-a\", tag: \"hiking\") }".into(), WRITERS),
        ("deleteCustomer", "mutation { deleteCustomer(id: \"999999\") }".into(), ADMINS),
        ("eraseCustomer", "mutation { eraseCustomer(id: \"999999\") { __typename } }".into(), ADMINS),
        ("exportCustomerData", "{ exportCustomerData(id: \"999999\") }".into(), ADMINS),
        (
            "createSegmentation",
            "mutation { createSegmentation(input: { name: \"role seg\", strategy: \"behavioral\" }) { id } }".into(),
            MANAGERS,
        ),
        ("updateSegmentation", "mutation { updateSegmentation(id: \"999999\", input: { name: \"x\" }) { id } }".into(), MANAGERS),
        ("deleteSegmentation", "mutation { deleteSegmentation(id: \"999999\") }".into(), MANAGERS),
        ("refreshSegmentation", "mutation { refreshSegmentation(id: \"999999\") { id } }".into(), MANAGERS),
        ("cancelRefresh", "mutation { cancelRefresh(id: \"999999\") }".into(), MANAGERS),
        (
            "addSegmentMembers",
            "mutation { addSegmentMembers(segmentationId: \"999999\", segment: \"a\", externalIds: []) }".into(),
            MANAGERS,
        ),
        (
            "removeSegmentMembers",
            "mutation { removeSegmentMembers(segmentationId: \"999999\", segment: \"a\", externalIds: []) }".into(),
            MANAGERS,
        ),
        (
            "importSegmentMembers",
            "mutation { importSegmentMembers(segmentationId: \"999999\", segment: \"a\", externalIds: []) { entered } }"
                .into(),
            MANAGERS,
        ),
        (
            "addWebhook",
            "mutation { addWebhook(segmentationId: \"999999\", url: \"http://127.0.0.1:9/hook\") { secret } }".into(),
            MANAGERS,
        ),
        ("removeWebhook", "mutation { removeWebhook(id: \"999999\") }".into(), MANAGERS),
        ("customer", "{ customer(externalId: \"role-a\") { id email } }".into(), READERS),
        ("customers", "{ customers(first: 2) { edges { node { id } } } }".into(), READERS),
        ("segmentations", "{ segmentations { id segments { label size } } }".into(), READERS),
        ("plugins", "{ plugins { name status } }".into(), READERS),
        ("stats", "{ stats { customers } }".into(), READERS),
        ("caller", "{ caller { keyName role } }".into(), READERS),
        ("startPreview", "mutation { startPreview(strategy: \"behavioral\", sample: 1) { id } }".into(), READERS),
        ("cancelPreview", "mutation { cancelPreview(id: \"999999\") { id } }".into(), READERS),
        ("preview", "{ preview(id: \"999999\") { status } }".into(), READERS),
        ("auditLog", "{ auditLog(first: 1) { edges { node { action } } } }".into(), ADMINS),
        ("apiKeys", "{ apiKeys { name role prefix revokedAt } }".into(), ADMINS),
        ("createApiKey", "mutation { createApiKey(name: \"made-by-admin\", role: ANALYST) { key } }".into(), ADMINS),
        ("revokeApiKey", "mutation { revokeApiKey(name: \"nobody\") { name } }".into(), ADMINS),
        ("reloadPlugins", "mutation { reloadPlugins { plugins { name outcome } } }".into(), ADMINS),
        ("mergeCustomers", "mutation { mergeCustomers(ids: [\"999998\"], survivor: \"999999\") { id } }".into(), MANAGERS),
        ("unmergeCustomer", "mutation { unmergeCustomer(mergeId: \"999999\") { __typename } }".into(), ADMINS),
        ("mergeLog", "{ mergeLog(first: 1) { id } }".into(), ADMINS),
        ("resolveIdentities", "mutation { resolveIdentities(dryRun: true) { id status } }".into(), ADMINS),
        ("resolveJob", "{ resolveJob(id: \"999999\") { stage } }".into(), ADMINS),
        ("resolveJobs", "{ resolveJobs(first: 1) { id } }".into(), ADMINS),
        ("acceptSuggestion", "mutation { acceptSuggestion(id: \"999999\") { id } }".into(), MANAGERS),
        ("rejectSuggestion", "mutation { rejectSuggestion(id: \"999999\") { id } }".into(), MANAGERS),
        ("duplicateSuggestions", "{ duplicateSuggestions(first: 1) { id probability } }".into(), READERS),
    ]
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| error["extensions"]["code"].as_str().map(str::to_owned))
        .collect()
}

async fn secured(work: &Workspace, extra: &str) -> Server {
    let settings =
        [plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""), extra.to_owned()].concat();
    work.write("kindred.toml", &format!("[auth]\nenabled = true\n{settings}"));
    work.serve(&[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_mutation_and_a_sample_of_queries() {
    let work = Workspace::new();
    work.run(&["migrate"]);
    let keys: Vec<(&str, String)> =
        ROLES.iter().map(|role| (*role, work.create_key(role, &format!("{role}-key")))).collect();
    let server = secured(&work, "").await;

    for (operation, query, allowed) in operations() {
        for (role, key) in &keys {
            let (status, _, body) = server.graphql_with_key(Some(key), &query, json!({})).await;
            assert_eq!(status, 200, "{role} {operation}: {body}");
            let forbidden = codes(&body).iter().any(|code| code == "FORBIDDEN");
            assert_eq!(
                forbidden,
                !allowed.contains(role),
                "{role} {operation}: {}",
                if forbidden { "refused but allowed" } else { "allowed but should be refused" }
            );
            // An allowed operation reaches its resolver: any error is one of ours, with a code
            // (a malformed request here would prove nothing).
            let uncoded = body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["extensions"]["code"].is_null())
                .count();
            assert_eq!(uncoded, 0, "{role} {operation}: {body}");
            if forbidden {
                assert!(
                    body["data"].is_null()
                        || body["data"].as_object().is_some_and(|d| d.values().all(Value::is_null)),
                    "{body}"
                );
            }
        }
    }

    // An admin makes a key over GraphQL; it works at once and is never shown again.
    let made = server
        .graphql_with_key(Some(&keys[0].1), "mutation { createApiKey(name: \"reporting\", role: ANALYST) { key apiKey { name role prefix } } }", json!({}))
        .await
        .2;
    let made_key = made["data"]["createApiKey"]["key"].as_str().expect("the new key").to_owned();
    assert_eq!(made["data"]["createApiKey"]["apiKey"]["role"], "analyst", "{made}");
    let (status, _, _) = server.graphql_with_key(Some(&made_key), "{ stats { customers } }", json!({})).await;
    assert_eq!(status, 200);
    let listed = server.graphql_with_key(Some(&keys[0].1), "{ apiKeys { name prefix } }", json!({})).await.2;
    assert!(!listed.to_string().contains(&made_key), "keys are never listed: {listed}");

    // A writer gets back the id it wrote, and nothing else about the record.
    let ingest = &keys[3].1;
    let (_, _, body) = server
        .graphql_with_key(
            Some(ingest),
            "mutation { upsertCustomer(input: { externalId: \"role-a\" }) { id email } }",
            json!({}),
        )
        .await;
    assert!(codes(&body).contains(&"FORBIDDEN".to_owned()), "email is a read: {body}");

    // Neither a missing nor a wrong key learns anything: 401 before any field runs.
    for key in [None, Some("kdr_000000000000_wrong"), Some("not a key")] {
        let (status, _, body) =
            server.graphql_with_key(key, "{ customer(externalId: \"role-a\") { id } }", json!({})).await;
        assert_eq!(status, 401, "{key:?}: {body}");
        assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{body}");
    }
    let csv = reqwest::get(format!("{}/segments/1/members.csv", server.base())).await.expect("csv");
    assert_eq!(csv.status().as_u16(), 401, "exports need a key too");
    let csv = reqwest::Client::new()
        .get(format!("{}/segments/1/members.csv", server.base()))
        .bearer_auth(&keys[3].1)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status().as_u16(), 403, "an ingest key may not read members");

    // The audit log: who did what, when, and how it ended; admins only.
    let admin = &keys[0].1;
    let started = Instant::now();
    let entries = loop {
        let data = server
            .graphql_with_key(
                Some(admin),
                "{ auditLog(first: 100, filter: { action: \"createSegmentation\" }) { edges { node { at keyName role action target outcome } } } }",
                json!({}),
            )
            .await
            .2;
        let entries = data["data"]["auditLog"]["edges"].as_array().cloned().unwrap_or_default();
        if entries.len() >= 4 || started.elapsed() > Duration::from_secs(10) {
            break entries;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The admin made it; the editor, asking next for the same name, got CONFLICT; the
    // others were refused.
    let outcomes: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["node"]["keyName"].as_str().unwrap_or("").to_owned(),
                e["node"]["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for expected in [
        ("admin-key", "ok"),
        ("editor-key", "CONFLICT"),
        ("analyst-key", "FORBIDDEN"),
        ("ingest-key", "FORBIDDEN"),
    ] {
        assert!(
            outcomes.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {outcomes:?}"
        );
    }
    let made = entries.iter().find(|e| e["node"]["keyName"] == "admin-key").expect("the admin's");
    assert_eq!(made["node"]["role"], "admin");
    assert!(
        made["node"]["target"].as_str().is_some_and(|target| target.starts_with("segmentation ")),
        "{made}"
    );
    let refused = server
        .graphql_with_key(Some(admin), "{ auditLog(first: 100, filter: { keyName: \"analyst-key\" }) { edges { node { action outcome target } } } }", json!({}))
        .await
        .2;
    let analyst_entries = refused["data"]["auditLog"]["edges"].as_array().cloned().unwrap_or_default();
    // An analyst may run previews; every other mutation it tried was refused, and says so.
    let previews = ["startPreview", "cancelPreview"];
    assert!(
        analyst_entries
            .iter()
            .filter(|e| !previews.iter().any(|name| e["node"]["action"] == *name))
            .all(|e| e["node"]["outcome"] == "FORBIDDEN"),
        "refused mutations are audited as refused: {analyst_entries:?}"
    );
    assert!(!analyst_entries.is_empty(), "refused attempts are recorded too");
    // A refused attempt names what it aimed at, as an allowed one does.
    let deleting =
        analyst_entries.iter().find(|e| e["node"]["action"] == "deleteSegmentation").expect("recorded");
    assert_eq!(deleting["node"]["target"], "segmentation 999999", "{deleting}");

    // A revoked key stops working within seconds.
    let revoked = work.run(&["keys", "revoke", "analyst-key"]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    let analyst = &keys[2].1;
    let started = Instant::now();
    loop {
        let (status, _, _) =
            server.graphql_with_key(Some(analyst), "{ stats { customers } }", json!({})).await;
        if status == 401 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the revoked key still works");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listed = String::from_utf8(work.run(&["keys", "list"]).stdout).expect("utf-8");
    assert!(listed.contains("analyst-key") && listed.contains("editor-key"), "{listed}");
    assert!(!listed.contains(analyst.as_str()), "the list never shows a key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_need_a_key() {
    let work = Workspace::new();
    work.run(&["migrate"]);
    let analyst = work.create_key("analyst", "watcher");
    let ingest = work.create_key("ingest", "loader");
    let server = secured(&work, "").await;
    assert!(Subscription::refused(server.base(), json!({})).await, "no key");
    assert!(
        Subscription::refused(server.base(), json!({ "authorization": "Bearer kdr_000000000000_x" })).await
    );
    let mut live = Subscription::open(
        server.base(),
        "subscription { membershipChanged { segment } }",
        json!({}),
        json!({ "authorization": format!("Bearer {analyst}") }),
    )
    .await;
    assert!(live.next(Duration::from_millis(300)).await.is_none(), "connected, nothing happened yet");
    // The socket is for subscriptions: queries keep HTTP's limits and timeouts.
    let mut query = Subscription::open(
        server.base(),
        "{ stats { customers } }",
        json!({}),
        json!({ "authorization": format!("Bearer {analyst}") }),
    )
    .await;
    let answer = query.raw(Duration::from_secs(5)).await.expect("an answer");
    assert!(answer.to_string().contains("BAD_REQUEST"), "{answer}");
    // A key without Read connects but may not subscribe.
    let mut writer = Subscription::open(
        server.base(),
        "subscription { membershipChanged { segment } }",
        json!({}),
        json!({ "apiKey": ingest }),
    )
    .await;
    let message = writer.raw(Duration::from_secs(5)).await.expect("an answer");
    assert!(message.to_string().contains("FORBIDDEN"), "{message}");
    assert!(message["payload"]["data"].is_null(), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_and_recovers() {
    let work = Workspace::new();
    work.run(&["migrate"]);
    let key = work.create_key("analyst", "busy");
    let other = work.create_key("analyst", "quiet");
    let server = secured(&work, "[server]\nrate_limit_per_second = 2\nrate_limit_burst = 3\n").await;
    let query = "{ stats { customers } }";
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let (status, retry, _) = server.graphql_with_key(Some(&key), query, json!({})).await;
        statuses.push(status);
        retry_after = retry_after.or(retry);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(
        retry_after.as_deref().is_some_and(|seconds| seconds.parse::<u64>().is_ok_and(|s| s >= 1)),
        "{retry_after:?}"
    );
    let (status, _, _) = server.graphql_with_key(Some(&other), query, json!({})).await;
    assert_eq!(status, 200, "another key has its own budget");
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let (status, _, body) = server.graphql_with_key(Some(&key), query, json!({})).await;
    assert_eq!(status, 200, "recovered after a pause: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_query_needs_a_key_and_the_graphiql_page_does_not() {
    let work = Workspace::new();
    work.run(&["migrate"]);
    let analyst = work.create_key("analyst", "getter");
    let server = secured(&work, "").await;
    let path = "/graphql?query=%7B%20stats%20%7B%20customers%20%7D%20%7D";
    let (status, body) = server.get(path, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = server.get(path, Some(&analyst)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"customers\":0"), "{body}");
    let (status, page) = server.get("/graphql", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("<html") || page.contains("<!DOCTYPE"), "the GraphiQL page");
}
