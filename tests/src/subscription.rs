//! A GraphQL subscription over WebSocket with the graphql-transport-ws protocol, as a
//! dashboard would open one.

use crate::Server;
use crate::metrics::{scrape, total};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An open subscription.
pub struct Subscription {
    socket: Socket,
}

impl Subscription {
    /// Connects to `base`'s `/graphql/ws`, acknowledges the connection with `init` as the
    /// `connection_init` payload, and subscribes to `query`.
    pub async fn open(base: &str, query: &str, variables: Value, init: Value) -> Self {
        let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("WebSocket request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
        let (mut socket, response) =
            tokio_tungstenite::connect_async(request).await.expect("connect WebSocket");
        assert_eq!(
            response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        let init = json!({ "type": "connection_init", "payload": init });
        socket.send(Message::text(init.to_string())).await.expect("send connection_init");
        let mut subscription = Self { socket };
        let ack = subscription.message(Duration::from_secs(10)).await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let subscribe =
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
        subscription.socket.send(Message::text(subscribe.to_string())).await.expect("send subscribe");
        subscription
    }

    /// As [`Subscription::open`] on `server`, then waits (a minute at most) until the server
    /// holds the subscription: the feed has no replay, so an event published before that
    /// would not reach it. `key` reads `/metrics` when authentication is on.
    pub async fn open_held(
        server: &Server,
        key: Option<&str>,
        query: &str,
        variables: Value,
        init: Value,
    ) -> Self {
        const OPEN: &str = "kindred_graphql_subscriptions_open";
        let before = total(&scrape(server, key).await, OPEN, &[]);
        let subscription = Self::open(server.base(), query, variables, init).await;
        let started = std::time::Instant::now();
        while total(&scrape(server, key).await, OPEN, &[]) <= before {
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not hold the subscription");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        subscription
    }

    /// Whether the server refuses a connection whose `connection_init` payload is `init`:
    /// it closes the socket (or answers an error) instead of acknowledging.
    pub async fn refused(base: &str, init: Value) -> bool {
        let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("WebSocket request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connect WebSocket");
        let init = json!({ "type": "connection_init", "payload": init });
        socket.send(Message::text(init.to_string())).await.expect("send connection_init");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let message: Value = serde_json::from_str(&text).expect("JSON message");
                    if message["type"] == "connection_ack" {
                        return false;
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => panic!("the server neither acknowledged nor refused the connection"),
            }
        }
    }

    /// The next protocol message within `limit` (pings are answered and skipped).
    async fn message(&mut self, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await.ok()??;
            match next.expect("WebSocket message") {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(&text).expect("JSON message");
                    if message["type"] == "ping" {
                        let pong = json!({ "type": "pong" }).to_string();
                        self.socket.send(Message::text(pong)).await.expect("pong");
                        continue;
                    }
                    return Some(message);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The `data` of the next event within `limit`, or `None` if none came. An error message
    /// from the server fails the test.
    pub async fn next(&mut self, limit: Duration) -> Option<Value> {
        let message = self.message(limit).await?;
        assert_eq!(message["type"], "next", "expected an event: {message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        Some(message["payload"]["data"].clone())
    }

    /// The next protocol message within `limit`, whatever its type.
    pub async fn raw(&mut self, limit: Duration) -> Option<Value> {
        self.message(limit).await
    }
}
