//! Interactions imported into PostgreSQL travel by `COPY`.
//!
//! A chunk's rows are sent in PostgreSQL's binary `COPY` format into a temporary table of the
//! import's own connection (one statement, no SQL to parse per row), before the chunk's
//! transaction begins. The transaction then runs as on SQLite (customers found or created,
//! erased customers and source id conflicts refused, the change feed written) on the same
//! connection, and moves the rows it keeps from the staging table into `interactions` with one
//! `INSERT ... SELECT`, joined by line to the customer ids it resolved. So the rows imported,
//! the lines refused and the counts are the same as through multi-row inserts, and a chunk
//! is still written whole or not at all. The staging table is temporary: never logged, seen by
//! no one else, gone with the connection.

use super::records::Record;
use crate::error::{StoreError, StoreResult};
use crate::pg_copy::{BinaryWriter, copy_in};
use crate::sql::statement;
use crate::written::WriteCounts;
use sea_orm::sqlx::{AssertSqlSafe, Executor, raw_sql};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use std::fmt::Write as _;

/// The staging table, made once per connection and emptied before each chunk.
const PREPARE: &str = "CREATE TEMPORARY TABLE IF NOT EXISTS import_interactions (\
     line bigint NOT NULL, named text NOT NULL, occurred_at timestamptz NOT NULL, channel text, \
     kind text NOT NULL, amount double precision, currency text, cost_to_serve double precision, \
     text text, source_id text); \
     TRUNCATE import_interactions";

/// The `COPY` that fills it, its columns in the order [`stage`] writes them.
const COPY: &str = "COPY import_interactions (line, named, occurred_at, channel, kind, amount, \
     currency, cost_to_serve, text, source_id) FROM STDIN (FORMAT binary)";

/// Fields per staged row.
const FIELDS: i16 = 10;

/// Moves the rows kept from the staging table into `interactions`: each line with the id of
/// its customer and whether it named them by an alias (then the name is kept as the external
/// id it arrived under). In file order, so ids follow the file as multi-row inserts do; a
/// row already stored (same source id, or same customer, time, kind and amount) is skipped.
const INSERT: &str = "INSERT INTO interactions (customer_id, occurred_at, channel, kind, amount, \
     currency, cost_to_serve, text, source_id, arrived_under) \
     SELECT k.customer_id, s.occurred_at, s.channel, s.kind, s.amount, s.currency, s.cost_to_serve, \
     s.text, s.source_id, CASE WHEN k.alias THEN s.named END \
     FROM unnest(CAST(string_to_array(?, ',') AS bigint[]), CAST(string_to_array(?, ',') AS bigint[]), \
     CAST(string_to_array(?, ',') AS boolean[])) AS k(line, customer_id, alias) \
     JOIN import_interactions s ON s.line = k.line \
     ORDER BY s.line \
     ON CONFLICT DO NOTHING";

/// An import's connection to PostgreSQL, with its staging table.
pub(crate) struct Staging {
    conn: DatabaseConnection,
}

impl Staging {
    /// Stages through `conn`, a pool of one connection
    /// ([`crate::Store::single_connection`]).
    pub(crate) fn new(conn: DatabaseConnection) -> Self {
        Self { conn }
    }

    /// The connection the chunks' transactions run on.
    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Sends the interactions among `records` into the staging table, in place of the last
    /// chunk's. Other records are not staged: they are written as on SQLite.
    pub(crate) async fn stage(&self, records: &[(u64, Record)]) -> StoreResult<()> {
        let interactions = records.iter().filter_map(|(line, record)| match record {
            Record::Interaction(interaction) => Some((*line, interaction)),
            _ => None,
        });
        let mut writer = BinaryWriter::new(records.len(), 120);
        let mut staged = 0;
        for (line, i) in interactions {
            writer.row(FIELDS);
            writer.int8(line as i64);
            writer.text(Some(i.customer_external_id.as_str()));
            writer.time(i.occurred_at.timestamp_micros());
            writer.text(i.channel.as_ref().map(|c| c.as_str()));
            writer.text(Some(i.kind.as_str()));
            writer.float8(i.amount.map(|a| a.value()));
            writer.text(i.currency.map(|c| c.code()));
            writer.float8(i.cost_to_serve.map(|a| a.value()));
            writer.text(i.text.as_deref());
            writer.text(i.source_id.as_ref().map(|s| s.as_str()));
            staged += 1;
        }
        if staged == 0 {
            return Ok(());
        }
        let mut conn =
            self.conn.get_postgres_connection_pool().acquire().await.map_err(crate::pg_copy::exec_error)?;
        (&mut *conn).execute(raw_sql(AssertSqlSafe(PREPARE))).await.map_err(crate::pg_copy::exec_error)?;
        let copied = copy_in(&mut conn, COPY, &writer.finish()).await?;
        if copied != staged {
            return Err(StoreError::ReadTask(format!("{copied} of {staged} interactions were staged")));
        }
        Ok(())
    }

    /// Closes the connection (and so drops the staging table).
    pub(crate) async fn close(self) -> StoreResult<()> {
        Ok(self.conn.close().await?)
    }
}

/// Inserts the staged interactions of these lines, each for its customer id and marked when
/// it named them by an alias, in the chunk's transaction `conn` on the staging connection.
pub(crate) async fn insert_staged_interactions<C: ConnectionTrait>(
    conn: &C,
    rows: &[(u64, i64, bool)],
) -> StoreResult<WriteCounts> {
    if rows.is_empty() {
        return Ok(WriteCounts::default());
    }
    let (mut lines, mut ids, mut aliases) = (String::new(), String::new(), String::new());
    for (at, (line, id, alias)) in rows.iter().enumerate() {
        let comma = if at == 0 { "" } else { "," };
        // Writing to a String cannot fail.
        let _ = write!(lines, "{comma}{line}");
        let _ = write!(ids, "{comma}{id}");
        aliases.push_str(comma);
        aliases.push(if *alias { 't' } else { 'f' });
    }
    let insert = statement(DbBackend::Postgres, INSERT, vec![lines.into(), ids.into(), aliases.into()]);
    let inserted = conn.execute_raw(insert).await?.rows_affected();
    Ok(WriteCounts { inserted, updated: 0, unchanged: rows.len() as u64 - inserted })
}
