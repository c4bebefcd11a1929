//! Segmentations, memberships and their history against SQLite and PostgreSQL: create with a
//! unique name, a diff written with its events in one transaction, sizes, pages (searched or
//! not), history, jobs, ties between segments, row counts, and cascades when a segmentation or
//! a customer goes.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft};
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
            mode: kindred_store::SegmentationMode::Dynamic,
            refresh_interval_seconds: None,
        };
        let created = store.create_segmentation(&new).await.unwrap();
        assert_eq!((created.status.as_str(), created.mode.as_str()), ("running", "dynamic"));
        let again = store.create_segmentation(&new).await.unwrap_err();
        assert!(again.is_conflict() && again.to_string().contains("big spenders"), "{again}");

        let job = store.start_job(created.id, kindred_store::JobReason::Refit, &test_lease()).await.unwrap();
        store.job_progress(job.id, 5, 5).await.unwrap();
        let first = MembershipDiff {
            entered: vec![
                member(ids[0], "gold", Some(3.0)),
                member(ids[1], "gold", None),
                member(ids[2], "silver", Some(1.0)),
            ],
            ..Default::default()
        };
        // Binary bytes with a zero and high bytes: stored as they are on both databases.
        let state = kindred_store::ModelState {
            job_id: job.id,
            library_sha256: "ab".repeat(32),
            params: serde_json::json!({ "threshold": 1000, "labels": ["gold", "silver"] }),
            bytes: vec![0x93, 0x00, 0xff, 0x10, 0x00],
            covered_change: 7,
            saved_at: None,
        };
        assert!(store.model_state(created.id).await.unwrap().is_none());
        let refit = RefitResult {
            model: serde_json::json!({ "cut": 1000 }),
            state: Some(state.clone()),
            covered_change: 7,
            runner: None,
        };
        store
            .apply_membership_diff(created.id, &first, ChangeReason::Refit, Some(job.id), Some(&refit))
            .await
            .unwrap();
        store
            .finish_job(
                job.id,
                "test",
                &JobOutcome {
                    status: kindred_store::JobStatus::Succeeded,
                    counts: (3, 0, 0),
                    excluded: 0,
                    error: None,
                },
            )
            .await
            .unwrap();
        let ready = store.segmentation(created.id).await.unwrap().unwrap();
        assert_eq!(ready.status.as_str(), "ready");
        let saved = store.model_state(created.id).await.unwrap().unwrap();
        assert!(saved.saved_at.is_some());
        assert_eq!(kindred_store::ModelState { saved_at: None, ..saved }, state);
        let version = store.model_version(created.id).await.unwrap().unwrap();
        assert_eq!(
            (version.job_id, version.library_sha256.as_str(), version.state_bytes),
            (job.id, "ab".repeat(32).as_str(), 5)
        );
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
        let page = store.segment_members(created.id, "silver", None, None, 1).await.unwrap();
        assert_eq!(page.iter().map(|m| m.customer_id).collect::<Vec<_>>(), [ids[1]]);
        let next = store.segment_members(created.id, "silver", None, Some(ids[1]), 10).await.unwrap();
        assert_eq!(next.iter().map(|m| m.customer_id).collect::<Vec<_>>(), [ids[2]]);
        let first_two = store.membership_page(created.id, None, None, 2).await.unwrap();
        let rest = store.membership_page(created.id, None, Some((ids[1], "silver")), 10).await.unwrap();
        let paged: Vec<i64> = first_two.iter().chain(&rest).map(|m| m.customer_id).collect();
        assert_eq!(paged, [ids[0], ids[1], ids[2]]);
        assert_eq!(store.membership_page(created.id, Some("gold"), None, 10).await.unwrap().len(), 1);
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
            mode: Some(kindred_store::SegmentationMode::Static),
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

async fn enter(store: &Store, segmentation: i64, members: &[(i64, &str)]) {
    let diff = MembershipDiff {
        entered: members.iter().map(|(id, segment)| member(*id, segment, None)).collect(),
        ..Default::default()
    };
    store.apply_membership_diff(segmentation, &diff, ChangeReason::Refit, None, None).await.unwrap();
}

