//! A row of `membership_events`: a customer entered or exited a segment, when and why.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "membership_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub segmentation_id: i64,
    pub customer_id: i64,
    pub segment: String,
    /// `entered` or `exited`.
    pub change: String,
    #[sea_orm(column_type = "Double", nullable)]
    pub score: Option<f64>,
    /// `refit`, `write`, `schedule` or `manual`.
    pub reason: crate::states::ChangeReason,
    pub job_id: Option<i64>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
