//! `erased_customers`: one tombstone per erased customer, holding only the SHA-256 of their
//! external id, so an old import file replayed later does not bring them back.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the tombstones of erased customers.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_erasure"
    }
}

#[derive(DeriveIden)]
enum ErasedCustomers {
    Table,
    Id,
    ExternalIdHash,
    ErasedAt,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ErasedCustomers::Table)
                    .col(big_pk_auto(ErasedCustomers::Id))
                    // Lower-case hex of SHA-256 over the trimmed external id: no personal data
                    // in clear, and unique, so an id is tombstoned once.
                    .col(string(ErasedCustomers::ExternalIdHash).unique_key())
                    .col(
                        timestamp_with_time_zone(ErasedCustomers::ErasedAt)
                            .default(Expr::current_timestamp()),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ErasedCustomers::Table).to_owned()).await
    }
}
