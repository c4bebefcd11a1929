//! The change feed: customers written by another process (an import), by external id, for
//! the running server to re-assign. Written in the transaction of the write it reports.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::statement;
use sea_orm::{ConnectionTrait, Value};

/// Rows per statement.
const CHUNK_ROWS: usize = 5_000;

/// Records that these customers changed (each named once).
pub(crate) async fn record_changes<C: ConnectionTrait>(conn: &C, external_ids: &[&str]) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let build = |chunk: &[&str]| {
        let rows = vec!["(?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO customer_changes (external_id) VALUES {rows}");
        statement(backend, &sql, chunk.iter().map(|id| Value::from(*id)).collect())
    };
    let chunks: Vec<&[&str]> = external_ids.chunks(CHUNK_ROWS).collect();
    let mut next = chunks.first().map(|chunk| build(chunk));
    for at in 0..chunks.len() {
        let Some(insert) = next.take() else { break };
        // The next statement is built while this one runs.
        let (done, built) = futures::future::join(conn.execute_raw(insert), async {
            chunks.get(at + 1).map(|chunk| build(chunk))
        })
        .await;
        done?;
        next = built;
    }
    Ok(())
}

impl Store {
    /// The newest change's position (0 when there is none).
    pub async fn last_change(&self) -> StoreResult<i64> {
        let row = self
            .connection()
            .query_one_raw(statement(
                self.backend(),
                "SELECT COALESCE(MAX(id), 0) FROM customer_changes",
                Vec::new(),
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }

    /// Changes after position `after`, at most `limit`: the position and the customer's id
    /// (customers deleted since are left out). Returns the last position read.
    pub async fn changes_after(&self, after: i64, limit: u64) -> StoreResult<(i64, Vec<i64>)> {
        // An external id merged since names the customer it was merged into.
        let sql = "SELECT ch.id, COALESCE(cu.id, al.customer_id) FROM customer_changes ch \
                   LEFT JOIN customers cu ON cu.external_id = ch.external_id \
                   LEFT JOIN customer_identifiers al ON cu.id IS NULL AND al.kind = 'external_id' AND al.value = ch.external_id \
                   WHERE ch.id > ? ORDER BY ch.id LIMIT ?";
        let rows = self
            .connection()
            .query_all_raw(statement(self.backend(), sql, vec![after.into(), (limit as i64).into()]))
            .await?;
        let mut last = after;
        let mut customers = Vec::with_capacity(rows.len());
        for row in rows {
            last = row.try_get_by_index(0)?;
            if let Some(customer) = row.try_get_by_index::<Option<i64>>(1)? {
                customers.push(customer);
            }
        }
        Ok((last, customers))
    }

    /// Takes (and removes) at most `limit` segment exits caused by merges, oldest first: the
    /// segmentation, the member that left, when.
    pub async fn take_merge_exits(
        &self,
        limit: u64,
    ) -> StoreResult<Vec<(i64, crate::Member, chrono::DateTime<chrono::Utc>)>> {
        let sql = "DELETE FROM merge_exits WHERE id IN (SELECT id FROM merge_exits ORDER BY id LIMIT ?) \
                   RETURNING segmentation_id, customer_id, segment, score, at";
        let rows = self
            .connection()
            .query_all_raw(statement(self.backend(), sql, vec![(limit as i64).into()]))
            .await?;
        let mut exits = Vec::with_capacity(rows.len());
        for row in rows {
            let member = crate::Member {
                customer_id: row.try_get_by_index(1)?,
                segment: row.try_get_by_index(2)?,
                score: row.try_get_by_index(3)?,
            };
            exits.push((row.try_get_by_index(0)?, member, row.try_get_by_index(4)?));
        }
        Ok(exits)
    }

    /// Forgets changes up to position `upto`, once they are handled.
    pub async fn forget_changes(&self, upto: i64) -> StoreResult<()> {
        let sql = "DELETE FROM customer_changes WHERE id <= ?";
        self.connection().execute_raw(statement(self.backend(), sql, vec![upto.into()])).await?;
        Ok(())
    }
}
