//! Consent against SQLite and PostgreSQL: what strategies read leaves out customers who
//! refused profiling (their rows and every tie touching them), and what marketing reads (CSV
//! pages, webhook deliveries) leaves out those who refused marketing. Unset consent is no
//! refusal.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use chrono::NaiveDate;
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft};
use kindred_store::{ChangeReason, Member, MembershipDiff, NewSegmentation, Store};
use std::collections::HashMap;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// Creates customers `(external id, consent_profiling, consent_marketing)`; returns their ids.
async fn people(store: &Store, who: &[(&str, Option<bool>, Option<bool>)]) -> HashMap<String, i64> {
    let mut ids = HashMap::new();
    for (external_id, profiling, marketing) in who {
        let draft = CustomerDraft {
            external_id: (*external_id).to_owned(),
            consent_profiling: *profiling,
            consent_marketing: *marketing,
            ..Default::default()
        };
        let (stored, _) = store.upsert_customer(draft.validate(today()).unwrap()).await.unwrap();
        ids.insert((*external_id).to_owned(), stored.id);
    }
    ids
}

/// Row ids streamed from SQLite, as text.
struct Collect(Vec<String>);

impl kindred_store::RowSink for Collect {
    fn row(&mut self, cells: &[kindred_store::Cell<'_>]) -> Result<(), String> {
        self.0.push(cells.iter().map(|cell| format!("{cell:?}")).collect::<Vec<_>>().join(","));
        Ok(())
    }
}

on_both!(strategies_never_read_customers_who_refused_profiling, |store: &Store| {
    let store = store.clone();
    async move {
        let ids =
            people(&store, &[("yes", Some(true), None), ("no", Some(false), None), ("unset", None, None)])
                .await;
        let (yes, no, unset) = (ids["yes"], ids["no"], ids["unset"]);
        for who in ["yes", "no"] {
            let purchase = InteractionDraft {
                customer_external_id: who.into(),
                occurred_at: "2025-01-01T10:00:00Z".into(),
                amount: Some(10.0),
                ..Default::default()
            };
            store.record_interaction(&purchase.validate().unwrap()).await.unwrap();
            let need =
                NeedDraft { customer_external_id: who.into(), tag: "coffee".into(), ..Default::default() };
            store.add_need(&need.validate().unwrap()).await.unwrap();
        }
        for (from, to) in [("yes", "no"), ("no", "unset"), ("yes", "unset")] {
            let tie =
                TieDraft { from_external_id: from.into(), to_external_id: to.into(), ..Default::default() };
            store.add_tie(&tie.validate().unwrap()).await.unwrap();
        }
        let pair = |from: i64, to: i64| (from.min(to), from.max(to));
        assert_eq!(store.count_refused_profiling().await.unwrap(), 1);

        // Whole tables, a page at a time.
        let customers: Vec<i64> =
            store.scan_customers(i64::MIN, 10).await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(customers, [yes, unset]);
        let interactions = store.scan_interactions(i64::MIN, 10).await.unwrap();
        assert_eq!(interactions.iter().map(|i| i.customer_id).collect::<Vec<_>>(), [yes]);
        let needs = store.scan_needs(i64::MIN, 10).await.unwrap();
        assert_eq!(needs.iter().map(|n| n.customer_id).collect::<Vec<_>>(), [yes]);
        let ties = store.scan_ties(i64::MIN, 10).await.unwrap();
        assert_eq!(ties.iter().map(|t| pair(t.from_id, t.to_id)).collect::<Vec<_>>(), [pair(yes, unset)]);

        // A few customers' rows, as the write worker reads them.
        let everyone = [yes, no, unset];
        let among: Vec<i64> =
            store.profiled_customers_among(&everyone).await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(among, [yes, unset]);
        assert!(store.profiled_customers_among(&[no]).await.unwrap().is_empty());
        let interactions = store.all_interactions_of(&everyone).await.unwrap();
        assert_eq!(interactions.iter().map(|i| i.customer_id).collect::<Vec<_>>(), [yes]);
        assert!(store.all_interactions_of(&[no]).await.unwrap().is_empty());
        let needs = store.all_needs_of(&everyone).await.unwrap();
        assert_eq!(needs.iter().map(|n| n.customer_id).collect::<Vec<_>>(), [yes]);
        let ties = store.all_ties_of(&[yes]).await.unwrap();
        assert_eq!(ties.iter().map(|t| pair(t.from_id, t.to_id)).collect::<Vec<_>>(), [pair(yes, unset)]);
        assert!(store.all_ties_of(&[no]).await.unwrap().is_empty());

        // Streamed column by column (a SQLite file, PostgreSQL).
        if store.can_stream() {
            let streamed = |table: &'static str, columns: &'static [&'static str]| {
                let store = store.clone();
                async move { store.stream_table(table, columns, None, Collect(Vec::new())).await.unwrap().0 }
            };
            let int = |id: i64| format!("Integer({id})");
            assert_eq!(streamed("customers", &["id"]).await, [int(yes), int(unset)]);
            assert_eq!(streamed("interactions", &["customer_id"]).await, [int(yes)]);
            assert_eq!(streamed("needs", &["customer_id"]).await, [int(yes)]);
            let stored = &store.scan_ties(i64::MIN, 10).await.unwrap()[0];
            let tie = format!("{},{}", int(stored.from_id), int(stored.to_id));
            assert_eq!(streamed("ties", &["from_id", "to_id"]).await, [tie]);
            let (first, last) = store.id_bounds("customers").await.unwrap().unwrap();
            let ranged = store.stream_table("customers", &["id"], Some((first, last)), Collect(Vec::new()));
            assert_eq!(ranged.await.unwrap().0, [int(yes), int(unset)]);
        }

        // Consent given again: back in every read.
        people(&store, &[("no", Some(true), None)]).await;
        assert_eq!(store.count_refused_profiling().await.unwrap(), 0);
        assert_eq!(store.scan_customers(i64::MIN, 10).await.unwrap().len(), 3);
        assert_eq!(store.all_ties_of(&[no]).await.unwrap().len(), 2);
    }
});

on_both!(marketing_reads_skip_customers_who_refused_marketing, |store: &Store| {
    let store = store.clone();
    async move {
        let ids = people(
            &store,
            &[("m-yes", None, Some(true)), ("m-no", None, Some(false)), ("m-unset", None, None)],
        )
        .await;
        let (yes, no, unset) = (ids["m-yes"], ids["m-no"], ids["m-unset"]);
        let new = NewSegmentation {
            name: "everyone".to_owned(),
            strategy: "behavioral".to_owned(),
            params: serde_json::json!({}),
            mode: kindred_store::SegmentationMode::Dynamic,
            refresh_interval_seconds: None,
        };
        let segmentation = store.create_segmentation(&new).await.unwrap();
        let hook = store.create_webhook(segmentation.id, "http://127.0.0.1:9/hook", "secret").await.unwrap();
        let member = |customer_id: i64, segment: &str| Member {
            customer_id,
            segment: segment.to_owned(),
            score: None,
        };
        let entered = MembershipDiff {
            entered: vec![member(yes, "a"), member(no, "a"), member(unset, "a"), member(no, "b")],
            ..Default::default()
        };
        store
            .apply_membership_diff(segmentation.id, &entered, ChangeReason::Refit, None, None)
            .await
            .unwrap();

        // Webhook deliveries are queued only for those marketing may reach.
        let queued = store.deliveries(hook.id, None, 100).await.unwrap();
        let mut reached: Vec<i64> = queued.iter().map(|d| d.customer_id).collect();
        reached.sort_unstable();
        assert_eq!(reached, [yes.min(unset), yes.max(unset)], "{queued:?}");
        assert!(queued.iter().all(|d| !d.payload.contains("m-no")));
        // Exits too.
        let exited = MembershipDiff { exited: vec![member(no, "b"), member(yes, "a")], ..Default::default() };
        store.apply_membership_diff(segmentation.id, &exited, ChangeReason::Write, None, None).await.unwrap();
        let queued = store.deliveries(hook.id, None, 100).await.unwrap();
        assert_eq!(queued.len(), 3);
        assert_eq!((queued[0].customer_id, queued[0].payload.contains("EXITED")), (yes, true));

        // Pages for marketing leave them out in the query, so paging still fills pages.
        let all = store.membership_page(segmentation.id, None, None, 10).await.unwrap();
        assert_eq!(all.len(), 2, "the plain page keeps m-no: {all:?}");
        let mut marketable = Vec::new();
        let mut after: Option<(i64, String)> = None;
        loop {
            let key = after.as_ref().map(|(id, segment)| (*id, segment.as_str()));
            let page = store.marketable_membership_page(segmentation.id, Some("a"), key, 1).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some((last.customer_id, last.segment.clone()));
            marketable.extend(page.into_iter().map(|row| row.customer_id));
        }
        assert_eq!(marketable, [unset], "m-yes exited, m-no refused");
        let no_longer = store.marketable_membership_page(segmentation.id, None, None, 10).await.unwrap();
        assert!(no_longer.iter().all(|row| row.customer_id != no));
    }
});

on_both!(purchase_totals_leave_out_refusers_and_old_purchases, |store: &Store| {
    let store = store.clone();
    async move {
        people(&store, &[("a", Some(true), None), ("b", None, None), ("no", Some(false), None)]).await;
        let rows = [
            ("a", "2026-10-01T10:00:00Z", "purchase", 10.0),
            ("a", "2026-10-02T10:00:00Z", "purchase", 5.5),
            ("a", "2024-01-01T10:00:00Z", "purchase", 1000.0),
            ("b", "2026-09-01T10:00:00Z", "purchase", 7.0),
            ("b", "2026-11-20T10:00:00Z", "refund", 3.0),
            ("no", "2026-10-01T10:00:00Z", "purchase", 99.0),
        ];
        for (who, at, kind, amount) in rows {
            let draft = InteractionDraft {
                customer_external_id: who.into(),
                occurred_at: at.into(),
                kind: Some(kind.into()),
                amount: Some(amount),
                ..Default::default()
            };
            store.record_interaction(&draft.validate().unwrap()).await.unwrap();
        }
        let since = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut totals = store.purchase_totals_since(since).await.unwrap();
        totals.sort_by(f64::total_cmp);
        assert_eq!(totals, [7.0, 15.5]);
        let latest = store.latest_interaction_at().await.unwrap().unwrap();
        assert_eq!(latest.to_rfc3339(), "2026-11-20T10:00:00+00:00");
    }
});
