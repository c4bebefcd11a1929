//! A row of `customer_identifiers`: one identifier (an external id in an origin, an email, a
//! phone, a social handle) a customer is known by, normalised; unique across customers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "customer_identifiers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    /// `external_id`, `email`, `phone` or `social:<network>`.
    pub kind: String,
    pub value: String,
    /// The system it came from (`default` when none was named).
    pub origin: String,
    pub first_seen: DateTimeUtc,
    pub last_seen: DateTimeUtc,
    /// The external id of the record that brought it, when that record was written to this
    /// customer under another id (an alias's, or one its identifiers matched); `None` for the
    /// customer's own.
    pub arrived_under: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
