//! Unmerges against SQLite and PostgreSQL: every row as before the merge, and what arrived
//! since (interactions, ties, needs, identifiers, profile writes) given back by the external id
//! it arrived under, through merges of merges and records in the same file as the merge.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;
mod identity_support;

use identity_support::*;
use kindred_domain::CustomerDraft;
use kindred_store::entity::{alias_write, membership_event};
use kindred_store::import::ImportKind;
use kindred_store::{ChangeReason, Member, MembershipDiff, Store};
use sea_orm::EntityTrait;
use serde_json::Value as Json;

on_both!(an_unmerge_restores_every_row_exactly, |store: &Store| {
    let store = store.clone();
    async move {
        let ana = upsert(
            &store,
            CustomerDraft {
                first_name: Some("Ana".into()),
                city: Some("Porto".into()),
                ..person("ana", Some("ana@x.org"))
            },
        )
        .await;
        let bo = upsert(
            &store,
            CustomerDraft {
                first_name: Some("Bo".into()),
                occupation: Some("nurse".into()),
                ..person("bo", Some("bo@x.org"))
            },
        )
        .await;
        upsert(&store, person("cy", None)).await;
        for day in 1..=3 {
            store.record_interaction(&interaction("ana", day)).await.unwrap();
            store.record_interaction(&interaction("bo", day + 10)).await.unwrap();
        }
        // The same purchase reached both systems: one interaction after the merge.
        store.record_interaction(&interaction("bo", 2)).await.unwrap();
        store.add_tie(&tie("ana", "bo", "friend")).await.unwrap();
        store.add_tie(&tie("ana", "cy", "friend")).await.unwrap();
        store.add_tie(&tie("bo", "cy", "friend")).await.unwrap();
        store.add_tie(&tie("cy", "bo", "colleague")).await.unwrap();
        store.add_need(&need("ana", "running")).await.unwrap();
        store.add_need(&need("bo", "running")).await.unwrap();
        store.add_need(&need("bo", "cooking")).await.unwrap();
        // Both have a history of segments.
        let segmentation = store
            .create_segmentation(&kindred_store::NewSegmentation {
                name: "tiers".to_owned(),
                strategy: "behavioral".to_owned(),
                params: serde_json::json!({}),
                mode: kindred_store::SegmentationMode::Dynamic,
                refresh_interval_seconds: None,
            })
            .await
            .unwrap()
            .id;
        let member =
            |customer_id, segment: &str| Member { customer_id, segment: segment.to_owned(), score: None };
        let entered =
            MembershipDiff { entered: vec![member(ana, "gold"), member(bo, "silver")], ..Default::default() };
        store.apply_membership_diff(segmentation, &entered, ChangeReason::Write, None, None).await.unwrap();
        let moved = MembershipDiff {
            entered: vec![member(bo, "gold")],
            exited: vec![member(bo, "silver")],
            ..Default::default()
        };
        store.apply_membership_diff(segmentation, &moved, ChangeReason::Write, None, None).await.unwrap();
        // Memberships now are the strategy's to re-assign after an unmerge; their history is
        // compared below.
        let before = rows(&store).await;

        let merges = store.merge_customers(ana, &[bo], "editor-key").await.unwrap();
        assert_eq!(merges.len(), 1);
        assert!(store.customer(bo).await.unwrap().is_none());
        let merged = store.customer(ana).await.unwrap().unwrap();
        assert_eq!(merged.occupation.as_deref(), Some("nurse"), "a field only Bo knew survives");
        let data = store.person_data(ana).await.unwrap().unwrap();
        assert_eq!(data.interactions.len(), 6, "the shared purchase once");
        assert_eq!(data.needs.len(), 2, "running once, cooking");
        let ends: Vec<(i64, i64, String)> =
            data.ties.iter().map(|t| (t.tie.from_id, t.tie.to_id, t.tie.kind.clone())).collect();
        assert_eq!(
            ends.len(),
            2,
            "the tie between them is gone, the duplicate friend tie to cy too: {ends:?}"
        );
        assert_eq!(store.merge_history(ana).await.unwrap().len(), 1);
        let history = membership_event::Entity::find().all(store.connection()).await.unwrap();
        assert!(history.iter().all(|event| event.customer_id == ana), "Bo's history is the merged person's");

        // Something arrives under Bo's id after the merge, and something under Ana's.
        store.record_interaction(&interaction("bo", 25)).await.unwrap();
        store.record_interaction(&interaction("ana", 26)).await.unwrap();
        let unmerged = store.unmerge(merges[0].entry.id, "admin-key").await.unwrap();
        assert_eq!(unmerged.restored.id, bo);
        assert!(store.unmerge(merges[0].entry.id, "admin-key").await.is_err(), "undone once only");

        let mut after = rows(&store).await;
        let late: Vec<Json> = after["interactions"]
            .iter()
            .filter(|i| i["amount"] == 25.0 || i["amount"] == 26.0)
            .cloned()
            .collect();
        after.get_mut("interactions").unwrap().retain(|i| i["amount"] != 25.0 && i["amount"] != 26.0);
        assert_eq!(after, before, "every row as before the merge");
        assert_eq!(late.len(), 2);
        for row in late {
            let owner = if row["amount"] == 25.0 { bo } else { ana };
            assert_eq!(row["customer_id"], owner, "routed by the id it arrived under: {row}");
            assert_eq!(row["arrived_under"], Json::Null);
        }
        let history = store.merge_history(bo).await.unwrap();
        assert_eq!(history[0].unmerged_by.as_deref(), Some("admin-key"));
    }
});

