//! Publishes the segments customers left by being merged into another, whichever process
//! merged them (an import runs apart from the server). The customers merges and imports
//! touched reach the write worker through the store's queue.

use crate::state::Inner;
use std::sync::Arc;

/// Changes read per poll.
const BATCH: u64 = 10_000;

/// Publishes the segments customers left by being merged into another (written by whichever
/// process merged them), grouped by segmentation.
async fn publish_merge_exits(inner: &Inner) {
    loop {
        let exits = match inner.store.take_merge_exits(BATCH).await {
            Ok(exits) => exits,
            Err(error) => {
                tracing::warn!(%error, "cannot read the exits of merged customers");
                return;
            }
        };
        let count = exits.len() as u64;
        let mut by_segmentation: std::collections::BTreeMap<
            i64,
            (kindred_store::MembershipDiff, chrono::DateTime<chrono::Utc>),
        > = std::collections::BTreeMap::new();
        for (segmentation, member, at) in exits {
            let entry = by_segmentation.entry(segmentation).or_insert_with(|| (Default::default(), at));
            entry.0.exited.push(member);
        }
        for (segmentation, (diff, at)) in by_segmentation {
            inner.publish(segmentation, &diff, kindred_store::ChangeReason::Write, at);
        }
        if count < BATCH {
            return;
        }
    }
}

/// Publishes merge exits for as long as the engine lives, every poll.
pub(crate) async fn follower(inner: Arc<Inner>) {
    loop {
        publish_merge_exits(&inner).await;
        tokio::time::sleep(inner.settings.change_poll).await;
    }
}
