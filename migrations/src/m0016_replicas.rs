//! Several servers on one database act as one, coordinating only through it.
//!
//! - Refit, preview and resolve jobs carry the server running them (`runner`) and a lease
//!   (`lease_until`) the runner renews: a job whose lease has expired is taken over (refits,
//!   previews) or failed (resolves) by another server. At most one refit job runs per
//!   segmentation (a unique index over the running ones).
//! - `leases`: named leases (the schedule's leader), held by one server until they expire.
//! - `segmentations.model_job_id`: the refit job whose model is current; a server re-assigning
//!   with another model leaves its customers for one that holds it.
//! - `membership_events` and `merge_exits` (PostgreSQL): the transaction that wrote each row,
//!   so every server can follow them in commit order.
//! - `webhook_deliveries` rows are claimed by one server until `claimed_until` (a request to a
//!   receiver outlives any transaction), so servers share the outbox. The queue's rows need no
//!   column: a worker holds them with `FOR UPDATE SKIP LOCKED` in the transaction that
//!   consumes them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Adds leases, claims and model versions.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_replicas"
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    Until,
}

#[derive(DeriveIden)]
enum Segmentations {
    Table,
    ModelJobId,
}

#[derive(DeriveIden)]
enum Leased {
    CancelRequested,
    Runner,
    LeaseUntil,
    ClaimedUntil,
}

/// Tables whose jobs run under a lease.
const LEASED: [&str; 3] = ["segmentation_jobs", "preview_jobs", "resolve_jobs"];
/// Tables whose rows are claimed by one server at a time, beyond one transaction.
const CLAIMED: [&str; 1] = ["webhook_deliveries"];

/// Tables every server reads as a feed of what happened.
const FEEDS: [&str; 2] = ["membership_events", "merge_exits"];

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in LEASED {
            // One column per statement: SQLite alters one at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(string_null(Leased::Runner))
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(timestamp_with_time_zone_null(Leased::LeaseUntil))
                        .to_owned(),
                )
                .await?;
        }
        // Asked of a server that does not run the refit: its runner sees it at its next renewal.
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("segmentation_jobs"))
                    .add_column(boolean(Leased::CancelRequested).default(false))
                    .to_owned(),
            )
            .await?;
        for table in CLAIMED {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(timestamp_with_time_zone_null(Leased::ClaimedUntil))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        // Before the index: only the newest running job of a segmentation can still be one.
        db.execute_unprepared(
            "UPDATE segmentation_jobs SET status = 'failed', error = 'the server stopped while this job ran' \
             WHERE status = 'running' AND id NOT IN \
             (SELECT MAX(id) FROM segmentation_jobs WHERE status = 'running' GROUP BY segmentation_id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX uq_segmentation_jobs_running ON segmentation_jobs (segmentation_id) \
             WHERE status = 'running'",
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(string(Leases::Name).primary_key())
                    .col(string(Leases::Holder))
                    .col(timestamp_with_time_zone(Leases::Until))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Segmentations::Table)
                    .add_column(big_integer_null(Segmentations::ModelJobId))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            // The transaction that wrote each event: a reader publishes rows only once every
            // transaction that began before them has ended, so none is skipped by committing
            // after a later one (ids are handed out before commit). SQLite's writers take
            // turns, so there ids alone are in commit order.
            for table in FEEDS {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)"
                ))
                .await?;
                db.execute_unprepared(&format!("CREATE INDEX idx_{table}_txid ON {table} (txid, id)"))
                    .await?;
            }
        }
        // The model each dynamic segmentation holds now: its saved state's, or its last
        // successful refit's.
        db.execute_unprepared(
            "UPDATE segmentations SET model_job_id = COALESCE(\
             (SELECT job_id FROM segmentation_states WHERE segmentation_states.segmentation_id = segmentations.id), \
             (SELECT MAX(id) FROM segmentation_jobs WHERE segmentation_jobs.segmentation_id = segmentations.id \
              AND segmentation_jobs.status = 'succeeded'))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Leases::Table).to_owned()).await?;
        manager.get_connection().execute_unprepared("DROP INDEX uq_segmentation_jobs_running").await?;
        Ok(())
    }
}
