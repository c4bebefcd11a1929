//! Kindred's storage on SQLite (the embedded default) and PostgreSQL.
//!
//! [`Store`] owns a sea-orm connection pool. It reads and writes customers, interactions,
//! ties and needs; [`import`] streams CSV and NDJSON files into it in batches. All writes
//! are idempotent upserts (see [`write`]), so a file imported twice changes nothing.

mod access;
mod changes;
mod checkpoint;
mod children;
mod connect;
mod consent;
mod counts;
mod customer_locks;
mod customers;
pub mod entity;
mod erasure;
mod error;
mod feed;
mod group_commit;
mod identifiers;
pub mod identity;
pub mod import;
mod leases;
mod membership_diff;
mod memberships;
mod model_states;
mod mutations;
mod mutual_ties;
mod person;
mod personas;
mod pg_copy;
mod previews;
mod quality;
mod recording;
mod row_sink;
mod scan;
mod segment_stats;
mod segmentation_lock;
mod segmentations;
mod spend;
mod sql;
mod sqlite_direct;
pub mod states;
mod stream;
mod webhooks;
pub mod write;
mod write_txn;
mod written;

pub use access::{AuditFilter, NewApiKey, NewAuditEntry};
pub use changes::{Consumed, QueuedChanges};
pub use children::InteractionCursor;
pub use connect::{PoolUsage, Store, StoreOptions, sqlite_path};
pub use consent::StrategyTable;
pub use counts::RowCounts;
pub use customers::{CustomerFilter, CustomerWritten};
pub use erasure::{ErasureReceipt, external_id_hash};
pub use error::{StoreError, StoreResult};
pub use feed::{EVENTS_CHANNEL, FeedPosition, MODELS_CHANNEL};
pub use leases::{Lease, LeasedJobs, Renewal};
pub use membership_diff::{AppliedDiff, Member, MembershipDiff, RefitResult};
pub use model_states::{ModelState, ModelVersion};
pub use person::{PersonData, PersonTie};
pub use personas::{Count, NeedLift, Persona};
pub use previews::NewPreview;
pub use quality::{COUNTED_FIELDS, DataQuality};
pub use row_sink::{Cell, RowSink};
pub use segment_stats::{Bucket, OverlapCell, SegmentLink, SizesAt};
pub use segmentation_lock::SegmentationLock;
pub use segmentations::{INTERRUPTED, JobOutcome, NewSegmentation, SegmentationChanges};
pub use states::{
    ChangeReason, DeliveryStatus, JobReason, JobStatus, Permission, Role, SegmentationMode,
    SegmentationStatus, UnknownRole,
};
pub use webhooks::{DeliveryCounts, DueDeliveries};
pub use write_txn::WriteTransaction;
pub use written::WriteCounts;
