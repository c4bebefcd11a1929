//! The audit log: every mutation, who asked for it and how it ended. Records are queued in
//! memory and written in batches by one task, so auditing adds no write to a mutation's own
//! transaction; a record can be lost only if the process dies within the batching delay.

use crate::context::store;
use crate::error::{ApiResult, api};
use crate::pagination::{id_cursor, page_size, parse_id_cursor};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use kindred_store::entity::audit_entry;
use kindred_store::{AuditFilter, NewAuditEntry, Store};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Records that may wait in memory; beyond this (the database far behind) records are dropped
/// and counted, rather than growing without bound.
const QUEUE: usize = 100_000;
/// How long records wait to be written with others.
const BATCH_DELAY: Duration = Duration::from_millis(100);
/// The most records written in one batch.
const BATCH_MAX: usize = 1_000;

/// Where mutations are recorded; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<NewAuditEntry>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The task that writes the audit log; [`finish`](Self::finish) writes what is queued and stops.
pub struct AuditWriter {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl AuditLog {
    /// Starts the writer over `store`.
    pub fn start(store: Store) -> (Self, AuditWriter) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_batches(store, receiver, stopped));
        (Self { sender, dropped: Default::default() }, AuditWriter { stop, task })
    }

    /// Queues one record.
    pub fn record(&self, entry: NewAuditEntry) {
        if self.sender.try_send(entry).is_err() {
            let dropped = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if dropped == 1 || dropped.is_multiple_of(1_000) {
                tracing::error!(dropped, "the audit log is full or closed: mutations were not recorded");
            }
        }
    }
}

impl AuditWriter {
    /// Writes every queued record, then stops.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the audit writer failed");
        }
    }
}

async fn write_batches(
    store: Store,
    mut receiver: mpsc::Receiver<NewAuditEntry>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut batch = Vec::new();
    let mut stopping = false;
    loop {
        if !stopping {
            tokio::select! {
                received = receiver.recv() => match received {
                    Some(entry) => batch.push(entry),
                    None => stopping = true,
                },
                _ = &mut stopped => stopping = true,
            }
            if !stopping {
                // Let the batch fill for a moment: one statement for many mutations.
                tokio::time::sleep(BATCH_DELAY).await;
            }
        }
        while batch.len() < BATCH_MAX {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(error) = store.record_audit(&batch).await {
                // Once more before giving up: a busy SQLite writer is the usual cause.
                tokio::time::sleep(BATCH_DELAY).await;
                if let Err(error2) = store.record_audit(&batch).await {
                    tracing::error!(%error, retry = %error2, records = batch.len(), "cannot write the audit log");
                }
            }
            batch.clear();
        }
        if stopping && receiver.is_empty() {
            return;
        }
    }
}

/// One mutation in the audit log.
pub struct AuditEntry(audit_entry::Model);

#[Object]
impl AuditEntry {
    /// Its id (newest is largest).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// When the mutation ran.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The name of the API key that asked for it; null when the server ran without
    /// authentication.
    async fn key_name(&self) -> Option<&str> {
        self.0.key_name.as_deref()
    }
    /// The key's role.
    async fn role(&self) -> &str {
        self.0.role.as_str()
    }
    /// The mutation, e.g. `createSegmentation`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// What it was about, by Kindred id (`segmentation 3`), when known.
    async fn target(&self) -> Option<&str> {
        self.0.target.as_deref()
    }
    /// `ok`, or the error code it ended with.
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
}

/// Which audit records to list.
#[derive(async_graphql::InputObject, Default)]
pub struct AuditFilterInput {
    /// Only this key's.
    key_name: Option<String>,
    /// Only this mutation's.
    action: Option<String>,
    /// Only at or after this time.
    since: Option<DateTime<Utc>>,
}

/// Audit log queries (admins only).
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Mutations, newest first, a page at a time: who (key name) did what and when.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditFilterInput>,
    ) -> ApiResult<Connection<String, AuditEntry>> {
        let limit = page_size(first).map_err(api)?;
        let before = parse_id_cursor(after.as_deref()).map_err(api)?;
        let filter = filter.unwrap_or_default();
        let filter = AuditFilter { key_name: filter.key_name, action: filter.action, since: filter.since };
        let mut rows = store(ctx)?.audit_entries(&filter, before, limit + 1).await.map_err(api)?;
        let has_next = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let mut page = Connection::new(before.is_some(), has_next);
        page.edges.extend(rows.into_iter().map(|row| Edge::new(id_cursor(row.id), AuditEntry(row))));
        Ok(page)
    }
}
