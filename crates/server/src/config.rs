//! Settings from `kindred.toml` and `KINDRED__SECTION__KEY` environment variables.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Everything Kindred can be configured with. Unknown keys are an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the data lives.
    #[serde(default)]
    pub database: DatabaseSettings,
    /// The HTTP server.
    #[serde(default)]
    pub server: ServerSettings,
    /// Logging.
    #[serde(default)]
    pub log: LogSettings,
    /// Adaptive segments.
    #[serde(default)]
    pub segments: SegmentSettings,
    /// Webhook delivery.
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// Who may call the API.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Several servers on one PostgreSQL.
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// What data is plausible.
    #[serde(default)]
    pub data: DataSettings,
    /// How records from several systems are told to be one person.
    #[serde(default)]
    pub identity: IdentitySettings,
    /// Segmentation strategy plugins (`[[plugins]]`), loaded at start.
    #[serde(default)]
    pub plugins: Vec<kindred_plugin_host::PluginConfig>,
    /// The folder of the settings file (the working directory when there is none): relative
    /// plugin paths start here.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The settings file read at start (named on the command line, or `./kindred.toml` when
    /// it was there; `None`: none), read again, and required, when the plugins are reloaded.
    #[serde(skip)]
    pub named_file: Option<PathBuf>,
}

/// `[identity]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    /// The region national phone numbers (without `+CC`) are read in, such as `DE` or `GB`;
    /// none: only international numbers are accepted.
    pub default_phone_region: Option<String>,
    /// Regular expressions: an identifier whose normalised value matches one is never matched
    /// on (blank, `null`, `unknown`, all zeros, `test@example.com`, no-reply mailboxes by
    /// default). Setting the list replaces the defaults.
    pub blocked_values: Vec<String>,
    /// How many identifiers of a kind automatic matching lets one customer hold: keys
    /// `external_id` (per origin, default 1), `email` (5), `phone` (5), `social` (per
    /// network, 1).
    pub limits: std::collections::BTreeMap<kindred_domain::identity::IdentifierClass, usize>,
    /// Kinds of identifiers by priority, highest first: when a match would break a limit, the
    /// incoming record's identifier of the lowest priority is dropped and matching retried.
    /// Default: external_id, email, phone, social.
    pub priority: Vec<kindred_domain::identity::IdentifierClass>,
    /// Which value of each field survives a merge: `most_recent` (the default: the customer
    /// updated last, where it knows the field) or `origin_priority` (the first origin of
    /// `origin_priority`, then the most recent).
    pub survivorship: SurvivorshipRule,
    /// Origins in order of trust, for `survivorship = "origin_priority"`.
    pub origin_priority: Vec<String>,
    /// Probabilistic matching (`kindred resolve`): pairs at or above this match probability
    /// are merged.
    pub auto_merge_probability: f64,
    /// Pairs at or above this, below `auto_merge_probability`, are queued for review.
    pub review_probability: f64,
    /// `kindred import customers` ends with probabilistic matching of the new customers
    /// against everyone. Off by default until matching holds its precision on very large
    /// bases (see BENCHMARKS.md).
    pub resolve_after_import: bool,
}

/// `identity.survivorship`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurvivorshipRule {
    /// The most recent non-blank value.
    #[default]
    MostRecent,
    /// The value of the preferred origin.
    OriginPriority,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            default_phone_region: None,
            blocked_values: kindred_domain::identity::DEFAULT_BLOCKED
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            limits: Default::default(),
            priority: Vec::new(),
            survivorship: SurvivorshipRule::MostRecent,
            origin_priority: Vec::new(),
            auto_merge_probability: 0.95,
            review_probability: 0.8,
            resolve_after_import: false,
        }
    }
}

impl IdentitySettings {
    /// The settings of probabilistic matching, checked.
    pub fn matching(&self) -> anyhow::Result<kindred_matching::Settings> {
        anyhow::ensure!(
            self.review_probability > 0.0
                && self.review_probability <= self.auto_merge_probability
                && self.auto_merge_probability < 1.0,
            "identity.review_probability and identity.auto_merge_probability: need 0 < review <= auto_merge < 1, not {} and {}",
            self.review_probability,
            self.auto_merge_probability
        );
        Ok(kindred_matching::Settings {
            auto_merge: self.auto_merge_probability,
            review: self.review_probability,
            ..Default::default()
        })
    }

