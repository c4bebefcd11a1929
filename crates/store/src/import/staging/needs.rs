//! Needs through a staging table.

use super::{StagingTable, array, flags, upsert};
use crate::error::StoreResult;
use crate::pg_copy::BinaryWriter;
use crate::written::WriteCounts;
use kindred_domain::Need;
use sea_orm::ConnectionTrait;
use std::collections::HashMap;

/// The staging table of needs.
const TABLE: StagingTable = StagingTable {
    prepare: "CREATE TEMPORARY TABLE IF NOT EXISTS import_needs (\
         line bigint NOT NULL, named text NOT NULL, tag text NOT NULL, kind text NOT NULL, \
         source text NOT NULL, weight double precision NOT NULL); \
         TRUNCATE import_needs",
    copy: "COPY import_needs (line, named, tag, kind, source, weight) FROM STDIN (FORMAT binary)",
};

/// Writes the staging row of `need`, read on `line`.
pub(super) fn write(writer: &mut BinaryWriter, line: i64, need: &Need) -> &'static StagingTable {
    writer.row(6);
    writer.int8(line);
    writer.text(Some(need.customer_external_id.as_str()));
    writer.text(Some(need.tag.as_str()));
    writer.text(Some(need.kind.as_str()));
    writer.text(Some(need.source.as_str()));
    writer.float8(Some(need.weight.value()));
    &TABLE
}

/// The staged needs of the lines given, each for its customer id, marked when it named them
/// by an alias, in file order.
const INSERT: &str = "INSERT INTO needs (customer_id, tag, kind, source, weight, arrived_under) \
     SELECT k.customer_id, s.tag, s.kind, s.source, s.weight, CASE WHEN k.alias THEN s.named END \
     FROM unnest(CAST(string_to_array(?, ',') AS bigint[]), CAST(string_to_array(?, ',') AS bigint[]), \
     CAST(string_to_array(?, ',') AS boolean[])) AS k(line, customer_id, alias) \
     JOIN import_needs s ON s.line = k.line \
     ORDER BY s.line";

/// What a stored need takes from a newer row, when its kind, source or weight differ.
const UPDATE: &str = "DO UPDATE SET kind = excluded.kind, source = excluded.source, \
     weight = excluded.weight, updated_at = CURRENT_TIMESTAMP \
     WHERE excluded.kind IS DISTINCT FROM needs.kind OR excluded.source IS DISTINCT FROM needs.source \
     OR excluded.weight IS DISTINCT FROM needs.weight";

/// Upserts the staged needs of these rows (line, customer id, need, named by an alias) on
/// (customer, tag), in the chunk's transaction `conn` on the staging connection: the last
/// row of each key wins, as in [`crate::write::upsert_needs`].
pub(crate) async fn upsert_staged_needs<C: ConnectionTrait>(
    conn: &C,
    rows: &[(u64, i64, &Need, bool)],
) -> StoreResult<WriteCounts> {
    let mut latest: HashMap<(i64, &str), usize> = HashMap::with_capacity(rows.len());
    for (at, (_, customer_id, need, _)) in rows.iter().enumerate() {
        latest.insert((*customer_id, need.tag.as_str()), at);
    }
    let mut keep: Vec<usize> = latest.into_values().collect();
    keep.sort_unstable();
    let superseded = (rows.len() - keep.len()) as u64;
    if keep.is_empty() {
        return Ok(WriteCounts { unchanged: superseded, ..Default::default() });
    }
    let kept = || keep.iter().map(|at| rows[*at]);
    let values = vec![
        array(kept().map(|row| row.0)).into(),
        array(kept().map(|row| row.1)).into(),
        flags(kept().map(|row| row.3)).into(),
    ];
    let mut counts = upsert(conn, INSERT, "customer_id, tag", UPDATE, values, keep.len() as u64).await?;
    counts.unchanged += superseded;
    Ok(counts)
}
