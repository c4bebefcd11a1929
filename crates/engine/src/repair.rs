//! Degraded segmentations and their repair. When re-assigning customers after writes fails
//! (the strategy errs, panics, or its worker dies), the segmentation's memberships may be stale:
//! it becomes DEGRADED with the error and since when, its instance stops being used, and a
//! refit that replaces the instance is started after a backoff that doubles with each failed
//! attempt. The refit that succeeds makes it READY again.

use crate::events::{JobKind, JobProgress};
use crate::refit;
use crate::state::Inner;
use kindred_store::{JobReason, JobStatus, SegmentationStatus};
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::sync::broadcast;

/// The wait before repair attempt `attempt` (0 first): `first`, doubled each time, at most
/// `max`.
pub(crate) fn backoff(first: Duration, max: Duration, attempt: u32) -> Duration {
    first.saturating_mul(2_u32.saturating_pow(attempt.min(31))).min(max)
}

/// Segmentation `id` failed to re-assign customers with `error`: marks it degraded, stops
/// using its instance, and schedules its repair unless one is scheduled already.
pub(crate) async fn degrade(inner: &Arc<Inner>, id: i64, error: &str) {
    inner.set_live(id, None);
    match inner.store.mark_degraded(id, error).await {
        Ok(true) => {
            crate::metrics::degraded(id);
            tracing::warn!(segmentation = id, %error, "segmentation degraded: re-assignment failed; a refit will repair it");
        }
        Ok(false) => {}
        Err(store_error) => {
            tracing::error!(segmentation = id, %store_error, %error, "cannot record that a segmentation is degraded");
        }
    }
    schedule(inner, id, 0);
}

/// Degrades every dynamic segmentation whose fitted instance is gone (it lived in a plugin
/// worker process that has died since), so each is refitted.
pub(crate) async fn degrade_gone(inner: &Arc<Inner>) {
    let gone: Vec<i64> = {
        let live = inner.live.read().unwrap_or_else(PoisonError::into_inner);
        live.iter().filter(|(_, instance)| instance.is_gone()).map(|(id, _)| *id).collect()
    };
    for id in gone {
        degrade(inner, id, "its plugin's worker process died, and its fitted instance with it").await;
    }
}

/// Schedules repair attempt `attempt` of segmentation `id`, unless one is pending.
pub(crate) fn schedule(inner: &Arc<Inner>, id: i64, attempt: u32) {
    {
        let mut repairs = inner.repairs.lock().unwrap_or_else(PoisonError::into_inner);
        match repairs.get(&id) {
            // A later attempt replaces the finished one; anything else is already pending.
            Some(pending) if *pending >= attempt => return,
            _ => repairs.insert(id, attempt),
        };
    }
    let settings = &inner.settings;
    let wait = backoff(settings.repair_backoff, settings.repair_backoff_max, attempt);
    let inner = inner.clone();
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        attempt_repair(&inner, id, attempt).await;
    });
}

/// Starts the repair refit of segmentation `id` if it is still degraded and nothing else is
/// refitting it, waits for it to end, and schedules the next attempt if it is still degraded.
async fn attempt_repair(inner: &Arc<Inner>, id: i64, attempt: u32) {
    let forget = || {
        inner.repairs.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    };
    let again = || {
        forget();
        schedule(inner, id, attempt.saturating_add(1));
    };
    let segmentation = match inner.store.segmentation(id).await {
        Ok(Some(segmentation)) if segmentation.status == SegmentationStatus::Degraded => segmentation,
        // Deleted, or repaired or failed by another refit meanwhile.
        Ok(_) => return forget(),
        Err(error) => {
            tracing::warn!(segmentation = id, %error, "cannot read a degraded segmentation to repair it");
            return again();
        }
    };
    let mut progress = inner.progress.subscribe();
    let job_id = match refit::start(inner, segmentation, JobReason::Repair).await {
        Ok(job_id) => job_id,
        Err(error) => {
            tracing::warn!(segmentation = id, %error, "cannot start the refit that repairs a degraded segmentation");
            return again();
        }
    };
    wait_for_end(inner, &mut progress, id, job_id).await;
    match inner.store.segmentation(id).await {
        Ok(Some(segmentation)) if segmentation.status == SegmentationStatus::Degraded => again(),
        Ok(_) => forget(),
        Err(error) => {
            tracing::warn!(segmentation = id, %error, "cannot read whether a repair worked");
            again();
        }
    }
}

/// Waits until refit job `job_id` of segmentation `id` has ended: its last progress event, or
/// (if that was missed) its leaving the running jobs.
async fn wait_for_end(inner: &Inner, progress: &mut broadcast::Receiver<JobProgress>, id: i64, job_id: i64) {
    loop {
        match tokio::time::timeout(Duration::from_secs(1), progress.recv()).await {
            Ok(Ok(event))
                if event.job_id == job_id
                    && matches!(event.kind, JobKind::Refit { .. })
                    && event.status != JobStatus::Running =>
            {
                return;
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
            _ => {}
        }
        let jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.get(&id).is_none_or(|job| job.job_id != job_id) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn the_backoff_doubles_up_to_its_ceiling() {
        let (first, max) = (Duration::from_secs(5), Duration::from_secs(60));
        let waits: Vec<u64> = (0..6).map(|attempt| backoff(first, max, attempt).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        assert_eq!(backoff(first, max, u32::MAX), max);
    }
}
