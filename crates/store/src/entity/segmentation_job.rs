//! A row of `segmentation_jobs`: one refit of a segmentation, its progress and outcome.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "segmentation_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub segmentation_id: i64,
    pub status: crate::states::JobStatus,
    /// Why it ran.
    pub reason: crate::states::JobReason,
    pub customers_total: i64,
    pub customers_done: i64,
    pub entered: i64,
    pub exited: i64,
    pub rescored: i64,
    /// Customers left out because they refused profiling.
    pub excluded: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The server running it (its `server.id`), while it runs.
    pub runner: Option<String>,
    /// Until when its runner holds it; another server takes it over after.
    pub lease_until: Option<DateTimeUtc>,
    /// Someone asked (of any server) that it stop.
    pub cancel_requested: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
