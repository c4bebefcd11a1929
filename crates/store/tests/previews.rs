//! Preview jobs against SQLite and PostgreSQL: started, followed, finished once (a cancelled
//! one keeps its status), found by owner, hidden once kept long enough and then purged, and
//! failed when a stopped server left them running. Also the profiled population a preview
//! counts and samples from.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::{Duration, NaiveDate, Utc};
use kindred_domain::CustomerDraft;
use kindred_store::{NewPreview, Store};

fn new(owner: Option<&str>) -> NewPreview {
    NewPreview {
        strategy: "behavioral".to_owned(),
        params: serde_json::json!({ "method": "rfm" }),
        sample: Some(10),
        owner: owner.map(str::to_owned),
    }
}

on_both!(preview_jobs_from_start_to_purge, |store: &Store| {
    let store = store.clone();
    async move {
        let long_ago = Utc::now() - Duration::days(1);
        let first = store.start_preview(&new(Some("alice")), &test_lease()).await.unwrap();
        assert_eq!(
            (first.status.as_str(), first.sample, first.owner.as_deref()),
            ("running", Some(10), Some("alice"))
        );
        store.preview_progress(first.id, 5, 10).await.unwrap();
        assert!(
            store
                .finish_preview(
                    first.id,
                    kindred_store::JobStatus::Succeeded,
                    Some("{\"customers\":10}".into()),
                    None
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .finish_preview(first.id, kindred_store::JobStatus::Failed, None, Some("late".into()))
                .await
                .unwrap(),
            "finished once"
        );
        let row = store.preview(first.id, long_ago).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.customers_done, row.customers_total), ("succeeded", 5, 10));
        assert_eq!(row.result.as_deref(), Some("{\"customers\":10}"));
        assert!(row.finished_at.is_some());

        // A cancelled preview stays cancelled when its run ends later.
        let second = store.start_preview(&new(Some("bob")), &test_lease()).await.unwrap();
        assert!(store.cancel_preview(second.id).await.unwrap());
        assert!(!store.cancel_preview(second.id).await.unwrap());
        assert!(
            !store
                .finish_preview(second.id, kindred_store::JobStatus::Succeeded, Some("{}".into()), None)
                .await
                .unwrap()
        );
        assert_eq!(store.preview(second.id, long_ago).await.unwrap().unwrap().status.as_str(), "cancelled");

        let third = store.start_preview(&new(None), &test_lease()).await.unwrap();
        let mine = store.previews(Some(Some("alice")), long_ago, 10).await.unwrap();
        assert_eq!(mine.iter().map(|p| p.id).collect::<Vec<_>>(), vec![first.id]);
        let open = store.previews(Some(None), long_ago, 10).await.unwrap();
        assert_eq!(open.iter().map(|p| p.id).collect::<Vec<_>>(), vec![third.id]);
        let all = store.previews(None, long_ago, 10).await.unwrap();
        assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), vec![third.id, second.id, first.id]);

        // Kept since a moment after they finished: only the running one is still there.
        let later = Utc::now() + Duration::seconds(1);
        assert!(store.preview(first.id, later).await.unwrap().is_none());
        assert_eq!(store.previews(None, later, 10).await.unwrap().len(), 1);
        assert_eq!(store.purge_previews(later).await.unwrap(), 2);
        assert!(store.preview(first.id, long_ago).await.unwrap().is_none(), "purged");

        // A stopped server left the third running.
        assert_eq!(
            store.fail_interrupted_previews(chrono::Utc::now() + chrono::Duration::hours(1)).await.unwrap(),
            1
        );
        let failed = store.preview(third.id, long_ago).await.unwrap().unwrap();
        assert_eq!(failed.status.as_str(), "failed");
        assert!(failed.error.unwrap().contains("stopped"));
    }
});

on_both!(the_profiled_population_is_counted_and_listed, |store: &Store| {
    let store = store.clone();
    async move {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let consents = [None, Some(true), Some(false), None];
        let mut ids = Vec::new();
        for (n, consent) in consents.into_iter().enumerate() {
            let draft = CustomerDraft {
                external_id: format!("p{n}"),
                consent_profiling: consent,
                ..Default::default()
            };
            ids.push(store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id);
        }
        assert_eq!(store.count_profiled().await.unwrap(), 3);
        assert_eq!(store.profiled_customer_ids().await.unwrap(), vec![ids[0], ids[1], ids[3]]);
    }
});

/// A lease held by these tests for five minutes.
fn test_lease() -> kindred_store::Lease {
    kindred_store::Lease {
        holder: "test".to_owned(),
        until: chrono::Utc::now() + chrono::Duration::minutes(5),
    }
}
