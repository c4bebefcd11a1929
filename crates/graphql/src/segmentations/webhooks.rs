//! Webhooks in the API: add and remove a segmentation's receivers, and see their deliveries,
//! failures included.

use crate::context::{engine, store};
use crate::error::{ApiError, ApiResult, api};
use crate::query::parse_id;
use crate::types::webhook::Webhook;
use async_graphql::{Context, ID, Object, SimpleObject};

/// A webhook just added, with its signing secret (shown only here).
#[derive(SimpleObject)]
pub struct AddedWebhook {
    /// The webhook.
    webhook: Webhook,
    /// The HMAC-SHA256 key: the `X-Kindred-Signature` header is
    /// `sha256=<hex HMAC of "<X-Kindred-Timestamp>.<body>">`.
    secret: String,
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
