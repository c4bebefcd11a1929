//! `kindred-adaptive-bench`: the speed of adaptive segments.
//!
//! * `refit`: a full refit and diff of an RFM (or need-based) segmentation through the engine,
//!   as the server runs it (read the population, fit, assign, diff against the stored
//!   memberships, write the difference and its history in one transaction): the first refit
//!   writes everyone, later ones find what changed.
//! * `isolation`: the same refit of a demographic segmentation with the plugin in process and
//!   isolated in a worker process, one after the other on the same database; then the plugin
//!   calls alone (fit, and assign in batches of 10,000, on tables already read) both ways; and
//!   how long a worker takes to start.
//! * `latency`: against a running `kindred serve`, creates three dynamic segmentations,
//!   subscribes to `membershipChanged` over WebSocket, sends `recordInteraction` at a fixed
//!   rate (each a first purchase of a new customer, so each moves memberships) and measures
//!   from sending the write to receiving its events.

mod stats;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kindred_e2e::Subscription;
use kindred_engine::{Engine, EngineSettings};
use kindred_plugin_host::{PluginConfig, PluginHost};
use kindred_store::{NewSegmentation, Store};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Benchmarks of adaptive segments.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Full refit and diff of RFM (or need-based communities) through the engine.
    Refit {
        /// The database, with customers and purchases (or ties and needs) imported.
        #[arg(long)]
        database: String,
        /// The folder holding libkindred_behavioral.so (or libkindred_need_based.so).
        #[arg(long)]
        libraries: std::path::PathBuf,
        /// The strategy: `rfm` (behavioral) or `need-based` (its defaults).
        #[arg(long, default_value = "rfm")]
        strategy: String,
        /// Refits after the first.
        #[arg(long, default_value_t = 2)]
        again: usize,
    },
    /// A demographic refit in process and isolated, the plugin calls alone, worker start.
    Isolation {
        /// The database, with customers imported.
        #[arg(long)]
        database: String,
        /// The folder holding libkindred_demographic.so.
        #[arg(long)]
        libraries: std::path::PathBuf,
        /// The `kindred` binary that runs the worker.
        #[arg(long)]
        worker: std::path::PathBuf,
        /// Runs of each.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// From recordInteraction to membershipChanged, at a fixed rate.
    Latency {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
        /// Writes per second.
        #[arg(long, default_value_t = 1_000)]
        rate: u64,
        /// How long to write, in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Another server on the same database to hold the subscription on (write on one,
        /// hear on the other); none: the subscription is on `base` too.
        #[arg(long)]
        listen: Option<String>,
    },
}

async fn wait_for_job(engine: &Engine, store: &Store, id: i64) -> anyhow::Result<()> {
    while engine.job(id).is_some() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let job = store.jobs(id, 1).await?.into_iter().next().context("no job")?;
    let took = job.finished_at.unwrap_or(job.started_at) - job.started_at;
    println!(
        "  {} ({}): {:.2} s, {} customers, {} entered, {} exited, {} rescored",
        job.reason.as_str(),
        job.status.as_str(),
        took.num_milliseconds() as f64 / 1000.0,
        job.customers_total,
        job.entered,
        job.exited,
        job.rescored
    );
    anyhow::ensure!(
        job.status == kindred_store::JobStatus::Succeeded,
        "the job ended {}: {:?}",
        job.status.as_str(),
        job.error
    );
    Ok(())
}

