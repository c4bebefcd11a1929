//! Previews: a strategy run over the population, or a random sample of it, without saving
//! any membership. Small ones answer at once ([`preview_now`]); large ones are jobs, stored as
//! rows with their progress and result, cancellable, and purged once kept long enough.

use crate::error::{EngineError, EngineResult};
use crate::events::{JobKind, JobProgress};
use crate::state::Inner;
use crate::state::RunningPreview;
use crate::tracker::{JobTracker, record_progress};
use kindred_plugin_host::{
    PluginError, PluginHost, RunObserver, RunOutput, Scope, merged_params, run_observed,
};
use kindred_store::JobStatus;
use kindred_store::entity::preview_job;
use kindred_store::{NewPreview, Store};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

pub use crate::settings::PreviewSettings;

/// A preview to run.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRequest {
    /// The strategy plugin.
    pub strategy: String,
    /// Parameters laid over the plugin's defaults.
    pub params: Option<serde_json::Value>,
    /// Run on at most this many customers drawn at random; none for everyone.
    pub sample: Option<u64>,
}

impl PreviewRequest {
    /// Whom it covers; a sample must hold at least one customer.
    pub fn scope(&self) -> EngineResult<Scope> {
        match self.sample {
            None => Ok(Scope::Everyone),
            Some(0) => {
                Err(EngineError::Invalid { field: "sample", message: "must be at least 1".to_owned() })
            }
            Some(size) => Ok(Scope::Sample(usize::try_from(size).unwrap_or(usize::MAX))),
        }
    }
}

/// One segment of a preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewSegment {
    /// Its label.
    pub label: String,
    /// Customers in it.
    pub size: u64,
}

/// What a strategy made of the population (or the sample); nothing was saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewResult {
    /// The plugin that ran.
    pub strategy: String,
    /// The parameters used: the plugin's defaults with those asked for on top.
    pub params: serde_json::Value,
    /// Customers the strategy saw.
    pub customers: u64,
    /// Customers in at least one segment.
    pub assigned: u64,
    /// Customers left out because they refused profiling.
    pub excluded: u64,
    /// Memberships in all.
    pub memberships: u64,
    /// For a sample: the customers it was drawn from.
    pub sampled_from: Option<u64>,
    /// The segments, largest first.
    pub segments: Vec<PreviewSegment>,
    /// What fit learned.
    pub model: serde_json::Value,
    /// How long the run took, in milliseconds.
    pub elapsed_ms: u64,
}

impl PreviewResult {
    fn new(strategy: &str, params: serde_json::Value, output: RunOutput, elapsed: Duration) -> Self {
        let mut segments: Vec<PreviewSegment> = output
            .sizes
            .into_iter()
            .map(|(label, size)| PreviewSegment { label, size: size as u64 })
            .collect();
        segments.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.label.cmp(&b.label)));
        Self {
            strategy: strategy.to_owned(),
            params,
            customers: output.customers as u64,
            assigned: output.assigned as u64,
            excluded: output.excluded as u64,
            memberships: output.memberships.len() as u64,
            sampled_from: output.sampled_from.map(|n| n as u64),
            segments,
            model: output.model,
            elapsed_ms: elapsed.as_millis() as u64,
        }
    }
}

/// How many customers `request` would cover: the sample, or everyone who did not refuse
/// profiling.
pub async fn preview_size(store: &Store, request: &PreviewRequest) -> EngineResult<u64> {
    let everyone = store.count_profiled().await?;
    Ok(request.sample.map_or(everyone, |sample| sample.min(everyone)))
}

/// Runs `request` now and returns what it found.
pub async fn preview_now(
    store: &Store,
    host: &PluginHost,
    request: &PreviewRequest,
) -> EngineResult<PreviewResult> {
    run(store, host, request, &kindred_plugin_host::Unobserved).await
}

async fn run(
    store: &Store,
    host: &PluginHost,
    request: &PreviewRequest,
    observer: &dyn RunObserver,
) -> EngineResult<PreviewResult> {
    let scope = request.scope()?;
    let started = Instant::now();
    let as_of = chrono::Utc::now().timestamp_micros();
    let params = request.params.as_ref();
    // Read before the run: a reload during it may change the defaults, not the ones it used.
    let defaults =
        host.loaded(&request.strategy).map(|plugin| plugin.default_params.clone()).unwrap_or_default();
    let fitted = run_observed(store, host, &request.strategy, params, as_of, scope, observer).await?;
    let used = merged_params(&defaults, params);
    Ok(PreviewResult::new(&request.strategy, used, fitted.output, started.elapsed()))
}

/// Checks `request`, stores it as a running preview of `owner` and runs it in the background,
/// holding `permit` (the caller's share of heavy work) until it ends.
pub(crate) async fn start(
    inner: &Arc<Inner>,
    request: PreviewRequest,
    owner: Option<String>,
    permit: Box<dyn Any + Send>,
) -> EngineResult<preview_job::Model> {
    request.scope()?;
    // Unknown plugins and bad parameters are refused now, not found in the job later.
    kindred_plugin_host::create_instance(&inner.host, &request.strategy, request.params.as_ref()).await?;
    let new = NewPreview {
        strategy: request.strategy.clone(),
        params: request.params.clone().unwrap_or_else(|| serde_json::json!({})),
        sample: request.sample.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        owner: owner.clone(),
    };
    let row = inner.store.start_preview(&new, &inner.settings.lease_from_now()).await?;
    launch(inner, row.clone(), request, owner, permit);
    Ok(row)
}

