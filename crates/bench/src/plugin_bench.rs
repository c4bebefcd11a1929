//! `kindred-plugin-bench`: what the plugin boundary costs. Assigns the same synthetic
//! population with the demographic strategy twice: through the dynamically loaded library (as
//! the server does: C ABI, Arrow C Data Interface in and out) and by calling the strategy
//! in-process, in the same batches, and prints both times. Then checks, with the misbehaving
//! fixture's `buffer_address` mode, that the plugin reads the host's column buffer itself.

use anyhow::{Context, ensure};
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use clap::Parser;
use kindred_demographic::Demographic;
use kindred_plugin_host::tables::{TableData, schema};
use kindred_plugin_host::{StrategyInstance, load};
use kindred_plugin_sdk::{Assignments, Input, SegmentationStrategy, Table};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Measures the plugin boundary.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Folder holding libkindred_demographic.so and libkindred_fixture_misbehaving.so.
    #[arg(long)]
    libraries: PathBuf,
    /// Customers to assign.
    #[arg(long, default_value_t = 1_000_000)]
    customers: usize,
    /// Customers per assign call (the server uses 10,000).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Timed repetitions of each way; the median is reported.
    #[arg(long, default_value_t = 7)]
    runs: usize,
}

/// The population as batches of `customers` (id, birth_date, gender, income): birth dates
/// spread over 1940-2008, four genders, incomes from 0 to 200,000, a few of each missing.
fn population(customers: usize, batch: usize) -> anyhow::Result<Vec<RecordBatch>> {
    let schema = schema(Table::Customers, &[0, 2, 3, 4]);
    let genders = ["female", "male", "non_binary", "unspecified"];
    let mut batches = Vec::new();
    let mut next = 1_i64;
    while (next as usize) <= customers {
        let end = (next + batch as i64 - 1).min(customers as i64);
        let ids: Int64Array = (next..=end).collect();
        // Day numbers from 1940-01-01 (-10957) to 2008-12-31 (14244), spread deterministically.
        let births: Date32Array =
            (next..=end).map(|id| (id % 50 != 0).then(|| -10_957 + ((id * 7_919) % 25_201) as i32)).collect();
        let gender: StringArray =
            (next..=end).map(|id| (id % 40 != 0).then(|| genders[(id % 7 % 4) as usize])).collect();
        let income: Float64Array =
            (next..=end).map(|id| (id % 30 != 0).then(|| ((id * 104_729) % 200_000) as f64)).collect();
        let columns: Vec<ArrayRef> =
            vec![Arc::new(ids), Arc::new(births), Arc::new(gender), Arc::new(income)];
        batches.push(RecordBatch::try_new(schema.clone(), columns)?);
        next = end + 1;
    }
    Ok(batches)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

const AS_OF: i64 = 1_795_000_000_000_000; // 2026-11-19, microseconds

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let batches = population(args.customers, args.batch)?;
    let schema = batches[0].schema();
    let params = serde_json::json!({});

    let library = load(&args.libraries.join("libkindred_demographic.so"), None)
        .context("load the demographic plugin")?;
    let plugin = StrategyInstance::create("demographic", &library, &params)?;
    let strategy = kindred_plugin_sdk::testing::create::<Demographic>(&params)
        .map_err(|error| anyhow::anyhow!("{error}"))?;

    let through_plugin = || -> anyhow::Result<(Duration, usize)> {
        let started = Instant::now();
        let mut rows = 0;
        for batch in &batches {
            let tables =
                [TableData { table: Table::Customers, schema: schema.clone(), batches: vec![batch.clone()] }];
            rows += plugin.assign(&tables, AS_OF)?.num_rows();
        }
        Ok((started.elapsed(), rows))
    };
    let in_process = || -> anyhow::Result<(Duration, usize)> {
        let started = Instant::now();
        let mut rows = 0;
        for batch in &batches {
            let input = Input::new(HashMap::from([(Table::Customers, vec![batch.clone()])]), AS_OF);
            let mut out = Assignments::new();
            strategy.assign(&input, &mut out).map_err(|error| anyhow::anyhow!("{error}"))?;
            rows += out.finish().num_rows();
        }
        Ok((started.elapsed(), rows))
    };

    // One warm-up of each, then alternate so both see the same machine state.
    through_plugin()?;
    in_process()?;
    let (mut plugin_times, mut local_times) = (Vec::new(), Vec::new());
    for _ in 0..args.runs {
        let (time, rows) = through_plugin()?;
        ensure!(rows == args.customers, "the plugin assigned {rows} rows");
        plugin_times.push(time);
        let (time, rows) = in_process()?;
        ensure!(rows == args.customers, "in-process assign gave {rows} rows");
        local_times.push(time);
    }
    let (plugin_time, local_time) = (median(plugin_times), median(local_times));
    let overhead = (plugin_time.as_secs_f64() / local_time.as_secs_f64() - 1.0) * 100.0;
    println!(
        "customers {} | batch {} | runs {} | in-process {:.1} ms | through the plugin {:.1} ms | boundary overhead {:+.1}%",
        args.customers,
        args.batch,
        args.runs,
        local_time.as_secs_f64() * 1e3,
        plugin_time.as_secs_f64() * 1e3,
        overhead
    );

    // Bands over three dimensions through the host: fit on everyone, then assign everyone.
    let bands = serde_json::json!({ "method": "bands", "dimensions": ["age", "gender", { "field": "income", "quantiles": 4 }] });
    let banding = StrategyInstance::create("demographic", &library, &bands)?;
    let population =
        [TableData { table: Table::Customers, schema: schema.clone(), batches: batches.clone() }];
    let (mut fit_times, mut assign_times) = (Vec::new(), Vec::new());
    let mut segments = std::collections::HashSet::new();
    for run in 0..=args.runs {
        let started = Instant::now();
        banding.fit(&population, AS_OF)?;
        let fitted = started.elapsed();
        let started = Instant::now();
        let mut rows = 0;
        for batch in &batches {
            let tables =
                [TableData { table: Table::Customers, schema: schema.clone(), batches: vec![batch.clone()] }];
            let output = banding.assign(&tables, AS_OF)?;
            rows += output.num_rows();
            if run == 0 {
                segments.extend(output.column(1).as_string::<i32>().iter().flatten().map(str::to_owned));
            }
        }
        ensure!(rows == args.customers, "bands assigned {rows} rows");
        if run > 0 {
            fit_times.push(fitted);
            assign_times.push(started.elapsed());
        }
    }
    println!(
        "bands (age · gender · income quartiles) through the plugin | customers {} | segments {} | fit {:.1} ms | assign {:.1} ms",
        args.customers,
        segments.len(),
        median(fit_times).as_secs_f64() * 1e3,
        median(assign_times).as_secs_f64() * 1e3
    );

    // No copy on the way in: the plugin reports the address of the id buffer it reads.
    let probe =
        load(&args.libraries.join("libkindred_fixture_misbehaving.so"), None).context("load the probe")?;
    let probe = StrategyInstance::create("probe", &probe, &serde_json::json!({ "mode": "buffer_address" }))?;
    let batch = &batches[0];
    let host_address = batch.column(0).to_data().buffers()[0].as_ptr() as usize;
    let tables =
        [TableData { table: Table::Customers, schema: schema.clone(), batches: vec![batch.clone()] }];
    let output = probe.assign(&tables, AS_OF)?;
    let seen = output.column(2).as_primitive::<Float64Type>().value(0) as usize;
    ensure!(
        seen == host_address,
        "the plugin read a copy: host buffer {host_address:#x}, plugin saw {seen:#x}"
    );
    println!("zero copy: the plugin read the id column at {seen:#x}, the host's own buffer");
    Ok(())
}
