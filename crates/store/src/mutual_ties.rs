//! One row per mutual tie. A mutual tie is stored from the end with the smaller own external
//! id ([`kindred_domain::Tie::new`] orders a record's two ids so). A record naming an alias,
//! a merge or an unmerge can leave a stored mutual tie the other way round, or the same tie in
//! both directions; this puts each back in order, keeping the newer row of a pair.

use crate::error::StoreResult;
use crate::sql::{MAX_PARAMETERS, marks, statement};
use sea_orm::ConnectionTrait;
use std::collections::{HashMap, HashSet};

/// A mutual tie with its ends' own external ids.
struct Stored {
    id: i64,
    from_id: i64,
    to_id: i64,
    kind: String,
    updated_at: chrono::DateTime<chrono::Utc>,
    from_external_id: String,
    to_external_id: String,
}

impl Stored {
    fn in_order(&self) -> bool {
        self.from_external_id < self.to_external_id
    }

    /// The pair and kind, whichever way round.
    fn key(&self) -> (i64, i64, String) {
        (self.from_id.min(self.to_id), self.from_id.max(self.to_id), self.kind.clone())
    }
}

/// Puts the mutual ties at `customers` in order; returns how many rows changed.
pub(crate) async fn order_mutual_ties<C: ConnectionTrait>(conn: &C, customers: &[i64]) -> StoreResult<u64> {
    let backend = conn.get_database_backend();
    let mut customers = customers.to_vec();
    customers.sort_unstable();
    customers.dedup();
    let mut ties: Vec<Stored> = Vec::new();
    let mut seen: HashSet<i64> = HashSet::new();
    for chunk in customers.chunks(MAX_PARAMETERS / 2) {
        let list = marks(chunk.len());
        let sql = format!(
            "SELECT t.id, t.from_id, t.to_id, t.kind, t.updated_at, f.external_id, o.external_id \
             FROM ties t JOIN customers f ON f.id = t.from_id JOIN customers o ON o.id = t.to_id \
             WHERE t.mutual AND (t.from_id IN ({list}) OR t.to_id IN ({list}))"
        );
        let values: Vec<sea_orm::Value> = chunk.iter().chain(chunk).map(|id| (*id).into()).collect();
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            let id: i64 = row.try_get_by_index(0)?;
            if !seen.insert(id) {
                continue;
            }
            ties.push(Stored {
                id,
                from_id: row.try_get_by_index(1)?,
                to_id: row.try_get_by_index(2)?,
                kind: row.try_get_by_index(3)?,
                updated_at: row.try_get_by_index(4)?,
                from_external_id: row.try_get_by_index(5)?,
                to_external_id: row.try_get_by_index(6)?,
            });
        }
    }
    let mut pairs: HashMap<(i64, i64, String), Vec<&Stored>> = HashMap::new();
    for tie in &ties {
        pairs.entry(tie.key()).or_default().push(tie);
    }
    let mut changed = 0;
    for mut rows in pairs.into_values() {
        if rows.iter().all(|tie| tie.in_order()) && rows.len() == 1 {
            continue;
        }
        // The newest row stands for the tie; the other direction goes.
        rows.sort_by_key(|tie| (tie.updated_at, tie.id));
        let Some(kept) = rows.pop() else { continue };
        for gone in rows {
            conn.execute_raw(statement(backend, "DELETE FROM ties WHERE id = ?", vec![gone.id.into()]))
                .await?;
            changed += 1;
        }
        if !kept.in_order() {
            // A one-way tie of the same kind the other way round holds that key: the mutual
            // one stays as it is rather than fail the write.
            let taken = conn
                .query_one_raw(statement(
                    backend,
                    "SELECT 1 FROM ties WHERE from_id = ? AND to_id = ? AND kind = ?",
                    vec![kept.to_id.into(), kept.from_id.into(), kept.kind.clone().into()],
                ))
                .await?;
            if taken.is_some() {
                continue;
            }
            conn.execute_raw(statement(
                backend,
                "UPDATE ties SET from_id = to_id, to_id = from_id, from_arrived_under = to_arrived_under, \
                 to_arrived_under = from_arrived_under WHERE id = ?",
                vec![kept.id.into()],
            ))
            .await?;
            changed += 1;
        }
    }
    Ok(changed)
}
