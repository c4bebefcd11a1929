//! Ties through a staging table.

use super::{Staging, StagingTable, arrived_under, upsert};
use crate::error::StoreResult;
use crate::pg_copy::BinaryWriter;
use crate::written::WriteCounts;
use kindred_domain::Tie;
use sea_orm::ConnectionTrait;

/// The staging table of ties.
const TABLE: StagingTable = StagingTable {
    create: "CREATE TEMPORARY TABLE IF NOT EXISTS import_ties (\
         from_id bigint NOT NULL, to_id bigint NOT NULL, kind text NOT NULL, \
         weight double precision NOT NULL, mutual boolean NOT NULL, from_arrived_under text, \
         to_arrived_under text) ON COMMIT DELETE ROWS",
    copy: "COPY import_ties (from_id, to_id, kind, weight, mutual, from_arrived_under, to_arrived_under) \
         FROM STDIN (FORMAT binary)",
};

/// The staged ties into the table, in key order (the rows a statement writes then lie side
/// by side in the unique index).
const INSERT: &str = "INSERT INTO ties (from_id, to_id, kind, weight, mutual, from_arrived_under, \
     to_arrived_under) SELECT from_id, to_id, kind, weight, mutual, from_arrived_under, to_arrived_under \
     FROM import_ties ORDER BY from_id, to_id, kind";

/// What a stored tie takes from a newer row, when its weight or mutuality differ.
const UPDATE: &str = "DO UPDATE SET weight = excluded.weight, mutual = excluded.mutual, \
     updated_at = CURRENT_TIMESTAMP \
     WHERE excluded.weight IS DISTINCT FROM ties.weight OR excluded.mutual IS DISTINCT FROM ties.mutual";

/// A tie to write: the ids of its ends, the tie, and whether each end was named by an alias.
pub(crate) type StagedTie<'a> = (i64, i64, &'a Tie, bool, bool);

/// Upserts these ties on (from, to, kind) in the chunk's transaction `conn` on `staging`'s
/// connection: the last row of each key wins, as in [`crate::write::upsert_ties`].
pub(crate) async fn upsert_staged_ties<C: ConnectionTrait>(
    conn: &C,
    staging: &Staging,
    rows: &[StagedTie<'_>],
) -> StoreResult<WriteCounts> {
    let key = |at: usize| {
        let (from, to, tie, _, _) = rows[at];
        (from, to, tie.kind().as_str())
    };
    let mut keep: Vec<usize> = (0..rows.len()).collect();
    keep.sort_unstable_by(|a, b| key(*a).cmp(&key(*b)).then(b.cmp(a)));
    keep.dedup_by_key(|at| key(*at));
    let superseded = (rows.len() - keep.len()) as u64;
    if keep.is_empty() {
        return Ok(WriteCounts { unchanged: superseded, ..Default::default() });
    }
    let mut writer = BinaryWriter::new(keep.len(), 64);
    for (from, to, tie, from_alias, to_alias) in keep.iter().map(|at| rows[*at]) {
        writer.row(7);
        writer.int8(from);
        writer.int8(to);
        writer.text(Some(tie.kind().as_str()));
        writer.float8(Some(tie.weight().value()));
        writer.bool(tie.mutual());
        writer.text(arrived_under(tie.from().as_str(), from_alias));
        writer.text(arrived_under(tie.to().as_str(), to_alias));
    }
    staging.stage(&TABLE, writer, keep.len() as u64).await?;
    let mut counts = upsert(conn, INSERT, "from_id, to_id, kind", UPDATE, keep.len() as u64).await?;
    counts.unchanged += superseded;
    Ok(counts)
}
