//! The Fellegi-Sunter model: for each field and level of agreement, m (how often true matches
//! agree so) and u (how often non-matches do). u is counted on random pairs (nearly all
//! non-matches); m and the share of matches among the candidate pairs are estimated by
//! expectation-maximisation over the candidate pairs' comparison patterns, without labels.
//! A pair's weight is the sum of log2(m/u) over its known fields; exact agreement on a name
//! uses that name's own frequency as u, so a common name is weaker evidence than a rare one.

use crate::compare::{Gamma, LEVELS, anchors, gamma, unpack, within_one_edit};
use crate::random::SplitMix;
use crate::record::{FIELDS, Field, MatchRecord};
use std::collections::HashMap;

/// Fewest pairs a blocking key needs for its EM to be used.
const MIN_TRAINING_PAIRS: u64 = 100;

/// Probabilities are kept off 0 and 1 by this much, so every weight is finite.
const FLOOR: f64 = 1e-6;

/// The estimated model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// P(level | match), per field.
    pub m: [[f64; LEVELS]; FIELDS],
    /// P(level | non-match), per field.
    pub u: [[f64; LEVELS]; FIELDS],
    /// The share of pairs that are matches: among the candidate pairs as [`estimate`] gives
    /// it, among all pairs once the pass has scaled it (what probabilities start from).
    pub prior: f64,
    /// EM iterations run.
    pub iterations: usize,
    /// How much agreeing on one place field says about agreeing on another among different
    /// people (see [`LocationDependence`]).
    pub location: LocationDependence,
    /// What sharing a name says about agreeing on the other fields among different people
    /// (see [`NameDependence`]).
    pub names: NameDependence,
}

pub use crate::location::LocationDependence;

pub use crate::name_dependence::NameDependence;

pub use crate::frequency::TermFrequencies;

/// Counts the levels of `pairs` random pairs of `records` (u): almost all are non-matches.
pub fn estimate_u(records: &[MatchRecord], pairs: usize, seed: u64) -> [[f64; LEVELS]; FIELDS] {
    let mut counts = [[0u64; LEVELS]; FIELDS];
    if records.len() >= 2 {
        let mut random = SplitMix::new(seed);
        for _ in 0..pairs {
            let a = random.below(records.len());
            let mut b = random.below(records.len() - 1);
            if b >= a {
                b += 1;
            }
            for (field, level) in gamma(&records[a], &records[b]).iter().enumerate() {
                if let Some(level) = level {
                    counts[field][usize::from(*level)] += 1;
                }
            }
        }
    }
    let mut u = [[0.0; LEVELS]; FIELDS];
    for (field, levels) in counts.iter().enumerate() {
        let total: u64 = levels.iter().sum();
        for (level, count) in levels.iter().enumerate() {
            // Laplace smoothing: a level never seen in the sample is rare, not impossible.
            u[field][level] =
                ((*count as f64 + 1.0) / (total as f64 + LEVELS as f64)).clamp(FLOOR, 1.0 - FLOOR);
        }
        // Exact agreement is counted over every pair rather than sampled.
        let exact = exact_agreement(records, Field::ALL[field]);
        if let Some(exact) = exact {
            let others = 1.0 - u[field][0];
            let exact = exact.clamp(FLOOR * FLOOR, 1.0 - FLOOR);
            u[field][0] = exact;
            for value in &mut u[field][1..] {
                *value = (*value / others * (1.0 - exact)).clamp(FLOOR * FLOOR, 1.0 - FLOOR);
            }
        }
    }
    u
}

/// The share of all pairs of records knowing `field` that agree on it exactly, counted from
/// how often each value occurs (no pair is formed); `None` with fewer than two such records.
///
/// Why not sampled like the other levels: a value held by one person, as an email or a phone
/// is, makes exact agreement so rare among other people that no sample of a few hundred
/// thousand pairs sees it, and the smoothed estimate would cap the weight of sharing an email
/// by the sample's size, not by the data's, while a pair's prior falls with the number of all
/// pairs. Counted, u falls the same way.
fn exact_agreement(records: &[MatchRecord], field: Field) -> Option<f64> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for record in records {
        if let Some(value) = record.get(field) {
            *counts.entry(value).or_default() += 1;
        }
    }
    let known: u64 = counts.values().sum();
    if known < 2 {
        return None;
    }
    let agreeing: f64 = counts.values().map(|count| (count * (count - 1) / 2) as f64).sum();
    Some(agreeing / ((known * (known - 1) / 2) as f64))
}

