//! What refit and preview jobs share: how far a job has come (atomics that queries read),
//! whether it was asked to stop, publishing both on `jobProgress`, and writing progress to the
//! job's row every second.

use crate::events::{JobKind, JobProgress};
use crate::state::Inner;
use kindred_plugin_host::RunObserver;
use kindred_store::{JobStatus, LeasedJobs, Renewal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// One job's progress and cancel flag, seen by its run as a [`RunObserver`].
pub(crate) struct JobTracker {
    pub inner: Arc<Inner>,
    pub job_id: i64,
    pub kind: JobKind,
    pub cancel: Arc<AtomicBool>,
    pub done: Arc<AtomicU64>,
    pub total: Arc<AtomicU64>,
}

impl JobTracker {
    /// Customers done and in all.
    pub fn counts(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed))
    }

    /// Publishes where the job stands.
    pub fn publish(&self, status: JobStatus) {
        let (done, total) = self.counts();
        let _ = self.inner.progress.send(JobProgress {
            job_id: self.job_id,
            kind: self.kind.clone(),
            done,
            total,
            status,
        });
    }

    /// Writes the counts to the job's row (a refit job's or a preview's).
    pub async fn record(&self) -> kindred_store::StoreResult<()> {
        let (done, total) = self.counts();
        let store = &self.inner.store;
        match self.kind {
            JobKind::Refit { .. } => store.job_progress(self.job_id, done as i64, total as i64).await,
            JobKind::Preview { .. } => store.preview_progress(self.job_id, done as i64, total as i64).await,
        }
    }
}

impl RunObserver for JobTracker {
    fn progress(&self, done: usize, total: usize) {
        self.done.store(done as u64, Ordering::Relaxed);
        self.total.store(total as u64, Ordering::Relaxed);
        self.publish(JobStatus::Running);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Writes the job's progress to its row every second, when it changed, and renews the job's
/// lease every third of it, until `finished`. A lease that cannot be renewed (another server
/// took the job over, or it was cancelled from elsewhere) stops the job here.
pub(crate) async fn record_progress(tracker: Arc<JobTracker>, finished: Arc<AtomicBool>) {
    let mut last = (u64::MAX, u64::MAX);
    let renew_every = (tracker.inner.settings.lease / 3).max(Duration::from_millis(100));
    let mut renewed = std::time::Instant::now();
    while !finished.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(1).min(renew_every)).await;
        let now = tracker.counts();
        if now != last && !finished.load(Ordering::SeqCst) {
            last = now;
            if let Err(error) = tracker.record().await {
                tracing::warn!(%error, job = tracker.job_id, "could not record job progress");
            }
        }
        if renewed.elapsed() >= renew_every && !finished.load(Ordering::SeqCst) {
            renewed = std::time::Instant::now();
            let jobs = match tracker.kind {
                JobKind::Refit { .. } => LeasedJobs::Refit,
                JobKind::Preview { .. } => LeasedJobs::Preview,
            };
            let lease = tracker.inner.settings.lease_from_now();
            match tracker.inner.store.renew_job_lease(jobs, tracker.job_id, &lease).await {
                Ok(Renewal::Held) => {}
                Ok(Renewal::CancelRequested) => {
                    tracing::info!(job = tracker.job_id, "cancel asked on another server: stopping the job");
                    tracker.cancel.store(true, Ordering::SeqCst);
                }
                Ok(Renewal::Lost) => {
                    tracing::warn!(
                        job = tracker.job_id,
                        "the job is no longer this server's (taken over, or ended elsewhere): stopping it"
                    );
                    tracker.cancel.store(true, Ordering::SeqCst);
                }
                // Kept trying: the lease outlives a few failed renewals.
                Err(error) => tracing::warn!(%error, job = tracker.job_id, "could not renew a job's lease"),
            }
        }
    }
}
