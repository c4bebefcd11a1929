//! The whole pass: records to candidate pairs, pairs to comparison patterns, patterns to a
//! model, pairs to weights and probabilities, strong pairs to clusters (merges) and doubtful
//! ones to suggestions, each with its field-by-field evidence.

use crate::blocking::{BlockingKey, candidates};
use crate::cluster::clusters;
use crate::compare::{gamma_oriented, pack, unpack};
use crate::model::{Model, TermFrequencies, estimate_by_key, estimate_u};
use crate::record::{Field, MatchRecord};
use std::collections::HashMap;

/// The share of records assumed to be copies when the data gives EM nothing to learn from.
const ASSUMED_COPIES: f64 = 0.05;

/// How a pass decides.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Pairs at or above this probability are merged (`identity.auto_merge_probability`).
    pub auto_merge: f64,
    /// Pairs at or above this, below `auto_merge`, are suggested for review
    /// (`identity.review_probability`).
    pub review: f64,
    /// Links at or above this may join two clusters; weaker ones only attach a lone record.
    pub strong: f64,
    /// The largest cluster merged at once.
    pub max_cluster: usize,
    /// Blocks larger than this are not compared.
    pub max_block: usize,
    /// Random pairs counted for u.
    pub u_pairs: usize,
    /// Most EM iterations.
    pub em_iterations: usize,
    /// Seed of the random pairs.
    pub seed: u64,
    /// The blocking keys.
    pub keys: Vec<BlockingKey>,
    /// Pairs of ids (lower first) a person decided are not one person: never linked.
    pub excluded: std::collections::HashSet<(i64, i64)>,
    /// Only pairs with at least one of these ids are decided (the records an import just
    /// brought); none: every pair. The model is still estimated on every candidate pair.
    pub focus: Option<std::collections::HashSet<i64>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            auto_merge: 0.95,
            review: 0.8,
            strong: 0.999,
            max_cluster: 6,
            max_block: 64,
            u_pairs: 200_000,
            em_iterations: 50,
            seed: 0x5EED_CAFE,
            keys: BlockingKey::defaults(),
            excluded: Default::default(),
            focus: None,
        }
    }
}

/// One field's part in a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEvidence {
    /// The field.
    pub field: Field,
    /// 0 exact, 1 close, 2 somewhat, 3 different; `None`: unknown in one of the records.
    pub level: Option<u8>,
    /// Its weight (log2 of m/u); 0 when unknown.
    pub weight: f64,
}

/// A pair with its probability and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredPair {
    /// The customer with the lower id.
    pub a: i64,
    /// The other.
    pub b: i64,
    /// The match probability.
    pub probability: f64,
    /// The total weight (log2 Bayes factor).
    pub weight: f64,
    /// Field by field.
    pub fields: Vec<FieldEvidence>,
    /// Whether one record gives the names the other way round (given name as family name
    /// and family as given); the names were then compared crosswise.
    pub names_swapped: bool,
}

/// What a pass decided.
#[derive(Debug, Clone)]
pub struct Decisions {
    /// Groups of customers that are one person (ids, sorted), each with the pairs that
    /// linked it.
    pub merges: Vec<(Vec<i64>, Vec<ScoredPair>)>,
    /// Pairs to review: between the two thresholds, or above the merge threshold but kept
    /// apart by the chaining guard.
    pub suggestions: Vec<ScoredPair>,
    /// Candidate pairs compared.
    pub pairs_compared: usize,
    /// Blocks too large to compare.
    pub blocks_skipped: usize,
    /// The model used.
    pub model: Model,
}

/// Where a pass is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Grouping records by the blocking keys.
    Blocking,
    /// Comparing the candidate pairs field by field (`done` of `total` pairs).
    Comparing,
    /// Estimating the model.
    Estimating,
    /// Weighing the pairs (`done` of `total` pairs).
    Scoring,
    /// Forming clusters.
    Clustering,
}

impl Stage {
    /// As the API names it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Blocking => "blocking",
            Stage::Comparing => "comparing",
            Stage::Estimating => "estimating",
            Stage::Scoring => "scoring",
            Stage::Clustering => "clustering",
        }
    }
}

