//! A row of `interactions`: something a customer did or said on a channel.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub occurred_at: DateTimeUtc,
    pub channel: Option<String>,
    pub kind: String,
    #[sea_orm(column_type = "Double", nullable)]
    pub amount: Option<f64>,
    pub currency: Option<String>,
    #[sea_orm(column_type = "Double", nullable)]
    pub cost_to_serve: Option<f64>,
    pub text: Option<String>,
    pub source_id: Option<String>,
    pub created_at: DateTimeUtc,
    /// The external id it arrived under, when that was an alias of its customer.
    pub arrived_under: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
