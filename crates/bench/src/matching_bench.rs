//! The probabilistic matching pass on the demo generator's customers with duplicates: the
//! customers file and its truth are read, the pass runs (records to decisions), and the
//! figures printed are its time, the process's peak memory, and the precision and recall of
//! the pairs it would merge against the truth. Applying the merges is measured apart
//! (`kindred resolve` against a database).
//!
//!   kindred-matching-bench --customers-file customers.csv --truth duplicates.csv

use clap::Parser;
use kindred_matching::{Field, MatchRecord, Settings, Stage, run_with_progress};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Instant;

mod memory;

#[derive(Parser)]
struct Args {
    /// The customers CSV (`kindred demo --write-files DIR --duplicates 0.1` writes one).
    #[arg(long)]
    customers_file: PathBuf,
    /// The truth: `duplicate_external_id,original_external_id,...`.
    #[arg(long)]
    truth: PathBuf,
    /// Merge threshold (the default of `identity.auto_merge_probability`).
    #[arg(long, default_value_t = 0.95)]
    auto_merge: f64,
    /// Other merge thresholds to report precision and recall at, from the same scored pairs
    /// (clustered as the pass clusters).
    #[arg(long, value_delimiter = ',', default_values_t = [0.999, 0.99, 0.98, 0.95, 0.9])]
    also_at: Vec<f64>,
    /// Print this many wrongly merged pairs and missed pairs, both records side by side.
    #[arg(long, default_value_t = 0)]
    show_wrong: usize,
}

