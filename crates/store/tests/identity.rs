//! Identity against SQLite and PostgreSQL: records are matched on their identifiers (blocked
//! values, limits and priorities applied), records that bring customers together merge them
//! with evidence in the merge log, absorbed external ids stay aliases, mutual ties stay one
//! row, and consent and erasure follow merges. Unmerges are in `unmerge.rs`.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;
mod identity_support;

use identity_support::*;
use kindred_domain::CustomerDraft;
use kindred_domain::identity::{IdentifierClass, IdentityPolicy, IdentityRules};
use kindred_store::entity::{customer_identifier, tie};
use kindred_store::import::{ERASED_REASON, ImportKind};
use kindred_store::{Store, StoreError};
use sea_orm::{EntityTrait, QueryOrder};
use std::collections::BTreeMap;

on_both!(records_match_on_identifiers_with_blocked_values_and_limits, |store: &Store| {
    let store = store.clone();
    async move {
        let (summary, errors) = run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,first_name\n\
             A1,shop,ana@x.org,Ana\n\
             W1,web,ANA@x.org,Ana B.\n\
             T1,shop,test@example.com,Tess\n\
             T2,web,test@example.com,Theo\n\
             B1,shop,ana@x.org,Bea\n",
        )
        .await;
        assert!(errors.is_empty(), "{errors:?}");
        // The web record carries the shop customer's email: it is that customer. The test
        // address is blocked, so Tess and Theo stay two. Bea shares the family email but is a
        // second shop id: the email (lower priority) is set aside and she is new.
        assert_eq!(count_customers(&store).await, 4);
        assert_eq!(summary.identifiers_set_aside, 3, "two blocked emails, one dropped");
        let ana = store.customer_by_external_id("A1").await.unwrap().unwrap();
        assert_eq!(ana.first_name.as_deref(), Some("Ana B."), "the web record updated her");
        let via_web = store.customer_by_external_id("W1").await.unwrap().unwrap();
        assert_eq!(via_web.id, ana.id, "the web id is an identifier of hers");
        let kinds: Vec<(String, String, String)> = store
            .identifiers(ana.id)
            .await
            .unwrap()
            .into_iter()
            .map(|i| (i.kind, i.value, i.origin))
            .collect();
        assert!(kinds.contains(&("external_id".into(), "W1".into(), "web".into())), "{kinds:?}");
        assert!(kinds.contains(&("email".into(), "ana@x.org".into(), "shop".into())), "{kinds:?}");
        let bea = store.customer_by_external_id("B1").await.unwrap().unwrap();
        assert_ne!(bea.id, ana.id);
        assert!(store.merge_log(None, 10).await.unwrap().is_empty(), "nothing was merged");

        // Interactions under the web id land on her, remembering the id they came under.
        run(&store, ImportKind::Interactions, "customer_external_id,occurred_at,amount\nW1,2026-01-05,12\n")
            .await;
        let data = store.person_data(ana.id).await.unwrap().unwrap();
        assert_eq!(data.interactions.len(), 1);
        assert_eq!(
            data.interactions[0].arrived_under.as_deref(),
            Some("W1"),
            "it remembers the id it came under"
        );
        // So do ties and needs (on PostgreSQL these travel through staging tables).
        run(&store, ImportKind::Ties, "from_external_id,to_external_id,kind\nW1,B1,friend\nB1,A1,follows\n")
            .await;
        run(&store, ImportKind::Needs, "customer_external_id,tag,kind\nW1,coffee,passion\n").await;
        let data = store.person_data(ana.id).await.unwrap().unwrap();
        assert_eq!(data.needs.len(), 1);
        assert_eq!(data.needs[0].arrived_under.as_deref(), Some("W1"));
        let mut ends: Vec<(Option<&str>, Option<&str>)> = data
            .ties
            .iter()
            .map(|t| (t.tie.from_arrived_under.as_deref(), t.tie.to_arrived_under.as_deref()))
            .collect();
        ends.sort();
        // A friendship is mutual, its ends put in order of the customers' own ids (Ana's A1
        // before B1): W1 names its `from` end.
        assert_eq!(ends, [(None, None), (Some("W1"), None)], "only the end named by the alias");

        // With email first in the priority, the shop id is what is set aside: Bea's next
        // record goes to Ana.
        let rules = IdentityRules::new(
            &kindred_domain::identity::DEFAULT_BLOCKED.map(str::to_owned),
            &BTreeMap::new(),
            &[IdentifierClass::Email],
        )
        .unwrap();
        let emails_first = store.clone().with_identity(IdentityPolicy { rules, ..Default::default() });
        let (_, errors) =
            run(&emails_first, ImportKind::Customers, "external_id,origin,email\nB2,shop,ana@x.org\n").await;
        assert!(errors.is_empty());
        assert_eq!(count_customers(&store).await, 4, "no customer B2");
        assert!(store.customer_by_external_id("B2").await.unwrap().is_none(), "B2 was not matched on");
    }
});

