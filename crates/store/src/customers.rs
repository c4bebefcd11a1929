//! Reading, listing, writing and deleting customers.

use crate::connect::Store;
use crate::entity::{customer, interaction, membership, need};
use crate::error::StoreResult;
use crate::sql::{like_escape, marks};
use crate::write::WriteCounts;
use kindred_domain::Customer;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// What writing one customer record did.
#[derive(Debug, Clone)]
pub struct CustomerWritten {
    /// The customer as stored (the one the record resolved to).
    pub customer: customer::Model,
    /// What happened to its row.
    pub counts: WriteCounts,
    /// Customers the record showed to be the same person, merged into it.
    pub merges: Vec<crate::identity::AppliedMerge>,
}

/// Which customers to list; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Email address, any case.
    pub email: Option<String>,
    /// Two-letter country code, any case.
    pub country: Option<String>,
    /// City, exactly.
    pub city: Option<String>,
    /// Phone number, in E.164 (callers normalise what they were given).
    pub phone: Option<String>,
    /// Postal code, any case and spacing.
    pub postcode: Option<String>,
    /// A lifestyle tag the customer has.
    pub lifestyle: Option<String>,
    /// A need tag the customer has.
    pub need_tag: Option<String>,
}

impl Store {
    /// The customer with this id.
    pub async fn customer(&self, id: i64) -> StoreResult<Option<customer::Model>> {
        let sql = "SELECT * FROM customers WHERE id = ?".to_owned();
        Ok(self.read_rows(sql, vec![id.into()], 1).await?.pop())
    }

    /// The customer with this external id, or the one it was merged into (an alias).
    pub async fn customer_by_external_id(&self, external_id: &str) -> StoreResult<Option<customer::Model>> {
        let sql = "SELECT * FROM customers WHERE id = COALESCE(\
                   (SELECT id FROM customers WHERE external_id = ?), \
                   (SELECT customer_id FROM customer_identifiers WHERE kind = 'external_id' AND value = ?))"
            .to_owned();
        let external_id = external_id.trim();
        Ok(self.read_rows(sql, vec![external_id.into(), external_id.into()], 1).await?.pop())
    }

    /// The ids of the customers with these external ids (unknown ones are left out).
    pub async fn ids_of_external_ids(
        &self,
        external_ids: &[&str],
    ) -> StoreResult<std::collections::HashMap<String, i64>> {
        let mut found = std::collections::HashMap::with_capacity(external_ids.len());
        for chunk in external_ids.chunks(5_000) {
            let rows: Vec<(i64, String)> = customer::Entity::find()
                .select_only()
                .columns([customer::Column::Id, customer::Column::ExternalId])
                .filter(customer::Column::ExternalId.is_in(chunk.iter().map(|id| id.trim())))
                .into_tuple()
                .all(self.connection())
                .await?;
            found.extend(rows.into_iter().map(|(id, external_id)| (external_id, id)));
        }
        Ok(found)
    }

