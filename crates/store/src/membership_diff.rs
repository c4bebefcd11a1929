//! The difference a refit, a write or a hand edit makes to one segmentation's memberships:
//! who enters, who exits, whose score changes. Plain values, shared by the modules that write
//! memberships and those that queue their webhooks.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// A customer in a segment, with the strategy's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The customer.
    pub customer_id: i64,
    /// The segment's label.
    pub segment: String,
    /// The score, if the strategy gives one.
    pub score: Option<f64>,
}

/// What changes in one segmentation's memberships.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MembershipDiff {
    /// Customers who enter a segment.
    pub entered: Vec<Member>,
    /// Customers who leave a segment (with their last score).
    pub exited: Vec<Member>,
    /// Customers who stay in a segment with a new score.
    pub rescored: Vec<Member>,
}

impl MembershipDiff {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.entered.is_empty() && self.exited.is_empty() && self.rescored.is_empty()
    }

    /// Every customer it names, in order, once.
    pub fn customers(&self) -> Vec<i64> {
        let mut ids: Vec<i64> =
            self.entered.iter().chain(&self.exited).chain(&self.rescored).map(|m| m.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Leaves out every entry of these customers (e.g. [`AppliedDiff::gone`], so that what is
    /// published matches what was written).
    pub fn drop_customers(&mut self, customers: &BTreeSet<i64>) {
        if customers.is_empty() {
            return;
        }
        for members in [&mut self.entered, &mut self.exited, &mut self.rescored] {
            members.retain(|member| !customers.contains(&member.customer_id));
        }
    }

    /// A copy without the entries of these customers.
    pub(crate) fn without(&self, customers: &BTreeSet<i64>) -> MembershipDiff {
        let mut kept = self.clone();
        kept.drop_customers(customers);
        kept
    }
}

/// What writing one or more differences came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppliedDiff {
    /// When they were written: the `since` of new members and the time of their events.
    pub at: DateTime<Utc>,
    /// Customers the differences named who no longer existed when they were written (deleted
    /// or erased while a refit or a re-assignment ran). Their entries were left out and the
    /// rest was written; callers drop them too ([`MembershipDiff::drop_customers`]) before
    /// publishing or counting.
    pub gone: BTreeSet<i64>,
}

/// A refit's result to store with its difference: the model, and the time of the refit.
#[derive(Debug, Clone, PartialEq)]
pub struct RefitResult {
    /// What fit learned, as JSON.
    pub model: serde_json::Value,
    /// The fitted instance's state, when its plugin can save it: stored with the difference,
    /// replacing the one before (which is removed when there is none).
    pub state: Option<crate::ModelState>,
    /// The queue position taken before the refit read its population
    /// ([`Store::queue_position`](crate::Store::queue_position)): customers set aside for the
    /// segmentation up to it are covered by the refit and removed with its commit.
    pub covered_change: i64,
    /// The server whose lease the job runs under: the write is refused if the job is no
    /// longer its own (another server took it over after the lease expired). `None` writes
    /// without that check.
    pub runner: Option<String>,
}
