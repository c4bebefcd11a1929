//! What servers sharing one database coordinate through, on SQLite and PostgreSQL: one
//! running refit per segmentation, job leases that are renewed, taken over once expired and
//! failed at a start only when expired, the schedule's lead, queue batches and webhook
//! deliveries claimed by one server at a time, the model version a refit commits, and the
//! feed of events in commit order.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::{Duration, NaiveDate, Utc};
use kindred_domain::CustomerDraft;
use kindred_store::{
    ChangeReason, JobReason, Lease, LeasedJobs, Member, MembershipDiff, NewSegmentation, RefitResult,
    Renewal, Store,
};

fn lease(holder: &str, seconds: i64) -> Lease {
    Lease { holder: holder.to_owned(), until: Utc::now() + Duration::seconds(seconds) }
}

async fn segmentation(store: &Store) -> i64 {
    let new = NewSegmentation {
        name: "leased".to_owned(),
        strategy: "behavioral".to_owned(),
        params: serde_json::json!({}),
        mode: kindred_store::SegmentationMode::Dynamic,
        refresh_interval_seconds: None,
    };
    store.create_segmentation(&new).await.unwrap().id
}

async fn customer(store: &Store, external_id: &str) -> i64 {
    let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let draft = CustomerDraft { external_id: external_id.to_owned(), ..Default::default() };
    store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id
}

on_both!(one_refit_runs_per_segmentation_and_leases_pass_on, |store: &Store| {
    let store = store.clone();
    async move {
        let id = segmentation(&store).await;
        let job = store.start_job(id, JobReason::Refit, &lease("a", 60)).await.unwrap();
        let refused = store.start_job(id, JobReason::Refit, &lease("b", 60)).await.unwrap_err();
        assert!(
            refused.is_conflict() && refused.to_string().contains(&format!("job {}", job.id)),
            "{refused}"
        );
        // Live: renewed by its runner only, not taken over, not failed by a starting server.
        assert_eq!(
            store.renew_job_lease(LeasedJobs::Refit, job.id, &lease("a", 60)).await.unwrap(),
            Renewal::Held
        );
        assert_eq!(
            store.renew_job_lease(LeasedJobs::Refit, job.id, &lease("b", 60)).await.unwrap(),
            Renewal::Lost
        );
        // A cancel asked of any server reaches its runner at its next renewal.
        assert_eq!(store.request_job_cancel(id).await.unwrap(), Some(job.id));
        assert_eq!(
            store.renew_job_lease(LeasedJobs::Refit, job.id, &lease("a", 60)).await.unwrap(),
            Renewal::CancelRequested
        );
        assert!(
            store
                .take_over_expired_jobs(LeasedJobs::Refit, Utc::now(), &lease("b", 60), 5)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.fail_interrupted_jobs(Utc::now()).await.unwrap(), 0);
        // Expired (its runner died): taken over once, by one server.
        let later = Utc::now() + Duration::seconds(120);
        let taken =
            store.take_over_expired_jobs(LeasedJobs::Refit, later, &lease("b", 600), 5).await.unwrap();
        assert_eq!(taken, [job.id]);
        assert!(
            store
                .take_over_expired_jobs(LeasedJobs::Refit, later, &lease("c", 600), 5)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.job(job.id).await.unwrap().unwrap().runner.as_deref(), Some("b"));
        // The runner that lost it can neither write its refit nor finish the job.
        let refit = RefitResult {
            model: serde_json::json!({}),
            state: None,
            covered_change: 0,
            runner: Some("a".to_owned()),
        };
        let lock = store.lock_segmentations(&[id]).await.unwrap();
        assert!(lock.refitting.contains(&id));
        let lost = store
            .apply_refit_locked(lock, id, &MembershipDiff::default(), ChangeReason::Refit, job.id, &refit)
            .await;
        assert!(lost.unwrap_err().to_string().contains("took it over"));
        let outcome = kindred_store::JobOutcome {
            status: kindred_store::JobStatus::Succeeded,
            counts: (0, 0, 0),
            excluded: 0,
            error: None,
        };
        assert!(!store.finish_job(job.id, "a", &outcome).await.unwrap());
        // Its new runner can: the model version is the job's.
        let refit = RefitResult { runner: Some("b".to_owned()), ..refit };
        let lock = store.lock_segmentations(&[id]).await.unwrap();
        store
            .apply_refit_locked(lock, id, &MembershipDiff::default(), ChangeReason::Refit, job.id, &refit)
            .await
            .unwrap();
        assert!(store.finish_job(job.id, "b", &outcome).await.unwrap());
        let lock = store.lock_segmentations(&[id]).await.unwrap();
        assert_eq!(lock.versions.get(&id), Some(&Some(job.id)));
        assert!(!lock.refitting.contains(&id));
        lock.release().await.unwrap();
        // A job whose lease expired is failed by a server that starts; its segmentation too.
        let second = store.start_job(id, JobReason::Refit, &lease("a", 60)).await.unwrap();
        store.set_segmentation_status(id, kindred_store::SegmentationStatus::Running, None).await.unwrap();
        assert_eq!(store.fail_interrupted_jobs(Utc::now() + Duration::seconds(120)).await.unwrap(), 1);
        assert_eq!(store.job(second.id).await.unwrap().unwrap().status, kindred_store::JobStatus::Failed);
        assert_eq!(
            store.segmentation(id).await.unwrap().unwrap().status,
            kindred_store::SegmentationStatus::Failed
        );
    }
});

