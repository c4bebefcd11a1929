//! `segmentation_jobs.excluded`: how many customers a refit left out because they refused
//! profiling.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds the count of excluded customers to jobs.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_consent"
    }
}

#[derive(DeriveIden)]
enum SegmentationJobs {
    Table,
    Excluded,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SegmentationJobs::Table)
                    .add_column(big_integer(SegmentationJobs::Excluded).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SegmentationJobs::Table)
                    .drop_column(SegmentationJobs::Excluded)
                    .to_owned(),
            )
            .await
    }
}
