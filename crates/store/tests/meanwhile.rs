//! What changes between computing a difference or queueing an event and writing or sending
//! it, against SQLite and PostgreSQL: customers deleted or erased while a refit or a
//! re-assignment ran are left out of the difference written (the rest is written), and queued
//! webhook events of customers who refused marketing since are withheld at send time.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::{NaiveDate, Utc};
use kindred_domain::CustomerDraft;
use kindred_store::{
    ChangeReason, DeliveryCounts, Member, MembershipDiff, NewSegmentation, RefitResult, Store,
};
use std::collections::BTreeSet;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

async fn customer(store: &Store, external_id: &str, marketing: Option<bool>) -> i64 {
    let draft = CustomerDraft {
        external_id: external_id.to_owned(),
        consent_marketing: marketing,
        ..Default::default()
    };
    store.upsert_customer(draft.validate(today()).unwrap()).await.unwrap().0.id
}

async fn segmentation(store: &Store, name: &str) -> i64 {
    let new = NewSegmentation {
        name: name.to_owned(),
        strategy: "behavioral".to_owned(),
        params: serde_json::json!({}),
        mode: kindred_store::SegmentationMode::Dynamic,
        refresh_interval_seconds: None,
    };
    store.create_segmentation(&new).await.unwrap().id
}

fn member(customer_id: i64, segment: &str, score: Option<f64>) -> Member {
    Member { customer_id, segment: segment.to_owned(), score }
}

on_both!(a_refit_naming_customers_deleted_meanwhile_writes_the_rest, |store: &Store| {
    let store = store.clone();
    async move {
        let ana = customer(&store, "ana", None).await;
        let bo = customer(&store, "bo", None).await;
        let cy = customer(&store, "cy", None).await;
        let di = customer(&store, "di", None).await;
        let id = segmentation(&store, "tiers").await;
        let hook = store.create_webhook(id, "http://127.0.0.1:9/hook", "secret").await.unwrap();
        let first = MembershipDiff {
            entered: vec![member(ana, "gold", Some(1.0)), member(bo, "gold", None), member(cy, "gold", None)],
            ..Default::default()
        };
        let written = store.apply_membership_diff(id, &first, ChangeReason::Refit, None, None).await.unwrap();
        assert!(written.gone.is_empty());

        // A refit computed this from a population read before cy was deleted and di erased:
        // ana is rescored, bo exits, cy moves to silver, di enters gold.
        let refit = MembershipDiff {
            entered: vec![member(cy, "silver", None), member(di, "gold", Some(3.0))],
            exited: vec![member(bo, "gold", None), member(cy, "gold", None)],
            rescored: vec![member(ana, "gold", Some(2.0))],
        };
        assert!(store.delete_customer(cy).await.unwrap());
        assert!(store.erase_customer(di).await.unwrap().is_some());
        let pending_before = store.delivery_counts(hook.id).await.unwrap().pending;

        let job = store.start_job(id, kindred_store::JobReason::Refit, &test_lease()).await.unwrap();
        let model = RefitResult {
            model: serde_json::json!({ "cut": 7 }),
            state: None,
            covered_change: 0,
            runner: None,
        };
        let applied = store
            .apply_membership_diff(id, &refit, ChangeReason::Refit, Some(job.id), Some(&model))
            .await
            .unwrap();
        assert_eq!(applied.gone, BTreeSet::from([cy, di]));

        // The rest is written: ana's new score, bo's exit with its event and webhook event, the
        // model and the ready status.
        assert_eq!(store.members_of(id).await.unwrap(), [member(ana, "gold", Some(2.0))]);
        let events = store.segmentation_events(id, 0, 100).await.unwrap();
        let changes: Vec<(i64, &str, &str)> =
            events.iter().map(|e| (e.customer_id, e.segment.as_str(), e.change.as_str())).collect();
        assert_eq!(changes, [(ana, "gold", "entered"), (bo, "gold", "entered"), (bo, "gold", "exited")]);
        assert_eq!(events[2].job_id, Some(job.id));
        let stored = store.segmentation(id).await.unwrap().unwrap();
        assert_eq!(stored.status, kindred_store::SegmentationStatus::Ready);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(stored.model.as_deref().unwrap()).unwrap()["cut"],
            7
        );
        assert_eq!(store.delivery_counts(hook.id).await.unwrap().pending, pending_before + 1);
        let latest = &store.deliveries(hook.id, None, 1).await.unwrap()[0];
        assert_eq!(latest.customer_id, bo);
        assert!(latest.payload.contains("EXITED"));

        // What a caller publishes: the difference without the gone customers.
        let mut published = refit.clone();
        published.drop_customers(&applied.gone);
        assert_eq!(
            published,
            MembershipDiff {
                exited: vec![member(bo, "gold", None)],
                rescored: vec![member(ana, "gold", Some(2.0))],
                ..Default::default()
            }
        );
    }
});

