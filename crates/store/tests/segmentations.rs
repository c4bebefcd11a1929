//! Segmentations, memberships and their history against SQLite and PostgreSQL: create with a
//! unique name, a diff written with its events in one transaction, sizes, pages, history,
//! jobs, and cascades when a segmentation or a customer goes.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use kindred_domain::CustomerDraft;
use kindred_store::{
    ChangeReason, JobOutcome, Member, MembershipDiff, NewSegmentation, RefitResult, SegmentationChanges,
    Store,
};

fn member(customer_id: i64, segment: &str, score: Option<f64>) -> Member {
    Member { customer_id, segment: segment.to_owned(), score }
}

async fn customers(store: &Store, count: usize) -> Vec<i64> {
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut ids = Vec::new();
    for n in 0..count {
        let draft = CustomerDraft { external_id: format!("s{n}"), ..Default::default() };
        ids.push(store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id);
    }
    ids
}

on_both!(segmentations_memberships_and_history, |store: &Store| {
    let store = store.clone();
    async move {
        let ids = customers(&store, 5).await;
        let new = NewSegmentation {
            name: "big spenders".to_owned(),
            strategy: "behavioral".to_owned(),
            params: serde_json::json!({ "method": "rules" }),
            mode: "dynamic".to_owned(),
            refresh_interval_seconds: None,
        };
        let created = store.create_segmentation(&new).await.unwrap();
        assert_eq!((created.status.as_str(), created.mode.as_str()), ("running", "dynamic"));
        let again = store.create_segmentation(&new).await.unwrap_err();
        assert!(again.is_conflict() && again.to_string().contains("big spenders"), "{again}");

        let job = store.start_job(created.id, "refit").await.unwrap();
        store.job_progress(job.id, 5, 5).await.unwrap();
        let first = MembershipDiff {
            entered: vec![
                member(ids[0], "gold", Some(3.0)),
                member(ids[1], "gold", None),
                member(ids[2], "silver", Some(1.0)),
            ],
            ..Default::default()
        };
        let refit = RefitResult { model: serde_json::json!({ "cut": 1000 }) };
        store
            .apply_membership_diff(created.id, &first, ChangeReason::Refit, Some(job.id), Some(&refit))
            .await
            .unwrap();
        store
            .finish_job(job.id, &JobOutcome { status: "succeeded".into(), counts: (3, 0, 0), error: None })
            .await
            .unwrap();
        let ready = store.segmentation(created.id).await.unwrap().unwrap();
        assert_eq!(ready.status, "ready");
        assert!(ready.last_refreshed_at.is_some() && ready.model.as_deref() == Some(r#"{"cut":1000}"#));
        assert_eq!(
            store.segment_sizes(created.id).await.unwrap(),
            [("gold".to_owned(), 2), ("silver".to_owned(), 1)]
        );

        // A write moves customer 1 from gold to silver and rescores customer 0.
        let second = MembershipDiff {
            entered: vec![member(ids[1], "silver", Some(2.0))],
            exited: vec![member(ids[1], "gold", None)],
            rescored: vec![member(ids[0], "gold", Some(4.0))],
        };
        store.apply_membership_diff(created.id, &second, ChangeReason::Write, None, None).await.unwrap();
        let members = store.members_of(created.id).await.unwrap();
        assert_eq!(
            members,
            [
                member(ids[0], "gold", Some(4.0)),
                member(ids[1], "silver", Some(2.0)),
                member(ids[2], "silver", Some(1.0))
            ]
        );
        assert_eq!(
            store.members_among(created.id, &[ids[1], ids[4]]).await.unwrap(),
            [member(ids[1], "silver", Some(2.0))]
        );
        let page = store.segment_members(created.id, "silver", None, 1).await.unwrap();
        assert_eq!(page.iter().map(|m| m.customer_id).collect::<Vec<_>>(), [ids[1]]);
        let next = store.segment_members(created.id, "silver", Some(ids[1]), 10).await.unwrap();
        assert_eq!(next.iter().map(|m| m.customer_id).collect::<Vec<_>>(), [ids[2]]);
        let history = store.customer_history(ids[1], 100).await.unwrap();
        let changes: Vec<(&str, &str, &str)> =
            history.iter().map(|e| (e.change.as_str(), e.segment.as_str(), e.reason.as_str())).collect();
        assert_eq!(
            changes,
            [("exited", "gold", "write"), ("entered", "silver", "write"), ("entered", "gold", "refit")]
        );
        assert_eq!(store.segmentation_events(created.id, 0, 100).await.unwrap().len(), 5);
        assert_eq!(store.customer_memberships(ids[1]).await.unwrap().len(), 1);

        let jobs = store.jobs(created.id, 10).await.unwrap();
        assert_eq!((jobs[0].status.as_str(), jobs[0].entered, jobs[0].customers_done), ("succeeded", 3, 5));

        let renamed = SegmentationChanges {
            name: Some("whales".into()),
            mode: Some("static".into()),
            ..Default::default()
        };
        let updated = store.update_segmentation(created.id, &renamed).await.unwrap();
        assert_eq!((updated.name.as_str(), updated.mode.as_str()), ("whales", "static"));

        // A customer who goes takes their memberships and history along.
        store.delete_customer(ids[2]).await.unwrap();
        assert_eq!(
            store.segment_sizes(created.id).await.unwrap(),
            [("gold".to_owned(), 1), ("silver".to_owned(), 1)]
        );
        assert!(store.delete_segmentation(created.id).await.unwrap());
        assert!(!store.delete_segmentation(created.id).await.unwrap());
        assert!(store.customer_history(ids[1], 100).await.unwrap().is_empty());
        assert!(store.segmentations().await.unwrap().is_empty());
    }
});
