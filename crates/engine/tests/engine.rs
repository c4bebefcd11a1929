//! The engine at its boundary, with a real plugin library (the misbehaving fixture, which does
//! what its `mode` asks): a refit writes every member, a write re-assigns the customer it
//! touched at once, a cancelled refit writes nothing, and a failing or panicking strategy
//! leaves the segmentation FAILED with its error and no member, and a plugin reload refits
//! with the new settings. On SQLite and PostgreSQL.
#![allow(missing_docs, clippy::unwrap_used)]

use chrono::NaiveDate;
use kindred_domain::CustomerDraft;
use kindred_engine::{Change, Engine, EngineSettings};
use kindred_plugin_host::{PluginConfig, PluginHost, ReloadOutcome};
use kindred_store::entity::segmentation;
use kindred_store::{JobReason, JobStatus, NewSegmentation, SegmentationMode, SegmentationStatus, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long any condition may take to come true.
const DEADLINE: Duration = Duration::from_secs(60);

use kindred_e2e::databases::TestDatabase as Database;

/// An engine over `store` with the misbehaving fixture loaded as `misbehaving`.
async fn engine(store: &Store) -> Engine {
    engine_with(store, EngineSettings { refit_on_start: false, ..EngineSettings::default() }).await
}

async fn engine_with(store: &Store, settings: EngineSettings) -> Engine {
    let host = Arc::new(PluginHost::load_off_runtime(vec![fixture(None)], ".".into()).await);
    Engine::start(store.clone(), host, settings).await.unwrap()
}

/// The misbehaving fixture's settings, with `defaults` as its default parameters.
fn fixture(defaults: Option<serde_json::Value>) -> PluginConfig {
    let path = kindred_e2e::plugin_library("kindred_fixture_misbehaving");
    let config: PluginConfig =
        serde_json::from_value(serde_json::json!({ "name": "misbehaving", "path": path })).unwrap();
    PluginConfig { params: defaults, ..config }
}

async fn add_customer(store: &Store, external_id: &str) -> i64 {
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let draft = CustomerDraft { external_id: external_id.to_owned(), ..Default::default() };
    store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id
}

fn segmentation_of(mode: &str) -> NewSegmentation {
    NewSegmentation {
        name: format!("fixture {mode}"),
        strategy: "misbehaving".to_owned(),
        params: serde_json::json!({ "mode": mode }),
        mode: SegmentationMode::Dynamic,
        refresh_interval_seconds: None,
    }
}

/// A `slow` segmentation whose fits wait until the test releases them, one release per fit:
/// what must happen while a refit runs happens then, however loaded the machine.
struct Gate {
    file: std::path::PathBuf,
}

impl Gate {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("kindred-engine-gate-{}-{n}", std::process::id());
        Self { file: std::env::temp_dir().join(name) }
    }

    fn segmentation(&self) -> NewSegmentation {
        let release_file = self.file.display().to_string();
        NewSegmentation {
            params: serde_json::json!({ "mode": "slow", "release_file": release_file }),
            ..segmentation_of("slow")
        }
    }

    /// Lets the fit that waits now, or the next one, end.
    fn release(&self) {
        std::fs::write(&self.file, b"").unwrap();
    }

    /// Lets every fit end from now on, until the task is aborted.
    fn keep_releasing(&self) -> tokio::task::JoinHandle<()> {
        let file = self.file.clone();
        tokio::spawn(async move {
            loop {
                if !file.exists() {
                    std::fs::write(&file, b"").unwrap();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Waits until segmentation `id` is no longer running.
async fn settled(store: &Store, id: i64) -> segmentation::Model {
    let settled = until(store, id, "settled", |current| current.status != SegmentationStatus::Running).await;
    // The job's row is finished just after the refit's commit.
    let started = Instant::now();
    while store.running_job(id).await.unwrap().is_some() {
        assert!(started.elapsed() < DEADLINE, "the job did not end");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    settled
}

/// Waits until segmentation `id` is as `wanted` says.
async fn until(
    store: &Store,
    id: i64,
    what: &str,
    wanted: impl Fn(&segmentation::Model) -> bool,
) -> segmentation::Model {
    let started = Instant::now();
    loop {
        let current = store.segmentation(id).await.unwrap().unwrap();
        if wanted(&current) {
            return current;
        }
        assert!(started.elapsed() < DEADLINE, "segmentation {id} not {what} after {DEADLINE:?}: {current:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The latest job of segmentation `id` once it has ended (a refit's memberships and status are
/// written a moment before its job row is).
async fn last_job(store: &Store, id: i64) -> kindred_store::entity::segmentation_job::Model {
    let started = Instant::now();
    loop {
        let job = store.jobs(id, 1).await.unwrap().remove(0);
        if job.status != JobStatus::Running {
            return job;
        }
        assert!(started.elapsed() < DEADLINE, "job {} still running after {DEADLINE:?}", job.id);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn members(store: &Store, id: i64) -> Vec<(i64, String)> {
    let mut members: Vec<(i64, String)> =
        store.members_of(id).await.unwrap().into_iter().map(|m| (m.customer_id, m.segment)).collect();
    members.sort();
    members
}

async fn refit_then_live_reassignment(store: Store) {
    let mut customers = Vec::new();
    for n in 0..25 {
        customers.push(add_customer(&store, &format!("c{n:02}")).await);
    }
    let engine = engine(&store).await;
    let created = engine.create(segmentation_of("ok")).await.unwrap();
    let ready = settled(&store, created.id).await;
    assert_eq!(ready.status, SegmentationStatus::Ready, "{:?}", ready.error);
    let expected: Vec<(i64, String)> = customers.iter().map(|id| (*id, "all".to_owned())).collect();
    assert_eq!(members(&store, created.id).await, expected);
    let job = last_job(&store, created.id).await;
    assert_eq!((job.status, job.entered), (JobStatus::Succeeded, 25));

    // A write re-assigns the customer it touched, without a refit, and publishes the enter.
    let mut changes = engine.subscribe_changes();
    let newcomer = add_customer(&store, "newcomer").await;
    engine.written();
    // The refit's own enters may still be on their way (on PostgreSQL, the feed publishes what
    // is committed once no older transaction on the server can still commit before it).
    let event = tokio::time::timeout(DEADLINE, async {
        loop {
            let event = changes.recv().await.unwrap();
            if event.customer_id == newcomer {
                return event;
            }
        }
    })
    .await
    .expect("an enter in time");
    assert_eq!(
        (event.segmentation_id, event.customer_id, event.segment.as_str(), event.change),
        (created.id, newcomer, "all", Change::Entered)
    );
    assert!(members(&store, created.id).await.contains(&(newcomer, "all".to_owned())));
    assert_eq!(store.jobs(created.id, 10).await.unwrap().len(), 1, "no refit ran for the write");
}

async fn cancelled_refit_writes_nothing(store: Store) {
    add_customer(&store, "only").await;
    let engine = engine(&store).await;
    // The fit waits for its release: the cancel arrives while it runs.
    let gate = Gate::new();
    let created = engine.create(gate.segmentation()).await.unwrap();
    assert!(engine.job(created.id).is_some(), "the refit is registered when create returns");
    assert!(engine.cancel(created.id).await.unwrap());
    gate.release();
    settled(&store, created.id).await;
    assert_eq!(last_job(&store, created.id).await.status, JobStatus::Cancelled);
    assert!(members(&store, created.id).await.is_empty());
    assert!(engine.job(created.id).is_none());
}

async fn a_reload_refits_with_the_new_settings_after_cancelling_the_old_refit(store: Store) {
    add_customer(&store, "only").await;
    let engine = engine(&store).await;
    // The fit waits for its release: the reload arrives while the first refit runs.
    let gate = Gate::new();
    let created = engine.create(gate.segmentation()).await.unwrap();
    assert!(engine.job(created.id).is_some());
    let same = engine.reload_plugins(vec![fixture(None)], ".".into()).await.unwrap();
    assert_eq!(same.report.plugins[0].outcome, ReloadOutcome::Unchanged);
    assert!(same.refitted.is_empty(), "nothing changed, nothing is refitted");

    let reconfigured = engine
        .reload_plugins(vec![fixture(Some(serde_json::json!({ "mode": "ok" })))], ".".into())
        .await
        .unwrap();
    assert_eq!(reconfigured.report.plugins[0].outcome, ReloadOutcome::Reconfigured);
    assert_eq!(reconfigured.refitted, vec![created.id]);
    let releasing = gate.keep_releasing();
    let reloaded = until(&store, created.id, "refitted after the reload", |s| {
        s.status == SegmentationStatus::Ready && s.last_refreshed_at.is_some()
    })
    .await;
    releasing.abort();
    assert_eq!(reloaded.status, SegmentationStatus::Ready);
    last_job(&store, created.id).await;
    let jobs = store.jobs(created.id, 10).await.unwrap();
    let history: Vec<_> = jobs.iter().map(|job| (job.reason, job.status)).collect();
    assert_eq!(
        history,
        [(JobReason::Reload, JobStatus::Succeeded), (JobReason::Create, JobStatus::Cancelled)],
        "the refit of the old settings was cancelled, then one with the new ones ran: {jobs:#?}"
    );
    // The segmentation's own parameters still win over the new defaults.
    let segments: Vec<String> =
        members(&store, created.id).await.into_iter().map(|(_, segment)| segment).collect();
    assert_eq!(segments, ["slow"]);
}

async fn failing_strategies_leave_no_member(store: Store) {
    add_customer(&store, "only").await;
    let engine = engine(&store).await;
    for (mode, said) in
        [("error_in_fit", "fixture fails in fit as asked"), ("panic_in_fit", "fixture panics in fit")]
    {
        let created = engine.create(segmentation_of(mode)).await.unwrap();
        let failed = settled(&store, created.id).await;
        assert_eq!(failed.status, SegmentationStatus::Failed, "{mode}");
        let error = failed.error.unwrap_or_default();
        assert!(error.contains(said), "{mode}: {error}");
        assert_eq!(last_job(&store, created.id).await.status, JobStatus::Failed, "{mode}");
        assert!(members(&store, created.id).await.is_empty(), "{mode}");
    }
    // The engine keeps working after both.
    let created = engine.create(segmentation_of("ok")).await.unwrap();
    assert_eq!(settled(&store, created.id).await.status, SegmentationStatus::Ready);
}

async fn a_failed_reassignment_degrades_and_a_refit_repairs(store: Store) {
    for n in 0..5 {
        add_customer(&store, &format!("c{n}")).await;
    }
    let settings = EngineSettings {
        refit_on_start: false,
        // Long enough for the test to see DEGRADED before the repair, even on a loaded machine.
        repair_backoff: Duration::from_secs(3),
        repair_backoff_max: Duration::from_secs(6),
        ..EngineSettings::default()
    };
    let engine = engine_with(&store, settings).await;
    let created = engine.create(segmentation_of("panic_on_write")).await.unwrap();
    assert_eq!(settled(&store, created.id).await.status, SegmentationStatus::Ready);

    // The fixture panics re-assigning fewer customers than it was fitted on: a write's.
    let newcomer = add_customer(&store, "newcomer").await;
    engine.written();
    let degraded = until(&store, created.id, "degraded", |s| s.status == SegmentationStatus::Degraded).await;
    let error = degraded.error.clone().unwrap_or_default();
    assert!(error.contains("fixture panics re-assigning"), "{error}");
    assert!(degraded.degraded_since.is_some());

    // A repair refit (the whole population: no panic) makes it READY by itself.
    let repaired = until(&store, created.id, "repaired", |s| s.status == SegmentationStatus::Ready).await;
    assert_eq!((repaired.error, repaired.degraded_since), (None, None));
    assert!(members(&store, created.id).await.contains(&(newcomer, "all".to_owned())));
    let job = last_job(&store, created.id).await;
    assert_eq!((job.reason, job.status), (JobReason::Repair, JobStatus::Succeeded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degraded_then_repaired_on_sqlite() {
    let (store, database) = Database::sqlite().await;
    a_failed_reassignment_degrades_and_a_refit_repairs(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degraded_then_repaired_on_postgres() {
    let Some((store, database)) = Database::postgres("degraded_then_repaired").await else { return };
    a_failed_reassignment_degrades_and_a_refit_repairs(store).await;
    database.remove().await;
}

async fn a_write_during_a_refit_is_set_aside_then_reassigned(store: Store) {
    add_customer(&store, "first").await;
    let engine = engine(&store).await;
    let gate = Gate::new();
    let created = engine.create(gate.segmentation()).await.unwrap();
    gate.release();
    assert_eq!(settled(&store, created.id).await.status, SegmentationStatus::Ready);
    // "first" may have been set aside for that refit, on a loaded machine: once it is
    // re-assigned, nothing is pending but what this test writes next.
    let started = Instant::now();
    while !store.segmentations_with_pending().await.unwrap().is_empty()
        || !store.queued_changes(100).await.unwrap().is_empty()
    {
        assert!(started.elapsed() < DEADLINE, "the first refit's writes were not re-assigned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A second refit reads the population, then fits until released; a customer written
    // meanwhile is not in its population.
    engine.refresh(created.id).await.unwrap();
    let newcomer = add_customer(&store, "newcomer").await;
    engine.written();
    let started = Instant::now();
    while !store.segmentations_with_pending().await.unwrap().contains(&created.id) {
        assert!(engine.job(created.id).is_some(), "the refit ended before the write was set aside");
        assert!(started.elapsed() < DEADLINE, "the write was not set aside for the refit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let queued = store.queued_changes(100).await.unwrap();
    assert!(queued.is_empty(), "consumed from the queue after {:?}: {queued:?}", started.elapsed());
    gate.release();
    // Once the refit is written, the newcomer is re-assigned with its model.
    let started = Instant::now();
    while !members(&store, created.id).await.contains(&(newcomer, "slow".to_owned())) {
        assert!(started.elapsed() < DEADLINE, "the newcomer was not re-assigned after the refit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    while !store.segmentations_with_pending().await.unwrap().is_empty() {
        assert!(started.elapsed() < DEADLINE, "what was set aside is consumed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_during_refit_on_sqlite() {
    let (store, database) = Database::sqlite().await;
    a_write_during_a_refit_is_set_aside_then_reassigned(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_during_refit_on_postgres() {
    let Some((store, database)) = Database::postgres("write_during_refit").await else { return };
    a_write_during_a_refit_is_set_aside_then_reassigned(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refit_and_live_reassignment_on_sqlite() {
    let (store, database) = Database::sqlite().await;
    refit_then_live_reassignment(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refit_and_live_reassignment_on_postgres() {
    let Some((store, database)) = Database::postgres("refit_and_live_reassignment").await else { return };
    refit_then_live_reassignment(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_on_sqlite() {
    let (store, database) = Database::sqlite().await;
    cancelled_refit_writes_nothing(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_on_postgres() {
    let Some((store, database)) = Database::postgres("cancel").await else { return };
    cancelled_refit_writes_nothing(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_on_sqlite() {
    let (store, database) = Database::sqlite().await;
    a_reload_refits_with_the_new_settings_after_cancelling_the_old_refit(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_on_postgres() {
    let Some((store, database)) = Database::postgres("reload").await else { return };
    a_reload_refits_with_the_new_settings_after_cancelling_the_old_refit(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_on_sqlite() {
    let (store, database) = Database::sqlite().await;
    failing_strategies_leave_no_member(store).await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_on_postgres() {
    let Some((store, database)) = Database::postgres("failure").await else { return };
    failing_strategies_leave_no_member(store).await;
    database.remove().await;
}
