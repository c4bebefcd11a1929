//! A row of `duplicate_suggestions`: two customers probabilistic matching found doubtful,
//! with the evidence, waiting for a person, or decided.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duplicate_suggestions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The lower customer id.
    pub customer_a: i64,
    pub customer_b: i64,
    #[sea_orm(column_type = "Double")]
    pub probability: f64,
    #[sea_orm(column_type = "Double")]
    pub weight: f64,
    #[sea_orm(column_type = "JsonBinary")]
    pub evidence: Json,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
