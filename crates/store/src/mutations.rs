//! Single writes from the API: add or remove a tie or a need.

use crate::connect::Store;
use crate::entity::{need, tie};
use crate::error::{StoreError, StoreResult};
use crate::write::{WriteCounts, resolve_customers, upsert_needs, upsert_ties};
use kindred_domain::{Need, NeedTag, Tie, TieKind};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

impl Store {
    /// Adds a tie, or updates its weight and mutuality if it exists.
    pub async fn add_tie(&self, tie: &Tie) -> StoreResult<(tie::Model, WriteCounts)> {
        let txn = self.begin_write().await?;
        let resolved = resolve_customers(&*txn, &[tie.from().as_str(), tie.to().as_str()]).await?;
        let (from, to) = (resolved.ids[tie.from().as_str()], resolved.ids[tie.to().as_str()]);
        let counts = upsert_ties(&*txn, &[(from, to, tie)], &resolved.aliases).await?;
        if tie.mutual() && !resolved.aliases.is_empty() {
            crate::mutual_ties::order_mutual_ties(&*txn, &[from, to]).await?;
        }
        crate::changes::record_touched(&*txn, &[from, to]).await?;
        let ends = Condition::any().add(tie::Column::FromId.eq(from).and(tie::Column::ToId.eq(to))).add(
            tie::Column::FromId.eq(to).and(tie::Column::ToId.eq(from)).and(tie::Column::Mutual.eq(true)),
        );
        let stored = tie::Entity::find()
            .filter(ends)
            .filter(tie::Column::Kind.eq(tie.kind().as_str()))
            .one(&*txn)
            .await?;
        txn.commit().await?;
        let stored =
            stored.ok_or_else(|| StoreError::NotFound { what: "tie", key: format!("{from}->{to}") })?;
        Ok((stored, counts))
    }

    /// Removes the tie of `kind` from `from` to `to` (a mutual one in either direction).
    /// Returns the removed ties, which tell their ends; an unknown customer is `NotFound`.
    pub async fn remove_tie(&self, from: &str, to: &str, kind: TieKind) -> StoreResult<Vec<tie::Model>> {
        let a = self.existing_customer(from).await?;
        let b = self.existing_customer(to).await?;
        let matching = Condition::all().add(tie::Column::Kind.eq(kind.as_str())).add(
            Condition::any().add(tie::Column::FromId.eq(a.id).and(tie::Column::ToId.eq(b.id))).add(
                tie::Column::FromId
                    .eq(b.id)
                    .and(tie::Column::ToId.eq(a.id))
                    .and(tie::Column::Mutual.eq(true)),
            ),
        );
        let txn = self.begin_write().await?;
        let removed = tie::Entity::find().filter(matching.clone()).all(&*txn).await?;
        tie::Entity::delete_many().filter(matching).exec(&*txn).await?;
        if !removed.is_empty() {
            crate::changes::record_touched(&*txn, &[a.id, b.id]).await?;
        }
        txn.commit().await?;
        Ok(removed)
    }

    /// Adds a need, or updates its kind, source and weight if the customer has that tag.
    pub async fn add_need(&self, need: &Need) -> StoreResult<(need::Model, WriteCounts)> {
        let txn = self.begin_write().await?;
        let external_id = need.customer_external_id.as_str();
        let resolved = resolve_customers(&*txn, &[external_id]).await?;
        let customer_id = resolved.ids[external_id];
        let counts = upsert_needs(&*txn, &[(customer_id, need)], &resolved.aliases).await?;
        crate::changes::record_touched(&*txn, &[customer_id]).await?;
        let stored = need::Entity::find()
            .filter(need::Column::CustomerId.eq(customer_id))
            .filter(need::Column::Tag.eq(need.tag.as_str()))
            .one(&*txn)
            .await?;
        txn.commit().await?;
        let stored =
            stored.ok_or_else(|| StoreError::NotFound { what: "need", key: need.tag.to_string() })?;
        Ok((stored, counts))
    }

    /// Removes a customer's need by tag. Returns the removed need, if there was one; an
    /// unknown customer is `NotFound`.
    pub async fn remove_need(
        &self,
        customer_external_id: &str,
        tag: &NeedTag,
    ) -> StoreResult<Option<need::Model>> {
        let customer = self.existing_customer(customer_external_id).await?;
        let txn = self.begin_write().await?;
        let found = need::Entity::find()
            .filter(need::Column::CustomerId.eq(customer.id))
            .filter(need::Column::Tag.eq(tag.as_str()))
            .one(&*txn)
            .await?;
        if let Some(need) = &found {
            need::Entity::delete_by_id(need.id).exec(&*txn).await?;
            crate::changes::record_touched(&*txn, &[customer.id]).await?;
        }
        txn.commit().await?;
        Ok(found)
    }
}

impl Store {
    async fn existing_customer(&self, external_id: &str) -> StoreResult<crate::entity::customer::Model> {
        self.customer_by_external_id(external_id)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "customer", key: external_id.to_owned() })
    }
}
