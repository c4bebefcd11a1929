//! The write worker: customers touched by writes are re-assigned in every dynamic
//! segmentation with what its last fit learned. Writes only push to a queue; the worker
//! drains it in batches, so under load one re-assignment serves many writes. A batch reads
//! the customers' rows once for all segmentations and writes every segmentation's changes
//! in one transaction.

use crate::diff::diff;
use crate::queue::TouchedReceiver;
use crate::state::Inner;
use kindred_plugin_host::{Membership, StrategyInstance, assign_customers_in_each};
use kindred_store::{ChangeReason, Member, MembershipDiff};
use std::sync::{Arc, PoisonError};

/// Runs until the queue closes.
pub(crate) async fn worker(inner: Arc<Inner>, mut queue: TouchedReceiver) {
    while let Some(first) = queue.recv().await {
        let mut customers = first.customers;
        let mut queued_at = vec![first.at];
        while customers.len() < inner.settings.write_batch {
            match queue.try_recv() {
                Some(more) => {
                    customers.extend(more.customers);
                    queued_at.push(more.at);
                }
                None => break,
            }
        }
        customers.sort_unstable();
        customers.dedup();
        reassign(&inner, &customers).await;
        for at in queued_at {
            crate::metrics::write_published(at.elapsed());
        }
    }
}

/// Re-assigns `customers` in every dynamic segmentation that has a fitted instance, all
/// segmentations at once. Those being refitted get them after the refit is written instead.
pub(crate) async fn reassign(inner: &Arc<Inner>, customers: &[i64]) {
    let mut live: Vec<(i64, Arc<StrategyInstance>)> = {
        let live = inner.live.read().unwrap_or_else(PoisonError::into_inner);
        live.iter().map(|(id, instance)| (*id, instance.clone())).collect()
    };
    {
        let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|(id, _)| match jobs.get_mut(id) {
            Some(job) => {
                job.touched.extend_from_slice(customers);
                false
            }
            None => true,
        });
    }
    if live.is_empty() {
        return;
    }
    // Locks in id order, so two holders of several never wait on each other.
    live.sort_unstable_by_key(|(id, _)| *id);
    let locks: Vec<_> = live.iter().map(|(id, _)| inner.lock_for(*id)).collect();
    let mut held = Vec::with_capacity(locks.len());
    for lock in &locks {
        held.push(lock.lock().await);
    }
    let as_of = chrono::Utc::now().timestamp_micros();
    let instances: Vec<_> = live.iter().map(|(_, instance)| instance.clone()).collect();
    let assigned = assign_customers_in_each(&inner.store, &instances, customers, as_of).await;
    let ids: Vec<i64> = live.iter().map(|(id, _)| *id).collect();
    let mut old = match inner.store.members_among_each(&ids, customers).await {
        Ok(old) => old,
        Err(error) => {
            tracing::warn!(%error, customers = customers.len(), "reading memberships to re-assign failed");
            return;
        }
    };
    let mut diffs = Vec::new();
    for (id, assigned) in ids.iter().zip(assigned) {
        match assigned {
            Ok(assigned) => {
                let difference = diff(old.remove(id).unwrap_or_default(), members(assigned));
                if !difference.is_empty() {
                    diffs.push((*id, difference));
                }
            }
            Err(error) => {
                tracing::warn!(segmentation = id, %error, customers = customers.len(), "re-assigning touched customers failed");
                crate::repair::degrade(inner, *id, &error.to_string()).await;
            }
        }
    }
    write(inner, diffs).await;
    drop(held);
    // A worker that crashed took every instance it held, not only the one that failed here.
    crate::repair::degrade_gone(inner).await;
}

fn members(assigned: Vec<Membership>) -> Vec<Member> {
    assigned
        .into_iter()
        .map(|m| Member { customer_id: m.customer_id, segment: m.segment, score: m.score })
        .collect()
}

/// Writes the diffs together and publishes them. If that fails (a segmentation deleted
/// meanwhile refuses its part), each is written alone, so the others still land. Customers
/// deleted meanwhile are left out by the store, and here from what is published.
async fn write(inner: &Arc<Inner>, mut diffs: Vec<(i64, MembershipDiff)>) {
    if diffs.is_empty() {
        return;
    }
    match inner.store.apply_membership_diffs(&diffs, ChangeReason::Write).await {
        Ok(applied) => {
            for (id, difference) in &mut diffs {
                difference.drop_customers(&applied.gone);
                inner.publish(*id, difference, ChangeReason::Write, applied.at);
            }
            return;
        }
        Err(error) if diffs.len() == 1 => {
            tracing::warn!(segmentation = diffs[0].0, %error, "writing re-assigned memberships failed");
            return;
        }
        Err(_) => {}
    }
    for (id, difference) in &mut diffs {
        match inner.store.apply_membership_diff(*id, difference, ChangeReason::Write, None, None).await {
            Ok(applied) => {
                difference.drop_customers(&applied.gone);
                inner.publish(*id, difference, ChangeReason::Write, applied.at);
            }
            Err(error) => tracing::warn!(segmentation = id, %error, "writing re-assigned memberships failed"),
        }
    }
}