on_both!(what_arrives_under_an_absorbed_id_after_a_merge_goes_back_with_it, |store: &Store| {
    let store = store.clone();
    async move {
        let ana = upsert(
            &store,
            CustomerDraft {
                city: Some("Porto".into()),
                consent_marketing: Some(true),
                ..person("ana", Some("ana@x.org"))
            },
        )
        .await;
        let bo = upsert(
            &store,
            CustomerDraft {
                first_name: Some("Bo".into()),
                consent_marketing: Some(true),
                ..person("bo", Some("bo@x.org"))
            },
        )
        .await;
        let merges = store.merge_customers(ana, &[bo], "ed").await.unwrap();
        // Under Bo's id: a new first name, a new email, a refusal. Under Ana's: a new city.
        upsert(
            &store,
            CustomerDraft {
                first_name: Some("Bob".into()),
                consent_marketing: Some(false),
                ..person("bo", Some("bob@new.org"))
            },
        )
        .await;
        upsert(&store, CustomerDraft { city: Some("Lisboa".into()), ..person("ana", None) }).await;
        let merged = store.customer(ana).await.unwrap().unwrap();
        assert_eq!(
            (
                merged.first_name.as_deref(),
                merged.email.as_deref(),
                merged.consent_marketing,
                merged.city.as_deref()
            ),
            (Some("Bob"), Some("bob@new.org"), Some(false), Some("Lisboa"))
        );

        // A file with two rows under Bo's id: written in turn, each kept.
        run(&store, ImportKind::Customers, "external_id,first_name,city\nbo,Bobby,\nbo,,Braga\n").await;
        assert_eq!(alias_write::Entity::find().all(store.connection()).await.unwrap().len(), 3);

        store.unmerge(merges[0].entry.id, "admin").await.unwrap();
        let bo_now = store.customer(bo).await.unwrap().unwrap();
        assert_eq!(
            (
                bo_now.first_name.as_deref(),
                bo_now.email.as_deref(),
                bo_now.consent_marketing,
                bo_now.city.as_deref()
            ),
            (Some("Bobby"), Some("bob@new.org"), Some(false), Some("Braga")),
            "what came under Bo's id is Bo's"
        );
        let ana_now = store.customer(ana).await.unwrap().unwrap();
        assert_eq!(
            (
                ana_now.first_name.as_deref(),
                ana_now.email.as_deref(),
                ana_now.consent_marketing,
                ana_now.city.as_deref()
            ),
            (None, Some("ana@x.org"), Some(true), Some("Lisboa")),
            "Ana as before, with what came under her own id"
        );
        let emails = |id: i64| {
            let store = store.clone();
            async move {
                store
                    .identifiers(id)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|i| i.kind == "email")
                    .map(|i| i.value)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(emails(ana).await, ["ana@x.org"]);
        assert_eq!(emails(bo).await, ["bo@x.org", "bob@new.org"]);
        let kept = alias_write::Entity::find().all(store.connection()).await.unwrap();
        assert!(kept.is_empty(), "nothing is kept once no merge is left to undo: {kept:?}");
    }
});

on_both!(writes_under_an_alias_follow_merges_of_merges_back, |store: &Store| {
    let store = store.clone();
    async move {
        let a = upsert(&store, person("a", None)).await;
        let b = upsert(&store, CustomerDraft { city: Some("Braga".into()), ..person("b", None) }).await;
        let c = upsert(&store, person("c", None)).await;
        let first = store.merge_customers(b, &[c], "ed").await.unwrap();
        // c's id reaches b: the write is c's, kept on b.
        upsert(&store, CustomerDraft { occupation: Some("cook".into()), ..person("c", Some("c@x.org")) })
            .await;
        let second = store.merge_customers(a, &[b], "ed").await.unwrap();
        // c's id now reaches a; the write is c's.
        upsert(&store, CustomerDraft { city: Some("Coimbra".into()), ..person("c", None) }).await;
        let merged = store.customer(a).await.unwrap().unwrap();
        assert_eq!((merged.city.as_deref(), merged.occupation.as_deref()), (Some("Coimbra"), Some("cook")));
        store.unmerge(second[0].entry.id, "admin").await.unwrap();
        let a_now = store.customer(a).await.unwrap().unwrap();
        assert_eq!(
            (a_now.city, a_now.occupation, a_now.email),
            (None, None, None),
            "a never lived anywhere, cooked or had c's email"
        );
        let b_now = store.customer(b).await.unwrap().unwrap();
        assert_eq!(
            (b_now.city.as_deref(), b_now.occupation.as_deref()),
            (Some("Coimbra"), Some("cook")),
            "b is still one with c, and has what came under c's id"
        );
        store.unmerge(first[0].entry.id, "admin").await.unwrap();
        let b_now = store.customer(b).await.unwrap().unwrap();
        assert_eq!(
            (b_now.city.as_deref(), b_now.occupation, b_now.email),
            (Some("Braga"), None, None),
            "b as it was"
        );
        let c_now = store.customer(c).await.unwrap().unwrap();
        assert_eq!(
            (c_now.city.as_deref(), c_now.email.as_deref(), c_now.occupation.as_deref()),
            (Some("Coimbra"), Some("c@x.org"), Some("cook"))
        );
        assert_eq!(store.identifiers(c).await.unwrap().iter().filter(|i| i.kind == "email").count(), 1);
        assert!(alias_write::Entity::find().all(store.connection()).await.unwrap().is_empty());
    }
});

on_both!(a_write_that_stays_on_the_survivor_forgets_what_an_unmerge_gave_away, |store: &Store| {
    let store = store.clone();
    async move {
        let a = upsert(&store, person("a", Some("a@x.org"))).await;
        let b = upsert(&store, person("b", None)).await;
        let d = upsert(&store, person("d", None)).await;
        let with_b = store.merge_customers(a, &[b], "ed").await.unwrap();
        let with_d = store.merge_customers(a, &[d], "ed").await.unwrap();
        upsert(&store, person("b", Some("b@x.org"))).await;
        upsert(&store, person("d", Some("d@x.org"))).await;
        store.unmerge(with_b[0].entry.id, "admin").await.unwrap();
        assert_eq!(store.customer(a).await.unwrap().unwrap().email.as_deref(), Some("d@x.org"));
        store.unmerge(with_d[0].entry.id, "admin").await.unwrap();
        assert_eq!(
            store.customer(a).await.unwrap().unwrap().email.as_deref(),
            Some("a@x.org"),
            "a's own email, not b's, which went back with b"
        );
        assert_eq!(store.customer(b).await.unwrap().unwrap().email.as_deref(), Some("b@x.org"));
        assert_eq!(store.customer(d).await.unwrap().unwrap().email.as_deref(), Some("d@x.org"));
    }
});

on_both!(a_record_after_the_merge_in_the_same_file_goes_back_with_its_customer, |store: &Store| {
    let store = store.clone();
    async move {
        run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,phone\nS1,shop,sam@x.org,\nW9,web,,+351912345678\n",
        )
        .await;
        let sam_before = store.customer_by_external_id("S1").await.unwrap().unwrap();
        // One file: the web record that brings the shop's email (a merge), then another web
        // record for the same person.
        let (summary, errors) = run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,first_name,occupation\nW9,web,sam@x.org,,\nW9,web,,Will,nurse\n",
        )
        .await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(summary.merged, 1);
        let merged = store.customer_by_external_id("S1").await.unwrap().unwrap();
        assert_eq!(
            (merged.first_name.as_deref(), merged.occupation.as_deref()),
            (Some("Will"), Some("nurse"))
        );
        let entry = store.merge_log(None, 10).await.unwrap().pop().unwrap();
        let unmerged = store.unmerge(entry.id, "admin").await.unwrap();
        assert_eq!(
            (unmerged.restored.first_name.as_deref(), unmerged.restored.occupation.as_deref()),
            (Some("Will"), Some("nurse")),
            "the web customer's record is the web customer's"
        );
        let sam = store.customer_by_external_id("S1").await.unwrap().unwrap();
        assert_eq!((sam.first_name, sam.occupation), (sam_before.first_name, sam_before.occupation));
    }
});

