//! Ties through a staging table.

use super::{StagingTable, array, flags, upsert};
use crate::error::StoreResult;
use crate::pg_copy::BinaryWriter;
use crate::written::WriteCounts;
use kindred_domain::Tie;
use sea_orm::ConnectionTrait;

/// The staging table of ties.
const TABLE: StagingTable = StagingTable {
    prepare: "CREATE TEMPORARY TABLE IF NOT EXISTS import_ties (\
         line bigint NOT NULL, from_named text NOT NULL, to_named text NOT NULL, kind text NOT NULL, \
         weight double precision NOT NULL, mutual boolean NOT NULL); \
         TRUNCATE import_ties",
    copy: "COPY import_ties (line, from_named, to_named, kind, weight, mutual) FROM STDIN (FORMAT binary)",
};

/// Writes the staging row of `tie`, read on `line`.
pub(super) fn write(writer: &mut BinaryWriter, line: i64, tie: &Tie) -> &'static StagingTable {
    writer.row(6);
    writer.int8(line);
    writer.text(Some(tie.from().as_str()));
    writer.text(Some(tie.to().as_str()));
    writer.text(Some(tie.kind().as_str()));
    writer.float8(Some(tie.weight().value()));
    writer.bool(tie.mutual());
    &TABLE
}

/// The staged ties of the lines given, with the ids of both ends and whether each end was
/// named by an alias, in key order (the rows a statement writes lie side by side in the
/// unique index).
const INSERT: &str = "INSERT INTO ties (from_id, to_id, kind, weight, mutual, from_arrived_under, \
     to_arrived_under) \
     SELECT k.from_id, k.to_id, s.kind, s.weight, s.mutual, CASE WHEN k.from_alias THEN s.from_named END, \
     CASE WHEN k.to_alias THEN s.to_named END \
     FROM unnest(CAST(string_to_array(?, ',') AS bigint[]), CAST(string_to_array(?, ',') AS bigint[]), \
     CAST(string_to_array(?, ',') AS bigint[]), CAST(string_to_array(?, ',') AS boolean[]), \
     CAST(string_to_array(?, ',') AS boolean[])) AS k(line, from_id, to_id, from_alias, to_alias) \
     JOIN import_ties s ON s.line = k.line \
     ORDER BY k.from_id, k.to_id, s.kind";

/// What a stored tie takes from a newer row, when its weight or mutuality differ.
const UPDATE: &str = "DO UPDATE SET weight = excluded.weight, mutual = excluded.mutual, \
     updated_at = CURRENT_TIMESTAMP \
     WHERE excluded.weight IS DISTINCT FROM ties.weight OR excluded.mutual IS DISTINCT FROM ties.mutual";

/// A staged tie: its line, the ids of its ends, the tie, and whether each end was named by an
/// alias.
pub(crate) type StagedTie<'a> = (u64, i64, i64, &'a Tie, bool, bool);

/// Upserts the staged ties of these rows on (from, to, kind), in the chunk's transaction
/// `conn` on the staging connection: the last row of each key wins, as in
/// [`crate::write::upsert_ties`].
pub(crate) async fn upsert_staged_ties<C: ConnectionTrait>(
    conn: &C,
    rows: &[StagedTie<'_>],
) -> StoreResult<WriteCounts> {
    let key = |at: usize| {
        let (_, from, to, tie, _, _) = rows[at];
        (from, to, tie.kind().as_str())
    };
    let mut keep: Vec<usize> = (0..rows.len()).collect();
    keep.sort_unstable_by(|a, b| key(*a).cmp(&key(*b)).then(b.cmp(a)));
    keep.dedup_by_key(|at| key(*at));
    let superseded = (rows.len() - keep.len()) as u64;
    if keep.is_empty() {
        return Ok(WriteCounts { unchanged: superseded, ..Default::default() });
    }
    let kept = || keep.iter().map(|at| rows[*at]);
    let values = vec![
        array(kept().map(|row| row.0)).into(),
        array(kept().map(|row| row.1)).into(),
        array(kept().map(|row| row.2)).into(),
        flags(kept().map(|row| row.4)).into(),
        flags(kept().map(|row| row.5)).into(),
    ];
    let mut counts = upsert(conn, INSERT, "from_id, to_id, kind", UPDATE, values, keep.len() as u64).await?;
    counts.unchanged += superseded;
    Ok(counts)
}
