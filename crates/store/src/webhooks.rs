//! Webhooks and their outbox. Every enter and exit of a segmentation with webhooks becomes one
//! pending delivery per webhook, written in the transaction that writes the change, so nothing
//! is sent that did not happen and nothing that happened is lost; the server sends them.

use crate::connect::Store;
use crate::entity::{customer, webhook, webhook_delivery};
use crate::error::StoreResult;
use crate::membership_diff::{Member, MembershipDiff};
use crate::states::{ChangeReason, DeliveryStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Rows per multi-row statement.
const CHUNK_ROWS: usize = 2_000;

/// Deliveries of one webhook by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Waiting to be sent, or to be retried.
    pub pending: i64,
    /// Received (the receiver answered 2xx).
    pub delivered: i64,
    /// Given up after the last retry.
    pub failed: i64,
    /// Never sent: the customer refused marketing after the event was queued.
    pub withheld: i64,
}

/// A webhook's deliveries due now, split by whether they may still be sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DueDeliveries {
    /// Deliveries to send, oldest first.
    pub send: Vec<webhook_delivery::Model>,
    /// Ids of deliveries about customers who refused marketing (`consent_marketing` FALSE)
    /// since their event was queued: they must not be sent, and are marked with
    /// [`Store::mark_withheld`].
    pub withheld: Vec<i64>,
}

impl DueDeliveries {
    /// Whether nothing is due.
    pub fn is_empty(&self) -> bool {
        self.send.is_empty() && self.withheld.is_empty()
    }
}