on_both!(an_unmerge_waits_for_the_merge_that_absorbed_its_survivor, |store: &Store| {
    let store = store.clone();
    async move {
        let a = upsert(&store, person("a", None)).await;
        let b = upsert(&store, person("b", None)).await;
        let c = upsert(&store, person("c", None)).await;
        let first = store.merge_customers(b, &[c], "ed").await.unwrap();
        let second = store.merge_customers(a, &[b], "ed").await.unwrap();
        let refused = store.unmerge(first[0].entry.id, "admin").await.unwrap_err();
        assert!(refused.to_string().contains(&format!("undo merge {}", second[0].entry.id)), "{refused}");
        store.unmerge(second[0].entry.id, "admin").await.unwrap();
        store.unmerge(first[0].entry.id, "admin").await.unwrap();
        assert_eq!(count_customers(&store).await, 3);
        assert_eq!(store.customer_by_external_id("c").await.unwrap().unwrap().id, c);

        // The database itself keeps the log append-only.
        use sea_orm::ConnectionTrait;
        let conn = store.connection();
        let deleted = conn.execute_unprepared("DELETE FROM merge_log").await.unwrap_err();
        assert!(deleted.to_string().contains("append-only"), "{deleted}");
        let rewritten = conn.execute_unprepared("UPDATE merge_log SET survivor_id = survivor_id + 1").await;
        assert!(rewritten.unwrap_err().to_string().contains("append-only"));
        let undone_again = conn.execute_unprepared("UPDATE merge_log SET unmerged_at = NULL").await;
        assert!(undone_again.unwrap_err().to_string().contains("append-only"));
        assert_eq!(store.merge_log(None, 10).await.unwrap().len(), 2);
    }
});

