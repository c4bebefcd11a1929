//! The store against SQLite and PostgreSQL: upserts, children pages, ties, needs, deletes.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft, TieKind};
use kindred_store::{CustomerFilter, InteractionCursor, Store, WriteCounts};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn customer(external_id: &str) -> CustomerDraft {
    CustomerDraft { external_id: external_id.into(), ..Default::default() }
}

fn purchase(external_id: &str, at: &str, amount: f64) -> InteractionDraft {
    InteractionDraft {
        customer_external_id: external_id.into(),
        occurred_at: at.into(),
        amount: Some(amount),
        currency: Some("EUR".into()),
        ..Default::default()
    }
}

on_both!(upsert_keeps_known_values, |store: &Store| {
    let store = store.clone();
    async move {
        let draft = CustomerDraft {
            email: Some("Ana@Example.com".into()),
            city: Some("Lisbon".into()),
            lifestyle: vec!["outdoor".into(), "vegan".into()],
            ..customer("c1")
        };
        let (stored, counts) = store.upsert_customer(draft.clone().validate(today()).unwrap()).await.unwrap();
        assert_eq!(counts, WriteCounts { inserted: 1, updated: 0, unchanged: 0 });
        assert_eq!(stored.email.as_deref(), Some("ana@example.com"));
        assert_eq!(stored.lifestyle_tags(), ["outdoor", "vegan"]);

        let (_, again) = store.upsert_customer(draft.validate(today()).unwrap()).await.unwrap();
        assert_eq!(again, WriteCounts { inserted: 0, updated: 0, unchanged: 1 });

        let change = CustomerDraft { country: Some("pt".into()), ..customer("c1") };
        let (stored, counts) = store.upsert_customer(change.validate(today()).unwrap()).await.unwrap();
        assert_eq!(counts.updated, 1);
        assert_eq!(stored.country.as_deref(), Some("PT"));
        assert_eq!(stored.city.as_deref(), Some("Lisbon"), "an unknown value must not erase a stored one");
    }
});

on_both!(filters_find_customers, |store: &Store| {
    let store = store.clone();
    async move {
        for (id, country, tags) in
            [("a", "PT", "outdoor;vegan"), ("b", "DE", "gaming"), ("c", "PT", "trail_run")]
        {
            let draft = CustomerDraft {
                country: Some(country.into()),
                lifestyle: tags.split(';').map(str::to_owned).collect(),
                ..customer(id)
            };
            store.upsert_customer(draft.validate(today()).unwrap()).await.unwrap();
        }
        let need =
            NeedDraft { customer_external_id: "b".into(), tag: "home barista".into(), ..Default::default() };
        store.add_need(&need.validate().unwrap()).await.unwrap();
        let ids = |rows: Vec<kindred_store::entity::customer::Model>| {
            rows.into_iter().map(|c| c.external_id).collect::<Vec<_>>()
        };
        let pt = CustomerFilter { country: Some("pt".into()), ..Default::default() };
        assert_eq!(ids(store.list_customers(&pt, None, 10).await.unwrap()), ["a", "c"]);
        let first = store.list_customers(&pt, None, 1).await.unwrap();
        assert_eq!(ids(store.list_customers(&pt, Some(first[0].id), 10).await.unwrap()), ["c"]);
        // `_` in a tag is matched literally, not as a wildcard.
        let tag = CustomerFilter { lifestyle: Some("trail_run".into()), ..Default::default() };
        assert_eq!(ids(store.list_customers(&tag, None, 10).await.unwrap()), ["c"]);
        let vegan = CustomerFilter { lifestyle: Some("vegan".into()), ..Default::default() };
        assert_eq!(ids(store.list_customers(&vegan, None, 10).await.unwrap()), ["a"]);
        let need = CustomerFilter { need_tag: Some("home_barista".into()), ..Default::default() };
        assert_eq!(ids(store.list_customers(&need, None, 10).await.unwrap()), ["b"]);
    }
});

