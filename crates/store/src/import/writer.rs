//! Writing chunks of records to the store, one transaction a chunk.

use super::columns::ImportKind;
use super::id_cache::{ID_CACHE_LIMIT, IdCache, PRELOAD_MISSES};
use super::reader::{Chunk, Format, chunk_rows, read_all};
use super::records::Record;
use super::source_ids::screen_source_ids;
use super::staging::{
    StagedTie, Staging, upsert_staged_needs, upsert_staged_ties, write_staged_interactions,
};
use super::{ImportError, RowError};
use crate::changes::record_changes;
use crate::connect::Store;
use crate::erasure::{erased_among, forget_erased};
use crate::error::StoreResult;
use crate::write::{WriteCounts, create_customers, insert_interactions, upsert_needs, upsert_ties};
use kindred_domain::ExternalId;
use sea_orm::ConnectionTrait;
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
    /// Customers merged into another because a row showed them to be one person.
    pub merged: u64,
    /// Identifiers of rows not matched on: blocked values, or dropped because a match would
    /// break a limit (each logged).
    pub identifiers_set_aside: u64,
    /// Invalid values left blank in customer rows that were imported without them
    /// ([`ImportOptions::blank_invalid_fields`]; each reported like a refusal).
    pub fields_blanked: u64,
    /// How long the import took.
    pub seconds: f64,
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
    /// The region national phone numbers are read in (`identity.default_phone_region`);
    /// none: only international numbers are accepted.
    pub phone_region: Option<kindred_domain::PhoneRegion>,
    /// Rows written per transaction; none: what suits the kind and the database.
    pub chunk_rows: Option<usize>,
    /// A customer row whose faults are all in optional fields (a birth date that does not
    /// exist, a phone number that is not one, an unknown gender) is imported with those
    /// fields blank rather than refused; each value left out is still reported. The
    /// external id and the origin are never left out. Other kinds ignore it.
    pub blank_invalid_fields: bool,
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
    let rules = super::records::RowRules {
        plausible,
        phone_region: options.phone_region,
        blank_invalid_fields: options.blank_invalid_fields,
    };

    let mut summary = ImportSummary::default();
    let mut cache = IdCache::new(ID_CACHE_LIMIT);
    // Customers are written through the pool; rows that name customers through a connection
    // of the import's own on SQLite (see `IdCache`).
    let unchecked = if kind == ImportKind::Customers { None } else { store.unchecked_writer().await? };
    // Interactions, ties and needs reach PostgreSQL by COPY, through a connection of the
    // import's own.
    let staging = match kind {
        ImportKind::Customers => None,
        _ => store.single_connection().await?.map(Staging::new),
    };
    let rows = options.chunk_rows.unwrap_or_else(|| chunk_rows(kind, staging.is_some())).max(1);
    let reader = tokio::task::spawn_blocking(move || read_all(kind, format, input, rules, rows, sender));
    let mut failure = None;
    while let Some(chunk) = receiver.recv().await {
        match chunk {
            Chunk::Failed(error) => failure = Some(error),
            Chunk::Rows { records, rejected, blanked, read, superseded } => {
                summary.read += read;
                summary.fields_blanked += blanked.len() as u64;
                blanked.iter().for_each(&mut on_error);
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
                let written = write_in_turn(
                    store,
                    unchecked.as_ref(),
                    staging.as_ref(),
                    &mut cache,
                    records,
                    options.allow_erased,
                )
                .await?;
                summary.rejected += written.refused.len() as u64;
                written.refused.iter().for_each(&mut on_error);
                summary.imported += written.counts.inserted;
                summary.updated += written.counts.updated;
                summary.unchanged += written.counts.unchanged;
                summary.customers_created += written.created;
                summary.merged += written.merged;
                summary.identifiers_set_aside += written.set_aside;
                report_rows(&options, summary.read);
            }
        }
    }
    drop(reader.await);
    if let Some(conn) = unchecked {
        conn.close().await.map_err(crate::StoreError::from)?;
    }
    if let Some(staging) = staging {
        staging.close().await?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    match failure {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// Writes one chunk in a transaction of its own, through `unchecked` when there is one, or on
/// `staging`'s connection by `COPY`. Where foreign keys are checked
/// (PostgreSQL), a customer deleted since its id was cached makes the database refuse the
/// chunk: it is then written again once, with the cache emptied, as a fresh import would write
/// it (the customer is created anew).
async fn write_in_turn(
    store: &Store,
    unchecked: Option<&sea_orm::DatabaseConnection>,
    staging: Option<&Staging>,
    cache: &mut IdCache,
    records: Vec<(u64, Record)>,
    allow_erased: bool,
) -> StoreResult<Written> {
    let mut records = records;
    let mut plain = staging.is_some_and(|staging| staging.conflicts.try_plain());
    loop {
        // Only ids cached in earlier transactions can have gone stale; a chunk written the
        // plain way may meet stored rows.
        let again = (plain || (unchecked.is_none() && !cache.ids.is_empty())).then(|| records.clone());
        let how = How { unchecked: unchecked.is_some(), staging, plain };
        let written = match (unchecked, staging) {
            (None, Some(staging)) => {
                // By hand, so that the chunk's COPYs run in its transaction (see `staging`).
                staging.begin().await?;
                let conn = staging.connection();
                match write_chunk(conn, &store.identity, cache, records, allow_erased, how).await {
                    Ok(written) => staging.end(written.is_some()).await.map(|()| written),
                    Err(error) => {
                        staging.end(false).await?;
                        Err(error)
                    }
                }
            }
            _ => {
                let txn = match unchecked {
                    Some(conn) => store.begin_write_on(conn).await?,
                    None => store.begin_write().await?,
                };
                match write_chunk(&*txn, &store.identity, cache, records, allow_erased, how).await {
                    Ok(written) => txn.commit().await.map(|()| written),
                    Err(error) => {
                        txn.rollback().await?;
                        Err(error)
                    }
                }
            }
        };
        match (written, again) {
            (Ok(None), Some(chunk)) => {
                if let Some(staging) = staging {
                    staging.conflicts.met();
                }
                plain = false;
                cache.forget();
                records = chunk;
            }
            (Err(error), Some(chunk)) if error.is_foreign_key() => {
                cache.forget();
                records = chunk;
            }
            (Ok(Some(written)), _) => return Ok(written),
            (Ok(None), None) => {
                return Err(crate::StoreError::ReadTask(
                    "a chunk met stored rows and was not kept".to_owned(),
                ));
            }
            (Err(error), _) => return Err(error),
        }
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
fn named(record: &Record) -> impl Iterator<Item = (Option<&'static str>, &str)> {
    let (first, second) = match record {
        Record::Customer(c) => ((Some("external_id"), c.external_id.as_str()), None),
        Record::Interaction(i) => ((Some("customer_external_id"), i.customer_external_id.as_str()), None),
        Record::Tie(t) => {
            let (from, to) =
                if t.mutual() { (None, None) } else { (Some("from_external_id"), Some("to_external_id")) };
            ((from, t.from().as_str()), Some((to, t.to().as_str())))
        }
        Record::Need(n) => ((Some("customer_external_id"), n.customer_external_id.as_str()), None),
    };
    std::iter::once(first).chain(second)
}

/// Checks the rows of a chunk against the tombstones of `candidates`, the external ids it
/// names that may be erased: rows naming one are refused, or with `allow_erased` kept and the
/// tombstones removed.
async fn screen_erased<C: ConnectionTrait>(
    conn: &C,
    records: Vec<(u64, Record)>,
    candidates: &[&str],
    allow_erased: bool,
) -> StoreResult<(Vec<(u64, Record)>, Vec<RowError>)> {
    if candidates.is_empty() {
        return Ok((records, Vec::new()));
    }
    if allow_erased {
        forget_erased(conn, candidates).await?;
        return Ok((records, Vec::new()));
    }
    let erased = erased_among(conn, candidates).await?;
    if erased.is_empty() {
        return Ok((records, Vec::new()));
    }
    let mut kept = Vec::with_capacity(records.len());
    let mut refused = Vec::new();
    for (line, record) in records {
        let column = named(&record).find(|(_, id)| erased.contains(*id)).map(|(c, _)| c);
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

/// What writing one chunk did.
struct Written {
    counts: WriteCounts,
    /// Customers created because a row named one not known yet.
    created: u64,
    /// Rows refused: those naming an erased customer, then source id conflicts.
    refused: Vec<RowError>,
    /// Customers merged into another.
    merged: u64,
    /// Identifiers blocked or dropped.
    set_aside: u64,
}

/// How a chunk's transaction writes.
#[derive(Clone, Copy, Default)]
struct How<'a> {
    /// On a connection that does not check foreign keys (SQLite).
    unchecked: bool,
    /// Where its interactions, ties or needs were staged, on the transaction's connection
    /// (PostgreSQL).
    staging: Option<&'a Staging>,
    /// Staged interactions are written without screening their source ids against stored
    /// ones and without `ON CONFLICT` (see `staging::Conflicts`).
    plain: bool,
}

/// Screens and writes one chunk (all of one kind) in the transaction `conn`, and records the
/// customers it changed in the change feed. `None` when a chunk written the plain way met a
/// stored row: the transaction is aborted, and the chunk must be written again.
async fn write_chunk<C: ConnectionTrait>(
    conn: &C,
    identity: &kindred_domain::identity::IdentityPolicy,
    cache: &mut IdCache,
    records: Vec<(u64, Record)>,
    allow_erased: bool,
    how: How<'_>,
) -> StoreResult<Option<Written>> {
    if matches!(records.first(), Some((_, Record::Customer(_)))) {
        return write_customers(conn, identity, records, allow_erased).await.map(Some);
    }
    cache.check(conn, how.unchecked).await?;
    // The customer id of every external id the rows name, in order, from the cache; then
    // those not cached are looked up (all customers at once, on the first large miss).
    let mut ends = ends_of(&records, cache);
    let mut missing = missing_of(&records, &ends);
    if missing.len() >= PRELOAD_MISSES && !cache.preloaded && cache.preload(conn).await? {
        ends = ends_of(&records, cache);
        missing = missing_of(&records, &ends);
    }
    if cache.ids.len() + missing.len() > cache.limit {
        cache.ids.clear();
        ends = vec![None; ends.len()];
        missing = missing_of(&records, &ends);
    }
    // Only external ids that are no customer's can be erased: an erasure removes the
    // customer in the transaction that writes its tombstone. So known customers (cached or
    // found) are not checked against the tombstones.
    let unknown: Vec<String> = cache.find(conn, &missing).await?.into_iter().map(str::to_owned).collect();
    let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
    let read = records.len();
    let (records, mut refused) = screen_erased(conn, records, &unknown, allow_erased).await?;
    let (records, conflicts) =
        if how.plain { (records, Vec::new()) } else { screen_source_ids(conn, records).await? };
    refused.extend(conflicts);
    if records.len() != read {
        ends = ends_of(&records, cache);
    }
    let mut created = 0;
    if !unknown.is_empty() {
        let mut new: Vec<&str> = names(&records).filter(|name| cache.get(name).is_none()).collect();
        new.sort_unstable();
        new.dedup();
        let (ids, count) = create_customers(conn, &new).await?;
        cache.created(&ids, count);
        created = count;
    }
    // Every external id is a customer's now.
    let ids: Vec<i64> = names(&records)
        .zip(ends)
        .map(|(name, id)| match id {
            Some(id) => Ok(id),
            None => cache.id(name),
        })
        .collect::<StoreResult<_>>()?;
    let mut interactions = Vec::new();
    let mut ties = Vec::new();
    let mut needs = Vec::new();
    let mut next = ids.iter().copied();
    for (line, record) in &records {
        match record {
            Record::Interaction(i) => interactions.extend(next.next().map(|id| (*line, id, i))),
            Record::Tie(t) => {
                ties.extend(next.next().zip(next.next()).map(|(from, to)| (*line, from, to, t)))
            }
            Record::Need(n) => needs.extend(next.next().map(|id| (*line, id, n))),
            Record::Customer(_) => {}
        }
    }
    let aliases = &cache.ids.aliases;
    let alias = |name: &ExternalId| aliases.contains(name.as_str());
    let counts = match (how.staging, interactions.is_empty(), ties.is_empty(), needs.is_empty()) {
        (Some(staging), false, _, _) => {
            let rows: Vec<_> = interactions
                .iter()
                .map(|(line, id, i)| (*line, *id, *i, alias(&i.customer_external_id)))
                .collect();
            match write_staged_interactions(conn, staging, &rows, how.plain).await? {
                Some(counts) => counts,
                None => return Ok(None),
            }
        }
        (None, false, _, _) => {
            let rows: Vec<_> = interactions.iter().map(|(_, id, i)| (*id, *i)).collect();
            insert_interactions(conn, &rows, aliases).await?
        }
        (Some(staging), _, false, _) => {
            let rows: Vec<StagedTie<'_>> = ties
                .iter()
                .map(|(_, from, to, t)| (*from, *to, *t, alias(t.from()), alias(t.to())))
                .collect();
            let counts = upsert_staged_ties(conn, staging, &rows).await?;
            order_ties_named_by_aliases(conn, &ties, alias).await?;
            counts
        }
        (None, _, false, _) => {
            let rows: Vec<_> = ties.iter().map(|(_, from, to, t)| (*from, *to, *t)).collect();
            let counts = upsert_ties(conn, &rows, aliases).await?;
            order_ties_named_by_aliases(conn, &ties, alias).await?;
            counts
        }
        (Some(staging), _, _, false) => {
            let rows: Vec<_> =
                needs.iter().map(|(line, id, n)| (*line, *id, *n, alias(&n.customer_external_id))).collect();
            upsert_staged_needs(conn, staging, &rows).await?
        }
        (None, _, _, false) => {
            let rows: Vec<_> = needs.iter().map(|(_, id, n)| (*id, *n)).collect();
            upsert_needs(conn, &rows, aliases).await?
        }
        _ => WriteCounts::default(),
    };
    if counts.inserted + counts.updated > 0 {
        // Each customer once, told apart by id (cheaper to sort than external ids).
        let mut touched: Vec<(i64, &str)> = ids.iter().copied().zip(names(&records)).collect();
        touched.sort_unstable_by_key(|(id, _)| *id);
        touched.dedup_by_key(|(id, _)| *id);
        let external_ids: Vec<&str> = touched.into_iter().map(|(_, name)| name).collect();
        record_changes(conn, &external_ids).await?;
    }
    Ok(Some(Written { counts, created, refused, merged: 0, set_aside: 0 }))
}

/// Every external id the records name, in order (two for a tie).
/// Puts back in order the mutual ties of a chunk that named an end by an alias (the order a
/// record gives is by the ids it names, not by the ends' own).
async fn order_ties_named_by_aliases<C: ConnectionTrait>(
    conn: &C,
    ties: &[(u64, i64, i64, &kindred_domain::Tie)],
    alias: impl Fn(&ExternalId) -> bool,
) -> StoreResult<()> {
    let ends: Vec<i64> = ties
        .iter()
        .filter(|(_, _, _, tie)| tie.mutual() && (alias(tie.from()) || alias(tie.to())))
        .flat_map(|(_, from, to, _)| [*from, *to])
        .collect();
    if !ends.is_empty() {
        crate::mutual_ties::order_mutual_ties(conn, &ends).await?;
    }
    Ok(())
}

fn names(records: &[(u64, Record)]) -> impl Iterator<Item = &str> {
    records.iter().flat_map(|(_, record)| named(record)).map(|(_, name)| name)
}

/// The external ids the records name whose `ends` are not known, each once.
fn missing_of<'a>(records: &'a [(u64, Record)], ends: &[Option<i64>]) -> Vec<&'a str> {
    let mut missing: Vec<&str> =
        names(records).zip(ends).filter(|(_, id)| id.is_none()).map(|(name, _)| name).collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// The cached customer id of every external id the records name, in order.
fn ends_of(records: &[(u64, Record)], cache: &IdCache) -> Vec<Option<i64>> {
    names(records).map(|name| cache.get(name)).collect()
}

/// Writes a chunk of customers: rows naming an erased customer are refused first.
async fn write_customers<C: ConnectionTrait>(
    conn: &C,
    identity: &kindred_domain::identity::IdentityPolicy,
    records: Vec<(u64, Record)>,
    allow_erased: bool,
) -> StoreResult<Written> {
    let candidates: Vec<String> =
        records.iter().flat_map(|(_, record)| named(record)).map(|(_, id)| id.to_owned()).collect();
    let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let (records, refused) = screen_erased(conn, records, &candidates, allow_erased).await?;
    let customers: Vec<_> = records
        .into_iter()
        .filter_map(|(_, record)| match record {
            Record::Customer(customer) => Some(*customer),
            _ => None,
        })
        .collect();
    if customers.is_empty() {
        return Ok(Written { counts: WriteCounts::default(), created: 0, refused, merged: 0, set_aside: 0 });
    }
    let written = crate::identity::write_customer_records(conn, identity, customers, "import").await?;
    if written.counts.inserted + written.counts.updated > 0 {
        record_changes(conn, &written.external_ids.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    }
    Ok(Written {
        counts: written.counts,
        created: 0,
        refused,
        merged: written.merges.len() as u64,
        set_aside: written.decisions as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_domain::TieDraft;

    fn tie(line: u64, from: &str, to: &str, mutual: bool) -> (u64, Record) {
        let draft = TieDraft {
            from_external_id: from.to_owned(),
            to_external_id: to.to_owned(),
            mutual: Some(mutual),
            ..Default::default()
        };
        (line, Record::Tie(draft.validate().expect("a valid tie")))
    }

    #[test]
    fn a_mutual_tie_names_its_ends_in_order_without_columns() {
        let (mutual, directed) = (tie(2, "b", "a", true), tie(3, "b", "a", false));
        assert_eq!(named(&mutual.1).collect::<Vec<_>>(), [(None, "a"), (None, "b")]);
        assert_eq!(
            named(&directed.1).collect::<Vec<_>>(),
            [(Some("from_external_id"), "b"), (Some("to_external_id"), "a")]
        );
        let records = [tie(2, "b", "a", true), tie(3, "c", "a", false)];
        assert_eq!(names(&records).collect::<Vec<_>>(), ["a", "b", "c", "a"]);
        assert_eq!(missing_of(&records, &[None, Some(1), None, None]), ["a", "c"]);
    }

    /// Writes `ties` as one chunk in its own transaction on the import's connection.
    async fn write(
        store: &Store,
        conn: &sea_orm::DatabaseConnection,
        cache: &mut IdCache,
        ties: Vec<(u64, Record)>,
    ) -> Written {
        let txn = store.begin_write_on(conn).await.expect("begin");
        let how = How { unchecked: true, staging: None, plain: false };
        let written = write_chunk(&*txn, &Default::default(), cache, ties, false, how)
            .await
            .expect("write")
            .expect("kept");
        txn.commit().await.expect("commit");
        written
    }

    #[tokio::test]
    async fn a_full_cache_is_emptied_and_every_id_is_still_right() {
        let folder = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}/kindred.db", folder.path().display()))
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let conn = store.unchecked_writer().await.expect("connect").expect("a SQLite file");
        // Room for three ids: the first chunk names four, the second one more.
        let mut cache = IdCache::new(3);
        let first =
            write(&store, &conn, &mut cache, vec![tie(2, "a", "b", true), tie(3, "c", "d", false)]).await;
        assert_eq!((first.counts.inserted, first.created), (2, 4));
        let second =
            write(&store, &conn, &mut cache, vec![tie(4, "e", "a", true), tie(5, "b", "c", true)]).await;
        assert_eq!((second.counts.inserted, second.created), (2, 1));
        assert!(cache.ids.len() <= 4, "the limit, plus one chunk's ids");

        let customers = store.scan_customers(i64::MIN, 10).await.expect("customers");
        let name = |id: i64| customers.iter().find(|c| c.id == id).map(|c| c.external_id.clone());
        let mut ties: Vec<_> = store
            .scan_ties(i64::MIN, 10)
            .await
            .expect("ties")
            .into_iter()
            .map(|t| (name(t.from_id), name(t.to_id)))
            .collect();
        ties.sort();
        let pair = |a: &str, b: &str| (Some(a.to_owned()), Some(b.to_owned()));
        assert_eq!(ties, [pair("a", "b"), pair("a", "e"), pair("b", "c"), pair("c", "d")]);
        conn.close().await.expect("close");
    }
}
