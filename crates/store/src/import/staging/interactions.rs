//! Interactions, straight into their table or through a staging table.

use super::{Staging, StagingTable, arrived_under};
use crate::error::StoreResult;
use crate::pg_copy::BinaryWriter;
use crate::written::WriteCounts;
use kindred_domain::Interaction;
use sea_orm::{ConnectionTrait, SqlErr};

/// The staging table of interactions, for chunks that may meet stored rows.
const TABLE: StagingTable = StagingTable {
    create: "CREATE TEMPORARY TABLE IF NOT EXISTS import_interactions (\
         line bigint NOT NULL, customer_id bigint NOT NULL, occurred_at timestamptz NOT NULL, \
         channel text, kind text NOT NULL, amount double precision, currency text, \
         cost_to_serve double precision, text text, source_id text, arrived_under text) \
         ON COMMIT DELETE ROWS",
    copy: "COPY import_interactions (line, customer_id, occurred_at, channel, kind, amount, currency, \
         cost_to_serve, text, source_id, arrived_under) FROM STDIN (FORMAT binary)",
};

/// A chunk expected to be new, straight into the table.
const DIRECT: &str = "COPY interactions (customer_id, occurred_at, channel, kind, amount, currency, \
     cost_to_serve, text, source_id, arrived_under) FROM STDIN (FORMAT binary)";

/// The staged rows into the table in file order (so ids follow the file); a row already stored
/// (same source id, or same customer, time, kind and amount) is skipped.
const INSERT: &str = "INSERT INTO interactions (customer_id, occurred_at, channel, kind, amount, \
     currency, cost_to_serve, text, source_id, arrived_under) \
     SELECT customer_id, occurred_at, channel, kind, amount, currency, cost_to_serve, text, \
     source_id, arrived_under FROM import_interactions ORDER BY line \
     ON CONFLICT DO NOTHING";

/// A row to write: its line, its customer's id, the interaction, and whether it named the
/// customer by an alias.
pub(crate) type StagedInteraction<'a> = (u64, i64, &'a Interaction, bool);

/// Writes one row for the table (`line` none) or the staging table.
fn write(writer: &mut BinaryWriter, line: Option<u64>, (_, id, i, alias): &StagedInteraction<'_>) {
    writer.row(if line.is_some() { 11 } else { 10 });
    if let Some(line) = line {
        writer.int8(line as i64);
    }
    writer.int8(*id);
    writer.time(i.occurred_at.timestamp_micros());
    writer.text(i.channel.as_ref().map(|c| c.as_str()));
    writer.text(Some(i.kind.as_str()));
    writer.float8(i.amount.map(|a| a.value()));
    writer.text(i.currency.map(|c| c.code()));
    writer.float8(i.cost_to_serve.map(|a| a.value()));
    writer.text(i.text.as_deref());
    writer.text(i.source_id.as_ref().map(|s| s.as_str()));
    writer.text(arrived_under(i.customer_external_id.as_str(), *alias));
}

/// Writes these interactions in the chunk's transaction `conn` on `staging`'s connection,
/// holding their customers first. `plain`: straight into the table, for a chunk whose rows
/// were not screened against stored ones; `None` if one was stored already (the transaction
/// is then aborted: the chunk must be written again, screened).
pub(crate) async fn write_staged_interactions<C: ConnectionTrait>(
    conn: &C,
    staging: &Staging,
    rows: &[StagedInteraction<'_>],
    plain: bool,
) -> StoreResult<Option<WriteCounts>> {
    if rows.is_empty() {
        return Ok(Some(WriteCounts::default()));
    }
    crate::customer_locks::hold_customers(conn, rows.iter().map(|row| row.1)).await?;
    let mut writer = BinaryWriter::new(rows.len(), 128);
    let total = rows.len() as u64;
    if plain {
        rows.iter().for_each(|row| write(&mut writer, None, row));
        return match staging.copy(None, DIRECT, writer, total).await {
            Ok(()) => Ok(Some(WriteCounts { inserted: total, updated: 0, unchanged: 0 })),
            Err(crate::StoreError::Database(error))
                if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        };
    }
    rows.iter().for_each(|row| write(&mut writer, Some(row.0), row));
    staging.stage(&TABLE, writer, total).await?;
    let inserted = conn.execute_unprepared(INSERT).await?.rows_affected();
    Ok(Some(WriteCounts { inserted, updated: 0, unchanged: total - inserted }))
}
