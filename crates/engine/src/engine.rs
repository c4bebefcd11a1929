//! The engine's public operations: create, change, delete, refresh and cancel segmentations,
//! edit static members, accept touched customers from writes. Its state is in `state`.

use crate::error::{EngineError, EngineResult};
use crate::events::{JobProgress, MembershipChange};
use crate::preview::PreviewRequest;
use crate::settings::{EngineSettings, PreviewSettings};
use crate::state::Inner;
use crate::{diff, feed, models, preview, realtime, refit, resolve, schedule, takeover, webhooks};
use kindred_plugin_host::{PluginConfig, PluginHost, ReloadReport, create_instance};
use kindred_store::entity::segmentation;
use kindred_store::{
    ChangeReason, JobReason, Member, MembershipDiff, NewSegmentation, SegmentationChanges, SegmentationMode,
    SegmentationStatus, Store,
};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tokio::sync::broadcast;

/// How a hand edit changes a static segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberEdit {
    /// The listed customers enter (those already in stay).
    Add,
    /// The listed customers leave.
    Remove,
    /// The listed customers are the segment: they enter, everyone else leaves.
    Replace,
}

/// Adaptive segments: the one place segmentations are created, refitted and kept true.
/// Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// Refits every dynamic segmentation of a plugin `report` says changed; returns their ids.
async fn refit_changed(inner: &Arc<Inner>, report: &ReloadReport) -> Vec<i64> {
    let changed: HashSet<&str> = report.needing_refit().collect();
    if changed.is_empty() {
        return Vec::new();
    }
    let segmentations = match inner.store.segmentations().await {
        Ok(segmentations) => segmentations,
        Err(error) => {
            tracing::error!(%error, "plugins reloaded, but their segmentations could not be listed to refit them");
            return Vec::new();
        }
    };
    let mut refitted = Vec::new();
    for segmentation in segmentations {
        if segmentation.mode == SegmentationMode::Dynamic && changed.contains(segmentation.strategy.as_str())
        {
            refitted.push(segmentation.id);
            refit::refit_with_reloaded_plugin(inner, segmentation).await;
        }
    }
    refitted
}

/// What a plugin reload did.
#[derive(Debug, Clone)]
pub struct PluginsReloaded {
    /// What happened to each plugin.
    pub report: ReloadReport,
    /// The dynamic segmentations being refitted with a reloaded plugin.
    pub refitted: Vec<i64>,
}

/// A refit job in progress, as queries show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobState {
    /// The job.
    pub job_id: i64,
    /// Customers assigned so far.
    pub done: u64,
    /// Customers in all (0 until the population is read).
    pub total: u64,
}

fn check_name(name: &str) -> EngineResult<()> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(EngineError::Invalid {
            field: "name",
            message: "must be 1 to 200 characters".to_owned(),
        });
    }
    Ok(())
}

fn check_interval(interval: Option<i64>) -> EngineResult<()> {
    match interval {
        Some(seconds) if seconds < 60 => Err(EngineError::Invalid {
            field: "refreshIntervalSeconds",
            message: "must be at least 60 seconds".to_owned(),
        }),
        _ => Ok(()),
    }
}

