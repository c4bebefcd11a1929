//! What the identity and unmerge tests share: short ways to write customers, interactions,
//! ties and needs, and every row of the tables a merge touches.
#![allow(dead_code)] // each test file uses its own share of these

use chrono::NaiveDate;
use kindred_domain::{CustomerDraft, InteractionDraft, NeedDraft, TieDraft};
use kindred_store::Store;
use kindred_store::entity::{customer, customer_identifier, interaction, membership_event, need, tie};
use kindred_store::import::{Format, ImportKind, ImportOptions, ImportSummary, RowError, import_with};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::Value as Json;
use std::collections::BTreeMap;

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

pub async fn run(store: &Store, kind: ImportKind, text: &str) -> (ImportSummary, Vec<RowError>) {
    let mut errors = Vec::new();
    let input = std::io::Cursor::new(text.to_owned().into_bytes());
    let summary =
        import_with(store, kind, Format::Csv, input, ImportOptions::default(), |e| errors.push(e.clone()))
            .await
            .unwrap();
    (summary, errors)
}

pub async fn upsert(store: &Store, draft: CustomerDraft) -> i64 {
    store.upsert_customer(draft.validate(today()).unwrap()).await.unwrap().0.id
}

pub fn person(external_id: &str, email: Option<&str>) -> CustomerDraft {
    CustomerDraft {
        external_id: external_id.to_owned(),
        email: email.map(str::to_owned),
        ..Default::default()
    }
}

pub fn interaction(external_id: &str, day: u32) -> kindred_domain::Interaction {
    InteractionDraft {
        customer_external_id: external_id.to_owned(),
        occurred_at: format!("2026-01-{day:02}"),
        amount: Some(f64::from(day)),
        currency: Some("EUR".to_owned()),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

pub fn tie(from: &str, to: &str, kind: &str) -> kindred_domain::Tie {
    TieDraft {
        from_external_id: from.to_owned(),
        to_external_id: to.to_owned(),
        kind: Some(kind.to_owned()),
        weight: Some(0.5),
        mutual: Some(false),
    }
    .validate()
    .unwrap()
}

pub fn need(external_id: &str, tag: &str) -> kindred_domain::Need {
    NeedDraft { customer_external_id: external_id.to_owned(), tag: tag.to_owned(), ..Default::default() }
        .validate()
        .unwrap()
}

/// Every row of `E`, as JSON, in id order.
pub async fn dump<E>(store: &Store, id: E::Column) -> Vec<Json>
where
    E: EntityTrait,
    E::Model: serde::Serialize,
{
    E::find()
        .order_by_asc(id)
        .all(store.connection())
        .await
        .unwrap()
        .iter()
        .map(|row| serde_json::to_value(row).unwrap())
        .collect()
}

/// Every row of the tables a merge touches, as JSON, in id order.
pub async fn rows(store: &Store) -> BTreeMap<&'static str, Vec<Json>> {
    let history = membership_event::Entity::find()
        .order_by_asc(membership_event::Column::Id)
        .all(store.connection())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!([
                r.id,
                r.segmentation_id,
                r.customer_id,
                r.segment,
                r.change,
                r.score,
                r.reason.as_str(),
                r.job_id,
                r.at
            ])
        })
        .collect();
    BTreeMap::from([
        ("customers", dump::<customer::Entity>(store, customer::Column::Id).await),
        ("interactions", dump::<interaction::Entity>(store, interaction::Column::Id).await),
        ("ties", dump::<tie::Entity>(store, tie::Column::Id).await),
        ("needs", dump::<need::Entity>(store, need::Column::Id).await),
        ("identifiers", dump::<customer_identifier::Entity>(store, customer_identifier::Column::Id).await),
        ("membership_events", history),
    ])
}

pub async fn count_customers(store: &Store) -> u64 {
    store.count_customers().await.unwrap()
}
