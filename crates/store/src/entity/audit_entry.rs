//! A row of `audit_log`: one mutation, who asked for it and how it ended. Holds no personal
//! data: targets are Kindred ids.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// The API key's name; none when the server runs without authentication.
    pub key_name: Option<String>,
    /// The caller's role.
    pub role: crate::states::Role,
    /// The mutation, e.g. `createSegmentation`.
    pub action: String,
    /// What it was about, by Kindred id (e.g. `segmentation 3`), when known.
    pub target: Option<String>,
    /// `ok`, or the error code (`VALIDATION`, `NOT_FOUND`, ...).
    pub outcome: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
