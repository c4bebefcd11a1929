//! `kindred-need-based-bench`: the need-based strategy on a database of demo data, end to end
//! (database to memberships, through the loaded plugin), with its quality against the demo's
//! planted communities, and Leiden alone on the same tie graph. Writes that graph so
//! `bench/leiden_reference.py` can run igraph's Leiden on it in the same run.
//!
//! Quality is the normalised mutual information between planted community and segment over
//! the customers who have a planted community and consent to profiling.

mod memory;

use anyhow::Context;
use clap::Parser;
use kindred_need_based::communities::graph::Graph;
use kindred_need_based::communities::leiden::{Objective, Settings, communities};
use kindred_need_based::communities::nmi::nmi;
use kindred_need_based::{leiden_settings, tie_graph};
use kindred_plugin_host::{PluginConfig, PluginHost, run_strategy, tables};
use kindred_plugin_sdk::{Input, Table};
use kindred_store::Store;
use memory::peak_rss_mb;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Runs the need-based strategy on a database and scores it against planted communities.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The database holding the demo's customers, ties and needs.
    #[arg(long)]
    database: String,
    /// The demo's `planted_communities.csv` (external_id,community).
    #[arg(long)]
    planted: PathBuf,
    /// Folder of the plugin libraries (`libkindred_need_based.so`).
    #[arg(long)]
    libraries: PathBuf,
    /// The strategy's parameters (JSON).
    #[arg(long, default_value = "{}")]
    params: String,
    /// Where to write the tie graph (`edges.txt`: from to weight), the planted community of
    /// each node (`groups.txt`, -1 for none) and the CPM resolution (`resolution.txt`).
    #[arg(long)]
    write: Option<PathBuf>,
    /// Skip the run through the plugin (only Leiden on the ties).
    #[arg(long)]
    leiden_only: bool,
    /// Only the run through the plugin, so the peak memory printed is the run's.
    #[arg(long, conflicts_with = "leiden_only")]
    plugin_only: bool,
}

fn read_planted(path: &PathBuf) -> anyhow::Result<HashMap<String, usize>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .map(|(external_id, community)| Ok((external_id.to_owned(), community.trim().parse()?)))
        .collect()
}

/// NMI between `found` and the planted community over the nodes that have one.
fn score(found: &[usize], truth: &[Option<usize>]) -> f64 {
    let (found, truth): (Vec<usize>, Vec<usize>) =
        found.iter().zip(truth).filter_map(|(f, t)| t.map(|t| (*f, t))).unzip();
    nmi(&found, &truth)
}

fn leiden(name: &str, graph: &Graph, settings: &Settings, truth: &[Option<usize>]) {
    let started = Instant::now();
    let found = communities(graph, settings);
    let seconds = started.elapsed().as_secs_f64();
    let count = found.iter().copied().max().map_or(0, |max| max + 1);
    println!(
        "kindred leiden {name} (resolution {:.6}): {seconds:.2} s, {count} communities (singletons included), NMI {:.4}",
        settings.resolution,
        score(&found, truth)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let params: Value = serde_json::from_str(&args.params).context("--params")?;
    let planted = read_planted(&args.planted)?;
    let store = Store::connect(&args.database).await?;
    let config = PluginConfig::new("need-based".to_owned(), args.libraries.join("libkindred_need_based.so"));
    let host = PluginHost::load(&[config], &args.libraries);
    if !args.plugin_only {
        leiden_alone(&args, &store, &host, &params, &planted).await?;
    }
    if !args.leiden_only {
        through_plugin(&store, &host, &params, &planted).await?;
    }
    println!("peak RSS {:.0} MB", peak_rss_mb());
    Ok(())
}

/// The population as the strategy reads it (consent filter included), without interactions.
async fn population(store: &Store, host: &PluginHost, tables_wanted: &[Table]) -> anyhow::Result<Input> {
    let library = host.loaded("need-based")?.library.clone().context("need-based is not loaded")?;
    let columns: Vec<(Table, Vec<usize>)> = library
        .description
        .requested_columns()
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .filter(|(table, _)| tables_wanted.contains(table))
        .collect();
    let population = tables::population(store, &columns).await?;
    Ok(Input::new(population.into_iter().map(|table| (table.table, table.batches)).collect(), 0))
}

/// Leiden alone on the tie graph, under both objectives; writes the graph for igraph.
async fn leiden_alone(
    args: &Args,
    store: &Store,
    host: &PluginHost,
    params: &Value,
    planted: &HashMap<String, usize>,
) -> anyhow::Result<()> {
    let read = Instant::now();
    let input = population(store, host, &[Table::Customers, Table::Ties]).await?;
    let ties = tie_graph(&input, params)?;
    drop(input);
    println!(
        "graph: {} consenting customers, {} tie edges (read in {:.2} s)",
        ties.ids.len(),
        ties.edges.len(),
        read.elapsed().as_secs_f64()
    );
    let truth: Vec<Option<usize>> = ties.external_ids.iter().map(|id| planted.get(id).copied()).collect();
    let graph = Graph::new(ties.ids.len(), &ties.edges);
    let cpm = leiden_settings(&graph, &json!({ "objective": "cpm" }))?;
    if let Some(folder) = &args.write {
        std::fs::create_dir_all(folder)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(folder.join("edges.txt"))?);
        for (from, to, weight) in &ties.edges {
            writeln!(out, "{from} {to} {weight}")?;
        }
        out.flush()?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(folder.join("groups.txt"))?);
        for group in &truth {
            writeln!(out, "{}", group.map_or(-1, |g| g as i64))?;
        }
        out.flush()?;
        std::fs::write(folder.join("resolution.txt"), format!("{}\n", cpm.resolution))?;
    }
    leiden(
        "modularity",
        &graph,
        &Settings { objective: Objective::Modularity, resolution: 1.0, ..cpm },
        &truth,
    );
    leiden("cpm", &graph, &cpm, &truth);
    Ok(())
}

/// The whole strategy through the loaded plugin, database to memberships.
async fn through_plugin(
    store: &Store,
    host: &PluginHost,
    params: &Value,
    planted: &HashMap<String, usize>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let run = run_strategy(store, host, "need-based", Some(params), 0).await?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    let input = population(store, host, &[Table::Customers]).await?;
    let mut planted_by_id: HashMap<i64, usize> = HashMap::new();
    for batch in input.customers() {
        let (ids, external) = (batch.id()?, batch.external_id()?);
        for row in 0..batch.len() {
            if let Some(community) = planted.get(external.value(row)) {
                planted_by_id.insert(ids.value(row), *community);
            }
        }
    }
    let mut labels: HashMap<&str, usize> = HashMap::new();
    let (mut found, mut truth) = (Vec::new(), Vec::new());
    for membership in &run.memberships {
        let next = labels.len();
        found.push(*labels.entry(membership.segment.as_str()).or_insert(next));
        truth.push(planted_by_id.get(&membership.customer_id).copied());
    }
    println!(
        "need-based through the plugin, database to memberships: {seconds:.2} s, peak RSS {peak:.0} MB, \
         {} segments, NMI {:.4}",
        run.sizes.len(),
        score(&found, &truth)
    );
    let model = &run.model;
    println!(
        "  objective {}, resolution used {}, modularity {}, graph {}",
        model["objective"], model["resolution_used"], model["modularity"], model["graph"]
    );
    let mut biggest: Vec<(&String, &usize)> = run.sizes.iter().collect();
    biggest.sort_by(|a, b| b.1.cmp(a.1));
    biggest.truncate(8);
    println!("  largest segments: {biggest:?}");
    Ok(())
}
