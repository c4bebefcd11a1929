//! GraphQL over HTTP to the letter, against the real server: the spec's own audit
//! (`graphql-http`'s `serverAudits`, pinned in tests/http-audit) passes with no error and no
//! warning, and every refusal (malformed JSON, an empty body, a form post, a batch, a body over
//! the limit sent chunked, depth, complexity, a timeout) is a GraphQL-shaped error with
//! `extensions.code` that echoes at most a short prefix of what was sent.

use kindred_e2e::{Server, Workspace, plugin_entry, plugin_library};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Installs the audit's pinned packages once (`npm ci`), like the dashboard's tests.
fn audit_folder() -> std::path::PathBuf {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("http-audit");
    if !folder.join("node_modules/graphql-http").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&folder)
            .status()
            .expect("run npm ci in tests/http-audit (Node.js and npm are needed for this test)");
        assert!(status.success(), "npm ci in tests/http-audit failed");
    }
    folder
}

async fn server(work: &Workspace, extra: &str) -> Server {
    let plugins = plugin_entry("misbehaving", &plugin_library("kindred_fixture_misbehaving"), "");
    work.write("kindred.toml", &format!("{extra}\n{plugins}"));
    let migrated = work.run(&["migrate"]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    work.serve(&[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_passes_without_errors_or_warnings() {
    let folder = audit_folder();
    let work = Workspace::new();
    let server = server(&work, "").await;
    let url = format!("{}/graphql", server.base());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("audit.mjs")
            .arg(url)
            .current_dir(folder)
            .output()
            .expect("run node audit.mjs")
    })
    .await
    .expect("the audit ran");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let results: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per audit"))
        .collect();
    assert!(results.len() > 40, "every audit ran: {}", results.len());
    let failed: Vec<&Value> =
        results.iter().filter(|result| matches!(result["status"].as_str(), Some("error" | "warn"))).collect();
    assert!(failed.is_empty(), "audits failed: {failed:#?}");
}

/// Posts `body` with `content_type`; returns the status and the JSON body.
async fn post(server: &Server, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{}/graphql", server.base())).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:.200}")))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no code: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_a_graphql_error_with_a_code() {
    let work = Workspace::new();
    let server = server(&work, "[server]\nmax_body_bytes = 65536\nrequest_timeout_secs = 1").await;
    let json = Some("application/json");

    for (content_type, body, status, expected) in [
        (json, "{ \"not a JSON", 400, "INVALID_JSON"),
        (json, "", 400, "BAD_REQUEST"),
        (Some("application/x-www-form-urlencoded"), "query=%7B__typename%7D", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (None, "{\"query\":\"{ __typename }\"}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (json, "[{\"query\":\"{ __typename }\"}]", 400, "BATCH_NOT_SUPPORTED"),
        (json, "{\"query\":1}", 400, "BAD_REQUEST"),
    ] {
        let (got, answer) = post(&server, content_type, body).await;
        assert_eq!((got, code(&answer)), (status, expected), "{body}: {answer}");
        assert!(answer.get("data").is_none(), "{answer}");
    }

    // A body over the limit, sent chunked (no Content-Length), is refused like a declared one.
    // Just over the limit, so the whole body sits in socket buffers before the answer comes.
    let chunks = futures::stream::iter((0..17).map(|_| Ok::<_, std::io::Error>(vec![b' '; 4_096])));
    let (status, answer) = post(&server, json, reqwest::Body::wrap_stream(chunks)).await;
    assert_eq!((status, code(&answer)), (413, "PAYLOAD_TOO_LARGE"), "{answer}");

    // Limits before execution, and a document that does not parse.
    let deep = format!("{{ {}__typename{} }}", "customers { edges { node { ".repeat(6), " } } }".repeat(6));
    let (_, answer) = post(&server, json, json!({ "query": deep }).to_string()).await;
    assert_eq!(code(&answer), "QUERY_TOO_DEEP", "{answer}");
    let heavy: Vec<String> = (0..50)
        .map(|n| format!("p{n}: previewSegmentation(strategy: \"misbehaving\") {{ customers }}"))
        .collect();
    let (_, answer) =
        post(&server, json, json!({ "query": format!("{{ {} }}", heavy.join(" ")) }).to_string()).await;
    assert_eq!(code(&answer), "QUERY_TOO_COMPLEX", "{answer}");
    let (_, answer) = post(&server, json, json!({ "query": "{" }).to_string()).await;
    assert_eq!(code(&answer), "GRAPHQL_PARSE_FAILED", "{answer}");
    let (_, answer) = post(&server, json, json!({ "query": "{ noSuchField }" }).to_string()).await;
    assert_eq!(code(&answer), "GRAPHQL_VALIDATION_FAILED", "{answer}");

    // A request slower than the timeout.
    let slow = "{ previewSegmentation(strategy: \"misbehaving\", params: { mode: \"slow\" }) { customers } }";
    let (status, answer) = post(&server, json, json!({ "query": slow }).to_string()).await;
    assert_eq!((status, code(&answer)), (408, "TIMEOUT"), "{answer}");

    // A GET runs queries, not mutations; other methods are refused.
    let (status, answer) = get(&server, "/graphql?query=%7B__typename%7D").await;
    assert_eq!((status, &answer["data"]), (200, &json!({ "__typename": "Query" })));
    let (status, answer) = get(&server, "/graphql?query=mutation%20%7B__typename%7D").await;
    assert_eq!((status, code(&answer)), (405, "METHOD_NOT_ALLOWED"), "{answer}");
    let response =
        reqwest::Client::new().put(format!("{}/graphql", server.base())).send().await.expect("put");
    assert_eq!(response.status().as_u16(), 405);
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", server.base())).await.expect("get");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_error_echoes_more_than_a_short_prefix_of_what_was_sent() {
    let work = Workspace::new();
    let server = server(&work, "").await;
    let name = "x".repeat(900_000);
    for query in [
        "mutation($n: String!) { upsertCustomer(input: { externalId: \"c1\", firstName: $n }) { id } }",
        "mutation($n: String!) { upsertCustomer(input: { externalId: $n }) { id } }",
        "query($n: Int!) { customers(first: $n) { edges { cursor } } }",
    ] {
        let body = json!({ "query": query, "variables": { "n": name } }).to_string();
        let response = reqwest::Client::new()
            .post(format!("{}/graphql", server.base()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        let text = response.text().await.expect("body");
        assert!(text.len() < 4_000, "{query}: a {} byte answer: {:.300}", text.len(), text);
        let answer: Value = serde_json::from_str(&text).expect("JSON");
        assert!(answer["errors"][0]["extensions"]["code"].is_string(), "{answer}");
    }
}
