//! The write worker: customers touched by writes are re-assigned in every dynamic
//! segmentation with what its last fit learned. Writes append the customers they touched to
//! the store's queue in their own transaction and wake the worker; the worker reads the queue
//! in batches, so under load one re-assignment serves many writes. A batch reads the
//! customers' rows once for all segmentations and writes every segmentation's changes, with
//! the removal of the queue rows it consumed, in one transaction: a crash before that commit
//! leaves the rows queued, to be read again at the next start. Customers touched while a
//! segmentation is being refitted are set aside for it (`segmentation_pending`) and
//! re-assigned once its refit has ended. Servers sharing one PostgreSQL share the queue: each
//! claims the batches it reads, and writes under the segmentations' database lock.

use crate::diff::diff;
use crate::state::Inner;
use kindred_plugin_host::{Membership, StrategyInstance, assign_customers_in_each};
use kindred_store::{ChangeReason, Consumed, Member, MembershipDiff, SegmentationLock, StoreResult};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

/// Runs for as long as the engine lives: a round whenever a write wakes it, and at every
/// poll (imports and merges by other processes only append to the queue).
pub(crate) async fn worker(inner: Arc<Inner>) {
    loop {
        let times = inner.wake.take_times();
        let drained = drain(&inner).await;
        for at in times {
            crate::metrics::write_published(at.elapsed());
        }
        if let Err(error) = drained {
            tracing::warn!(%error, "re-assigning touched customers failed; they stay queued");
        }
        tokio::select! {
            () = inner.wake.woken() => {}
            () = tokio::time::sleep(inner.settings.change_poll) => {}
        }
    }
}

/// Consumes the queue until it is empty (of rows no other server holds), then what waits for
/// segmentations whose refit has ended.
async fn drain(inner: &Arc<Inner>) -> StoreResult<()> {
    let limit = inner.settings.write_batch as u64;
    while reassign(inner, None).await? == Round::Done {}
    for segmentation in inner.store.segmentations_with_pending().await? {
        let refitting = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&segmentation);
        let live = inner.live.read().unwrap_or_else(PoisonError::into_inner).contains_key(&segmentation);
        if refitting {
            continue;
        }
        if !live {
            let modelled = inner.store.segmentation(segmentation).await?.and_then(|s| s.model_job_id);
            if modelled.is_some() {
                // Another server holds its model (one this server could not load).
                continue;
            }
            // No model anywhere to assign with (its first refit failed, or the plugin is
            // gone): its next refit covers these customers.
            loop {
                let pending = inner.store.pending_for(segmentation, limit).await?;
                if pending.is_empty() {
                    break;
                }
                let consumed = Consumed { pending: pending.rows, ..Default::default() };
                inner.store.apply_membership_diffs(&[], ChangeReason::Write, &consumed).await?;
            }
            continue;
        }
        // Until empty, or left for later (being refitted, or its model changed, elsewhere).
        while reassign(inner, Some(segmentation)).await? == Round::Done {}
    }
    crate::metrics::queue_depth(0);
    Ok(())
}

/// What one round of [`reassign`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// A batch was re-assigned and consumed.
    Done,
    /// Nothing to read.
    Empty,
    /// `only` cannot be re-assigned here now; nothing was consumed.
    Left,
}

