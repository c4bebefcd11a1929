//! The queue of customers that writes touched, between the writers (API mutations, the import
//! feed, refits that ran while writes came in) and the write worker. It counts its depth in
//! customers for the metrics, and each entry carries when it was queued so the worker can
//! measure the lag from a write to its events.

use crate::metrics;
use std::time::Instant;
use tokio::sync::mpsc;

/// Customers touched by one write (or one batch of the feed), and when they were queued.
#[derive(Debug)]
pub(crate) struct Touched {
    /// Kindred ids of the customers.
    pub customers: Vec<i64>,
    /// When they were queued.
    pub at: Instant,
}

/// The writers' end.
#[derive(Debug, Clone)]
pub(crate) struct TouchedSender(mpsc::UnboundedSender<Touched>);

/// The worker's end.
#[derive(Debug)]
pub(crate) struct TouchedReceiver(mpsc::UnboundedReceiver<Touched>);

/// A new queue.
pub(crate) fn touched_queue() -> (TouchedSender, TouchedReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (TouchedSender(sender), TouchedReceiver(receiver))
}

impl TouchedSender {
    /// Queues `customers`; false once the worker has stopped (the engine is shutting down).
    pub fn send(&self, customers: Vec<i64>) -> bool {
        let count = customers.len();
        let sent = self.0.send(Touched { customers, at: Instant::now() }).is_ok();
        if sent {
            metrics::queued(count);
        }
        sent
    }
}

impl TouchedReceiver {
    /// The next entry, waiting for one; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Touched> {
        let touched = self.0.recv().await?;
        metrics::dequeued(touched.customers.len());
        Some(touched)
    }

    /// The next entry if one is waiting.
    pub fn try_recv(&mut self) -> Option<Touched> {
        let touched = self.0.try_recv().ok()?;
        metrics::dequeued(touched.customers.len());
        Some(touched)
    }
}
