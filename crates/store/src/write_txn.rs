//! Write transactions, one at a time per process on SQLite.
//!
//! SQLite lets one writer in at a time. A transaction that finds the write lock taken
//! sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms) and tries again, so under a
//! steady stream of writes a waiting writer can lose the race for hundreds of
//! milliseconds. Writers of this process therefore queue for the lock in order, on a fair
//! async mutex, and SQLite's busy handler only settles contention with other processes
//! (`kindred import`). PostgreSQL locks rows, not the database, and needs no queue.

use crate::error::StoreResult;
use sea_orm::DatabaseTransaction;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The queue of this process's writers to one SQLite database.
pub(crate) type WriteGate = Arc<Mutex<()>>;

/// A transaction that will write, holding this process's turn to write until it ends.
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    /// Waits for the turn to write (SQLite) and begins with `begin`.
    pub(crate) async fn begin<F>(gate: Option<&WriteGate>, begin: F) -> StoreResult<Self>
    where
        F: std::future::Future<Output = Result<DatabaseTransaction, sea_orm::DbErr>>,
    {
        let turn = match gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        Ok(Self { txn: begin.await?, _turn: turn })
    }

    /// Commits, then gives the turn to the next writer.
    pub async fn commit(self) -> StoreResult<()> {
        Ok(self.txn.commit().await?)
    }

    /// Rolls back, then gives the turn to the next writer (who may be the same caller trying
    /// again: the rollback is done before the turn passes on).
    pub async fn rollback(self) -> StoreResult<()> {
        Ok(self.txn.rollback().await?)
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}