/// The Bayes factor of one comparison pattern, as a log2 weight.
fn pattern_weight(m: &[[f64; LEVELS]; FIELDS], u: &[[f64; LEVELS]; FIELDS], gamma: &Gamma) -> f64 {
    gamma
        .iter()
        .enumerate()
        .filter_map(|(field, level)| {
            level.map(|level| (m[field][usize::from(level)] / u[field][usize::from(level)]).log2())
        })
        .sum()
}

/// Estimates m per field from the pairs of each blocking key apart, as Splink trains: every
/// pair a key makes agrees on the key's fields, matches and non-matches alike, so those
/// fields are left out of that key's EM (which then says how matches agree elsewhere), and a
/// field's m is the mean of the estimates of the keys that leave it out. Each key's EM also
/// gives how many of its pairs match; the most any key finds, over the candidate pairs
/// (`candidates`), is the share of matches. `by_key`: each key's fields and its pairs'
/// patterns.
pub fn estimate_by_key(
    by_key: &[(Vec<Field>, HashMap<u32, u64>)],
    candidates: usize,
    u: [[f64; LEVELS]; FIELDS],
    max_iterations: usize,
) -> Model {
    let mut sums = [[0.0; LEVELS]; FIELDS];
    let mut counts = [0usize; FIELDS];
    let mut iterations = 0;
    let mut matches: f64 = 0.0;
    for (fields, patterns) in by_key {
        let total: u64 = patterns.values().sum();
        // EM on a handful of pairs learns noise.
        if total < MIN_TRAINING_PAIRS {
            continue;
        }
        // The key's own fields, left out.
        let masked = without_fields(patterns, fields);
        let start = anchored_m(&masked);
        let trained = estimate_from(&masked, start, u, max_iterations);
        iterations += trained.iterations;
        matches = matches.max(trained.prior * total as f64);
        for field in Field::ALL.iter().filter(|field| !fields.contains(field)) {
            // A field no pair of this key knows taught nothing.
            let known = masked.keys().any(|packed| unpack(*packed)[field.index()].is_some());
            if known {
                for (sum, learned) in sums[field.index()].iter_mut().zip(trained.m[field.index()]) {
                    *sum += learned;
                }
                counts[field.index()] += 1;
            }
        }
    }
    let mut m = [[0.85, 0.08, 0.04, 0.03]; FIELDS];
    for ((field, sum), count) in m.iter_mut().zip(&sums).zip(counts) {
        if count > 0 {
            for (value, total) in field.iter_mut().zip(sum) {
                *value = (total / count as f64).clamp(FLOOR, 1.0 - FLOOR);
            }
        }
    }
    let prior = if candidates > 0 { (matches / candidates as f64).clamp(FLOOR, 1.0 - FLOOR) } else { FLOOR };
    Model {
        m,
        u,
        prior,
        iterations,
        location: LocationDependence::default(),
        names: NameDependence::default(),
    }
}

/// Estimates m and the share of matches over every candidate pair together (`patterns`), for
/// when no blocking key made enough pairs to learn from on its own (a small file with few
/// namesakes, where each key pairs a few dozen records, most of them copies). The keys'
/// fields are not left out: pooled, no field agrees on every pair. With fewer than
/// [`MIN_TRAINING_PAIRS`] pairs in all, nothing is learned (the share stays at its floor).
pub fn estimate_pooled(
    patterns: &HashMap<u32, u64>,
    u: [[f64; LEVELS]; FIELDS],
    max_iterations: usize,
) -> Model {
    let total: u64 = patterns.values().sum();
    if total < MIN_TRAINING_PAIRS {
        return estimate_by_key(&[], 0, u, max_iterations);
    }
    estimate_from(patterns, anchored_m(patterns), u, max_iterations)
}

