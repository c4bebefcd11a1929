//! Identity in the store: the identifiers each customer is known by, deterministic
//! resolution of customer records on every write, merges with their log, and unmerges.
//! The rules themselves are pure, in [`kindred_domain::identity`].

mod alias_writes;
mod jobs;
mod merge;
mod probabilistic;
mod records;
mod snapshot;
mod unmerge;
mod write;

pub use crate::identifiers::DEFAULT_ORIGIN;
pub use kindred_matching::Settings as MatchSettings;
pub(crate) use merge::merge_in;
pub use merge::{AppliedMerge, MergeReason};
pub use probabilistic::{ResolveProgress, ResolveReport, evidence};
pub use unmerge::Unmerged;
pub use write::CustomersWritten;
pub(crate) use write::write_customer_records;

use crate::connect::Store;
use crate::entity::{customer_identifier, merge_log};
use crate::error::{StoreError, StoreResult};
use kindred_domain::identity::{Identifier, IdentityPolicy};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::Arc;

/// Serialises, until `conn`'s transaction ends, every transaction that resolves customer
/// records or merges customers: two writers must not both decide that an email is new, nor
/// merge the same customer twice. SQLite has one writer at a time already; on PostgreSQL a
/// transaction-scoped advisory lock (taken again by the same transaction is free), keyed by
/// the schema, so deployments in other schemas of the same database do not wait for it.
pub(crate) async fn lock_identity<C: sea_orm::ConnectionTrait>(conn: &C) -> StoreResult<()> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared(
            "SELECT pg_advisory_xact_lock(hashtext('kindred identity ' || current_schema()))",
        )
        .await?;
    }
    Ok(())
}

/// The evidence of a merge on shared identifiers, as the merge log stores it.
pub(crate) fn shared_identifiers(evidence: &[Identifier]) -> serde_json::Value {
    serde_json::json!({
        "shared": evidence
            .iter()
            .map(|id| serde_json::json!({ "kind": id.kind.stored(), "value": id.value }))
            .collect::<Vec<_>>()
    })
}

impl Store {
    /// This store with `policy` for matching and merging customer records.
    pub fn with_identity(mut self, policy: IdentityPolicy) -> Self {
        self.identity = Arc::new(policy);
        self
    }

    /// How this store matches and merges customer records.
    pub fn identity_policy(&self) -> &IdentityPolicy {
        &self.identity
    }

    /// Merges each of `absorbed` into `survivor`, in one transaction, as a person (`by`)
    /// decided: the limits of automatic matching do not apply.
    pub async fn merge_customers(
        &self,
        survivor: i64,
        absorbed: &[i64],
        by: &str,
    ) -> StoreResult<Vec<AppliedMerge>> {
        let mut absorbed: Vec<i64> = absorbed.iter().copied().filter(|id| *id != survivor).collect();
        absorbed.sort_unstable();
        absorbed.dedup();
        if absorbed.is_empty() {
            return Err(StoreError::Conflict(
                "a merge needs at least one customer besides the survivor".to_owned(),
            ));
        }
        let txn = self.begin_write().await?;
        let mut applied = Vec::with_capacity(absorbed.len());
        for id in absorbed {
            let evidence = serde_json::json!({ "decided_by": by });
            match merge_in(&*txn, &self.identity, survivor, id, MergeReason::Manual, evidence, by).await {
                Ok(merge) => applied.push(merge),
                Err(error) => {
                    txn.rollback().await?;
                    return Err(error);
                }
            }
        }
        txn.commit().await?;
        Ok(applied)
    }

    /// Undoes merge `merge_id` as `by`.
    pub async fn unmerge(&self, merge_id: i64, by: &str) -> StoreResult<Unmerged> {
        let txn = self.begin_write().await?;
        match unmerge::unmerge_in(&*txn, merge_id, by).await {
            Ok(unmerged) => {
                txn.commit().await?;
                Ok(unmerged)
            }
            Err(error) => {
                txn.rollback().await?;
                Err(error)
            }
        }
    }

    /// The identifiers customer `id` is known by, oldest first.
    pub async fn identifiers(&self, id: i64) -> StoreResult<Vec<customer_identifier::Model>> {
        Ok(customer_identifier::Entity::find()
            .filter(customer_identifier::Column::CustomerId.eq(id))
            .order_by_asc(customer_identifier::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// The merges customer `id` took part in, as survivor or absorbed, oldest first.
    pub async fn merge_history(&self, id: i64) -> StoreResult<Vec<merge_log::Model>> {
        Ok(merge_log::Entity::find()
            .filter(
                Condition::any()
                    .add(merge_log::Column::SurvivorId.eq(id))
                    .add(merge_log::Column::AbsorbedId.eq(id)),
            )
            .order_by_asc(merge_log::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// The merges of customer `id` and of every customer merged into it (following merges of
    /// merges still in force), oldest first: what an export of the person shows.
    pub async fn merge_history_with_absorbed(&self, id: i64) -> StoreResult<Vec<merge_log::Model>> {
        let mut people = vec![id];
        let mut entries: Vec<merge_log::Model> = Vec::new();
        let mut next = 0;
        while next < people.len() {
            let person = people[next];
            next += 1;
            for entry in self.merge_history(person).await? {
                if entry.survivor_id == person
                    && entry.unmerged_at.is_none()
                    && !people.contains(&entry.absorbed_id)
                {
                    people.push(entry.absorbed_id);
                }
                if !entries.iter().any(|known| known.id == entry.id) {
                    entries.push(entry);
                }
            }
        }
        entries.sort_by_key(|entry| entry.id);
        Ok(entries)
    }

    /// One merge log entry.
    pub async fn merge_entry(&self, merge_id: i64) -> StoreResult<Option<merge_log::Model>> {
        Ok(merge_log::Entity::find_by_id(merge_id).one(self.connection()).await?)
    }

    /// Merge log entries after `after` (newest last), at most `limit`.
    pub async fn merge_log(&self, after: Option<i64>, limit: u64) -> StoreResult<Vec<merge_log::Model>> {
        let mut query = merge_log::Entity::find().order_by_asc(merge_log::Column::Id).limit(limit);
        if let Some(after) = after {
            query = query.filter(merge_log::Column::Id.gt(after));
        }
        Ok(query.all(self.connection()).await?)
    }
}