/// Told how far a pass has come: the stage, and within it units done of a total (0 of 0 for
/// stages that are not counted).
pub type Progress<'a> = &'a (dyn Fn(Stage, u64, u64) + Sync);

/// Pairs handled between two progress reports.
const REPORT_EVERY: usize = 200_000;

/// Runs `work` for every index below `count` in parallel (one thread a core), each thread
/// writing its part of the output in order, and reports progress as `stage`. Plain scoped threads: the work is
/// one flat loop that splits evenly, no pool needed.
fn parallel_map<R: Send + Default + Clone>(
    count: usize,
    stage: Stage,
    progress: Progress<'_>,
    work: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let mut out = vec![R::default(); count];
    let threads = std::thread::available_parallelism().map_or(1, usize::from).max(1);
    let chunk = count.div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (at_chunk, output) in out.chunks_mut(chunk).enumerate() {
            let (work, done) = (&work, &done);
            scope.spawn(move || {
                for (at_part, slots) in output.chunks_mut(REPORT_EVERY).enumerate() {
                    let first = at_chunk * chunk + at_part * REPORT_EVERY;
                    for (offset, slot) in slots.iter_mut().enumerate() {
                        *slot = work(first + offset);
                    }
                    let now = done.fetch_add(slots.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    progress(stage, now + slots.len() as u64, count as u64);
                }
            });
        }
    });
    out
}

/// The bit of a packed comparison pattern (above the fields' bits) that says the pair's
/// names were compared crosswise.
const SWAPPED: u32 = 1 << 31;

/// A pair's packed comparison pattern, with [`SWAPPED`] set when `b` gives the names the
/// other way round.
fn compared(a: &MatchRecord, b: &MatchRecord) -> u32 {
    let (levels, swapped) = gamma_oriented(a, b);
    pack(&levels) | if swapped { SWAPPED } else { 0 }
}

/// `b` as a pair of pattern `pattern` compared it with `a`: with its names turned round
/// where [`SWAPPED`] says so.
fn oriented(pattern: u32, b: &MatchRecord) -> std::borrow::Cow<'_, MatchRecord> {
    if pattern & SWAPPED != 0 {
        std::borrow::Cow::Owned(b.with_names_swapped())
    } else {
        std::borrow::Cow::Borrowed(b)
    }
}

fn scored(model: &Model, frequencies: &TermFrequencies, a: &MatchRecord, b: &MatchRecord) -> ScoredPair {
    let (levels, names_swapped) = gamma_oriented(a, b);
    let swapped;
    let b = if names_swapped {
        swapped = b.with_names_swapped();
        &swapped
    } else {
        b
    };
    let weights = model.field_weights(&levels, a, b, frequencies);
    let weight: f64 = weights.iter().flatten().sum();
    let (first, second) = if a.id <= b.id { (a.id, b.id) } else { (b.id, a.id) };
    ScoredPair {
        a: first,
        b: second,
        probability: model.probability(weight),
        weight,
        fields: Field::ALL
            .iter()
            .map(|field| FieldEvidence {
                field: *field,
                level: levels[field.index()],
                weight: weights[field.index()].unwrap_or(0.0),
            })
            .collect(),
        names_swapped,
    }
}

/// The share of matches among all pairs: the fixed point of "as many matches as the
/// candidate pairs' probabilities add up to", starting from the model's. A pair's
/// probability with the prior over all pairs is its probability as a candidate too (blocking
/// chose it for the fields it agrees on, which its weight counts), so summing them over the
/// candidates counts the matches, and pairs no key made are taken as non-matches.
fn matches_everywhere(model: &Model, patterns: &HashMap<u32, u64>, all_pairs: f64, iterations: usize) -> f64 {
    let nobody = MatchRecord::new(0);
    let frequencies = TermFrequencies::default();
    let weights: Vec<(f64, f64)> = patterns
        .iter()
        .map(|(packed, count)| {
            let levels = unpack(*packed);
            let weight: f64 =
                model.field_weights(&levels, &nobody, &nobody, &frequencies).iter().flatten().sum();
            (weight, *count as f64)
        })
        .collect();
    let mut prior = model.prior;
    for _ in 0..iterations {
        let next = (crate::model::expected_matches(&weights, prior) / all_pairs).clamp(1e-12, 1.0 - 1e-6);
        let change = (next - prior).abs() / prior;
        prior = next;
        if change < 1e-6 {
            break;
        }
    }
    prior
}

