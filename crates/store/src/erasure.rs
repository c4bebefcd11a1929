//! Erasing a customer: everything held about them goes in one transaction, and a tombstone
//! holding only the SHA-256 of their external id keeps an old import file, replayed later,
//! from re-creating them.

use crate::connect::Store;
use crate::entity::{
    customer, erased_customer, interaction, membership, membership_event, merge_log, need, segmentation, tie,
    webhook_delivery,
};
use crate::error::StoreResult;
use crate::sql::{MAX_PARAMETERS, marks, statement};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// What an erasure removed: counts and ids only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureReceipt {
    /// The tombstone's id in `erased_customers`.
    pub erasure_id: i64,
    /// The Kindred id the customer had.
    pub customer_id: i64,
    /// When the erasure was committed.
    pub erased_at: DateTime<Utc>,
    /// Interactions removed.
    pub interactions: u64,
    /// Ties removed (at either end).
    pub ties: u64,
    /// Needs removed (declared and inferred).
    pub needs: u64,
    /// Current memberships removed.
    pub memberships: u64,
    /// Membership history events removed.
    pub history_events: u64,
    /// Webhook events not yet sent (pending, or given up) dropped from the outbox.
    pub webhook_events: u64,
    /// Records of webhook events already sent, removed from the outbox.
    pub sent_webhook_events: u64,
    /// Mentions of the external id removed from segmentation models (a community's
    /// influencers).
    pub model_mentions: u64,
    /// The customers at the other end of the removed ties, whose segments may change.
    pub neighbours: Vec<i64>,
    /// Every identity erased, as external id and origin: the customer's own first, then
    /// those merged into it; each left a tombstone.
    pub identities: Vec<(String, String)>,
    /// The merges (still in force) that brought the other identities in.
    pub merges: Vec<i64>,
    /// Merge log entries emptied of what they held about these identities.
    pub merges_scrubbed: u64,
    /// Nothing was erased: the transaction was rolled back, the counts are what an erasure
    /// would remove now.
    pub dry_run: bool,
}

/// The external ids (with origins) `id` is known by, its own first, and the merges (still
/// in force) that brought the others in, following merges of merges.
async fn identities_of<C: ConnectionTrait>(
    conn: &C,
    customer: &customer::Model,
) -> StoreResult<(Vec<(String, String)>, Vec<i64>)> {
    let rows = crate::entity::customer_identifier::Entity::find()
        .filter(crate::entity::customer_identifier::Column::CustomerId.eq(customer.id))
        .filter(crate::entity::customer_identifier::Column::Kind.eq("external_id"))
        .all(conn)
        .await?;
    let mut identities = vec![(
        customer.external_id.clone(),
        rows.iter()
            .find(|row| row.value == customer.external_id)
            .map_or_else(|| crate::identifiers::DEFAULT_ORIGIN.to_owned(), |row| row.origin.clone()),
    )];
    identities.extend(
        rows.into_iter().filter(|row| row.value != customer.external_id).map(|row| (row.value, row.origin)),
    );
    let mut merges: Vec<i64> = Vec::new();
    let mut survivors = vec![customer.id];
    while let Some(survivor) = survivors.pop() {
        for entry in merge_log::Entity::find()
            .filter(merge_log::Column::SurvivorId.eq(survivor))
            .filter(merge_log::Column::UnmergedAt.is_null())
            .all(conn)
            .await?
        {
            if !merges.contains(&entry.id) {
                merges.push(entry.id);
                survivors.push(entry.absorbed_id);
            }
        }
    }
    merges.sort_unstable();
    Ok((identities, merges))
}

/// The tombstone key of an external id: lower-case hex SHA-256 of the trimmed id.
pub fn external_id_hash(external_id: &str) -> String {
    format!("{:x}", Sha256::digest(external_id.trim().as_bytes()))
}