impl Engine {
    /// Starts the engine over `store` and `host`: its write worker, its scheduler, and (per
    /// `settings`) a refit of every dynamic segmentation without a usable saved model. Jobs a
    /// stopped server left running (their lease expired) are marked failed; jobs other
    /// servers sharing the database run are left to them. Call inside a tokio runtime.
    pub async fn start(store: Store, host: Arc<PluginHost>, settings: EngineSettings) -> EngineResult<Self> {
        let inner = Arc::new(Inner {
            store,
            host,
            settings,
            changes: broadcast::channel(65_536).0,
            progress: broadcast::channel(1_024).0,
            live: RwLock::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
            previews: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
            wake: Default::default(),
            covered: Mutex::new(HashMap::new()),
            repairs: Mutex::new(HashMap::new()),
            feed_wake: Default::default(),
            models_wake: Default::default(),
            versions: Mutex::new(HashMap::new()),
        });
        // Before anything is written: every event committed from here on is published.
        let (events, exits) = inner.store.feed_start().await?;
        let now = chrono::Utc::now();
        let interrupted = inner.store.fail_interrupted_jobs(now).await?;
        if interrupted > 0 {
            tracing::warn!(
                jobs = interrupted,
                "refit jobs left running by a stopped server were marked failed"
            );
        }
        let interrupted = inner.store.fail_interrupted_previews(now).await?;
        if interrupted > 0 {
            tracing::warn!(
                previews = interrupted,
                "previews left running by a stopped server were marked failed"
            );
        }
        let interrupted = inner.store.fail_interrupted_resolve_jobs(now).await?;
        if interrupted > 0 {
            tracing::warn!(
                jobs = interrupted,
                "resolve jobs left running by a stopped server were marked failed"
            );
        }
        let engine = Self { inner };
        for segmentation in engine.inner.store.segmentations().await? {
            engine.ready_on_start(segmentation).await?;
        }
        // Only now: the worker must find every model loaded and every start refit registered,
        // or it would consume queued customers for segmentations it does not know yet.
        let inner = &engine.inner;
        tokio::spawn(realtime::worker(inner.clone()));
        tokio::spawn(preview::purger(inner.clone()));
        tokio::spawn(schedule::scheduler(inner.clone()));
        tokio::spawn(feed::follower(inner.clone(), feed::Positions { events, exits }));
        tokio::spawn(models::follower(inner.clone()));
        tokio::spawn(takeover::watcher(inner.clone()));
        tokio::spawn(takeover::listener(inner.clone()));
        tokio::spawn(webhooks::dispatcher(inner.store.clone(), inner.settings.webhooks.clone()));
        Ok(engine)
    }

    /// Readies one segmentation at start: a dynamic one loads the model its last refit saved,
    /// or, where no usable state exists, is refitted (when `refit_on_start`); a degraded one
    /// has its repair scheduled.
    async fn ready_on_start(&self, segmentation: segmentation::Model) -> EngineResult<()> {
        let inner = &self.inner;
        let id = segmentation.id;
        if segmentation.mode == SegmentationMode::Dynamic {
            match crate::models::load(inner, &segmentation).await {
                Ok((instance, covered, job_id)) => {
                    inner.set_covered(id, covered);
                    inner.set_live(id, Some(instance));
                    inner.set_version(id, Some(job_id));
                    let interrupted = segmentation.error.as_deref() == Some(kindred_store::INTERRUPTED);
                    if segmentation.status == SegmentationStatus::Failed && interrupted {
                        // The refit that a stop interrupted wrote nothing: the loaded model
                        // is the one its memberships come from.
                        inner.store.set_segmentation_status(id, SegmentationStatus::Ready, None).await?;
                    }
                }
                Err(why) if inner.settings.refit_on_start => {
                    tracing::info!(segmentation = id, reason = %why, "refitting at start: no usable saved model");
                    match self.start_refit(segmentation, JobReason::Start).await {
                        Ok(_) => {}
                        // Another server sharing the database refits it already.
                        Err(EngineError::Conflict(why)) => {
                            tracing::info!(segmentation = id, %why, "not refitted at start")
                        }
                        Err(error) => return Err(error),
                    }
                    return Ok(());
                }
                Err(why) => {
                    tracing::warn!(
                        segmentation = id,
                        reason = %why,
                        "no usable saved model and segments.refit_on_start is off: its members are not kept \
                         up to date until it is refitted"
                    );
                }
            }
        }
        if segmentation.status == SegmentationStatus::Degraded {
            // Left degraded by a stopped server: its repair is still owed.
            crate::repair::schedule(inner, id, 0);
        }
        Ok(())
    }