/// A starting m for each field: how the field agrees among candidate pairs that are
/// near-certainly one person by the other fields (see `anchors`). No labels: the anchors are
/// the data's own strongest agreements. Fields no anchor knows start at a generic guess.
pub fn anchored_m(patterns: &HashMap<u32, u64>) -> [[f64; LEVELS]; FIELDS] {
    anchored_m_with_support(patterns).0
}

/// [`anchored_m`], with how many anchored pairs knew each field.
pub fn anchored_m_with_support(patterns: &HashMap<u32, u64>) -> ([[f64; LEVELS]; FIELDS], [f64; FIELDS]) {
    let mut m = [[0.85, 0.08, 0.04, 0.03]; FIELDS];
    let mut support = [0.0; FIELDS];
    for field in Field::ALL {
        let mut counts = [0.0; LEVELS];
        for (packed, count) in patterns {
            let gamma = unpack(*packed);
            if let Some(level) = gamma[field.index()]
                && anchors(&gamma, field)
            {
                counts[usize::from(level)] += *count as f64;
            }
        }
        let total: f64 = counts.iter().sum();
        support[field.index()] = total;
        if total >= 10.0 {
            for (value, count) in m[field.index()].iter_mut().zip(counts) {
                *value = ((count + 0.5) / (total + 2.0)).clamp(FLOOR, 1.0 - FLOOR);
            }
        }
    }
    (m, support)
}

/// Fewest anchored pairs (see [`anchored_m`]) that set a field's m directly.
const MIN_ANCHORED_PAIRS: f64 = 200.0;

/// Replaces EM's m of each field by how the field agrees among the anchored pairs, where
/// there are enough of them, then re-estimates the share of matches with m held.
///
/// Why: EM's two classes assume fields agree independently within each class. Where many
/// distinct people share a full name, a city and a street (common names in large towns),
/// such namesakes agree on several fields at once and EM takes them for a second kind of
/// match, learning that matches often disagree on birth date or phone; that makes those
/// disagreements weak evidence and merges namesakes. Pairs that share an email, a phone, or
/// both names and the birth date are one person whatever else they share, so how they agree
/// on the other fields is m without that confusion; EM keeps the fields anchors cannot speak
/// for. The share of matches is then re-estimated as [`estimate_by_key`] does, key by key
/// with the key's own fields left out, with m held.
pub fn anchor(
    model: &mut Model,
    patterns: &HashMap<u32, u64>,
    by_key: &[(Vec<Field>, HashMap<u32, u64>)],
    candidates: usize,
    max_iterations: usize,
) {
    let (anchored, support) = anchored_m_with_support(patterns);
    for field in Field::ALL {
        if support[field.index()] >= MIN_ANCHORED_PAIRS {
            model.m[field.index()] = anchored[field.index()];
        }
    }
    let mut matches: f64 = 0.0;
    for (fields, patterns) in by_key {
        let total: u64 = patterns.values().sum();
        if total < MIN_TRAINING_PAIRS {
            continue;
        }
        let masked = without_fields(patterns, fields);
        let share = estimate_prior(&masked, &model.m, &model.u, model.prior, max_iterations);
        matches = matches.max(share * total as f64);
    }
    if candidates > 0 && matches > 0.0 {
        model.prior = (matches / candidates as f64).clamp(FLOOR, 1.0 - FLOOR);
    }
}

/// `patterns` with `fields` made unknown (merging the patterns that then look alike).
fn without_fields(patterns: &HashMap<u32, u64>, fields: &[Field]) -> HashMap<u32, u64> {
    let mut masked: HashMap<u32, u64> = HashMap::with_capacity(patterns.len());
    for (packed, count) in patterns {
        let mut gamma = unpack(*packed);
        for field in fields {
            gamma[field.index()] = None;
        }
        *masked.entry(crate::compare::pack(&gamma)).or_default() += count;
    }
    masked
}

