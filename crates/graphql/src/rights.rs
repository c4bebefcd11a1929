//! A person's rights: `exportCustomerData` (everything held about a customer, as one JSON
//! document) and `eraseCustomer` (everything that identifies them removed, a receipt with
//! counts only).

use crate::context::store;
use crate::error::{ApiError, ApiResult, api};
use crate::query::parse_id;
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_store::PersonData;
use kindred_store::entity::{customer_identifier, merge_log};
use serde_json::{Value, json};

/// An identity an erasure removes: one external id the customer was known by.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ErasedIdentity {
    /// The external id (a tombstone keeps only its hash).
    pub external_id: String,
    /// The system it came from.
    pub origin: String,
}

/// What an erasure removed, or with `dryRun` would remove: ids, counts and the identities
/// erased (the external ids the caller named the person by, and those merged into them).
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ErasureReceipt {
    /// The erasure's id (its tombstone, which keeps only a hash of the external id); null on
    /// a dry run.
    pub erasure_id: Option<ID>,
    /// The Kindred id the customer had.
    pub customer_id: ID,
    /// When it was done; null on a dry run.
    pub erased_at: Option<DateTime<Utc>>,
    /// Nothing was erased: this is what an erasure would remove now.
    pub dry_run: bool,
    /// Every identity erased: the customer's own external id first, then those of the
    /// customers merged into it (a wrong merge would erase an innocent person: check first
    /// with `dryRun`, and undo the merge with `unmergeCustomer`).
    pub identities: Vec<ErasedIdentity>,
    /// The merges that brought the other identities in (merge log ids).
    pub merges: Vec<ID>,
    /// Interactions removed.
    pub interactions: i64,
    /// Ties removed, at either end.
    pub ties: i64,
    /// Needs removed, declared and inferred.
    pub needs: i64,
    /// Current memberships removed (segment sizes shrink accordingly).
    pub memberships: i64,
    /// Membership history events removed.
    pub history_events: i64,
    /// Webhook events about them not yet sent, dropped.
    pub webhook_events: i64,
    /// Records of webhook events already sent, removed from the outbox.
    pub sent_webhook_events: i64,
    /// Mentions of them removed from segmentation models (community influencers).
    pub model_mentions: i64,
    /// Merge log entries emptied of their evidence and snapshots.
    pub merge_log_entries: i64,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Parses a stored JSON text, keeping it as a string if it is not JSON.
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The export document: every stored column of every row about the person.
fn document(
    data: PersonData,
    identifiers: &[customer_identifier::Model],
    merges: &[merge_log::Model],
    exported_at: DateTime<Utc>,
) -> Value {
    let c = &data.customer;
    let id = c.id;
    let customer = json!({
        "id": c.id.to_string(),
        "externalId": c.external_id,
        "email": c.email,
        "phone": c.phone,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "birthDate": c.birth_date,
        "gender": c.gender,
        "income": c.income,
        "education": c.education,
        "occupation": c.occupation,
        "country": c.country,
        "region": c.region,
        "city": c.city,
        "addressLine1": c.address_line1,
        "addressLine2": c.address_line2,
        "postcode": c.postcode,
        "lat": c.lat,
        "lon": c.lon,
        "lifestyle": c.lifestyle_tags(),
        "consentMarketing": c.consent_marketing,
        "consentProfiling": c.consent_profiling,
        "socialHandles": c.social_handles,
        "attributes": c.attributes,
        "createdAt": c.created_at,
        "updatedAt": c.updated_at,
    });
    let interactions: Vec<Value> = data
        .interactions
        .iter()
        .map(|i| {
            json!({
                "id": i.id.to_string(),
                "occurredAt": i.occurred_at,
                "channel": i.channel,
                "kind": i.kind,
                "amount": i.amount,
                "currency": i.currency,
                "costToServe": i.cost_to_serve,
                "text": i.text,
                "sourceId": i.source_id,
                "createdAt": i.created_at,
            })
        })
        .collect();
    let ties: Vec<Value> = data
        .ties
        .iter()
        .map(|t| {
            json!({
                "id": t.tie.id.to_string(),
                "direction": if t.tie.from_id == id { "OUTGOING" } else { "INCOMING" },
                "otherId": t.other_id.to_string(),
                "otherExternalId": t.other_external_id,
                "kind": t.tie.kind,
                "weight": t.tie.weight,
                "mutual": t.tie.mutual,
                "createdAt": t.tie.created_at,
                "updatedAt": t.tie.updated_at,
            })
        })
        .collect();
    let needs: Vec<Value> = data
        .needs
        .iter()
        .map(|n| {
            json!({
                "id": n.id.to_string(),
                "tag": n.tag,
                "kind": n.kind,
                "source": n.source,
                "weight": n.weight,
                "createdAt": n.created_at,
                "updatedAt": n.updated_at,
            })
        })
        .collect();
    let memberships: Vec<Value> = data
        .memberships
        .iter()
        .map(|(m, name)| {
            json!({
                "segmentationId": m.segmentation_id.to_string(),
                "segmentationName": name,
                "segment": m.segment,
                "score": m.score,
                "since": m.since,
            })
        })
        .collect();
    let history: Vec<Value> = data
        .history
        .iter()
        .map(|(e, name)| {
            json!({
                "id": e.id.to_string(),
                "segmentationId": e.segmentation_id.to_string(),
                "segmentationName": name,
                "segment": e.segment,
                "change": e.change.to_uppercase(),
                "score": e.score,
                "reason": e.reason.as_str().to_uppercase(),
                "jobId": e.job_id.map(|job| job.to_string()),
                "at": e.at,
            })
        })
        .collect();
    let webhook_events: Vec<Value> = data
        .pending_webhook_events
        .iter()
        .map(|d| {
            json!({
                "id": d.id.to_string(),
                "webhookId": d.webhook_id.to_string(),
                "status": d.status.as_str().to_uppercase(),
                "attempts": d.attempts,
                "createdAt": d.created_at,
                "nextAttemptAt": d.next_attempt_at,
                "payload": json_text(&d.payload),
            })
        })
        .collect();
    let identifier_rows: Vec<Value> = identifiers
        .iter()
        .map(|i| {
            json!({
                "kind": i.kind,
                "value": i.value,
                "origin": i.origin,
                "firstSeen": i.first_seen,
                "lastSeen": i.last_seen,
                "arrivedUnder": i.arrived_under,
            })
        })
        .collect();
    let aliases: Vec<&str> = identifiers
        .iter()
        .filter(|i| i.kind == "external_id" && i.value != c.external_id)
        .map(|i| i.value.as_str())
        .collect();
    let merge_rows: Vec<Value> = merges
        .iter()
        .map(|m| {
            json!({
                "id": m.id.to_string(),
                "survivorId": m.survivor_id.to_string(),
                "absorbedId": m.absorbed_id.to_string(),
                "absorbedExternalId": m.absorbed_external_id,
                "reason": m.reason.to_uppercase(),
                "evidence": m.evidence,
                "decidedBy": m.decided_by,
                "mergedAt": m.merged_at,
                "unmergedAt": m.unmerged_at,
                "unmergedBy": m.unmerged_by,
                // Only while the merge stands is what it keeps this person's alone.
                "keptForUnmerge": if m.unmerged_at.is_none() { m.snapshot.clone() } else { None },
            })
        })
        .collect();
    json!({
        "exportedAt": exported_at,
        "customer": customer,
        "identifiers": identifier_rows,
        "aliases": aliases,
        "mergeLog": merge_rows,
        "interactions": interactions,
        "ties": ties,
        "needs": needs,
        "memberships": memberships,
        "membershipHistory": history,
        "pendingWebhookEvents": webhook_events,
    })
}

/// The query of a person's data.
#[derive(Default)]
pub struct RightsQuery;

#[Object]
impl RightsQuery {
    /// Everything held about a customer as one JSON document: `customer` (every profile
    /// column), `interactions`, `ties` (both directions, with the other end's id and external
    /// id), `needs` (declared and inferred), `memberships` (now), `membershipHistory` (every
    /// enter and exit), `pendingWebhookEvents` (not yet sent), `identifiers` (every one the
    /// customer is known by), `aliases` (external ids of customers merged into them),
    /// `mergeLog` (every merge they and the customers merged into them took part in, with
    /// its evidence and, while it stands, what it keeps to be undone) and `exportedAt`. An
    /// unknown id is NOT_FOUND.
    async fn export_customer_data(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Json<Value>> {
        let key = parse_id("id", &id).map_err(api)?;
        let store = store(ctx)?;
        let data = store.person_data(key).await.map_err(api)?;
        let data = data.ok_or_else(|| api(ApiError::NotFound { what: "customer", key: id.to_string() }))?;
        let identifiers = store.identifiers(key).await.map_err(api)?;
        let merges = store.merge_history_with_absorbed(key).await.map_err(api)?;
        Ok(Json(document(data, &identifiers, &merges, Utc::now())))
    }
}

/// The mutation that erases a person.
#[derive(Default)]
pub struct RightsMutation;

#[Object]
impl RightsMutation {
    /// Erases a customer in one transaction: their profile, identifiers, interactions, ties at
    /// either end, needs, memberships, membership history and webhook events go, and no
    /// webhook hears of it. Every identity merged into them is erased too. Only a tombstone
    /// with a hash of each external id stays, so imports and writes do not re-create them
    /// unless asked (`allowErased`); the merge log keeps that merges happened, not what they
    /// held. With `dryRun: true` nothing is erased and the receipt lists what would be,
    /// identities first. An unknown id is NOT_FOUND.
    async fn erase_customer(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] dry_run: bool,
    ) -> ApiResult<ErasureReceipt> {
        let key = parse_id("id", &id).map_err(api)?;
        let receipt = store(ctx)?.erase_customer_with(key, dry_run).await.map_err(api)?;
        let receipt =
            receipt.ok_or_else(|| api(ApiError::NotFound { what: "customer", key: id.to_string() }))?;
        if !dry_run {
            // The other ends of removed ties may change segments; the erased customer has no
            // rows left to re-assign.
            if let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() {
                engine.written();
            }
            tracing::info!(
                customer_id = receipt.customer_id,
                erasure_id = receipt.erasure_id,
                identities = receipt.identities.len(),
                "customer erased"
            );
        }
        Ok(ErasureReceipt {
            erasure_id: (!dry_run).then(|| ID(receipt.erasure_id.to_string())),
            customer_id: ID(receipt.customer_id.to_string()),
            erased_at: (!dry_run).then_some(receipt.erased_at),
            dry_run,
            identities: receipt
                .identities
                .iter()
                .map(|(external_id, origin)| ErasedIdentity {
                    external_id: external_id.clone(),
                    origin: origin.clone(),
                })
                .collect(),
            merges: receipt.merges.iter().map(|id| ID(id.to_string())).collect(),
            merge_log_entries: count(receipt.merges_scrubbed),
            interactions: count(receipt.interactions),
            ties: count(receipt.ties),
            needs: count(receipt.needs),
            memberships: count(receipt.memberships),
            history_events: count(receipt.history_events),
            webhook_events: count(receipt.webhook_events),
            sent_webhook_events: count(receipt.sent_webhook_events),
            model_mentions: count(receipt.model_mentions),
        })
    }
}
