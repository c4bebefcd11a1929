//! A row of `alias_writes`: a profile write that reached the survivor of a merge under an
//! external id other than the survivor's own, with each field it set (`{"field": {"from": ..,
//! "to": ..}}`), so that an unmerge can give it to the customer it came for.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "alias_writes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub arrived_under: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub fields: Json,
    pub written_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
