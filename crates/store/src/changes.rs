//! The durable queue of touched customers: every write (API, import, merge) appends the
//! customers it touched to `customer_changes` in its own transaction; the write worker reads
//! rows oldest first and deletes them only in the transaction that writes the difference they
//! caused ([`Consumed`]). Customers touched while a segmentation is being refitted wait in
//! `segmentation_pending` until the refit has ended. A crash at any moment loses nothing
//! acknowledged: what was not consumed is read again at the next start.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::segmentation_lock::SegmentationLock;
use crate::sql::{marks, statement};
use sea_orm::{ConnectionTrait, Value};

/// Rows per statement.
const CHUNK_ROWS: usize = 5_000;

/// Inserts `rows` (each a list of values for `columns`) into `table`, a chunk per statement;
/// the next statement is built while one runs.
async fn insert_rows<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Value>>,
) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let width = rows.first().map_or(1, Vec::len);
    let build = |chunk: &[Vec<Value>]| {
        let row = format!("({})", marks(width));
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", vec![row; chunk.len()].join(", "));
        statement(backend, &sql, chunk.iter().flatten().cloned().collect())
    };
    let chunks: Vec<&[Vec<Value>]> = rows.chunks(CHUNK_ROWS / width.max(1)).collect();
    let mut next = chunks.first().map(|chunk| build(chunk));
    for at in 0..chunks.len() {
        let Some(insert) = next.take() else { break };
        let (done, built) = futures::future::join(conn.execute_raw(insert), async {
            chunks.get(at + 1).map(|chunk| build(chunk))
        })
        .await;
        done?;
        next = built;
    }
    Ok(())
}

/// Records that the customers with these external ids changed (imports and merges, which
/// name customers so).
pub(crate) async fn record_changes<C: ConnectionTrait>(conn: &C, external_ids: &[&str]) -> StoreResult<()> {
    let rows = external_ids.iter().map(|id| vec![Value::from(*id)]).collect();
    insert_rows(conn, "customer_changes", "external_id", rows).await
}

/// Records that the customers with these ids changed (API writes).
pub(crate) async fn record_touched<C: ConnectionTrait>(conn: &C, customer_ids: &[i64]) -> StoreResult<()> {
    let mut ids = customer_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let rows = ids.into_iter().map(|id| vec![Value::from(id)]).collect();
    insert_rows(conn, "customer_changes", "customer_id", rows).await
}

/// Queue rows read together, and the customers they name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuedChanges {
    /// The rows' ids, to consume once their difference is written.
    pub rows: Vec<i64>,
    /// The customers they name, sorted and distinct (rows of customers deleted since name
    /// none; an external id merged since names the survivor).
    pub customers: Vec<i64>,
    /// For each of `customers`, the newest queue row that named it: a refit that read its
    /// population after that row was committed covers the customer.
    pub latest: Vec<i64>,
}

impl QueuedChanges {
    /// Whether no row was read.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The customers named after queue position `covered` (a refit's), with the newest row
    /// that named each.
    pub fn after(&self, covered: i64) -> Vec<(i64, i64)> {
        let named = self.customers.iter().zip(&self.latest);
        named
            .filter(|(_, latest)| **latest > covered)
            .map(|(customer, latest)| (*customer, *latest))
            .collect()
    }
}

/// What a re-assignment consumed from the queue, removed in the transaction that writes its
/// differences, and what it leaves for segmentations being refitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumed {
    /// Rows of `customer_changes` to delete.
    pub changes: Vec<i64>,
    /// Rows of `segmentation_pending` to delete.
    pub pending: Vec<i64>,
    /// Customers to re-assign in a segmentation once its refit has ended: (segmentation,
    /// (customer, the newest queue row that named it)).
    pub deferred: Vec<(i64, Vec<(i64, i64)>)>,
}

impl Consumed {
    /// Whether there is nothing to record.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.pending.is_empty() && self.deferred.iter().all(|(_, c)| c.is_empty())
    }
}

/// Deletes rows `ids` of `table`, a chunk per statement.
async fn delete_rows<C: ConnectionTrait>(conn: &C, table: &str, ids: &[i64]) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    for chunk in ids.chunks(CHUNK_ROWS) {
        let sql = format!("DELETE FROM {table} WHERE id IN ({})", marks(chunk.len()));
        conn.execute_raw(statement(backend, &sql, chunk.iter().map(|id| Value::from(*id)).collect())).await?;
    }
    Ok(())
}

