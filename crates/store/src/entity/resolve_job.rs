//! A row of `resolve_jobs`: one run of the probabilistic identity pass, the stage it is at and
//! its progress, and what it did (JSON) once it ended.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "resolve_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Nothing is written: the run only says what it would do.
    pub dry_run: bool,
    pub status: crate::states::JobStatus,
    /// `reading`, `blocking`, `comparing`, `estimating`, `scoring`, `clustering`, `merging`,
    /// `suggesting`, `done`.
    pub stage: String,
    /// Units of the stage done (customers, pairs, groups) of `total`.
    pub done: i64,
    pub total: i64,
    /// Who started it.
    pub started_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// What the run did, as JSON.
    #[sea_orm(column_type = "Text", nullable)]
    pub result: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The server running it (its `server.id`), while it runs.
    pub runner: Option<String>,
    /// Until when its runner holds it; another server takes it over after.
    pub lease_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