/// Runs the pass over `records`.
pub fn run(records: &[MatchRecord], settings: &Settings) -> Decisions {
    run_with_progress(records, settings, &|_, _, _| {})
}

/// [`run`], telling `progress` how far it has come (from several threads).
pub fn run_with_progress(records: &[MatchRecord], settings: &Settings, progress: Progress<'_>) -> Decisions {
    progress(Stage::Blocking, 0, 0);
    let (pairs, blocks_skipped) = candidates(records, &settings.keys, settings.max_block);
    // Each pair is compared once, however many keys made it.
    let patterns: Vec<u32> = parallel_map(pairs.len(), Stage::Comparing, progress, |at| {
        let pair = pairs[at];
        compared(&records[pair.a as usize], &records[pair.b as usize])
    });
    progress(Stage::Estimating, 0, 0);
    let keys = settings.keys.len().min(32);
    let mut by_key: Vec<HashMap<u32, u64>> = vec![HashMap::new(); keys];
    for (pair, pattern) in pairs.iter().zip(&patterns) {
        let mut bits = pair.keys;
        while bits != 0 {
            let key = bits.trailing_zeros() as usize;
            *by_key[key].entry(*pattern & !SWAPPED).or_default() += 1;
            bits &= bits - 1;
        }
    }
    let trained: Vec<(Vec<Field>, HashMap<u32, u64>)> = settings
        .keys
        .iter()
        .zip(by_key)
        .filter(|(key, _)| key.trains())
        .map(|(key, patterns)| (key.fields(), patterns))
        .collect();
    let u = estimate_u(records, settings.u_pairs, settings.seed);
    let mut model = estimate_by_key(&trained, pairs.len(), u, settings.em_iterations);
    let mut every_pattern: HashMap<u32, u64> = HashMap::new();
    for pattern in &patterns {
        *every_pattern.entry(*pattern & !SWAPPED).or_default() += 1;
    }
    if model.iterations == 0 {
        // No key made enough pairs on its own: every candidate pair together.
        model = crate::model::estimate_pooled(&every_pattern, u, settings.em_iterations);
    }
    crate::model::anchor(&mut model, &every_pattern, &trained, pairs.len(), settings.em_iterations);
    model.location =
        crate::model::LocationDependence::estimate(records, &model.u, settings.u_pairs, settings.seed);
    model.location.measure_matches(&every_pattern);
    model.names =
        crate::model::NameDependence::estimate(records, &model.u, settings.u_pairs / 2, settings.seed);
    // EM gives the share of matches among the candidate pairs; a pair's probability starts
    // from the share among all pairs (blocking only chose which pairs to look at), as many
    // matches as EM found over every pair there is.
    // With too few duplicates to learn from (a first import of a clean file, then a few new
    // records), EM finds (almost) none: one record in twenty being a copy is assumed instead, and
    // nothing learned means nothing is merged without a person: pairs are only suggested.
    let all_pairs = (records.len() as f64) * (records.len().saturating_sub(1) as f64) / 2.0;
    let mut matches = model.prior * pairs.len() as f64;
    let learned = matches >= 5.0;
    if !learned {
        matches = ASSUMED_COPIES * records.len() as f64;
    }
    if all_pairs > 0.0 {
        model.prior = (matches / all_pairs).clamp(1e-12, 1.0 - 1e-6);
    }
    if learned && all_pairs > 0.0 {
        model.prior = matches_everywhere(&model, &every_pattern, all_pairs, settings.em_iterations);
    }
    let auto_merge = if learned { settings.auto_merge } else { f64::INFINITY };
    let frequencies = TermFrequencies::count(records);
    // Weights of each pattern without the names' frequencies, then per pair only the exact
    // names are looked up: the probability of most pairs is a sum of a few numbers.
    let worth_keeping: Vec<bool> = {
        let weights = PatternWeights::new(&model);
        parallel_map(pairs.len(), Stage::Scoring, progress, |at| {
            let pair = pairs[at];
            let (a, b) = (&records[pair.a as usize], &records[pair.b as usize]);
            let b = oriented(patterns[at], b);
            let weight = weights.weight(patterns[at] & !SWAPPED, a, &b, &frequencies);
            model.probability(weight) >= settings.review
        })
    };
    drop(patterns);
    progress(Stage::Clustering, 0, 0);
    let mut kept: Vec<ScoredPair> = Vec::new();
    let mut links: Vec<(u32, u32, f64)> = Vec::new();
    for (pair, keep) in pairs.iter().zip(&worth_keeping) {
        if !keep {
            continue;
        }
        let scored = scored(&model, &frequencies, &records[pair.a as usize], &records[pair.b as usize]);
        if settings.excluded.contains(&(scored.a, scored.b)) {
            continue;
        }
        if settings
            .focus
            .as_ref()
            .is_some_and(|focus| !focus.contains(&scored.a) && !focus.contains(&scored.b))
        {
            continue;
        }
        if scored.probability >= auto_merge {
            links.push((pair.a, pair.b, scored.probability));
        }
        kept.push(scored);
    }
    let groups = clusters(records.len(), &links, settings.strong, settings.max_cluster);
    let mut cluster_of: HashMap<i64, usize> = HashMap::new();
    for (at, group) in groups.iter().enumerate() {
        for index in group {
            cluster_of.insert(records[*index as usize].id, at);
        }
    }
    let mut merges: Vec<(Vec<i64>, Vec<ScoredPair>)> = groups
        .iter()
        .map(|group| {
            let mut ids: Vec<i64> = group.iter().map(|index| records[*index as usize].id).collect();
            ids.sort_unstable();
            (ids, Vec::new())
        })
        .collect();
    let mut suggestions = Vec::new();
    for pair in kept {
        match (cluster_of.get(&pair.a), cluster_of.get(&pair.b)) {
            (Some(x), Some(y)) if x == y => merges[*x].1.push(pair),
            _ => suggestions.push(pair),
        }
    }
    suggestions.sort_by(|x, y| y.probability.total_cmp(&x.probability));
    Decisions { merges, suggestions, pairs_compared: pairs.len(), blocks_skipped, model }
}

