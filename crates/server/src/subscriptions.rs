//! GraphQL subscriptions over WebSocket (graphql-transport-ws, and the older graphql-ws).
//!
//! Written as a handler rather than `GraphQLSubscription` so that open connections end when
//! the server shuts down: a WebSocket never finishes by itself, and graceful shutdown waits for
//! every connection.

use crate::http::AppState;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::watch;

/// Tells open subscriptions that the server is stopping.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and the handle that raises it.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (sender, receiver) = watch::channel(false);
        (sender, Self(receiver))
    }

    /// Resolves once the server is stopping (or the sender is gone).
    async fn stopping(mut self) {
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// Upgrades to a WebSocket and serves subscriptions on it until the client leaves or the
/// server stops.
pub async fn subscribe(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    let shutdown = state.shutdown.clone();
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        let connection = GraphQLWebSocket::new(socket, schema, protocol).serve();
        tokio::select! {
            () = connection => {}
            () = shutdown.stopping() => tracing::debug!("subscription connection closed by shutdown"),
        }
    })
}
