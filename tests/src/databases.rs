//! Stores of their own for tests that run on both databases: a SQLite file in a temporary
//! folder, or a PostgreSQL schema of its own (dropped afterwards), or a skip that says so when
//! no PostgreSQL is configured (never under CI).

use kindred_store::{Store, StoreOptions};

/// A test's database; drop it with [`TestDatabase::remove`] when done.
pub enum TestDatabase {
    /// A SQLite file; the folder goes when this is dropped.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL schema.
    Postgres {
        /// The server.
        url: String,
        /// The schema the store works in.
        schema: String,
    },
}

impl TestDatabase {
    /// A migrated store on a new SQLite file.
    pub async fn sqlite() -> (Store, TestDatabase) {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}/kindred.db", folder.path().display());
        let store = Store::connect(&url).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        (store, TestDatabase::Sqlite(folder))
    }

    /// A migrated store in a new PostgreSQL schema, or `None` (said on standard error, past the
    /// test harness's capture) when `KINDRED_TEST_POSTGRES_URL` is not set. Under CI a missing
    /// URL fails the test.
    pub async fn postgres(test: &str) -> Option<(Store, TestDatabase)> {
        let url = postgres_url(test)?;
        let schema = unique_name("kindred_test", test);
        let options = StoreOptions { schema: Some(schema.clone()), max_connections: 4, ..Default::default() };
        let store = Store::connect_with(&url, &options).await.expect("connect to PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        Some((store, TestDatabase::Postgres { url, schema }))
    }

    /// Removes what the database left behind (a PostgreSQL schema; a SQLite folder goes by
    /// itself).
    pub async fn remove(self) {
        if let TestDatabase::Postgres { url, schema } = self {
            drop_schema(&url, &schema).await;
        }
    }
}

/// Drops PostgreSQL schema `schema` and everything in it. A test's engine may still be
/// writing there from its background tasks, and dropping locks table after table, so the
/// server can pick the drop as the loser of a deadlock: it is tried again. A schema that
/// cannot be dropped is left behind with a warning; it fails no test.
pub async fn drop_schema(url: &str, schema: &str) {
    use sea_orm::ConnectionTrait;
    let admin = sea_orm::Database::connect(url).await.expect("connect to PostgreSQL");
    let drop = format!("DROP SCHEMA \"{schema}\" CASCADE");
    let mut tries = 0;
    while let Err(error) = admin.execute_unprepared(&drop).await {
        tries += 1;
        if tries == 10 {
            eprintln!("schema {schema} left behind: {error}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await;
    }
}

/// A PostgreSQL identifier for `test` that no other run uses at the same time: `prefix`, the
/// test's name, the process and the clock.
pub fn unique_name(prefix: &str, test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    let test = test.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    format!("{prefix}_{test}_{}_{nanos}", std::process::id())
}

/// `KINDRED_TEST_POSTGRES_URL`, or `None` after saying that `test` skips PostgreSQL.
pub fn postgres_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("KINDRED_TEST_POSTGRES_URL") {
        return Some(url);
    }
    assert!(std::env::var_os("CI").is_none(), "CI must set KINDRED_TEST_POSTGRES_URL");
    let line = format!("SKIPPED {test} on PostgreSQL: KINDRED_TEST_POSTGRES_URL is not set\n");
    std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes()).ok();
    None
}
