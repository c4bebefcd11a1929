//! Follows the change feed that imports (run as separate processes) write, and hands the
//! customers they touched to the write worker, as the API's own writes do.

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

/// Polls the feed for as long as the engine lives.
pub(crate) async fn follower(inner: Arc<Inner>) {
    // What was written before the start is covered by the refits on start.
    let mut cursor = match inner.store.last_change().await {
        Ok(last) => last,
        Err(error) => {
            tracing::warn!(%error, "cannot read the change feed");
            0
        }
    };
    if let Err(error) = inner.store.forget_changes(cursor).await {
        tracing::warn!(%error, "cannot trim the change feed");
    }
    loop {
        publish_merge_exits(&inner).await;
        match inner.store.changes_after(cursor, BATCH).await {
            Ok((last, customers)) if last > cursor => {
                if !customers.is_empty() {
                    tracing::debug!(customers = customers.len(), "imported customers to re-assign");
                    crate::metrics::feed_customers(customers.len());
                    if !inner.touched.send(customers) {
                        return;
                    }
                }
                cursor = last;
                if let Err(error) = inner.store.forget_changes(cursor).await {
                    tracing::warn!(%error, "cannot trim the change feed");
                }
                // More may be waiting: read on at once.
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot read the change feed"),
        }
        tokio::time::sleep(inner.settings.change_poll).await;
    }
}
