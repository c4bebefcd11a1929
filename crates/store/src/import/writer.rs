//! Writing chunks of records to the store, one transaction a chunk.

use super::columns::ImportKind;
use super::reader::{Chunk, Format, read_all};
use super::records::Record;
use super::source_ids::screen_source_ids;
use super::{ImportError, RowError};
use crate::changes::record_changes;
use crate::connect::Store;
use crate::erasure::{erased_among, forget_erased};
use crate::write::{
    WriteCounts, insert_interactions, resolve_customers_with, upsert_customers, upsert_needs, upsert_ties,
};
use sea_orm::ConnectionTrait;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    /// Rows read (blank lines are not rows).
    pub read: u64,
    /// Rows that added a new record.
    pub imported: u64,
    /// Rows that changed a stored record.
    pub updated: u64,
    /// Rows whose record was already stored exactly so.
    pub unchanged: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Customer rows whose external id an earlier row of the same file had: their fields were
    /// laid over the earlier row's (a duplicate in the file, not a second customer).
    pub superseded: u64,
    /// Customers created because a row named one not known yet.
    pub customers_created: u64,
    /// How long the import took.
    pub seconds: f64,
}

/// External id -> customer id, for the customers a long import names again and again.
/// Cleared when full, which keeps memory bounded.
struct IdCache {
    ids: HashMap<String, i64>,
}

const ID_CACHE_LIMIT: usize = 200_000;

impl IdCache {
    async fn resolve<C: ConnectionTrait>(&mut self, conn: &C, wanted: &[&str]) -> crate::StoreResult<u64> {
        let missing: Vec<&str> = wanted.iter().copied().filter(|id| !self.ids.contains_key(*id)).collect();
        if missing.is_empty() {
            return Ok(0);
        }
        if self.ids.len() + missing.len() > ID_CACHE_LIMIT {
            self.ids.clear();
            // Entries still needed by this chunk are looked up again below.
            let (found, created) = resolve_customers_with(conn, wanted, false).await?;
            self.ids.extend(found);
            return Ok(created);
        }
        let (found, created) = resolve_customers_with(conn, &missing, false).await?;
        self.ids.extend(found);
        Ok(created)
    }

    fn id(&self, external_id: &str) -> i64 {
        self.ids[external_id]
    }
}

/// How an import treats what it finds.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Re-create erased customers named by the file (and remove their tombstones) instead
    /// of refusing their rows.
    pub allow_erased: bool,
    /// Where the import keeps the number of rows read and handled so far, for a progress
    /// display; updated after each chunk.
    pub rows_done: Option<Arc<AtomicU64>>,
    /// The largest amount an interaction may carry (`data.max_amount`); none: the default.
    pub max_amount: Option<f64>,
}

/// The reason given for a row naming an erased customer.
pub const ERASED_REASON: &str = "erased customer";

/// Imports `input` as `kind` in `format` into `store`, calling `on_error` for every row
/// refused. Rows before and after a bad one are imported; rows naming an erased customer
/// are refused.
pub async fn import<R: Read + Send + 'static>(
    store: &Store,
    kind: ImportKind,
    format: Format,
    input: R,
    on_error: impl FnMut(&RowError),
) -> Result<ImportSummary, ImportError> {
    import_with(store, kind, format, input, ImportOptions::default(), on_error).await
}