/// Each field's weight at each level, ready to add up.
struct PatternWeights<'a> {
    model: &'a Model,
    weights: [[f64; crate::compare::LEVELS]; crate::record::FIELDS],
}

impl<'a> PatternWeights<'a> {
    fn new(model: &'a Model) -> Self {
        let mut weights = [[0.0; crate::compare::LEVELS]; crate::record::FIELDS];
        for (field, levels) in weights.iter_mut().enumerate() {
            for (level, weight) in levels.iter_mut().enumerate() {
                *weight = (model.m[field][level] / model.u[field][level]).log2();
            }
        }
        Self { model, weights }
    }

    /// The total weight of a pair of `a` and `b` with `pattern` (the same sum as
    /// [`Model::field_weights`] gives).
    fn weight(&self, pattern: u32, a: &MatchRecord, b: &MatchRecord, frequencies: &TermFrequencies) -> f64 {
        let levels = unpack(pattern);
        let mut weights = [None; crate::record::FIELDS];
        for field in Field::ALL {
            let Some(level) = levels[field.index()] else { continue };
            weights[field.index()] = Some(
                self.model
                    .name_weight(field, level, a, b, frequencies)
                    .unwrap_or(self.weights[field.index()][usize::from(level)]),
            );
        }
        self.model.names.correct(&levels, &mut weights);
        self.model.location.weigh(&levels, &mut weights);
        weights.iter().flatten().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, first: &str, last: &str, born: &str, email: &str, postcode: &str) -> MatchRecord {
        MatchRecord::new(id)
            .with(Field::FirstName, Some(first))
            .with(Field::LastName, Some(last))
            .with(Field::BirthDate, Some(born))
            .with(Field::Email, Some(email))
            .with(Field::Postcode, Some(postcode))
    }

