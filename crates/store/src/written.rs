//! What writes report: rows inserted, updated and left as they were, and what recording one
//! interaction gives. Plain values, below the connection that carries recordings.

use crate::entity::interaction;
use crate::error::StoreResult;

/// What a batch write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Rows that did not exist before.
    pub inserted: u64,
    /// Rows that existed and were changed.
    pub updated: u64,
    /// Rows that existed already exactly as given.
    pub unchanged: u64,
}

impl std::ops::AddAssign for WriteCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// What recording one interaction gives: the stored row and whether it was new.
pub(crate) type Recorded = StoreResult<(interaction::Model, WriteCounts)>;
