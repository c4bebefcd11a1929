//! Segmentations, their memberships, the history of every enter and exit, and refit jobs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates the segmentation tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_segmentations"
    }
}

#[derive(DeriveIden)]
enum Segmentations {
    Table,
    Id,
    Name,
    Strategy,
    Params,
    Mode,
    RefreshIntervalSeconds,
    Status,
    Error,
    Model,
    LastRefreshedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    SegmentationId,
    CustomerId,
    Segment,
    Score,
    Since,
}

#[derive(DeriveIden)]
enum MembershipEvents {
    Table,
    Id,
    SegmentationId,
    CustomerId,
    Segment,
    Change,
    Score,
    Reason,
    JobId,
    At,
}

#[derive(DeriveIden)]
enum SegmentationJobs {
    Table,
    Id,
    SegmentationId,
    Status,
    Reason,
    CustomersTotal,
    CustomersDone,
    Entered,
    Exited,
    Rescored,
    Error,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

fn now<T: IntoIden>(column: T) -> ColumnDef {
    timestamp_with_time_zone(column).default(Expr::current_timestamp()).take()
}

fn cascade<T: IntoIden + 'static, R: IntoIden + 'static>(
    name: &str,
    table: T,
    column: impl IntoIden,
    to: R,
    to_column: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(to, to_column)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    columns: Vec<DynIden>,
) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(table).to_owned();
    for column in columns {
        index.col(column);
    }
    manager.create_index(index).await
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Segmentations::Table)
                    .col(big_pk_auto(Segmentations::Id))
                    .col(string(Segmentations::Name).unique_key())
                    .col(string(Segmentations::Strategy))
                    .col(text(Segmentations::Params))
                    .col(string(Segmentations::Mode))
                    .col(big_integer_null(Segmentations::RefreshIntervalSeconds))
                    .col(string(Segmentations::Status))
                    .col(text_null(Segmentations::Error))
                    .col(text_null(Segmentations::Model))
                    .col(timestamp_with_time_zone_null(Segmentations::LastRefreshedAt))
                    .col(now(Segmentations::CreatedAt))
                    .col(now(Segmentations::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(big_integer(Memberships::SegmentationId))
                    .col(big_integer(Memberships::CustomerId))
                    .col(string(Memberships::Segment))
                    .col(double_null(Memberships::Score))
                    .col(now(Memberships::Since))
                    .primary_key(
                        Index::create()
                            .col(Memberships::SegmentationId)
                            .col(Memberships::CustomerId)
                            .col(Memberships::Segment),
                    )
                    .foreign_key(&mut cascade(
                        "fk_memberships_segmentation",
                        Memberships::Table,
                        Memberships::SegmentationId,
                        Segmentations::Table,
                        Segmentations::Id,
                    ))
                    .foreign_key(&mut cascade(
                        "fk_memberships_customer",
                        Memberships::Table,
                        Memberships::CustomerId,
                        Customers::Table,
                        Customers::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // A segment's members, and a customer's memberships.
        index(
            manager,
            "idx_memberships_segment",
            Memberships::Table,
            vec![
                Memberships::SegmentationId.into_iden(),
                Memberships::Segment.into_iden(),
                Memberships::CustomerId.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "idx_memberships_customer",
            Memberships::Table,
            vec![Memberships::CustomerId.into_iden()],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SegmentationJobs::Table)
                    .col(big_pk_auto(SegmentationJobs::Id))
                    .col(big_integer(SegmentationJobs::SegmentationId))
                    .col(string(SegmentationJobs::Status))
                    .col(string(SegmentationJobs::Reason))
                    .col(big_integer(SegmentationJobs::CustomersTotal).default(0))
                    .col(big_integer(SegmentationJobs::CustomersDone).default(0))
                    .col(big_integer(SegmentationJobs::Entered).default(0))
                    .col(big_integer(SegmentationJobs::Exited).default(0))
                    .col(big_integer(SegmentationJobs::Rescored).default(0))
                    .col(text_null(SegmentationJobs::Error))
                    .col(now(SegmentationJobs::StartedAt))
                    .col(timestamp_with_time_zone_null(SegmentationJobs::FinishedAt))
                    .foreign_key(&mut cascade(
                        "fk_segmentation_jobs_segmentation",
                        SegmentationJobs::Table,
                        SegmentationJobs::SegmentationId,
                        Segmentations::Table,
                        Segmentations::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_segmentation_jobs_segmentation",
            SegmentationJobs::Table,
            vec![SegmentationJobs::SegmentationId.into_iden(), SegmentationJobs::Id.into_iden()],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(MembershipEvents::Table)
                    .col(big_pk_auto(MembershipEvents::Id))
                    .col(big_integer(MembershipEvents::SegmentationId))
                    .col(big_integer(MembershipEvents::CustomerId))
                    .col(string(MembershipEvents::Segment))
                    .col(string(MembershipEvents::Change))
                    .col(double_null(MembershipEvents::Score))
                    .col(string(MembershipEvents::Reason))
                    .col(big_integer_null(MembershipEvents::JobId))
                    .col(now(MembershipEvents::At))
                    .foreign_key(&mut cascade(
                        "fk_membership_events_segmentation",
                        MembershipEvents::Table,
                        MembershipEvents::SegmentationId,
                        Segmentations::Table,
                        Segmentations::Id,
                    ))
                    .foreign_key(&mut cascade(
                        "fk_membership_events_customer",
                        MembershipEvents::Table,
                        MembershipEvents::CustomerId,
                        Customers::Table,
                        Customers::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        // Sizes over time (a segmentation's events in order) and a customer's history.
        index(
            manager,
            "idx_membership_events_segmentation",
            MembershipEvents::Table,
            vec![MembershipEvents::SegmentationId.into_iden(), MembershipEvents::At.into_iden()],
        )
        .await?;
        index(
            manager,
            "idx_membership_events_customer",
            MembershipEvents::Table,
            vec![MembershipEvents::CustomerId.into_iden(), MembershipEvents::At.into_iden()],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["membership_events", "segmentation_jobs", "memberships", "segmentations"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
