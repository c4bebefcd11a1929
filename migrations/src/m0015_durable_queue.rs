//! Models that survive restarts and a queue of touched customers that nothing forgets.
//!
//! - `customer_changes` is rebuilt so a row names a customer by id (API writes, which know it)
//!   or by external id (imports, merges): the queue the write worker consumes. A row is
//!   deleted only in the transaction that writes the difference it caused.
//! - `segmentation_pending`: customers touched while a segmentation was being refitted,
//!   re-assigned in it once the refit has ended (with the new model, or the old one if the
//!   refit failed), with the queue row that named them: a refit that succeeds removes those it
//!   covered.
//! - `segmentation_states`: the fitted state of each dynamic segmentation's strategy, saved
//!   when a refit commits, under the model version that made it (the job, the library's
//!   SHA-256 and the parameters): a server starting loads it instead of refitting.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Rebuilds the change queue and adds pending re-assignments and saved states.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_durable_queue"
    }
}

#[derive(DeriveIden)]
enum CustomerChanges {
    Table,
    Id,
    CustomerId,
    ExternalId,
    At,
}

#[derive(DeriveIden)]
enum SegmentationPending {
    Table,
    Id,
    SegmentationId,
    CustomerId,
    ChangeId,
}

#[derive(DeriveIden)]
enum SegmentationStates {
    Table,
    SegmentationId,
    JobId,
    CoveredChange,
    LibrarySha256,
    Params,
    State,
    SavedAt,
}

#[derive(DeriveIden)]
enum Segmentations {
    Table,
    Id,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Rows waiting in the old queue are covered by the refits every server started with
        // before this version (no state is saved yet, so the first start refits too).
        manager.drop_table(Table::drop().table(CustomerChanges::Table).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(CustomerChanges::Table)
                    .col(big_pk_auto(CustomerChanges::Id))
                    // Not foreign keys: a customer deleted or merged since is resolved (or
                    // skipped) when the row is read.
                    .col(big_integer_null(CustomerChanges::CustomerId))
                    .col(string_null(CustomerChanges::ExternalId))
                    .col(timestamp_with_time_zone(CustomerChanges::At).default(Expr::current_timestamp()))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SegmentationPending::Table)
                    .col(big_pk_auto(SegmentationPending::Id))
                    .col(big_integer(SegmentationPending::SegmentationId))
                    .col(big_integer(SegmentationPending::CustomerId))
                    // The newest queue row that named the customer: a refit that read the
                    // data after it covers it.
                    .col(big_integer(SegmentationPending::ChangeId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SegmentationPending::Table, SegmentationPending::SegmentationId)
                            .to(Segmentations::Table, Segmentations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_segmentation_pending_segmentation")
                    .table(SegmentationPending::Table)
                    .col(SegmentationPending::SegmentationId)
                    .col(SegmentationPending::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SegmentationStates::Table)
                    .col(big_integer(SegmentationStates::SegmentationId).primary_key())
                    .col(big_integer(SegmentationStates::JobId))
                    // The newest queue row committed before the refit read its population.
                    .col(big_integer(SegmentationStates::CoveredChange))
                    .col(string(SegmentationStates::LibrarySha256))
                    .col(text(SegmentationStates::Params))
                    .col(blob(SegmentationStates::State))
                    .col(
                        timestamp_with_time_zone(SegmentationStates::SavedAt)
                            .default(Expr::current_timestamp()),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SegmentationStates::Table, SegmentationStates::SegmentationId)
                            .to(Segmentations::Table, Segmentations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SegmentationStates::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SegmentationPending::Table).to_owned()).await
    }
}