async fn refit(
    database: &str,
    libraries: &std::path::Path,
    strategy: &str,
    again: usize,
) -> anyhow::Result<()> {
    let (plugin, library, params) = match strategy {
        "rfm" => ("behavioral", "libkindred_behavioral.so", json!({ "method": "rfm" })),
        "need-based" => ("need-based", "libkindred_need_based.so", json!({})),
        other => anyhow::bail!("unknown strategy {other:?}: rfm or need-based"),
    };
    let store = Store::connect(database).await?;
    store.migrate().await?;
    let config = PluginConfig::new(plugin.to_owned(), libraries.join(library));
    let host = Arc::new(PluginHost::load(&[config], libraries));
    host.loaded(plugin)?;
    let settings = EngineSettings { refit_on_start: false, ..Default::default() };
    let engine = Engine::start(store.clone(), host, settings).await?;
    for old in store.segmentations().await? {
        engine.delete(old.id).await?;
    }
    println!("{strategy} refit and diff, {} customers", store.count_customers().await?);
    let new = NewSegmentation {
        name: strategy.to_owned(),
        strategy: plugin.to_owned(),
        params,
        mode: kindred_store::SegmentationMode::Dynamic,
        refresh_interval_seconds: None,
    };
    let created = engine.create(new).await?;
    wait_for_job(&engine, &store, created.id).await?;
    for _ in 0..again {
        engine.refresh(created.id).await?;
        wait_for_job(&engine, &store, created.id).await?;
    }
    Ok(())
}

/// The demographic plugin in process, or isolated in `worker`.
fn demographic(libraries: &std::path::Path, worker: Option<&std::path::Path>) -> PluginConfig {
    let mut config = PluginConfig::new("demographic", libraries.join("libkindred_demographic.so"));
    if let Some(worker) = worker {
        config.isolation = kindred_plugin_host::Isolation::Process;
        config.worker_path = Some(worker.to_owned());
    }
    config
}

/// Seconds since `started`, to the millisecond.
fn seconds(started: Instant) -> f64 {
    (started.elapsed().as_millis() as f64) / 1000.0
}

async fn isolation(
    database: &str,
    libraries: &std::path::Path,
    worker: &std::path::Path,
    runs: usize,
) -> anyhow::Result<()> {
    let store = Store::connect(database).await?;
    store.migrate().await?;
    let customers = store.count_customers().await?;
    println!("demographic refits and plugin calls, {customers} customers, {runs} runs each");
    for (way, worker) in [("in process", None), ("isolated", Some(worker))] {
        let started = Instant::now();
        let host = Arc::new(PluginHost::load(&[demographic(libraries, worker)], libraries));
        host.loaded("demographic")?;
        println!("{way}: plugin loaded in {:.3} s", seconds(started));
        let settings = EngineSettings { refit_on_start: false, ..Default::default() };
        let engine = Engine::start(store.clone(), host.clone(), settings).await?;
        for old in store.segmentations().await? {
            engine.delete(old.id).await?;
        }
        let new = NewSegmentation {
            name: format!("ages {way}"),
            strategy: "demographic".to_owned(),
            params: json!({ "dimensions": ["age", "gender", { "field": "income", "quantiles": 4 }] }),
            mode: kindred_store::SegmentationMode::Dynamic,
            refresh_interval_seconds: None,
        };
        println!("{way}: refit from the database to memberships");
        let created = engine.create(new).await?;
        wait_for_job(&engine, &store, created.id).await?;
        for _ in 1..runs {
            engine.refresh(created.id).await?;
            wait_for_job(&engine, &store, created.id).await?;
        }
        engine.delete(created.id).await?;
        // The calls alone, on tables read once.
        let instance = Arc::new(kindred_plugin_host::create_instance(&host, "demographic", None).await?);
        let tables =
            Arc::new(kindred_plugin_host::tables::population(&store, instance.requested_columns()).await?);
        let ids: Vec<i64> = tables
            .iter()
            .filter(|table| table.table == kindred_plugin_host::TableId::Customers)
            .flat_map(|table| table.batches.iter())
            .flat_map(|batch| {
                use arrow_array::cast::AsArray;
                batch.column(0).as_primitive::<arrow_array::types::Int64Type>().values().to_vec()
            })
            .collect();
        let chunks: Vec<&[i64]> = ids.chunks(kindred_plugin_host::ASSIGN_BATCH).collect();
        for run in 0..runs {
            let batches = Arc::new(kindred_plugin_host::AssignBatches::new(tables.clone(), &chunks));
            let (fitting, on) = (instance.clone(), batches.clone());
            let as_of = chrono::Utc::now().timestamp_micros();
            let started = Instant::now();
            tokio::task::spawn_blocking(move || fitting.fit_for_batches(&on, as_of)).await??;
            let fit = seconds(started);
            let started = Instant::now();
            for index in 0..chunks.len() {
                let (assigning, cut) = (instance.clone(), batches.clone());
                tokio::task::spawn_blocking(move || assigning.assign_batch(&cut, index, as_of)).await??;
            }
            println!(
                "{way}: calls alone, run {}: fit {fit:.3} s, assign {:.3} s ({} batches)",
                run + 1,
                seconds(started),
                chunks.len()
            );
        }
    }
    if let Some(worker_start) = worker_start(libraries, worker, runs) {
        println!("worker start (spawn, load, describe, first reply): {worker_start}");
    }
    Ok(())
}

