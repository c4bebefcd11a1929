//! `Need`: what a customer is trying to get done or cares about.

use async_graphql::{ID, Object};
use kindred_store::entity::need;

/// What a customer is trying to get done or cares about.
pub(crate) struct Need(pub need::Model);

#[Object]
impl Need {
    /// Kindred's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What the need is about, e.g. `trail_running`.
    async fn tag(&self) -> &str {
        &self.0.tag
    }
    /// interest, passion, need or job.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// declared or inferred.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// Strength, 0..1.
    async fn weight(&self) -> f64 {
        self.0.weight
    }
}
