//! Opens a fresh store on SQLite (a temporary file) and on PostgreSQL (its own schema, from
//! `KINDRED_TEST_POSTGRES_URL`), so every test runs against both for real.
#![allow(missing_docs)]

use kindred_store::{Store, StoreOptions};
use std::sync::atomic::{AtomicU32, Ordering};

/// A store for one test, and what to clean up after it.
pub struct TestStore {
    pub store: Store,
    cleanup: Option<(String, String)>,
    _folder: Option<tempfile::TempDir>,
}

impl TestStore {
    pub async fn sqlite() -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/kindred.db", folder.path().display());
        let store = Store::connect(&url).await.expect("connect sqlite");
        store.migrate().await.expect("migrate sqlite");
        Self { store, cleanup: None, _folder: Some(folder) }
    }

    /// `None` when no PostgreSQL URL is configured (CI always sets one).
    pub async fn postgres() -> Option<Self> {
        let Ok(url) = std::env::var("KINDRED_TEST_POSTGRES_URL") else {
            assert!(std::env::var_os("CI").is_none(), "CI must set KINDRED_TEST_POSTGRES_URL");
            // Written past the test harness's capture, so a skipped half is seen.
            std::io::Write::write_all(
                &mut std::io::stderr(),
                b"SKIPPED the PostgreSQL half of a test: KINDRED_TEST_POSTGRES_URL is not set\n",
            )
            .ok();
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let schema =
            format!("kindred_test_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos);
        let options = StoreOptions { schema: Some(schema.clone()), max_connections: 4, ..Default::default() };
        let store = Store::connect_with(&url, &options).await.expect("connect postgres");
        store.migrate().await.expect("migrate postgres");
        Some(Self { store, cleanup: Some((url, schema)), _folder: None })
    }

    /// Another server's store on this test's PostgreSQL schema (`None` on SQLite).
    #[allow(dead_code)] // Only some of the test binaries that share this module use it.
    pub async fn another_server(&self) -> Option<Store> {
        let (url, schema) = self.cleanup.as_ref()?;
        let options = StoreOptions { schema: Some(schema.clone()), max_connections: 2, ..Default::default() };
        Some(Store::connect_with(url, &options).await.expect("connect postgres"))
    }

    pub async fn finish(self) {
        let Self { store, cleanup, .. } = self;
        store.close().await.expect("close");
        if let Some((url, schema)) = cleanup {
            use sea_orm::ConnectionTrait;
            let admin = sea_orm::Database::connect(&url).await.expect("connect postgres");
            admin
                .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await
                .expect("drop schema");
        }
    }
}

/// Runs the async test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let test = $crate::common::TestStore::sqlite().await;
                ($body)(&test.store).await;
                test.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(test) = $crate::common::TestStore::postgres().await {
                    ($body)(&test.store).await;
                    test.finish().await;
                }
            }
        }
    };
}
