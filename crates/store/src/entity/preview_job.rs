//! A row of `preview_jobs`: a strategy run over the population (or a sample of it) in the
//! background, its progress, and its result as JSON once it is done.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "preview_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub strategy: String,
    /// The parameters asked for, as JSON (the plugin's defaults are laid under them).
    #[sea_orm(column_type = "Text")]
    pub params: String,
    /// Customers in the random sample, or none for everyone.
    pub sample: Option<i64>,
    /// The API key that started it; none without authentication.
    pub owner: Option<String>,
    pub status: crate::states::JobStatus,
    pub customers_total: i64,
    pub customers_done: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// What the run found, as JSON.
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
