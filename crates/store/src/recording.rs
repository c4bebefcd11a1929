//! Recording interactions from the API. Calls that arrive while others are being written
//! are written together, in one transaction of a handful of statements (see
//! [`GroupCommit`](crate::group_commit::GroupCommit)); each call still gets its own answer.

use crate::connect::Store;
use crate::entity::interaction;
use crate::error::{StoreError, StoreResult};
use crate::write::{insert_interactions_returning, resolve_customers};
use crate::written::{Recorded, WriteCounts};
use kindred_domain::Interaction;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use std::collections::{HashMap, HashSet};

impl Store {
    /// Records one interaction (creating its customer if unknown). Recording the same
    /// interaction again changes nothing and returns the stored one. Concurrent calls are
    /// written together; a call that fails does not fail the others.
    pub async fn record_interaction(&self, interaction: &Interaction) -> Recorded {
        let store = self.clone();
        self.recordings
            .submit(interaction.clone(), move |group| async move { store.record_group(group).await })
            .await
            .unwrap_or_else(|_| Err(StoreError::Interrupted))
    }

    /// Writes a group in one transaction; if that fails, writes each alone so that one bad
    /// interaction does not fail the rest.
    async fn record_group(&self, group: Vec<Interaction>) -> Vec<Recorded> {
        if group.len() > 1 {
            match self.record_together(&group).await {
                Ok(recorded) => return recorded,
                Err(error) => {
                    tracing::debug!(%error, size = group.len(), "group write failed; writing one by one")
                }
            }
        }
        let mut recorded = Vec::with_capacity(group.len());
        for interaction in &group {
            recorded.push(self.record_alone(interaction).await);
        }
        recorded
    }

    /// Records `group` in one transaction: customers resolved at once, one multi-row insert
    /// that returns the new rows, and one read only for those that were stored already.
    async fn record_together(&self, group: &[Interaction]) -> StoreResult<Vec<Recorded>> {
        let txn = self.begin_write().await?;
        let external_ids: Vec<&str> = group.iter().map(|i| i.customer_external_id.as_str()).collect();
        let resolved = resolve_customers(&*txn, &external_ids).await?;
        let rows: Vec<(i64, &Interaction)> =
            group.iter().map(|i| (resolved.ids[i.customer_external_id.as_str()], i)).collect();
        let inserted = insert_interactions_returning(&*txn, &rows, &resolved.aliases).await?;
        let inserted: HashMap<Key, interaction::Model> =
            inserted.into_iter().map(|row| (Key::of_row(&row), row)).collect();
        let stored_before: Vec<_> = rows
            .iter()
            .filter(|(customer_id, i)| !inserted.contains_key(&Key::of(*customer_id, i)))
            .collect();
        let mut stored = HashMap::new();
        if !stored_before.is_empty() {
            let wanted = stored_before
                .iter()
                .fold(Condition::any(), |any, (customer_id, i)| any.add(same_as(*customer_id, i)));
            let rows = interaction::Entity::find().filter(wanted).all(&*txn).await?;
            stored = rows.into_iter().map(|row| (Key::of_row(&row), row)).collect();
        }
        let touched: Vec<i64> = rows.iter().map(|(customer_id, _)| *customer_id).collect();
        crate::changes::record_touched(&*txn, &touched).await?;
        txn.commit().await?;
        let mut counted = HashSet::new();
        Ok(rows
            .iter()
            .map(|(customer_id, i)| {
                let key = Key::of(*customer_id, i);
                if let Some(row) = inserted.get(&key) {
                    // The first of several equal interactions in the group inserted the row.
                    let counts = if counted.insert(row.id) {
                        WriteCounts { inserted: 1, ..WriteCounts::default() }
                    } else {
                        WriteCounts { unchanged: 1, ..WriteCounts::default() }
                    };
                    return checked(Some(row.clone()), *customer_id, i).map(|row| (row, counts));
                }
                let found = stored.get(&key).cloned();
                checked(found, *customer_id, i)
                    .map(|row| (row, WriteCounts { unchanged: 1, ..WriteCounts::default() }))
            })
            .collect())
    }

