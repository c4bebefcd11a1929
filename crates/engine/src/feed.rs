//! Publishes membership changes to this server's subscribers from the store, whichever
//! server (or import process) wrote them: membership events, and the exits of customers
//! merged into another, read in commit order. Woken by this server's writes, by the
//! database's notifications of other servers' writes (PostgreSQL), and by a poll.

use crate::events::{Change, MembershipChange};
use crate::state::Inner;
use kindred_store::{ChangeReason, FeedPosition};
use std::sync::Arc;
use std::time::Duration;

/// Rows read per query.
const BATCH: u64 = 10_000;
/// The first wait before reading again while rows wait behind a transaction still open; it
/// doubles up to [`BLOCKED_RETRY_MAX`]. Transactions that hold rows back are short (a write,
/// a re-assignment), and nothing tells when they end, so the reader looks again soon.
const BLOCKED_RETRY: Duration = Duration::from_millis(2);
/// The longest wait between two reads while rows wait behind an open transaction.
const BLOCKED_RETRY_MAX: Duration = Duration::from_millis(32);

/// Where the reader stands in each feed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Positions {
    pub events: FeedPosition,
    pub exits: FeedPosition,
}

/// Reads and publishes everything committed after `positions` (merge exits too unless
/// `events_only`); returns the new positions and whether events wait behind a transaction
/// still open (read again soon).
async fn publish_new(inner: &Inner, mut positions: Positions, events_only: bool) -> (Positions, bool) {
    let mut blocked = false;
    loop {
        match inner.store.events_after(positions.events, BATCH).await {
            Ok((events, position, waiting)) => {
                let count = events.len() as u64;
                positions.events = position;
                blocked |= waiting;
                for event in events {
                    let change = if event.change == "entered" { Change::Entered } else { Change::Exited };
                    send(
                        inner,
                        MembershipChange {
                            segmentation_id: event.segmentation_id,
                            customer_id: event.customer_id,
                            segment: event.segment,
                            change,
                            score: event.score,
                            reason: event.reason,
                            at: event.at,
                        },
                    );
                }
                if count < BATCH {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read membership events to publish");
                break;
            }
        }
    }
    // Merges are rare: their exits are read when woken and at each poll, not while events
    // wait behind an open transaction.
    if events_only {
        return (positions, blocked);
    }
    loop {
        match inner.store.merge_exits_after(positions.exits, BATCH).await {
            Ok((exits, position, _)) => {
                let count = exits.len() as u64;
                positions.exits = position;
                for (segmentation_id, member, at) in exits {
                    send(
                        inner,
                        MembershipChange {
                            segmentation_id,
                            customer_id: member.customer_id,
                            segment: member.segment,
                            change: Change::Exited,
                            score: member.score,
                            reason: ChangeReason::Write,
                            at,
                        },
                    );
                }
                if count < BATCH {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the exits of merged customers");
                break;
            }
        }
    }
    (positions, blocked)
}

fn send(inner: &Inner, change: MembershipChange) {
    // No listener is not an error: everything is stored too.
    if inner.changes.receiver_count() > 0 {
        let _ = inner.changes.send(change);
    }
}

/// Publishes for as long as the engine lives, from `positions` (the feeds' ends when the
/// engine started).
pub(crate) async fn follower(inner: Arc<Inner>, mut positions: Positions) {
    let mut retry = BLOCKED_RETRY;
    let mut events_only = false;
    loop {
        let blocked;
        (positions, blocked) = publish_new(&inner, positions, events_only).await;
        let wait = if blocked {
            let wait = retry;
            retry = (retry * 2).min(BLOCKED_RETRY_MAX).min(inner.settings.change_poll);
            wait
        } else {
            retry = BLOCKED_RETRY;
            inner.settings.change_poll
        };
        events_only = tokio::select! {
            () = inner.feed_wake.notified() => false,
            () = tokio::time::sleep(wait) => blocked,
        };
    }
}

/// Deletes merge exits every server has read, for as long as the engine lives (run by the
/// schedule's leader).
pub(crate) async fn purge_merge_exits(inner: &Inner) {
    // Far longer than any server takes to read them.
    const KEPT_SECONDS: i64 = 60 * 60;
    match inner.store.purge_merge_exits(KEPT_SECONDS).await {
        Ok(0) => {}
        Ok(purged) => tracing::debug!(purged, "merge exits read by every server purged"),
        Err(error) => tracing::warn!(%error, "could not purge merge exits"),
    }
}