on_both!(one_server_leads_the_schedule_until_its_lease_expires, |store: &Store| {
    let store = store.clone();
    async move {
        let now = Utc::now();
        assert!(store.hold_lease("schedule", now, &lease("a", 30)).await.unwrap());
        assert!(!store.hold_lease("schedule", now, &lease("b", 30)).await.unwrap());
        assert!(store.hold_lease("schedule", now, &lease("a", 30)).await.unwrap(), "renewed by its holder");
        assert_eq!(store.lease_holder("schedule", now).await.unwrap().as_deref(), Some("a"));
        // a stops answering: b leads once the lease has expired.
        let later = now + Duration::seconds(60);
        assert!(
            store
                .hold_lease(
                    "schedule",
                    later,
                    &Lease { holder: "b".to_owned(), until: later + Duration::seconds(30) }
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .hold_lease(
                    "schedule",
                    later,
                    &Lease { holder: "a".to_owned(), until: later + Duration::seconds(30) }
                )
                .await
                .unwrap()
        );
        // A clean stop hands it over at once.
        store.release_lease("schedule", "b").await.unwrap();
        assert!(
            store
                .hold_lease(
                    "schedule",
                    later,
                    &Lease { holder: "a".to_owned(), until: later + Duration::seconds(30) }
                )
                .await
                .unwrap()
        );
    }
});

on_both!(events_are_read_in_commit_order_from_where_a_reader_starts, |store: &Store| {
    let store = store.clone();
    async move {
        let id = segmentation(&store).await;
        let ana = customer(&store, "ana").await;
        let bo = customer(&store, "bo").await;
        let member = |customer_id| Member { customer_id, segment: "gold".to_owned(), score: None };
        let before = MembershipDiff { entered: vec![member(ana)], ..Default::default() };
        store.apply_membership_diff(id, &before, ChangeReason::Write, None, None).await.unwrap();
        let (events, _) = store.feed_start().await.unwrap();
        // Only what was committed after the start is read; on PostgreSQL, while a transaction
        // anywhere on the server (another test's) is open, also what committed shortly before
        // it: a reader may hear an event once more, never miss one.
        let (read, position, _) = store.events_after(events, 100).await.unwrap();
        assert!(read.iter().all(|event| event.customer_id == ana && event.change == "entered"), "{read:?}");
        let after =
            MembershipDiff { entered: vec![member(bo)], exited: vec![member(ana)], ..Default::default() };
        store.apply_membership_diff(id, &after, ChangeReason::Write, None, None).await.unwrap();
        let (read, position, waiting) = store.events_after(position, 100).await.unwrap();
        let seen: Vec<(i64, &str)> =
            read.iter().map(|event| (event.customer_id, event.change.as_str())).collect();
        assert_eq!(seen, [(bo, "entered"), (ana, "exited")]);
        assert!(!waiting);
        assert!(store.events_after(position, 100).await.unwrap().0.is_empty(), "each once");
    }
});

on_both!(deliveries_and_queue_batches_are_claimed_by_one_server, |store: &Store| {
    let store = store.clone();
    async move {
        let id = segmentation(&store).await;
        let ana = customer(&store, "ana").await;
        let hook = store.create_webhook(id, "http://127.0.0.1:9/hook", "0123456789abcdef").await.unwrap();
        let diff = MembershipDiff {
            entered: vec![Member { customer_id: ana, segment: "gold".to_owned(), score: None }],
            ..Default::default()
        };
        store.apply_membership_diff(id, &diff, ChangeReason::Write, None, None).await.unwrap();
        let now = Utc::now();
        let claimed = store.due_deliveries(hook.id, now, now + Duration::seconds(30), 10).await.unwrap();
        assert_eq!(claimed.send.len(), 1);
        assert!(
            store.due_deliveries(hook.id, now, now + Duration::seconds(30), 10).await.unwrap().is_empty(),
            "claimed"
        );
        // Its server died before recording the answer: another sends it after the claim.
        let later = now + Duration::seconds(60);
        assert_eq!(
            store.due_deliveries(hook.id, later, later + Duration::seconds(30), 10).await.unwrap().send.len(),
            1
        );
        // The queue: on PostgreSQL a batch claimed in one server's transaction is skipped by
        // the others until that transaction ends.
        let first = store.lock_segmentations(&[id]).await.unwrap();
        let batch = store.claim_queued_changes(&first, 10).await.unwrap();
        assert_eq!(batch.customers, [ana]);
        let second = store.lock_segmentations(&[]).await.unwrap();
        let again = store.claim_queued_changes(&second, 10).await.unwrap();
        if store.backend() == sea_orm::DbBackend::Postgres {
            assert!(again.is_empty(), "{again:?}");
            first.release().await.unwrap();
            second.release().await.unwrap();
            let third = store.lock_segmentations(&[]).await.unwrap();
            assert_eq!(store.claim_queued_changes(&third, 10).await.unwrap().customers, [ana], "let go");
        } else {
            // SQLite has one server: nothing to skip.
            assert_eq!(again.customers, [ana]);
        }
    }
});

/// The advisory lock of a segmentation is its schema's: a deployment in another schema of
/// the same database takes the lock of its own segmentation 1 at once, while another server
/// of the same schema waits for it.
#[tokio::test]
async fn segmentation_locks_are_per_schema_on_postgres() {
    let Some(first) = common::TestStore::postgres().await else { return };
    let Some(other) = common::TestStore::postgres().await else { return };
    let (here, there) = (segmentation(&first.store).await, segmentation(&other.store).await);
    assert_eq!(here, there, "the same id in both schemas");
    let held = first.store.lock_segmentations(&[here]).await.unwrap();

    let deadline = std::time::Duration::from_secs(30);
    let elsewhere = tokio::time::timeout(deadline, other.store.lock_segmentations(&[there]))
        .await
        .expect("another schema's lock does not wait")
        .unwrap();
    elsewhere.release().await.unwrap();

    let same_schema = first.another_server().await.unwrap();
    let waited =
        tokio::time::timeout(std::time::Duration::from_millis(500), same_schema.lock_segmentations(&[here]))
            .await;
    assert!(waited.is_err(), "the same schema's lock is held");
    held.release().await.unwrap();
    let taken = tokio::time::timeout(deadline, same_schema.lock_segmentations(&[here]))
        .await
        .expect("released, it is taken")
        .unwrap();
    taken.release().await.unwrap();
    same_schema.close().await.unwrap();
    first.finish().await;
    other.finish().await;
}