/// Records `consumed` on `conn`, inside the transaction that writes its differences.
pub(crate) async fn record_consumed<C: ConnectionTrait>(conn: &C, consumed: &Consumed) -> StoreResult<()> {
    delete_rows(conn, "customer_changes", &consumed.changes).await?;
    delete_rows(conn, "segmentation_pending", &consumed.pending).await?;
    let rows: Vec<Vec<Value>> = consumed
        .deferred
        .iter()
        .flat_map(|(segmentation, customers)| {
            customers.iter().map(move |(customer, change)| {
                vec![Value::from(*segmentation), Value::from(*customer), Value::from(*change)]
            })
        })
        .collect();
    if !rows.is_empty() {
        insert_rows(conn, "segmentation_pending", "segmentation_id, customer_id, change_id", rows).await?;
    }
    Ok(())
}

/// Removes what waited for segmentation `id` that its refit covered: customers named by
/// queue rows up to position `covered`, whose data the refit read.
pub(crate) async fn forget_covered<C: ConnectionTrait>(
    conn: &C,
    segmentation_id: i64,
    covered: i64,
) -> StoreResult<()> {
    let sql = "DELETE FROM segmentation_pending WHERE segmentation_id = ? AND change_id <= ?";
    conn.execute_raw(statement(
        conn.get_database_backend(),
        sql,
        vec![segmentation_id.into(), covered.into()],
    ))
    .await?;
    Ok(())
}

/// Reads rows of (row id, customer id or none, queue position), oldest first, into
/// [`QueuedChanges`]: as many as name at most `customers` distinct customers (an import names
/// the same customer in many chunks, so rows far outnumber customers).
fn queued(rows: Vec<sea_orm::QueryResult>, customers: usize) -> StoreResult<QueuedChanges> {
    let mut queued = QueuedChanges::default();
    let mut latest: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for row in rows {
        let id: i64 = row.try_get_by_index(0)?;
        if let Some(customer) = row.try_get_by_index::<Option<i64>>(1)? {
            if !latest.contains_key(&customer) && latest.len() == customers {
                break;
            }
            let position: i64 = row.try_get_by_index(2)?;
            let newest = latest.entry(customer).or_insert(position);
            *newest = (*newest).max(position);
        }
        queued.rows.push(id);
    }
    (queued.customers, queued.latest) = latest.into_iter().unzip();
    Ok(queued)
}

/// Reads the queue's oldest rows on `conn` (see [`Store::queued_changes`]); `claim` locks them
/// for the transaction on `conn`, skipping rows other transactions hold.
async fn read_queue<C: ConnectionTrait>(conn: &C, customers: u64, claim: bool) -> StoreResult<QueuedChanges> {
    let limit = customers.max(1).saturating_mul(ROWS_PER_CUSTOMER);
    let locking = if claim { " FOR UPDATE SKIP LOCKED" } else { "" };
    // A row names a customer by id (API writes) or by external id (imports, merges); an
    // external id merged since names the customer it was merged into.
    let sql = format!(
        "WITH ch AS (SELECT id, customer_id, external_id FROM customer_changes ORDER BY id LIMIT ?{locking}) \
         SELECT ch.id, COALESCE(byid.id, cu.id, al.customer_id), ch.id FROM ch \
         LEFT JOIN customers byid ON byid.id = ch.customer_id \
         LEFT JOIN customers cu ON ch.customer_id IS NULL AND cu.external_id = ch.external_id \
         LEFT JOIN customer_identifiers al ON ch.customer_id IS NULL AND cu.id IS NULL \
         AND al.kind = 'external_id' AND al.value = ch.external_id \
         ORDER BY ch.id"
    );
    let rows =
        conn.query_all_raw(statement(conn.get_database_backend(), &sql, vec![(limit as i64).into()])).await?;
    queued(rows, customers.max(1) as usize)
}

