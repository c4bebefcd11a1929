//! GraphQL subscriptions over WebSocket (graphql-transport-ws, and the older graphql-ws).
//!
//! Written as a handler rather than `GraphQLSubscription` so that open connections end when
//! the server shuts down: a WebSocket never finishes by itself, and graceful shutdown waits for
//! every connection.

use crate::auth::Gate;
use crate::auth::ring::RECHECK;
use crate::state::AppState;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a new connection has to send `connection_init`.
const INIT_DEADLINE: Duration = Duration::from_secs(10);

/// The key a client sends in its `connection_init` payload: `{"authorization": "Bearer <key>"}`
/// (any case of the name), or `{"apiKey": "<key>"}`.
fn key_in(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    let value = object.iter().find_map(|(name, value)| {
        matches!(name.to_ascii_lowercase().as_str(), "authorization" | "apikey" | "api_key")
            .then(|| value.as_str())
            .flatten()
    })?;
    let value = value.trim();
    let key = match value.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
        _ => value,
    };
    (!key.is_empty() && !key.eq_ignore_ascii_case("bearer")).then(|| key.to_owned())
}

/// Upgrades to a WebSocket and serves subscriptions on it until the client leaves or the
/// server stops. The client's key comes in `connection_init`: a connection without a valid key
/// is closed before any subscription starts (graphql-ws closes it with 1002), one that sends
/// no `connection_init` within [`INIT_DEADLINE`] is closed, and one whose key is revoked is
/// closed within [`RECHECK`].
pub async fn subscribe(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    request_parts: axum::http::request::Parts,
) -> Response {
    let address =
        request_parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    let schema = state.schema.clone();
    let shutdown = state.shutdown.clone();
    let gate = state.gate.clone();
    // The key the connection presented, for the revocation check below.
    let presented: Arc<Mutex<Option<Option<String>>>> = Arc::new(Mutex::new(None));
    let seen = presented.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(state.limits.max_body_bytes)
        .on_upgrade(move |socket| async move {
            let check = gate.clone();
            let connection = GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let key = key_in(&payload);
                    let caller = check
                        .caller_from(key.as_deref(), address)
                        .await
                        .map_err(|refusal| async_graphql::Error::new(refusal.to_string()))?;
                    if let Ok(mut slot) = seen.lock() {
                        *slot = Some(key);
                    }
                    let mut data = async_graphql::Data::default();
                    data.insert(caller);
                    data.insert(kindred_graphql::access::OverWebSocket);
                    Ok(data)
                })
                .serve();
            tokio::select! {
                () = connection => {}
                () = shutdown.stopping() => tracing::debug!("subscription connection closed by shutdown"),
                () = watch_key(gate, presented) => tracing::debug!("subscription connection closed: no valid key"),
            }
        })
}

/// Resolves when the connection must end: it has not presented a key within [`INIT_DEADLINE`],
/// or (with authentication on) its key has been revoked since.
async fn watch_key(gate: Arc<Gate>, presented: Arc<Mutex<Option<Option<String>>>>) {
    tokio::time::sleep(INIT_DEADLINE).await;
    loop {
        let key = match presented.lock() {
            Ok(slot) => slot.clone(),
            Err(_) => return,
        };
        let Some(key) = key else { return };
        if gate.enabled() && gate.caller_for(key.as_deref()).await.is_err() {
            return;
        }
        tokio::time::sleep(RECHECK).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_read_from_the_connection_payload() {
        assert_eq!(key_in(&json!({ "authorization": "Bearer kdr_a_b" })).as_deref(), Some("kdr_a_b"));
        assert_eq!(key_in(&json!({ "Authorization": "kdr_a_b" })).as_deref(), Some("kdr_a_b"));
        assert_eq!(key_in(&json!({ "apiKey": " kdr_a_b " })).as_deref(), Some("kdr_a_b"));
        assert_eq!(key_in(&json!({})), None);
        assert_eq!(key_in(&json!({ "authorization": "Bearer " })), None);
        assert_eq!(key_in(&json!(null)), None);
    }
}
