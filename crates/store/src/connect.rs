//! Connecting to SQLite or PostgreSQL, applying migrations, counting queries.

use crate::error::{StoreError, StoreResult};
use crate::group_commit::GroupCommit;
use crate::sql::statement;
use crate::sqlite_direct::FromSqliteRow;
use crate::sqlite_direct::SqliteReads;
use crate::write_txn::{WriteGate, WriteTransaction};
use crate::written::Recorded;
use kindred_domain::Interaction;
use kindred_migrations::Migrator;
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, FromQueryResult,
    RuntimeErr, SqlxPostgresConnector, SqlxSqliteConnector, Value,
};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How to connect.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections in the pool.
    pub max_connections: u32,
    /// Statements slower than this are logged as warnings.
    pub slow_statement: Duration,
    /// PostgreSQL only: the schema to work in (created if missing); `None` for the default.
    pub schema: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 16, slow_statement: Duration::from_millis(500), schema: None }
    }
}

/// The database Kindred keeps its data in: a pool of connections plus a count of the
/// statements run, which tests use to prove that requests are batched.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
    statements: Arc<AtomicU64>,
    /// Statements slower than this are logged.
    slow: Duration,
    /// SQLite files only: the direct path for short reads.
    pub(crate) reads: Option<Arc<SqliteReads>>,
    /// SQLite only: this process's writers, queued for their turn.
    write_gate: Option<WriteGate>,
    /// Interactions recorded by the API, written in groups.
    pub(crate) recordings: Arc<GroupCommit<Interaction, Recorded>>,
    /// PostgreSQL only: the schema worked in, when not the default.
    schema: Option<String>,
    /// How customer records are matched and merged (`[identity]`).
    pub(crate) identity: Arc<kindred_domain::identity::IdentityPolicy>,
    /// Background work for this store runs while a clone of it exists.
    _alive: Arc<()>,
}

/// The connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open.
    pub open: u32,
    /// Connections lent out to a query or transaction.
    pub in_use: u32,
}

/// Counts every statement `db` runs in `statements` and logs those slower than `slow`.
fn count_statements(db: &mut DatabaseConnection, statements: &Arc<AtomicU64>, slow: Duration) {
    let counter = statements.clone();
    db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        if info.elapsed > slow {
            let sql: String = info.statement.sql.chars().take(200).collect();
            tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, %sql, "slow statement");
        }
    });
}