on_both!(a_record_that_bridges_two_customers_merges_them_and_aliases_resolve, |store: &Store| {
    let store = store.clone();
    async move {
        run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,phone,city\nS1,shop,sam@x.org,,Porto\nW9,web,,+351912345678,Lisboa\n",
        )
        .await;
        let sam = store.customer_by_external_id("S1").await.unwrap().unwrap();
        let web = store.customer_by_external_id("W9").await.unwrap().unwrap();
        run(
            &store,
            ImportKind::Interactions,
            "customer_external_id,occurred_at,amount\nW9,2026-01-02,5\nS1,2026-01-03,7\n",
        )
        .await;
        // The web shop now sends the phone with the shop's email: one person.
        let (summary, errors) = run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,phone\nW9,web,sam@x.org,+351912345678\n",
        )
        .await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(summary.merged, 1);
        assert_eq!(count_customers(&store).await, 1);
        let log = store.merge_log(None, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        let entry = &log[0];
        assert_eq!(
            (entry.survivor_id, entry.absorbed_id),
            (sam.id, web.id),
            "the customer known longest stays"
        );
        assert_eq!((entry.reason.as_str(), entry.decided_by.as_str()), ("identifier", "import"));
        assert_eq!(entry.absorbed_external_id, "W9");
        let shared = entry.evidence["shared"].as_array().unwrap();
        assert!(shared.iter().any(|s| s["kind"] == "email" && s["value"] == "sam@x.org"), "{shared:?}");
        // Both interactions are Sam's; later imports and lookups of W9 find Sam.
        let data = store.person_data(sam.id).await.unwrap().unwrap();
        assert_eq!(data.interactions.len(), 2);
        assert_eq!(store.customer_by_external_id("W9").await.unwrap().unwrap().id, sam.id);
        let (again, _) = run(
            &store,
            ImportKind::Interactions,
            "customer_external_id,occurred_at,amount\nW9,2026-01-09,3\n",
        )
        .await;
        assert_eq!((again.imported, again.customers_created), (1, 0));
        let data = store.person_data(sam.id).await.unwrap().unwrap();
        assert_eq!(data.interactions.len(), 3);
        assert!(data.interactions.iter().filter(|i| i.arrived_under.as_deref() == Some("W9")).count() == 2);
        // A re-import of the web customer is Sam, not a new customer.
        run(&store, ImportKind::Customers, "external_id,origin,city\nW9,web,Faro\n").await;
        assert_eq!(count_customers(&store).await, 1);
        assert_eq!(store.customer(sam.id).await.unwrap().unwrap().city.as_deref(), Some("Faro"));
    }
});

on_both!(a_mutual_tie_stays_one_row_through_aliases_merges_and_unmerges, |store: &Store| {
    let store = store.clone();
    async move {
        run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email\nm,shop,\na,shop,ana@x.org\nk,shop,\nw,web,ANA@x.org\n",
        )
        .await;
        let ties_now = |store: Store| async move {
            tie::Entity::find()
                .order_by_asc(tie::Column::Id)
                .all(store.connection())
                .await
                .unwrap()
                .into_iter()
                .map(|t| (t.from_id, t.to_id, t.from_arrived_under, t.to_arrived_under))
                .collect::<Vec<_>>()
        };
        let id = |external_id: &'static str| {
            let store = store.clone();
            async move { store.customer_by_external_id(external_id).await.unwrap().unwrap().id }
        };
        let (m, a, k) = (id("m").await, id("a").await, id("k").await);
        assert_eq!(id("w").await, a, "w is one of Ana's ids");
        run(&store, ImportKind::Ties, "from_external_id,to_external_id\na,k\n").await;
        assert_eq!(ties_now(store.clone()).await, [(a, k, None, None)]);
        // The same friendship named through Ana's other id ("k" < "w" puts it the other way).
        run(&store, ImportKind::Ties, "from_external_id,to_external_id,weight\nw,k,0.5\n").await;
        let before = ties_now(store.clone()).await;
        assert_eq!(before, [(a, k, Some("w".to_owned()), None)], "one friendship, one row, in order");
        let weight = tie::Entity::find().one(store.connection()).await.unwrap().unwrap().weight;
        assert_eq!(weight, 0.5, "the newest row stands for it");

        // Ana merged into m: the tie is now m's, from k ("k" < "m"), and a re-import finds it.
        let merges = store.merge_customers(m, &[a], "ed").await.unwrap();
        assert_eq!(ties_now(store.clone()).await, [(k, m, None, Some("w".to_owned()))]);
        run(&store, ImportKind::Ties, "from_external_id,to_external_id\nm,k\n").await;
        assert_eq!(tie::Entity::find().all(store.connection()).await.unwrap().len(), 1);
        store.unmerge(merges[0].entry.id, "admin").await.unwrap();
        assert_eq!(ties_now(store.clone()).await, before, "as it was");
    }
});

