//! `kindred-community-bench`: community detection on a planted-partition graph (by default 50
//! groups of 1,000 customers, about 500,000 ties, a fifth of each customer's ties leaving its
//! group; with `--inside-probability`, each pair inside a group tied with that probability
//! plus `--random-ties` ties per customer to anyone). Prints detection time, modularity and
//! NMI against the planted groups for Leiden with modularity (resolution 1) and with CPM (the
//! need-based strategy's derived resolution), and writes the edge list so
//! `bench/leiden_reference.py` can run the reference Leiden implementations on the very same
//! graph.

mod memory;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use clap::Parser;
use kindred_need_based::communities::graph::Graph;
use kindred_need_based::communities::leiden::{Settings, communities};
use kindred_need_based::communities::nmi::nmi;
use kindred_need_based::{NeedBased, leiden_settings};
use kindred_plugin_sdk::{Input, SegmentationStrategy, Table};
use memory::peak_rss_mb;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Times Leiden on a planted partition.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Planted groups.
    #[arg(long, default_value_t = 50)]
    groups: usize,
    /// Customers per group.
    #[arg(long, default_value_t = 1_000)]
    size: usize,
    /// Ties per customer (each tie has two ends, so the graph has about half this times the
    /// customers).
    #[arg(long, default_value_t = 20)]
    degree: usize,
    /// Share of each customer's ties that leave its group.
    #[arg(long, default_value_t = 0.2)]
    mixing: f64,
    /// Instead of `degree` and `mixing`: each pair inside a group is tied with this probability.
    #[arg(long)]
    inside_probability: Option<f64>,
    /// With `inside_probability`: ties per customer to anyone at random (0.5: one per two).
    #[arg(long, default_value_t = 0.5)]
    random_ties: f64,
    /// Seed of the graph and of Leiden.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where to write the edge list (`from to` per line) and the planted groups.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Also run the whole need-based strategy's fit (graph from Arrow ties and needs, Leiden,
    /// labels, summaries) on the same ties plus three needs per customer.
    #[arg(long)]
    through_plugin: bool,
}

/// The strategy's input: customers 1..=n, the ties, and three needs each (two of the
/// group's four, one of 5,000 at random).
fn plugin_input(args: &Args, edges: &[(u32, u32, f64)], rng: &mut ChaCha8Rng) -> anyhow::Result<Input> {
    let n = args.groups * args.size;
    let ids: ArrayRef = Arc::new((1..=n as i64).collect::<Int64Array>());
    let external: ArrayRef =
        Arc::new((0..n).map(|node| Some(format!("P{node:07}"))).collect::<StringArray>());
    let customers = RecordBatch::try_from_iter([("id", ids), ("external_id", external)])?;
    let mut ties = Vec::new();
    for chunk in edges.chunks(65_536) {
        let from: ArrayRef =
            Arc::new(chunk.iter().map(|(a, _, _)| i64::from(*a) + 1).collect::<Int64Array>());
        let to: ArrayRef = Arc::new(chunk.iter().map(|(_, b, _)| i64::from(*b) + 1).collect::<Int64Array>());
        let kind: ArrayRef = Arc::new(chunk.iter().map(|_| Some("friend")).collect::<StringArray>());
        let weight: ArrayRef = Arc::new(chunk.iter().map(|_| Some(1.0)).collect::<Float64Array>());
        ties.push(RecordBatch::try_from_iter([
            ("from_id", from),
            ("to_id", to),
            ("kind", kind),
            ("weight", weight),
        ])?);
    }
    let tag = |index: usize| format!("need {index:04}");
    let (mut owners, mut tags) = (Vec::with_capacity(3 * n), Vec::with_capacity(3 * n));
    for node in 0..n {
        let group = node / args.size;
        let first = rng.random_range(0..4);
        for pick in [first, (first + 1 + rng.random_range(0..3)) % 4] {
            owners.push(node as i64 + 1);
            tags.push(tag((group * 4 + pick) % 5_000));
        }
        owners.push(node as i64 + 1);
        tags.push(tag(rng.random_range(0..5_000)));
    }
    let mut needs = Vec::new();
    for (owners, tags) in owners.chunks(65_536).zip(tags.chunks(65_536)) {
        let customer: ArrayRef = Arc::new(owners.iter().copied().collect::<Int64Array>());
        let tag: ArrayRef = Arc::new(tags.iter().map(|t| Some(t.as_str())).collect::<StringArray>());
        let weight: ArrayRef = Arc::new(tags.iter().map(|_| Some(1.0)).collect::<Float64Array>());
        needs.push(RecordBatch::try_from_iter([
            ("customer_id", customer),
            ("tag", tag),
            ("weight", weight),
        ])?);
    }
    Ok(Input::new(
        HashMap::from([(Table::Customers, vec![customers]), (Table::Ties, ties), (Table::Needs, needs)]),
        0,
    ))
}

