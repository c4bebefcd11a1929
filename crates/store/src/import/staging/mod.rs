//! Interactions, ties and needs imported into PostgreSQL travel by `COPY`.
//!
//! The import has a connection of its own: a pool of exactly one
//! ([`crate::Store::single_connection`]), on which each chunk's transaction is begun and ended
//! by hand, so that sea-orm's statements and the `COPY`s of the chunk run in the same
//! transaction on the same session. The transaction runs as on SQLite (customers found or
//! created, erased customers and source id conflicts refused, the change feed written); then
//! the rows it keeps, with the customer ids it resolved, are sent in PostgreSQL's binary `COPY`
//! format (one statement, no SQL to parse per row):
//!
//! - A chunk of interactions expected to be new goes straight into `interactions` with
//!   `COPY interactions FROM STDIN`, PostgreSQL's fastest way in, unscreened (see
//!   [`Conflicts`]); if a row turns out to be stored already, the transaction is rolled back
//!   and the chunk written again the careful way.
//! - The careful way, and every chunk of ties and needs: `COPY` into a temporary staging table
//!   (`ON COMMIT DELETE ROWS`: emptied when the transaction ends), then one
//!   `INSERT ... SELECT ... ON CONFLICT` into the table (two for an upsert: insert the new,
//!   then update those that differ).
//!
//! So the rows imported, the lines refused and the counts are those of multi-row inserts, and
//! a chunk is still written whole or not at all. If the connection is lost, PostgreSQL rolls
//! the chunk back and the pool opens no other (see `single_connection`): the import fails
//! rather than write part of a chunk outside its transaction.

mod interactions;
mod needs;
mod ties;

pub(crate) use interactions::write_staged_interactions;
pub(crate) use needs::upsert_staged_needs;
pub(crate) use ties::{StagedTie, upsert_staged_ties};

use crate::error::{StoreError, StoreResult};
use crate::pg_copy::{BinaryWriter, copy_in, exec_error};
use crate::sql::statement;
use crate::written::WriteCounts;
use sea_orm::sqlx::{AssertSqlSafe, Executor, raw_sql};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

/// An import's connection to PostgreSQL, on which its chunks are written.
pub(crate) struct Staging {
    conn: DatabaseConnection,
    /// Whether interactions met stored ones lately.
    pub(crate) conflicts: Conflicts,
}

/// Whether the last chunks of interactions met stored ones. A chunk of new rows needs neither
/// the screen of its source ids against stored ones nor `ON CONFLICT` (whose checks cost about
/// a third of an insert), so a chunk is first written without both; if a row turns out to be
/// stored already, the transaction is rolled back and the chunk written again, screened and
/// with `ON CONFLICT DO NOTHING`, as are the next few chunks (a file imported again meets
/// stored rows throughout) before the plain way is tried again.
#[derive(Debug, Default)]
pub(crate) struct Conflicts {
    /// Chunks left to write the careful way straight away.
    skip_plain: std::sync::atomic::AtomicU32,
}

impl Conflicts {
    /// Chunks written the careful way after one that met stored rows.
    const SKIPPED_AFTER_CONFLICT: u32 = 8;

    /// Whether this chunk is written the plain way first.
    pub(crate) fn try_plain(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.skip_plain
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1))
            .is_err()
    }

    /// Notes that a chunk written the plain way met a stored row.
    pub(crate) fn met(&self) {
        self.skip_plain.store(Self::SKIPPED_AFTER_CONFLICT, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A staging table: how it is made (once per connection; emptied when each transaction
/// ends), and the `COPY` that fills it with the columns in the order its rows are written.
pub(super) struct StagingTable {
    create: &'static str,
    copy: &'static str,
}

impl Staging {
    /// Writes through `conn`, a pool of one connection ([`crate::Store::single_connection`]).
    pub(crate) fn new(conn: DatabaseConnection) -> Self {
        Self { conn, conflicts: Conflicts::default() }
    }

    /// The connection the chunks' transactions run on.
    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Begins a chunk's transaction on the connection.
    pub(crate) async fn begin(&self) -> StoreResult<()> {
        Ok(self.conn.execute_unprepared("BEGIN").await.map(drop)?)
    }

    /// Commits the chunk's transaction, or rolls it back.
    pub(crate) async fn end(&self, commit: bool) -> StoreResult<()> {
        let end = if commit { "COMMIT" } else { "ROLLBACK" };
        Ok(self.conn.execute_unprepared(end).await.map(drop)?)
    }

    /// Sends `rows` rows written by `writer` with the `COPY ... FROM STDIN` statement `copy`,
    /// in the chunk's transaction, after running `before` (if any) on the same connection.
    async fn copy(
        &self,
        before: Option<&str>,
        copy: &str,
        writer: BinaryWriter,
        rows: u64,
    ) -> StoreResult<()> {
        let mut conn = self.conn.get_postgres_connection_pool().acquire().await.map_err(exec_error)?;
        if let Some(sql) = before {
            (&mut *conn).execute(raw_sql(AssertSqlSafe(sql.to_owned()))).await.map_err(exec_error)?;
        }
        let copied = copy_in(&mut conn, copy, &writer.finish()).await?;
        if copied != rows {
            return Err(StoreError::ReadTask(format!("{copied} of {rows} rows were copied")));
        }
        Ok(())
    }

    /// Fills `table` (made if missing) with `rows` rows written by `writer`.
    async fn stage(&self, table: &StagingTable, writer: BinaryWriter, rows: u64) -> StoreResult<()> {
        self.copy(Some(table.create), table.copy, writer, rows).await
    }

    /// Closes the connection (and so drops the staging tables).
    pub(crate) async fn close(self) -> StoreResult<()> {
        Ok(self.conn.close().await?)
    }
}

/// Runs `insert`, an `INSERT ... SELECT` of `rows` rows from a staging table, first with
/// `ON CONFLICT (key) DO NOTHING`; if not every row was new, again with `ON CONFLICT (key)`
/// followed by `update` (a `DO UPDATE ... WHERE` something differs). Counts what happened.
async fn upsert<C: ConnectionTrait>(
    conn: &C,
    insert: &str,
    key: &str,
    update: &str,
    rows: u64,
) -> StoreResult<WriteCounts> {
    let first = format!("{insert} ON CONFLICT ({key}) DO NOTHING");
    let inserted =
        conn.execute_raw(statement(DbBackend::Postgres, &first, Vec::new())).await?.rows_affected();
    if inserted == rows {
        return Ok(WriteCounts { inserted, updated: 0, unchanged: 0 });
    }
    let second = format!("{insert} ON CONFLICT ({key}) {update}");
    let updated =
        conn.execute_raw(statement(DbBackend::Postgres, &second, Vec::new())).await?.rows_affected();
    Ok(WriteCounts { inserted, updated, unchanged: rows - inserted - updated })
}

/// Text of `value` when `alias` (the external id a row arrived under), none otherwise.
fn arrived_under(value: &str, alias: bool) -> Option<&str> {
    alias.then_some(value)
}
