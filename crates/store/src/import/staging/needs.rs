//! Needs through a staging table.

use super::{Staging, StagingTable, arrived_under, upsert};
use crate::error::StoreResult;
use crate::pg_copy::BinaryWriter;
use crate::written::WriteCounts;
use kindred_domain::Need;
use sea_orm::ConnectionTrait;
use std::collections::HashMap;

/// The staging table of needs.
const TABLE: StagingTable = StagingTable {
    create: "CREATE TEMPORARY TABLE IF NOT EXISTS import_needs (\
         line bigint NOT NULL, customer_id bigint NOT NULL, tag text NOT NULL, kind text NOT NULL, \
         source text NOT NULL, weight double precision NOT NULL, arrived_under text) \
         ON COMMIT DELETE ROWS",
    copy: "COPY import_needs (line, customer_id, tag, kind, source, weight, arrived_under) \
         FROM STDIN (FORMAT binary)",
};

/// The staged needs into the table, in file order.
const INSERT: &str = "INSERT INTO needs (customer_id, tag, kind, source, weight, arrived_under) \
     SELECT customer_id, tag, kind, source, weight, arrived_under FROM import_needs ORDER BY line";

/// What a stored need takes from a newer row, when its kind, source or weight differ.
const UPDATE: &str = "DO UPDATE SET kind = excluded.kind, source = excluded.source, \
     weight = excluded.weight, updated_at = CURRENT_TIMESTAMP \
     WHERE excluded.kind IS DISTINCT FROM needs.kind OR excluded.source IS DISTINCT FROM needs.source \
     OR excluded.weight IS DISTINCT FROM needs.weight";

/// Upserts these needs (line, customer id, need, named by an alias) on (customer, tag) in the
/// chunk's transaction `conn` on `staging`'s connection: the last row of each key wins, as in
/// [`crate::write::upsert_needs`].
pub(crate) async fn upsert_staged_needs<C: ConnectionTrait>(
    conn: &C,
    staging: &Staging,
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
    let mut writer = BinaryWriter::new(keep.len(), 64);
    for (line, customer_id, need, alias) in keep.iter().map(|at| rows[*at]) {
        writer.row(7);
        writer.int8(line as i64);
        writer.int8(customer_id);
        writer.text(Some(need.tag.as_str()));
        writer.text(Some(need.kind.as_str()));
        writer.text(Some(need.source.as_str()));
        writer.float8(Some(need.weight.value()));
        writer.text(arrived_under(need.customer_external_id.as_str(), alias));
    }
    staging.stage(&TABLE, writer, keep.len() as u64).await?;
    let mut counts = upsert(conn, INSERT, "customer_id, tag", UPDATE, keep.len() as u64).await?;
    counts.unchanged += superseded;
    Ok(counts)
}
