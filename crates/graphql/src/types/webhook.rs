//! A segmentation's webhooks and their deliveries, failures included.

use crate::context::store;
use crate::error::{ApiResult, api};
use crate::pagination::page_size;
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

/// The webhooks of segmentation `id`.
pub(crate) async fn webhooks_of(ctx: &Context<'_>, id: i64) -> ApiResult<Vec<Webhook>> {
    Ok(store(ctx)?.webhooks(Some(id)).await.map_err(api)?.into_iter().map(Webhook).collect())
}
