//! A refit job: stream the population through fit and assign, then write only the
//! difference, in one transaction, with the model. A failed or cancelled job writes nothing,
//! so the previous memberships stay whole.

use crate::diff::diff;
use crate::error::{EngineError, EngineResult};
use crate::events::JobKind;
use crate::state::{Inner, RunningJob};
use crate::tracker::{JobTracker, record_progress};
use kindred_plugin_host::{PluginError, RunObserver, Scope, run_observed};
use kindred_store::entity::segmentation;
use kindred_store::{
    ChangeReason, JobOutcome, JobReason, JobStatus, Member, RefitResult, SegmentationMode, SegmentationStatus,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

/// How long a new job waits for the previous one of its segmentation to record its end (two
/// short writes) before it is refused as a conflict.
const ENDING_WAIT: Duration = Duration::from_secs(30);

/// Registers a job for `segmentation`, stores it (under this server's lease: one running job
/// per segmentation, whichever server asks), marks the segmentation running and runs the job
/// in the background; returns the job's id.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    segmentation: segmentation::Model,
    reason: JobReason,
) -> EngineResult<i64> {
    let id = segmentation.id;
    let running = match register(inner, id) {
        Ok(running) => running,
        // The previous job is only recording its end, as when a refresh follows its READY at
        // once: wait for it rather than refuse.
        Err(conflict) => match end_of_ending_job(inner, id) {
            Some(ended) => {
                let _ = tokio::time::timeout(ENDING_WAIT, ended).await;
                register(inner, id)?
            }
            None => return Err(conflict),
        },
    };
    let stored = async {
        let job =
            inner.store.start_job(id, reason, &inner.settings.lease_from_now()).await.map_err(|error| {
                if error.is_conflict() { EngineError::Conflict(error.to_string()) } else { error.into() }
            })?;
        // A repair leaves the segmentation DEGRADED until it succeeds: its job shows it runs.
        if reason != JobReason::Repair {
            inner.store.set_segmentation_status(id, SegmentationStatus::Running, None).await?;
        }
        Ok::<i64, EngineError>(job.id)
    }
    .await;
    let job_id = match stored {
        Ok(job_id) => job_id,
        Err(error) => {
            inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
            return Err(error);
        }
    };
    launch(inner, segmentation, reason, job_id, running);
    Ok(job_id)
}

/// Runs job `job_id`, taken over from a server that died (its lease expired): its
/// segmentation is refitted here from the start; its memberships were never touched by the
/// job that died, which writes only when it commits.
pub(crate) async fn resume(inner: &Arc<Inner>, job_id: i64) -> EngineResult<()> {
    let job = inner
        .store
        .job(job_id)
        .await?
        .ok_or_else(|| EngineError::Conflict(format!("job {job_id} is gone")))?;
    let Some(segmentation) = inner.store.segmentation(job.segmentation_id).await? else {
        let outcome = JobOutcome {
            status: JobStatus::Failed,
            counts: (0, 0, 0),
            excluded: 0,
            error: Some("its segmentation was deleted".to_owned()),
        };
        inner.store.finish_job(job_id, &inner.settings.server_id, &outcome).await?;
        return Ok(());
    };
    let running = register(inner, segmentation.id)?;
    tracing::info!(segmentation = segmentation.id, job = job_id, "taking over a refit whose server stopped");
    launch(inner, segmentation, job.reason, job_id, running);
    Ok(())
}

/// What a running job's queries and its run share.
type Running = (Arc<AtomicBool>, Arc<AtomicU64>, Arc<AtomicU64>);

/// Registers a job of segmentation `id` in this process (its id filled in by [`launch`]); a
/// conflict if one is running here.
fn register(inner: &Inner, id: i64) -> EngineResult<Running> {
    let cancel = Arc::new(AtomicBool::new(false));
    let (done, total) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(job) = jobs.get(&id) {
        return Err(EngineError::Conflict(format!(
            "segmentation {id} is already being refitted (job {})",
            job.job_id
        )));
    }
    // Held before the job is stored, so two requests here cannot both start one.
    let job = RunningJob {
        job_id: 0,
        cancel: cancel.clone(),
        done: done.clone(),
        total: total.clone(),
        on_end: Vec::new(),
        ending: false,
    };
    jobs.insert(id, job);
    Ok((cancel, done, total))
}

/// Marks the job of segmentation `id` as only recording its end.
fn mark_ending(inner: &Inner, id: i64) {
    if let Some(job) = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&id) {
        job.ending = true;
    }
}

