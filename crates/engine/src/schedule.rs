//! The scheduler: refits segmentations whose refresh interval has passed, and dynamic ones
//! not refitted for a day, so rules relative to now (ages, "the last 365 days") stay true
//! without any write. Of the servers sharing one database, one leads the schedule: it holds
//! the `schedule` lease, renewed every tick; when it dies, another takes the lead once the
//! lease has expired.

use crate::refit;
use crate::state::Inner;
use chrono::Utc;
use kindred_store::{SegmentationMode, SegmentationStatus};
use std::sync::{Arc, PoisonError};

/// Runs for the life of the process, once per `schedule_tick`.
pub(crate) async fn scheduler(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(inner.settings.schedule_tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        // Instances whose worker died since the last write are found here at the latest.
        crate::repair::degrade_gone(&inner).await;
        if !lead(&inner).await {
            continue;
        }
        if let Err(error) = run_due(&inner).await {
            tracing::warn!(%error, "the refit scheduler could not read segmentations");
        }
        crate::feed::purge_merge_exits(&inner).await;
    }
}

/// The name of the schedule's lease.
pub(crate) const LEAD: &str = "schedule";

/// Takes or renews the schedule's lead; whether this server leads now. The lease lasts three
/// ticks (at least the job lease), so a leader that misses one keeps the lead.
async fn lead(inner: &Inner) -> bool {
    let now = Utc::now();
    let length = (inner.settings.schedule_tick * 3).max(inner.settings.lease);
    let until = now + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::minutes(1));
    let lease = kindred_store::Lease { holder: inner.settings.server_id.clone(), until };
    match inner.store.hold_lease(LEAD, now, &lease).await {
        Ok(leads) => leads,
        Err(error) => {
            tracing::warn!(%error, "cannot take or renew the schedule's lead");
            false
        }
    }
}

/// Starts the refits that are due.
async fn run_due(inner: &Arc<Inner>) -> Result<(), kindred_store::StoreError> {
    let now = Utc::now();
    let daily = chrono::Duration::from_std(inner.settings.daily_refit).unwrap_or(chrono::Duration::days(1));
    for segmentation in inner.store.segmentations().await? {
        if segmentation.status == SegmentationStatus::Running
            || inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&segmentation.id)
        {
            continue;
        }
        let Some(last) = segmentation.last_refreshed_at else { continue };
        let interval = segmentation.refresh_interval_seconds.map(chrono::Duration::seconds);
        let dynamic = segmentation.mode == SegmentationMode::Dynamic;
        let due = interval.is_some_and(|every| now - last >= every) || (dynamic && now - last >= daily);
        if due {
            let id = segmentation.id;
            match refit::start(inner, segmentation, kindred_store::JobReason::Schedule).await {
                Ok(_) => {}
                // Started meanwhile by a request, here or on another server.
                Err(crate::EngineError::Conflict(why)) => {
                    tracing::debug!(segmentation = id, %why, "scheduled refit not needed")
                }
                Err(error) => tracing::warn!(segmentation = id, %error, "could not start a scheduled refit"),
            }
        }
    }
    Ok(())
}
