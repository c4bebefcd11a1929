//! A person's rights against SQLite and PostgreSQL: everything held about a customer is
//! exported; erasing them leaves nothing that identifies them (no row, membership, history,
//! webhook event, change-feed entry or model mention) but a tombstone of their external id's
//! hash, which keeps imports and single writes from re-creating them unless asked.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft};
use kindred_store::import::{
    ERASED_REASON, Format, ImportKind, ImportOptions, ImportSummary, RowError, import_with,
};
use kindred_store::{
    ChangeReason, CustomerFilter, Member, MembershipDiff, NewSegmentation, RefitResult, Store, StoreError,
};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn member(customer_id: i64, segment: &str) -> Member {
    Member { customer_id, segment: segment.to_owned(), score: Some(1.5) }
}

async fn customer(store: &Store, external_id: &str, email: Option<&str>) -> i64 {
    let draft = CustomerDraft {
        external_id: external_id.to_owned(),
        email: email.map(str::to_owned),
        first_name: email.map(|_| "Ana".to_owned()),
        last_name: email.map(|_| "Lima".to_owned()),
        city: Some("Porto".to_owned()),
        ..Default::default()
    };
    store.upsert_customer(draft.validate(today()).unwrap()).await.unwrap().0.id
}

fn interaction(external_id: &str, day: u32) -> kindred_domain::Interaction {
    InteractionDraft {
        customer_external_id: external_id.to_owned(),
        occurred_at: format!("2026-01-{day:02}"),
        amount: Some(10.0 * f64::from(day)),
        currency: Some("EUR".to_owned()),
        text: Some("loves trail running".to_owned()),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

fn tie(from: &str, to: &str, mutual: bool) -> kindred_domain::Tie {
    TieDraft {
        from_external_id: from.to_owned(),
        to_external_id: to.to_owned(),
        kind: Some("colleague".to_owned()),
        weight: Some(0.5),
        mutual: Some(mutual),
    }
    .validate()
    .unwrap()
}

fn need(external_id: &str, tag: &str, source: &str) -> kindred_domain::Need {
    NeedDraft {
        customer_external_id: external_id.to_owned(),
        tag: tag.to_owned(),
        source: Some(source.to_owned()),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

async fn run(
    store: &Store,
    kind: ImportKind,
    text: &str,
    allow_erased: bool,
) -> (ImportSummary, Vec<RowError>) {
    let mut errors = Vec::new();
    let input = std::io::Cursor::new(text.to_owned().into_bytes());
    let options = ImportOptions { allow_erased, ..ImportOptions::default() };
    let summary =
        import_with(store, kind, Format::Csv, input, options, |e| errors.push(e.clone())).await.unwrap();
    (summary, errors)
}

/// A customer `ana` with everything a customer can have, her friend `bo` and `cy` who
/// follows her; a segmentation with a webhook, in which both entered and `ana` moved.
async fn world(store: &Store) -> (i64, i64, i64, i64, i64) {
    let ana = customer(store, "ana-1", Some("ana@example.com")).await;
    let bo = customer(store, "bo-2", Some("bo@example.com")).await;
    let cy = customer(store, "cy-3", None).await;
    for day in 1..=3 {
        store.record_interaction(&interaction("ana-1", day)).await.unwrap();
    }
    store.record_interaction(&interaction("bo-2", 1)).await.unwrap();
    store.add_tie(&tie("ana-1", "bo-2", true)).await.unwrap();
    store.add_tie(&tie("cy-3", "ana-1", false)).await.unwrap();
    store.add_tie(&tie("bo-2", "cy-3", true)).await.unwrap();
    store.add_need(&need("ana-1", "trail_running", "declared")).await.unwrap();
    store.add_need(&need("ana-1", "vegan_food", "inferred")).await.unwrap();
    store.add_need(&need("bo-2", "trail_running", "declared")).await.unwrap();

    let new = NewSegmentation {
        name: "runners".to_owned(),
        strategy: "need-based".to_owned(),
        params: serde_json::json!({}),
        mode: kindred_store::SegmentationMode::Dynamic,
        refresh_interval_seconds: None,
    };
    let segmentation = store.create_segmentation(&new).await.unwrap().id;
    let hook = store.create_webhook(segmentation, "http://127.0.0.1:9/hook", "secret").await.unwrap().id;
    let first =
        MembershipDiff { entered: vec![member(ana, "gold"), member(bo, "gold")], ..Default::default() };
    let model = serde_json::json!({ "summaries": [{ "label": "gold", "influencers": ["ana-1", "bo-2"] }] });
    store
        .apply_membership_diff(
            segmentation,
            &first,
            ChangeReason::Refit,
            None,
            Some(&RefitResult { model, state: None, covered_change: 0, runner: None }),
        )
        .await
        .unwrap();
    let moved = MembershipDiff {
        entered: vec![member(ana, "silver")],
        exited: vec![member(ana, "gold")],
        ..Default::default()
    };
    store.apply_membership_diff(segmentation, &moved, ChangeReason::Write, None, None).await.unwrap();
    // One of ana's events was sent already.
    let sent = store.deliveries(hook, Some(kindred_store::DeliveryStatus::Pending), 100).await.unwrap();
    let first_of_ana = sent.iter().filter(|d| d.customer_id == ana).map(|d| d.id).min().unwrap();
    store.mark_delivered(&[first_of_ana], chrono::Utc::now()).await.unwrap();
    (ana, bo, cy, segmentation, hook)
}

on_both!(export_holds_everything_about_a_customer, |store: &Store| {
    let store = store.clone();
    async move {
        let (ana, bo, cy, segmentation, _) = world(&store).await;
        assert!(store.person_data(ana + bo + cy + 100).await.unwrap().is_none());
        let data = store.person_data(ana).await.unwrap().unwrap();
        assert_eq!(data.customer.id, ana);
        assert_eq!(data.customer.email.as_deref(), Some("ana@example.com"));
        assert_eq!(data.customer.first_name.as_deref(), Some("Ana"));
        assert_eq!(data.interactions.len(), 3);
        assert!(data.interactions.iter().all(|i| i.customer_id == ana));
        let mut ends: Vec<(i64, &str, bool)> = data
            .ties
            .iter()
            .map(|t| (t.other_id, t.other_external_id.as_str(), t.tie.from_id == ana))
            .collect();
        ends.sort();
        assert_eq!(ends, [(bo, "bo-2", true), (cy, "cy-3", false)]);
        let mut needs: Vec<(&str, &str)> =
            data.needs.iter().map(|n| (n.tag.as_str(), n.source.as_str())).collect();
        needs.sort();
        assert_eq!(needs, [("trail_running", "declared"), ("vegan_food", "inferred")]);
        let memberships: Vec<(i64, &str, &str)> = data
            .memberships
            .iter()
            .map(|(m, name)| (m.segmentation_id, m.segment.as_str(), name.as_str()))
            .collect();
        assert_eq!(memberships, [(segmentation, "silver", "runners")]);
        let history: Vec<(&str, &str, &str)> = data
            .history
            .iter()
            .map(|(e, name)| (e.change.as_str(), e.segment.as_str(), name.as_str()))
            .collect();
        assert_eq!(
            history,
            [("entered", "gold", "runners"), ("entered", "silver", "runners"), ("exited", "gold", "runners")]
        );
        // Three events about ana were queued, one was sent.
        assert_eq!(data.pending_webhook_events.len(), 2);
        assert!(
            data.pending_webhook_events
                .iter()
                .all(|d| d.customer_id == ana && d.status == kindred_store::DeliveryStatus::Pending)
        );
        assert!(data.pending_webhook_events.iter().all(|d| d.payload.contains("\"ana-1\"")));
    }
});

on_both!(erasing_leaves_nothing_but_a_tombstone, |store: &Store| {
    let store = store.clone();
    async move {
        let (ana, bo, cy, segmentation, hook) = world(&store).await;
        // The writes that built the world queued their customers; consume them.
        let queued = store.queued_changes(1_000).await.unwrap();
        let consumed = kindred_store::Consumed { changes: queued.rows, ..Default::default() };
        store.apply_membership_diffs(&[], ChangeReason::Write, &consumed).await.unwrap();
        // An import queued ana.
        run(&store, ImportKind::Customers, "external_id,city\nana-1,Lisboa\n", false).await;
        assert_eq!(store.queued_changes(100).await.unwrap().customers, [ana]);
        assert_eq!(
            store.segment_sizes(segmentation).await.unwrap(),
            [("gold".to_owned(), 1), ("silver".to_owned(), 1)]
        );

        let receipt = store.erase_customer(ana).await.unwrap().unwrap();
        assert!(receipt.erasure_id > 0);
        assert_eq!(receipt.customer_id, ana);
        assert_eq!(
            (receipt.interactions, receipt.ties, receipt.needs, receipt.memberships, receipt.history_events),
            (3, 2, 2, 1, 3)
        );
        assert_eq!((receipt.webhook_events, receipt.sent_webhook_events, receipt.model_mentions), (2, 1, 1));
        assert_eq!(receipt.neighbours, [bo, cy]);
        assert!(store.erase_customer(ana).await.unwrap().is_none());

        // Not found by id, external id, email, or anywhere else.
        assert!(store.customer(ana).await.unwrap().is_none());
        assert!(store.customer_by_external_id("ana-1").await.unwrap().is_none());
        let by_email = CustomerFilter { email: Some("ana@example.com".into()), ..Default::default() };
        assert!(store.list_customers(&by_email, None, 10).await.unwrap().is_empty());
        assert!(store.person_data(ana).await.unwrap().is_none());
        assert!(store.customer_memberships(ana).await.unwrap().is_empty());
        assert!(store.customer_history(ana, 100).await.unwrap().is_empty());
        assert!(store.members_of(segmentation).await.unwrap().iter().all(|m| m.customer_id != ana));
        assert!(
            store.segment_members(segmentation, "silver", Some("ana"), None, 10).await.unwrap().is_empty()
        );
        assert_eq!(store.segment_sizes(segmentation).await.unwrap(), [("gold".to_owned(), 1)]);
        assert!(
            store
                .segmentation_events(segmentation, 0, 100)
                .await
                .unwrap()
                .iter()
                .all(|e| e.customer_id != ana)
        );
        let deliveries = store.deliveries(hook, None, 100).await.unwrap();
        assert_eq!(deliveries.len(), 1, "bo's enter stays");
        assert!(deliveries.iter().all(|d| d.customer_id == bo && !d.payload.contains("ana-1")));
        let model = store.segmentation(segmentation).await.unwrap().unwrap().model.unwrap();
        assert!(!model.contains("ana-1") && model.contains("bo-2"), "{model}");
        let counts = store.counts().await.unwrap();
        assert_eq!((counts.customers, counts.interactions, counts.ties, counts.needs), (2, 1, 1, 1));
        assert!(store.is_erased("ana-1").await.unwrap());
        assert!(!store.is_erased("bo-2").await.unwrap());
        // The import's queue entry, which held the external id, is gone; the other ends of
        // the removed ties are queued to be re-assigned.
        assert_eq!(store.queued_changes(100).await.unwrap().customers, [bo, cy]);
    }
});

on_both!(erased_customers_are_not_recreated_unless_asked, |store: &Store| {
    let store = store.clone();
    async move {
        let (ana, ..) = world(&store).await;
        store.erase_customer(ana).await.unwrap().unwrap();

        // Single writes name the erased id: refused, nothing created.
        let again =
            CustomerDraft { external_id: "ana-1".into(), ..Default::default() }.validate(today()).unwrap();
        let refused = store.upsert_customer(again.clone()).await.unwrap_err();
        assert!(
            matches!(&refused, StoreError::Erased { external_id } if external_id == "ana-1"),
            "{refused}"
        );
        assert!(!refused.to_string().contains("ana-1"), "no personal data in the message: {refused}");
        let refused = store.record_interaction(&interaction("ana-1", 9)).await.unwrap_err();
        assert!(matches!(refused, StoreError::Erased { .. }), "{refused}");
        let refused = store.add_tie(&tie("bo-2", "ana-1", true)).await.unwrap_err();
        assert!(
            matches!(&refused, StoreError::Erased { external_id } if external_id == "ana-1"),
            "{refused}"
        );
        let refused = store.add_need(&need("ana-1", "chess", "declared")).await.unwrap_err();
        assert!(matches!(refused, StoreError::Erased { .. }), "{refused}");
        assert!(store.customer_by_external_id("ana-1").await.unwrap().is_none());

        // An old import file replayed: ana's rows refused by line, the others kept.
        let customers = "external_id,email\nana-1,ana@example.com\ndee-4,dee@example.com\n";
        let (summary, errors) = run(&store, ImportKind::Customers, customers, false).await;
        assert_eq!((summary.read, summary.imported, summary.rejected), (2, 1, 1));
        assert_eq!(
            errors,
            [RowError { line: 2, column: Some("external_id".into()), reason: ERASED_REASON.into() }]
        );
        let interactions = "customer_external_id,occurred_at,amount\nbo-2,2026-02-01,5\nana-1,2026-02-01,5\n";
        let (summary, errors) = run(&store, ImportKind::Interactions, interactions, false).await;
        assert_eq!((summary.imported, summary.rejected, summary.customers_created), (1, 1, 0));
        assert_eq!((errors[0].line, errors[0].column.as_deref()), (3, Some("customer_external_id")));
        let ties =
            "from_external_id,to_external_id,mutual\nbo-2,ana-1,false\ndee-4,bo-2,true\nbo-2,ana-1,true\n";
        let (summary, errors) = run(&store, ImportKind::Ties, ties, false).await;
        assert_eq!((summary.imported, summary.rejected), (1, 2));
        // A mutual tie's ends are put in order, so its column is not told.
        let refused: Vec<(u64, Option<&str>)> =
            errors.iter().map(|e| (e.line, e.column.as_deref())).collect();
        assert_eq!(refused, [(2, Some("to_external_id")), (4, None)]);
        let needs = "customer_external_id,tag\nana-1,chess\n";
        let (summary, _) = run(&store, ImportKind::Needs, needs, false).await;
        assert_eq!((summary.imported, summary.rejected), (0, 1));
        assert!(store.customer_by_external_id("ana-1").await.unwrap().is_none());
        assert!(store.is_erased("ana-1").await.unwrap());

        // Asked for: re-created, and the tombstone goes.
        let (summary, errors) = run(&store, ImportKind::Customers, customers, true).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((summary.imported, summary.unchanged, summary.rejected), (1, 1, 0));
        let back = store.customer_by_external_id("ana-1").await.unwrap().unwrap();
        assert_ne!(back.id, ana, "a new customer, nothing of the old one");
        assert!(!store.is_erased("ana-1").await.unwrap());
        assert!(store.customer_history(back.id, 10).await.unwrap().is_empty());

        // And through the single write that asks for it.
        store.erase_customer(back.id).await.unwrap().unwrap();
        assert!(store.upsert_customer(again.clone()).await.is_err());
        let (stored, _) = store.upsert_customer_with(again, true).await.unwrap();
        assert_eq!(stored.external_id, "ana-1");
        assert!(!store.is_erased("ana-1").await.unwrap());
        store.record_interaction(&interaction("ana-1", 9)).await.unwrap();
    }
});
