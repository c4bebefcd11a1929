//! The engine's metrics, recorded through the `metrics` facade (the server installs the
//! exporter; without one they cost nothing).

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use std::time::Duration;

/// Refit jobs that ended, by segmentation id and outcome (`succeeded`, `failed`, `cancelled`).
pub const REFIT_JOBS: &str = "kindred_refit_jobs_total";
/// How long refit jobs took, by segmentation id and outcome.
pub const REFIT_SECONDS: &str = "kindred_refit_duration_seconds";
/// Customers waiting in the write worker's queue.
pub const WRITE_QUEUE: &str = "kindred_write_queue_customers";
/// From a write being queued to its re-assignment written and its events published.
pub const WRITE_TO_EVENT_SECONDS: &str = "kindred_write_to_event_seconds";
/// Customers re-assigned because an import (another process) touched them.
pub const FEED_CUSTOMERS: &str = "kindred_feed_customers_total";
/// Webhook deliveries that ended an attempt, by status (`delivered`, `retrying`, `failed`,
/// `withheld`).
pub const WEBHOOK_DELIVERIES: &str = "kindred_webhook_deliveries_total";
/// Membership changes published, by reason (`refit`, `write`, `schedule`, `manual`).
pub const MEMBERSHIP_CHANGES: &str = "kindred_membership_changes_total";

/// Segmentations that became degraded (re-assignment after writes failed), by segmentation id.
pub const DEGRADATIONS: &str = "kindred_segmentation_degradations_total";

/// Describes this crate's metrics to the installed recorder.
pub fn describe() {
    describe_counter!(REFIT_JOBS, "Refit jobs that ended, by segmentation id and outcome.");
    describe_histogram!(
        REFIT_SECONDS,
        metrics::Unit::Seconds,
        "Duration of refit jobs, by segmentation id and outcome."
    );
    describe_gauge!(WRITE_QUEUE, "Rows waiting in the durable queue of touched customers.");
    describe_histogram!(
        WRITE_TO_EVENT_SECONDS,
        metrics::Unit::Seconds,
        "From a write queueing its customers to their re-assignment written and published."
    );
    describe_counter!(FEED_CUSTOMERS, "Customers the write worker read from the queue of touched customers.");
    describe_counter!(WEBHOOK_DELIVERIES, "Webhook delivery attempts that ended, by status.");
    describe_counter!(MEMBERSHIP_CHANGES, "Membership changes (enters and exits) published, by reason.");
    describe_counter!(DEGRADATIONS, "Segmentations that became degraded because re-assignment failed.");
}

/// Segmentation `segmentation` became degraded.
pub(crate) fn degraded(segmentation: i64) {
    counter!(DEGRADATIONS, "segmentation" => segmentation.to_string()).increment(1);
}

/// A refit job of `segmentation` ended with `outcome` after `elapsed`.
pub(crate) fn refit_ended(segmentation: i64, outcome: &'static str, elapsed: Duration) {
    let segmentation = segmentation.to_string();
    counter!(REFIT_JOBS, "segmentation" => segmentation.clone(), "outcome" => outcome).increment(1);
    histogram!(REFIT_SECONDS, "segmentation" => segmentation, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// `rows` wait in the queue of touched customers (0 once it is drained).
pub(crate) fn queue_depth(rows: i64) {
    gauge!(WRITE_QUEUE).set(rows as f64);
}

/// A write queued `lag` ago has had its events published.
pub(crate) fn write_published(lag: Duration) {
    histogram!(WRITE_TO_EVENT_SECONDS).record(lag.as_secs_f64());
}

/// The change feed handed `customers` to the write worker.
pub(crate) fn feed_customers(customers: usize) {
    counter!(FEED_CUSTOMERS).increment(customers as u64);
}

/// A webhook delivery attempt ended with `status`.
pub(crate) fn webhook_delivery(status: &'static str, deliveries: u64) {
    counter!(WEBHOOK_DELIVERIES, "status" => status).increment(deliveries);
}

/// `changes` membership changes were published for `reason`.
pub(crate) fn membership_changes(reason: &'static str, changes: usize) {
    counter!(MEMBERSHIP_CHANGES, "reason" => reason).increment(changes as u64);
}
