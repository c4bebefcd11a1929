//! Resolve jobs: the probabilistic identity pass over every customer, run in the background
//! as a job whose stage and progress are recorded on its row (twice a second at most), and
//! whose merges re-assign the survivors live once it ends. One runs at a time, across
//! servers; its lease is renewed while it runs, and a job whose server died is marked failed
//! by another once the lease has expired (the groups merged before stay merged).

use crate::error::EngineResult;
use crate::state::Inner;
use kindred_store::JobStatus;
use kindred_store::entity::resolve_job;
use kindred_store::identity::{MatchSettings, ResolveProgress};
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How often a running job's progress is written.
const RECORD_EVERY: Duration = Duration::from_millis(500);

/// Where a run is: stage, done, total.
type Position = Arc<Mutex<(&'static str, u64, u64)>>;

/// Starts a resolve job as `by`, holding `permit` (the caller's share of heavy work) until it
/// ends. Refused (conflict) while another runs.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    settings: MatchSettings,
    dry_run: bool,
    by: String,
    permit: Box<dyn Any + Send>,
) -> EngineResult<resolve_job::Model> {
    let row = inner.store.start_resolve_job(dry_run, Some(&by), &inner.settings.lease_from_now()).await?;
    tokio::spawn(run(inner.clone(), row.id, settings, dry_run, by, permit));
    Ok(row)
}

async fn run(
    inner: Arc<Inner>,
    id: i64,
    settings: MatchSettings,
    dry_run: bool,
    by: String,
    permit: Box<dyn Any + Send>,
) {
    let position: Position = Arc::new(Mutex::new(("starting", 0, 0)));
    let finished = Arc::new(AtomicBool::new(false));
    tokio::spawn(record_progress(inner.clone(), id, position.clone(), finished.clone()));
    let told = position.clone();
    let progress: ResolveProgress = Arc::new(move |stage, done, total| {
        *told.lock().unwrap_or_else(PoisonError::into_inner) = (stage, done, total);
    });
    let outcome = inner.store.resolve_identities_tracked(settings, dry_run, &by, progress).await;
    finished.store(true, Ordering::SeqCst);
    let (status, result, error) = match &outcome {
        Ok(report) => (JobStatus::Succeeded, Some(report.summary().to_string()), None),
        Err(error) => (JobStatus::Failed, None, Some(error.to_string())),
    };
    if let Ok(report) = &outcome {
        // The merges queued their survivors in the store.
        if !report.merges.is_empty() {
            inner.wake.wake();
        }
        tracing::info!(
            job = id,
            dry_run,
            customers = report.customers,
            merged = report.merged,
            suggested = report.suggested,
            "identity: resolve job finished"
        );
    }
    if let Err(error) = inner.store.finish_resolve_job(id, status, result, error).await {
        tracing::error!(%error, job = id, "could not record the end of a resolve job");
    }
    drop(permit);
}

/// Writes the job's position whenever it moved, until the run is finished.
async fn record_progress(inner: Arc<Inner>, id: i64, position: Position, finished: Arc<AtomicBool>) {
    let mut written = ("", u64::MAX, u64::MAX);
    let mut tick = tokio::time::interval(RECORD_EVERY);
    let renew_every = (inner.settings.lease / 3).max(RECORD_EVERY);
    let mut renewed = std::time::Instant::now();
    while !finished.load(Ordering::SeqCst) {
        tick.tick().await;
        if renewed.elapsed() >= renew_every {
            renewed = std::time::Instant::now();
            // A pass cannot be stopped half way; a lost lease only lets another server fail
            // the job's row, which this run's end then leaves as it is.
            let lease = inner.settings.lease_from_now();
            if let Err(error) =
                inner.store.renew_job_lease(kindred_store::LeasedJobs::Resolve, id, &lease).await
            {
                tracing::warn!(%error, job = id, "could not renew a resolve job's lease");
            }
        }
        let now = *position.lock().unwrap_or_else(PoisonError::into_inner);
        if now != written && !finished.load(Ordering::SeqCst) {
            if let Err(error) = inner.store.resolve_job_progress(id, now.0, now.1, now.2).await {
                tracing::warn!(%error, job = id, "could not record a resolve job's progress");
            }
            written = now;
        }
    }
}