/// Which of these segmentations have webhooks.
pub(crate) async fn segmentations_with_webhooks<C: ConnectionTrait>(
    conn: &C,
    segmentation_ids: &[i64],
) -> StoreResult<std::collections::HashSet<i64>> {
    let ids: Vec<i64> = webhook::Entity::find()
        .select_only()
        .column(webhook::Column::SegmentationId)
        .distinct()
        .filter(webhook::Column::SegmentationId.is_in(segmentation_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Queues the events of `diff` for every webhook of the segmentation, on `conn` (the
/// transaction that writes the diff). Changes of customers who refused marketing (or are
/// gone) are not queued.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    segmentation_id: i64,
    diff: &MembershipDiff,
    reason: ChangeReason,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let hooks =
        webhook::Entity::find().filter(webhook::Column::SegmentationId.eq(segmentation_id)).all(conn).await?;
    if hooks.is_empty() || (diff.entered.is_empty() && diff.exited.is_empty()) {
        return Ok(());
    }
    let changes: Vec<(&Member, &str)> = diff
        .entered
        .iter()
        .map(|member| (member, "ENTERED"))
        .chain(diff.exited.iter().map(|member| (member, "EXITED")))
        .collect();
    // Only customers marketing may reach: those who refused marketing are not read, and
    // their changes are not sent.
    let mut external: HashMap<i64, String> = HashMap::new();
    let mut ids: Vec<i64> = changes.iter().map(|(member, _)| member.customer_id).collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(CHUNK_ROWS) {
        let rows: Vec<(i64, String)> = customer::Entity::find()
            .select_only()
            .columns([customer::Column::Id, customer::Column::ExternalId])
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .filter(Expr::cust("consent_marketing IS NOT FALSE"))
            .into_tuple()
            .all(conn)
            .await?;
        external.extend(rows);
    }
    let reason = reason.as_str().to_uppercase();
    let payloads: Vec<(i64, String)> = changes
        .iter()
        .filter(|(member, _)| external.contains_key(&member.customer_id))
        .map(|(member, change)| {
            let payload = json!({
                "segmentationId": segmentation_id.to_string(),
                "customerId": member.customer_id.to_string(),
                "externalId": external.get(&member.customer_id),
                "segment": member.segment,
                "change": change,
                "score": member.score,
                "reason": reason,
                "at": at.to_rfc3339(),
            });
            (member.customer_id, payload.to_string())
        })
        .collect();
    for hook in &hooks {
        for chunk in payloads.chunks(CHUNK_ROWS) {
            let rows = chunk.iter().map(|(customer_id, payload)| webhook_delivery::ActiveModel {
                webhook_id: Set(hook.id),
                customer_id: Set(*customer_id),
                payload: Set(payload.clone()),
                status: Set(DeliveryStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(at),
                created_at: Set(at),
                ..Default::default()
            });
            webhook_delivery::Entity::insert_many(rows).exec_without_returning(conn).await?;
        }
    }
    Ok(())
}

impl Store {
    /// Adds a webhook to segmentation `segmentation_id`.
    pub async fn create_webhook(
        &self,
        segmentation_id: i64,
        url: &str,
        secret: &str,
    ) -> StoreResult<webhook::Model> {
        let row = webhook::ActiveModel {
            segmentation_id: Set(segmentation_id),
            url: Set(url.to_owned()),
            secret: Set(secret.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        Ok(webhook::Entity::insert(row).exec_with_returning(self.connection()).await?)
    }

    /// Removes a webhook and its deliveries; false if there was none.
    pub async fn delete_webhook(&self, id: i64) -> StoreResult<bool> {
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::WebhookId.eq(id))
            .exec(self.connection())
            .await?;
        Ok(webhook::Entity::delete_by_id(id).exec(self.connection()).await?.rows_affected > 0)
    }

    /// One webhook.
    pub async fn webhook(&self, id: i64) -> StoreResult<Option<webhook::Model>> {
        Ok(webhook::Entity::find_by_id(id).one(self.connection()).await?)
    }

    /// The webhooks of one segmentation, or of all, oldest first.
    pub async fn webhooks(&self, segmentation_id: Option<i64>) -> StoreResult<Vec<webhook::Model>> {
        let mut query = webhook::Entity::find();
        if let Some(id) = segmentation_id {
            query = query.filter(webhook::Column::SegmentationId.eq(id));
        }
        Ok(query.order_by_asc(webhook::Column::Id).all(self.connection()).await?)
    }

    /// A webhook's pending deliveries due by `now`, oldest first, at most `limit`, claimed
    /// for the caller until `claimed_until`: other servers skip them until then (so each is
    /// sent by one server), and take them over after, should the caller die before it
    /// records how sending went. Split by consent: deliveries about customers whose
    /// `consent_marketing` is now FALSE are [`DueDeliveries::withheld`], the rest are to
    /// send. Consent is read with one query for the whole batch (and none when nothing is
    /// due); a customer deleted since keeps their exit events, which were queued while they
    /// could still be reached.
    pub async fn due_deliveries(
        &self,
        webhook_id: i64,
        now: DateTime<Utc>,
        claimed_until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<DueDeliveries> {
        let sql = format!(
            "UPDATE webhook_deliveries SET claimed_until = ? WHERE id IN (SELECT id FROM webhook_deliveries \
             WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at <= ? \
             AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?{}) RETURNING id",
            crate::leases::skip_locked(self.backend())
        );
        let values =
            vec![claimed_until.into(), webhook_id.into(), now.into(), now.into(), (limit as i64).into()];
        let rows =
            self.connection().query_all_raw(crate::sql::statement(self.backend(), &sql, values)).await?;
        let ids: Vec<i64> = rows.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
        let due = if ids.is_empty() {
            Vec::new()
        } else {
            webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::Id.is_in(ids))
                .order_by_asc(webhook_delivery::Column::Id)
                .all(self.connection())
                .await?
        };
        if due.is_empty() {
            return Ok(DueDeliveries::default());
        }
        let mut customers: Vec<i64> = due.iter().map(|delivery| delivery.customer_id).collect();
        customers.sort_unstable();
        customers.dedup();
        let mut refused: HashSet<i64> = HashSet::new();
        for chunk in customers.chunks(CHUNK_ROWS) {
            let rows: Vec<i64> = customer::Entity::find()
                .select_only()
                .column(customer::Column::Id)
                .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                .filter(customer::Column::ConsentMarketing.eq(false))
                .into_tuple()
                .all(self.connection())
                .await?;
            refused.extend(rows);
        }
        let (withheld, send): (Vec<_>, Vec<_>) =
            due.into_iter().partition(|delivery| refused.contains(&delivery.customer_id));
        Ok(DueDeliveries { send, withheld: withheld.into_iter().map(|delivery| delivery.id).collect() })
    }

    /// Marks deliveries withheld: not sent, and never to be, because their customer refused
    /// marketing. They keep their attempts and have no delivery time; they count as
    /// [`DeliveryCounts::withheld`] and are listed under the status `withheld`.
    pub async fn mark_withheld(&self, ids: &[i64]) -> StoreResult<()> {
        for chunk in ids.chunks(CHUNK_ROWS) {
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Withheld))
                .col_expr(webhook_delivery::Column::LastError, Expr::value(Option::<String>::None))
                .filter(webhook_delivery::Column::Id.is_in(chunk.iter().copied()))
                .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
                .exec(self.connection())
                .await?;
        }
        Ok(())
    }

    /// Marks deliveries received.
    pub async fn mark_delivered(&self, ids: &[i64], at: DateTime<Utc>) -> StoreResult<()> {
        for chunk in ids.chunks(CHUNK_ROWS) {
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Delivered))
                .col_expr(
                    webhook_delivery::Column::Attempts,
                    Expr::col(webhook_delivery::Column::Attempts).add(1),
                )
                .col_expr(webhook_delivery::Column::LastError, Expr::value(Option::<String>::None))
                .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(Some(at)))
                .col_expr(webhook_delivery::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(webhook_delivery::Column::Id.is_in(chunk.iter().copied()))
                .exec(self.connection())
                .await?;
        }
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when `None`.
    pub async fn mark_attempt_failed(
        &self,
        ids: &[i64],
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let status = if retry_at.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::Failed };
        for chunk in ids.chunks(CHUNK_ROWS) {
            let mut update = webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::Status, Expr::value(status))
                .col_expr(
                    webhook_delivery::Column::Attempts,
                    Expr::col(webhook_delivery::Column::Attempts).add(1),
                )
                .col_expr(webhook_delivery::Column::LastError, Expr::value(Some(error.to_owned())))
                .col_expr(webhook_delivery::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None));
            if let Some(retry_at) = retry_at {
                update = update.col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(retry_at));
            }
            update
                .filter(webhook_delivery::Column::Id.is_in(chunk.iter().copied()))
                .exec(self.connection())
                .await?;
        }
        Ok(())
    }

    /// A webhook's deliveries, newest first, of one status or all, at most `limit`.
    pub async fn deliveries(
        &self,
        webhook_id: i64,
        status: Option<DeliveryStatus>,
        limit: u64,
    ) -> StoreResult<Vec<webhook_delivery::Model>> {
        let mut query =
            webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(webhook_id));
        if let Some(status) = status {
            query = query.filter(webhook_delivery::Column::Status.eq(status));
        }
        Ok(query.order_by_desc(webhook_delivery::Column::Id).limit(limit).all(self.connection()).await?)
    }

    /// How many of a webhook's deliveries are pending, delivered, failed and withheld.
    pub async fn delivery_counts(&self, webhook_id: i64) -> StoreResult<DeliveryCounts> {
        let rows: Vec<(DeliveryStatus, i64)> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Status)
            .column_as(webhook_delivery::Column::Id.count(), "n")
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .group_by(webhook_delivery::Column::Status)
            .into_tuple()
            .all(self.connection())
            .await?;
        let mut counts = DeliveryCounts::default();
        for (status, n) in rows {
            match status {
                DeliveryStatus::Pending => counts.pending = n,
                DeliveryStatus::Delivered => counts.delivered = n,
                DeliveryStatus::Withheld => counts.withheld = n,
                DeliveryStatus::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }
}
