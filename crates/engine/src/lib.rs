//! Adaptive segments.
//!
//! A segmentation is one strategy with parameters, dynamic (kept true on every write) or
//! static (a snapshot). The [`Engine`] refits segmentations as background jobs that stream
//! the population through the strategy and write only the difference (who entered, who
//! exited, whose score changed) in one transaction; re-assigns the customers each write
//! touches in every dynamic segmentation, with what the last fit learned, on a worker fed by
//! a queue; refits on schedule; and publishes every enter and exit, and the progress of every
//! job, on broadcast channels; and sends each segmentation's enters and exits to its webhooks.

mod diff;
mod engine;
mod error;
mod events;
mod feed;
pub mod metrics;
mod models;
pub mod preview;
mod queue;
mod realtime;
mod refit;
mod repair;
mod resolve;
mod schedule;
mod settings;
mod state;
mod takeover;
mod tracker;
mod webhooks;

pub use diff::diff;
pub use engine::{Engine, JobState, MemberEdit, PluginsReloaded};
pub use error::{EngineError, EngineResult};
pub use events::{Change, JobKind, JobProgress, MembershipChange, changes_of};
pub use kindred_store::{JobStatus, SegmentationMode};
/// A certificate to trust for `https` webhook receivers ([`WebhookSettings::trusted_roots`]).
pub use reqwest::Certificate;
pub use settings::{EngineSettings, default_server_id};
pub use webhooks::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSettings, backoff, random_secret, signature};
