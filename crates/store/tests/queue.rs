//! The durable queue of touched customers on SQLite and PostgreSQL: API writes queue the
//! customers they touch in their own transaction, a batch holds at most so many distinct
//! customers, rows go only with the transaction that consumes them, and customers set aside
//! for a segmentation being refitted wait for it.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use kindred_domain::{CustomerDraft, NeedTag};
use kindred_store::{ChangeReason, Consumed, MembershipDiff, NewSegmentation, RefitResult, Store};

async fn customer(store: &Store, external_id: &str) -> i64 {
    let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let draft = CustomerDraft { external_id: external_id.to_owned(), ..Default::default() };
    store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id
}

async fn consume(store: &Store, consumed: Consumed) {
    store.apply_membership_diffs(&[], ChangeReason::Write, &consumed).await.unwrap();
}

on_both!(writes_queue_their_customers_until_consumed, |store: &Store| {
    let store = store.clone();
    async move {
        let ana = customer(&store, "ana").await;
        let bo = customer(&store, "bo").await;
        customer(&store, "ana").await;
        // Three rows, two customers; a batch of one customer takes only the first row.
        let first = store.queued_changes(1).await.unwrap();
        assert_eq!((first.rows.len(), first.customers.clone()), (1, vec![ana]));
        let all = store.queued_changes(10).await.unwrap();
        assert_eq!((all.rows.len(), all.customers.clone()), (3, vec![ana, bo]));
        assert_eq!(store.queued_change_count().await.unwrap(), 3);
        // Read again and again until consumed.
        assert_eq!(store.queued_changes(10).await.unwrap(), all);
        consume(&store, Consumed { changes: first.rows, ..Default::default() }).await;
        assert_eq!(store.queued_changes(10).await.unwrap().customers, [ana, bo]);
        let rest = store.queued_changes(10).await.unwrap();
        consume(&store, Consumed { changes: rest.rows, ..Default::default() }).await;
        assert!(store.queued_changes(10).await.unwrap().is_empty());

        // Removing a need queues its customer; removing nothing queues nothing.
        let need = kindred_domain::NeedDraft {
            customer_external_id: "bo".to_owned(),
            tag: "coffee".to_owned(),
            ..Default::default()
        };
        store.add_need(&need.validate().unwrap()).await.unwrap();
        let tag = NeedTag::parse("tag", "coffee").unwrap();
        assert!(store.remove_need("bo", &tag).await.unwrap().is_some());
        assert!(store.remove_need("bo", &tag).await.unwrap().is_none());
        let queued = store.queued_changes(10).await.unwrap();
        assert_eq!((queued.rows.len(), queued.customers.clone()), (2, vec![bo]));
        consume(&store, Consumed { changes: queued.rows, ..Default::default() }).await;

        // Set aside for a segmentation being refitted, then consumed for it.
        let new = NewSegmentation {
            name: "refitting".to_owned(),
            strategy: "behavioral".to_owned(),
            params: serde_json::json!({}),
            mode: kindred_store::SegmentationMode::Dynamic,
            refresh_interval_seconds: None,
        };
        let segmentation = store.create_segmentation(&new).await.unwrap().id;
        let deferred = vec![(segmentation, vec![(ana, 3), (bo, 9)])];
        consume(&store, Consumed { deferred, ..Default::default() }).await;
        assert_eq!(store.segmentations_with_pending().await.unwrap(), [segmentation]);
        let pending = store.pending_for(segmentation, 1).await.unwrap();
        assert_eq!((pending.customers, pending.latest), (vec![ana], vec![3]));
        // A refit that read the data after queue position 5 covers ana, not bo.
        let refit =
            RefitResult { model: serde_json::json!({}), state: None, covered_change: 5, runner: None };
        let nothing = MembershipDiff::default();
        store
            .apply_membership_diff(segmentation, &nothing, ChangeReason::Refit, None, Some(&refit))
            .await
            .unwrap();
        let pending = store.pending_for(segmentation, 10).await.unwrap();
        assert_eq!((pending.customers.clone(), pending.latest.clone()), (vec![bo], vec![9]));
        assert_eq!(pending.after(8), [(bo, 9)]);
        assert!(pending.after(9).is_empty());
        consume(&store, Consumed { pending: pending.rows, ..Default::default() }).await;
        assert!(store.segmentations_with_pending().await.unwrap().is_empty());
        // The queue's position is its newest row.
        customer(&store, "cy").await;
        let newest = store.queued_changes(10).await.unwrap().latest;
        assert_eq!(store.queue_position().await.unwrap(), *newest.iter().max().unwrap());
        // A deleted segmentation takes what waited for it.
        consume(&store, Consumed { deferred: vec![(segmentation, vec![(ana, 1)])], ..Default::default() })
            .await;
        store.delete_segmentation(segmentation).await.unwrap();
        assert!(store.segmentations_with_pending().await.unwrap().is_empty());
    }
});
