//! Abuse limits end to end: a body over the limit gets 413 with the limit named, a page over
//! the maximum and a query too deep or complex get errors, and a client that sends its headers
//! too slowly has its connection closed.

use kindred_e2e::Workspace;
use serde_json::json;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_with_clear_errors_and_slow_clients_are_cut_off() {
    let work = Workspace::new();
    work.write("kindred.toml", "[server]\nmax_body_bytes = 10000\nheader_read_timeout_secs = 1\n");
    let server = work.serve(&[]).await;

    let big = "x".repeat(20_000);
    let (status, _, body) =
        server.graphql_with_key(None, "{ stats { customers } }", json!({ "padding": big })).await;
    assert_eq!(status, 413, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("10000 bytes") && message.contains("server.max_body_bytes"), "{body}");

    let page = server.graphql("{ customers(first: 5000) { edges { node { id } } } }", json!({})).await;
    assert_eq!(page["errors"][0]["extensions"]["field"], "first", "{page}");
    let deep = "{ customers(first: 1) { edges { node { ties(first: 1) { edges { node { from { ties(first: 1) { edges { node { to { ties(first: 1) { edges { node { id } } } } } } } } } } } } } } }";
    let refused = server.graphql(deep, json!({})).await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too deep") || m.contains("too complex")),
        "{refused}"
    );

    // With authentication off, only this machine may call: not another site's page, nor a
    // name that merely resolves here (DNS rebinding).
    let http = reqwest::Client::new();
    let body = json!({ "query": "{ stats { customers } }" });
    let foreign =
        http.post(format!("{}/graphql", server.base())).header("Origin", "https://evil.example").json(&body);
    assert_eq!(foreign.send().await.expect("send").status().as_u16(), 403);
    let rebound = http.post(format!("{}/graphql", server.base())).header("Host", "evil.example").json(&body);
    assert_eq!(rebound.send().await.expect("send").status().as_u16(), 403);
    let local = http.post(format!("{}/graphql", server.base())).header("Origin", server.base()).json(&body);
    assert_eq!(local.send().await.expect("send").status().as_u16(), 200, "the dashboard's own origin");

    // Half a request, then nothing: the server hangs up once the header time is up.
    let address = server.base().trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: kindred\r\n").expect("send half the headers");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut answer = Vec::new();
        // Ok(_) means the server closed the connection (perhaps after a 408); an error would
        // mean it was still waiting when the read timed out.
        stream.read_to_end(&mut answer).is_ok()
    })
    .await
    .expect("join");
    assert!(closed, "the connection was still open after 10 s");
    assert!(started.elapsed() < Duration::from_secs(8), "closed after {:?}", started.elapsed());
    // And the server still answers everyone else.
    let (status, _, _) = server.graphql_with_key(None, "{ stats { customers } }", json!({})).await;
    assert_eq!(status, 200);
}
