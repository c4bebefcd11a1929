//! `preview_jobs`: previews of a strategy over a large population, run in the background and
//! kept with their result for a while, visible to the key that started them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the table of preview jobs.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_preview_jobs"
    }
}

#[derive(DeriveIden)]
enum PreviewJobs {
    Table,
    Id,
    Strategy,
    Params,
    Sample,
    Owner,
    Status,
    CustomersTotal,
    CustomersDone,
    Error,
    Result,
    StartedAt,
    FinishedAt,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PreviewJobs::Table)
                    .col(big_pk_auto(PreviewJobs::Id))
                    .col(string(PreviewJobs::Strategy))
                    .col(text(PreviewJobs::Params))
                    .col(big_integer_null(PreviewJobs::Sample))
                    .col(string_null(PreviewJobs::Owner))
                    .col(string(PreviewJobs::Status))
                    .col(big_integer(PreviewJobs::CustomersTotal).default(0))
                    .col(big_integer(PreviewJobs::CustomersDone).default(0))
                    .col(text_null(PreviewJobs::Error))
                    .col(text_null(PreviewJobs::Result))
                    .col(timestamp_with_time_zone(PreviewJobs::StartedAt).default(Expr::current_timestamp()))
                    .col(timestamp_with_time_zone_null(PreviewJobs::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // Finished previews are purged by age; running ones are found at start.
        manager
            .create_index(
                Index::create()
                    .name("idx_preview_jobs_status_finished")
                    .table(PreviewJobs::Table)
                    .col(PreviewJobs::Status)
                    .col(PreviewJobs::FinishedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PreviewJobs::Table).to_owned()).await
    }
}
