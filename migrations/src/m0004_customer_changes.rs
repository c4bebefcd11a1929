//! `customer_changes`: customers a process other than the server (an import) has written,
//! so that the running server re-assigns them in its dynamic segmentations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the change feed.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_customer_changes"
    }
}

#[derive(DeriveIden)]
enum CustomerChanges {
    Table,
    Id,
    ExternalId,
    At,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustomerChanges::Table)
                    .col(big_pk_auto(CustomerChanges::Id))
                    .col(string(CustomerChanges::ExternalId))
                    .col(timestamp_with_time_zone(CustomerChanges::At).default(Expr::current_timestamp()))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CustomerChanges::Table).to_owned()).await
    }
}
