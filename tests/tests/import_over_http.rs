//! Imports a CSV with bad rows through the real binary, then checks over HTTP GraphQL that
//! the good rows are there, the bad ones were reported, and a second import changed nothing.
#![allow(missing_docs, clippy::unwrap_used)]

use kindred_e2e::Workspace;
use serde_json::json;

const CUSTOMERS: &str = "external_id,email,first_name,birth_date,country,city,lifestyle\n\
a1,ana@example.com,Ana,1990-04-01,PT,Lisbon,outdoor;vegan\n\
a2,not-an-email,Bo,1985-01-01,DE,Berlin,\n\
a3,cy@example.com,Cy,2999-01-01,FR,Paris,\n\
a4,di@example.com,Di,1970-12-31,PT,Porto,gaming\n";

const INTERACTIONS: &str = "customer_external_id,occurred_at,channel,kind,amount,currency,source_id\n\
a1,2025-03-01T10:00:00Z,store,purchase,19.99,EUR,t-1\n\
a1,2025-03-02T10:00:00Z,web,purchase,-5,EUR,t-2\n\
a4,2025-04-01,support,support_ticket,,,t-3\n\
new1,2025-05-01,web,visit,,,t-4\n";

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn import_with_bad_rows_then_query_over_http() {
    let work = Workspace::new();
    let customers = work.write("customers.csv", CUSTOMERS);
    let interactions = work.write("interactions.csv", INTERACTIONS);

    let first = work.run(&["import", "customers", customers.to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("read 4, imported 2, updated 0, unchanged 0, rejected 2"),
        "{}",
        stdout(&first)
    );
    let errors = stderr(&first);
    assert!(errors.contains("line 3, column email"), "{errors}");
    assert!(errors.contains("line 4, column birth_date"), "{errors}");

    let ndjson = work.write(
        "needs.ndjson",
        "{\"customer_external_id\":\"a1\",\"tag\":\"trail running\",\"kind\":\"passion\"}\n{\"customer_external_id\":\"a4\",\"tag\":\"\"}\n",
    );
    let needs = work.run(&["import", "needs", ndjson.to_str().unwrap()]);
    assert!(stdout(&needs).contains("imported 1"), "{}", stdout(&needs));
    assert!(stderr(&needs).contains("line 2, column tag"), "{}", stderr(&needs));

    let server = work.serve(&[]).await;
    // Imports while the server runs go to the same database.
    let live = work.run(&["import", "interactions", interactions.to_str().unwrap()]);
    assert!(stdout(&live).contains("read 4, imported 3"), "{}", stdout(&live));
    assert!(stdout(&live).contains("customers created 1"), "{}", stdout(&live));
    assert!(stderr(&live).contains("line 3, column amount"), "{}", stderr(&live));

    let data = server
        .data(
            "{ customers(first: 10) { edges { node { externalId email city lifestyle \
               needs { edges { node { tag kind } } } \
               interactions { edges { node { kind amount channel } } } } } } }",
            json!({}),
        )
        .await;
    let ids: Vec<&str> = data["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["externalId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a4", "new1"]);
    let ana = &data["customers"]["edges"][0]["node"];
    assert_eq!(ana["email"], "ana@example.com");
    assert_eq!(ana["lifestyle"], json!(["outdoor", "vegan"]));
    assert_eq!(ana["needs"]["edges"][0]["node"], json!({"tag": "trail_running", "kind": "passion"}));
    assert_eq!(
        ana["interactions"]["edges"],
        json!([{"node": {"kind": "purchase", "amount": 19.99, "channel": "store"}}])
    );

    let by_external = server.data("{ customer(externalId: \"a2\") { id } }", json!({})).await;
    assert_eq!(by_external["customer"], serde_json::Value::Null, "the bad row must not be stored");

    // A second import of the same files changes nothing.
    let again = work.run(&["import", "customers", customers.to_str().unwrap()]);
    assert!(stdout(&again).contains("imported 0, updated 0, unchanged 2, rejected 2"), "{}", stdout(&again));
    let again = work.run(&["import", "interactions", interactions.to_str().unwrap()]);
    assert!(stdout(&again).contains("imported 0, updated 0, unchanged 3"), "{}", stdout(&again));
    let after = server
        .data("{ customers(first: 10) { edges { node { externalId interactions { edges { node { id } } } } } } }", json!({}))
        .await;
    let count: usize = after["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["interactions"]["edges"].as_array().unwrap().len())
        .sum();
    assert_eq!(count, 3);

    assert!(server.terminate(), "kindred serve must exit cleanly on SIGTERM");
}

#[tokio::test]
async fn standard_input_and_unknown_columns() {
    let work = Workspace::new();
    let mut child = work
        .command(&["import", "ties", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from_external_id,to_external_id,weight\nx,y,0.5\nx,x,1\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(stdout(&output).contains("read 2, imported 1"), "{}", stdout(&output));
    assert!(stderr(&output).contains("cannot go from a customer to itself"), "{}", stderr(&output));

    let bad = work.write("bad.csv", "external_id,shoe_size\nz,42\n");
    let output = work.run(&["import", "customers", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("shoe_size"), "{}", stderr(&output));
}

#[tokio::test]
async fn bad_settings_stop_the_start_and_name_the_key() {
    let work = Workspace::new();
    work.write("kindred.toml", "[server]\nbind = \"127.0.0.1:0\"\nport = 8080\n");
    let output = work.run(&["serve"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("port"), "{}", stderr(&output));

    std::fs::remove_file(work.path().join("kindred.toml")).unwrap();
    let output = work.command(&["migrate"]).env("KINDRED__DATABASE__URL", "mysql://nope").output().unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("database.url"), "{}", stderr(&output));
}

#[tokio::test]
async fn demo_data_fills_the_database_and_writes_planted_communities() {
    let work = Workspace::new();
    let planted = work.path().join("planted.csv");
    let output =
        work.run(&["demo", "--customers", "300", "--seed", "7", "--planted", planted.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = std::fs::read_to_string(&planted).unwrap();
    assert_eq!(lines.lines().count(), 301, "a header and one line per customer");

    let server = work.serve(&[]).await;
    let mut customers = 0;
    let mut after = serde_json::Value::Null;
    loop {
        let page = server
            .data(
                "query($after: String) { customers(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({"after": after}),
            )
            .await;
        customers += page["customers"]["edges"].as_array().unwrap().len();
        if page["customers"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["customers"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(customers, 300);
    let one = server
        .data("{ customer(externalId: \"c0000001\") { ties { edges { node { kind } } } needs { edges { node { tag } } } } }", json!({}))
        .await;
    assert!(!one["customer"]["needs"]["edges"].as_array().unwrap().is_empty(), "{one}");
}

#[tokio::test]
async fn serve_with_demo_fills_only_an_empty_database() {
    let work = Workspace::new();
    let server = work.serve(&["--demo", "--customers", "120"]).await;
    let count = |data: serde_json::Value| data["customers"]["edges"].as_array().unwrap().len();
    let query = "{ customers(first: 100, filter: {}) { edges { node { id } } } }";
    assert_eq!(count(server.data(query, json!({})).await), 100);
    assert!(server.terminate());
    // A second start finds customers and loads nothing more.
    let server = work.serve(&["--demo", "--customers", "120"]).await;
    let last = server.data("{ customer(externalId: \"c0000120\") { id } }", json!({})).await;
    assert!(last["customer"]["id"].is_string());
    let beyond =
        server.data("{ customers(first: 100, after: \"i120\") { edges { node { id } } } }", json!({})).await;
    assert_eq!(count(beyond), 0);
}
