//! Identity end to end, against the real server and behavioral plugin: a record that carries
//! two customers' identifiers merges them, segments move live (the survivor enters, the
//! absorbed customer exits), the absorbed external id still finds the survivor, the merge is
//! explained in the log and the audit log, an admin undoes it and segments move back; an
//! erasure's dry run lists every identity merged in.

use kindred_e2e::{Subscription, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const UPSERT: &str = "mutation($i: CustomerInput!) { upsertCustomer(input: $i) { id externalId } }";
const PURCHASE: &str = "mutation($x: String!, $at: String!, $amount: Float!) { recordInteraction(input: { \
    customerExternalId: $x, occurredAt: $at, amount: $amount, currency: \"EUR\" }) { id } }";
const CHANGES: &str = "subscription($s: ID) { membershipChanged(segmentationId: $s) { segmentationId customerId segment change } }";
const CUSTOMER: &str = "query($x: String!) { customer(externalId: $x) { id externalId aliases \
    identifiers { kind value origin } mergeHistory { id reason evidence decidedBy canUndo } } }";
const SEGMENTS: &str = "query($id: ID!) { segmentation(id: $id) { status segments { label size } } }";

fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339()
}

fn tiers() -> Value {
    json!({ "method": "rules", "rules": [
        { "label": "big spenders", "when": { "agg": "sum", "of": "amount", "within_days": 365, "op": "gt", "value": 1000 } },
        { "label": "buyers", "when": { "agg": "sum", "of": "amount", "within_days": 365, "op": "gt", "value": 0 } }
    ] })
}

