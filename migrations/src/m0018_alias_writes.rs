//! What arrives for a merged identity after its merge, kept so that an unmerge can give it
//! back to the customer it came for.
//!
//! - `customer_identifiers.arrived_under`: the external id of the record that brought an
//!   identifier, when that record was written to another customer (an alias's, or one its
//!   identifiers matched); `NULL` for a customer's own.
//! - `alias_writes`: each profile write that reached the survivor of a merge under an external
//!   id other than the survivor's own, with each field it set (its value before and after).
//!   An unmerge replays those that arrived under the absorbed customer's ids onto it, and takes
//!   them back off the survivor where nothing wrote the field since.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds `customer_identifiers.arrived_under` and the `alias_writes` table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_alias_writes"
    }
}

#[derive(DeriveIden)]
enum CustomerIdentifiers {
    Table,
    ArrivedUnder,
}

#[derive(DeriveIden)]
enum AliasWrites {
    Table,
    Id,
    CustomerId,
    ArrivedUnder,
    Fields,
    WrittenAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CustomerIdentifiers::Table)
                    .add_column(string_null(CustomerIdentifiers::ArrivedUnder))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AliasWrites::Table)
                    .col(big_pk_auto(AliasWrites::Id))
                    .col(big_integer(AliasWrites::CustomerId))
                    .col(string(AliasWrites::ArrivedUnder))
                    .col(json_binary(AliasWrites::Fields))
                    .col(timestamp_with_time_zone(AliasWrites::WrittenAt).default(Expr::current_timestamp()))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alias_writes_customer")
                            .from(AliasWrites::Table, AliasWrites::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_alias_writes_customer")
                    .table(AliasWrites::Table)
                    .col(AliasWrites::CustomerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AliasWrites::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CustomerIdentifiers::Table)
                    .drop_column(CustomerIdentifiers::ArrivedUnder)
                    .to_owned(),
            )
            .await
    }
}
