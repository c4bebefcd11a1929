//! PostgreSQL's bulk paths.
//!
//! - An interaction's source id is unique where it is set: the unique index holds only the
//!   rows that have one (most have none), so a bulk import maintains one index fewer of the
//!   size of the table. SQLite keeps its column constraint (dropping it means rebuilding the
//!   table); its unique index lets NULLs repeat as well.
//! - `interactions` has no foreign key to `customers`: checked row by row it cost about a third
//!   of a bulk import. The store keeps each interaction with its customer by row locks instead
//!   (`store/customer_locks.rs`), and deletes a customer's interactions itself. SQLite keeps
//!   its foreign key (dropping one means rebuilding the table).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Narrows the interactions' source id index to the rows that have one, and drops their
/// foreign key on PostgreSQL.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_bulk_paths"
    }
}

// The trait's signature elides SchemaManager's lifetime; async_trait needs ours to match.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "CREATE UNIQUE INDEX idx_interactions_source_id ON interactions (source_id) \
             WHERE source_id IS NOT NULL",
        )
        .await?;
        conn.execute_unprepared("ALTER TABLE interactions DROP CONSTRAINT interactions_source_id_key")
            .await?;
        conn.execute_unprepared("ALTER TABLE interactions DROP CONSTRAINT fk_interactions_customer").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "ALTER TABLE interactions ADD CONSTRAINT fk_interactions_customer FOREIGN KEY (customer_id) \
             REFERENCES customers (id) ON DELETE CASCADE",
        )
        .await?;
        conn.execute_unprepared(
            "ALTER TABLE interactions ADD CONSTRAINT interactions_source_id_key UNIQUE (source_id)",
        )
        .await?;
        conn.execute_unprepared("DROP INDEX idx_interactions_source_id").await?;
        Ok(())
    }
}
