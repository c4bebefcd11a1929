//! The import's cache of customer ids by external id, and what tells it when they may have
//! gone stale.

use crate::error::{StoreError, StoreResult};
use crate::sql::statement;
use crate::write::lookup_customers;
use sea_orm::{ConnectionTrait, DbBackend};
use std::collections::{HashMap, HashSet};

/// External id -> customer id of the customers an import has found or created, so that a long
/// import looks each one up once. Bounded: cleared when full. Cleared as well when what it
/// holds may have gone stale (see [`Witness`]): every id it gives exists when it is written.
pub(super) struct IdCache {
    pub(super) ids: Ids,
    /// Most entries held ([`ID_CACHE_LIMIT`]).
    pub(super) limit: usize,
    /// What the cache was checked against last.
    witness: Option<Witness>,
    /// Whether every customer's id was read at once already (see [`PRELOAD_MISSES`]).
    pub(super) preloaded: bool,
}

/// External id -> customer id. An id of up to 15 bytes is packed with its length into one
/// number, held in the table itself: a look-up reads no other memory, which matters when a
/// million customers are named in any order.
#[derive(Default)]
pub(super) struct Ids {
    /// External ids found to be aliases (of customers merged into another): rows naming them
    /// record it.
    pub(super) aliases: HashSet<String>,
    short: HashMap<u128, i64>,
    long: HashMap<Box<str>, i64>,
}

impl Ids {
    /// `external_id` packed into a number, when it is short enough.
    fn pack(external_id: &str) -> Option<u128> {
        let bytes = external_id.as_bytes();
        let mut packed = [0u8; 16];
        packed.get_mut(..bytes.len())?.copy_from_slice(bytes);
        packed[15] = u8::try_from(bytes.len()).ok().filter(|len| *len < 16)?;
        Some(u128::from_le_bytes(packed))
    }

    pub(super) fn get(&self, external_id: &str) -> Option<i64> {
        match Self::pack(external_id) {
            Some(packed) => self.short.get(&packed).copied(),
            None => self.long.get(external_id).copied(),
        }
    }

    pub(super) fn insert(&mut self, external_id: &str, id: i64) {
        match Self::pack(external_id) {
            Some(packed) => self.short.insert(packed, id),
            None => self.long.insert(external_id.into(), id),
        };
    }

    pub(super) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.short.is_empty() && self.long.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.aliases.clear();
        self.short.clear();
        self.long.clear();
    }
}

/// What tells, at the start of a transaction, that the ids cached in earlier ones still name
/// customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Witness {
    /// Foreign keys checked (PostgreSQL): the database refuses a row naming a customer deleted
    /// since, and an erased one is seen by the tombstones' count and greatest id (an erasure
    /// adds a tombstone with an id greater than any before).
    Tombstones { count: i64, max_id: i64 },
    /// Foreign keys not checked (SQLite's import connection): no customer was added or
    /// removed since, by the customers' count and greatest id (ids are never reused: a
    /// removal and an addition still change the greatest id), or, cheaper, because no other
    /// connection committed anything since (`PRAGMA data_version`).
    Customers { data_version: i64, count: i64, max_id: i64 },
}

/// Most entries the cache holds (about 50 MB a million for external ids up to 15 bytes): every
/// customer of a million-customer base, whose ties name them in any order.
pub(super) const ID_CACHE_LIMIT: usize = 2_000_000;

/// A chunk naming at least this many customers not cached makes the import read every
/// customer's id at once, once, when they all fit in the cache: one pass over the external id
/// index costs less than finding them a chunk at a time (ties name customers in any order).
pub(super) const PRELOAD_MISSES: usize = 50_000;

/// Customer ids read per statement when the cache reads them all.
const PRELOAD_ROWS: i64 = 100_000;

impl IdCache {
    pub(super) fn new(limit: usize) -> Self {
        Self { ids: Ids::default(), limit, witness: None, preloaded: false }
    }