    #[test]
    fn the_share_of_matches_is_what_the_candidates_add_up_to() {
        // 100 candidate pairs agreeing on every field, 10,000 disagreeing on every field,
        // among a million pairs: 100 matches, whatever the share the pass started from.
        let mut model = crate::model::estimate(&HashMap::new(), [[0.01, 0.01, 0.01, 0.97]; 8], 0);
        model.m = [[0.9, 0.05, 0.03, 0.02]; 8];
        model.prior = 1e-8;
        let agree = pack(&[Some(0); 8]);
        let disagree = pack(&[Some(3); 8]);
        let patterns = HashMap::from([(agree, 100), (disagree, 10_000)]);
        let prior = matches_everywhere(&model, &patterns, 1e6, 50);
        assert!((prior / 1e-4 - 1.0).abs() < 0.01, "{prior}");
    }

    #[test]
    fn duplicates_with_typos_are_found_and_strangers_are_not() {
        let firsts = [
            "ana", "bruno", "carla", "duarte", "eva", "filipe", "gil", "helena", "ines", "joao", "luis",
            "marta", "nuno", "olga", "paulo", "rita", "sara", "tiago", "vera", "xavier", "beatriz", "miguel",
            "sofia", "pedro",
        ];
        let lasts = [
            "silva",
            "santos",
            "ferreira",
            "pereira",
            "oliveira",
            "costa",
            "rodrigues",
            "martins",
            "jesus",
            "sousa",
            "fernandes",
            "goncalves",
            "gomes",
            "lopes",
            "marques",
            "alves",
            "almeida",
            "ribeiro",
            "pinto",
            "carvalho",
        ];
        let mut random = crate::random::SplitMix::new(7);
        let mut records = Vec::new();
        for i in 0..1000i64 {
            let first = firsts[random.below(firsts.len())];
            let last = lasts[random.below(lasts.len())];
            let born = format!(
                "19{:02}-{:02}-{:02}",
                50 + random.below(50),
                1 + random.below(12),
                1 + random.below(28)
            );
            let postcode = format!("{:04}", 1000 + random.below(8000));
            records.push(person(i, first, last, &born, &format!("{first}.{last}{i}@mail.pt"), &postcode));
        }
        // Every tenth person again: a typo in the family name and another email.
        for i in (0..1000i64).step_by(10) {
            let original = records[i as usize].clone();
            let last = original.get(Field::LastName).unwrap();
            let typo: String =
                last.chars().enumerate().map(|(at, c)| if at == 2 { 'x' } else { c }).collect();
            records.push(person(
                10_000 + i,
                original.get(Field::FirstName).unwrap(),
                &typo,
                original.get(Field::BirthDate).unwrap(),
                &format!("other{i}@web.pt"),
                original.get(Field::Postcode).unwrap(),
            ));
        }
        // And every tenth from the fifth with the names given the other way round.
        for i in (5..1000i64).step_by(10) {
            let original = records[i as usize].clone();
            records.push(person(
                10_000 + i,
                original.get(Field::LastName).unwrap(),
                original.get(Field::FirstName).unwrap(),
                original.get(Field::BirthDate).unwrap(),
                &format!("other{i}@web.pt"),
                original.get(Field::Postcode).unwrap(),
            ));
        }
        let decisions = run(&records, &Settings { u_pairs: 50_000, ..Settings::default() });
        let merged: Vec<Vec<i64>> = decisions.merges.iter().map(|(ids, _)| ids.clone()).collect();
        let expected: Vec<Vec<i64>> = (0..1000i64).step_by(5).map(|i| vec![i, 10_000 + i]).collect();
        let found = expected.iter().filter(|pair| merged.contains(pair)).count();
        let wrong = merged.iter().filter(|group| !expected.contains(group)).count();
        assert!(found >= 196, "found {found} of 200: {merged:?}");
        assert_eq!(wrong, 0, "{merged:?}");
        let evidence = |id: i64| {
            let (_, pairs) = decisions.merges.iter().find(|(ids, _)| ids[0] == id).expect("merged");
            pairs[0].clone()
        };
        let typo = evidence(0);
        assert!(typo.fields.iter().any(|f| f.field == Field::LastName && f.level == Some(1)));
        assert!(!typo.names_swapped);
        let swapped = evidence(5);
        assert!(swapped.names_swapped, "{swapped:?}");
        assert!(swapped.fields.iter().any(|f| f.field == Field::LastName && f.level == Some(0)));
    }
}