/// Which of these external ids belong to erased customers (one statement per 30,000 ids).
pub(crate) async fn erased_among<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[&str],
) -> StoreResult<HashSet<String>> {
    let mut found = HashSet::new();
    let mut hashed: Vec<(String, &str)> = external_ids.iter().map(|id| (external_id_hash(id), *id)).collect();
    hashed.sort_unstable();
    hashed.dedup();
    for chunk in hashed.chunks(MAX_PARAMETERS) {
        let sql = format!(
            "SELECT external_id_hash FROM erased_customers WHERE external_id_hash IN ({})",
            marks(chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|(hash, _)| hash.clone().into()).collect();
        let rows = conn.query_all_raw(statement(conn.get_database_backend(), &sql, values)).await?;
        let erased: HashSet<String> =
            rows.iter().map(|row| row.try_get_by_index::<String>(0)).collect::<Result<_, _>>()?;
        found.extend(chunk.iter().filter(|(hash, _)| erased.contains(hash)).map(|(_, id)| (*id).to_owned()));
    }
    Ok(found)
}

/// Removes the tombstones of these external ids (they are being re-created on purpose).
/// Returns how many there were.
pub(crate) async fn forget_erased<C: ConnectionTrait>(conn: &C, external_ids: &[&str]) -> StoreResult<u64> {
    let mut hashes: Vec<String> = external_ids.iter().map(|id| external_id_hash(id)).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let mut removed = 0;
    for chunk in hashes.chunks(MAX_PARAMETERS) {
        removed += erased_customer::Entity::delete_many()
            .filter(erased_customer::Column::ExternalIdHash.is_in(chunk.iter().cloned()))
            .exec(conn)
            .await?
            .rows_affected;
    }
    Ok(removed)
}

/// Removes from a JSON model every array item that is `external_id` (or an object whose
/// `external_id` is), and blanks every other value equal to it. Returns how many it removed.
fn scrub(value: &mut serde_json::Value, external_id: &str) -> u64 {
    use serde_json::Value as Json;
    let names = |item: &Json| {
        item.as_str() == Some(external_id)
            || item.get("external_id").and_then(Json::as_str) == Some(external_id)
    };
    match value {
        Json::Array(items) => {
            let before = items.len();
            items.retain(|item| !names(item));
            let removed = (before - items.len()) as u64;
            removed + items.iter_mut().map(|item| scrub(item, external_id)).sum::<u64>()
        }
        Json::Object(fields) => fields
            .values_mut()
            .map(|field| {
                if field.as_str() == Some(external_id) {
                    *field = Json::Null;
                    1
                } else {
                    scrub(field, external_id)
                }
            })
            .sum(),
        _ => 0,
    }
}

/// Removes `external_id` from every merge log snapshot that mentions it.
async fn scrub_snapshots<C: ConnectionTrait>(conn: &C, external_id: &str) -> StoreResult<()> {
    let quoted = serde_json::Value::String(external_id.to_owned()).to_string();
    let pattern = format!("%{}%", quoted.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let sql =
        "SELECT id FROM merge_log WHERE snapshot IS NOT NULL AND CAST(snapshot AS TEXT) LIKE ? ESCAPE '\\'";
    let rows = conn.query_all_raw(statement(conn.get_database_backend(), sql, vec![pattern.into()])).await?;
    for row in rows {
        let id: i64 = row.try_get_by_index(0)?;
        let Some(entry) = merge_log::Entity::find_by_id(id).one(conn).await? else { continue };
        let Some(mut snapshot) = entry.snapshot else { continue };
        if scrub(&mut snapshot, external_id) > 0 {
            merge_log::Entity::update_many()
                .col_expr(merge_log::Column::Snapshot, Expr::value(snapshot))
                .filter(merge_log::Column::Id.eq(id))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    /// Erases customer `id` in one transaction: their interactions, ties at either end, needs,
    /// memberships, membership history, webhook events (sent or not), change-feed entries and
    /// mentions in segmentation models go, then the customer with its identifiers; a
    /// tombstone keeps the SHA-256 of each external id they were known by (their own and those
    /// of every identity merged into them), and the merge log entries that name them lose
    /// their evidence and snapshots. Nothing is published or queued: no webhook hears of it.
    /// `None` when there is no such customer.
    pub async fn erase_customer(&self, id: i64) -> StoreResult<Option<ErasureReceipt>> {
        self.erase_customer_with(id, false).await
    }

    /// [`Store::erase_customer`]; with `dry_run`, everything is done in the transaction and
    /// then rolled back: the receipt tells exactly what an erasure would remove, identities
    /// merged into the customer included.
    pub async fn erase_customer_with(&self, id: i64, dry_run: bool) -> StoreResult<Option<ErasureReceipt>> {
        let txn = self.begin_write().await?;
        let Some(customer) = customer::Entity::find_by_id(id).one(&*txn).await? else {
            return Ok(None);
        };
        let conn = &*txn;
        // Writers of interactions for them finish first; later ones find them gone.
        crate::customer_locks::lock_for_removal(conn, &[id]).await?;
        let interactions = interaction::Entity::delete_many()
            .filter(interaction::Column::CustomerId.eq(id))
            .exec(conn)
            .await?
            .rows_affected;
        let either_end = Condition::any().add(tie::Column::FromId.eq(id)).add(tie::Column::ToId.eq(id));
        let removed_ties = tie::Entity::find().filter(either_end.clone()).all(conn).await?;
        tie::Entity::delete_many().filter(either_end).exec(conn).await?;
        let mut neighbours: Vec<i64> =
            removed_ties.iter().map(|tie| tie.other_end(id)).filter(|other| *other != id).collect();
        neighbours.sort_unstable();
        neighbours.dedup();
        // The other ends of removed ties may change segments.
        crate::changes::record_touched(conn, &neighbours).await?;
        let needs = need::Entity::delete_many()
            .filter(need::Column::CustomerId.eq(id))
            .exec(conn)
            .await?
            .rows_affected;
        let memberships = membership::Entity::delete_many()
            .filter(membership::Column::CustomerId.eq(id))
            .exec(conn)
            .await?
            .rows_affected;
        let history_events = membership_event::Entity::delete_many()
            .filter(membership_event::Column::CustomerId.eq(id))
            .exec(conn)
            .await?
            .rows_affected;
        let webhook_events = webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::CustomerId.eq(id))
            .filter(webhook_delivery::Column::Status.ne(crate::states::DeliveryStatus::Delivered))
            .exec(conn)
            .await?
            .rows_affected;
        let sent_webhook_events = webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::CustomerId.eq(id))
            .exec(conn)
            .await?
            .rows_affected;
        // Every identity merged into the customer goes with it.
        let (identities, merges) = identities_of(conn, &customer).await?;
        let external_ids: Vec<String> =
            identities.iter().map(|(external_id, _)| external_id.clone()).collect();
        let mut model_mentions = 0;
        for external_id in &external_ids {
            conn.execute_raw(statement(
                conn.get_database_backend(),
                "DELETE FROM customer_changes WHERE external_id = ?",
                vec![external_id.clone().into()],
            ))
            .await?;
            for row in segmentation::Entity::find().all(conn).await? {
                let Some(text) = row.model.as_deref().filter(|text| text.contains(external_id.as_str()))
                else {
                    continue;
                };
                let Ok(mut model) = serde_json::from_str::<serde_json::Value>(text) else { continue };
                let removed = scrub(&mut model, external_id);
                if removed > 0 {
                    model_mentions += removed;
                    segmentation::Entity::update_many()
                        .col_expr(segmentation::Column::Model, Expr::value(model.to_string()))
                        .filter(segmentation::Column::Id.eq(row.id))
                        .exec(conn)
                        .await?;
                }
            }
        }
        // The merge log keeps that merges happened, not what they held about these people.
        let mut involved: Vec<i64> = vec![id];
        for merge in &merges {
            if let Some(entry) = merge_log::Entity::find_by_id(*merge).one(conn).await? {
                involved.push(entry.absorbed_id);
            }
        }
        let merges_scrubbed = merge_log::Entity::update_many()
            .col_expr(merge_log::Column::Snapshot, Expr::value(Option::<serde_json::Value>::None))
            .col_expr(merge_log::Column::Evidence, Expr::value(serde_json::json!({ "erased": true })))
            .filter(
                Condition::any()
                    .add(merge_log::Column::SurvivorId.is_in(involved.clone()))
                    .add(merge_log::Column::AbsorbedId.is_in(involved.clone())),
            )
            .exec(conn)
            .await?
            .rows_affected;
        // Only the erased are unnamed: a merge undone before keeps the name of the other person.
        merge_log::Entity::update_many()
            .col_expr(merge_log::Column::AbsorbedExternalId, Expr::value("(erased)"))
            .filter(merge_log::Column::AbsorbedId.is_in(involved.clone()))
            .exec(conn)
            .await?;
        // Other merges' snapshots may name them too (a tie to them that arrived under one of
        // their ids): those mentions go.
        for external_id in &external_ids {
            scrub_snapshots(conn, external_id).await?;
        }
        // Events queued about the identities merged in (their exits at the merge, older
        // events naming their external ids) go too.
        let absorbed: Vec<i64> = involved.iter().copied().filter(|other| *other != id).collect();
        let mut merged_events = 0;
        if !absorbed.is_empty() {
            let marks = crate::sql::marks(absorbed.len());
            let values: Vec<Value> = absorbed.iter().map(|other| (*other).into()).collect();
            let sql = format!("DELETE FROM merge_exits WHERE customer_id IN ({marks})");
            conn.execute_raw(statement(conn.get_database_backend(), &sql, values)).await?;
            merged_events = webhook_delivery::Entity::delete_many()
                .filter(webhook_delivery::Column::CustomerId.is_in(absorbed))
                .exec(conn)
                .await?
                .rows_affected;
        }
        customer::Entity::delete_by_id(id).exec(conn).await?;
        let erased_at = Utc::now();
        for external_id in &external_ids {
            let tombstone = erased_customer::ActiveModel {
                external_id_hash: Set(external_id_hash(external_id)),
                erased_at: Set(erased_at),
                ..Default::default()
            };
            erased_customer::Entity::insert(tombstone)
                .on_conflict(
                    OnConflict::column(erased_customer::Column::ExternalIdHash)
                        .update_column(erased_customer::Column::ErasedAt)
                        .to_owned(),
                )
                .exec_without_returning(conn)
                .await?;
        }
        let hash = external_id_hash(&customer.external_id);
        let erasure_id = erased_customer::Entity::find()
            .filter(erased_customer::Column::ExternalIdHash.eq(hash))
            .one(conn)
            .await?
            .map_or(0, |row| row.id);
        if dry_run {
            txn.rollback().await?;
        } else {
            txn.commit().await?;
        }
        Ok(Some(ErasureReceipt {
            erasure_id,
            customer_id: id,
            erased_at,
            interactions,
            ties: removed_ties.len() as u64,
            needs,
            memberships,
            history_events,
            webhook_events: webhook_events + merged_events,
            sent_webhook_events,
            model_mentions,
            neighbours,
            identities,
            merges,
            merges_scrubbed,
            dry_run,
        }))
    }

    /// Whether the customer with this external id was erased (and not re-created since).
    pub async fn is_erased(&self, external_id: &str) -> StoreResult<bool> {
        Ok(!erased_among(self.connection(), &[external_id]).await?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex_of_the_trimmed_id() {
        assert_eq!(
            external_id_hash(" abc "),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn models_lose_every_mention() {
        let mut model = serde_json::json!({
            "summaries": [
                { "label": "a", "influencers": ["c1", "c7", "c9"] },
                { "label": "b", "influencers": [{ "external_id": "c7" }, { "external_id": "c2" }] },
            ],
            "top": "c7",
            "cut": 3,
        });
        assert_eq!(scrub(&mut model, "c7"), 3);
        assert_eq!(
            model,
            serde_json::json!({
                "summaries": [
                    { "label": "a", "influencers": ["c1", "c9"] },
                    { "label": "b", "influencers": [{ "external_id": "c2" }] },
                ],
                "top": null,
                "cut": 3,
            })
        );
    }
}