/// [`import`] with `options`.
pub async fn import_with<R: Read + Send + 'static>(
    store: &Store,
    kind: ImportKind,
    format: Format,
    input: R,
    options: ImportOptions,
    mut on_error: impl FnMut(&RowError),
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let plausible = kindred_domain::Plausible::now(
        options.max_amount.unwrap_or(kindred_domain::Plausible::DEFAULT_MAX_AMOUNT),
    );
    let (sender, mut receiver) = mpsc::channel(2);
    let reader = tokio::task::spawn_blocking(move || read_all(kind, format, input, plausible, sender));
    let mut summary = ImportSummary::default();
    let mut cache = IdCache { ids: HashMap::new() };
    let mut failure = None;
    while let Some(chunk) = receiver.recv().await {
        match chunk {
            Chunk::Failed(error) => failure = Some(error),
            Chunk::Rows { records, rejected, read, superseded } => {
                summary.read += read;
                summary.superseded += superseded;
                summary.rejected += rejected.len() as u64;
                let mut lines: Vec<u64> = rejected.iter().map(|e| e.line).collect();
                lines.dedup();
                summary.rejected -= rejected.len() as u64 - lines.len() as u64;
                rejected.iter().for_each(&mut on_error);
                if records.is_empty() {
                    report_rows(&options, summary.read);
                    continue;
                }
                let txn = store.begin_write().await?;
                let (records, erased) = screen_erased(&*txn, records, options.allow_erased).await?;
                summary.rejected += erased.len() as u64;
                erased.iter().for_each(&mut on_error);
                let (records, conflicts) = screen_source_ids(&*txn, records).await?;
                summary.rejected += conflicts.len() as u64;
                conflicts.iter().for_each(&mut on_error);
                let (counts, created) = if records.is_empty() {
                    (WriteCounts::default(), 0)
                } else {
                    write_chunk(&*txn, &mut cache, records).await?
                };
                txn.commit().await?;
                summary.imported += counts.inserted;
                summary.updated += counts.updated;
                summary.unchanged += counts.unchanged;
                summary.customers_created += created;
                report_rows(&options, summary.read);
            }
        }
    }
    drop(reader.await);
    summary.seconds = started.elapsed().as_secs_f64();
    match failure {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// Tells a progress display that `read` rows are done.
fn report_rows(options: &ImportOptions, read: u64) {
    if let Some(rows_done) = &options.rows_done {
        rows_done.store(read, Ordering::Relaxed);
    }
}

/// The external ids a record names, with their columns (none for the ends of a mutual tie,
/// whose order was made canonical, so the file's column is not known).
fn named(record: &Record) -> Vec<(Option<&'static str>, &str)> {
    match record {
        Record::Customer(c) => vec![(Some("external_id"), c.external_id.as_str())],
        Record::Interaction(i) => vec![(Some("customer_external_id"), i.customer_external_id.as_str())],
        Record::Tie(t) => {
            let (from, to) =
                if t.mutual() { (None, None) } else { (Some("from_external_id"), Some("to_external_id")) };
            vec![(from, t.from().as_str()), (to, t.to().as_str())]
        }
        Record::Need(n) => vec![(Some("customer_external_id"), n.customer_external_id.as_str())],
    }
}

/// Checks a chunk against the tombstones of erased customers in one statement: rows naming
/// one are refused, or with `allow_erased` kept and the tombstones removed.
async fn screen_erased<C: ConnectionTrait>(
    conn: &C,
    records: Vec<(u64, Record)>,
    allow_erased: bool,
) -> crate::StoreResult<(Vec<(u64, Record)>, Vec<RowError>)> {
    let ids: Vec<&str> = records.iter().flat_map(|(_, record)| named(record)).map(|(_, id)| id).collect();
    if allow_erased {
        forget_erased(conn, &ids).await?;
        return Ok((records, Vec::new()));
    }
    let erased = erased_among(conn, &ids).await?;
    if erased.is_empty() {
        return Ok((records, Vec::new()));
    }
    let mut kept = Vec::with_capacity(records.len());
    let mut refused = Vec::new();
    for (line, record) in records {
        let column = named(&record).into_iter().find(|(_, id)| erased.contains(*id)).map(|(c, _)| c);
        match column {
            Some(column) => refused.push(RowError {
                line,
                column: column.map(str::to_owned),
                reason: ERASED_REASON.to_owned(),
            }),
            None => kept.push((line, record)),
        }
    }
    Ok((kept, refused))
}

async fn write_chunk<C: ConnectionTrait>(
    conn: &C,
    cache: &mut IdCache,
    records: Vec<(u64, Record)>,
) -> crate::StoreResult<(WriteCounts, u64)> {
    let mut customers = Vec::new();
    let mut interactions = Vec::new();
    let mut ties = Vec::new();
    let mut needs = Vec::new();
    for (_, record) in records {
        match record {
            Record::Customer(c) => customers.push(c),
            Record::Interaction(i) => interactions.push(i),
            Record::Tie(t) => ties.push(t),
            Record::Need(n) => needs.push(n),
        }
    }
    if !customers.is_empty() {
        let external_ids: Vec<String> = customers.iter().map(|c| c.external_id.as_str().to_owned()).collect();
        let counts = upsert_customers(conn, customers).await?;
        if counts.inserted + counts.updated > 0 {
            record_changes(conn, &mut external_ids.iter().map(String::as_str).collect()).await?;
        }
        return Ok((counts, 0));
    }
    let mut wanted: Vec<&str> = Vec::new();
    wanted.extend(interactions.iter().map(|i| i.customer_external_id.as_str()));
    wanted.extend(ties.iter().flat_map(|t| [t.from().as_str(), t.to().as_str()]));
    wanted.extend(needs.iter().map(|n| n.customer_external_id.as_str()));
    let created = cache.resolve(conn, &wanted).await?;
    let mut touched = wanted.clone();
    let counts = if !interactions.is_empty() {
        let rows: Vec<_> =
            interactions.iter().map(|i| (cache.id(i.customer_external_id.as_str()), i)).collect();
        insert_interactions(conn, &rows).await?
    } else if !ties.is_empty() {
        let rows: Vec<_> =
            ties.iter().map(|t| (cache.id(t.from().as_str()), cache.id(t.to().as_str()), t)).collect();
        upsert_ties(conn, &rows).await?
    } else {
        let rows: Vec<_> = needs.iter().map(|n| (cache.id(n.customer_external_id.as_str()), n)).collect();
        upsert_needs(conn, &rows).await?
    };
    if counts.inserted + counts.updated > 0 {
        record_changes(conn, &mut touched).await?;
    }
    Ok((counts, created))
}
