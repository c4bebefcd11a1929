//! Group commit: single writes that arrive while one is being written wait and are then
//! written together, in one transaction.
//!
//! On SQLite one writer holds the database at a time, and a write transaction of a few
//! statements costs a thread hand-off per statement, so writes one by one top out at a few
//! hundred per second. Written as a group, N writes cost about what one does. Under light
//! load every group holds one write and nothing waits.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// A queue of writes of one kind, each of type `T` answered with an `R`.
pub(crate) struct GroupCommit<T, R> {
    pending: Mutex<Vec<(T, oneshot::Sender<R>)>>,
    /// Held while a group is written; whoever takes it next writes everything queued.
    writing: Arc<tokio::sync::Mutex<()>>,
}

impl<T, R> std::fmt::Debug for GroupCommit<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.pending.lock().map_or(0, |pending| pending.len());
        f.debug_struct("GroupCommit").field("queued", &queued).finish()
    }
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        Self { pending: Mutex::new(Vec::new()), writing: Arc::default() }
    }
}

/// Why a queued write got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interrupted;

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    /// Queues `item` and returns its answer. If no group is being written, this caller
    /// writes everything queued, its own item included, with `write`, which must answer each
    /// item in order. The group is written on a task of its own, so a caller that goes away
    /// does not cut short the writes of the others.
    pub(crate) async fn submit<F, Fut>(&self, item: T, write: F) -> Result<R, Interrupted>
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (answer, mut answered) = oneshot::channel();
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).push((item, answer));
        let writing = self.writing.clone().lock_owned().await;
        match answered.try_recv() {
            Ok(result) => return Ok(result),
            Err(oneshot::error::TryRecvError::Closed) => return Err(Interrupted),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let group = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let (items, answers): (Vec<T>, Vec<oneshot::Sender<R>>) = group.into_iter().unzip();
        let written = write(items);
        tokio::spawn(async move {
            let results = written.await;
            for (answer, result) in answers.into_iter().zip(results) {
                // A caller that went away no longer needs its answer.
                let _ = answer.send(result);
            }
            drop(writing);
        });
        answered.await.map_err(|_| Interrupted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn writes_that_arrive_together_are_written_as_one_group() {
        let queue: Arc<GroupCommit<u32, u32>> = Arc::default();
        let groups = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let (queue, groups) = (queue.clone(), groups.clone());
                tokio::spawn(async move {
                    queue
                        .submit(n, move |items| async move {
                            groups.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            items.into_iter().map(|n| n * 2).collect()
                        })
                        .await
                })
            })
            .collect();
        for (n, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), Ok(n as u32 * 2));
        }
        let groups = groups.load(Ordering::SeqCst);
        assert!(groups < 50, "{groups} groups for 50 writes");
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_does_not_lose_the_others_writes() {
        let queue: Arc<GroupCommit<u32, u32>> = Arc::default();
        let slow = |items: Vec<u32>| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            items
        };
        // The first caller leads a group and is dropped while it is being written.
        let leader = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit(1, slow).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let follower = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit(2, slow).await }
        });
        leader.abort();
        assert_eq!(follower.await.unwrap(), Ok(2));
    }
}
