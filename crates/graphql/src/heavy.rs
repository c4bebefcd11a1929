//! Heavy work: fields that run a strategy, scan a segmentation or aggregate (previews,
//! overlaps, personas, sizes over time, links, CSV exports). Each carries a query complexity
//! that reflects its work ([`cost`]), so a request asking for many is refused before it runs,
//! and each takes a permit while it runs: at most `per_key` at once for one API key and `total`
//! for the whole server. A caller over either waits up to `wait`, then gets `BUSY`.

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use async_graphql::{Context, ErrorExtensions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Query complexity of each heavy field, against the limit of 20,000 for a request: a field
/// that costs 5,000 (plus its children) can be asked for at most three times in one request.
pub mod cost {
    /// `previewSegmentation`: a strategy's fit and assignment over every customer.
    pub const PREVIEW: usize = 5_000;
    /// `overlap`: a crosstab of two segmentations' memberships.
    pub const OVERLAP: usize = 2_000;
    /// `personas`: grouped aggregates over a segmentation's members, needs and purchases.
    pub const PERSONAS: usize = 2_000;
    /// `links`: ties joined to memberships at both ends.
    pub const LINKS: usize = 2_000;
    /// `sizeHistory`: a segmentation's enters and exits, folded over time.
    pub const SIZE_HISTORY: usize = 1_000;
}

/// How much heavy work may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeavyLimits {
    /// Heavy operations one API key (or, without authentication, the one local caller) may run
    /// at once.
    pub per_key: usize,
    /// Heavy operations the server runs at once, whoever asks.
    pub total: usize,
    /// How long a caller over a limit waits for a permit before `BUSY`.
    pub wait: Duration,
}

impl Default for HeavyLimits {
    fn default() -> Self {
        Self { per_key: 2, total: 4, wait: Duration::from_secs(2) }
    }
}

/// The permits of heavy work, shared by every request.
#[derive(Debug)]
pub struct HeavyWork {
    limits: HeavyLimits,
    total: Arc<Semaphore>,
    per_key: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while a heavy operation runs; dropping it lets the next one in.
#[derive(Debug)]
pub struct HeavyPermit {
    _key: OwnedSemaphorePermit,
    _total: OwnedSemaphorePermit,
    _running: crate::metrics::Counted,
}

impl HeavyWork {
    /// Permits for `limits` (each limit at least 1).
    pub fn new(limits: HeavyLimits) -> Arc<Self> {
        let limits = HeavyLimits { per_key: limits.per_key.max(1), total: limits.total.max(1), ..limits };
        Arc::new(Self { limits, total: Arc::new(Semaphore::new(limits.total)), per_key: Mutex::default() })
    }

    /// Waits (at most the configured time) for a permit for `key`'s heavy operation.
    pub async fn acquire(&self, key: &str) -> Result<HeavyPermit, Busy> {
        let semaphore = {
            let mut per_key = self.per_key.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget keys with nothing running, so the map stays as small as the callers.
            if per_key.len() > 1_000 {
                let limit = self.limits.per_key;
                per_key.retain(|_, semaphore| semaphore.available_permits() < limit);
            }
            per_key
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_key)))
                .clone()
        };
        let both = async {
            let own = semaphore.acquire_owned().await.map_err(|_| Busy)?;
            let total = self.total.clone().acquire_owned().await.map_err(|_| Busy)?;
            let running = crate::metrics::Counted::new(crate::metrics::HEAVY_RUNNING, Vec::new());
            Ok(HeavyPermit { _key: own, _total: total, _running: running })
        };
        tokio::time::timeout(self.limits.wait, both).await.map_err(|_| Busy)?
    }

    /// The limits in force.
    pub fn limits(&self) -> HeavyLimits {
        self.limits
    }
}

/// No permit came in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", crate::error::BUSY)]
pub struct Busy;

/// Takes a heavy-work permit for the caller of this request, if the schema has limits.
pub(crate) async fn heavy_permit(ctx: &Context<'_>) -> ApiResult<Option<HeavyPermit>> {
    let Some(work) = ctx.data_opt::<Arc<HeavyWork>>() else { return Ok(None) };
    let key = ctx.data_opt::<Caller>().and_then(|caller| caller.key_name.clone()).unwrap_or_default();
    work.acquire(&key).await.map(Some).map_err(|_| ApiError::Busy.extend())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_key: usize, total: usize) -> HeavyLimits {
        HeavyLimits { per_key, total, wait: Duration::from_millis(50) }
    }

    #[tokio::test]
    async fn one_key_gets_at_most_its_share() {
        let work = HeavyWork::new(limits(2, 10));
        let first = work.acquire("a").await.unwrap();
        let _second = work.acquire("a").await.unwrap();
        assert_eq!(work.acquire("a").await.unwrap_err(), Busy);
        // Another key is not held back by the first.
        let _other = work.acquire("b").await.unwrap();
        drop(first);
        assert!(work.acquire("a").await.is_ok());
    }

    #[tokio::test]
    async fn the_server_runs_at_most_the_total() {
        let work = HeavyWork::new(limits(5, 2));
        let _a = work.acquire("a").await.unwrap();
        let _b = work.acquire("b").await.unwrap();
        assert_eq!(work.acquire("c").await.unwrap_err(), Busy);
    }

    #[tokio::test]
    async fn a_waiting_caller_gets_in_when_a_permit_frees() {
        let work = HeavyWork::new(HeavyLimits { per_key: 1, total: 1, wait: Duration::from_secs(5) });
        let held = work.acquire("a").await.unwrap();
        let waiting = {
            let work = work.clone();
            tokio::spawn(async move { work.acquire("a").await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiting.await.unwrap());
    }
}