on_both!(personas_overlaps_and_sizes_over_time, |store: &Store| {
    let store = store.clone();
    async move {
        let today = chrono::Utc::now().date_naive();
        let people = [
            ("p0", "1990-05-01", "female", 30_000.0, "FR", "Paris"),
            ("p1", "1950-01-01", "male", 160_000.0, "FR", "Lyon"),
            ("p2", "2005-01-01", "female", 20_000.0, "DE", "Berlin"),
            ("p3", "1985-01-01", "female", 60_000.0, "FR", "Paris"),
        ];
        let mut ids = Vec::new();
        for (external_id, born, gender, income, country, city) in people {
            let draft = CustomerDraft {
                external_id: external_id.to_owned(),
                birth_date: Some(born.to_owned()),
                gender: Some(gender.to_owned()),
                income: Some(income),
                country: Some(country.to_owned()),
                city: Some(city.to_owned()),
                ..Default::default()
            };
            ids.push(store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id);
        }
        let ten_days_ago = (chrono::Utc::now() - chrono::Duration::days(10)).to_rfc3339();
        for (who, amount, cost) in [("p0", 100.0, 10.0), ("p0", 300.0, 0.0), ("p1", 600.0, 50.0)] {
            let draft = InteractionDraft {
                customer_external_id: who.to_owned(),
                occurred_at: ten_days_ago.clone(),
                kind: Some("purchase".to_owned()),
                amount: Some(amount),
                cost_to_serve: Some(cost),
                source_id: Some(format!("{who}-{amount}")),
                ..Default::default()
            };
            store.record_interaction(&draft.validate().unwrap()).await.unwrap();
        }
        for (who, tag) in [("p0", "trail running"), ("p3", "trail running"), ("p1", "golf"), ("p0", "golf")] {
            let draft =
                NeedDraft { customer_external_id: who.to_owned(), tag: tag.to_owned(), ..Default::default() };
            store.add_need(&draft.validate().unwrap()).await.unwrap();
        }
        let value = segmentation(&store, "value").await;
        enter(
            &store,
            value,
            &[(ids[0], "buyers"), (ids[1], "buyers"), (ids[2], "browsers"), (ids[3], "browsers")],
        )
        .await;
        let places = segmentation(&store, "places").await;
        enter(
            &store,
            places,
            &[(ids[0], "paris"), (ids[3], "paris"), (ids[1], "elsewhere"), (ids[2], "elsewhere")],
        )
        .await;

        let cells = store.overlap(value, places).await.unwrap();
        let cells: Vec<(&str, &str, i64)> =
            cells.iter().map(|c| (c.a.as_str(), c.b.as_str(), c.customers)).collect();
        assert_eq!(
            cells,
            [
                ("browsers", "elsewhere", 1),
                ("browsers", "paris", 1),
                ("buyers", "elsewhere", 1),
                ("buyers", "paris", 1)
            ]
        );

        let personas = store.personas(value, chrono::Utc::now()).await.unwrap();
        let buyers = personas.iter().find(|p| p.segment == "buyers").unwrap();
        assert_eq!((buyers.size, buyers.share), (2, 0.5));
        let counts = |counts: &[kindred_store::Count]| {
            counts.iter().map(|c| (c.value.clone(), c.customers)).collect::<Vec<_>>()
        };
        assert_eq!(counts(&buyers.ages), [("65+".to_owned(), 1), ("35-44".to_owned(), 1)]);
        assert_eq!(counts(&buyers.incomes), [("25k-50k".to_owned(), 1), ("150k+".to_owned(), 1)]);
        assert_eq!(buyers.average_income, Some(95_000.0));
        assert_eq!(counts(&buyers.countries), [("FR".to_owned(), 2)]);
        assert_eq!(buyers.buyers, 2);
        assert_eq!((buyers.average_frequency, buyers.average_monetary), (1.5, 500.0));
        assert!(buyers.average_recency_days.is_some_and(|days| (days - 10.0).abs() < 0.01), "{buyers:?}");
        assert_eq!(
            (buyers.revenue, buyers.profit, buyers.revenue_share, buyers.profit_share),
            (1_000.0, 940.0, 1.0, 1.0)
        );
        // Both buyers want golf, held by half of everyone: lift 2.
        assert_eq!(buyers.needs[0].tag, "golf");
        assert_eq!((buyers.needs[0].customers, buyers.needs[0].share, buyers.needs[0].lift), (2, 1.0, 2.0));
        let browsers = personas.iter().find(|p| p.segment == "browsers").unwrap();
        assert_eq!((browsers.buyers, browsers.average_recency_days, browsers.revenue_share), (0, None, 0.0));
        assert_eq!(counts(&browsers.genders), [("female".to_owned(), 2)]);
        assert_eq!(counts(&browsers.ages), [("35-44".to_owned(), 1), ("under 25".to_owned(), 1)]);

        // Two buyers leave: sizes over time ends on one point with browsers only (all today).
        let diff = MembershipDiff {
            exited: vec![member(ids[0], "buyers", None), member(ids[1], "buyers", None)],
            ..Default::default()
        };
        store.apply_membership_diff(value, &diff, ChangeReason::Write, None, None).await.unwrap();
        for bucket in [kindred_store::Bucket::Day, kindred_store::Bucket::Hour] {
            let history = store.segment_size_history(value, bucket).await.unwrap();
            assert_eq!(history.len(), 1, "{history:?}");
            assert_eq!(history[0].sizes, [("browsers".to_owned(), 2)]);
            assert!(chrono::Utc::now() - history[0].at < chrono::Duration::days(1));
        }
    }
});