    /// The policy the store matches and merges with, checked.
    pub fn policy(&self) -> anyhow::Result<kindred_domain::identity::IdentityPolicy> {
        use kindred_domain::identity::{IdentityPolicy, IdentityRules, Survivorship};
        let rules = IdentityRules::new(&self.blocked_values, &self.limits, &self.priority)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let survivorship = match self.survivorship {
            SurvivorshipRule::MostRecent => Survivorship::MostRecent,
            SurvivorshipRule::OriginPriority => {
                anyhow::ensure!(
                    !self.origin_priority.is_empty(),
                    "identity.origin_priority: name at least one origin when survivorship = \"origin_priority\""
                );
                Survivorship::OriginPriority(
                    self.origin_priority.iter().map(|origin| origin.trim().to_lowercase()).collect(),
                )
            }
        };
        Ok(IdentityPolicy { rules, survivorship })
    }

    /// `default_phone_region`, checked.
    pub fn phone_region(&self) -> anyhow::Result<Option<kindred_domain::PhoneRegion>> {
        self.default_phone_region
            .as_deref()
            .map(|code| kindred_domain::PhoneRegion::parse("identity.default_phone_region", code))
            .transpose()
            .map_err(|error| anyhow::anyhow!("{error}"))
    }
}

/// `[data]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSettings {
    /// The largest amount (and cost to serve) an interaction may carry, by the API or an
    /// import; at most 1e15, so sums over any number of interactions stay finite.
    pub max_amount: f64,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self { max_amount: kindred_domain::Plausible::DEFAULT_MAX_AMOUNT }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` (the default, `sqlite://data/kindred.db`) or `postgres://...`.
    pub url: String,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// Statements slower than this many milliseconds are logged.
    pub slow_statement_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: "sqlite://data/kindred.db".into(), max_connections: 16, slow_statement_ms: 500 }
    }
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// `host:port` to listen on.
    pub bind: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A request taking longer than this many seconds is answered with 408.
    pub request_timeout_secs: u64,
    /// A client must send a request's headers within this many seconds, or its connection is
    /// closed (so slow clients cannot hold connections open).
    pub header_read_timeout_secs: u64,
    /// Requests per second each API key (or, without authentication, each client address)
    /// may make; more are answered with 429. 0: no limit.
    pub rate_limit_per_second: u32,
    /// Requests a caller may make at once above that rate.
    pub rate_limit_burst: u32,
    /// Heavy operations (previews, overlaps, personas, sizes over time, links, CSV exports)
    /// one API key may run at once.
    pub heavy_operations_per_key: usize,
    /// Heavy operations the server runs at once, for everyone.
    pub heavy_operations_total: usize,
    /// How long a heavy operation waits for its turn before the answer is 429 `BUSY`.
    pub heavy_wait_secs: u64,
    /// After SIGTERM or SIGINT, how long requests and refits have to finish before the
    /// process exits anyway (abandoning plugin calls that have not returned).
    pub shutdown_grace_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 1 << 20,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            rate_limit_per_second: 1_000,
            rate_limit_burst: 2_000,
            heavy_operations_per_key: 2,
            heavy_operations_total: 4,
            heavy_wait_secs: 2,
            shutdown_grace_secs: 10,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Whether API keys are required. Unset: required unless the server listens on a
    /// loopback address only; it cannot be turned off on any other address.
    pub enabled: Option<bool>,
}

/// `[cluster]`: several servers sharing one PostgreSQL database act as one; they coordinate
/// only through it, with leases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// This server's name among those sharing the database (shown as the runner of its
    /// jobs). Unset: host name, process id and a random part. Must differ between servers.
    pub server_id: Option<String>,
    /// Seconds a job, a claimed batch or the schedule's lead is held without renewal: when a
    /// server dies, another takes its work over after this long. Renewed every third of it.
    pub lease_secs: f64,
    /// Seconds between two checks for a model another server's refit committed, besides
    /// being told by the database at once.
    pub model_poll_secs: f64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self { server_id: None, lease_secs: 30.0, model_poll_secs: 5.0 }
    }
}

