//! Throughput and latency percentiles from recorded latencies.

use std::time::Duration;

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Requests completed.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Requests per second.
    pub per_second: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile latency.
    pub p90_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
}

/// The latency below which `share` of the sorted samples fall (nearest rank), in ms.
fn percentile(sorted_micros: &[u32], share: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = ((share * sorted_micros.len() as f64).ceil() as usize).clamp(1, sorted_micros.len());
    f64::from(sorted_micros[rank - 1]) / 1000.0
}

/// Sorts `latencies` (µs) and summarises them.
pub fn summarise(latencies: &mut [u32], errors: u64, elapsed: Duration) -> Summary {
    latencies.sort_unstable();
    Summary {
        requests: latencies.len() as u64,
        errors,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        p50_ms: percentile(latencies, 0.50),
        p90_ms: percentile(latencies, 0.90),
        p99_ms: percentile(latencies, 0.99),
        max_ms: percentile(latencies, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u32> = (1..=100).rev().map(|ms| ms * 1000).collect();
        let summary = summarise(&mut samples, 0, Duration::from_secs(2));
        assert_eq!((summary.p50_ms, summary.p99_ms, summary.max_ms), (50.0, 99.0, 100.0));
        assert_eq!(summary.per_second, 50.0);
        assert_eq!(summarise(&mut [], 0, Duration::from_secs(1)).p50_ms, 0.0);
    }
}
