//! What every HTTP handler shares, and the signal that the server is stopping.

use kindred_graphql::KindredSchema;
use kindred_graphql::heavy::HeavyWork;
use kindred_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use crate::auth::Gate;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The GraphQL schema.
    pub schema: KindredSchema,
    /// Raised when the server stops, to end open subscriptions.
    pub shutdown: Shutdown,
    /// Who may call, and how often.
    pub gate: Arc<Gate>,
    /// Request limits (the largest WebSocket message is the largest body).
    pub limits: Limits,
    /// Permits for heavy work (GraphQL's heavy fields and CSV exports share them).
    pub heavy: Arc<HeavyWork>,
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub timeout: Duration,
}

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
    pub(crate) async fn stopping(mut self) {
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}
