//! Jobs whose server died: every server looks, twice per lease, for running jobs whose lease
//! has expired. Refits and previews are taken over and run again here from the start (a refit
//! that died wrote nothing: it writes only when it commits); an identity pass, which commits
//! merges as it goes and cannot be resumed half way, is marked failed.

use crate::state::Inner;
use kindred_store::{JobOutcome, JobStatus, LeasedJobs};
use std::sync::Arc;
use std::time::Duration;

/// Most jobs of each kind one server takes over per look.
const PER_LOOK: u64 = 4;

/// Looks for abandoned jobs for as long as the engine lives.
pub(crate) async fn watcher(inner: Arc<Inner>) {
    let every = (inner.settings.lease / 2).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        take_over(&inner).await;
    }
}

/// Takes over (or fails) the jobs whose lease expired.
async fn take_over(inner: &Arc<Inner>) {
    let store = &inner.store;
    let now = chrono::Utc::now();
    let lease = inner.settings.lease_from_now();
    match store.take_over_expired_jobs(LeasedJobs::Refit, now, &lease, PER_LOOK).await {
        Ok(jobs) => {
            for job in jobs {
                if let Err(error) = crate::refit::resume(inner, job).await {
                    tracing::error!(job, %error, "could not take over a refit whose server stopped");
                    let outcome = JobOutcome {
                        status: JobStatus::Failed,
                        counts: (0, 0, 0),
                        excluded: 0,
                        error: Some(format!("its server stopped, and taking it over failed: {error}")),
                    };
                    let _ = store.finish_job(job, &inner.settings.server_id, &outcome).await;
                }
            }
        }
        Err(error) => tracing::warn!(%error, "cannot look for refits whose server stopped"),
    }
    match store.take_over_expired_jobs(LeasedJobs::Preview, now, &lease, PER_LOOK).await {
        Ok(previews) => {
            for preview in previews {
                if let Err(error) = crate::preview::resume(inner, preview).await {
                    tracing::error!(preview, %error, "could not take over a preview whose server stopped");
                }
            }
        }
        Err(error) => tracing::warn!(%error, "cannot look for previews whose server stopped"),
    }
    let message = "its server stopped while it ran; the groups merged before stay merged";
    match store.fail_expired_jobs(LeasedJobs::Resolve, now, message).await {
        Ok(failed) if !failed.is_empty() => {
            tracing::warn!(jobs = ?failed, "identity passes whose server stopped were marked failed")
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot look for identity passes whose server stopped"),
    }
}

/// Wakes this server's followers when the database tells of other servers' commits, for as
/// long as the engine lives (PostgreSQL; SQLite has one server and nothing to hear). A lost
/// connection is listened on again; what was missed meanwhile is found by the followers'
/// polls, and they are woken at once after a reconnection.
pub(crate) async fn listener(inner: Arc<Inner>) {
    use kindred_store::{EVENTS_CHANNEL, MODELS_CHANNEL};
    loop {
        let mut listener = match inner.store.listen(&[EVENTS_CHANNEL, MODELS_CHANNEL]).await {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for other servers' commits; polling meanwhile");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        inner.feed_wake.notify_one();
        inner.models_wake.notify_one();
        loop {
            match listener.recv().await {
                Ok(notification) if notification.channel() == MODELS_CHANNEL => {
                    inner.models_wake.notify_one()
                }
                Ok(_) => inner.feed_wake.notify_one(),
                Err(error) => {
                    tracing::warn!(%error, "the connection listening for other servers' commits was lost");
                    break;
                }
            }
        }
    }
}
