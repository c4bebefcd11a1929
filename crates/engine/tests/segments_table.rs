//! A refit's input carries the segmentation's current memberships (the `segments` table), so a
//! strategy can keep its labels; other runs get the table empty. On SQLite and PostgreSQL.
#![allow(missing_docs, clippy::unwrap_used)]

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use chrono::NaiveDate;
use kindred_domain::CustomerDraft;
use kindred_e2e::databases::TestDatabase;
use kindred_plugin_host::TableId;
use kindred_plugin_host::tables::{fill_segments, population};
use kindred_store::{ChangeReason, Member, MembershipDiff, NewSegmentation, Store};

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
    let (store, database) = TestDatabase::sqlite().await;
    refit_input_holds_current_members(store).await;
    database.remove().await;
}

#[tokio::test]
async fn postgres() {
    let Some((store, database)) = TestDatabase::postgres("refit_input_holds_current_members").await else {
        return;
    };
    refit_input_holds_current_members(store).await;
    database.remove().await;
}