/// Every pair (lower first) within each group.
fn pairs_of(groups: &[Vec<String>]) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for group in groups {
        for (at, a) in group.iter().enumerate() {
            for b in &group[at + 1..] {
                pairs.insert(if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) });
            }
        }
    }
    pairs
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let mut reader = csv::Reader::from_path(&args.customers_file)?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|header| header == name);
    let fields = [
        (Field::FirstName, column("first_name")),
        (Field::LastName, column("last_name")),
        (Field::BirthDate, column("birth_date")),
        (Field::Email, column("email")),
        (Field::Phone, column("phone")),
        (Field::Postcode, column("postcode")),
        (Field::City, column("city")),
        (Field::Address, column("address_line1")),
    ];
    let key = column("external_id").ok_or_else(|| anyhow::anyhow!("no external_id column"))?;
    let mut records = Vec::new();
    let mut names = Vec::new();
    let mut rows: HashMap<String, String> = HashMap::new();
    for (at, row) in reader.records().enumerate() {
        let row = row?;
        let mut record = MatchRecord::new(at as i64);
        for (field, index) in fields {
            record.set(field, index.and_then(|index| row.get(index)).filter(|value| !value.is_empty()));
        }
        names.push(row.get(key).unwrap_or_default().to_owned());
        if args.show_wrong > 0 {
            let shown =
                fields.iter().map(|(_, index)| index.and_then(|index| row.get(index)).unwrap_or_default());
            rows.insert(names[at].clone(), shown.collect::<Vec<_>>().join(" | "));
        }
        records.push(record);
    }
    let read = started.elapsed().as_secs_f64();
    let mut truth: HashMap<String, Vec<String>> = HashMap::new();
    let mut noise_of: HashMap<(String, String), String> = HashMap::new();
    for row in csv::Reader::from_path(&args.truth)?.records() {
        let row = row?;
        let (duplicate, original) =
            (row.get(0).unwrap_or_default().to_owned(), row.get(1).unwrap_or_default().to_owned());
        let pair = if original < duplicate {
            (original.clone(), duplicate.clone())
        } else {
            (duplicate.clone(), original.clone())
        };
        noise_of.insert(pair, row.get(2).unwrap_or_default().to_owned());
        truth.entry(original.clone()).or_insert_with(|| vec![original]).push(duplicate);
    }
    let expected = pairs_of(&truth.into_values().collect::<Vec<_>>());

    let matching = Instant::now();
    let settings = Settings { auto_merge: args.auto_merge, ..Settings::default() };
    let stages: std::sync::Mutex<Vec<(Stage, Instant)>> = std::sync::Mutex::new(Vec::new());
    let decisions = run_with_progress(&records, &settings, &|stage, _, _| {
        let mut seen = stages.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.last().is_none_or(|(last, _)| *last != stage) {
            seen.push((stage, Instant::now()));
        }
    });
    let seconds = matching.elapsed().as_secs_f64();
    let stages = stages.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let ends = stages.iter().skip(1).map(|(_, at)| *at).chain([Instant::now()]);
    let timings: Vec<String> = stages
        .iter()
        .zip(ends)
        .map(|((stage, from), to)| format!("{} {:.1} s", stage.name(), (to - *from).as_secs_f64()))
        .collect();
    println!("stages: {}", timings.join(", "));

    let found: Vec<Vec<String>> = decisions
        .merges
        .iter()
        .map(|(ids, _)| ids.iter().map(|id| names[*id as usize].clone()).collect())
        .collect();
    let predicted = pairs_of(&found);
    let right = predicted.intersection(&expected).count() as f64;
    println!(
        "matching: {} customers ({} true duplicate pairs), read {read:.1} s; pass {seconds:.1} s \
         ({} candidate pairs, {} blocks too large), peak memory {:.0} MB; {} groups, {} pairs merged, \
         {} suggested; precision {:.4}, recall {:.4}",
        records.len(),
        expected.len(),
        decisions.pairs_compared,
        decisions.blocks_skipped,
        memory::peak_rss_mb(),
        decisions.merges.len(),
        predicted.len(),
        decisions.suggestions.len(),
        right / predicted.len().max(1) as f64,
        right / expected.len().max(1) as f64,
    );
    // The same pairs at other thresholds: which would link, clustered as the pass does.
    let every_scored: Vec<&kindred_matching::ScoredPair> =
        decisions.merges.iter().flat_map(|(_, pairs)| pairs.iter()).chain(&decisions.suggestions).collect();
    for threshold in &args.also_at {
        let links: Vec<(u32, u32, f64)> = every_scored
            .iter()
            .filter(|pair| pair.probability >= *threshold)
            .map(|pair| (pair.a as u32, pair.b as u32, pair.probability))
            .collect();
        let groups =
            kindred_matching::cluster::clusters(records.len(), &links, settings.strong, settings.max_cluster);
        let named: Vec<Vec<String>> =
            groups.iter().map(|group| group.iter().map(|at| names[*at as usize].clone()).collect()).collect();
        let linked = pairs_of(&named);
        let right = linked.intersection(&expected).count() as f64;
        println!(
            "at {threshold}: {} pairs merged, precision {:.4}, recall {:.4}",
            linked.len(),
            right / linked.len().max(1) as f64,
            right / expected.len().max(1) as f64
        );
    }
    // Recall by kind of noise: which copies the pass misses.
    let mut by_noise: std::collections::BTreeMap<&str, (usize, usize)> = std::collections::BTreeMap::new();
    for (pair, noise) in &noise_of {
        for kind in noise.split(';') {
            let entry = by_noise.entry(kind).or_default();
            entry.0 += 1;
            entry.1 += usize::from(predicted.contains(pair));
        }
    }
    let recalls: Vec<String> = by_noise
        .iter()
        .map(|(kind, (all, found))| format!("{kind} {:.3} ({all})", *found as f64 / *all as f64))
        .collect();
    println!("recall by noise: {}", recalls.join(", "));
    // Calibration: of the pairs the pass scored (those that linked a merge, and the
    // suggestions), by band of probability, how many are truly one person.
    let bands = [0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 1.0 + f64::EPSILON];
    let mut tally = vec![(0usize, 0.0f64, 0usize); bands.len() - 1];
    let scored_pairs =
        decisions.merges.iter().flat_map(|(_, pairs)| pairs.iter()).chain(&decisions.suggestions);
    for pair in scored_pairs {
        let Some(band) =
            bands.windows(2).position(|edge| pair.probability >= edge[0] && pair.probability < edge[1])
        else {
            continue;
        };
        let (a, b) = (&names[pair.a as usize], &names[pair.b as usize]);
        let key = if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
        tally[band].0 += 1;
        tally[band].1 += pair.probability;
        tally[band].2 += usize::from(expected.contains(&key));
    }
    let calibration: Vec<String> = tally
        .iter()
        .zip(bands.windows(2))
        .filter(|((count, _, _), _)| *count > 0)
        .map(|((count, sum, right), edge)| {
            format!(
                "[{:.3}, {:.3}) {count} pairs, mean probability {:.4}, truly one person {:.4}",
                edge[0],
                edge[1].min(1.0),
                sum / *count as f64,
                *right as f64 / *count as f64
            )
        })
        .collect();
    println!("calibration: {}", calibration.join("; "));
    if args.show_wrong > 0 {
        let model = &decisions.model;
        println!("model: prior {:.3e}", model.prior);
        for field in Field::ALL {
            let (m, u) = (model.m[field.index()], model.u[field.index()]);
            let weights: Vec<String> =
                m.iter().zip(u).map(|(m, u)| format!("{:+.1}", (m / u).log2())).collect();
            println!("  {:<10} m {m:.3?} u {u:.4?} weights {}", field.name(), weights.join(" "));
        }
    }
    let explain = |pair: &kindred_matching::ScoredPair| {
        let (a, b) = (names[pair.a as usize].clone(), names[pair.b as usize].clone());
        let fields: Vec<String> = pair
            .fields
            .iter()
            .map(|f| format!("{} {:?} {:+.1}", f.field.name(), f.level, f.weight))
            .collect();
        (if a < b { (a, b) } else { (b, a) }, format!("{:.4}: {}", pair.probability, fields.join(", ")))
    };
    let linked: HashMap<(String, String), String> =
        decisions.merges.iter().flat_map(|(_, pairs)| pairs.iter().map(explain)).collect();
    for pair in predicted.difference(&expected).take(args.show_wrong) {
        let (a, b) = pair;
        let why = linked.get(pair).map_or("linked through others", String::as_str);
        println!("wrong ({why}): {a} {}\n       {b} {}", rows[a], rows[b]);
    }
    let suggested: HashMap<(String, String), String> = decisions.suggestions.iter().map(explain).collect();
    // A missed pair not suggested was either never a candidate or scored below review: say
    // which, with the score it would have had.
    let (candidates, index_of) = if args.show_wrong > 0 {
        let (pairs, _) =
            kindred_matching::blocking::candidate_pairs(&records, &settings.keys, settings.max_block);
        let index_of: HashMap<&str, usize> =
            names.iter().enumerate().map(|(at, name)| (name.as_str(), at)).collect();
        (pairs.into_iter().collect::<std::collections::HashSet<_>>(), index_of)
    } else {
        Default::default()
    };
    let frequencies = kindred_matching::model::TermFrequencies::count(&records);
    let below = |a: &str, b: &str| {
        let (x, y) = (index_of[a], index_of[b]);
        let candidate = candidates.contains(&(x.min(y) as u32, x.max(y) as u32));
        let (levels, swapped) = kindred_matching::compare::gamma_oriented(&records[x], &records[y]);
        let other = if swapped { records[y].with_names_swapped() } else { records[y].clone() };
        let weights = decisions.model.field_weights(&levels, &records[x], &other, &frequencies);
        let weight: f64 = weights.iter().flatten().sum();
        let shown: Vec<String> = Field::ALL
            .iter()
            .map(|f| format!("{:?}{:+.1}", levels[f.index()], weights[f.index()].unwrap_or(0.0)))
            .collect();
        format!(
            "{}, would score {:.4} ({})",
            if candidate { "candidate" } else { "never a candidate" },
            decisions.model.probability(weight),
            shown.join(" ")
        )
    };
    for pair in expected.difference(&predicted).take(args.show_wrong) {
        let (a, b) = pair;
        let probability = suggested
            .get(pair)
            .map_or_else(|| format!("not suggested: {}", below(a, b)), |p| format!("suggested at {p}"));
        println!("missed ({probability}): {a} {}\n        {b} {}", rows[a], rows[b]);
    }
    Ok(())
}
