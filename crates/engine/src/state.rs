//! What the engine's tasks share: the store, the plugins, the fitted instance of each dynamic
//! segmentation, the jobs running in this process, the locks under which memberships change,
//! and the channels events are published on. The engine, jobs, the write worker, the change
//! feed and the scheduler all work on this state; none of them knows another through it.

use crate::events::{JobProgress, MembershipChange};
use crate::queue::Wake;
use crate::settings::EngineSettings;
use kindred_plugin_host::{PluginHost, StrategyInstance};
use kindred_store::{ChangeReason, MembershipDiff, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tokio::sync::broadcast;

/// A refit under way.
pub(crate) struct RunningJob {
    pub job_id: i64,
    pub cancel: Arc<AtomicBool>,
    pub done: Arc<AtomicU64>,
    pub total: Arc<AtomicU64>,
    /// Told when it has ended (a reload waits so, to refit with the new build).
    pub on_end: Vec<tokio::sync::oneshot::Sender<()>>,
    /// Its run is over and only its end is being recorded: a new job waits for it rather
    /// than being refused.
    pub ending: bool,
}

/// What the engine shares between its tasks.
pub(crate) struct Inner {
    pub store: Store,
    pub host: Arc<PluginHost>,
    pub settings: EngineSettings,
    pub changes: broadcast::Sender<MembershipChange>,
    pub progress: broadcast::Sender<JobProgress>,
    /// The fitted instance of each dynamic segmentation.
    pub live: RwLock<HashMap<i64, Arc<StrategyInstance>>>,
    pub jobs: Mutex<HashMap<i64, RunningJob>>,
    /// Preview jobs running in this process, by id.
    pub previews: Mutex<HashMap<i64, RunningPreview>>,
    /// One lock per segmentation: a diff is read and written under it.
    pub locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the write worker.
    pub wake: Wake,
    /// The queue position each dynamic segmentation's model covers: its refit read the data
    /// of every customer the queue named up to it.
    pub covered: Mutex<HashMap<i64, i64>>,
    /// Degraded segmentations with a repair pending, and that repair's attempt (0 first).
    pub repairs: Mutex<HashMap<i64, u32>>,
    /// Wakes the feed reader: events were committed (here, or on another server).
    pub feed_wake: tokio::sync::Notify,
    /// Wakes the model reloader: a refit on another server committed a new model.
    pub models_wake: tokio::sync::Notify,
    /// The refit job whose model each live instance is (its model version).
    pub versions: Mutex<HashMap<i64, i64>>,
}

impl Inner {
    /// The lock under which segmentation `id`'s memberships are read and changed.
    pub fn lock_for(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.entry(id).or_default().clone()
    }

    /// Counts the events of a written diff and tells the feed reader, which publishes them
    /// from the store (so subscribers on every server hear them, in commit order).
    pub fn publish(
        &self,
        _segmentation_id: i64,
        diff: &MembershipDiff,
        reason: ChangeReason,
        _at: chrono::DateTime<chrono::Utc>,
    ) {
        let count = diff.entered.len() + diff.exited.len();
        crate::metrics::membership_changes(reason.as_str(), count);
        if count > 0 {
            self.feed_wake.notify_one();
        }
    }

    /// The model version (refit job) of segmentation `id`'s live instance.
    pub fn version(&self, id: i64) -> Option<i64> {
        self.versions.lock().unwrap_or_else(PoisonError::into_inner).get(&id).copied()
    }

    /// Records that segmentation `id`'s live instance is the model of refit job `job_id`.
    pub fn set_version(&self, id: i64, job_id: Option<i64>) {
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        match job_id {
            Some(job_id) => versions.insert(id, job_id),
            None => versions.remove(&id),
        };
    }

    /// The queue position segmentation `id`'s model covers (0: none known).
    pub fn covered(&self, id: i64) -> i64 {
        self.covered.lock().unwrap_or_else(PoisonError::into_inner).get(&id).copied().unwrap_or(0)
    }

    /// Records that segmentation `id`'s model covers the queue up to `position`.
    pub fn set_covered(&self, id: i64, position: i64) {
        self.covered.lock().unwrap_or_else(PoisonError::into_inner).insert(id, position);
    }

    pub fn set_live(&self, id: i64, instance: Option<Arc<StrategyInstance>>) {
        let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
        match instance {
            Some(instance) => live.insert(id, instance),
            None => live.remove(&id),
        };
    }
}

/// A preview job running in this process.
pub(crate) struct RunningPreview {
    /// Raised to stop it.
    pub cancel: Arc<AtomicBool>,
}
