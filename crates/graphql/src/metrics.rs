//! What the API reports to `/metrics`: heavy operations running and subscriptions open.

use metrics::{describe_gauge, gauge};

/// Heavy operations running now (previews, overlaps, personas, exports).
pub const HEAVY_RUNNING: &str = "kindred_heavy_operations_running";
/// GraphQL subscriptions open now.
pub const SUBSCRIPTIONS_OPEN: &str = "kindred_graphql_subscriptions_open";

/// Describes the API's metrics to the recorder.
pub fn describe() {
    describe_gauge!(HEAVY_RUNNING, "Heavy operations (previews, overlaps, personas, exports) running now.");
    describe_gauge!(SUBSCRIPTIONS_OPEN, "GraphQL subscriptions open now, by field.");
}

/// Counts one in `gauge` (with its labels) while alive.
#[derive(Debug)]
pub(crate) struct Counted {
    name: &'static str,
    labels: Vec<(&'static str, &'static str)>,
}

impl Counted {
    /// One more in `name` with `labels`, until dropped.
    pub(crate) fn new(name: &'static str, labels: Vec<(&'static str, &'static str)>) -> Self {
        gauge!(name, &labels).increment(1.0);
        Self { name, labels }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        gauge!(self.name, &self.labels).decrement(1.0);
    }
}
