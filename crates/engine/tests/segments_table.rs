//! A refit's input carries the segmentation's current memberships (the `segments` table), so a
//! strategy can keep its labels; other runs get the table empty. On SQLite and PostgreSQL.
#![allow(missing_docs, clippy::unwrap_used)]

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use chrono::NaiveDate;
use kindred_domain::CustomerDraft;
use kindred_plugin_host::TableId;
use kindred_plugin_host::tables::{fill_segments, population};
use kindred_store::{ChangeReason, Member, MembershipDiff, NewSegmentation, Store, StoreOptions};

async fn refit_input_holds_current_members(store: Store) {
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    let mut ids = Vec::new();
    for (external_id, profiling) in [("ana", None), ("bo", None), ("cy", Some(false))] {
        let draft = CustomerDraft {
            external_id: external_id.to_owned(),
            consent_profiling: profiling,
            ..Default::default()
        };
        ids.push(store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id);
    }
    let new = NewSegmentation {
        name: "circles".to_owned(),
        strategy: "need-based".to_owned(),
        params: serde_json::json!({}),
        mode: kindred_store::SegmentationMode::Static,
        refresh_interval_seconds: None,
    };
    let segmentation = store.create_segmentation(&new).await.unwrap().id;
    let entered = vec![
        Member { customer_id: ids[0], segment: "hiking".to_owned(), score: None },
        Member { customer_id: ids[1], segment: "baking".to_owned(), score: None },
    ];
    let diff = MembershipDiff { entered, ..Default::default() };
    store.apply_membership_diff(segmentation, &diff, ChangeReason::Manual, None, None).await.unwrap();

    let requested = vec![(TableId::Customers, vec![0]), (TableId::Segments, vec![0, 1])];
    let mut tables = population(&store, &requested).await.unwrap();
    let segments = tables.iter().find(|table| table.table == TableId::Segments).unwrap();
    assert_eq!(segments.rows(), 0, "outside a refit the table is empty");
    fill_segments(&store, &mut tables, segmentation).await.unwrap();
    let segments = tables.iter().find(|table| table.table == TableId::Segments).unwrap();
    let mut rows = Vec::new();
    for batch in &segments.batches {
        let (customers, labels) =
            (batch.column(0).as_primitive::<Int64Type>(), batch.column(1).as_string::<i32>());
        rows.extend((0..batch.num_rows()).map(|row| (customers.value(row), labels.value(row).to_owned())));
    }
    rows.sort();
    assert_eq!(rows, [(ids[0], "hiking".to_owned()), (ids[1], "baking".to_owned())]);
}

#[tokio::test]
async fn sqlite() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/kindred.db", folder.path().display())).await.unwrap();
    store.migrate().await.unwrap();
    refit_input_holds_current_members(store).await;
}

#[tokio::test]
async fn postgres() {
    let Ok(url) = std::env::var("KINDRED_TEST_POSTGRES_URL") else {
        assert!(std::env::var_os("CI").is_none(), "CI must set KINDRED_TEST_POSTGRES_URL");
        // Written past the test harness's capture, so a skipped half is seen.
        std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED the PostgreSQL half of a test: KINDRED_TEST_POSTGRES_URL is not set\n",
        )
        .ok();
        return;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let schema = format!("kindred_test_segments_{}_{nanos}", std::process::id());
    let options = StoreOptions { schema: Some(schema.clone()), max_connections: 4, ..Default::default() };
    let store = Store::connect_with(&url, &options).await.unwrap();
    store.migrate().await.unwrap();
    refit_input_holds_current_members(store).await;
    use sea_orm::ConnectionTrait;
    let admin = sea_orm::Database::connect(&url).await.unwrap();
    admin.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await.unwrap();
}