on_both!(a_bridging_record_is_given_back_to_its_own_customer_by_an_unmerge, |store: &Store| {
    let store = store.clone();
    async move {
        run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,city,consent_marketing\nS1,shop,sam@x.org,Porto,true\n",
        )
        .await;
        run(
            &store,
            ImportKind::Customers,
            "external_id,origin,phone,consent_marketing\nW9,web,+351912345678,true\n",
        )
        .await;
        let sam_before = store.customer_by_external_id("S1").await.unwrap().unwrap();
        // The web record brings the shop's email and a new first name: one person.
        let (summary, _) = run(
            &store,
            ImportKind::Customers,
            "external_id,origin,email,first_name\nW9,web,sam@x.org,Samuel\n",
        )
        .await;
        assert_eq!(summary.merged, 1);
        let merged = store.customer_by_external_id("S1").await.unwrap().unwrap();
        assert_eq!(merged.first_name.as_deref(), Some("Samuel"), "the newest value survives");
        // Sam refuses marketing after the merge, under the web id.
        let refusal = CustomerDraft {
            consent_marketing: Some(false),
            origin: Some("web".into()),
            ..person("W9", None)
        };
        store.upsert_customer(refusal.validate(today()).unwrap()).await.unwrap();
        let entry = store.merge_log(None, 10).await.unwrap().pop().unwrap();
        let unmerged = store.unmerge(entry.id, "admin").await.unwrap();
        assert_eq!(unmerged.restored.external_id, "W9");
        assert_eq!(
            unmerged.restored.first_name.as_deref(),
            Some("Samuel"),
            "the web record's data is the web customer's"
        );
        assert_eq!(
            unmerged.restored.consent_marketing,
            Some(false),
            "the refusal came under the web id: the web customer's"
        );
        let sam = store.customer_by_external_id("S1").await.unwrap().unwrap();
        assert_eq!(sam.first_name, sam_before.first_name, "Sam as before the web record");
        assert_eq!(sam.consent_marketing, Some(true), "Sam never refused");
    }
});
