//! `merge_exits`: the segments a customer left because it was merged into another, waiting to
//! be published live by the server (whichever process made the merge: an import runs apart).
//! Rows are taken and removed as they are published.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the queue of exits caused by merges.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_merge_exits"
    }
}

#[derive(DeriveIden)]
enum MergeExits {
    Table,
    Id,
    SegmentationId,
    CustomerId,
    Segment,
    Score,
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
                    .table(MergeExits::Table)
                    .col(big_pk_auto(MergeExits::Id))
                    // Not foreign keys: the customer is gone, the segmentation may go.
                    .col(big_integer(MergeExits::SegmentationId))
                    .col(big_integer(MergeExits::CustomerId))
                    .col(string(MergeExits::Segment))
                    .col(double_null(MergeExits::Score))
                    .col(timestamp_with_time_zone(MergeExits::At).default(Expr::current_timestamp()))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MergeExits::Table).to_owned()).await
    }
}
