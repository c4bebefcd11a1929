//! Interactions through a staging table.

use super::{StagingTable, array, flags};
use crate::error::StoreResult;
use crate::pg_copy::BinaryWriter;
use crate::sql::statement;
use crate::written::WriteCounts;
use kindred_domain::Interaction;
use sea_orm::{ConnectionTrait, DbBackend, SqlErr};

/// The staging table of interactions.
const TABLE: StagingTable = StagingTable {
    prepare: "CREATE TEMPORARY TABLE IF NOT EXISTS import_interactions (\
         line bigint NOT NULL, named text NOT NULL, occurred_at timestamptz NOT NULL, channel text, \
         kind text NOT NULL, amount double precision, currency text, cost_to_serve double precision, \
         text text, source_id text); \
         TRUNCATE import_interactions",
    copy: "COPY import_interactions (line, named, occurred_at, channel, kind, amount, currency, \
         cost_to_serve, text, source_id) FROM STDIN (FORMAT binary)",
};

/// Writes the staging row of interaction `i`, read on `line`.
pub(super) fn write(writer: &mut BinaryWriter, line: i64, i: &Interaction) -> &'static StagingTable {
    writer.row(10);
    writer.int8(line);
    writer.text(Some(i.customer_external_id.as_str()));
    writer.time(i.occurred_at.timestamp_micros());
    writer.text(i.channel.as_ref().map(|c| c.as_str()));
    writer.text(Some(i.kind.as_str()));
    writer.float8(i.amount.map(|a| a.value()));
    writer.text(i.currency.map(|c| c.code()));
    writer.float8(i.cost_to_serve.map(|a| a.value()));
    writer.text(i.text.as_deref());
    writer.text(i.source_id.as_ref().map(|s| s.as_str()));
    &TABLE
}

/// Moves the rows kept from the staging table into `interactions`: each line with the id of
/// its customer and whether it named them by an alias (then the name is kept as the external
/// id it arrived under). In file order, so ids follow the file as multi-row inserts do. With
/// [`SKIP_STORED`], a row already stored (same source id, or same customer, time, kind and
/// amount) is skipped; without, it fails the statement.
const INSERT: &str = "INSERT INTO interactions (customer_id, occurred_at, channel, kind, amount, \
     currency, cost_to_serve, text, source_id, arrived_under) \
     SELECT k.customer_id, s.occurred_at, s.channel, s.kind, s.amount, s.currency, s.cost_to_serve, \
     s.text, s.source_id, CASE WHEN k.alias THEN s.named END \
     FROM unnest(CAST(string_to_array(?, ',') AS bigint[]), CAST(string_to_array(?, ',') AS bigint[]), \
     CAST(string_to_array(?, ',') AS boolean[])) AS k(line, customer_id, alias) \
     JOIN import_interactions s ON s.line = k.line \
     ORDER BY s.line";

/// What [`INSERT`] ends with to skip rows already stored.
const SKIP_STORED: &str = " ON CONFLICT DO NOTHING";

/// Inserts the staged interactions of these lines, each for its customer id and marked when
/// it named them by an alias, in the chunk's transaction `conn` on the staging connection.
/// `plain`: without `ON CONFLICT`, for a chunk whose rows were not screened against stored
/// ones; `None` if one was stored already (the transaction is then aborted: the chunk must be
/// written again, screened).
pub(crate) async fn insert_staged_interactions<C: ConnectionTrait>(
    conn: &C,
    rows: &[(u64, i64, bool)],
    plain: bool,
) -> StoreResult<Option<WriteCounts>> {
    if rows.is_empty() {
        return Ok(Some(WriteCounts::default()));
    }
    crate::customer_locks::hold_customers(conn, rows.iter().map(|row| row.1)).await?;
    let values = vec![
        array(rows.iter().map(|row| row.0)).into(),
        array(rows.iter().map(|row| row.1)).into(),
        flags(rows.iter().map(|row| row.2)).into(),
    ];
    let insert = if plain { INSERT.to_owned() } else { format!("{INSERT}{SKIP_STORED}") };
    let inserted = match conn.execute_raw(statement(DbBackend::Postgres, &insert, values)).await {
        Ok(done) => done.rows_affected(),
        Err(error) if plain && matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    Ok(Some(WriteCounts { inserted, updated: 0, unchanged: rows.len() as u64 - inserted }))
}
