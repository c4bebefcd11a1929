//! A row of `ties`: a relationship between two customers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "ties")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub from_id: i64,
    pub to_id: i64,
    pub kind: String,
    #[sea_orm(column_type = "Double")]
    pub weight: f64,
    pub mutual: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The external ids its ends arrived under, when they were aliases.
    pub from_arrived_under: Option<String>,
    pub to_arrived_under: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The customer at the other end from `customer_id`.
    pub fn other_end(&self, customer_id: i64) -> i64 {
        if self.from_id == customer_id { self.to_id } else { self.from_id }
    }
}
