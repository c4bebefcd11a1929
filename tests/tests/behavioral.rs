//! The behavioral plugin through the host on both databases: SQLite's stream and
//! PostgreSQL's binary COPY hand strategies the same tables, and RFM scores match the same
//! RFM written as one SQL query with `NTILE(5)` in each database.

use arrow_array::RecordBatch;
use kindred_behavioral::rfm_sql::{Dialect, rfm_scores_sql};
use kindred_e2e::{Workspace, plugin_library};
use kindred_plugin_host::tables::{TableData, population};
use kindred_plugin_host::{PluginConfig, PluginHost, TableId, run_strategy};
use kindred_store::import::{Format, ImportKind, import};
use kindred_store::{Store, StoreOptions};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;

const DAY: i64 = 86_400_000_000;
const WINDOW_DAYS: i64 = 365;

/// Today at midnight UTC, in microseconds: the demo writes its history up to today.
fn today_micros() -> i64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_micros() as i64;
    now - now.rem_euclid(DAY)
}

async fn fill(store: &Store, files: &Path) {
    store.migrate().await.expect("migrate");
    for (kind, name) in [
        (ImportKind::Customers, "customers.csv"),
        (ImportKind::Interactions, "interactions.csv"),
        (ImportKind::Ties, "ties.csv"),
        (ImportKind::Needs, "needs.csv"),
    ] {
        let file = std::fs::File::open(files.join(name)).expect("demo file");
        let summary = import(store, kind, Format::Csv, file, |error| panic!("{name}: {error:?}"))
            .await
            .expect("import");
        assert!(summary.imported > 0, "{name} imported nothing");
    }
}

/// The same RFM as one SQL query, run by the database: score by customer.
async fn rfm_in_sql(store: &Store, as_of: i64) -> HashMap<i64, i64> {
    let dialect = if store.backend() == DbBackend::Postgres { Dialect::Postgres } else { Dialect::Sqlite };
    // The host gives strategies only customers who did not refuse profiling: rank the same
    // population.
    let sql = rfm_scores_sql(dialect, as_of, Some(WINDOW_DAYS))
        .replace("WHERE i.kind", "WHERE c.consent_profiling IS NOT FALSE AND i.kind");
    assert!(sql.contains("consent_profiling"), "the reference query has changed: {sql}");
    let statement = Statement::from_string(store.backend(), sql);
    let rows = store.connection().query_all_raw(statement).await.expect("RFM in SQL");
    rows.iter()
        .map(|row| {
            (row.try_get::<i64>("", "id").expect("id"), row.try_get::<i64>("", "score").expect("score"))
        })
        .collect()
}

/// Every table with every column, as one batch each.
async fn everything(store: &Store) -> Vec<(TableId, RecordBatch)> {
    let requested: Vec<(TableId, Vec<usize>)> =
        TableId::ALL.into_iter().map(|table| (table, (0..table.columns().len()).collect())).collect();
    let tables: Vec<TableData> = population(store, &requested).await.expect("population");
    tables
        .into_iter()
        .map(|table| {
            let batch = arrow_select::concat::concat_batches(&table.schema, &table.batches).expect("concat");
            (table.table, batch)
        })
        .collect()
}

async fn check_rfm(store: &Store, host: &PluginHost, as_of: i64) -> usize {
    let params = json!({ "method": "rfm", "window_days": WINDOW_DAYS });
    let output = run_strategy(store, host, "behavioral", Some(&params), as_of).await.expect("run RFM");
    let expected = rfm_in_sql(store, as_of).await;
    assert!(expected.len() > 50, "the demo has buyers in the window: {}", expected.len());
    assert_eq!(output.assigned, output.customers, "one segment per customer");
    for membership in &output.memberships {
        match expected.get(&membership.customer_id) {
            Some(score) => assert_eq!(
                membership.score,
                Some(*score as f64),
                "customer {} on {:?}",
                membership.customer_id,
                store.backend()
            ),
            None => assert_eq!(membership.segment, "No purchases", "customer {}", membership.customer_id),
        }
    }
    expected.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfm_matches_sql_ntile_on_sqlite_and_postgres() {
    let work = Workspace::new();
    let files = work.path().join("demo-files");
    let output = work.run(&[
        "demo",
        "--write-files",
        files.to_str().expect("path"),
        "--customers",
        "600",
        "--seed",
        "5",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let config = PluginConfig::new("behavioral".to_owned(), plugin_library("kindred_behavioral"));
    let host = PluginHost::load(&[config], work.path());
    let as_of = today_micros();

    let sqlite_url = format!("sqlite://{}/rfm.db", work.path().display());
    let sqlite = Store::connect(&sqlite_url).await.expect("sqlite");
    fill(&sqlite, &files).await;
    assert!(sqlite.can_stream(), "a SQLite file streams its tables");
    let buyers = check_rfm(&sqlite, &host, as_of).await;

    let Some(url) = kindred_e2e::databases::postgres_url("the RFM refit on both databases") else { return };
    let schema = format!("kindred_rfm_{}", std::process::id());
    let options = StoreOptions { schema: Some(schema.clone()), max_connections: 4, ..Default::default() };
    let postgres = Store::connect_with(&url, &options).await.expect("postgres");
    fill(&postgres, &files).await;
    assert!(postgres.can_stream(), "PostgreSQL streams its tables through binary COPY");
    assert_eq!(check_rfm(&postgres, &host, as_of).await, buyers);

    // SQLite's direct reads and PostgreSQL's binary COPY give the same tables, column for
    // column (times and dates arrive as text from one and as integers from the other).
    let (from_sqlite, from_postgres) = (everything(&sqlite).await, everything(&postgres).await);
    for ((table, left), (_, right)) in from_sqlite.iter().zip(&from_postgres) {
        assert_eq!(left.num_rows(), right.num_rows(), "{table:?}");
        for (index, field) in left.schema().fields().iter().enumerate() {
            if field.name() == "created_at" {
                continue; // when each database received the import: differs by design
            }
            assert_eq!(left.column(index), right.column(index), "{table:?}.{}", field.name());
        }
    }
    postgres.close().await.expect("close");
    kindred_e2e::databases::drop_schema(&url, &schema).await;
}