/// How many of the pairs in `weights` (each a log2 Bayes factor and how many pairs have it)
/// are matches, if a share `prior` of pairs is.
pub(crate) fn expected_matches(weights: &[(f64, f64)], prior: f64) -> f64 {
    weights
        .iter()
        .map(|(weight, count)| {
            let odds = prior / (1.0 - prior) * weight.exp2();
            count * if odds.is_finite() { odds / (1.0 + odds) } else { 1.0 }
        })
        .sum()
}

/// The share of matches among pairs with `patterns`, by EM with m and u held.
fn estimate_prior(
    patterns: &HashMap<u32, u64>,
    m: &[[f64; LEVELS]; FIELDS],
    u: &[[f64; LEVELS]; FIELDS],
    start: f64,
    max_iterations: usize,
) -> f64 {
    let weights: Vec<(f64, f64)> = patterns
        .iter()
        .map(|(packed, count)| (pattern_weight(m, u, &unpack(*packed)), *count as f64))
        .collect();
    let total: f64 = weights.iter().map(|(_, count)| count).sum();
    let mut prior = start.clamp(FLOOR, 1.0 - FLOOR);
    for _ in 0..max_iterations {
        if total <= 0.0 {
            break;
        }
        let next = (expected_matches(&weights, prior) / total).clamp(FLOOR, 1.0 - FLOOR);
        let change = (next - prior).abs();
        prior = next;
        if change < 1e-7 {
            break;
        }
    }
    prior
}

/// Estimates m and the prior by EM over the candidate pairs' patterns (`patterns`: packed
/// comparison vector to how many pairs have it), with `u` fixed, starting from the usual
/// guess (matches mostly agree exactly).
pub fn estimate(patterns: &HashMap<u32, u64>, u: [[f64; LEVELS]; FIELDS], max_iterations: usize) -> Model {
    estimate_from(patterns, [[0.85, 0.08, 0.04, 0.03]; FIELDS], u, max_iterations)
}

/// [`estimate`], starting from `m`.
pub fn estimate_from(
    patterns: &HashMap<u32, u64>,
    m: [[f64; LEVELS]; FIELDS],
    u: [[f64; LEVELS]; FIELDS],
    max_iterations: usize,
) -> Model {
    let mut m = m;
    let mut prior: f64 = 0.1;
    let patterns: Vec<(Gamma, f64)> =
        patterns.iter().map(|(packed, count)| (unpack(*packed), *count as f64)).collect();
    let total: f64 = patterns.iter().map(|(_, count)| count).sum();
    let mut iterations = 0;
    while iterations < max_iterations && total > 0.0 {
        iterations += 1;
        let mut agree = [[0.0; LEVELS]; FIELDS];
        let mut matched = 0.0;
        for (gamma, count) in &patterns {
            let odds = prior / (1.0 - prior) * pattern_weight(&m, &u, gamma).exp2();
            let posterior = if odds.is_finite() { odds / (1.0 + odds) } else { 1.0 };
            let weight = posterior * count;
            matched += weight;
            for (field, level) in gamma.iter().enumerate() {
                if let Some(level) = level {
                    agree[field][usize::from(*level)] += weight;
                }
            }
        }
        let new_prior = (matched / total).clamp(FLOOR, 1.0 - FLOOR);
        let mut change = (new_prior - prior).abs();
        prior = new_prior;
        for (field, levels) in agree.iter().enumerate() {
            let known: f64 = levels.iter().sum();
            if known <= 0.0 {
                continue;
            }
            for (level, value) in levels.iter().enumerate() {
                let next = (value / known).clamp(FLOOR, 1.0 - FLOOR);
                change = change.max((next - m[field][level]).abs());
                m[field][level] = next;
            }
        }
        if change < 1e-5 {
            break;
        }
    }
    Model {
        m,
        u,
        prior,
        iterations,
        location: LocationDependence::default(),
        names: NameDependence::default(),
    }
}

