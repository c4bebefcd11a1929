//! Reading the server's `/metrics` in tests.

use crate::Server;
use prometheus_parse::{Sample, Scrape, Value as Metric};

/// Scrapes `/metrics` (with `key` as bearer token, if any) and parses the Prometheus text.
pub async fn scrape(server: &Server, key: Option<&str>) -> Scrape {
    let (status, body) = server.get("/metrics", key).await;
    assert_eq!(status, 200, "{body}");
    Scrape::parse(body.lines().map(|line| Ok(line.to_owned()))).expect("the Prometheus text format")
}

/// The sum of the samples of `name` whose labels include `labels` (counters and gauges as
/// they are; histograms by their count).
pub fn total(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name && matches(sample, labels))
        .map(|sample| match &sample.value {
            Metric::Counter(value) | Metric::Gauge(value) | Metric::Untyped(value) => *value,
            Metric::Histogram(buckets) => buckets.last().map_or(0.0, |bucket| bucket.count),
            Metric::Summary(_) => 0.0,
        })
        .sum()
}

fn matches(sample: &Sample, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(key, value)| sample.labels.get(key) == Some(*value))
}

/// Scrapes `/metrics` until the total of `name` with `labels` satisfies `wanted` (a minute at
/// most), and returns that scrape.
pub async fn wait_for_metric(
    server: &Server,
    name: &str,
    labels: &[(&str, &str)],
    what: &str,
    wanted: impl Fn(f64) -> bool,
) -> Scrape {
    let started = std::time::Instant::now();
    loop {
        let scraped = scrape(server, None).await;
        let value = total(&scraped, name, labels);
        if wanted(value) {
            return scraped;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{what}: {name} is {value}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