on_both!(social_handles_match_per_network_and_sightings_are_dated, |store: &Store| {
    let store = store.clone();
    async move {
        // Each system's ids in an origin of its own (one external id per origin may join).
        let handle = |id: &str, network: &str, value: &str| CustomerDraft {
            social_handles: [(network.to_owned(), value.to_owned())].into_iter().collect(),
            origin: id.split('-').next().map(str::to_owned),
            ..person(id, None)
        };
        let ana = upsert(&store, handle("shop-ana", "twitter", "@Ana_Lima")).await;
        // The same handle on another network is someone else; on the same network, Ana.
        let other = upsert(&store, handle("web-1", "instagram", "ana_lima")).await;
        assert_ne!(other, ana);
        let first = store.identifiers(ana).await.unwrap();
        let seen = |rows: &[customer_identifier::Model], kind: &str| {
            rows.iter()
                .find(|row| row.kind == kind)
                .map(|row| (row.value.clone(), row.first_seen, row.last_seen))
                .unwrap()
        };
        let (value, first_seen, last_seen) = seen(&first, "social:twitter");
        assert_eq!(value, "ana_lima", "lowercased, without the @");
        assert!(first_seen <= last_seen);
        // SQLite dates a sighting to the second: the next one needs the clock to have moved.
        while chrono::Utc::now() < last_seen + chrono::Duration::milliseconds(1_050) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(upsert(&store, handle("web-2", "Twitter", "ana_lima")).await, ana);
        let again = store.identifiers(ana).await.unwrap();
        let (_, first_again, last_again) = seen(&again, "social:twitter");
        assert_eq!(first_again, first_seen, "first seen stays");
        assert!(last_again > last_seen, "last seen moves: {last_seen} -> {last_again}");
        assert!(again.iter().any(|row| row.kind == "external_id" && row.value == "web-2"));
    }
});

on_both!(an_erasure_names_only_the_erased_and_leaves_no_alias_in_other_merges, |store: &Store| {
    let store = store.clone();
    async move {
        let a = upsert(&store, person("a", None)).await;
        let w = upsert(&store, person("w", None)).await;
        let b = upsert(&store, person("b", None)).await;
        let x = upsert(&store, person("x", None)).await;
        let y = upsert(&store, person("y", None)).await;
        // A merge with b, undone: b is innocent of what follows.
        let undone = store.merge_customers(a, &[b], "ed").await.unwrap();
        store.unmerge(undone[0].entry.id, "admin").await.unwrap();
        // w is a's alias; y's tie to a arrived under it, and goes into the snapshot of y's
        // merge into x (x has that tie already).
        store.merge_customers(a, &[w], "ed").await.unwrap();
        store.add_tie(&tie("x", "a", "friend")).await.unwrap();
        store.add_tie(&tie("y", "w", "friend")).await.unwrap();
        let other = store.merge_customers(x, &[y], "ed").await.unwrap();
        let mentions = |entry: &kindred_store::entity::merge_log::Model| {
            entry.snapshot.as_ref().is_some_and(|snapshot| snapshot.to_string().contains("\"w\""))
        };
        assert!(mentions(&other[0].entry), "the removed tie arrived under w");

        store.erase_customer(a).await.unwrap().unwrap();
        let log = store.merge_log(None, 10).await.unwrap();
        let by_id = |id: i64| log.iter().find(|entry| entry.id == id).unwrap();
        assert_eq!(by_id(undone[0].entry.id).absorbed_external_id, "b", "b was not erased");
        assert!(by_id(undone[0].entry.id).snapshot.is_none(), "what it held of a is gone");
        assert!(!mentions(by_id(other[0].entry.id)), "no alias of a in x's merge");
        assert!(by_id(other[0].entry.id).snapshot.is_some(), "x's merge can still be undone");
        store.unmerge(other[0].entry.id, "admin").await.unwrap();
        assert_eq!(store.customer(y).await.unwrap().unwrap().external_id, "y");
    }
});

