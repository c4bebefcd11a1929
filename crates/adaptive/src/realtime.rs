//! The write worker: customers touched by writes are re-assigned in every dynamic
//! segmentation with what its last fit learned. Writes only push to a queue; the worker
//! drains it in batches, so under load one re-assignment serves many writes.

use crate::diff::diff;
use crate::engine::Inner;
use kindred_segment::{StrategyInstance, assign_customers};
use kindred_store::{ChangeReason, Member};
use std::sync::{Arc, PoisonError};
use tokio::sync::mpsc;

/// Runs until the queue closes.
pub(crate) async fn worker(inner: Arc<Inner>, mut queue: mpsc::UnboundedReceiver<Vec<i64>>) {
    while let Some(mut customers) = queue.recv().await {
        while customers.len() < inner.settings.write_batch {
            match queue.try_recv() {
                Ok(more) => customers.extend(more),
                Err(_) => break,
            }
        }
        customers.sort_unstable();
        customers.dedup();
        reassign(&inner, &customers).await;
    }
}

/// Re-assigns `customers` in every dynamic segmentation that has a fitted instance, all
/// segmentations at once. Those being refitted get them after the refit is written instead.
pub(crate) async fn reassign(inner: &Arc<Inner>, customers: &[i64]) {
    let live: Vec<_> = {
        let live = inner.live.read().unwrap_or_else(PoisonError::into_inner);
        live.iter().map(|(id, instance)| (*id, instance.clone())).collect()
    };
    let each = live.into_iter().map(|(id, instance)| reassign_in(inner, id, instance, customers));
    futures::future::join_all(each).await;
}

/// Re-assigns `customers` in segmentation `id` with its live `instance`, and writes and
/// publishes what changed.
async fn reassign_in(inner: &Arc<Inner>, id: i64, instance: Arc<StrategyInstance>, customers: &[i64]) {
    {
        let mut jobs = inner.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(job) = jobs.get_mut(&id) {
            job.touched.extend_from_slice(customers);
            return;
        }
    }
    let lock = inner.lock_for(id);
    let _guard = lock.lock().await;
    let as_of = chrono::Utc::now().timestamp_micros();
    let assigned = match assign_customers(&inner.store, &instance, customers, as_of).await {
        Ok(assigned) => assigned,
        Err(error) => {
            tracing::warn!(segmentation = id, %error, customers = customers.len(), "re-assigning touched customers failed");
            return;
        }
    };
    let new: Vec<Member> = assigned
        .into_iter()
        .map(|m| Member { customer_id: m.customer_id, segment: m.segment, score: m.score })
        .collect();
    let written = async {
        let old = inner.store.members_among(id, customers).await?;
        let difference = diff(old, new);
        if difference.is_empty() {
            return Ok(None);
        }
        let at = inner.store.apply_membership_diff(id, &difference, ChangeReason::Write, None, None).await?;
        Ok::<_, kindred_store::StoreError>(Some((difference, at)))
    }
    .await;
    match written {
        Ok(Some((difference, at))) => inner.publish(id, &difference, ChangeReason::Write, at),
        Ok(None) => {}
        // A segmentation deleted meanwhile refuses the write; nothing to do.
        Err(error) => tracing::warn!(segmentation = id, %error, "writing re-assigned memberships failed"),
    }
}
