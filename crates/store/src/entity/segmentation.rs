//! A row of `segmentations`: one configured strategy run, its status and what it learned.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "segmentations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub strategy: String,
    /// The parameters, as JSON text.
    #[sea_orm(column_type = "Text")]
    pub params: String,
    pub mode: crate::states::SegmentationMode,
    /// Refit every this many seconds; none: on demand only.
    pub refresh_interval_seconds: Option<i64>,
    pub status: crate::states::SegmentationStatus,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// What the last fit learned, as JSON text.
    #[sea_orm(column_type = "Text", nullable)]
    pub model: Option<String>,
    pub last_refreshed_at: Option<DateTimeUtc>,
    /// Since when its memberships may be stale (status `degraded`); none otherwise.
    pub degraded_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The refit job whose model is current (none before the first refit).
    pub model_job_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
