//! Several servers on one PostgreSQL act as one, end to end: two real `kindred serve`
//! processes with the real plugins on one database, talking GraphQL over HTTP and WebSocket.
//!
//! - a write on one server is an event on a subscription held on the other;
//! - `refreshSegmentation` asked of both at once runs one job;
//! - a refit whose server is killed (`kill -9`) is finished by the other after the lease, and
//!   the memberships are whole;
//! - a preview whose server is killed is finished by the other;
//! - a refit is cancelled from the server that does not run it;
//! - a webhook receiver gets each event once;
//! - a restarted server assigns new writes as before it stopped;
//! - a revoked key stops working on every server within five seconds;
//! - on SQLite, a second server on one file is refused, while `import`, `export` and `keys`
//!   work beside the running one.

use kindred_e2e::{
    Receiver, Server, Subscription, Workspace, create_big_spenders, plugin_entry, plugin_library,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const CREATE: &str = "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";
const STATE: &str = "query($id: ID!) { segmentation(id: $id) { status segments { label size } \
    jobs(first: 10) { id status reason runner excluded } modelVersion { jobId } } }";
const RECORD: &str = "mutation($i: InteractionInput!) { recordInteraction(input: $i) { id } }";
const CHANGES: &str =
    "subscription($id: ID) { membershipChanged(segmentationId: $id) { customerId segment change } }";

/// How long a condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(90);

/// Both plugins the tests use, and leases short enough to wait for.
fn settings() -> String {
    let behavioral = plugin_entry("behavioral", &plugin_library("kindred_behavioral"), "");
    let misbehaving = plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), "");
    format!("{behavioral}\n{misbehaving}\n[cluster]\nlease_secs = 2\nmodel_poll_secs = 1\n")
}

