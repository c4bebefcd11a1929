//! The database lock under which a segmentation's memberships are read and changed, so that
//! servers sharing one PostgreSQL never write the same difference twice, nor an older
//! assignment over a newer one. It is an advisory lock held by a transaction: taken before the
//! customers are read and assigned, released when that transaction commits the difference.
//! With it come what the caller must know before writing: each segmentation's current model
//! version, and which ones a server (any) is refitting. SQLite runs one server, whose own
//! locks suffice: there the lock only reads those facts.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::leases::id_values;
use crate::sql::statement;
use crate::write_txn::WriteTransaction;
use sea_orm::{ConnectionTrait, DbBackend};
use std::collections::{HashMap, HashSet};

/// The first key of Kindred's advisory locks on segmentations: one per schema, so that
/// deployments in other schemas of the same database never wait for each other's.
const LOCK_CLASS: &str = "hashtext('kindred segmentations ' || current_schema())";

/// Segmentations locked for writing their memberships, and what was read under the lock.
pub struct SegmentationLock {
    /// The transaction holding the locks (PostgreSQL), in which the difference is written.
    pub(crate) txn: Option<WriteTransaction>,
    /// The ids locked, sorted.
    pub(crate) ids: Vec<i64>,
    /// The refit job whose model is current, per segmentation (none before its first refit).
    pub versions: HashMap<i64, Option<i64>>,
    /// The segmentations a server is refitting now (a running job), locked or not.
    pub refitting: HashSet<i64>,
}

impl SegmentationLock {
    /// Lets the locks go without writing (rolls the transaction back now; dropping the lock
    /// does too, but only once its connection is next used).
    pub async fn release(mut self) -> StoreResult<()> {
        match self.txn.take() {
            Some(txn) => txn.rollback().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for SegmentationLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentationLock").field("ids", &self.ids).finish_non_exhaustive()
    }
}

/// Takes the advisory lock of each of `ids` (sorted, so two holders of several never wait on
/// each other), in the transaction on `conn`.
pub(crate) async fn advisory_locks<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> StoreResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    if ids.is_empty() {
        return Ok(());
    }
    // One statement, its calls evaluated in the order written (the ids' order).
    let calls = vec![format!("pg_advisory_xact_lock({LOCK_CLASS}, ?)"); ids.len()].join(", ");
    let mut values = Vec::with_capacity(ids.len());
    for id in ids {
        // Ids beyond 2^31 share a key with a smaller one: that only makes them wait together.
        let key = (*id % i64::from(i32::MAX)) as i32;
        values.push(key.into());
    }
    conn.execute_raw(statement(DbBackend::Postgres, &format!("SELECT {calls}"), values)).await?;
    Ok(())
}

impl Store {
    /// Locks segmentations `ids` for writing their memberships: pass the lock to
    /// [`Store::apply_membership_diffs_locked`], which writes in its transaction and so
    /// releases it, or let it go with [`SegmentationLock::release`].
    pub async fn lock_segmentations(&self, ids: &[i64]) -> StoreResult<SegmentationLock> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let txn = if self.backend() == DbBackend::Postgres {
            let txn = self.begin_write().await?;
            advisory_locks(&*txn, &ids).await?;
            Some(txn)
        } else {
            None
        };
        let (versions, refitting) = match &txn {
            Some(txn) => read_facts(&**txn, &ids).await?,
            None => read_facts(self.connection(), &ids).await?,
        };
        Ok(SegmentationLock { txn, ids, versions, refitting })
    }
}

/// The model version of each of `ids`, and which are being refitted.
async fn read_facts<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> StoreResult<(HashMap<i64, Option<i64>>, HashSet<i64>)> {
    let mut versions = HashMap::new();
    let mut refitting = HashSet::new();
    let backend = conn.get_database_backend();
    if !ids.is_empty() {
        let (marks, values) = id_values(ids);
        let sql = format!("SELECT id, model_job_id FROM segmentations WHERE id IN ({marks})");
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            versions.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        }
    }
    // Every segmentation with a running job, locked or not: a caller that read the queue
    // before this sees any refit that began after its rows were committed (the refit's queue
    // position, taken after its job was stored, covers the others).
    let sql = "SELECT segmentation_id FROM segmentation_jobs WHERE status = 'running'";
    for row in conn.query_all_raw(statement(backend, sql, Vec::new())).await? {
        refitting.insert(row.try_get_by_index(0)?);
    }
    Ok((versions, refitting))
}