on_both!(a_write_batch_naming_a_deleted_customer_writes_every_segmentation, |store: &Store| {
    let store = store.clone();
    async move {
        let ana = customer(&store, "ana", None).await;
        let bo = customer(&store, "bo", None).await;
        let first = segmentation(&store, "first").await;
        let second = segmentation(&store, "second").await;
        let diffs = vec![
            (
                first,
                MembershipDiff {
                    entered: vec![member(ana, "a", None), member(bo, "a", None)],
                    ..Default::default()
                },
            ),
            (second, MembershipDiff { entered: vec![member(bo, "b", Some(0.5))], ..Default::default() }),
        ];
        assert!(store.delete_customer(bo).await.unwrap());
        let applied =
            store.apply_membership_diffs(&diffs, ChangeReason::Write, &Default::default()).await.unwrap();
        assert_eq!(applied.gone, BTreeSet::from([bo]));
        assert_eq!(store.members_of(first).await.unwrap(), [member(ana, "a", None)]);
        assert!(store.members_of(second).await.unwrap().is_empty());

        // A failure that is not about a gone customer still fails, writing nothing.
        let carol = customer(&store, "carol", None).await;
        assert!(store.delete_segmentation(second).await.unwrap());
        let diffs = vec![
            (first, MembershipDiff { entered: vec![member(carol, "a", None)], ..Default::default() }),
            (second, MembershipDiff { entered: vec![member(carol, "b", None)], ..Default::default() }),
        ];
        let error =
            store.apply_membership_diffs(&diffs, ChangeReason::Write, &Default::default()).await.unwrap_err();
        assert!(error.to_string().contains("database error"), "{error}");
        assert_eq!(store.members_of(first).await.unwrap(), [member(ana, "a", None)]);
    }
});

on_both!(queued_events_of_customers_who_refused_marketing_since_are_withheld, |store: &Store| {
    let store = store.clone();
    async move {
        let ana = customer(&store, "ana", Some(true)).await;
        let bo = customer(&store, "bo", None).await;
        let cy = customer(&store, "cy", Some(true)).await;
        let id = segmentation(&store, "tiers").await;
        let hook = store.create_webhook(id, "http://127.0.0.1:9/hook", "secret").await.unwrap();
        let entered = MembershipDiff {
            entered: vec![
                member(ana, "a", None),
                member(bo, "a", None),
                member(cy, "a", None),
                member(bo, "b", None),
            ],
            ..Default::default()
        };
        store.apply_membership_diff(id, &entered, ChangeReason::Refit, None, None).await.unwrap();
        assert_eq!(store.delivery_counts(hook.id).await.unwrap().pending, 4);

        // bo withdraws marketing consent after the events were queued; cy is deleted, and
        // their exit is queued by the delete.
        customer(&store, "bo", Some(false)).await;
        assert!(store.delete_customer(cy).await.unwrap());

        let due = store.due_deliveries(hook.id, Utc::now(), Utc::now(), 100).await.unwrap();
        let sent: Vec<i64> = due.send.iter().map(|d| d.customer_id).collect();
        assert_eq!(sent, [ana, cy, cy], "ana's and cy's events (cy's exit too) are still sent");
        assert_eq!(due.withheld.len(), 2);
        let all = store.deliveries(hook.id, None, 100).await.unwrap();
        assert!(all.iter().filter(|d| due.withheld.contains(&d.id)).all(|d| d.customer_id == bo));

        // The batch limit counts withheld ones; a smaller batch splits the same way.
        let first = store.due_deliveries(hook.id, Utc::now(), Utc::now(), 2).await.unwrap();
        assert_eq!(first.send.len() + first.withheld.len(), 2);

        store.mark_withheld(&due.withheld).await.unwrap();
        let ids: Vec<i64> = due.send.iter().map(|d| d.id).collect();
        store.mark_delivered(&ids, Utc::now()).await.unwrap();
        assert_eq!(
            store.delivery_counts(hook.id).await.unwrap(),
            DeliveryCounts { pending: 0, delivered: 3, failed: 0, withheld: 2 }
        );
        let withheld =
            store.deliveries(hook.id, Some(kindred_store::DeliveryStatus::Withheld), 100).await.unwrap();
        assert_eq!(withheld.len(), 2);
        assert!(withheld.iter().all(|d| d.customer_id == bo && d.delivered_at.is_none() && d.attempts == 0));
        assert!(store.due_deliveries(hook.id, Utc::now(), Utc::now(), 100).await.unwrap().is_empty());
    }
});

/// A lease held by these tests for five minutes.
fn test_lease() -> kindred_store::Lease {
    kindred_store::Lease {
        holder: "test".to_owned(),
        until: chrono::Utc::now() + chrono::Duration::minutes(5),
    }
}
