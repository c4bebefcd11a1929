//! What a merge log entry keeps so that an unmerge can restore both customers exactly.

use crate::entity::{customer, interaction, need, tie};
use crate::error::{StoreError, StoreResult};
use serde::{Deserialize, Serialize};

/// A membership of the absorbed customer in a static segmentation (dynamic ones are
/// re-assigned by their strategy after an unmerge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StaticMembership {
    /// The segmentation.
    pub segmentation_id: i64,
    /// The segment.
    pub segment: String,
}

/// Both customers as they were, and what the merge removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MergeSnapshot {
    /// The survivor's row before the merge.
    pub survivor_before: customer::Model,
    /// The survivor's row as the merge wrote it: a field still equal to it at unmerge time
    /// was not written since, and returns to its value before.
    pub survivor_after: customer::Model,
    /// The absorbed customer's row.
    pub absorbed: customer::Model,
    /// The rows of `customer_identifiers` the absorbed customer held.
    pub absorbed_identifiers: Vec<i64>,
    /// The external ids rows of the absorbed customer arrive under.
    pub routing: Vec<String>,
    /// Ties removed: the one between the two, and those the survivor already had.
    pub removed_ties: Vec<tie::Model>,
    /// Needs removed: tags the survivor already had.
    pub removed_needs: Vec<need::Model>,
    /// Interactions removed: the same interaction the survivor had (no source id; same time,
    /// kind and amount).
    #[serde(default)]
    pub removed_interactions: Vec<interaction::Model>,
    /// Memberships in static segmentations, restored by an unmerge.
    pub static_memberships: Vec<StaticMembership>,
    /// The absorbed customer's membership history (rows of `membership_events`), moved to the
    /// survivor and given back by an unmerge.
    #[serde(default)]
    pub moved_history: Vec<i64>,
    /// Rows of `alias_writes` the absorbed customer kept for its own unmerges, carried to the
    /// survivor: given back as they are (the absorbed row holds their effect already).
    #[serde(default)]
    pub carried_writes: Vec<i64>,
}

impl MergeSnapshot {
    /// As the merge log stores it.
    pub fn to_json(&self) -> StoreResult<serde_json::Value> {
        serde_json::to_value(self).map_err(|error| StoreError::ReadTask(format!("merge snapshot: {error}")))
    }

    /// Read back from the merge log.
    pub fn from_json(json: serde_json::Value) -> StoreResult<Self> {
        serde_json::from_value(json).map_err(|error| StoreError::ReadTask(format!("merge snapshot: {error}")))
    }
}
