//! `kindred-community-bench`: community detection on a planted-partition graph (by default 50
//! groups of 1,000 customers, about 500,000 ties, a fifth of each customer's ties leaving its
//! group). Prints detection time, modularity and NMI against the planted groups, and writes
//! the edge list so `bench/leiden_reference.py` can run the reference Leiden implementations
//! on the very same graph.

use clap::Parser;
use kindred_need_based::communities::graph::Graph;
use kindred_need_based::communities::leiden::{Settings, communities};
use kindred_need_based::communities::nmi::nmi;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::PathBuf;
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
    /// Seed of the graph and of Leiden.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where to write the edge list (`from to` per line) and the planted groups.
    #[arg(long)]
    write: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
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
    let truth: Vec<usize> = (0..n).map(|node| node / args.size).collect();
    if let Some(folder) = &args.write {
        std::fs::create_dir_all(folder)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(folder.join("edges.txt"))?);
        for (from, to, _) in &edges {
            writeln!(out, "{from} {to}")?;
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
    let settings = Settings { seed: args.seed, ..Settings::default() };
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
        "leiden: median {:.3} s (fastest {:.3} s, slowest {:.3} s), {count} communities, modularity {:.5}, NMI {:.4}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        graph.modularity(&found, 1.0),
        nmi(&found, &truth),
    );
    println!("planted groups: modularity {:.5}", graph.modularity(&truth, 1.0));
    Ok(())
}
