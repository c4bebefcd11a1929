//! `duplicate_suggestions`: pairs of customers the probabilistic matching found doubtful,
//! with their probability and field-by-field evidence, waiting for a person to accept (merge)
//! or reject them. A rejected pair is kept so that it is never suggested again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the review queue of probable duplicates.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_duplicate_suggestions"
    }
}

#[derive(DeriveIden)]
enum DuplicateSuggestions {
    Table,
    Id,
    CustomerA,
    CustomerB,
    Probability,
    Weight,
    Evidence,
    Status,
    CreatedAt,
    DecidedAt,
    DecidedBy,
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
        let customer = |name: &str, column: DuplicateSuggestions| {
            ForeignKey::create()
                .name(name)
                .from(DuplicateSuggestions::Table, column)
                .to(Customers::Table, Customers::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(DuplicateSuggestions::Table)
                    .col(big_pk_auto(DuplicateSuggestions::Id))
                    // The lower customer id first.
                    .col(big_integer(DuplicateSuggestions::CustomerA))
                    .col(big_integer(DuplicateSuggestions::CustomerB))
                    .col(double(DuplicateSuggestions::Probability))
                    .col(double(DuplicateSuggestions::Weight))
                    .col(json_binary(DuplicateSuggestions::Evidence))
                    // `pending`, `accepted` or `rejected`.
                    .col(string(DuplicateSuggestions::Status))
                    .col(
                        timestamp_with_time_zone(DuplicateSuggestions::CreatedAt)
                            .default(Expr::current_timestamp()),
                    )
                    .col(timestamp_with_time_zone_null(DuplicateSuggestions::DecidedAt))
                    .col(string_null(DuplicateSuggestions::DecidedBy))
                    .foreign_key(&mut customer("fk_suggestions_a", DuplicateSuggestions::CustomerA))
                    .foreign_key(&mut customer("fk_suggestions_b", DuplicateSuggestions::CustomerB))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_suggestions_pair")
                    .table(DuplicateSuggestions::Table)
                    .col(DuplicateSuggestions::CustomerA)
                    .col(DuplicateSuggestions::CustomerB)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_suggestions_review")
                    .table(DuplicateSuggestions::Table)
                    .col(DuplicateSuggestions::Status)
                    .col(DuplicateSuggestions::Probability)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_suggestions_b")
                    .table(DuplicateSuggestions::Table)
                    .col(DuplicateSuggestions::CustomerB)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(DuplicateSuggestions::Table).to_owned()).await
    }
}