/// Reads the oldest `limit` rows waiting for segmentation `id` on `conn`; `claim` as in
/// [`read_queue`].
async fn read_pending<C: ConnectionTrait>(
    conn: &C,
    segmentation_id: i64,
    limit: u64,
    claim: bool,
) -> StoreResult<QueuedChanges> {
    let locking = if claim { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "SELECT id, customer_id, change_id FROM segmentation_pending WHERE segmentation_id = ? ORDER BY id LIMIT ?{locking}"
    );
    let values = vec![segmentation_id.into(), (limit as i64).into()];
    let rows = conn.query_all_raw(statement(conn.get_database_backend(), &sql, values)).await?;
    queued(rows, limit as usize)
}

/// Rows read per batch for each customer a batch may hold.
const ROWS_PER_CUSTOMER: u64 = 8;

impl Store {
    /// The oldest rows of the queue of touched customers that name at most `customers`
    /// distinct customers, left in place: consume them with [`Store::apply_membership_diffs`]
    /// once their difference is computed.
    pub async fn queued_changes(&self, customers: u64) -> StoreResult<QueuedChanges> {
        read_queue(self.connection(), customers, false).await
    }

    /// [`Store::queued_changes`] claimed in the transaction of `lock` (PostgreSQL): rows
    /// another server's transaction holds are skipped (`FOR UPDATE SKIP LOCKED`), and those
    /// read are held until `lock`'s transaction ends, the one that consumes them. So servers
    /// share the queue without writing claims. On SQLite, with one server, a plain read.
    pub async fn claim_queued_changes(
        &self,
        lock: &SegmentationLock,
        customers: u64,
    ) -> StoreResult<QueuedChanges> {
        match &lock.txn {
            Some(txn) => read_queue(&**txn, customers, true).await,
            None => self.queued_changes(customers).await,
        }
    }

    /// The queue's position now: the newest row, every row up to it committed. A refit takes
    /// it before reading its population, which then covers every customer those rows name.
    /// On PostgreSQL, row ids are handed out before their transactions commit, so it waits
    /// for the writes appending to the queue at that moment (a share lock on the table,
    /// held only for the read); on SQLite, writers take turns, so ids commit in order.
    pub async fn queue_position(&self) -> StoreResult<i64> {
        let read = "SELECT COALESCE(MAX(id), 0) FROM customer_changes";
        let row = if self.backend() == sea_orm::DbBackend::Postgres {
            use sea_orm::TransactionTrait;
            let txn = self.connection().begin().await?;
            txn.execute_unprepared("LOCK TABLE customer_changes IN SHARE MODE").await?;
            let row = txn.query_one_raw(statement(self.backend(), read, Vec::new())).await?;
            txn.commit().await?;
            row
        } else {
            self.connection().query_one_raw(statement(self.backend(), read, Vec::new())).await?
        };
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }

    /// How many rows wait in the queue of touched customers, and set aside for
    /// segmentations being refitted (for the metrics).
    pub async fn queued_change_count(&self) -> StoreResult<i64> {
        let sql =
            "SELECT (SELECT COUNT(*) FROM customer_changes) + (SELECT COUNT(*) FROM segmentation_pending)";
        let row = self.connection().query_one_raw(statement(self.backend(), sql, Vec::new())).await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }

    /// The segmentations with customers waiting for them since a refit.
    pub async fn segmentations_with_pending(&self) -> StoreResult<Vec<i64>> {
        let sql = "SELECT DISTINCT segmentation_id FROM segmentation_pending ORDER BY segmentation_id";
        let rows = self.connection().query_all_raw(statement(self.backend(), sql, Vec::new())).await?;
        rows.iter().map(|row| Ok(row.try_get_by_index(0)?)).collect()
    }

    /// The oldest `limit` customers waiting for segmentation `id` since its refit, left in
    /// place: consume them with [`Store::apply_membership_diffs`].
    pub async fn pending_for(&self, segmentation_id: i64, limit: u64) -> StoreResult<QueuedChanges> {
        read_pending(self.connection(), segmentation_id, limit, false).await
    }

    /// [`Store::pending_for`] claimed in the transaction of `lock`, as
    /// [`Store::claim_queued_changes`] claims.
    pub async fn claim_pending(
        &self,
        lock: &SegmentationLock,
        segmentation_id: i64,
        limit: u64,
    ) -> StoreResult<QueuedChanges> {
        match &lock.txn {
            Some(txn) => read_pending(&**txn, segmentation_id, limit, true).await,
            None => self.pending_for(segmentation_id, limit).await,
        }
    }
}