    /// Records one interaction in a transaction of its own.
    async fn record_alone(&self, interaction: &Interaction) -> Recorded {
        let txn = self.begin_write().await?;
        let external_id = interaction.customer_external_id.as_str();
        let resolved = resolve_customers(&*txn, &[external_id]).await?;
        let customer_id = resolved.ids[external_id];
        crate::changes::record_touched(&*txn, &[customer_id]).await?;
        if let Some(row) =
            insert_interactions_returning(&*txn, &[(customer_id, interaction)], &resolved.aliases)
                .await?
                .pop()
        {
            txn.commit().await?;
            return Ok((row, WriteCounts { inserted: 1, ..WriteCounts::default() }));
        }
        let candidates =
            interaction::Entity::find().filter(same_as(customer_id, interaction)).all(&*txn).await?;
        txn.commit().await?;
        let key = Key::of(customer_id, interaction);
        let stored = candidates.into_iter().find(|row| Key::of_row(row) == key);
        Ok((
            checked(stored, customer_id, interaction)?,
            WriteCounts { unchanged: 1, ..WriteCounts::default() },
        ))
    }
}

/// Rows that may be the stored interaction `i` (or one it duplicates): the one with its
/// source id, or those with its customer, time, kind and amount; their [`Key`] picks it.
/// `source_id IS NULL` is left to the [`Key`] on purpose: SQLite would answer it from the
/// unique index on source ids by walking every row without one.
fn same_as(customer_id: i64, i: &Interaction) -> Condition {
    match &i.source_id {
        Some(source) => Condition::all().add(interaction::Column::SourceId.eq(source.as_str())),
        None => Condition::all()
            .add(interaction::Column::CustomerId.eq(customer_id))
            .add(interaction::Column::OccurredAt.eq(i.occurred_at))
            .add(interaction::Column::Kind.eq(i.kind.as_str()))
            .add(match i.amount {
                Some(amount) => interaction::Column::Amount.eq(amount.value()),
                None => interaction::Column::Amount.is_null(),
            }),
    }
}

/// What identifies a stored interaction, as [`same_as`] finds it: its source id, or without
/// one, its customer, time (to the microsecond, the precision PostgreSQL keeps), kind and
/// amount.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Source(String),
    Natural { customer_id: i64, micros: i64, kind: String, amount: Option<u64> },
}

impl Key {
    /// The key of interaction `i` of customer `customer_id`.
    fn of(customer_id: i64, i: &Interaction) -> Self {
        match &i.source_id {
            Some(source) => Key::Source(source.as_str().to_owned()),
            None => Key::Natural {
                customer_id,
                micros: i.occurred_at.timestamp_micros(),
                kind: i.kind.as_str().to_owned(),
                amount: i.amount.map(|a| normal_bits(a.value())),
            },
        }
    }

    /// The key of a stored row.
    fn of_row(row: &interaction::Model) -> Self {
        match &row.source_id {
            Some(source) => Key::Source(source.clone()),
            None => Key::Natural {
                customer_id: row.customer_id,
                micros: row.occurred_at.timestamp_micros(),
                kind: row.kind.clone(),
                amount: row.amount.map(normal_bits),
            },
        }
    }
}

/// The stored row for `i`, or why there is none that belongs to its customer.
fn checked(
    stored: Option<interaction::Model>,
    customer_id: i64,
    i: &Interaction,
) -> StoreResult<interaction::Model> {
    let stored = stored.ok_or_else(|| StoreError::NotFound {
        what: "interaction",
        key: format!("{} at {}", i.customer_external_id.as_str(), i.occurred_at),
    })?;
    if stored.customer_id != customer_id {
        let source = i.source_id.as_ref().map_or("", |s| s.as_str());
        return Err(StoreError::Conflict(format!(
            "source id {source:?} is already used by an interaction of another customer"
        )));
    }
    Ok(stored)
}

/// The bits of `value`, with -0 as 0 (SQL finds them equal).
fn normal_bits(value: f64) -> u64 {
    (value + 0.0).to_bits()
}