/// Claims a batch of the queue (or with `only` of the rows waiting for that segmentation) and
/// re-assigns its customers in every dynamic segmentation that has a fitted instance, all at
/// once, consuming the rows in the transaction that writes the differences. Segmentations
/// being refitted (on any server), and those whose current model this server does not hold
/// yet, get the customers set aside for later instead. Everything from claiming the rows to
/// the commit happens in one transaction holding the segmentations' database locks, so
/// servers sharing the queue write one after the other, each from what the one before
/// committed, and never read the same rows.
async fn reassign(inner: &Arc<Inner>, only: Option<i64>) -> StoreResult<Round> {
    let limit = inner.settings.write_batch as u64;
    let mut ids: Vec<i64> = {
        let live = inner.live.read().unwrap_or_else(PoisonError::into_inner);
        live.keys().copied().filter(|id| only.is_none_or(|only| only == *id)).collect()
    };
    // Locks in id order, so two holders of several never wait on each other; this process's
    // locks before the database's, as a refit takes them.
    ids.sort_unstable();
    let locks: Vec<_> = ids.iter().map(|id| inner.lock_for(*id)).collect();
    let mut held = Vec::with_capacity(locks.len());
    for lock in &locks {
        held.push(lock.lock().await);
    }
    let locked = inner.store.lock_segmentations(&ids).await?;
    let batch = match only {
        None => inner.store.claim_queued_changes(&locked, limit).await?,
        Some(segmentation) => inner.store.claim_pending(&locked, segmentation, limit).await?,
    };
    if batch.is_empty() {
        locked.release().await?;
        return Ok(Round::Empty);
    }
    if batch.customers.len() as u64 >= limit || only.is_some() {
        crate::metrics::queue_depth(inner.store.queued_change_count().await?);
    }
    if only.is_none() {
        crate::metrics::feed_customers(batch.customers.len());
    }
    let mut consumed = match only {
        Some(_) => Consumed { pending: batch.rows.clone(), ..Default::default() },
        None => Consumed { changes: batch.rows.clone(), ..Default::default() },
    };
    let mut waiting: Vec<i64> =
        inner.jobs.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect();
    waiting.extend(locked.refitting.iter().copied());
    // A model another server's refit replaced: loaded by the model follower, woken here.
    let stale: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| matches!(locked.versions.get(id), Some(Some(current)) if inner.version(*id) != Some(*current)))
        .collect();
    if !stale.is_empty() {
        inner.models_wake.notify_one();
    }
    waiting.extend(stale.iter().copied());
    waiting.sort_unstable();
    waiting.dedup();
    if let Some(only) = only {
        if waiting.contains(&only) {
            locked.release().await?;
            return Ok(Round::Left);
        }
    } else {
        // Customers whose data the model being replaced already covers need nothing.
        consumed.deferred = waiting
            .iter()
            .map(|id| (*id, batch.after(inner.covered(*id))))
            .filter(|(_, customers)| !customers.is_empty())
            .collect();
    }
    ids.retain(|id| !waiting.contains(id));
    // Read under the locks: a refit that committed meanwhile left its new instance here.
    let live: Vec<(i64, Arc<StrategyInstance>)> = {
        let live = inner.live.read().unwrap_or_else(PoisonError::into_inner);
        ids.iter().filter_map(|id| live.get(id).map(|instance| (*id, instance.clone()))).collect()
    };
    // Each segmentation re-assigns the customers its model does not cover yet (all of them,
    // but after a refit or a bulk import); those that need the same ones do it together.
    let mut groups: BTreeMap<Vec<i64>, Vec<(i64, Arc<StrategyInstance>)>> = BTreeMap::new();
    for (id, instance) in live {
        let customers: Vec<i64> =
            batch.after(inner.covered(id)).into_iter().map(|(customer, _)| customer).collect();
        if !customers.is_empty() {
            groups.entry(customers).or_default().push((id, instance));
        }
    }
    let mut diffs = Vec::new();
    for (customers, live) in &groups {
        let as_of = chrono::Utc::now().timestamp_micros();
        let instances: Vec<_> = live.iter().map(|(_, instance)| instance.clone()).collect();
        let assigned = assign_customers_in_each(&inner.store, &instances, customers, as_of).await;
        let ids: Vec<i64> = live.iter().map(|(id, _)| *id).collect();
        let mut old = inner.store.members_among_each(&ids, customers).await?;
        for (id, assigned) in ids.iter().zip(assigned) {
            match assigned {
                Ok(assigned) => {
                    let difference = diff(old.remove(id).unwrap_or_default(), members(assigned));
                    if !difference.is_empty() {
                        diffs.push((*id, difference));
                    }
                }
                Err(error) => {
                    // Degraded: its repair refit covers these customers.
                    tracing::warn!(segmentation = id, %error, customers = customers.len(), "re-assigning touched customers failed");
                    crate::repair::degrade(inner, *id, &error.to_string()).await;
                }
            }
        }
    }
    let written = write(inner, locked, diffs, &consumed).await;
    drop(held);
    // A worker that crashed took every instance it held, not only the one that failed here.
    crate::repair::degrade_gone(inner).await;
    written.map(|()| Round::Done)
}

fn members(assigned: Vec<Membership>) -> Vec<Member> {
    assigned
        .into_iter()
        .map(|m| Member { customer_id: m.customer_id, segment: m.segment, score: m.score })
        .collect()
}

/// Writes the diffs together with what they consumed, and publishes them. If that fails (a
/// segmentation deleted meanwhile refuses its part), each is written alone, so the others
/// still land, and the rows are consumed after them; a row read again after a crash in
/// between only re-assigns its customers once more, which changes nothing. Customers deleted
/// meanwhile are left out by the store, and here from what is published.
async fn write(
    inner: &Arc<Inner>,
    locked: SegmentationLock,
    mut diffs: Vec<(i64, MembershipDiff)>,
    consumed: &Consumed,
) -> StoreResult<()> {
    let error = match inner
        .store
        .apply_membership_diffs_locked(locked, &diffs, ChangeReason::Write, consumed)
        .await
    {
        Ok(applied) => {
            for (id, difference) in &mut diffs {
                difference.drop_customers(&applied.gone);
                inner.publish(*id, difference, ChangeReason::Write, applied.at);
            }
            return Ok(());
        }
        Err(error) => error,
    };
    if diffs.len() <= 1 && consumed.deferred.is_empty() {
        return Err(error);
    }
    tracing::debug!(%error, "writing re-assigned memberships together failed; writing each alone");
    let existing: std::collections::HashSet<i64> =
        inner.store.segmentations().await?.into_iter().map(|segmentation| segmentation.id).collect();
    let mut failed = None;
    for (id, difference) in diffs {
        let alone = [(id, difference)];
        match inner.store.apply_membership_diffs(&alone, ChangeReason::Write, &Consumed::default()).await {
            Ok(applied) => {
                let [(_, mut difference)] = alone;
                difference.drop_customers(&applied.gone);
                inner.publish(id, &difference, ChangeReason::Write, applied.at);
            }
            // A segmentation deleted meanwhile has nothing left to keep true.
            Err(error) if !existing.contains(&id) => {
                tracing::debug!(segmentation = id, %error, "a deleted segmentation's memberships were not written")
            }
            Err(error) => failed = Some(error),
        }
    }
    if let Some(error) = failed {
        // Left queued: the next round re-assigns the customers again.
        return Err(error);
    }
    // Set aside only for segmentations that still exist (one deleted meanwhile refuses its
    // rows).
    let mut rest = consumed.clone();
    rest.deferred.retain(|(id, _)| existing.contains(id));
    inner.store.apply_membership_diffs(&[], ChangeReason::Write, &rest).await?;
    Ok(())
}