/// Seconds as a duration, at least `min` (and a garbled value is `min`).
fn seconds(secs: f64, min: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(secs.max(min)).unwrap_or(std::time::Duration::from_secs_f64(min))
}

/// `[segments]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentSettings {
    /// Refit jobs longer than this many seconds are logged as slow.
    pub slow_job_secs: u64,
    /// Most customers the write worker re-assigns in one batch.
    pub write_batch: usize,
    /// Refit at start the dynamic segmentations with no usable saved model (none saved, a
    /// plugin that cannot save one, another build, other parameters); the others load theirs.
    pub refit_on_start: bool,
    /// The most customers `previewSegmentation` covers; larger previews are preview jobs.
    pub sync_preview_max_customers: u64,
    /// How long a finished preview job is kept with its result, in seconds.
    pub preview_kept_secs: u64,
    /// Seconds before the refit that repairs a degraded segmentation; doubled after each
    /// failed one.
    pub repair_backoff_secs: u64,
    /// The longest wait between two repair refits, in seconds.
    pub repair_backoff_max_secs: u64,
}

impl Default for SegmentSettings {
    fn default() -> Self {
        Self {
            slow_job_secs: 30,
            write_batch: 5_000,
            refit_on_start: true,
            sync_preview_max_customers: 50_000,
            preview_kept_secs: 60 * 60,
            repair_backoff_secs: 5,
            repair_backoff_max_secs: 10 * 60,
        }
    }
}

/// `[webhooks]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Attempts per delivery before it is marked failed.
    pub max_attempts: u32,
    /// Seconds before the first retry, doubled at each further one.
    pub first_retry_secs: u64,
    /// Longest wait between retries, in seconds.
    pub max_retry_secs: u64,
    /// Seconds a receiver may take to answer.
    pub timeout_secs: u64,
    /// A PEM file of certificates to trust for `https` receivers besides the system's roots
    /// (receivers with a private CA).
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { max_attempts: 8, first_retry_secs: 2, max_retry_secs: 900, timeout_secs: 10, ca_file: None }
    }
}

impl WebhookSettings {
    /// The certificates in `ca_file` (relative to `base_dir`), if one is given.
    fn trusted_roots(&self, base_dir: &Path) -> anyhow::Result<Vec<kindred_engine::Certificate>> {
        let Some(path) = &self.ca_file else { return Ok(Vec::new()) };
        let path = base_dir.join(path);
        let pem = std::fs::read(&path)
            .with_context(|| format!("webhooks.ca_file: cannot read {}", path.display()))?;
        let roots = kindred_engine::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("webhooks.ca_file: {} is not a PEM certificate file", path.display()))?;
        anyhow::ensure!(!roots.is_empty(), "webhooks.ca_file: {} holds no certificate", path.display());
        Ok(roots)
    }
}

impl Settings {
    /// The engine's tuning from `[segments]` and `[webhooks]`; fails when the webhooks' CA
    /// file cannot be read.
    pub fn engine(&self) -> anyhow::Result<kindred_engine::EngineSettings> {
        let webhooks = kindred_engine::WebhookSettings {
            trusted_roots: self.webhooks.trusted_roots(&self.base_dir)?,
            max_attempts: self.webhooks.max_attempts.clamp(1, 100) as i32,
            first_retry: std::time::Duration::from_secs(self.webhooks.first_retry_secs.max(1)),
            max_retry: std::time::Duration::from_secs(self.webhooks.max_retry_secs.max(1)),
            timeout: std::time::Duration::from_secs(self.webhooks.timeout_secs.max(1)),
            ..Default::default()
        };
        Ok(kindred_engine::EngineSettings {
            slow_job: std::time::Duration::from_secs(self.segments.slow_job_secs),
            write_batch: self.segments.write_batch.max(1),
            refit_on_start: self.segments.refit_on_start,
            webhooks,
            previews: kindred_engine::preview::PreviewSettings {
                sync_max_customers: self.segments.sync_preview_max_customers,
                kept_for: std::time::Duration::from_secs(self.segments.preview_kept_secs.max(1)),
            },
            repair_backoff: std::time::Duration::from_secs(self.segments.repair_backoff_secs.max(1)),
            repair_backoff_max: std::time::Duration::from_secs(
                self.segments.repair_backoff_max_secs.max(self.segments.repair_backoff_secs).max(1),
            ),
            server_id: match &self.cluster.server_id {
                Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
                _ => kindred_engine::default_server_id(),
            },
            lease: seconds(self.cluster.lease_secs, 0.5),
            model_poll: seconds(self.cluster.model_poll_secs, 0.1),
            ..Default::default()
        })
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// human or json.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `kindred=debug,sea_orm=warn`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Human, level: "info".into() }
    }
}