/// Runs preview job `id` again, taken over from a server that died (its lease expired).
pub(crate) async fn resume(inner: &Arc<Inner>, id: i64) -> EngineResult<()> {
    let Some(row) = inner.store.preview_row(id).await? else { return Ok(()) };
    let request = PreviewRequest {
        strategy: row.strategy.clone(),
        params: serde_json::from_str(&row.params).ok(),
        sample: row.sample.map(|sample| sample.max(0) as u64),
    };
    tracing::info!(preview = id, "taking over a preview whose server stopped");
    let owner = row.owner.clone();
    launch(inner, row, request, owner, Box::new(()));
    Ok(())
}

/// Runs stored preview `row` in the background.
fn launch(
    inner: &Arc<Inner>,
    row: preview_job::Model,
    request: PreviewRequest,
    owner: Option<String>,
    permit: Box<dyn Any + Send>,
) {
    let cancel = Arc::new(AtomicBool::new(false));
    inner
        .previews
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(row.id, RunningPreview { cancel: cancel.clone() });
    let observer = JobTracker {
        inner: inner.clone(),
        job_id: row.id,
        kind: JobKind::Preview { owner },
        cancel,
        done: Arc::new(AtomicU64::new(0)),
        total: Arc::new(AtomicU64::new(0)),
    };
    tokio::spawn(run_job(Arc::new(observer), request, permit));
}

async fn run_job(observer: Arc<JobTracker>, request: PreviewRequest, permit: Box<dyn Any + Send>) {
    let inner = observer.inner.clone();
    let finished = Arc::new(AtomicBool::new(false));
    tokio::spawn(record_progress(observer.clone(), finished.clone()));
    let outcome = run(&inner.store, &inner.host, &request, observer.as_ref()).await;
    finished.store(true, Ordering::SeqCst);
    let (status, result, error) = match outcome {
        Ok(result) => match serde_json::to_string(&result) {
            Ok(json) => (JobStatus::Succeeded, Some(json), None),
            Err(error) => (JobStatus::Failed, None, Some(format!("could not keep the result: {error}"))),
        },
        Err(EngineError::Plugin(PluginError::Cancelled)) => (JobStatus::Cancelled, None, None),
        Err(error) => (JobStatus::Failed, None, Some(error.to_string())),
    };
    let recorded = async {
        observer.record().await?;
        inner.store.finish_preview(observer.job_id, status, result, error).await
    }
    .await;
    match recorded {
        // Cancelled meanwhile: cancel_preview recorded and published it.
        Ok(false) => {}
        Ok(true) => observer.publish(status),
        Err(error) => {
            tracing::error!(%error, preview = observer.job_id, "could not record the end of a preview")
        }
    }
    inner.previews.lock().unwrap_or_else(PoisonError::into_inner).remove(&observer.job_id);
    drop(permit);
}

/// Stops preview `id`: its row says cancelled at once, and the run stops at its next check
/// (a plugin call under way is left to return, its result thrown away). False if it was not
/// running.
pub(crate) async fn cancel(inner: &Arc<Inner>, id: i64) -> EngineResult<bool> {
    if let Some(running) = inner.previews.lock().unwrap_or_else(PoisonError::into_inner).get(&id) {
        running.cancel.store(true, Ordering::SeqCst);
    }
    let Some(row) = inner.store.preview(id, chrono::DateTime::UNIX_EPOCH).await? else { return Ok(false) };
    let cancelled = inner.store.cancel_preview(id).await?;
    if cancelled {
        let _ = inner.progress.send(JobProgress {
            job_id: id,
            kind: JobKind::Preview { owner: row.owner },
            done: row.customers_done.max(0) as u64,
            total: row.customers_total.max(0) as u64,
            status: JobStatus::Cancelled,
        });
    }
    Ok(cancelled)
}

/// Asks every preview running here to stop; returns how many.
pub(crate) fn cancel_all(inner: &Inner) -> usize {
    let previews = inner.previews.lock().unwrap_or_else(PoisonError::into_inner);
    for running in previews.values() {
        running.cancel.store(true, Ordering::SeqCst);
    }
    previews.len()
}

/// The moment before which finished previews are no longer kept.
pub(crate) fn kept_since(settings: &PreviewSettings) -> chrono::DateTime<chrono::Utc> {
    let kept = chrono::Duration::from_std(settings.kept_for).unwrap_or(chrono::Duration::hours(1));
    chrono::Utc::now() - kept
}

/// Deletes previews kept long enough, once a minute for the life of the process.
pub(crate) async fn purger(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(
        Duration::from_secs(60).min(inner.settings.previews.kept_for.max(Duration::from_secs(1))),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        match inner.store.purge_previews(kept_since(&inner.settings.previews)).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "finished previews purged"),
            Err(error) => tracing::warn!(%error, "could not purge finished previews"),
        }
    }
}
