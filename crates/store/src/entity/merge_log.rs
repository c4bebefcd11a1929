//! A row of `merge_log`: one customer merged into another, why, on what evidence, by whom,
//! and (until the survivor is erased) what an unmerge restores. Rows are never deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "merge_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survivor_id: i64,
    pub absorbed_id: i64,
    pub absorbed_external_id: String,
    /// `identifier`, `manual` or `probabilistic`.
    pub reason: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub evidence: Json,
    pub decided_by: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub snapshot: Option<Json>,
    pub merged_at: DateTimeUtc,
    pub unmerged_at: Option<DateTimeUtc>,
    pub unmerged_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