impl Model {
    /// The weight of each known field of a pair (log2 of m/u), names adjusted by how common
    /// their value is (see [`Model::name_weight`]).
    pub fn field_weights(
        &self,
        gamma: &Gamma,
        a: &MatchRecord,
        b: &MatchRecord,
        frequencies: &TermFrequencies,
    ) -> [Option<f64>; FIELDS] {
        let mut weights = [None; FIELDS];
        for field in Field::ALL {
            let Some(level) = gamma[field.index()] else { continue };
            let plain = (self.m[field.index()][usize::from(level)]
                / self.u[field.index()][usize::from(level)])
            .log2();
            weights[field.index()] = Some(self.name_weight(field, level, a, b, frequencies).unwrap_or(plain));
        }
        self.names.correct(gamma, &mut weights);
        self.location.weigh(gamma, &mut weights);
        weights
    }

    /// The weight of a name agreeing at `level`, where its frequency matters: exact agreement
    /// weighs by how common the value is (u is its share). A slip of one edit weighs by how
    /// many records are one edit away from the more common of the two spellings (u is their
    /// share: a stranger's "Jones" is rarely misspelt, while "Jon" and "John" are both
    /// common), never more than exact agreement on the rarer spelling would, nor less than
    /// the rule for other near agreement gives. Other near agreement never weighs more than
    /// exact agreement on the more common spelling would, since a misspelt "Jones" is as
    /// common a person as "Jones". The same street address weighs by how many
    /// records give that line (a line shared by many towns' streets, or by a block of flats,
    /// is weaker evidence than a house of its own; the postcode and city add what they say
    /// beyond it, see [`LocationDependence`]). `None` for other fields and levels.
    pub fn name_weight(
        &self,
        field: Field,
        level: u8,
        a: &MatchRecord,
        b: &MatchRecord,
        frequencies: &TermFrequencies,
    ) -> Option<f64> {
        if field == Field::Address {
            if level != 0 {
                return None;
            }
            let share = frequencies.line_share(a, b)?;
            return Some((self.m[field.index()][0] / share.clamp(FLOOR * FLOOR, 1.0 - FLOOR)).log2());
        }
        let share =
            |record: &MatchRecord| record.get(field).and_then(|value| frequencies.share(field, value));
        match level {
            0 => share(a).map(|share| (self.m[field.index()][0] / share.clamp(FLOOR, 1.0 - FLOOR)).log2()),
            1 => {
                let (m_exact, m_near) = (self.m[field.index()][0], self.m[field.index()][1]);
                let (x, y) = (a.get(field)?, b.get(field)?);
                let (share_x, share_y) = (share(a)?, share(b)?);
                let common = share_x.max(share_y);
                let plain = (m_near / self.u[field.index()][1]).log2();
                let as_exact = (m_exact.max(m_near) / common.clamp(FLOOR, 1.0 - FLOOR)).log2();
                let capped = plain.min(as_exact);
                if within_one_edit(x, y) {
                    let (common, rare) = if share_x >= share_y { (x, share_y) } else { (y, share_x) };
                    if let Some(near) = frequencies.near_share(field, common) {
                        let slip = (m_near / near.clamp(FLOOR * FLOOR, 1.0 - FLOOR)).log2();
                        let as_rare = (m_exact.max(m_near) / rare.clamp(FLOOR * FLOOR, 1.0 - FLOOR)).log2();
                        // Counted slips know no share below one record in all: among few
                        // records the average over all pairs knows better.
                        return Some(slip.min(as_rare).max(capped));
                    }
                }
                Some(capped)
            }
            _ => None,
        }
    }