    /// Gives up what this server leads for the servers sharing its database (the schedule),
    /// so another takes it at once rather than when the lease expires: call when stopping.
    pub async fn leave(&self) {
        if let Err(error) =
            self.inner.store.release_lease(schedule::LEAD, &self.inner.settings.server_id).await
        {
            tracing::warn!(%error, "could not give up the schedule's lead");
        }
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Creates a segmentation and starts its first refit. The parameters are checked against
    /// the strategy's JSON Schema and by the strategy itself before anything is stored.
    pub async fn create(&self, new: NewSegmentation) -> EngineResult<segmentation::Model> {
        check_name(&new.name)?;
        check_interval(new.refresh_interval_seconds)?;
        create_instance(&self.inner.host, &new.strategy, Some(&new.params)).await?;
        let created = self.inner.store.create_segmentation(&new).await?;
        self.start_refit(created.clone(), JobReason::Create).await?;
        Ok(created)
    }

    /// Adds a webhook to segmentation `segmentation_id`: every enter and exit from now on is
    /// posted to `url` (http), signed with `secret` (a random one when none is given).
    pub async fn add_webhook(
        &self,
        segmentation_id: i64,
        url: &str,
        secret: Option<String>,
    ) -> EngineResult<kindred_store::entity::webhook::Model> {
        self.inner
            .store
            .segmentation(segmentation_id)
            .await?
            .ok_or(EngineError::NotFound(segmentation_id))?;
        webhooks::check_url(url).map_err(|message| EngineError::Invalid { field: "url", message })?;
        let secret = match secret {
            Some(secret) if secret.len() < 16 => {
                return Err(EngineError::Invalid {
                    field: "secret",
                    message: "must be at least 16 characters".to_owned(),
                });
            }
            Some(secret) => secret,
            None => webhooks::random_secret(),
        };
        Ok(self.inner.store.create_webhook(segmentation_id, url, &secret).await?)
    }

    /// Changes a segmentation. New parameters are checked first; new parameters, or a switch
    /// to dynamic, start a refit of a dynamic segmentation; a switch to static stops
    /// following writes.
    pub async fn update(&self, id: i64, changes: SegmentationChanges) -> EngineResult<segmentation::Model> {
        let current = self.inner.store.segmentation(id).await?.ok_or(EngineError::NotFound(id))?;
        if let Some(name) = &changes.name {
            check_name(name)?;
        }
        let mode = match changes.mode {
            Some(mode) => mode,
            None => current.mode,
        };
        if let Some(interval) = changes.refresh_interval_seconds {
            check_interval(interval)?;
        }
        if let Some(params) = &changes.params {
            create_instance(&self.inner.host, &current.strategy, Some(params)).await?;
        }
        let updated = self.inner.store.update_segmentation(id, &changes).await?;
        let became_dynamic = mode == SegmentationMode::Dynamic && current.mode != mode;
        match mode {
            SegmentationMode::Static => self.inner.set_live(id, None),
            SegmentationMode::Dynamic if changes.params.is_some() || became_dynamic => {
                if self.job(id).is_none() {
                    match self.start_refit(updated.clone(), JobReason::Update).await {
                        Ok(_) => {}
                        // Another server refits it now, as when a refit runs here.
                        Err(EngineError::Conflict(why)) => {
                            tracing::info!(segmentation = id, %why, "no refit after the update")
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
            SegmentationMode::Dynamic => {}
        }
        Ok(updated)
    }

    /// Deletes a segmentation with its memberships and history, cancelling its refit.
    pub async fn delete(&self, id: i64) -> EngineResult<bool> {
        self.cancel(id).await?;
        self.inner.set_live(id, None);
        Ok(self.inner.store.delete_segmentation(id).await?)
    }

    /// Starts a refit of segmentation `id`; a conflict if one is already running.
    pub async fn refresh(&self, id: i64) -> EngineResult<i64> {
        let segmentation = self.inner.store.segmentation(id).await?.ok_or(EngineError::NotFound(id))?;
        self.start_refit(segmentation, JobReason::Refit).await
    }

    /// Reads the plugin settings `configs` again (relative paths from `base`): new and rebuilt
    /// libraries are loaded beside the old ones, and every dynamic segmentation of a plugin
    /// that now serves another build or other default parameters is refitted with it (a refit
    /// of the old build still running is cancelled first). Segmentations of a plugin that was
    /// removed or disabled keep their members and their fitted model until their next refit.
    pub async fn reload_plugins(
        &self,
        configs: Vec<PluginConfig>,
        base: PathBuf,
    ) -> EngineResult<PluginsReloaded> {
        // In a task of its own: a caller that goes away (a request timeout, a closed
        // connection) must not leave the plugins swapped and their segmentations unrefitted.
        let inner = self.inner.clone();
        let reloading = tokio::spawn(async move {
            let report = inner.host.clone().reload_off_runtime(configs, base).await;
            let refitted = refit_changed(&inner, &report).await;
            (report, refitted)
        });
        let (report, refitted) = reloading
            .await
            .map_err(|error| EngineError::Conflict(format!("the plugin reload stopped: {error}")))?;
        tracing::info!(plugins = report.plugins.len(), refitted = refitted.len(), "plugins reloaded");
        Ok(PluginsReloaded { report, refitted })
    }

    /// Starts a refit job; returns its id.
    pub(crate) async fn start_refit(
        &self,
        segmentation: segmentation::Model,
        reason: JobReason,
    ) -> EngineResult<i64> {
        refit::start(&self.inner, segmentation, reason).await
    }

    /// Asks the running refit of segmentation `id` to stop, here at once, or, when another
    /// server runs it, at its runner's next lease renewal; false if none is running.
    pub async fn cancel(&self, id: i64) -> EngineResult<bool> {
        {
            let jobs = self.inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(job) = jobs.get(&id) {
                job.cancel.store(true, Ordering::SeqCst);
                return Ok(true);
            }
        }
        Ok(self.inner.store.request_job_cancel(id).await?.is_some())
    }

    /// Asks every running refit and preview to stop (at its next check, between plugin
    /// calls), as when the server shuts down; memberships stay as they were. Returns how many.
    pub fn cancel_all(&self) -> usize {
        let jobs = self.inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        for job in jobs.values() {
            job.cancel.store(true, Ordering::SeqCst);
        }
        jobs.len() + preview::cancel_all(&self.inner)
    }

    /// How previews run.
    pub fn preview_settings(&self) -> PreviewSettings {
        self.inner.settings.previews
    }

    /// Starts a preview job for `owner` (an API key's name; none without authentication),
    /// holding `permit` until it ends. The plugin and the parameters are checked first.
    pub async fn start_preview(
        &self,
        request: PreviewRequest,
        owner: Option<String>,
        permit: Box<dyn std::any::Any + Send>,
    ) -> EngineResult<kindred_store::entity::preview_job::Model> {
        preview::start(&self.inner, request, owner, permit).await
    }

    /// Preview job `id`, if it is running or still kept.
    pub async fn preview(&self, id: i64) -> EngineResult<Option<kindred_store::entity::preview_job::Model>> {
        let since = preview::kept_since(&self.inner.settings.previews);
        Ok(self.inner.store.preview(id, since).await?)
    }

    /// Preview jobs running or still kept, newest first, at most `limit`: those `owner`
    /// started, or everyone's when `owner` is `None`.
    pub async fn previews(
        &self,
        owner: Option<Option<&str>>,
        limit: u64,
    ) -> EngineResult<Vec<kindred_store::entity::preview_job::Model>> {
        let since = preview::kept_since(&self.inner.settings.previews);
        Ok(self.inner.store.previews(owner, since, limit).await?)
    }

    /// Starts the probabilistic identity pass over every customer as a job, as `by`, holding
    /// `permit` until it ends: merges (unless `dry_run`) and suggestions as
    /// [`kindred_store::Store::resolve_identities`] makes them, the survivors re-assigned live.
    /// Refused while another runs.
    pub async fn start_resolve(
        &self,
        settings: kindred_store::identity::MatchSettings,
        dry_run: bool,
        by: String,
        permit: Box<dyn std::any::Any + Send>,
    ) -> EngineResult<kindred_store::entity::resolve_job::Model> {
        resolve::start(&self.inner, settings, dry_run, by, permit).await
    }

    /// Cancels preview job `id`; false if it was not running.
    pub async fn cancel_preview(&self, id: i64) -> EngineResult<bool> {
        preview::cancel(&self.inner, id).await
    }

    /// The running refit of segmentation `id`, if any.
    pub fn job(&self, id: i64) -> Option<JobState> {
        let jobs = self.inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.get(&id).map(|job| JobState {
            job_id: job.job_id,
            done: job.done.load(Ordering::Relaxed),
            total: job.total.load(Ordering::Relaxed),
        })
    }

    /// Wakes the write worker after a write committed: the customers it touched are in the
    /// store's queue (the write appended them in its own transaction), and are re-assigned in
    /// every dynamic segmentation at once instead of at the worker's next poll. Never waits.
    pub fn written(&self) {
        self.inner.wake.wake();
    }

    /// Tells the feed reader that a deleted customer's exits were committed (the store keeps
    /// them for every server's subscribers), so they are published at once. Never waits.
    pub fn customer_deleted(&self) {
        self.inner.feed_wake.notify_one();
    }

    /// Edits a segment of a static segmentation by hand: adds the listed customers, removes
    /// them, or makes them its only members. Returns what changed (written and published).
    pub async fn edit_members(
        &self,
        id: i64,
        segment: &str,
        customer_ids: &[i64],
        edit: MemberEdit,
    ) -> EngineResult<MembershipDiff> {
        let current = self.inner.store.segmentation(id).await?.ok_or(EngineError::NotFound(id))?;
        if current.mode != SegmentationMode::Static {
            return Err(EngineError::Conflict(format!(
                "segmentation {id} is dynamic: its strategy decides its members; make it static to edit them"
            )));
        }
        if segment.trim().is_empty() {
            return Err(EngineError::Invalid { field: "segment", message: "must not be empty".to_owned() });
        }
        let lock = self.inner.lock_for(id);
        let _guard = lock.lock().await;
        // A refit under way (on any server) would write its own members over the edit when
        // it ends.
        let running = match self.job(id) {
            Some(job) => Some(job.job_id),
            None => self.inner.store.running_job(id).await?.map(|job| job.id),
        };
        if let Some(job) = running {
            return Err(EngineError::Conflict(format!(
                "segmentation {id} is being refitted (job {job}): edit its members once the job has ended, or cancel it"
            )));
        }
        let old: Vec<Member> = match edit {
            MemberEdit::Replace => self.inner.store.members_of(id).await?,
            MemberEdit::Add | MemberEdit::Remove => self.inner.store.members_among(id, customer_ids).await?,
        };
        let old: Vec<Member> = old.into_iter().filter(|member| member.segment == segment).collect();
        let new: Vec<Member> = match edit {
            MemberEdit::Remove => {
                let removed: std::collections::HashSet<i64> = customer_ids.iter().copied().collect();
                old.iter().filter(|member| !removed.contains(&member.customer_id)).cloned().collect()
            }
            MemberEdit::Add | MemberEdit::Replace => {
                let kept: HashMap<i64, Option<f64>> = old.iter().map(|m| (m.customer_id, m.score)).collect();
                let mut listed: Vec<i64> = customer_ids.to_vec();
                listed.sort_unstable();
                listed.dedup();
                listed
                    .into_iter()
                    .map(|id| Member {
                        customer_id: id,
                        segment: segment.to_owned(),
                        score: kept.get(&id).copied().flatten(),
                    })
                    .collect()
            }
        };
        let mut diff = diff::diff(old, new);
        if !diff.entered.is_empty() || !diff.exited.is_empty() {
            let applied =
                self.inner.store.apply_membership_diff(id, &diff, ChangeReason::Manual, None, None).await?;
            // A listed customer deleted since the caller looked them up is left out.
            diff.drop_customers(&applied.gone);
            self.inner.publish(id, &diff, ChangeReason::Manual, applied.at);
        }
        Ok(diff)
    }

    /// Membership changes as they are written.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<MembershipChange> {
        self.inner.changes.subscribe()
    }

    /// Refit progress as it happens.
    pub fn subscribe_progress(&self) -> broadcast::Receiver<JobProgress> {
        self.inner.progress.subscribe()
    }
}
