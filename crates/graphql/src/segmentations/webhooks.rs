//! Webhooks in the API: add and remove a segmentation's receivers, and see their deliveries,
//! failures included.

use super::engine;
use crate::error::{ApiError, ApiResult, api};
use crate::pagination::page_size;
use crate::query::parse_id;
use crate::types::store;
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_store::entity::{webhook, webhook_delivery};

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "kindred_store::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Waiting to be sent, or to be retried.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the last retry.
    Failed,
    /// Never sent, and never to be: the customer refused marketing after the event was
    /// queued.
    Withheld,
}

/// One enter or exit sent (or to send) to a webhook.
pub struct Delivery(webhook_delivery::Model);

#[Object]
impl Delivery {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where it stands.
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it is next tried (while pending).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == kindred_store::DeliveryStatus::Pending).then_some(self.0.next_attempt_at)
    }
    /// When the change happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the receiver took it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// The event as sent.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.payload).unwrap_or_default())
    }
}

/// Deliveries of one webhook by status.
#[derive(SimpleObject)]
pub struct DeliveryCounts {
    /// Waiting or to be retried.
    pending: i64,
    /// Received.
    delivered: i64,
    /// Given up.
    failed: i64,
    /// Withheld: the customer refused marketing before the event was sent.
    withheld: i64,
}

/// A receiver of a segmentation's enters and exits: POSTed as JSON, signed with HMAC-SHA256.
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The segmentation whose changes it receives.
    async fn segmentation_id(&self) -> ID {
        ID(self.0.segmentation_id.to_string())
    }
    /// Where events are posted.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Its deliveries by status.
    async fn counts(&self, ctx: &Context<'_>) -> ApiResult<DeliveryCounts> {
        let counts = store(ctx)?.delivery_counts(self.0.id).await.map_err(api)?;
        Ok(DeliveryCounts {
            pending: counts.pending,
            delivered: counts.delivered,
            failed: counts.failed,
            withheld: counts.withheld,
        })
    }
    /// Its deliveries, newest first, of one status or all.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatus>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<Delivery>> {
        let limit = page_size(Some(first)).map_err(api)?;
        let status = status.map(Into::into);
        let rows = store(ctx)?.deliveries(self.0.id, status, limit).await.map_err(api)?;
        Ok(rows.into_iter().map(Delivery).collect())
    }
}

/// A webhook just added, with its signing secret (shown only here).
#[derive(SimpleObject)]
pub struct AddedWebhook {
    /// The webhook.
    webhook: Webhook,
    /// The HMAC-SHA256 key: the `X-Kindred-Signature` header is
    /// `sha256=<hex HMAC of "<X-Kindred-Timestamp>.<body>">`.
    secret: String,
}

/// The webhooks of segmentation `id`.
pub(crate) async fn webhooks_of(ctx: &Context<'_>, id: i64) -> ApiResult<Vec<Webhook>> {
    Ok(store(ctx)?.webhooks(Some(id)).await.map_err(api)?.into_iter().map(Webhook).collect())
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Adds a webhook to a segmentation: every enter and exit from now on is posted to `url`
    /// (http). Without a `secret` (at least 16 characters), a random one is made; it is
    /// returned only here.
    async fn add_webhook(
        &self,
        ctx: &Context<'_>,
        segmentation_id: ID,
        url: String,
        secret: Option<String>,
    ) -> ApiResult<AddedWebhook> {
        let id = parse_id("segmentationId", &segmentation_id).map_err(api)?;
        let added = engine(ctx)?.add_webhook(id, url.trim(), secret).await.map_err(api)?;
        Ok(AddedWebhook { secret: added.secret.clone(), webhook: Webhook(added) })
    }

    /// Removes a webhook and its deliveries, sent or not; returns its id.
    async fn remove_webhook(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let key = parse_id("id", &id).map_err(api)?;
        if store(ctx)?.delete_webhook(key).await.map_err(api)? {
            Ok(id)
        } else {
            Err(api(ApiError::NotFound { what: "webhook", key: id.to_string() }))
        }
    }
}