/// The path of the SQLite file in a `sqlite://` URL, without any query string (none for an
/// in-memory database or another database).
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`) with default options.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// Connects to `url`. For SQLite the file and its folder are created if missing, and the
    /// database runs in WAL mode with foreign keys enforced.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let mut connect = ConnectOptions::new(url.to_owned());
        let mut reads_from = None;
        connect
            .max_connections(options.max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        if url.starts_with("sqlite:") {
            if let Some(path) = sqlite_path(url) {
                reads_from = Some(std::path::PathBuf::from(path));
                if let Some(folder) = std::path::Path::new(path).parent()
                    && !folder.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(folder).map_err(|source| StoreError::CreateFolder {
                        path: folder.display().to_string(),
                        source,
                    })?;
                }
            }
            connect.map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
                    // 128 MiB of page cache per connection, and statement journals in
                    // memory: bulk writes touch many index pages.
                    .pragma("cache_size", "-131072")
                    .pragma("temp_store", "memory")
                    // Pages read through a memory map: under steady writes each read
                    // transaction starts with an emptied page cache, and mapped pages
                    // are not copied in again.
                    .pragma("mmap_size", "268435456")
                    // Checkpoints run in the background (see `checkpoint`); a commit
                    // copies the log back itself only past ~400 MiB.
                    .pragma("wal_autocheckpoint", "100000")
            });
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            if let Some(schema) = &options.schema {
                let admin = Database::connect(url).await?;
                admin
                    .execute_unprepared(&format!(
                        "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                        schema.replace('"', "")
                    ))
                    .await?;
                admin.close().await?;
                connect.set_schema_search_path(schema.clone());
            }
        } else {
            return Err(StoreError::UnsupportedUrl { url: url.to_owned() });
        }
        let mut db = Database::connect(connect).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let slow = options.slow_statement;
        count_statements(&mut db, &statements, slow);
        let alive = Arc::new(());
        if let Some(path) = &reads_from {
            crate::checkpoint::start(path.clone(), Arc::downgrade(&alive));
        }
        let reads = reads_from.map(|path| Arc::new(SqliteReads::new(path, statements.clone(), slow)));
        let write_gate = (db.get_database_backend() == DbBackend::Sqlite).then(WriteGate::default);
        let schema = options.schema.clone().filter(|_| db.get_database_backend() == DbBackend::Postgres);
        Ok(Self {
            db,
            statements,
            slow,
            reads,
            write_gate,
            recordings: Arc::default(),
            schema,
            identity: Arc::default(),
            _alive: alive,
        })
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    /// The sea-orm connection, for crates that build their own queries.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// "database is locked" when another writer committed in between, instead of waiting.
    /// Writers of this process take turns on SQLite (see [`WriteTransaction`]).
    pub async fn begin_write(&self) -> StoreResult<WriteTransaction> {
        use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        WriteTransaction::begin(self.write_gate.as_ref(), self.db.begin_with_options(options)).await
    }

    /// A connection of its own for a bulk import's writes to a SQLite file, on which foreign
    /// keys are not checked: the import makes sure that every customer id it writes exists
    /// (`import/writer.rs`, `IdCache`), and the check would read two random pages of the
    /// customers table for every tie. `None` on PostgreSQL and for an in-memory database.
    pub(crate) async fn unchecked_writer(&self) -> StoreResult<Option<DatabaseConnection>> {
        if self.backend() != DbBackend::Sqlite || self.reads.is_none() {
            return Ok(None);
        }
        let options =
            self.db.get_sqlite_connection_pool().connect_options().as_ref().clone().foreign_keys(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|error| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error))))?;
        let mut db = SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
        count_statements(&mut db, &self.statements, self.slow);
        Ok(Some(db))
    }

    /// A pool of exactly one PostgreSQL connection for a bulk import, on which it begins and
    /// ends its transactions by hand, so that its `COPY`s run inside them (`import/staging`).
    /// The connection is never closed for being idle or old, and the pool never opens a
    /// second: if the connection is lost, PostgreSQL rolls back the transaction in flight and
    /// every later statement fails, rather than run outside it. `None` on SQLite.
    pub(crate) async fn single_connection(&self) -> StoreResult<Option<DatabaseConnection>> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let options = self.db.get_postgres_connection_pool().connect_options().as_ref().clone();
        let search_path =
            self.schema.as_ref().map(|schema| format!("SET search_path = \"{}\"", schema.replace('"', "")));
        let opened = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                let search_path = search_path.clone();
                let again = opened.swap(true, Ordering::SeqCst);
                Box::pin(async move {
                    if again {
                        return Err(sea_orm::sqlx::Error::Protocol(
                            "the import's connection was lost; its transaction was rolled back".to_owned(),
                        ));
                    }
                    if let Some(sql) = search_path {
                        use sea_orm::sqlx::Executor;
                        conn.execute(sea_orm::sqlx::raw_sql(sea_orm::sqlx::AssertSqlSafe(sql))).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|error| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error))))?;
        let mut db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
        count_statements(&mut db, &self.statements, self.slow);
        Ok(Some(db))
    }

    /// [`begin_write`](Self::begin_write) on `conn`, a connection to this store's database
    /// from [`unchecked_writer`](Self::unchecked_writer) or
    /// [`single_connection`](Self::single_connection), in this process's turn to write.
    pub(crate) async fn begin_write_on(&self, conn: &DatabaseConnection) -> StoreResult<WriteTransaction> {
        use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        WriteTransaction::begin(self.write_gate.as_ref(), conn.begin_with_options(options)).await
    }

    /// How many of the pool's connections are open and how many of those are idle.
    pub fn pool_usage(&self) -> PoolUsage {
        let (open, idle) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(open);
        PoolUsage { open, in_use: open - idle }
    }

    /// Which database this is.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// How many statements have run on this store since it was opened.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Runs a short read written as SQL with `?` parameters and returns a model per row:
    /// through the direct read path on a SQLite file, through sea-orm otherwise. `max_rows`
    /// bounds how many rows it can return (it decides where the read runs).
    pub(crate) async fn read_rows<T>(
        &self,
        sql: String,
        values: Vec<Value>,
        max_rows: usize,
    ) -> StoreResult<Vec<T>>
    where
        T: FromQueryResult + FromSqliteRow + Send + 'static,
    {
        if let Some(reads) = &self.reads {
            return reads.query(sql, values, max_rows, T::from_sqlite_row).await;
        }
        let stmt = statement(self.backend(), &sql, values);
        Ok(T::find_by_statement(stmt).all(&self.db).await?)
    }

    /// As [`Store::read_rows`] for a query that may scan a whole table however few rows it
    /// returns: on a SQLite file it always runs on the blocking pool, never on the caller's
    /// thread.
    pub(crate) async fn read_rows_scanning<T>(&self, sql: String, values: Vec<Value>) -> StoreResult<Vec<T>>
    where
        T: FromQueryResult + FromSqliteRow + Send + 'static,
    {
        if let Some(reads) = &self.reads {
            return reads.query_off_thread(sql, values, T::from_sqlite_row).await;
        }
        let stmt = statement(self.backend(), &sql, values);
        Ok(T::find_by_statement(stmt).all(&self.db).await?)
    }

    /// Closes every connection.
    pub async fn close(self) -> StoreResult<()> {
        self.db.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://data/kindred.db"), Some("data/kindred.db"));
        assert_eq!(sqlite_path("sqlite:///tmp/k.db?mode=rwc"), Some("/tmp/k.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