/// Told when the job of segmentation `id` is gone, if its run is over and only its end is
/// being recorded; `None` if none runs here or it is still running.
fn end_of_ending_job(inner: &Inner, id: i64) -> Option<tokio::sync::oneshot::Receiver<()>> {
    let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    let job = jobs.get_mut(&id).filter(|job| job.ending)?;
    let (told, ended) = tokio::sync::oneshot::channel();
    job.on_end.push(told);
    Some(ended)
}

/// Runs registered job `job_id` of `segmentation` in the background.
fn launch(
    inner: &Arc<Inner>,
    segmentation: segmentation::Model,
    reason: JobReason,
    job_id: i64,
    running: Running,
) {
    let id = segmentation.id;
    if let Some(job) = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&id) {
        job.job_id = job_id;
    }
    let (cancel, done, total) = running;
    let kind = JobKind::Refit { segmentation_id: id };
    let observer = JobTracker { inner: inner.clone(), job_id, kind, cancel, done, total };
    tokio::spawn(run(observer, segmentation, reason));
}

async fn run(observer: JobTracker, segmentation: segmentation::Model, reason: JobReason) {
    let observer = Arc::new(observer);
    let inner = observer.inner.clone();
    let (id, job_id) = (segmentation.id, observer.job_id);
    let started = Instant::now();
    let finished = Arc::new(AtomicBool::new(false));
    tokio::spawn(record_progress(observer.clone(), finished.clone()));
    let outcome = refit(&inner, &segmentation, &observer, reason.change_reason()).await;
    finished.store(true, Ordering::SeqCst);
    mark_ending(&inner, id);
    let elapsed = started.elapsed();
    let (status, (counts, excluded), error) = match &outcome {
        Ok(refitted) => (JobStatus::Succeeded, *refitted, None),
        Err(EngineError::Plugin(PluginError::Cancelled)) => (JobStatus::Cancelled, ((0, 0, 0), 0), None),
        Err(error) => (JobStatus::Failed, ((0, 0, 0), 0), Some(error.to_string())),
    };
    let store = &inner.store;
    let recorded = async {
        observer.record().await?;
        let outcome = JobOutcome { status, counts, excluded, error: error.clone() };
        if !store.finish_job(job_id, &inner.settings.server_id, &outcome).await? {
            // Taken over by another server after this one's lease expired: the other finishes it.
            return Ok(());
        }
        match status {
            // A repair that did not repair leaves the segmentation degraded (its repair task
            // schedules the next attempt).
            JobStatus::Failed | JobStatus::Cancelled if reason == JobReason::Repair => {
                let why = error.as_deref().unwrap_or("it was cancelled");
                store.mark_degraded(id, &format!("the repair refit failed: {why}")).await.map(|_| ())
            }
            JobStatus::Failed => {
                store.set_segmentation_status(id, SegmentationStatus::Failed, error.as_deref()).await
            }
            JobStatus::Cancelled => match segmentation.last_refreshed_at {
                Some(_) => store.set_segmentation_status(id, SegmentationStatus::Ready, None).await,
                None => {
                    store
                        .set_segmentation_status(
                            id,
                            SegmentationStatus::Failed,
                            Some("the first refit was cancelled"),
                        )
                        .await
                }
            },
            JobStatus::Succeeded | JobStatus::Running => Ok(()),
        }
    }
    .await;
    if let Err(error) = recorded {
        tracing::error!(%error, job = job_id, "could not record the end of a refit job");
    }
    observer.publish(status);
    if let Some(ended) = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).remove(&id) {
        // Customers writes touched during the job were set aside for it: re-assign them now.
        inner.wake.wake();
        for waiter in ended.on_end {
            let _ = waiter.send(());
        }
    }
    let (entered, exited, rescored) = counts;
    crate::metrics::refit_ended(id, status.as_str(), elapsed);
    let millis = elapsed.as_millis() as u64;
    if elapsed > inner.settings.slow_job {
        tracing::warn!(
            segmentation = id,
            job = job_id,
            millis,
            entered,
            exited,
            rescored,
            excluded,
            status = status.as_str(),
            "slow refit job"
        );
    } else {
        tracing::info!(
            segmentation = id,
            job = job_id,
            millis,
            entered,
            exited,
            rescored,
            excluded,
            status = status.as_str(),
            "refit job done"
        );
    }
}