/// A PostgreSQL workspace with the demo's 200 customers, and servers "a" and "b" on it;
/// `None` without `KINDRED_TEST_POSTGRES_URL` (CI sets it).
async fn two_servers(test: &str) -> Option<(Workspace, Server, Server)> {
    let work = Workspace::on_postgres(test).await?;
    work.write("kindred.toml", &settings());
    let loaded = work.run(&["demo", "--customers", "200"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let a = work.serve_replica(&[("KINDRED__CLUSTER__SERVER_ID", "a")]).await;
    let b = work.serve_replica(&[("KINDRED__CLUSTER__SERVER_ID", "b")]).await;
    Some((work, a, b))
}

fn yesterday() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339()
}

/// A purchase of `amount` yesterday by `who` (created if new).
fn purchase(who: &str, amount: f64) -> Value {
    json!({ "i": { "customerExternalId": who, "occurredAt": yesterday(), "kind": "purchase",
        "amount": amount, "currency": "EUR", "channel": "web" } })
}

async fn state(server: &Server, id: &str) -> Value {
    server.data(STATE, json!({ "id": id })).await["segmentation"].clone()
}

fn size(state: &Value, label: &str) -> i64 {
    let segments = state["segments"].as_array().expect("segments");
    segments.iter().find(|s| s["label"] == label).map_or(0, |s| s["size"].as_i64().unwrap_or(0))
}

/// Polls `server` until `done` holds for the segmentation's state; fails at the deadline.
async fn until(server: &Server, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let state = state(server, id).await;
        if done(&state) {
            return state;
        }
        assert!(started.elapsed() < DEADLINE, "{what}: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A READY "big spenders" on both servers, with the model of its first refit on both.
async fn big_spenders_on_both(a: &Server, b: &Server) -> (String, i64) {
    let id = create_big_spenders(a).await;
    let ready = until(a, &id, "ready on a", |s| s["status"] == "READY").await;
    let job = ready["modelVersion"]["jobId"].clone();
    assert!(!job.is_null(), "{ready}");
    until(b, &id, "ready on b", |s| s["status"] == "READY" && s["modelVersion"]["jobId"] == job).await;
    (id, size(&ready, "big spenders"))
}

/// The next event of `subscription` within the deadline.
async fn next_event(subscription: &mut Subscription, what: &str) -> Value {
    subscription.next(DEADLINE).await.unwrap_or_else(|| panic!("no event: {what}"))
}

/// Writes a big purchase of `who` on `writer` and waits for `who` entering "big spenders" on
/// `subscription` (events of earlier commits, such as the refit's, may come first); returns
/// the customer's id.
async fn heard_entering(writer: &Server, who: &str, subscription: &mut Subscription) -> Value {
    let recorded = "mutation($i: InteractionInput!) { recordInteraction(input: $i) { customer { id } } }";
    let written = writer.data(recorded, purchase(who, 5_000.0)).await;
    let customer = written["recordInteraction"]["customer"]["id"].clone();
    loop {
        let event = next_event(subscription, who).await;
        let change = &event["membershipChanged"];
        if change["customerId"] == customer {
            assert_eq!(
                (&change["change"], &change["segment"]),
                (&json!("ENTERED"), &json!("big spenders")),
                "{event}"
            );
            return customer;
        }
    }
}

async fn a_write_on_one_server_is_an_event_on_the_other(a: Server, b: Server) {
    let (id, before) = big_spenders_on_both(&a, &b).await;
    let mut on_b = Subscription::open_held(&b, None, CHANGES, json!({ "id": id }), json!({})).await;
    heard_entering(&a, "written-on-a", &mut on_b).await;
    // And the other way round.
    let mut on_a = Subscription::open_held(&a, None, CHANGES, json!({ "id": id }), json!({})).await;
    let customer = heard_entering(&b, "written-on-b", &mut on_a).await;
    until(&a, &id, "both writes in the segment", |s| size(s, "big spenders") == before + 2).await;
    // A customer deleted on b leaves the segment on a's subscription too.
    b.data("mutation($id: ID!) { deleteCustomer(id: $id) }", json!({ "id": customer })).await;
    loop {
        let event = next_event(&mut on_a, "a deletion on b, heard on a").await;
        let change = &event["membershipChanged"];
        if change["customerId"] == customer && change["change"] == "EXITED" {
            break;
        }
    }
}

async fn a_refresh_asked_of_both_at_once_runs_one_job(a: Server, b: Server) {
    let (id, _) = big_spenders_on_both(&a, &b).await;
    let refresh = "mutation($id: ID!) { refreshSegmentation(id: $id) { id } }";
    let (on_a, on_b) =
        tokio::join!(a.graphql(refresh, json!({ "id": id })), b.graphql(refresh, json!({ "id": id })));
    let refused = [&on_a, &on_b].iter().filter(|answer| answer.get("errors").is_some()).count();
    assert_eq!(refused, 1, "one runs, one is refused: {on_a} {on_b}");
    let refusal = if on_a.get("errors").is_some() { &on_a } else { &on_b };
    assert!(refusal.to_string().contains("already being refitted"), "{refusal}");
    let done =
        until(&a, &id, "the refit ends", |s| s["status"] == "READY" && s["jobs"][0]["reason"] == "refit")
            .await;
    let refits = done["jobs"].as_array().expect("jobs").iter().filter(|job| job["reason"] == "refit").count();
    assert_eq!(refits, 1, "{done}");
}

async fn a_refit_whose_server_dies_is_finished_by_the_other(a: Server, b: Server) {
    // The fixture's "slow" fit takes three seconds; a is killed while it runs.
    let input = json!({ "i": { "name": "slow", "strategy": "misbehaving", "params": { "mode": "slow" }, "mode": "STATIC" } });
    let id = a.data(CREATE, input).await["createSegmentation"]["id"].as_str().expect("id").to_owned();
    let running = state(&a, &id).await;
    assert_eq!(running["jobs"][0]["status"], "RUNNING", "{running}");
    assert_eq!(running["jobs"][0]["runner"], "a", "{running}");
    a.kill_hard();
    let done = until(&b, &id, "b finishes the refit", |s| s["status"] == "READY").await;
    let job = &done["jobs"][0];
    assert_eq!((&job["status"], &job["runner"]), (&json!("SUCCEEDED"), &json!("b")), "{done}");
    assert_eq!(done["jobs"].as_array().map(Vec::len), Some(1), "the same job, taken over: {done}");
    let customers = b.data("{ stats { customers } }", json!({})).await["stats"]["customers"].as_i64();
    let refused_profiling = job["excluded"].as_i64().unwrap_or_default();
    assert_eq!(Some(size(&done, "slow") + refused_profiling), customers, "every customer, once: {done}");
}

async fn a_preview_whose_server_dies_is_finished_by_the_other(a: Server, b: Server) {
    let start =
        "mutation { startPreview(strategy: \"misbehaving\", params: { mode: \"slow\" }) { id status } }";
    let started = a.data(start, json!({})).await;
    let id = started["startPreview"]["id"].as_str().expect("id").to_owned();
    a.kill_hard();
    let query = format!("{{ preview(id: \"{id}\") {{ status result {{ customers }} }} }}");
    let began = Instant::now();
    let done = loop {
        let preview = b.data(&query, json!({})).await["preview"].clone();
        if preview["status"] != "RUNNING" {
            break preview;
        }
        assert!(began.elapsed() < DEADLINE, "still running: {preview}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(done["result"]["customers"].as_i64().is_some_and(|n| n > 0), "{done}");
}

async fn a_refit_is_cancelled_from_the_other_server(a: Server, b: Server) {
    let input = json!({ "i": { "name": "slow", "strategy": "misbehaving", "params": { "mode": "slow" }, "mode": "STATIC" } });
    let id = a.data(CREATE, input).await["createSegmentation"]["id"].as_str().expect("id").to_owned();
    let cancel = "mutation($id: ID!) { cancelRefresh(id: $id) }";
    let asked = b.data(cancel, json!({ "id": id })).await;
    assert_eq!(asked["cancelRefresh"], true, "{asked}");
    let done = until(&a, &id, "the refit on a stops", |s| s["jobs"][0]["status"] != "RUNNING").await;
    assert_eq!(done["jobs"][0]["status"], "CANCELLED", "{done}");
    assert_eq!(size(&done, "slow"), 0, "nothing written: {done}");
}

async fn a_webhook_receiver_gets_each_event_once(a: Server, b: Server) {
    let (id, _) = big_spenders_on_both(&a, &b).await;
    let mut receiver = Receiver::start(Vec::new()).await;
    let hook = "mutation($s: ID!, $u: String!) { addWebhook(segmentationId: $s, url: $u) { secret } }";
    a.data(hook, json!({ "s": id, "u": receiver.url })).await;
    let buyers = 40;
    for n in 0..buyers {
        let server = if n % 2 == 0 { &a } else { &b };
        server.data(RECORD, purchase(&format!("hooked-{n}"), 5_000.0)).await;
    }
    let counts =
        "query($id: ID!) { segmentation(id: $id) { webhooks { counts { pending delivered failed } } } }";
    let started = Instant::now();
    loop {
        let hooks = a.data(counts, json!({ "id": id })).await;
        let counts = &hooks["segmentation"]["webhooks"][0]["counts"];
        if counts["delivered"].as_i64() == Some(buyers) && counts["pending"].as_i64() == Some(0) {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "deliveries: {hooks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut events = Vec::new();
    while let Some(request) = receiver.next(Duration::from_millis(500)).await {
        let body: Value = serde_json::from_str(&request.body).expect("JSON body");
        events.extend(body["events"].as_array().expect("events").iter().cloned());
    }
    let customers: BTreeSet<String> =
        events.iter().map(|event| event["externalId"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(events.len() as i64, buyers, "each event once: {events:?}");
    assert_eq!(customers.len() as i64, buyers, "{customers:?}");
}

async fn a_restarted_server_assigns_as_before(work: Workspace, a: Server, b: Server) {
    let (id, before) = big_spenders_on_both(&a, &b).await;
    b.kill_hard();
    a.data(RECORD, purchase("while-b-was-down", 5_000.0)).await;
    let b = work.serve_replica(&[("KINDRED__CLUSTER__SERVER_ID", "b")]).await;
    let mut on_b = Subscription::open_held(&b, None, CHANGES, json!({ "id": id }), json!({})).await;
    heard_entering(&b, "after-b-restarted", &mut on_b).await;
    let done = until(&b, &id, "both writes in", |s| size(s, "big spenders") == before + 2).await;
    // No refit: b loaded the saved model, the same one a holds.
    assert_eq!(done["jobs"].as_array().map(Vec::len), Some(1), "{done}");
}

async fn a_revoked_key_stops_working_everywhere(work: Workspace) {
    let admin = work.create_key("admin", "root");
    let doomed = work.create_key("analyst", "doomed");
    let secured = [("KINDRED__AUTH__ENABLED", "true")];
    let a = work.serve_replica(&[secured[0], ("KINDRED__CLUSTER__SERVER_ID", "a")]).await;
    let b = work.serve_replica(&[secured[0], ("KINDRED__CLUSTER__SERVER_ID", "b")]).await;
    let query = "{ stats { customers } }";
    for server in [&a, &b] {
        let (status, _, _) = server.graphql_with_key(Some(&doomed), query, json!({})).await;
        assert_eq!(status, 200);
    }
    let revoke = "mutation { revokeApiKey(name: \"doomed\") { revokedAt } }";
    let (status, _, body) = a.graphql_with_key(Some(&admin), revoke, json!({})).await;
    assert!(status == 200 && body.get("errors").is_none(), "{body}");
    let revoked = Instant::now();
    loop {
        // When the request was sent counts, not when a loaded machine answered it.
        let sent = revoked.elapsed();
        let (status, _, _) = b.graphql_with_key(Some(&doomed), query, json!({})).await;
        if status == 401 {
            break;
        }
        assert!(sent < Duration::from_secs(6), "still accepted on b {sent:?} after the revocation: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

macro_rules! on_two_servers {
    ($name:ident, $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some((_work, a, b)) = two_servers(stringify!($name)).await {
                $body(a, b).await;
            }
        }
    };
}

on_two_servers!(write_on_one_event_on_the_other, a_write_on_one_server_is_an_event_on_the_other);
on_two_servers!(one_refit_for_two_requests, a_refresh_asked_of_both_at_once_runs_one_job);
on_two_servers!(refit_taken_over_after_a_kill, a_refit_whose_server_dies_is_finished_by_the_other);
on_two_servers!(webhook_events_once, a_webhook_receiver_gets_each_event_once);
on_two_servers!(refit_cancelled_from_the_other_server, a_refit_is_cancelled_from_the_other_server);
on_two_servers!(preview_taken_over_after_a_kill, a_preview_whose_server_dies_is_finished_by_the_other);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_server_assigns_as_before() {
    if let Some((work, a, b)) = two_servers("restarted_server_assigns_as_before").await {
        a_restarted_server_assigns_as_before(work, a, b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_everywhere_within_5s() {
    if let Some(work) = Workspace::on_postgres("revoked_key_everywhere_within_5s").await {
        work.write("kindred.toml", &settings());
        work.run(&["migrate"]);
        a_revoked_key_stops_working_everywhere(work).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_serves_one_server() {
    let work = Workspace::new();
    work.write("kindred.toml", &settings());
    let loaded = work.run(&["demo", "--customers", "50"]);
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    let first = work.serve(&[]).await;
    let second = work.command(&["serve"]).env("KINDRED__SERVER__BIND", "127.0.0.1:0").output().expect("run");
    assert!(!second.status.success(), "a second server on one SQLite file is refused");
    let told = String::from_utf8_lossy(&second.stderr);
    assert!(told.contains("already running on the SQLite file") && told.contains("PostgreSQL"), "{told}");
    // The commands beside it work.
    let key = work.run(&["keys", "list"]);
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    work.write("more.csv", &format!("customer_external_id,occurred_at,channel,kind,amount,currency\nbeside-1,{},store,purchase,10,EUR\n", yesterday()));
    let imported = work.run(&["import", "interactions", "more.csv"]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let id = create_big_spenders(&first).await;
    let ready = until(&first, &id, "ready", |s| s["status"] == "READY").await;
    let exported = work.run(&["export", "big spenders"]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let csv = String::from_utf8_lossy(&exported.stdout).into_owned();
    let rows = csv.lines().count() as i64;
    let members: i64 =
        ready["segments"].as_array().expect("segments").iter().filter_map(|s| s["size"].as_i64()).sum();
    // Members who refused marketing are left out of exports.
    assert!(csv.starts_with("external_id,") && rows > 1 && rows <= members + 1, "{ready}\n{csv}");
    assert!(first.terminate(), "a clean stop");
    // Stopped: the file is free again.
    let again = work.serve(&[]).await;
    assert!(again.terminate());
}