on_both!(concurrent_recordings_are_written_in_groups, |store: &Store| {
    let store = store.clone();
    async move {
        let owned =
            InteractionDraft { source_id: Some("s-own".into()), ..purchase("owner", "2025-01-01", 1.0) };
        store.record_interaction(&owned.clone().validate().unwrap()).await.unwrap();
        let mut drafts: Vec<InteractionDraft> =
            (0..40).map(|n| purchase(&format!("g{n}"), "2025-05-01T08:00:00Z", f64::from(n))).collect();
        // The same purchase twice, and another customer's source id.
        drafts.push(purchase("g1", "2025-05-01T08:00:00Z", 1.0));
        drafts.push(InteractionDraft { customer_external_id: "thief".into(), ..owned });
        let before = store.statement_count();
        let tasks: Vec<_> = drafts
            .iter()
            .map(|draft| {
                let (store, interaction) = (store.clone(), draft.clone().validate().unwrap());
                tokio::spawn(async move { store.record_interaction(&interaction).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let statements = store.statement_count() - before;
        assert!(statements < 42 * 3, "{statements} statements for 42 writes: not grouped");
        let thief = answers.pop().unwrap();
        assert!(thief.unwrap_err().is_conflict());
        let mut inserted = 0;
        for (n, answer) in answers.iter().enumerate() {
            let (row, counts) = answer.as_ref().unwrap();
            let owner = store.customer(row.customer_id).await.unwrap().unwrap();
            let wanted = if n == 40 { "g1".to_owned() } else { format!("g{n}") };
            assert_eq!(owner.external_id, wanted);
            assert_eq!(row.amount, Some(if n == 40 { 1.0 } else { n as f64 }));
            inserted += counts.inserted;
        }
        assert_eq!(inserted, 40, "the repeated purchase is stored once");
        let (first, again) = (&answers[1].as_ref().unwrap().0, &answers[40].as_ref().unwrap().0);
        assert_eq!(first.id, again.id);
    }
});

on_both!(interactions_dedupe_and_page, |store: &Store| {
    let store = store.clone();
    async move {
        let first = purchase("c1", "2025-01-01T10:00:00Z", 10.0).validate().unwrap();
        let (stored, counts) = store.record_interaction(&first).await.unwrap();
        assert_eq!(counts.inserted, 1);
        let (same, counts) = store.record_interaction(&first).await.unwrap();
        assert_eq!((same.id, counts.inserted, counts.unchanged), (stored.id, 0, 1));
        // Different amount at the same time is another purchase.
        store
            .record_interaction(&purchase("c1", "2025-01-01T10:00:00Z", 11.0).validate().unwrap())
            .await
            .unwrap();
        let with_source =
            InteractionDraft { source_id: Some("s-1".into()), ..purchase("c1", "2025-02-01", 5.0) };
        store.record_interaction(&with_source.clone().validate().unwrap()).await.unwrap();
        let stolen = InteractionDraft { customer_external_id: "c9".into(), ..with_source.clone() };
        let error = store.record_interaction(&stolen.validate().unwrap()).await.unwrap_err();
        assert!(error.is_conflict(), "{error}");
        let (_, counts) = store.record_interaction(&with_source.validate().unwrap()).await.unwrap();
        assert_eq!(counts.unchanged, 1);
        store.record_interaction(&purchase("c2", "2025-03-01", 1.0).validate().unwrap()).await.unwrap();

        let c1 = store.customer_by_external_id("c1").await.unwrap().expect("created by its interaction");
        let c2 = store.customer_by_external_id("c2").await.unwrap().unwrap();
        let before = store.statement_count();
        let pages = store.interactions_of(&[c1.id, c2.id], 2, None).await.unwrap();
        assert_eq!(store.statement_count() - before, 1, "one statement for every customer");
        let page = &pages[&c1.id];
        assert_eq!(page.len(), 2);
        assert!(page[0].occurred_at >= page[1].occurred_at, "newest first");
        assert_eq!(pages[&c2.id].len(), 1);
        let last = page.last().unwrap();
        let cursor = InteractionCursor { occurred_at: last.occurred_at, id: last.id };
        let rest = store.interactions_of(&[c1.id], 10, Some(cursor)).await.unwrap();
        assert_eq!(rest[&c1.id].len(), 1);
    }
});

on_both!(ties_are_found_from_both_ends_and_removed, |store: &Store| {
    let store = store.clone();
    async move {
        let tie = |from: &str, to: &str, kind: &str, mutual: bool| {
            TieDraft {
                from_external_id: from.into(),
                to_external_id: to.into(),
                kind: Some(kind.into()),
                weight: Some(0.5),
                mutual: Some(mutual),
            }
            .validate()
            .unwrap()
        };
        let (ab, counts) = store.add_tie(&tie("b", "a", "friend", true)).await.unwrap();
        assert_eq!(counts.inserted, 1);
        // The same mutual tie given the other way round is the same tie.
        let (again, counts) = store.add_tie(&tie("a", "b", "friend", true)).await.unwrap();
        assert_eq!((again.id, counts.unchanged), (ab.id, 1));
        store.add_tie(&tie("c", "a", "follows", false)).await.unwrap();
        let a = store.customer_by_external_id("a").await.unwrap().unwrap();
        let b = store.customer_by_external_id("b").await.unwrap().unwrap();
        let pages = store.ties_of(&[a.id, b.id], 10, None).await.unwrap();
        assert_eq!(pages[&a.id].len(), 2);
        assert_eq!(pages[&b.id].len(), 1);
        assert_eq!(pages[&b.id][0].other_end(b.id), a.id);

        assert!(store.remove_tie("c", "a", TieKind::Friend).await.unwrap().is_empty());
        assert!(matches!(
            store.remove_tie("nobody", "a", TieKind::Friend).await,
            Err(kindred_store::StoreError::NotFound { .. })
        ));
        assert_eq!(store.remove_tie("b", "a", TieKind::Friend).await.unwrap().len(), 1);
        let pages = store.ties_of(&[a.id, b.id], 10, None).await.unwrap();
        assert_eq!(pages[&a.id].len(), 1);
        assert!(!pages.contains_key(&b.id));
    }
});

on_both!(delete_removes_everything_of_the_customer, |store: &Store| {
    let store = store.clone();
    async move {
        store.record_interaction(&purchase("x", "2025-01-01", 3.0).validate().unwrap()).await.unwrap();
        let tie = TieDraft { from_external_id: "x".into(), to_external_id: "y".into(), ..Default::default() };
        store.add_tie(&tie.validate().unwrap()).await.unwrap();
        let need = NeedDraft { customer_external_id: "x".into(), tag: "coffee".into(), ..Default::default() };
        let (stored, _) = store.add_need(&need.validate().unwrap()).await.unwrap();
        assert_eq!(stored.tag, "coffee");
        let x = store.customer_by_external_id("x").await.unwrap().unwrap();
        let y = store.customer_by_external_id("y").await.unwrap().unwrap();
        assert!(store.delete_customer(x.id).await.unwrap());
        assert!(!store.delete_customer(x.id).await.unwrap());
        assert!(store.interactions_of(&[x.id], 10, None).await.unwrap().is_empty());
        assert!(store.ties_of(&[y.id], 10, None).await.unwrap().is_empty());
        assert!(store.needs_of(&[x.id], 10, None).await.unwrap().is_empty());
        assert_eq!(store.count_customers().await.unwrap(), 1);
    }
});

on_both!(needs_upsert_and_remove, |store: &Store| {
    let store = store.clone();
    async move {
        let need = |weight| {
            NeedDraft {
                customer_external_id: "n".into(),
                tag: "Trail Running".into(),
                weight: Some(weight),
                ..Default::default()
            }
            .validate()
            .unwrap()
        };
        store.add_need(&need(0.5)).await.unwrap();
        let (stored, counts) = store.add_need(&need(0.9)).await.unwrap();
        assert_eq!((counts.updated, stored.weight), (1, 0.9));
        let tag = kindred_domain::Token::parse("tag", "trail running").unwrap();
        assert!(store.remove_need("n", &tag).await.unwrap().is_some());
        assert!(store.remove_need("n", &tag).await.unwrap().is_none());
    }
});

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_creates_its_folder() {
    use sea_orm::{ConnectionTrait, Statement};
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/deeper/kindred.db", folder.path().display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    assert!(folder.path().join("nested/deeper/kindred.db").exists());
    let pragma = |name: &str| {
        let sql = format!("PRAGMA {name}");
        let store = store.clone();
        async move {
            let row = store
                .connection()
                .query_one_raw(Statement::from_string(store.backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("foreign_keys").await, "1");
}

on_both!(direct_reads_match_the_orm, |store: &Store| {
    let store = store.clone();
    async move {
        let mut attributes = serde_json::Map::new();
        attributes.insert("tier".into(), serde_json::json!("gold"));
        let full = CustomerDraft {
            email: Some("ana@example.com".into()),
            first_name: Some("Ana".into()),
            last_name: Some("Silva".into()),
            birth_date: Some("1990-04-02".into()),
            gender: Some("female".into()),
            income: Some(52_000.5),
            education: Some("master".into()),
            occupation: Some("nurse".into()),
            country: Some("PT".into()),
            region: Some("Lisboa".into()),
            city: Some("Lisbon".into()),
            lat: Some(38.72),
            lon: Some(-9.14),
            lifestyle: vec!["outdoor".into()],
            consent_marketing: Some(true),
            consent_profiling: Some(false),
            social_handles: [("twitter".to_owned(), "@ana".to_owned())].into(),
            attributes,
            ..customer("full")
        };
        let (stored, _) = store.upsert_customer(full.validate(today()).unwrap()).await.unwrap();
        // `list_customers` always reads through sea-orm; `customer` takes the direct path on
        // a SQLite file. Both must give the same model, field for field.
        let listed = store.list_customers(&CustomerFilter::default(), None, 10).await.unwrap();
        assert_eq!(store.customer(stored.id).await.unwrap().as_ref(), listed.first());
        assert_eq!(store.customers_by_ids(&[stored.id, -1]).await.unwrap(), listed);
        assert_eq!(store.customer(-1).await.unwrap(), None);
    }
});

on_both!(large_pages_read_off_the_runtime_thread, |store: &Store| {
    let store = store.clone();
    async move {
        // 20 customers × 100 rows may exceed what is read on the calling thread: this read
        // takes the blocking pool on SQLite and must give the same pages.
        for n in 0..20 {
            for day in 1..=3 {
                let at = format!("2025-01-{day:02}");
                let draft = purchase(&format!("p{n}"), &at, f64::from(day));
                store.record_interaction(&draft.validate().unwrap()).await.unwrap();
            }
        }
        let mut ids = Vec::new();
        for n in 0..20 {
            ids.push(store.customer_by_external_id(&format!("p{n}")).await.unwrap().unwrap().id);
        }
        let large = store.interactions_of(&ids, 100, None).await.unwrap();
        let small = store.interactions_of(&ids, 3, None).await.unwrap();
        assert_eq!(large.len(), 20);
        assert_eq!(large, small);
        assert!(large.values().all(|page| page.len() == 3 && page[0].amount == Some(3.0)));
    }
});

/// Collects streamed rows as owned text.
struct Collect(Vec<Vec<String>>);

impl kindred_store::RowSink for Collect {
    fn row(&mut self, cells: &[kindred_store::Cell<'_>]) -> Result<(), String> {
        self.0.push(cells.iter().map(|cell| format!("{cell:?}")).collect());
        Ok(())
    }
}

on_both!(tables_stream_column_by_column, |store: &Store| {
    let store = store.clone();
    async move {
        for (at, amount) in
            [("2025-01-01T10:00:00Z", 10.5), ("2025-01-02T11:30:00.25Z", 20.0), ("2025-01-03", 30.0)]
        {
            store.record_interaction(&purchase("c1", at, amount).validate().unwrap()).await.unwrap();
        }
        let columns = ["customer_id", "occurred_at", "amount", "text"];
        assert!(store.can_stream(), "a SQLite file and PostgreSQL both stream");
        let (first, last) = store.id_bounds("interactions").await.unwrap().unwrap();
        assert_eq!(last - first, 2);
        let all = store.stream_table("interactions", &columns, None, Collect(Vec::new())).await.unwrap().0;
        assert_eq!(all.len(), 3);
        // SQLite holds times as text; PostgreSQL's binary COPY gives microseconds.
        let second = if store.backend() == sea_orm::DbBackend::Postgres {
            format!("Time({})", 1_735_817_400_250_000_i64)
        } else {
            "Text(\"2025-01-02T11:30:00.250+00:00\")".to_owned()
        };
        assert_eq!(all[1][1], second, "{all:?}");
        assert_eq!((all[0][2].as_str(), all[0][3].as_str()), ("Real(10.5)", "Null"));
        let tail = store
            .stream_table("interactions", &columns, Some((first + 1, last)), Collect(Vec::new()))
            .await
            .unwrap()
            .0;
        assert_eq!(tail, all[1..]);
        for (table, columns) in [
            ("interactions; DROP TABLE customers", vec!["id"]),
            ("interactions", vec!["id, 1"]),
            ("interactions", vec![]),
            ("memberships", vec!["id"]),
            ("api_keys", vec!["id"]),
        ] {
            let refused = store.stream_table(table, &columns, None, Collect(Vec::new())).await;
            assert!(refused.is_err(), "{table} {columns:?}");
        }
    }
});