/// The file read when `--config` is not given (used only if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "kindred.toml";

impl Settings {
    /// Loads settings from `path` (which must exist if given) or `./kindred.toml` (if it
    /// exists), then from `KINDRED__*` environment variables. Errors name the bad key.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        match path {
            Some(path) => {
                anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
                builder = builder.add_source(config::File::from(path.to_path_buf()).required(true));
            }
            None => {
                builder = builder.add_source(config::File::with_name(DEFAULT_CONFIG_FILE).required(false));
            }
        }
        let source = path.map_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE), Path::to_path_buf);
        builder = builder.add_source(
            config::Environment::with_prefix("KINDRED")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let mut settings: Settings =
            builder.build().and_then(|c| c.try_deserialize()).with_context(|| {
                format!("invalid settings (from {} and KINDRED__* variables)", source.display())
            })?;
        let file = path.map(Path::to_path_buf).or_else(|| {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.exists().then_some(default)
        });
        let folder = file.as_deref().and_then(Path::parent).filter(|folder| !folder.as_os_str().is_empty());
        settings.base_dir = match folder {
            Some(folder) => folder.to_path_buf(),
            None => std::env::current_dir().context("cannot read the working directory")?,
        };
        settings.named_file = file;
        settings.check()?;
        Ok(settings)
    }

    /// Reads the settings again from where they came from, for a plugin reload: the
    /// `[[plugins]]` entries and the folder relative paths start from.
    pub fn reload_plugins(&self) -> anyhow::Result<(Vec<kindred_plugin_host::PluginConfig>, PathBuf)> {
        let again = Self::load(self.named_file.as_deref())?;
        Ok((again.plugins, again.base_dir))
    }

    /// Whether the server requires API keys: as set, or by default only off on loopback.
    pub fn auth_enabled(&self) -> anyhow::Result<bool> {
        let bind: std::net::SocketAddr = self.server.bind.parse().with_context(|| {
            format!("server.bind: {:?} is not host:port (e.g. 127.0.0.1:8080)", self.server.bind)
        })?;
        let loopback = bind.ip().is_loopback();
        match self.auth.enabled {
            Some(false) if !loopback => anyhow::bail!(
                "auth.enabled: cannot be false when server.bind ({}) is not a loopback address; \
                 create keys with `kindred keys create`",
                self.server.bind
            ),
            Some(enabled) => Ok(enabled),
            None => Ok(!loopback),
        }
    }

    /// The gate's settings: authentication and the rate limit.
    pub fn gate(&self) -> anyhow::Result<crate::auth::GateSettings> {
        Ok(crate::auth::GateSettings {
            enabled: self.auth_enabled()?,
            per_second: std::num::NonZeroU32::new(self.server.rate_limit_per_second),
            burst: std::num::NonZeroU32::new(self.server.rate_limit_burst)
                .context("server.rate_limit_burst: must be at least 1")?,
        })
    }

    /// How much heavy work may run at once.
    pub fn heavy(&self) -> anyhow::Result<kindred_graphql::heavy::HeavyLimits> {
        anyhow::ensure!(
            self.server.heavy_operations_per_key > 0,
            "server.heavy_operations_per_key: must be at least 1"
        );
        anyhow::ensure!(
            self.server.heavy_operations_total > 0,
            "server.heavy_operations_total: must be at least 1"
        );
        Ok(kindred_graphql::heavy::HeavyLimits {
            per_key: self.server.heavy_operations_per_key,
            total: self.server.heavy_operations_total,
            wait: std::time::Duration::from_secs(self.server.heavy_wait_secs),
        })
    }

    fn check(&self) -> anyhow::Result<()> {
        let url = &self.database.url;
        anyhow::ensure!(
            url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:"),
            "database.url: {url:?} is not a sqlite:// or postgres:// URL"
        );
        anyhow::ensure!(self.database.max_connections > 0, "database.max_connections: must be at least 1");
        self.server.bind.parse::<std::net::SocketAddr>().with_context(|| {
            format!("server.bind: {:?} is not host:port (e.g. 127.0.0.1:8080)", self.server.bind)
        })?;
        self.gate()?;
        self.heavy()?;
        let max = kindred_domain::Plausible::HIGHEST_MAX_AMOUNT;
        anyhow::ensure!(
            self.data.max_amount > 0.0 && self.data.max_amount <= max,
            "data.max_amount: must be above 0 and at most {max:e}, not {}",
            self.data.max_amount
        );
        self.identity.phone_region()?;
        self.identity.policy()?;
        self.identity.matching()?;
        anyhow::ensure!(
            self.server.header_read_timeout_secs > 0,
            "server.header_read_timeout_secs: must be at least 1"
        );
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .with_context(|| format!("log.level: {:?} is not a valid filter", self.log.level))?;
        for (index, plugin) in self.plugins.iter().enumerate() {
            anyhow::ensure!(!plugin.name.trim().is_empty(), "plugins[{index}].name: must not be empty");
            if let Some(hash) = &plugin.sha256 {
                anyhow::ensure!(
                    hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
                    "plugins[{index}].sha256: {hash:?} is not 64 hex digits"
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load_text(text: &str) -> anyhow::Result<Settings> {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile()?;
        file.write_all(text.as_bytes())?;
        Settings::load(Some(file.path()))
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let settings = load_text("[server]\nbind = \"127.0.0.1:9999\"\n").unwrap();
        assert_eq!(settings.server.bind, "127.0.0.1:9999");
        assert_eq!(settings.database.url, "sqlite://data/kindred.db");
        assert_eq!(settings.log.format, LogFormat::Human);
    }

    #[test]
    fn auth_is_off_by_default_only_on_loopback() {
        let local = load_text("[server]\nbind = \"127.0.0.1:9999\"\n").unwrap();
        assert!(!local.auth_enabled().unwrap());
        let ipv6 = load_text("[server]\nbind = \"[::1]:9999\"\n").unwrap();
        assert!(!ipv6.auth_enabled().unwrap());
        let public = load_text("[server]\nbind = \"0.0.0.0:9999\"\n").unwrap();
        assert!(public.auth_enabled().unwrap(), "on any other address keys are required");
        let forced = load_text("[server]\nbind = \"127.0.0.1:9999\"\n[auth]\nenabled = true\n").unwrap();
        assert!(forced.auth_enabled().unwrap());
        let error = format!(
            "{:#}",
            load_text("[server]\nbind = \"0.0.0.0:9999\"\n[auth]\nenabled = false\n").unwrap_err()
        );
        assert!(error.contains("auth.enabled") && error.contains("0.0.0.0:9999"), "{error}");
        let gate = local.gate().unwrap();
        assert_eq!(gate.per_second.map(|rate| rate.get()), Some(1_000));
        let unlimited = load_text("[server]\nrate_limit_per_second = 0\n").unwrap();
        assert!(unlimited.gate().unwrap().per_second.is_none());
        let error = format!("{:#}", load_text("[server]\nrate_limit_burst = 0\n").unwrap_err());
        assert!(error.contains("server.rate_limit_burst"), "{error}");
    }

    #[test]
    fn segment_and_webhook_settings_reach_the_engine() {
        let settings =
            load_text("[segments]\nslow_job_secs = 5\nsync_preview_max_customers = 10\n[webhooks]\nmax_attempts = 3\nfirst_retry_secs = 1\n")
                .unwrap();
        let engine = settings.engine().unwrap();
        assert_eq!(engine.slow_job, std::time::Duration::from_secs(5));
        assert_eq!(engine.previews.sync_max_customers, 10);
        assert_eq!(engine.previews.kept_for.as_secs(), 3_600);
        assert!(engine.refit_on_start);
        assert_eq!((engine.webhooks.max_attempts, engine.webhooks.first_retry.as_secs()), (3, 1));
        assert_eq!(engine.webhooks.max_retry.as_secs(), 900);
        let error = format!("{:#}", load_text("[data]\nmax_amount = 1e300\n").unwrap_err());
        assert!(error.contains("data.max_amount"), "{error}");
        assert_eq!(load_text("[data]\nmax_amount = 5000.0\n").unwrap().data.max_amount, 5_000.0);
        let region = format!("{:#}", load_text("[identity]\ndefault_phone_region = \"XX\"\n").unwrap_err());
        assert!(region.contains("identity.default_phone_region: \"XX\""), "{region}");
        let settings = load_text("[identity]\ndefault_phone_region = \"de\"\n").unwrap();
        assert!(settings.identity.phone_region().unwrap().is_some());
        let error = format!("{:#}", load_text("[webhooks]\nretries = 3\n").unwrap_err());
        assert!(error.contains("retries"), "{error}");
    }

    #[test]
    fn identity_rules_are_read_and_checked() {
        use kindred_domain::identity::{IdentifierClass, Survivorship};
        let settings = load_text(
            "[identity]\nlimits = { email = 2, external_id = 1 }\npriority = [\"email\"]\n\
             survivorship = \"origin_priority\"\norigin_priority = [\"CRM\", \"shop\"]\n",
        )
        .unwrap();
        let policy = settings.identity.policy().unwrap();
        assert_eq!(policy.rules.limit(IdentifierClass::Email), 2);
        assert_eq!(policy.rules.limit(IdentifierClass::Phone), 5);
        assert_eq!(policy.rules.rank(IdentifierClass::Email), 0);
        assert_eq!(policy.survivorship, Survivorship::OriginPriority(vec!["crm".into(), "shop".into()]));
        let defaults = load_text("").unwrap().identity.policy().unwrap();
        let test_address = kindred_domain::identity::Identifier {
            kind: kindred_domain::identity::IdentifierKind::Email,
            value: "test@example.com".into(),
        };
        assert!(defaults.rules.blocked_by(&test_address).is_some(), "the default blocked values apply");
        for (text, named) in [
            ("[identity]\nblocked_values = [\"(\"]\n", "identity.blocked_values[0]"),
            ("[identity]\nlimits = { email = 0 }\n", "identity.limits.email"),
            ("[identity]\nsurvivorship = \"origin_priority\"\n", "identity.origin_priority"),
            ("[identity]\nlimits = { fax = 1 }\n", "fax"),
        ] {
            let error = format!("{:#}", load_text(text).unwrap_err());
            assert!(error.contains(named), "{text}: {error}");
        }
    }

    #[test]
    fn a_webhook_ca_file_that_cannot_be_used_is_named() {
        let missing = load_text("[webhooks]\nca_file = \"/nowhere/ca.pem\"\n").unwrap();
        let error = format!("{:#}", missing.engine().unwrap_err());
        assert!(error.contains("webhooks.ca_file") && error.contains("/nowhere/ca.pem"), "{error}");
        let mut not_pem = tempfile::NamedTempFile::new().unwrap();
        not_pem.write_all(b"not a certificate").unwrap();
        let text = format!("[webhooks]\nca_file = {:?}\n", not_pem.path().display().to_string());
        let error = format!("{:#}", load_text(&text).unwrap().engine().unwrap_err());
        assert!(error.contains("webhooks.ca_file"), "{error}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = format!("{:#}", load_text("[database]\nurll = \"x\"\n").unwrap_err());
        assert!(error.contains("urll"), "{error}");
        let error = format!("{:#}", load_text("[databse]\nurl = \"x\"\n").unwrap_err());
        assert!(error.contains("databse"), "{error}");
    }

    #[test]
    fn invalid_values_are_named() {
        let error = format!("{:#}", load_text("[server]\nbind = \"nowhere\"\n").unwrap_err());
        assert!(error.contains("server.bind"), "{error}");
        let error = format!("{:#}", load_text("[log]\nformat = \"xml\"\n").unwrap_err());
        assert!(error.contains("xml"), "{error}");
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/kindred.toml"))).is_err());
    }
}
