//! A row of `needs`: what a customer is trying to get done or cares about.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "needs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub tag: String,
    pub kind: String,
    pub source: String,
    #[sea_orm(column_type = "Double")]
    pub weight: f64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The external id it arrived under, when that was an alias of its customer.
    pub arrived_under: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
