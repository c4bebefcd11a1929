//! Interactions, ties and needs imported into PostgreSQL travel by `COPY`.
//!
//! A chunk's rows are sent in PostgreSQL's binary `COPY` format into a temporary table of the
//! import's own connection (one statement, no SQL to parse per row), before the chunk's
//! transaction begins. The transaction then runs as on SQLite (customers found or created,
//! erased customers and source id conflicts refused, the change feed written) on the same
//! connection, and moves the rows it keeps from the staging table into their table with one
//! `INSERT ... SELECT` (two for an upsert: insert the new, then update those that differ),
//! joined by line to the customer ids it resolved. So the rows imported, the lines refused and
//! the counts are the same as through multi-row inserts, and a chunk is still written whole or
//! not at all. The staging tables are temporary: never logged, seen by no one else, gone with
//! the connection.

mod interactions;
mod needs;
mod ties;

pub(crate) use interactions::insert_staged_interactions;
pub(crate) use needs::upsert_staged_needs;
pub(crate) use ties::{StagedTie, upsert_staged_ties};

use super::records::Record;
use crate::error::{StoreError, StoreResult};
use crate::pg_copy::{BinaryWriter, copy_in};
use crate::sql::statement;
use crate::written::WriteCounts;
use sea_orm::sqlx::{AssertSqlSafe, Executor, raw_sql};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use std::fmt::Write as _;

/// An import's connection to PostgreSQL, with its staging tables.
pub(crate) struct Staging {
    conn: DatabaseConnection,
    /// Whether interactions met stored ones lately (see [`Conflicts`]).
    pub(crate) conflicts: Conflicts,
}

/// Whether the last chunks of interactions met stored ones. A chunk of new rows needs neither
/// the screen of its source ids against stored ones nor `ON CONFLICT` (whose checks cost about
/// a third of the insert), so a chunk is first written without both; if a row turns out to be
/// stored already, the insert fails, the transaction is rolled back and the chunk written
/// again, screened and with `ON CONFLICT DO NOTHING`, as are the next few chunks (a file
/// imported again meets stored rows throughout) before the plain way is tried again.
#[derive(Debug, Default)]
pub(crate) struct Conflicts {
    /// Chunks left to insert with `ON CONFLICT` straight away.
    skip_plain: std::sync::atomic::AtomicU32,
}

impl Conflicts {
    /// Chunks inserted with `ON CONFLICT` after one that conflicted.
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

impl Staging {
    /// Stages through `conn`, a pool of one connection
    /// ([`crate::Store::single_connection`]).
    pub(crate) fn new(conn: DatabaseConnection) -> Self {
        Self { conn, conflicts: Conflicts::default() }
    }

    /// The connection the chunks' transactions run on.
    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Sends the interactions, ties or needs among `records` (a chunk holds one kind) into
    /// their staging table, in place of the last chunk's. Customers are not staged: they go
    /// through identity resolution as on SQLite.
    pub(crate) async fn stage(&self, records: &[(u64, Record)]) -> StoreResult<()> {
        let mut writer = BinaryWriter::new(records.len(), 120);
        let mut staged = 0;
        let mut table = None;
        for (line, record) in records {
            let line = *line as i64;
            table = Some(match record {
                Record::Interaction(interaction) => interactions::write(&mut writer, line, interaction),
                Record::Tie(tie) => ties::write(&mut writer, line, tie),
                Record::Need(need) => needs::write(&mut writer, line, need),
                Record::Customer(_) => continue,
            });
            staged += 1;
        }
        let Some(table) = table else { return Ok(()) };
        let mut conn =
            self.conn.get_postgres_connection_pool().acquire().await.map_err(crate::pg_copy::exec_error)?;
        (&mut *conn)
            .execute(raw_sql(AssertSqlSafe(table.prepare)))
            .await
            .map_err(crate::pg_copy::exec_error)?;
        let copied = copy_in(&mut conn, table.copy, &writer.finish()).await?;
        if copied != staged {
            return Err(StoreError::ReadTask(format!("{copied} of {staged} rows were staged")));
        }
        Ok(())
    }

    /// Closes the connection (and so drops the staging table).
    pub(crate) async fn close(self) -> StoreResult<()> {
        Ok(self.conn.close().await?)
    }
}

/// A staging table: how it is made (once per connection) and emptied, and the `COPY` that
/// fills it with the columns in the order its rows are written.
pub(super) struct StagingTable {
    prepare: &'static str,
    copy: &'static str,
}

/// `rows` joined as PostgreSQL reads them with `string_to_array(?, ',')`.
pub(super) fn array<T: std::fmt::Display>(rows: impl Iterator<Item = T>) -> String {
    let mut joined = String::new();
    for (at, value) in rows.enumerate() {
        if at > 0 {
            joined.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(joined, "{value}");
    }
    joined
}

/// Flags as PostgreSQL reads them with `CAST(string_to_array(?, ',') AS boolean[])`.
pub(super) fn flags(rows: impl Iterator<Item = bool>) -> String {
    array(rows.map(|flag| if flag { 't' } else { 'f' }))
}

/// Runs `insert`, an `INSERT ... SELECT` of `rows` rows from a staging table, first with
/// `ON CONFLICT (key) DO NOTHING`; if not every row was new, again with `ON CONFLICT (key)`
/// followed by `update` (a `DO UPDATE ... WHERE` something differs). Counts what happened.
async fn upsert<C: ConnectionTrait>(
    conn: &C,
    insert: &str,
    key: &str,
    update: &str,
    values: Vec<sea_orm::Value>,
    rows: u64,
) -> StoreResult<WriteCounts> {
    let first = format!("{insert} ON CONFLICT ({key}) DO NOTHING");
    let inserted =
        conn.execute_raw(statement(DbBackend::Postgres, &first, values.clone())).await?.rows_affected();
    if inserted == rows {
        return Ok(WriteCounts { inserted, updated: 0, unchanged: 0 });
    }
    let second = format!("{insert} ON CONFLICT ({key}) {update}");
    let updated = conn.execute_raw(statement(DbBackend::Postgres, &second, values)).await?.rows_affected();
    Ok(WriteCounts { inserted, updated, unchanged: rows - inserted - updated })
}
