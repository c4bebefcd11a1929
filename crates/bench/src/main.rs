//! `kindred-loadgen`: sends `customer(id)` queries with their latest interactions to a running
//! `kindred serve` from many connections at once, for a fixed time, and prints throughput and
//! latency percentiles. Run it as its own process on loopback so it measures the server as a
//! client would.

mod stats;

use clap::Parser;
use serde_json::json;
use std::time::{Duration, Instant};

/// Load generator for Kindred's GraphQL endpoint.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The GraphQL endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8080/graphql")]
    url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// How long to send requests, in seconds (after a 2-second warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Customer ids are drawn uniformly from 1..=this.
    #[arg(long, default_value_t = 100_000)]
    customers: i64,
    /// Interactions asked for per customer.
    #[arg(long, default_value_t = 10)]
    interactions: i32,
}

const QUERY: &str = "query($id: ID!, $n: Int) { customer(id: $id) { id externalId email city \
    interactions(first: $n) { edges { node { occurredAt channel kind amount currency } } } } }";

/// Sends requests until `until`, returning each latency in microseconds and the error count.
async fn connection(args: &Args, client: reqwest::Client, until: Instant, record: bool) -> (Vec<u32>, u64) {
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0;
    while Instant::now() < until {
        let id = rand::random_range(1..=args.customers).to_string();
        let body = json!({ "query": QUERY, "variables": { "id": id, "n": args.interactions } });
        let started = Instant::now();
        let ok = match client.post(&args.url).json(&body).send().await {
            Ok(response) if response.status().is_success() => match response.bytes().await {
                Ok(bytes) => !bytes.windows(9).any(|w| w == b"\"errors\":"),
                Err(_) => false,
            },
            _ => false,
        };
        if record {
            latencies.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
            if !ok {
                errors += 1;
            }
        }
    }
    (latencies, errors)
}

async fn run(
    args: &'static Args,
    duration: Duration,
    record: bool,
) -> anyhow::Result<(Vec<u32>, u64, Duration)> {
    let until = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        // One client per connection keeps exactly one keep-alive connection each.
        let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
        tasks.push(tokio::spawn(connection(args, client, until, record)));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut part, failed) = task.await?;
        latencies.append(&mut part);
        errors += failed;
    }
    Ok((latencies, errors, started.elapsed()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: &'static Args = Box::leak(Box::new(Args::parse()));
    run(args, Duration::from_secs(2), false).await?;
    let (mut latencies, errors, elapsed) = run(args, Duration::from_secs(args.seconds), true).await?;
    let summary = stats::summarise(&mut latencies, errors, elapsed);
    println!(
        "connections {} | requests {} | errors {} | {:.0} requests/s | latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.connections,
        summary.requests,
        summary.errors,
        summary.per_second,
        summary.p50_ms,
        summary.p90_ms,
        summary.p99_ms,
        summary.max_ms
    );
    anyhow::ensure!(summary.errors == 0, "{} requests failed", summary.errors);
    Ok(())
}