/// Refits `segmentation` with its plugin's build as reloaded: now, or, when a refit (of the
/// old build) is running, once it has been cancelled and has ended.
pub(crate) async fn refit_with_reloaded_plugin(inner: &Arc<Inner>, segmentation: segmentation::Model) {
    let id = segmentation.id;
    let ended = {
        let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.get_mut(&id).map(|job| {
            let (told, ended) = tokio::sync::oneshot::channel();
            job.on_end.push(told);
            job.cancel.store(true, Ordering::SeqCst);
            ended
        })
    };
    let Some(ended) = ended else {
        if let Err(error) = start(inner, segmentation, JobReason::Reload).await {
            tracing::error!(segmentation = id, %error, "could not start the refit after a plugin reload");
        }
        return;
    };
    let inner = inner.clone();
    tokio::spawn(async move {
        let _ = ended.await;
        match inner.store.segmentation(id).await {
            Ok(Some(segmentation)) if segmentation.mode == SegmentationMode::Dynamic => {
                if let Err(error) = start(&inner, segmentation, JobReason::Reload).await {
                    tracing::error!(segmentation = id, %error, "could not start the refit after a plugin reload");
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(segmentation = id, %error, "could not read a segmentation to refit after a plugin reload")
            }
        }
    });
}

/// Runs the strategy and writes the difference; returns (entered, exited, rescored) and the
/// customers left out because they refused profiling. They are not in the population, so
/// any membership they still held exits here.
async fn refit(
    inner: &Arc<Inner>,
    segmentation: &segmentation::Model,
    observer: &Arc<JobTracker>,
    reason: ChangeReason,
) -> EngineResult<((i64, i64, i64), i64)> {
    let params: serde_json::Value = serde_json::from_str(&segmentation.params).unwrap_or_default();
    let as_of = chrono::Utc::now().timestamp_micros();
    // Taken before the population is read: every customer the queue named up to here is in
    // what the refit reads.
    let covered = inner.store.queue_position().await?;
    let fitted = run_observed(
        &inner.store,
        &inner.host,
        &segmentation.strategy,
        Some(&params),
        as_of,
        Scope::Refitting(segmentation.id),
        observer.as_ref(),
    )
    .await?;
    let excluded = fitted.output.excluded as i64;
    let new: Vec<Member> = fitted
        .output
        .memberships
        .into_iter()
        .map(|m| Member { customer_id: m.customer_id, segment: m.segment, score: m.score })
        .collect();
    let state = crate::models::saved_state(&fitted.instance, observer.job_id).await;
    let lock = inner.lock_for(segmentation.id);
    let _guard = lock.lock().await;
    if observer.cancelled() {
        return Err(PluginError::Cancelled.into());
    }
    // Every server's re-assignments of it wait from here to the commit.
    let locked = inner.store.lock_segmentations(&[segmentation.id]).await?;
    let old = inner.store.members_of(segmentation.id).await?;
    let mut difference = diff(old, new);
    let result = RefitResult {
        model: fitted.output.model,
        state,
        covered_change: covered,
        runner: Some(inner.settings.server_id.clone()),
    };
    let applied = inner
        .store
        .apply_refit_locked(locked, segmentation.id, &difference, reason, observer.job_id, &result)
        .await?;
    // Committed: the segmentation reads READY from here.
    mark_ending(inner, segmentation.id);
    // Customers deleted or erased while the job ran were left out of what was written: leave
    // them out of what is published and counted too.
    difference.drop_customers(&applied.gone);
    let at = applied.at;
    // What follows must not fail the job: it is written. A segmentation switched to static (or
    // deleted) meanwhile keeps no live instance; if that cannot be read, it keeps its mode.
    let dynamic = match inner.store.segmentation(segmentation.id).await {
        Ok(current) => current.is_some_and(|s| s.mode == SegmentationMode::Dynamic),
        Err(error) => {
            tracing::warn!(segmentation = segmentation.id, %error, "could not re-read a refitted segmentation's mode");
            segmentation.mode == SegmentationMode::Dynamic
        }
    };
    inner.set_covered(segmentation.id, covered);
    inner.set_live(segmentation.id, dynamic.then_some(fitted.instance));
    inner.set_version(segmentation.id, dynamic.then_some(observer.job_id));
    inner.publish(segmentation.id, &difference, reason, at);
    let counts =
        (difference.entered.len() as i64, difference.exited.len() as i64, difference.rescored.len() as i64);
    Ok((counts, excluded))
}
