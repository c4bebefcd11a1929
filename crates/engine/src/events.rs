//! What the engine publishes: membership changes and job progress, on broadcast channels
//! that subscriptions (and webhooks) listen to. A slow listener misses events rather than
//! slowing the engine; everything is also stored.

use chrono::{DateTime, Utc};
use kindred_store::{ChangeReason, JobStatus, MembershipDiff};

/// Entered or exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The customer entered the segment.
    Entered,
    /// The customer left the segment.
    Exited,
}

/// One customer entering or leaving one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipChange {
    /// The segmentation.
    pub segmentation_id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The segment's label.
    pub segment: String,
    /// Entered or exited.
    pub change: Change,
    /// The score, when the strategy gives one (the last one, for an exit).
    pub score: Option<f64>,
    /// Why.
    pub reason: ChangeReason,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// What a job works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// A refit of this segmentation.
    Refit {
        /// The segmentation.
        segmentation_id: i64,
    },
    /// A preview, started by this API key (none without authentication).
    Preview {
        /// The key's name.
        owner: Option<String>,
    },
}

/// How far a refit or preview job has come.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// The job (a refit job's id, or a preview's: `kind` tells which).
    pub job_id: i64,
    /// What it works on.
    pub kind: JobKind,
    /// Customers assigned so far.
    pub done: u64,
    /// Customers in all (0 until the population is read).
    pub total: u64,
    /// Where it stands.
    pub status: JobStatus,
}

/// The changes a diff makes, as events.
pub fn changes_of(
    segmentation_id: i64,
    diff: &MembershipDiff,
    reason: ChangeReason,
    at: DateTime<Utc>,
) -> Vec<MembershipChange> {
    let event = |member: &kindred_store::Member, change| MembershipChange {
        segmentation_id,
        customer_id: member.customer_id,
        segment: member.segment.clone(),
        change,
        score: member.score,
        reason,
        at,
    };
    diff.entered
        .iter()
        .map(|member| event(member, Change::Entered))
        .chain(diff.exited.iter().map(|member| event(member, Change::Exited)))
        .collect()
}
