//! The states Kindred stores as words, one Rust enum each, defined here once. They are read
//! and written through sea-orm's active enums: a stored word that is none of them fails the
//! read instead of turning into a valid value.

use sea_orm::entity::prelude::*;

/// Why memberships changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ChangeReason {
    /// A refit.
    #[sea_orm(string_value = "refit")]
    Refit,
    /// A write touched the customer.
    #[sea_orm(string_value = "write")]
    Write,
    /// The daily re-evaluation of rules relative to now.
    #[sea_orm(string_value = "schedule")]
    Schedule,
    /// Someone added or removed members by hand.
    #[sea_orm(string_value = "manual")]
    Manual,
}

/// The state of a refit or preview job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum JobStatus {
    /// Still going.
    #[sea_orm(string_value = "running")]
    Running,
    /// Finished (a refit's memberships written, a preview's result kept).
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Stopped by an error; nothing was written.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Stopped on request; nothing was written.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// Where a segmentation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SegmentationStatus {
    /// Its memberships are up to date with its last refit.
    #[sea_orm(string_value = "ready")]
    Ready,
    /// A refit is running.
    #[sea_orm(string_value = "running")]
    Running,
    /// The last refit failed; the memberships before it are kept.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Re-assigning customers after writes failed, so some memberships may be stale; a refit
    /// that repairs it is under way or scheduled.
    #[sea_orm(string_value = "degraded")]
    Degraded,
}

/// How a segmentation follows the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SegmentationMode {
    /// Adaptive: every write re-assigns the customers it touches, at once.
    #[sea_orm(string_value = "dynamic")]
    Dynamic,
    /// A snapshot: changed only by a refresh or by hand.
    #[sea_orm(string_value = "static")]
    Static,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum DeliveryStatus {
    /// Waiting to be sent, or to be retried.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The receiver answered 2xx.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Given up after the last retry.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Never sent, and never to be: the customer refused marketing after the event was queued.
    #[sea_orm(string_value = "withheld")]
    Withheld,
}

/// Why a refit job ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum JobReason {
    /// The segmentation was just created.
    #[sea_orm(string_value = "create")]
    Create,
    /// Its definition changed.
    #[sea_orm(string_value = "update")]
    Update,
    /// Someone asked for a refit.
    #[sea_orm(string_value = "refit")]
    Refit,
    /// Its schedule came round.
    #[sea_orm(string_value = "schedule")]
    Schedule,
    /// The server started and the segmentation had no model.
    #[sea_orm(string_value = "start")]
    Start,
    /// Re-assignment failed (the segmentation is degraded): a fresh instance replaces the one
    /// that failed.
    #[sea_orm(string_value = "repair")]
    Repair,
    /// Its plugin was reloaded with a new build or new default parameters.
    #[sea_orm(string_value = "reload")]
    Reload,
}

impl JobReason {
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobReason::Create => "create",
            JobReason::Update => "update",
            JobReason::Refit => "refit",
            JobReason::Schedule => "schedule",
            JobReason::Start => "start",
            JobReason::Repair => "repair",
            JobReason::Reload => "reload",
        }
    }

    /// The reason recorded on the membership changes the job writes.
    pub fn change_reason(self) -> ChangeReason {
        match self {
            JobReason::Schedule => ChangeReason::Schedule,
            JobReason::Create
            | JobReason::Update
            | JobReason::Refit
            | JobReason::Start
            | JobReason::Repair
            | JobReason::Reload => ChangeReason::Refit,
        }
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Role {
    /// Everything, including keys, plugins and erasure.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Reads, writes data and manages segmentations.
    #[sea_orm(string_value = "editor")]
    Editor,
    /// Reads.
    #[sea_orm(string_value = "analyst")]
    Analyst,
    /// Only writes customers, interactions, ties and needs.
    #[sea_orm(string_value = "ingest")]
    Ingest,
}

/// A kind of operation a role may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read anything.
    Read,
    /// Write customers, interactions, ties and needs.
    Ingest,
    /// Create, change, refit and delete segmentations, their members and webhooks.
    Manage,
    /// Erase and delete people, read the audit log, export a person's data.
    Admin,
}

impl Role {
    /// Every role, as written in settings and on the command line.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Analyst, Role::Ingest];

    /// The word stored for it, also its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Analyst => "analyst",
            Role::Ingest => "ingest",
        }
    }

    /// Whether the role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            Role::Admin => true,
            Role::Editor => permission != Permission::Admin,
            Role::Analyst => permission == Permission::Read,
            Role::Ingest => permission == Permission::Ingest,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A role name that is not one of admin, editor, analyst and ingest.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: use admin, editor, analyst or ingest")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == text).ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

impl DeliveryStatus {
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Withheld => "withheld",
        }
    }
}

impl ChangeReason {
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Refit => "refit",
            ChangeReason::Write => "write",
            ChangeReason::Schedule => "schedule",
            ChangeReason::Manual => "manual",
        }
    }
}

impl JobStatus {
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

impl SegmentationStatus {
    /// Every status.
    pub const ALL: [SegmentationStatus; 4] = [
        SegmentationStatus::Ready,
        SegmentationStatus::Running,
        SegmentationStatus::Failed,
        SegmentationStatus::Degraded,
    ];

    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentationStatus::Ready => "ready",
            SegmentationStatus::Running => "running",
            SegmentationStatus::Failed => "failed",
            SegmentationStatus::Degraded => "degraded",
        }
    }
}

impl SegmentationMode {
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentationMode::Dynamic => "dynamic",
            SegmentationMode::Static => "static",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    #[test]
    fn each_state_is_stored_as_its_word_and_read_back() {
        for reason in ChangeReason::iter() {
            assert_eq!(reason.to_value(), reason.as_str());
            assert_eq!(ChangeReason::try_from_value(&reason.to_value()).ok(), Some(reason));
        }
        for status in JobStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        for mode in SegmentationMode::iter() {
            assert_eq!(mode.to_value(), mode.as_str());
        }
        for status in SegmentationStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        assert_eq!(SegmentationStatus::iter().count(), SegmentationStatus::ALL.len());
        for status in DeliveryStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        for reason in JobReason::iter() {
            assert_eq!(reason.to_value(), reason.as_str());
        }
        for role in Role::iter() {
            assert_eq!(role.to_value(), role.as_str());
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert_eq!(Role::iter().count(), Role::ALL.len());
    }

    #[test]
    fn an_unknown_word_is_an_error_not_a_state() {
        assert!(JobStatus::try_from_value(&"finished".to_owned()).is_err());
        assert!(ChangeReason::try_from_value(&"Refit".to_owned()).is_err());
        assert!(SegmentationStatus::try_from_value(&String::new()).is_err());
        assert!(Role::try_from_value(&"root".to_owned()).is_err());
        assert!("Admin".parse::<Role>().is_err());
    }
}
