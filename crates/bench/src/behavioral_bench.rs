//! `kindred-behavioral-bench`: the behavioral strategy over a large population, through the
//! host, from the database to memberships.
//!
//! `generate` writes customers and purchases drawn from the BG/NBD and Gamma-Gamma stories
//! (so lifetime value has something real to fit) as CSV files for `kindred import`. `run`
//! times, on an imported database: reading the population, RFM end to end, the same RFM as
//! one SQL query in the same database (and checks both give every customer the same
//! score), and lifetime value end to end.

mod memory;

use anyhow::{Context, ensure};
use clap::{Parser, Subcommand};
use kindred_behavioral::rfm_sql::{Dialect, rfm_scores_sql};
use kindred_plugin_host::{PluginConfig, PluginHost, RunOutput, run_strategy, tables};
use kindred_store::Store;
use memory::peak_rss_mb;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

const DAY: i64 = 86_400_000_000;
/// The moment the generated history ends and every run is as of: 2026-11-01.
const AS_OF: i64 = 20_758 * DAY;
/// Days of generated history.
const HISTORY_DAYS: f64 = 1_095.0;

/// Benchmarks the behavioral strategy.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes customers.csv and interactions.csv (purchases) into a folder.
    Generate {
        /// Folder for the files.
        #[arg(long)]
        folder: PathBuf,
        /// Customers.
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        /// Seed of the random draws.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Times RFM and lifetime value on a database holding the generated files.
    Run {
        /// The database (a SQLite file URL for the target).
        #[arg(long)]
        database: String,
        /// Folder holding libkindred_behavioral.so.
        #[arg(long)]
        libraries: PathBuf,
        /// Timed repetitions of each measurement.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

/// "YYYY-MM-DDTHH:MM:SS+00:00" of `micros`.
fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

fn generate(folder: &PathBuf, customers: usize, seed: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Purchase rate per day ~ Gamma(0.9, 1/25); drop-out after each purchase ~ Beta(0.6, 5);
    // spend per purchase ~ Gamma(6, ν) with ν ~ Gamma(3.7, 1/15).
    let rates = Gamma::new(0.9, 1.0 / 25.0)?;
    let dropouts = Beta::new(0.6, 5.0)?;
    let spend_rates = Gamma::new(3.7, 1.0 / 15.0)?;
    let mut people = std::io::BufWriter::new(std::fs::File::create(folder.join("customers.csv"))?);
    let mut purchases = std::io::BufWriter::new(std::fs::File::create(folder.join("interactions.csv"))?);
    writeln!(people, "external_id")?;
    writeln!(purchases, "customer_external_id,occurred_at,channel,kind,amount,currency,cost_to_serve")?;
    let start = AS_OF - (HISTORY_DAYS as i64) * DAY;
    let mut written = 0_u64;
    for customer in 0..customers {
        let external_id = format!("B{customer:07}");
        writeln!(people, "{external_id}")?;
        let rate: f64 = rates.sample(&mut rng);
        let dropout: f64 = dropouts.sample(&mut rng);
        let spend = Gamma::new(6.0, 1.0 / spend_rates.sample(&mut rng))?;
        let waits = Exp::new(rate.max(1e-9))?;
        // The first purchase, then repeat purchases at rate λ until the history ends or the
        // customer drops out, which BG/NBD lets happen after each repeat purchase.
        let mut day = rng.random::<f64>() * HISTORY_DAYS;
        let mut repeat = false;
        loop {
            let at = start + (day * DAY as f64) as i64 / 1_000_000 * 1_000_000;
            let amount: f64 = spend.sample(&mut rng);
            let channel = if rng.random::<f64>() < 0.6 { "web" } else { "store" };
            let cost = if channel == "web" { 4.5 } else { 1.0 };
            writeln!(purchases, "{external_id},{},{channel},purchase,{amount:.2},EUR,{cost}", rfc3339(at))?;
            written += 1;
            if repeat && rng.random::<f64>() < dropout {
                break;
            }
            repeat = true;
            day += waits.sample(&mut rng);
            if day >= HISTORY_DAYS {
                break;
            }
        }
    }
    people.flush()?;
    purchases.flush()?;
    println!("wrote {customers} customers and {written} purchases into {}", folder.display());
    Ok(())
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

async fn timed<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    name: &str,
    runs: usize,
    mut body: impl FnMut() -> F,
) -> anyhow::Result<T> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(body().await?);
        times.push(started.elapsed().as_secs_f64());
    }
    let shown: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
    println!("{name}: median {:.2} s (runs: {} s)", median(times), shown.join(", "));
    last.context("no run")
}

async fn run(database: &str, libraries: &std::path::Path, runs: usize) -> anyhow::Result<()> {
    let store = Store::connect(database).await?;
    let config = PluginConfig::new("behavioral".to_owned(), libraries.join("libkindred_behavioral.so"));
    let host = PluginHost::load(&[config], libraries);
    let library = host.loaded("behavioral")?.library.clone().context("behavioral is not loaded")?;
    let requested = library.description.requested_columns().map_err(anyhow::Error::msg)?;

    let tables = timed("read the population (customers, interactions)", runs, || async {
        Ok(tables::population(&store, &requested).await?)
    })
    .await?;
    let rows: Vec<String> = tables.iter().map(|t| format!("{} {}", t.table.name(), t.rows())).collect();
    println!("  rows: {}", rows.join(", "));
    drop(tables);

    let rfm = json!({ "method": "rfm" });
    let output: RunOutput = timed("RFM through the plugin, end to end", runs, || async {
        Ok(run_strategy(&store, &host, "behavioral", Some(&rfm), AS_OF).await?)
    })
    .await?;
    println!(
        "  {} customers, {} memberships, segments {:?}",
        output.customers,
        output.memberships.len(),
        output.sizes
    );

    let dialect = if store.backend() == DbBackend::Postgres { Dialect::Postgres } else { Dialect::Sqlite };
    let sql = rfm_scores_sql(dialect, AS_OF, None);
    let scores: HashMap<i64, i64> = timed("the same RFM as one SQL query", runs, || async {
        let rows =
            store.connection().query_all_raw(Statement::from_string(store.backend(), sql.clone())).await?;
        rows.iter()
            .map(|row| Ok((row.try_get::<i64>("", "id")?, row.try_get::<i64>("", "score")?)))
            .collect::<anyhow::Result<HashMap<_, _>>>()
    })
    .await?;
    let differing = output
        .memberships
        .iter()
        .filter(|m| scores.get(&m.customer_id).map(|score| *score as f64) != m.score)
        .count();
    ensure!(differing == 0, "{differing} customers scored differently by the plugin and by SQL");
    println!("  the plugin and SQL give all {} buyers the same score", scores.len());

    let clv = json!({ "method": "clv", "time_unit": "week", "horizon": 52 });
    let output =
        timed("lifetime value (BG/NBD + Gamma-Gamma) through the plugin, end to end", runs, || async {
            Ok(run_strategy(&store, &host, "behavioral", Some(&clv), AS_OF).await?)
        })
        .await?;
    println!("  segments {:?}", output.sizes);
    println!("  bg_nbd {}", output.model["bg_nbd"]);
    println!("  gamma_gamma {}", output.model["gamma_gamma"]);
    println!("peak RSS {:.0} MB", peak_rss_mb());
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Generate { folder, customers, seed } => generate(&folder, customers, seed),
        Command::Run { database, libraries, runs } => run(&database, &libraries, runs).await,
    }
}