on_both!(members_are_searched_by_id_email_and_name, |store: &Store| {
    let store = store.clone();
    async move {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let people = [
            ("a_1", Some("ann.lee@example.com"), Some("Ann"), Some("Lee")),
            ("ax1", Some("bob@example.com"), Some("Bob"), Some("Annand")),
            ("c-3", None, Some("Carla"), Some("Smith")),
            ("d-4", Some("dan@example.org"), None, None),
            ("100%", None, None, None),
        ];
        let mut ids = Vec::new();
        for (external_id, email, first, last) in people {
            let draft = CustomerDraft {
                external_id: external_id.to_owned(),
                email: email.map(str::to_owned),
                first_name: first.map(str::to_owned),
                last_name: last.map(str::to_owned),
                ..Default::default()
            };
            ids.push(store.upsert_customer(draft.validate(today).unwrap()).await.unwrap().0.id);
        }
        let id = segmentation(&store, "everyone").await;
        let everyone: Vec<(i64, &str)> = ids.iter().map(|id| (*id, "all")).collect();
        enter(&store, id, &everyone).await;
        let found = |search: &'static str, after: Option<i64>, limit: u64| {
            let store = store.clone();
            async move {
                let rows = store.segment_members(id, "all", Some(search), after, limit).await.unwrap();
                rows.into_iter().map(|row| row.customer_id).collect::<Vec<_>>()
            }
        };
        // Any case, in any of the four columns.
        assert_eq!(found("ANN", None, 10).await, [ids[0], ids[1]]);
        assert_eq!(found("  example.ORG ", None, 10).await, [ids[3]]);
        assert_eq!(found("smi", None, 10).await, [ids[2]]);
        // Wildcards are plain text.
        assert_eq!(found("a_1", None, 10).await, [ids[0]]);
        assert_eq!(found("%", None, 10).await, [ids[4]]);
        assert!(found("nobody", None, 10).await.is_empty());
        // Blank means no search; pages follow the customer id cursor.
        assert_eq!(found("   ", None, 10).await, ids);
        assert_eq!(found("example", None, 2).await, [ids[0], ids[1]]);
        assert_eq!(found("example", Some(ids[1]), 2).await, [ids[3]]);
        assert!(store.segment_members(id, "other", Some("ann"), None, 10).await.unwrap().is_empty());
    }
});

on_both!(links_count_ties_between_segments, |store: &Store| {
    let store = store.clone();
    async move {
        let ids = customers(&store, 6).await;
        // Ties with their weights, between customers s0 to s5.
        for (from, to, weight) in [(0, 1, 1.0), (1, 2, 0.5), (3, 0, 0.25), (2, 4, 0.75), (4, 5, 1.0)] {
            let tie = TieDraft {
                from_external_id: format!("s{from}"),
                to_external_id: format!("s{to}"),
                weight: Some(weight),
                ..Default::default()
            };
            store.add_tie(&tie.validate().unwrap()).await.unwrap();
        }
        let id = segmentation(&store, "communities").await;
        // s5 is in no segment of this segmentation; s4 is in two.
        enter(
            &store,
            id,
            &[(ids[0], "x"), (ids[1], "x"), (ids[2], "x"), (ids[3], "y"), (ids[4], "y"), (ids[4], "z")],
        )
        .await;
        let other = segmentation(&store, "other").await;
        enter(&store, other, &[(ids[0], "x"), (ids[3], "x")]).await;

        let links = store.segment_links(id).await.unwrap();
        let got: Vec<(&str, &str, i64, f64)> =
            links.iter().map(|l| (l.a.as_str(), l.b.as_str(), l.ties, l.weight)).collect();
        // x-x: s0-s1, s1-s2; x-y: s3-s0 (y to x, folded), s2-s4; x-z: s2-s4.
        assert_eq!(got, [("x", "x", 2, 1.5), ("x", "y", 2, 1.0), ("x", "z", 1, 0.75)]);
        let others = store.segment_links(other).await.unwrap();
        assert_eq!(others.len(), 1);
        assert_eq!((others[0].a.as_str(), others[0].b.as_str(), others[0].ties), ("x", "x", 1));
        assert!(store.segment_links(id + 100).await.unwrap().is_empty());
    }
});

on_both!(counts_are_read_in_one_statement, |store: &Store| {
    let store = store.clone();
    async move {
        let empty = store.counts().await.unwrap();
        assert_eq!(empty, kindred_store::RowCounts::default());
        customers(&store, 3).await;
        let tie =
            TieDraft { from_external_id: "s0".into(), to_external_id: "s1".into(), ..Default::default() };
        store.add_tie(&tie.validate().unwrap()).await.unwrap();
        for (who, tag) in [("s0", "golf"), ("s1", "golf"), ("s2", "tea")] {
            let need = NeedDraft { customer_external_id: who.into(), tag: tag.into(), ..Default::default() };
            store.add_need(&need.validate().unwrap()).await.unwrap();
        }
        let draft = InteractionDraft {
            customer_external_id: "s2".into(),
            occurred_at: "2026-01-02".into(),
            ..Default::default()
        };
        store.record_interaction(&draft.validate().unwrap()).await.unwrap();
        let before = store.statement_count();
        let counts = store.counts().await.unwrap();
        assert_eq!(store.statement_count() - before, 1);
        assert_eq!(counts, kindred_store::RowCounts { customers: 3, interactions: 1, ties: 1, needs: 3 });
    }
});

/// A lease held by these tests for five minutes.
fn test_lease() -> kindred_store::Lease {
    kindred_store::Lease {
        holder: "test".to_owned(),
        until: chrono::Utc::now() + chrono::Duration::minutes(5),
    }
}