    /// The match probability of a pair of total weight `weight`.
    pub fn probability(&self, weight: f64) -> f64 {
        let odds = self.prior / (1.0 - self.prior) * weight.exp2();
        if odds.is_finite() { odds / (1.0 + odds) } else { 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::pack;

    #[test]
    fn em_learns_that_agreement_marks_matches() {
        // 100 pairs agreeing on every field (matches), 900 agreeing on nothing.
        let agree: Gamma = [Some(0); FIELDS];
        let disagree: Gamma = [Some(3); FIELDS];
        let patterns = HashMap::from([(pack(&agree), 100), (pack(&disagree), 900)]);
        let u = [[0.01, 0.02, 0.07, 0.9]; FIELDS];
        let model = estimate(&patterns, u, 50);
        assert!((model.prior - 0.1).abs() < 0.01, "{}", model.prior);
        assert!(model.m[0][0] > 0.95, "{:?}", model.m[0]);
        let frequencies = TermFrequencies::default();
        let total: f64 = model
            .field_weights(&agree, &MatchRecord::new(1), &MatchRecord::new(2), &frequencies)
            .iter()
            .flatten()
            .sum();
        assert!(model.probability(total) > 0.999);
        let total: f64 = model
            .field_weights(&disagree, &MatchRecord::new(1), &MatchRecord::new(2), &frequencies)
            .iter()
            .flatten()
            .sum();
        assert!(model.probability(total) < 0.001);
    }

    #[test]
    fn pooled_pairs_teach_what_no_key_alone_could() {
        // 120 pairs agreeing on every field (copies), 60 agreeing on nothing: too few for a
        // key, enough together.
        let agree: Gamma = [Some(0); FIELDS];
        let disagree: Gamma = [Some(3); FIELDS];
        let u = [[0.01, 0.02, 0.07, 0.9]; FIELDS];
        let patterns = HashMap::from([(pack(&agree), 120), (pack(&disagree), 60)]);
        let model = estimate_pooled(&patterns, u, 50);
        assert!((model.prior - 120.0 / 180.0).abs() < 0.02, "{}", model.prior);
        let few = HashMap::from([(pack(&agree), 40), (pack(&disagree), 20)]);
        assert!(estimate_pooled(&few, u, 50).prior < 1e-5, "too few pairs: nothing learned");
    }

    #[test]
    fn a_common_name_is_weaker_evidence_than_a_rare_one() {
        let mut records: Vec<MatchRecord> =
            (0..99).map(|id| MatchRecord::new(id).with(Field::LastName, Some("smith"))).collect();
        records.push(MatchRecord::new(99).with(Field::LastName, Some("zaborowski")));
        let frequencies = TermFrequencies::count(&records);
        let model = Model {
            m: [[0.9, 0.05, 0.03, 0.02]; FIELDS],
            u: [[0.05, 0.05, 0.1, 0.8]; FIELDS],
            prior: 0.1,
            iterations: 0,
            location: LocationDependence::default(),
            names: NameDependence::default(),
        };
        let mut exact = [None; FIELDS];
        exact[Field::LastName.index()] = Some(0);
        let common = model.field_weights(&exact, &records[0], &records[1], &frequencies)
            [Field::LastName.index()]
        .unwrap();
        let rare = model.field_weights(&exact, &records[99], &records[99], &frequencies)
            [Field::LastName.index()]
        .unwrap();
        assert!(rare > common + 5.0, "rare {rare}, common {common}");
    }

    #[test]
    fn a_slip_of_a_name_strangers_rarely_share_outweighs_a_common_alternative() {
        let named = |id: i64, last: &str| MatchRecord::new(id).with(Field::LastName, Some(last));
        let mut records: Vec<MatchRecord> = (0..20).map(|id| named(id, "jones")).collect();
        records.push(named(20, "jnoes"));
        records.extend((21..71).map(|id| named(id, "jon")));
        records.extend((71..121).map(|id| named(id, "john")));
        let frequencies = TermFrequencies::count(&records);
        let model = Model {
            m: [[0.6, 0.35, 0.03, 0.02]; FIELDS],
            u: [[0.05, 0.01, 0.1, 0.84]; FIELDS],
            prior: 0.1,
            iterations: 0,
            location: LocationDependence::default(),
            names: NameDependence::default(),
        };
        let weight = |a: &MatchRecord, b: &MatchRecord, level: u8| {
            model.name_weight(Field::LastName, level, a, b, &frequencies).unwrap()
        };
        let exact = weight(&records[0], &records[1], 0);
        let slip = weight(&records[0], &records[20], 1);
        let alternative = weight(&records[21], &records[71], 1);
        assert!(slip > exact, "a stranger's jones is rarely misspelt: slip {slip}, exact {exact}");
        assert!(alternative < exact, "jon and john are both common: {alternative}, exact {exact}");
        // Never more than exact agreement on the rarer spelling (held by one record).
        assert!(slip <= (0.6f64 * 121.0).log2() + 1e-9, "{slip}");
    }
}
