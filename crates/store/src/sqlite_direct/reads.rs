//! Short reads on SQLite through plain synchronous connections.
//!
//! sqlx drives each SQLite connection from a thread of its own and wakes it through a channel
//! for every statement and every batch of rows. For the point reads behind a profile page
//! (a customer by id, a page of their interactions) those hand-offs cost more than the query
//! itself (see BENCHMARKS.md). Reads here run on connections of their own, with cached
//! prepared statements: small reads on the calling thread, larger ones on the blocking pool.
//! Writes and open-ended reads (filtered lists, counts) stay on the sea-orm pool.

use crate::error::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use sea_orm::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Reads that may return up to this many rows run on the calling thread; a few hundred
/// rows from the page cache take well under 100 µs, less than a thread hand-off.
const INLINE_ROWS: usize = 1_000;

/// Idle connections kept for reuse; more are opened when more threads read at once.
const MAX_IDLE: usize = 32;

/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;

/// A pool of read-only SQLite connections to one database file.
#[derive(Debug)]
pub(crate) struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    statements: Arc<AtomicU64>,
    slow: Duration,
}

impl SqliteReads {
    /// Reads from the database file at `path`, counting each statement in `statements` and
    /// logging those slower than `slow`.
    pub(crate) fn new(path: PathBuf, statements: Arc<AtomicU64>, slow: Duration) -> Self {
        Self { path, idle: Mutex::new(Vec::new()), statements, slow }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(Duration::from_secs(30))?;
        // Pages are shared through the OS page cache by memory map; each connection keeps a
        // modest cache of its own on top.
        connection.pragma_update(None, "mmap_size", 256_i64 * 1024 * 1024)?;
        connection.pragma_update(None, "cache_size", -16_384_i64)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }

    fn checkout(&self) -> rusqlite::Result<Connection> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(connection) => Ok(connection),
            None => self.open(),
        }
    }

    fn checkin(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
    }

    /// Prepares `sql` on a pooled connection and hands the statement to `body`, counting it
    /// as one statement.
    pub(crate) fn with_connection<T>(
        &self,
        sql: &str,
        body: impl FnOnce(&mut rusqlite::Statement<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let started = Instant::now();
        let connection = self.checkout()?;
        let result = match connection.prepare(sql) {
            Ok(mut statement) => body(&mut statement),
            Err(error) => Err(error.into()),
        };
        self.checkin(connection);
        self.statements.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, sql, "streamed");
        result
    }

    /// Runs `sql` with `values` and maps each row with `map`.
    fn run<T>(
        &self,
        sql: &str,
        values: &[Value],
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        let params = values.iter().map(sqlite_value).collect::<StoreResult<Vec<_>>>()?;
        let started = Instant::now();
        let connection = self.checkout()?;
        let rows = (|| {
            let mut statement = connection.prepare_cached(sql)?;
            let rows = statement.query_map(rusqlite::params_from_iter(params), map)?;
            rows.collect::<rusqlite::Result<Vec<T>>>()
        })();
        self.checkin(connection);
        self.statements.fetch_add(1, Ordering::Relaxed);
        let elapsed = started.elapsed();
        if elapsed > self.slow {
            let sql: String = sql.chars().take(200).collect();
            tracing::warn!(elapsed_ms = elapsed.as_millis() as u64, %sql, "slow statement");
        }
        Ok(rows?)
    }

    /// Runs `sql` with `values`, mapping each row with `map`: on this thread when the read
    /// returns at most `max_rows` rows and that is few, on the blocking pool otherwise.
    pub(crate) async fn query<T: Send + 'static>(
        self: &Arc<Self>,
        sql: String,
        values: Vec<Value>,
        max_rows: usize,
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        if max_rows <= INLINE_ROWS {
            return self.run(&sql, &values, map);
        }
        self.query_off_thread(sql, values, map).await
    }

    /// As [`SqliteReads::query`], always on the blocking pool: for a query that may scan a
    /// whole table however few rows it returns.
    pub(crate) async fn query_off_thread<T: Send + 'static>(
        self: &Arc<Self>,
        sql: String,
        values: Vec<Value>,
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        let reads = self.clone();
        tokio::task::spawn_blocking(move || reads.run(&sql, &values, map))
            .await
            .map_err(|error| StoreError::ReadTask(error.to_string()))?
    }
}

/// A sea-orm value as SQLite stores it. Times are written the way sqlx writes them
/// (RFC 3339 with `T` and an offset), so they compare as text with the stored ones.
fn sqlite_value(value: &Value) -> StoreResult<rusqlite::types::Value> {
    use rusqlite::types::Value as Sqlite;
    Ok(match value {
        Value::BigInt(Some(number)) => Sqlite::Integer(*number),
        Value::Int(Some(number)) => Sqlite::Integer(i64::from(*number)),
        Value::Double(Some(number)) => Sqlite::Real(*number),
        Value::Bool(Some(flag)) => Sqlite::Integer(i64::from(*flag)),
        Value::String(Some(text)) => Sqlite::Text(text.clone()),
        Value::ChronoDateTimeUtc(Some(time)) => {
            Sqlite::Text(time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        }
        other if !other.is_some() => Sqlite::Null,
        other => return Err(StoreError::ReadTask(format!("no SQLite binding for {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn times_bind_as_sqlx_stores_them() {
        let time = Utc.with_ymd_and_hms(2025, 2, 1, 23, 34, 31).single().expect("valid time");
        let bound = sqlite_value(&Value::from(time)).expect("bindable");
        assert_eq!(bound, rusqlite::types::Value::Text("2025-02-01T23:34:31+00:00".into()));
        assert_eq!(sqlite_value(&Value::from(7_i64)).expect("bindable"), rusqlite::types::Value::Integer(7));
    }
}
