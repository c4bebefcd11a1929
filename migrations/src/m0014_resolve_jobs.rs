//! `resolve_jobs`: runs of the probabilistic identity pass (`resolveIdentities`), with the
//! stage they are at, their progress and, once done, what they merged and suggested.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the table of resolve jobs.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_resolve_jobs"
    }
}

#[derive(DeriveIden)]
enum ResolveJobs {
    Table,
    Id,
    DryRun,
    Status,
    Stage,
    Done,
    Total,
    StartedBy,
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
                    .table(ResolveJobs::Table)
                    .col(big_pk_auto(ResolveJobs::Id))
                    .col(boolean(ResolveJobs::DryRun))
                    .col(string(ResolveJobs::Status))
                    .col(string(ResolveJobs::Stage))
                    .col(big_integer(ResolveJobs::Done).default(0))
                    .col(big_integer(ResolveJobs::Total).default(0))
                    .col(string_null(ResolveJobs::StartedBy))
                    .col(text_null(ResolveJobs::Error))
                    .col(text_null(ResolveJobs::Result))
                    .col(timestamp_with_time_zone(ResolveJobs::StartedAt).default(Expr::current_timestamp()))
                    .col(timestamp_with_time_zone_null(ResolveJobs::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // Running jobs are found at start and before another is started.
        manager
            .create_index(
                Index::create()
                    .name("idx_resolve_jobs_status")
                    .table(ResolveJobs::Table)
                    .col(ResolveJobs::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ResolveJobs::Table).to_owned()).await
    }
}
