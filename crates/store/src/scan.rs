//! Whole tables in id order, a page at a time, and every child row of a set of customers:
//! what segmentation strategies read.

use crate::connect::Store;
use crate::entity::{interaction, need, tie};
use crate::error::StoreResult;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

impl Store {
    /// Up to `limit` interactions with an id above `after`, by id.
    pub async fn scan_interactions(&self, after: i64, limit: u64) -> StoreResult<Vec<interaction::Model>> {
        Ok(interaction::Entity::find()
            .filter(interaction::Column::Id.gt(after))
            .order_by_asc(interaction::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Up to `limit` ties with an id above `after`, by id.
    pub async fn scan_ties(&self, after: i64, limit: u64) -> StoreResult<Vec<tie::Model>> {
        Ok(tie::Entity::find()
            .filter(tie::Column::Id.gt(after))
            .order_by_asc(tie::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Up to `limit` needs with an id above `after`, by id.
    pub async fn scan_needs(&self, after: i64, limit: u64) -> StoreResult<Vec<need::Model>> {
        Ok(need::Entity::find()
            .filter(need::Column::Id.gt(after))
            .order_by_asc(need::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Every interaction of these customers, by customer and time.
    pub async fn all_interactions_of(&self, customer_ids: &[i64]) -> StoreResult<Vec<interaction::Model>> {
        Ok(interaction::Entity::find()
            .filter(interaction::Column::CustomerId.is_in(customer_ids.iter().copied()))
            .order_by_asc(interaction::Column::CustomerId)
            .order_by_asc(interaction::Column::OccurredAt)
            .all(self.connection())
            .await?)
    }

    /// Every tie with either end among these customers, by id.
    pub async fn all_ties_of(&self, customer_ids: &[i64]) -> StoreResult<Vec<tie::Model>> {
        let ids = customer_ids.iter().copied();
        Ok(tie::Entity::find()
            .filter(
                Condition::any()
                    .add(tie::Column::FromId.is_in(ids.clone()))
                    .add(tie::Column::ToId.is_in(ids)),
            )
            .order_by_asc(tie::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Every need of these customers, by id.
    pub async fn all_needs_of(&self, customer_ids: &[i64]) -> StoreResult<Vec<need::Model>> {
        Ok(need::Entity::find()
            .filter(need::Column::CustomerId.is_in(customer_ids.iter().copied()))
            .order_by_asc(need::Column::Id)
            .all(self.connection())
            .await?)
    }
}