    /// Forgets every id unless the [`Witness`] shows them still good, at the start of a write
    /// transaction (`unchecked`: on a connection that does not check foreign keys).
    pub(super) async fn check<C: ConnectionTrait>(&mut self, conn: &C, unchecked: bool) -> StoreResult<()> {
        let backend = conn.get_database_backend();
        let one_row = |sql: &'static str| conn.query_one_raw(statement(backend, sql, Vec::new()));
        let now = if unchecked {
            let data_version: i64 = match one_row("PRAGMA data_version").await? {
                Some(row) => row.try_get_by_index(0)?,
                None => 0,
            };
            if let Some(Witness::Customers { data_version: seen, count, max_id }) = self.witness
                && seen == data_version
            {
                self.witness = Some(Witness::Customers { data_version, count, max_id });
                return Ok(());
            }
            let (count, max_id) =
                count_and_max(one_row("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM customers").await?)?;
            if let Some(Witness::Customers { count: seen_count, max_id: seen_max, .. }) = self.witness
                && (seen_count, seen_max) == (count, max_id)
            {
                self.witness = Some(Witness::Customers { data_version, count, max_id });
                return Ok(());
            }
            Witness::Customers { data_version, count, max_id }
        } else {
            let (count, max_id) =
                count_and_max(one_row("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM erased_customers").await?)?;
            Witness::Tombstones { count, max_id }
        };
        if self.witness != Some(now) {
            self.ids.clear();
            self.witness = Some(now);
        }
        Ok(())
    }

    /// Looks up `missing` (distinct external ids, none cached) and caches those that are
    /// customers; returns the others.
    pub(super) async fn find<'a, C: ConnectionTrait>(
        &mut self,
        conn: &C,
        missing: &[&'a str],
    ) -> StoreResult<Vec<&'a str>> {
        let mut unknown = Vec::new();
        for (external_id, found) in missing.iter().zip(lookup_customers(conn, missing).await?) {
            match found {
                Some(found) => {
                    self.ids.insert(external_id, found.id);
                    if found.alias {
                        self.ids.aliases.insert((*external_id).to_owned());
                    }
                }
                None => unknown.push(*external_id),
            }
        }
        Ok(unknown)
    }

    /// Reads every customer's id into the cache, once, unless they would not fit. Returns
    /// whether it did.
    pub(super) async fn preload<C: ConnectionTrait>(&mut self, conn: &C) -> StoreResult<bool> {
        self.preloaded = true;
        let backend = conn.get_database_backend();
        let sql = "SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM customers";
        let (count, low, high): (i64, i64, i64) =
            match conn.query_one_raw(statement(backend, sql, Vec::new())).await? {
                Some(row) => (row.try_get_by_index(0)?, row.try_get_by_index(1)?, row.try_get_by_index(2)?),
                None => (0, 0, 0),
            };
        if count as usize + self.ids.len() > self.limit / 2 {
            return Ok(false);
        }
        // A range of ids at a time, each answered as one JSON array.
        let sql = match backend {
            DbBackend::Postgres => {
                "SELECT json_agg(json_build_array(id, external_id))::text FROM customers WHERE id BETWEEN ? AND ?"
            }
            _ => {
                "SELECT json_group_array(json_array(id, external_id)) FROM customers WHERE id BETWEEN ? AND ?"
            }
        };
        let mut from = low;
        loop {
            let to = from.saturating_add(PRELOAD_ROWS - 1);
            let row = conn.query_one_raw(statement(backend, sql, vec![from.into(), to.into()])).await?;
            let page: Option<String> = match row {
                Some(row) => row.try_get_by_index(0)?,
                None => None,
            };
            if let Some(page) = page {
                let page: Vec<(i64, String)> = serde_json::from_str(&page)
                    .map_err(|error| StoreError::ReadTask(format!("customer ids: {error}")))?;
                page.iter().for_each(|(id, external_id)| self.ids.insert(external_id, *id));
            }
            if to >= high {
                return Ok(true);
            }
            from = to + 1;
        }
    }

    /// Caches the customers this transaction created (`created` of them new), which the
    /// witness of customers counts in.
    pub(super) fn created(&mut self, ids: &[(String, i64)], created: u64) {
        if let Some(Witness::Customers { count, max_id, .. }) = &mut self.witness {
            *count += created as i64;
            *max_id = ids.iter().map(|(_, id)| *id).fold(*max_id, i64::max);
        }
        ids.iter().for_each(|(external_id, id)| self.ids.insert(external_id, *id));
    }

    pub(super) fn get(&self, external_id: &str) -> Option<i64> {
        self.ids.get(external_id)
    }

    /// Forgets every id and what they were checked against.
    pub(super) fn forget(&mut self) {
        self.ids.clear();
        self.witness = None;
    }

    /// The id of a customer found or created for this chunk.
    pub(super) fn id(&self, external_id: &str) -> StoreResult<i64> {
        self.get(external_id)
            .ok_or_else(|| StoreError::NotFound { what: "customer", key: external_id.to_owned() })
    }
}

/// The two numbers of a `SELECT COUNT(*), MAX(id)`.
fn count_and_max(row: Option<sea_orm::QueryResult>) -> StoreResult<(i64, i64)> {
    Ok(match row {
        Some(row) => (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
        None => (0, 0),
    })
}
