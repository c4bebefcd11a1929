//! Careless data, through the real binary: import edge cases that lose nothing silently (an
//! unbalanced quote, duplicate rows, a source id another customer holds, a header naming a
//! column twice, objects where text belongs, control characters, a huge field), implausible
//! values refused by imports and by the API alike, and a static segment's members edited while
//! its refit runs refused with CONFLICT.

use kindred_e2e::{Workspace, plugin_entry, plugin_library};
use serde_json::json;
use std::process::Output;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn import(work: &Workspace, kind: &str, file: &str, contents: &str) -> Output {
    let path = work.write(file, contents);
    work.run(&["import", kind, path.to_str().expect("utf-8 path")])
}

#[test]
fn an_unbalanced_quote_is_reported_where_it_opened_and_the_rows_after_it_are_kept() {
    let work = Workspace::new();
    let csv = "external_id,first_name,city\n\
               q1,Ana,Lisbon\n\
               q2,\"Bo,Berlin\n\
               q3,Cy,Paris\n\
               q4,Di,\"Porto\"\n";
    let output = import(&work, "customers", "customers.csv", csv);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("read 4, imported 3"), "{}", stdout(&output));
    let errors = stderr(&output);
    assert!(errors.contains("line 3: a quoted field opens on this line"), "{errors}");
    assert_eq!(errors.matches("rejected:").count(), 1, "{errors}");
}

#[test]
fn duplicates_conflicts_and_bad_headers_are_counted_or_refused() {
    let work = Workspace::new();
    let csv = "external_id,first_name\nd1,Ana\nd2,Bo\nd1,Anna\n";
    let output = import(&work, "customers", "customers.csv", csv);
    assert!(stdout(&output).contains("superseded 1"), "{}", stdout(&output));

    let csv = "external_id,first_name,first_name\nd3,A,B\n";
    let output = import(&work, "customers", "twice.csv", csv);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("names the column \"first_name\" twice"), "{}", stderr(&output));

    // A source id names one interaction of one customer: another customer's row is refused,
    // and the customer it names is not created.
    let csv =
        "customer_external_id,occurred_at,amount,source_id\nd1,2025-01-01,5,t-1\nnobody,2025-01-02,6,t-1\n";
    let output = import(&work, "interactions", "interactions.csv", csv);
    assert!(stdout(&output).contains("imported 1"), "{}", stdout(&output));
    assert!(stdout(&output).contains("customers created 0"), "{}", stdout(&output));
    assert!(stderr(&output).contains("line 3, column source_id"), "{}", stderr(&output));
}

#[test]
fn wrong_shapes_control_characters_and_implausible_values_are_refused() {
    let work = Workspace::new();
    let ndjson = [
        json!({ "external_id": "w1", "first_name": { "nested": true } }),
        json!({ "external_id": "w2", "city": ["Lisbon", "Porto"] }),
        json!({ "external_id": "w3", "lifestyle": ["outdoor", "vegan"], "first_name": 42 }),
        json!({ "external_id": "w4", "first_name": "A\u{0}B" }),
    ]
    .iter()
    .map(|row| format!("{row}\n"))
    .collect::<String>();
    let output = import(&work, "customers", "customers.ndjson", &ndjson);
    assert!(stdout(&output).contains("read 4, imported 1"), "{}", stdout(&output));
    let errors = stderr(&output);
    for expected in ["line 1, column first_name", "line 2, column city", "line 4, column first_name"] {
        assert!(errors.contains(expected), "{expected}: {errors}");
    }

    work.write("kindred.toml", "[data]\nmax_amount = 1000000.0\n");
    let huge = "x".repeat(5 << 20);
    let csv = format!(
        "customer_external_id,occurred_at,amount,source_id\n\
         w1,1850-01-01,5,\n\
         w1,2999-01-01,5,\n\
         w1,2025-01-01,1e308,\n\
         w1,2025-01-01,2000000,\n\
         w1,2025-01-02,20,\n\
         w1,2025-01-03,20,{huge}\n"
    );
    let output = import(&work, "interactions", "interactions.csv", &csv);
    assert!(stdout(&output).contains("read 6, imported 1"), "{}", stdout(&output));
    let errors = stderr(&output);
    for line in 2..=5 {
        assert!(errors.contains(&format!("line {line}, column")), "line {line}: {errors:.2000}");
    }
    assert!(errors.len() < 4_000, "a huge field is not printed whole: {} bytes", errors.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_implausible_values_and_edits_during_a_refit() {
    let work = Workspace::new();
    let plugins = plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), "");
    work.write("kindred.toml", &format!("[data]\nmax_amount = 1000000.0\n{plugins}"));
    let server = work.serve(&[]).await;
    let record = "mutation($at: String!, $amount: Float) { recordInteraction(input: { customerExternalId: \"p1\", \
                  occurredAt: $at, kind: \"purchase\", amount: $amount }) { id } }";
    for (at, amount, field) in [
        ("1800-01-01", 5.0, "occurredAt"),
        ("2999-01-01", 5.0, "occurredAt"),
        ("2025-01-01", 1e308, "amount"),
        ("2025-01-01", 2e6, "amount"),
    ] {
        let answer = server.graphql(record, json!({ "at": at, "amount": amount })).await;
        let error = &answer["errors"][0];
        assert_eq!(
            (error["extensions"]["code"].as_str(), error["extensions"]["field"].as_str()),
            (Some("VALIDATION"), Some(field)),
            "{answer}"
        );
    }
    server.data(record, json!({ "at": "2025-01-01", "amount": 20.0 })).await;

    // A static segmentation whose refit (3 s of fit) is running: its members cannot be edited.
    let created = server
        .data(
            "mutation { createSegmentation(input: { name: \"slow\", strategy: \"misbehaving\", mode: STATIC, \
             params: { mode: \"slow\" } }) { id } }",
            json!({}),
        )
        .await;
    let id = created["createSegmentation"]["id"].as_str().expect("id").to_owned();
    let edit = server
        .graphql(
            "mutation($id: ID!) { importSegmentMembers(segmentationId: $id, segment: \"vip\", externalIds: [\"p1\"]) { entered } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(edit["errors"][0]["extensions"]["code"], "CONFLICT", "{edit}");
}
