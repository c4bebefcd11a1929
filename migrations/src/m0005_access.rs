//! `api_keys` (who may call the API, with which role; only a hash of each key is kept) and
//! `audit_log` (who did what and when, for every mutation).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the key and audit tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_access"
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Role,
    Prefix,
    Hash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    KeyName,
    Role,
    Action,
    Target,
    Outcome,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string(ApiKeys::Name).unique_key())
                    .col(string(ApiKeys::Role))
                    .col(string(ApiKeys::Prefix).unique_key())
                    .col(string(ApiKeys::Hash))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt).default(Expr::current_timestamp()))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(string_null(AuditLog::KeyName))
                    .col(string(AuditLog::Role))
                    .col(string(AuditLog::Action))
                    .col(string_null(AuditLog::Target))
                    .col(string(AuditLog::Outcome))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("audit_log_at").table(AuditLog::Table).col(AuditLog::At).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_key_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::KeyName)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await
    }
}
