//! How the engine is tuned: what the server reads from its settings and hands down.

use std::time::Duration;

/// Tuning of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// A refit taking longer than this is logged as slow.
    pub slow_job: Duration,
    /// Most customers re-assigned in one batch by the write worker.
    pub write_batch: usize,
    /// Dynamic segmentations are refitted after this long without a refit, so rules
    /// relative to now (ages, "the last 365 days") stay true without any write.
    pub daily_refit: Duration,
    /// How often the scheduler looks for due refits.
    pub schedule_tick: Duration,
    /// Refit, when the engine starts, the dynamic segmentations that have no usable saved
    /// model (none saved, its plugin cannot save one, another build of the plugin, other
    /// parameters); the others load theirs.
    pub refit_on_start: bool,
    /// How webhooks are sent.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// How often the write worker reads the queue of touched customers when no write of this
    /// server woke it (imports and merges by other processes), and merge exits are published.
    pub change_poll: Duration,
    /// How previews run.
    pub previews: PreviewSettings,
    /// The wait before the first refit that repairs a degraded segmentation; doubled after
    /// each failed one.
    pub repair_backoff: Duration,
    /// The longest wait between two repair refits.
    pub repair_backoff_max: Duration,
    /// This server's name among the servers sharing one database: it holds job leases and
    /// the schedule's lead under it. Unique per running server.
    pub server_id: String,
    /// How long a job, a claimed batch of the queue or the schedule's lead is held without
    /// renewal: when its server dies, another takes over after this long. Renewed every third
    /// of it.
    pub lease: Duration,
    /// How often a server checks, besides being told, whether a refit on another server
    /// committed a new model.
    pub model_poll: Duration,
}

impl EngineSettings {
    /// A lease for this server from now.
    pub(crate) fn lease_from_now(&self) -> kindred_store::Lease {
        kindred_store::Lease {
            holder: self.server_id.clone(),
            until: chrono::Utc::now()
                + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(30)),
        }
    }
}

/// A name for this process that no other server shares: host, process id and a random part.
pub fn default_server_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "kindred".to_owned());
    format!("{host}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            slow_job: Duration::from_secs(30),
            write_batch: 5_000,
            daily_refit: Duration::from_secs(24 * 60 * 60),
            schedule_tick: Duration::from_secs(30),
            refit_on_start: true,
            webhooks: crate::webhooks::WebhookSettings::default(),
            change_poll: Duration::from_millis(500),
            previews: PreviewSettings::default(),
            repair_backoff: Duration::from_secs(5),
            repair_backoff_max: Duration::from_secs(10 * 60),
            server_id: default_server_id(),
            lease: Duration::from_secs(30),
            model_poll: Duration::from_secs(5),
        }
    }
}

/// How previews run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewSettings {
    /// The most customers a preview answered at once may cover; larger ones must be jobs.
    pub sync_max_customers: u64,
    /// How long a finished preview job is kept with its result.
    pub kept_for: Duration,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        Self { sync_max_customers: 50_000, kept_for: Duration::from_secs(60 * 60) }
    }
}
