//! Waking the write worker. The queue itself is durable, in the store (`customer_changes`):
//! a write appends the customers it touched in its own transaction, then wakes the worker so
//! it reads them at once instead of at its next poll. Each wake carries when it happened, so
//! the worker can measure the lag from a write to its events.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::Notify;

/// Tells the write worker that the queue has grown.
#[derive(Debug, Default)]
pub(crate) struct Wake {
    notify: Notify,
    /// When each write not yet handled woke the worker.
    since: Mutex<Vec<Instant>>,
}

/// At most this many write times are kept for the lag metric between two rounds.
const KEPT_TIMES: usize = 100_000;

impl Wake {
    /// A write was committed: wake the worker.
    pub fn wake(&self) {
        {
            let mut since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
            if since.len() < KEPT_TIMES {
                since.push(Instant::now());
            }
        }
        self.notify.notify_one();
    }

    /// Waits for a wake (one that came while nobody waited counts).
    pub async fn woken(&self) {
        self.notify.notified().await;
    }

    /// The times of the writes that woke the worker since the last call.
    pub fn take_times(&self) -> Vec<Instant> {
        std::mem::take(&mut *self.since.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_before_the_wait_is_not_lost() {
        let wake = Wake::default();
        wake.wake();
        tokio::time::timeout(std::time::Duration::from_secs(5), wake.woken()).await.unwrap();
        assert_eq!(wake.take_times().len(), 1);
        assert!(wake.take_times().is_empty());
    }
}
