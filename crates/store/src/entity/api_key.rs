//! A row of `api_keys`: a key that may call the API with a role. Only a hash of the key is
//! kept; `prefix` finds the row for a key presented.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who or what uses it; unique, and what the audit log names.
    pub name: String,
    /// What it may do.
    pub role: crate::states::Role,
    /// The key's public part, shown in lists.
    pub prefix: String,
    /// The Argon2 hash of the whole key (PHC string).
    pub hash: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
