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
    /// The word stored for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentationStatus::Ready => "ready",
            SegmentationStatus::Running => "running",
            SegmentationStatus::Failed => "failed",
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
        assert_eq!(SegmentationStatus::Ready.to_value(), "ready");
        for status in DeliveryStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
    }

    #[test]
    fn an_unknown_word_is_an_error_not_a_state() {
        assert!(JobStatus::try_from_value(&"finished".to_owned()).is_err());
        assert!(ChangeReason::try_from_value(&"Refit".to_owned()).is_err());
        assert!(SegmentationStatus::try_from_value(&String::new()).is_err());
    }
}