    /// The customers with these ids (in no particular order; missing ids are skipped).
    pub async fn customers_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<customer::Model>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT * FROM customers WHERE id IN ({})", marks(ids.len()));
        let values = ids.iter().map(|id| (*id).into()).collect();
        self.read_rows(sql, values, ids.len()).await
    }

    /// Up to `limit` customers matching `filter` with an id above `after`, by id.
    pub async fn list_customers(
        &self,
        filter: &CustomerFilter,
        after: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<customer::Model>> {
        let mut query = customer::Entity::find().order_by_asc(customer::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(customer::Column::Id.gt(after));
        }
        if let Some(email) = &filter.email {
            query = query.filter(customer::Column::Email.eq(email.trim().to_lowercase()));
        }
        if let Some(country) = &filter.country {
            query = query.filter(customer::Column::Country.eq(country.trim().to_uppercase()));
        }
        if let Some(city) = &filter.city {
            query = query.filter(customer::Column::City.eq(city.trim()));
        }
        if let Some(phone) = &filter.phone {
            query = query.filter(customer::Column::Phone.eq(phone.trim()));
        }
        if let Some(postcode) = &filter.postcode {
            let normalised = postcode.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
            query = query.filter(customer::Column::Postcode.eq(normalised));
        }
        if let Some(tag) = &filter.lifestyle {
            let pattern = format!("%;{};%", like_escape(&tag.trim().to_lowercase()));
            query = query
                .filter(Expr::cust("(';' || lifestyle || ';')").like(LikeExpr::new(pattern).escape('!')));
        }
        if let Some(tag) = &filter.need_tag {
            let holders = Query::select()
                .column(need::Column::CustomerId)
                .from(need::Entity)
                .and_where(Expr::col(need::Column::Tag).eq(tag.trim().to_lowercase()))
                .to_owned();
            query = query.filter(customer::Column::Id.in_subquery(holders));
        }
        Ok(query.all(self.connection()).await?)
    }

    /// Creates or updates one customer by external id (known values overwrite, unknown keep)
    /// and returns the stored row with what happened. An erased customer is refused
    /// ([`StoreError::Erased`](crate::StoreError::Erased)).
    pub async fn upsert_customer(&self, customer: Customer) -> StoreResult<(customer::Model, WriteCounts)> {
        self.upsert_customer_with(customer, false).await
    }

    /// [`Store::upsert_customer`]; with `allow_erased`, an erased customer is re-created and
    /// their tombstone removed.
    pub async fn upsert_customer_with(
        &self,
        customer: Customer,
        allow_erased: bool,
    ) -> StoreResult<(customer::Model, WriteCounts)> {
        let written = self.write_customer(customer, allow_erased, "api").await?;
        Ok((written.customer, written.counts))
    }

    /// Writes one customer record through identity resolution, as `by`: it updates the
    /// customer its identifiers name (or a new one), and merges the customers it brings
    /// together. With `allow_erased`, an erased customer is re-created and their tombstone
    /// removed; otherwise refused ([`StoreError::Erased`](crate::StoreError::Erased)).
    pub async fn write_customer(
        &self,
        customer: Customer,
        allow_erased: bool,
        by: &str,
    ) -> StoreResult<CustomerWritten> {
        let external_id = customer.external_id.as_str().to_owned();
        let txn = self.begin_write().await?;
        if allow_erased {
            crate::erasure::forget_erased(&*txn, &[&external_id]).await?;
        } else if !crate::erasure::erased_among(&*txn, &[&external_id]).await?.is_empty() {
            return Err(crate::StoreError::Erased { external_id });
        }
        let written =
            match crate::identity::write_customer_records(&*txn, &self.identity, vec![customer], by).await {
                Ok(written) => written,
                Err(error) => {
                    txn.rollback().await?;
                    return Err(error);
                }
            };
        let own = written.external_ids.first().cloned().unwrap_or(external_id);
        let mut stored =
            customer::Entity::find().filter(customer::Column::ExternalId.eq(own.as_str())).one(&*txn).await?;
        if let (None, Some(merge)) = (&stored, written.merges.last()) {
            stored = customer::Entity::find_by_id(merge.entry.survivor_id).one(&*txn).await?;
        }
        if let Some(stored) = &stored {
            crate::changes::record_touched(&*txn, &[stored.id]).await?;
        }
        txn.commit().await?;
        let stored =
            stored.ok_or_else(|| crate::StoreError::NotFound { what: "customer", key: own.clone() })?;
        Ok(CustomerWritten { customer: stored, counts: written.counts, merges: written.merges })
    }

    /// Deletes a customer with its interactions, ties and needs; the segments they leave are
    /// queued for webhooks and for every server's subscribers. Returns whether it existed.
    pub async fn delete_customer(&self, id: i64) -> StoreResult<bool> {
        use crate::memberships::{Member, MembershipDiff};
        use crate::states::ChangeReason;
        let txn = self.begin_write().await?;
        // Writers of interactions for them finish first; later ones find them gone.
        crate::customer_locks::lock_for_removal(&*txn, &[id]).await?;
        // The customer leaves every segment: webhooks hear it, with the external id the
        // customer still has inside this transaction.
        let memberships =
            membership::Entity::find().filter(membership::Column::CustomerId.eq(id)).all(&*txn).await?;
        let mut exits: std::collections::BTreeMap<i64, Vec<Member>> = std::collections::BTreeMap::new();
        for row in memberships {
            let member = Member { customer_id: row.customer_id, segment: row.segment, score: row.score };
            exits.entry(row.segmentation_id).or_default().push(member);
        }
        let now = chrono::Utc::now();
        // Their membership events go with them: the exits every server publishes are kept
        // with those of merged customers, which outlive their customer the same way.
        for (segmentation_id, exited) in &exits {
            for member in exited {
                let sql = "INSERT INTO merge_exits (segmentation_id, customer_id, segment, score) VALUES (?, ?, ?, ?)";
                let values = vec![
                    (*segmentation_id).into(),
                    member.customer_id.into(),
                    member.segment.clone().into(),
                    member.score.into(),
                ];
                txn.execute_raw(crate::sql::statement(self.backend(), sql, values)).await?;
            }
        }
        if !exits.is_empty() {
            crate::feed::notify(&*txn, crate::feed::EVENTS_CHANNEL, "").await?;
        }
        for (segmentation_id, exited) in exits {
            let diff = MembershipDiff { exited, ..Default::default() };
            crate::webhooks::enqueue(&*txn, segmentation_id, &diff, ChangeReason::Write, now).await?;
        }
        // Foreign keys cascade to ties (both ends), needs, memberships and their history, and
        // on SQLite to interactions; on PostgreSQL they go here, once writers holding the
        // customer have finished (see `customer_locks`).
        interaction::Entity::delete_many().filter(interaction::Column::CustomerId.eq(id)).exec(&*txn).await?;
        let result = customer::Entity::delete_by_id(id).exec(&*txn).await?;
        txn.commit().await?;
        Ok(result.rows_affected > 0)
    }

    /// How many customers there are.
    pub async fn count_customers(&self) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(customer::Entity::find().count(self.connection()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_escape("trail_running"), "trail!_running");
        assert_eq!(like_escape("50%!"), "50!%!!");
    }
}