/// The next `count` membership events, as (customer id, segment, change), in any order.
async fn events(live: &mut Subscription, count: usize) -> HashSet<(String, String, String)> {
    let mut seen = HashSet::new();
    while seen.len() < count {
        let event = live.next(Duration::from_secs(15)).await.expect("a membership event");
        let change = &event["membershipChanged"];
        seen.insert((
            change["customerId"].as_str().unwrap_or_default().to_owned(),
            change["segment"].as_str().unwrap_or_default().to_owned(),
            change["change"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    seen
}

fn event(id: &str, segment: &str, change: &str) -> (String, String, String) {
    (id.to_owned(), segment.to_owned(), change.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_move_segments_live_are_explained_and_undone() {
    merges_move_segments_live_are_explained_and_undone_on(Workspace::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_move_segments_live_are_explained_and_undone_on_postgres() {
    if let Some(work) = Workspace::on_postgres("identity_live").await {
        merges_move_segments_live_are_explained_and_undone_on(work).await;
    }
}

#[allow(clippy::unwrap_used)] // a test body shared by both databases' tests
async fn merges_move_segments_live_are_explained_and_undone_on(work: Workspace) {
    work.run(&["migrate"]);
    let admin = work.create_key("admin", "admin-key");
    let editor = work.create_key("editor", "editor-key");
    let settings = plugin_entry("behavioral", &plugin_library("kindred_behavioral"), "");
    work.write("kindred.toml", &format!("[auth]\nenabled = true\n{settings}"));
    let server = work.serve(&[]).await;
    let call = |key: &str, query: &str, variables: Value| {
        let server = &server;
        let key = key.to_owned();
        let query = query.to_owned();
        async move {
            let (status, _, body) = server.graphql_with_key(Some(&key), &query, variables).await;
            assert_eq!(status, 200, "{body}");
            assert!(body["errors"].is_null(), "{body}");
            body["data"].clone()
        }
    };

    // A client learns who it is (the dashboard shows the undo button to admins only).
    let me = call(&editor, "{ caller { keyName role } }", json!({})).await;
    assert_eq!(me["caller"], json!({ "keyName": "editor-key", "role": "EDITOR" }));

    // The shop knows Sam by email, the web shop by phone; each bought for 600.
    let sam = call(
        &editor,
        UPSERT,
        json!({ "i": { "externalId": "S-1", "origin": "shop", "email": "sam@x.org" } }),
    )
    .await["upsertCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = call(
        &editor,
        UPSERT,
        json!({ "i": { "externalId": "W-9", "origin": "web", "phone": "+351 912 345 678" } }),
    )
    .await["upsertCustomer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for who in ["S-1", "W-9"] {
        call(&editor, PURCHASE, json!({ "x": who, "at": days_ago(10), "amount": 600.0 })).await;
    }
    let created = call(
        &editor,
        "mutation($p: JSON!) { createSegmentation(input: { name: \"tiers\", strategy: \"behavioral\", params: $p }) { id } }",
        json!({ "p": tiers() }),
    )
    .await;
    let segmentation = created["createSegmentation"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let state = call(&editor, SEGMENTS, json!({ "id": segmentation })).await;
        if state["segmentation"]["status"] == "READY" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Someone picked the web customer by hand for a static segmentation.
    let picked = call(
        &editor,
        "mutation($p: JSON!) { createSegmentation(input: { name: \"picked\", strategy: \"behavioral\", mode: STATIC, params: $p }) { id } }",
        json!({ "p": tiers() }),
    )
    .await["createSegmentation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_vip = |who: &'static str| {
        let (call, picked, editor) = (&call, picked.clone(), &editor);
        async move {
            let found = call(
                editor,
                "query($x: String!) { customer(externalId: $x) { externalId memberships { segmentation { id } segment { label } } } }",
                json!({ "x": who }),
            )
            .await;
            found["customer"]["memberships"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["segmentation"]["id"] == json!(picked) && m["segment"]["label"] == "vip")
                && found["customer"]["externalId"] == who
        }
    };
    let started = Instant::now();
    loop {
        let (_, _, body) = server
            .graphql_with_key(
                Some(&editor),
                "mutation($s: ID!) { addSegmentMembers(segmentationId: $s, segment: \"vip\", externalIds: [\"W-9\"]) }",
                json!({ "s": picked }),
            )
            .await;
        // Its first fit may still run: the edit waits for it.
        if body["errors"].is_null() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(in_vip("W-9").await);

    // The web shop sends Sam's phone with the shop's email: one person.
    let mut live = Subscription::open_held(
        &server,
        Some(&editor),
        CHANGES,
        json!({ "s": segmentation }),
        json!({ "apiKey": editor }),
    )
    .await;
    let merged = call(
        &editor,
        UPSERT,
        json!({ "i": { "externalId": "W-9", "origin": "web", "email": "SAM@x.org", "phone": "+351912345678" } }),
    )
    .await;
    assert_eq!(merged["upsertCustomer"]["id"], json!(sam), "the customer known longest stays: {merged}");
    let moved = events(&mut live, 3).await;
    assert_eq!(
        moved,
        HashSet::from([
            event(&web, "buyers", "EXITED"),
            event(&sam, "buyers", "EXITED"),
            event(&sam, "big spenders", "ENTERED"),
        ]),
        "the absorbed customer exits, the survivor (1,200 now) moves up"
    );

    // The web id is an alias; the merge is explained.
    let found = call(&editor, CUSTOMER, json!({ "x": "W-9" })).await["customer"].clone();
    assert_eq!(found["id"], json!(sam), "{found}");
    assert_eq!(found["aliases"], json!(["W-9"]));
    let kinds: Vec<String> = found["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {} {}",
                i["kind"].as_str().unwrap(),
                i["value"].as_str().unwrap(),
                i["origin"].as_str().unwrap()
            )
        })
        .collect();
    for expected in
        ["external_id S-1 shop", "external_id W-9 web", "email sam@x.org shop", "phone +351912345678 web"]
    {
        assert!(kinds.iter().any(|k| k == expected), "{expected} in {kinds:?}");
    }
    let history = found["mergeHistory"].as_array().unwrap().clone();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (&history[0]["reason"], &history[0]["decidedBy"], &history[0]["canUndo"]),
        (&json!("IDENTIFIER"), &json!("editor-key"), &json!(true))
    );
    let shared = history[0]["evidence"]["shared"].as_array().unwrap();
    assert!(shared.iter().any(|s| s["kind"] == "email"), "{shared:?}");
    let merge_id = history[0]["id"].as_str().unwrap().to_owned();

    // Editors may not undo; admins may, and segments move back.
    let (_, _, refused) = server
        .graphql_with_key(
            Some(&editor),
            "mutation($m: ID!) { unmergeCustomer(mergeId: $m) { restored { id } } }",
            json!({ "m": merge_id }),
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    let undone = call(
        &admin,
        "mutation($m: ID!) { unmergeCustomer(mergeId: $m) { merge { canUndo } survivor { id } restored { id externalId } } }",
        json!({ "m": merge_id }),
    )
    .await["unmergeCustomer"]
        .clone();
    assert_eq!((&undone["restored"]["id"], &undone["restored"]["externalId"]), (&json!(web), &json!("W-9")));
    assert_eq!(undone["merge"]["canUndo"], false);
    // The hand-picked membership comes back with the customer.
    let started = Instant::now();
    while !in_vip("W-9").await {
        assert!(started.elapsed() < Duration::from_secs(20), "W-9 back in vip");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = events(&mut live, 3).await;
    assert_eq!(
        back,
        HashSet::from([
            event(&sam, "big spenders", "EXITED"),
            event(&sam, "buyers", "ENTERED"),
            event(&web, "buyers", "ENTERED"),
        ])
    );

    // Merged by hand this time; the audit log names both mutations.
    call(
        &editor,
        "mutation($ids: [ID!]!, $s: ID!) { mergeCustomers(ids: $ids, survivor: $s) { id reason } }",
        json!({ "ids": [web], "s": sam }),
    )
    .await;
    // The audit log is written in the background: wait for both entries.
    let started = Instant::now();
    loop {
        let audit =
            call(&admin, "{ auditLog(first: 50) { edges { node { action keyName target } } } }", json!({}))
                .await;
        let actions: Vec<String> = audit["auditLog"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["node"]["action"].as_str().unwrap_or_default(),
                    e["node"]["keyName"].as_str().unwrap_or_default(),
                    e["node"]["target"].as_str().unwrap_or_default()
                )
            })
            .collect();
        // The merge names the survivor and whom it absorbed; the unmerge names the merge.
        if actions
            .iter()
            .any(|a| *a == format!("mergeCustomers editor-key customer {sam} absorbing customers {web}"))
            && actions.iter().any(|a| a.starts_with("unmergeCustomer admin-key merge "))
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{actions:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = call(&admin, "{ mergeLog { id reason decidedBy canUndo } }", json!({})).await;
    assert_eq!(log["mergeLog"].as_array().unwrap().len(), 2, "{log}");

    // Erasing Sam would erase the web identity too: the dry run says so, and erases nothing.
    let dry = call(
        &admin,
        "mutation($id: ID!) { eraseCustomer(id: $id, dryRun: true) { dryRun erasureId identities { externalId origin } merges interactions } }",
        json!({ "id": sam }),
    )
    .await["eraseCustomer"]
        .clone();
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["erasureId"], Value::Null);
    assert_eq!(
        dry["identities"],
        json!([{ "externalId": "S-1", "origin": "shop" }, { "externalId": "W-9", "origin": "web" }])
    );
    assert_eq!(dry["interactions"], 2);
    let export = call(&admin, "query($id: ID!) { exportCustomerData(id: $id) }", json!({ "id": sam })).await;
    let document = &export["exportCustomerData"];
    assert_eq!(document["aliases"], json!(["W-9"]), "{document}");
    assert_eq!(document["mergeLog"].as_array().unwrap().len(), 2);
    assert!(document["identifiers"].as_array().unwrap().len() >= 4);
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kindred_resolve_finds_the_demo_duplicates_and_the_review_queue_is_served() {
    let work = Workspace::new();
    work.write("kindred.toml", &plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""));
    let loaded = work.run(&["demo", "--customers", "600", "--duplicates", "0.2"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let dry = work.run(&["resolve", "--dry-run"]);
    let printed = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        dry.status.success() && printed.starts_with("dry run (nothing changed): customers "),
        "{printed}"
    );
    let run = work.run(&["resolve"]);
    let printed = String::from_utf8_lossy(&run.stdout).into_owned();
    let merged: usize = printed
        .split(", ")
        .find_map(|part| part.strip_prefix("merged "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{printed}"));
    // About 120 copies: those sharing a phone or an email with their original merged on load;
    // the pass finds the rest.
    assert!(merged > 10, "{printed}");
    let server = work.serve(&[]).await;
    let log = server.data("{ mergeLog(first: 500) { reason decidedBy evidence } }", json!({})).await;
    let entries: Vec<&Value> =
        log["mergeLog"].as_array().unwrap().iter().filter(|e| e["reason"] == "PROBABILISTIC").collect();
    assert_eq!(entries.len(), merged);
    assert!(entries.iter().all(|e| e["decidedBy"] == "resolve"));
    assert!(entries[0]["evidence"]["fields"].as_array().is_some_and(|f| !f.is_empty()), "{}", entries[0]);
    let queue = server
        .data("{ duplicateSuggestions(first: 5) { id probability evidence customerA { id } customerB { id } } }", json!({}))
        .await;
    if let Some(first) = queue["duplicateSuggestions"].as_array().and_then(|q| q.first()) {
        let rejected = server
            .data("mutation($id: ID!) { rejectSuggestion(id: $id) { status } }", json!({ "id": first["id"] }))
            .await;
        assert_eq!(rejected["rejectSuggestion"]["status"], "REJECTED");
    }
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_identities_is_a_job_followed_to_its_end() {
    let work = Workspace::new();
    work.write("kindred.toml", &plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""));
    let loaded = work.run(&["demo", "--customers", "600", "--duplicates", "0.2"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let server = work.serve(&[]).await;
    let started = server.data("mutation { resolveIdentities { id status dryRun } }", json!({})).await;
    let job = &started["resolveIdentities"];
    assert_eq!((job["status"].as_str(), job["dryRun"].as_bool()), (Some("RUNNING"), Some(false)), "{job}");
    let follow = "query($id: ID!) { resolveJob(id: $id) { status stage done total error \
        result { customers merged suggested merges } } }";
    let deadline = Instant::now() + Duration::from_secs(60);
    let ended = loop {
        let now = server.data(follow, json!({ "id": job["id"] })).await["resolveJob"].clone();
        if now["status"] != "RUNNING" {
            break now;
        }
        assert!(Instant::now() < deadline, "the job is still running: {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ended["status"], "SUCCEEDED", "{ended}");
    assert_eq!(ended["stage"], "done");
    let result = &ended["result"];
    let merged = result["merged"].as_u64().unwrap();
    assert!(merged > 10, "{result}");
    assert_eq!(result["merges"].as_array().map(Vec::len), Some(merged as usize));
    let jobs = server.data("{ resolveJobs(first: 5) { id } }", json!({})).await;
    assert_eq!(jobs["resolveJobs"][0]["id"], job["id"]);
    assert!(server.terminate(), "clean shutdown");
}

#[tokio::test]
async fn an_import_of_customers_ends_by_matching_the_new_ones() {
    let work = Workspace::new();
    work.write("kindred.toml", "[identity]\nresolve_after_import = true\n");
    let written = work.run(&["demo", "--write-files", "files", "--customers", "500"]);
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let customers = std::fs::read_to_string(work.path().join("files/customers.csv")).unwrap();
    let loaded = work.run(&["import", "customers", "files/customers.csv"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let first = String::from_utf8_lossy(&loaded.stdout).into_owned();
    assert!(first.contains("merged 0, suggested"), "a clean file has no duplicates: {first}");
    // The third customer again from another system: a new id, a typo in the family name,
    // no email and no phone (either would merge it deterministically, before matching).
    let header = customers.lines().next().unwrap();
    let mut cells: Vec<String> = customers.lines().nth(3).unwrap().split(',').map(str::to_owned).collect();
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    cells[at("external_id")] = "web-77".to_owned();
    cells[at("email")].clear();
    cells[at("phone")].clear();
    let last = cells[at("last_name")].clone();
    let mut letters: Vec<char> = last.chars().collect();
    letters.swap(1, 2);
    cells[at("last_name")] = letters.into_iter().collect();
    work.write("again.csv", &format!("{header}\n{}\n", cells.join(",")));
    let again = work.run(&["import", "customers", "again.csv"]);
    let printed = String::from_utf8_lossy(&again.stdout).into_owned();
    let figure = |name: &str| -> usize {
        let line = printed.lines().find(|line| line.starts_with("customers ")).unwrap_or_default();
        line.split([',', ';'])
            .find_map(|part| part.trim().strip_prefix(&format!("{name} ")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert!(printed.contains("customers 501, "), "the pass read everyone: {printed}");
    assert_eq!(figure("merged") + figure("suggested"), 1, "the copy is merged or queued: {printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_made_by_an_import_beside_the_server_is_heard_live() {
    let work = Workspace::new();
    work.write("kindred.toml", &plugin_entry("behavioral", &plugin_library("kindred_behavioral"), ""));
    let server = work.serve(&[]).await;
    let id_of = |data: &Value| data["upsertCustomer"]["id"].as_str().unwrap().to_owned();
    let sam = id_of(
        &server
            .data(UPSERT, json!({ "i": { "externalId": "S-1", "origin": "shop", "email": "sam@x.org" } }))
            .await,
    );
    let web = id_of(
        &server
            .data(UPSERT, json!({ "i": { "externalId": "W-9", "origin": "web", "phone": "+351912345678" } }))
            .await,
    );
    for who in ["S-1", "W-9"] {
        server.data(PURCHASE, json!({ "x": who, "at": days_ago(10), "amount": 600.0 })).await;
    }
    let create = "mutation($p: JSON!) { createSegmentation(input: { name: \"tiers\", strategy: \"behavioral\", params: $p }) { id } }";
    let segmentation = server.data(create, json!({ "p": tiers() })).await["createSegmentation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    while server.data(SEGMENTS, json!({ "id": segmentation })).await["segmentation"]["status"] != "READY" {
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut live = Subscription::open_held(&server, None, CHANGES, json!({}), json!({})).await;
    work.write("bridge.csv", "external_id,origin,email,phone\nW-9,web,sam@x.org,+351912345678\n");
    let imported = work.run(&["import", "customers", "bridge.csv"]);
    let printed = String::from_utf8_lossy(&imported.stdout).into_owned();
    assert!(printed.contains("merged 1"), "{printed}");
    let moved = events(&mut live, 3).await;
    assert_eq!(
        moved,
        HashSet::from([
            event(&web, "buyers", "EXITED"),
            event(&sam, "buyers", "EXITED"),
            event(&sam, "big spenders", "ENTERED"),
        ])
    );
    assert!(server.terminate(), "clean shutdown");
}
