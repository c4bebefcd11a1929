//! A person's rights: `exportCustomerData` (everything held about a customer, as one JSON
//! document) and `eraseCustomer` (everything that identifies them removed, a receipt with
//! counts only).

use crate::context::store;
use crate::error::{ApiError, ApiResult, api};
use crate::query::parse_id;
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_store::PersonData;
use serde_json::{Value, json};

/// What an erasure removed. Holds no personal data: ids and counts only.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct ErasureReceipt {
    /// The erasure's id (its tombstone, which keeps only a hash of the external id).
    pub erasure_id: ID,
    /// The Kindred id the customer had.
    pub customer_id: ID,
    /// When it was done.
    pub erased_at: DateTime<Utc>,
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
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Parses a stored JSON text, keeping it as a string if it is not JSON.
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The export document: every stored column of every row about the person.
fn document(data: PersonData, exported_at: DateTime<Utc>) -> Value {
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
    json!({
        "exportedAt": exported_at,
        "customer": customer,
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
    /// enter and exit), `pendingWebhookEvents` (not yet sent) and `exportedAt`. An unknown id
    /// is NOT_FOUND.
    async fn export_customer_data(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Json<Value>> {
        let key = parse_id("id", &id).map_err(api)?;
        let data = store(ctx)?.person_data(key).await.map_err(api)?;
        let data = data.ok_or_else(|| api(ApiError::NotFound { what: "customer", key: id.to_string() }))?;
        Ok(Json(document(data, Utc::now())))
    }
}

/// The mutation that erases a person.
#[derive(Default)]
pub struct RightsMutation;

#[Object]
impl RightsMutation {
    /// Erases a customer in one transaction: their profile, interactions, ties at either end,
    /// needs, memberships, membership history and webhook events go, and no webhook hears of
    /// it. Only a tombstone with a hash of their external id stays, so imports and writes do
    /// not re-create them unless asked (`allowErased`). An unknown id is NOT_FOUND.
    async fn erase_customer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ErasureReceipt> {
        let key = parse_id("id", &id).map_err(api)?;
        let receipt = store(ctx)?.erase_customer(key).await.map_err(api)?;
        let receipt =
            receipt.ok_or_else(|| api(ApiError::NotFound { what: "customer", key: id.to_string() }))?;
        // The other ends of removed ties may change segments; the erased customer has no
        // rows left to re-assign.
        if let Some(engine) = ctx.data_opt::<kindred_engine::Engine>() {
            engine.touched(receipt.neighbours.clone());
        }
        tracing::info!(customer_id = receipt.customer_id, erasure_id = receipt.erasure_id, "customer erased");
        Ok(ErasureReceipt {
            erasure_id: ID(receipt.erasure_id.to_string()),
            customer_id: ID(receipt.customer_id.to_string()),
            erased_at: receipt.erased_at,
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