/// Each customer draws `degree / 2` ties, a `mixing` share of them to anyone.
fn mixed_degrees(args: &Args, rng: &mut ChaCha8Rng) -> Vec<(u32, u32, f64)> {
    let n = args.groups * args.size;
    let per_node = args.degree / 2;
    let mut edges = Vec::with_capacity(n * per_node);
    for node in 0..n {
        let group = node / args.size;
        for _ in 0..per_node {
            let other = if rng.random::<f64>() < args.mixing {
                rng.random_range(0..n)
            } else {
                group * args.size + rng.random_range(0..args.size)
            };
            if other != node {
                edges.push((node as u32, other as u32, 1.0));
            }
        }
    }
    edges
}

/// Each pair inside a group tied with `probability`, and `random_ties` per customer to anyone.
fn dense_groups(args: &Args, probability: f64, rng: &mut ChaCha8Rng) -> Vec<(u32, u32, f64)> {
    let n = args.groups * args.size;
    let mut edges = Vec::new();
    for group in 0..args.groups {
        let first = group * args.size;
        for a in first..first + args.size {
            for b in a + 1..first + args.size {
                if rng.random::<f64>() < probability {
                    edges.push((a as u32, b as u32, 1.0));
                }
            }
        }
    }
    for _ in 0..(n as f64 * args.random_ties).round() as usize {
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        if a != b {
            edges.push((a as u32, b as u32, 1.0));
        }
    }
    edges
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let n = args.groups * args.size;
    let edges = match args.inside_probability {
        Some(probability) => dense_groups(&args, probability, &mut rng),
        None => mixed_degrees(&args, &mut rng),
    };
    let truth: Vec<usize> = (0..n).map(|node| node / args.size).collect();
    if let Some(folder) = &args.write {
        std::fs::create_dir_all(folder)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(folder.join("edges.txt"))?);
        for (from, to, weight) in &edges {
            writeln!(out, "{from} {to} {weight}")?;
        }
        out.flush()?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(folder.join("groups.txt"))?);
        for group in &truth {
            writeln!(out, "{group}")?;
        }
        out.flush()?;
    }
    let graph = Graph::new(n, &edges);
    println!("graph: {n} customers, {} ties, {} planted groups", edges.len(), args.groups);
    let cpm = leiden_settings(&graph, &serde_json::json!({ "objective": "cpm", "seed": args.seed }))?;
    if let Some(folder) = &args.write {
        std::fs::write(folder.join("resolution.txt"), format!("{}\n", cpm.resolution))?;
    }
    let modularity = Settings { seed: args.seed, ..Settings::default() };
    for (name, settings) in [("modularity", modularity), ("cpm", cpm)] {
        let mut times = Vec::new();
        let mut found = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            found = communities(&graph, &settings);
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let count = found.iter().copied().max().map_or(0, |max| max + 1);
        println!(
            "leiden {name} (resolution {:.6}): median {:.3} s (fastest {:.3} s, slowest {:.3} s), {count} communities, \
             modularity {:.5}, NMI {:.4}",
            settings.resolution,
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            graph.modularity(&found, 1.0),
            nmi(&found, &truth),
        );
    }
    println!("planted groups: modularity {:.5}", graph.modularity(&truth, 1.0));
    if args.through_plugin {
        drop(graph);
        let input = plugin_input(&args, &edges, &mut rng)?;
        drop(edges);
        let mut strategy =
            kindred_plugin_sdk::testing::create::<NeedBased>(&serde_json::json!({ "seed": args.seed }))?;
        let started = Instant::now();
        strategy.fit(&input)?;
        let fitted = started.elapsed().as_secs_f64();
        let model = strategy.model();
        println!(
            "need-based fit through the strategy: {fitted:.2} s, {} communities, {} (resolution {}), modularity {:.5}, graph {}",
            model["communities"],
            model["objective"],
            model["resolution_used"],
            model["modularity"].as_f64().unwrap_or_default(),
            model["graph"]
        );
    }
    println!("peak RSS {:.0} MB", peak_rss_mb());
    Ok(())
}
