//! Everything held about one person, for their right of access: the profile and, read a
//! bounded page at a time, interactions, ties, needs, memberships, membership history and
//! webhook events not yet sent.

use crate::connect::Store;
use crate::entity::{
    customer, interaction, membership, membership_event, need, segmentation, tie, webhook_delivery,
};
use crate::error::StoreResult;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// Rows per read.
const PAGE: u64 = 5_000;

/// A tie of the person, with who is at the other end.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonTie {
    /// The stored tie (from, to, kind, weight, mutual, times).
    pub tie: tie::Model,
    /// The other end's id.
    pub other_id: i64,
    /// The other end's external id.
    pub other_external_id: String,
}

/// Everything stored about one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonData {
    /// The profile, every column.
    pub customer: customer::Model,
    /// Every interaction, oldest id first.
    pub interactions: Vec<interaction::Model>,
    /// Every tie at either end.
    pub ties: Vec<PersonTie>,
    /// Every need, declared and inferred.
    pub needs: Vec<need::Model>,
    /// Current memberships with their segmentation's name.
    pub memberships: Vec<(membership::Model, String)>,
    /// Every enter and exit, oldest first, with the segmentation's name.
    pub history: Vec<(membership_event::Model, String)>,
    /// Webhook events about them that are not yet sent.
    pub pending_webhook_events: Vec<webhook_delivery::Model>,
}

/// Reads `read(after)` pages of rows with increasing ids until one comes back short.
async fn all_pages<T, F, Fut>(id_of: impl Fn(&T) -> i64, mut read: F) -> StoreResult<Vec<T>>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Vec<T>>>,
{
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let page = read(after).await?;
        let full = page.len() as u64 == PAGE;
        if let Some(last) = page.last() {
            after = id_of(last);
        }
        rows.extend(page);
        if !full {
            return Ok(rows);
        }
    }
}

impl Store {
    /// Everything stored about customer `id`; `None` when there is no such customer.
    pub async fn person_data(&self, id: i64) -> StoreResult<Option<PersonData>> {
        let conn = self.connection();
        let Some(customer) = customer::Entity::find_by_id(id).one(conn).await? else {
            return Ok(None);
        };
        let interactions = all_pages(
            |row: &interaction::Model| row.id,
            |after| async move {
                Ok(interaction::Entity::find()
                    .filter(interaction::Column::CustomerId.eq(id))
                    .filter(interaction::Column::Id.gt(after))
                    .order_by_asc(interaction::Column::Id)
                    .limit(PAGE)
                    .all(conn)
                    .await?)
            },
        )
        .await?;
        let ties = all_pages(
            |row: &tie::Model| row.id,
            |after| async move {
                Ok(tie::Entity::find()
                    .filter(Condition::any().add(tie::Column::FromId.eq(id)).add(tie::Column::ToId.eq(id)))
                    .filter(tie::Column::Id.gt(after))
                    .order_by_asc(tie::Column::Id)
                    .limit(PAGE)
                    .all(conn)
                    .await?)
            },
        )
        .await?;
        let mut others: Vec<i64> = ties.iter().map(|tie| tie.other_end(id)).collect();
        others.sort_unstable();
        others.dedup();
        let mut external: HashMap<i64, String> = HashMap::with_capacity(others.len());
        for chunk in others.chunks(PAGE as usize) {
            let rows: Vec<(i64, String)> = customer::Entity::find()
                .select_only()
                .columns([customer::Column::Id, customer::Column::ExternalId])
                .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(conn)
                .await?;
            external.extend(rows);
        }
        let ties = ties
            .into_iter()
            .map(|tie| {
                let other_id = tie.other_end(id);
                let other_external_id = external.get(&other_id).cloned().unwrap_or_default();
                PersonTie { tie, other_id, other_external_id }
            })
            .collect();
        let needs = all_pages(
            |row: &need::Model| row.id,
            |after| async move {
                Ok(need::Entity::find()
                    .filter(need::Column::CustomerId.eq(id))
                    .filter(need::Column::Id.gt(after))
                    .order_by_asc(need::Column::Id)
                    .limit(PAGE)
                    .all(conn)
                    .await?)
            },
        )
        .await?;
        let names: HashMap<i64, String> = segmentation::Entity::find()
            .select_only()
            .columns([segmentation::Column::Id, segmentation::Column::Name])
            .into_tuple::<(i64, String)>()
            .all(conn)
            .await?
            .into_iter()
            .collect();
        let name = |segmentation_id: i64| names.get(&segmentation_id).cloned().unwrap_or_default();
        // A customer is in at most a few segments of each segmentation: one read.
        let memberships = self
            .customer_memberships(id)
            .await?
            .into_iter()
            .map(|row| {
                let name = name(row.segmentation_id);
                (row, name)
            })
            .collect();
        let history = all_pages(
            |row: &membership_event::Model| row.id,
            |after| async move {
                Ok(membership_event::Entity::find()
                    .filter(membership_event::Column::CustomerId.eq(id))
                    .filter(membership_event::Column::Id.gt(after))
                    .order_by_asc(membership_event::Column::Id)
                    .limit(PAGE)
                    .all(conn)
                    .await?)
            },
        )
        .await?
        .into_iter()
        .map(|row| {
            let name = name(row.segmentation_id);
            (row, name)
        })
        .collect();
        let pending_webhook_events = all_pages(
            |row: &webhook_delivery::Model| row.id,
            |after| async move {
                Ok(webhook_delivery::Entity::find()
                    .filter(webhook_delivery::Column::CustomerId.eq(id))
                    .filter(webhook_delivery::Column::Status.ne(crate::states::DeliveryStatus::Delivered))
                    .filter(webhook_delivery::Column::Id.gt(after))
                    .order_by_asc(webhook_delivery::Column::Id)
                    .limit(PAGE)
                    .all(conn)
                    .await?)
            },
        )
        .await?;
        Ok(Some(PersonData {
            customer,
            interactions,
            ties,
            needs,
            memberships,
            history,
            pending_webhook_events,
        }))
    }
}
