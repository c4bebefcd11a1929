//! `segmentations.degraded_since`: since when a segmentation's memberships may be stale
//! because re-assigning customers after writes failed (status `degraded`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds the time a segmentation became degraded.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_degraded"
    }
}

#[derive(DeriveIden)]
enum Segmentations {
    Table,
    DegradedSince,
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Segmentations::Table)
                    .add_column(timestamp_with_time_zone_null(Segmentations::DegradedSince))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Segmentations::Table)
                    .drop_column(Segmentations::DegradedSince)
                    .to_owned(),
            )
            .await
    }
}