on_both!(consent_and_erasure_follow_merges, |store: &Store| {
    let store = store.clone();
    async move {
        let consent = |id: &str, marketing: Option<bool>| CustomerDraft {
            consent_marketing: marketing,
            consent_profiling: Some(true),
            ..person(id, None)
        };
        let a = upsert(&store, consent("a", Some(true))).await;
        let b = upsert(&store, consent("b", Some(false))).await;
        let c = upsert(&store, consent("c", Some(true))).await;
        let d = upsert(&store, consent("d", None)).await;
        store.merge_customers(a, &[b], "ed").await.unwrap();
        let merged = store.customer(a).await.unwrap().unwrap();
        assert_eq!(
            (merged.consent_marketing, merged.consent_profiling),
            (Some(false), Some(true)),
            "one refused"
        );
        store.merge_customers(c, &[d], "ed").await.unwrap();
        assert_eq!(store.customer(c).await.unwrap().unwrap().consent_marketing, None, "one was not asked");

        // Merge of merges: c (with d) into a (with b). Erasing a erases all four.
        let nested = store.merge_customers(a, &[c], "ed").await.unwrap();
        let dry = store.erase_customer_with(a, true).await.unwrap().unwrap();
        assert!(dry.dry_run);
        let mut ids: Vec<&str> = dry.identities.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(dry.merges.len(), 3);
        assert!(store.customer(a).await.unwrap().is_some(), "a dry run erases nothing");
        assert!(!store.is_erased("b").await.unwrap());

        let receipt = store.erase_customer(a).await.unwrap().unwrap();
        assert_eq!(receipt.identities.len(), 4);
        for id in ["a", "b", "c", "d"] {
            assert!(store.is_erased(id).await.unwrap(), "{id} has a tombstone");
        }
        let (_, errors) = run(&store, ImportKind::Customers, "external_id\nd\n").await;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].reason, ERASED_REASON);
        let log = store.merge_log(None, 10).await.unwrap();
        assert!(
            log.iter().all(|entry| entry.snapshot.is_none() && entry.absorbed_external_id == "(erased)"),
            "{log:?}"
        );
        let refused = store.unmerge(nested[0].entry.id, "admin").await.unwrap_err();
        assert!(matches!(refused, StoreError::Conflict(ref m) if m.contains("erased")), "{refused}");
    }
});

#[tokio::test]
async fn the_migration_copies_existing_identifiers_once_each() {
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::MigratorTrait;
    let folder = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/kindred.db", folder.path().display())).await.unwrap();
    // The schema as it was before identities, with customers sharing an email.
    kindred_migrations::Migrator::up(store.connection(), Some(10)).await.unwrap();
    store
        .connection()
        .execute_unprepared(
            "INSERT INTO customers (external_id, email, phone) VALUES \
             ('a', 'family@x.org', '+351912345678'), ('b', 'family@x.org', NULL), ('c', NULL, '+351912345678')",
        )
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let a = store.customer_by_external_id("a").await.unwrap().unwrap();
    let kinds: Vec<String> = store.identifiers(a.id).await.unwrap().into_iter().map(|i| i.kind).collect();
    assert_eq!(kinds.len(), 3, "a keeps its external id, the email and the phone: {kinds:?}");
    let b = store.customer_by_external_id("b").await.unwrap().unwrap();
    assert_eq!(store.identifiers(b.id).await.unwrap().len(), 1, "only its external id");
}

on_both!(data_quality_counts_what_is_missing_or_quiet, |store: &Store| {
    let store = store.clone();
    async move {
        upsert(&store, CustomerDraft { consent_marketing: Some(true), ..person("q1", Some("q1@x.org")) })
            .await;
        upsert(&store, person("q2", None)).await;
        store.record_interaction(&interaction("q1", 1)).await.unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap().to_utc();
        let figures = store.data_quality(now).await.unwrap();
        assert_eq!(figures.customers, 2);
        assert_eq!(figures.known.iter().find(|(field, _)| *field == "email").unwrap().1, 1);
        assert_eq!(figures.marketing_consent_not_asked, 1);
        assert_eq!(figures.inactive_365_days, 1, "q2 never did anything");
        assert_eq!(
            (figures.born_in_the_future, figures.older_than_120, figures.suggestions_pending),
            (0, 0, 0)
        );
    }
});