/// The time from spawning a worker to its first reply, `runs` times.
fn worker_start(libraries: &std::path::Path, worker: &std::path::Path, runs: usize) -> Option<String> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let host = PluginHost::load(&[demographic(libraries, Some(worker))], libraries);
        host.loaded("demographic").ok()?;
        times.push(format!("{:.3} s", seconds(started)));
    }
    Some(times.join(", "))
}

async fn graphql(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let body = json!({ "query": query, "variables": variables });
    let reply: Value = client.post(format!("{base}/graphql")).json(&body).send().await?.json().await?;
    anyhow::ensure!(reply.get("errors").is_none(), "GraphQL errors: {reply}");
    Ok(reply["data"].clone())
}

fn report(name: &str, latencies: &mut [u32], missing: u64, elapsed: Duration) {
    let summary = stats::summarise(latencies, missing, elapsed);
    println!(
        "{name}: {} events, {} missing; p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        summary.requests, summary.errors, summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.max_ms
    );
}

async fn latency(base: &str, listen: &str, rate: u64, seconds: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let create = "mutation($i: CreateSegmentationInput!) { createSegmentation(input: $i) { id } }";
    let purchases = json!({ "kind": "purchase" });
    let definitions = [
        (
            "bench spenders",
            json!({ "method": "rules", "rules": [{ "label": "big spenders", "when": {
            "agg": "sum", "of": "amount", "where": purchases, "within_days": 365, "op": "gt", "value": 1000 } }] }),
        ),
        (
            "bench active",
            json!({ "method": "rules", "rules": [{ "label": "active", "when": {
            "agg": "count", "where": purchases, "within_days": 30, "op": "ge", "value": 1 } }] }),
        ),
        ("bench rfm", json!({ "method": "rfm" })),
    ];
    let mut ids = Vec::new();
    for (name, params) in definitions {
        let input = json!({ "i": { "name": format!("{name} {}", std::process::id()), "strategy": "behavioral", "params": params } });
        ids.push(
            graphql(&client, base, create, input).await?["createSegmentation"]["id"]
                .as_str()
                .context("id")?
                .to_owned(),
        );
    }
    for id in &ids {
        loop {
            let state = graphql(
                &client,
                base,
                "query($id: ID!) { segmentation(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await?;
            if state["segmentation"]["status"] != "RUNNING" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Customers an import queued before (the demo's) are re-assigned first, in order: write
    // once that backlog is drained, to measure the steady state.
    let started = Instant::now();
    loop {
        let metrics = client.get(format!("{base}/metrics")).send().await?.text().await?;
        if metrics.lines().any(|line| line.trim() == "kindred_write_queue_customers 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("queued backlog drained after {:.1} s", started.elapsed().as_secs_f64());
    if listen != base {
        // Whichever server claims a write's batch assigns it; the events reach the listening
        // server from the database.
        println!("writing on {base}, listening on {listen}");
    }
    println!("three dynamic segmentations ready; writing {rate}/s for {seconds} s");
    let changes = "subscription { membershipChanged { segmentationId customerId change } }";
    let mut subscription = Subscription::open(listen, changes, json!({}), json!({})).await;
    // Events as they arrive: (customer id, segmentation id, when).
    let events: Arc<Mutex<Vec<(String, String, Instant)>>> = Arc::default();
    let listener = {
        let events = events.clone();
        tokio::spawn(async move {
            while let Some(event) = subscription.next(Duration::from_secs(10)).await {
                let change = &event["membershipChanged"];
                if change["change"] == "ENTERED" {
                    let customer = change["customerId"].as_str().unwrap_or_default().to_owned();
                    let segmentation = change["segmentationId"].as_str().unwrap_or_default().to_owned();
                    events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((
                        customer,
                        segmentation,
                        Instant::now(),
                    ));
                }
            }
        })
    };
    let record = "mutation($i: InteractionInput!) { recordInteraction(input: $i) { customer { id } } }";
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    // How long each recordInteraction took to answer, in microseconds.
    let answered: Arc<Mutex<Vec<u32>>> = Arc::default();
    let run = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp());
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let started = Instant::now();
    let mut writes = Vec::new();
    for n in 0..rate * seconds {
        ticker.tick().await;
        let (client, base, sent, answered) =
            (client.clone(), base.to_owned(), sent.clone(), answered.clone());
        let input = json!({ "i": { "customerExternalId": format!("bench-{run}-{n}"), "occurredAt": chrono::Utc::now().to_rfc3339(),
            "kind": "purchase", "amount": 1500.0, "currency": "EUR", "channel": "web" } });
        writes.push(tokio::spawn(async move {
            let at = Instant::now();
            let data = graphql(&client, &base, record, input).await?;
            let customer =
                data["recordInteraction"]["customer"]["id"].as_str().context("customer id")?.to_owned();
            let took = at.elapsed().as_micros().min(u32::MAX as u128) as u32;
            answered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(took);
            sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(customer, at);
            anyhow::Ok(())
        }));
    }
    let mut failed = 0;
    for write in writes {
        if !matches!(write.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "sent {} writes in {:.1} s ({:.0}/s), {failed} failed",
        rate * seconds,
        elapsed.as_secs_f64(),
        (rate * seconds) as f64 / elapsed.as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    listener.abort();
    let sent = sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let events = events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    // Per write: its first event (any segmentation) and its last of the three.
    let mut first: HashMap<&str, Instant> = HashMap::new();
    let mut last: HashMap<&str, (usize, Instant)> = HashMap::new();
    for (customer, segmentation, at) in &events {
        if !ids.contains(segmentation) || !sent.contains_key(customer) {
            continue;
        }
        first.entry(customer).or_insert(*at);
        let entry = last.entry(customer).or_insert((0, *at));
        *entry = (entry.0 + 1, *at);
    }
    let micros = |from: Instant, to: Instant| {
        to.saturating_duration_since(from).as_micros().min(u32::MAX as u128) as u32
    };
    let mut to_first: Vec<u32> = first.iter().map(|(customer, at)| micros(sent[*customer], *at)).collect();
    let mut to_all: Vec<u32> = last
        .iter()
        .filter(|(_, (count, _))| *count == ids.len())
        .map(|(customer, (_, at))| micros(sent[*customer], *at))
        .collect();
    let written = sent.len() as u64;
    let (missing_first, missing_all) = (written - to_first.len() as u64, written - to_all.len() as u64);
    let mut answered = answered.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    report("recordInteraction answered", &mut answered, failed, elapsed);
    report("write -> first membershipChanged", &mut to_first, missing_first, elapsed);
    report("write -> all three segmentations' events", &mut to_all, missing_all, elapsed);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Refit { database, libraries, strategy, again } => {
            refit(&database, &libraries, &strategy, again).await
        }
        Command::Latency { base, rate, seconds, listen } => {
            latency(&base, listen.as_deref().unwrap_or(&base), rate, seconds).await
        }
        Command::Isolation { database, libraries, worker, runs } => {
            isolation(&database, &libraries, &worker, runs).await
        }
    }
}
