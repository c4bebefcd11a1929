//! Where a person lives is told by three fields at once, the postcode, the city and the
//! street address line, and how much they say about each other depends on the data: in most
//! countries a postcode names its city, so agreeing on both is one fact, not two; in other
//! data (or another country's postcodes) they are nearly independent, and agreeing on all
//! three is far rarer among strangers than any one of them. Summing their weights would count
//! one fact two or three times in the first case; keeping only the strongest would throw
//! evidence away in the second. So the data says which: among pairs of different people who
//! agree on one place field, how often they also agree on another is counted, and a second
//! agreeing field adds only what it says beyond the first.

use crate::compare::{LEVELS, level, names_swapped};
use crate::random::SplitMix;
use crate::record::{FIELDS, Field, MatchRecord};

/// The fields of where a person lives.
pub(crate) const LOCATION: [Field; 3] = [Field::Postcode, Field::City, Field::Address];

/// For each two place fields, by how much agreeing on one makes agreeing on the other more
/// likely among different people: P(both agree) / (P(one agrees) P(other agrees)), at least
/// 1 (independent). The default takes every place field as saying the same thing (infinitely
/// dependent: only the strongest agreement counts), which is what a pass assumes before it
/// has measured.
///
/// It also weighs the street line of a pair that agrees on its area (postcode or city) but
/// not on the line, by how lines compare within one area: among strangers agreeing on a
/// postcode (often one street), another house number is the rule, while a person's copy
/// that keeps the postcode nearly always keeps the line. Weighed apart, the postcode's
/// agreement would count for the pair and the other house would hardly count against it,
/// which merges neighbours with alike names.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationDependence {
    factor: [[f64; FIELDS]; FIELDS],
    /// For pairs of strangers agreeing exactly on each area field ([`AREAS`]): the share
    /// whose street lines compare at each level; `None` until measured on enough pairs.
    line_u: [Option<[f64; LEVELS]>; 2],
    /// The same among one person's records ([`Self::measure_matches`]).
    line_m: [Option<[f64; LEVELS]>; 2],
}

/// The place fields that name an area, finest first: the street line of a pair agreeing on
/// one is weighed by how lines compare within it.
pub(crate) const AREAS: [Field; 2] = [Field::Postcode, Field::City];

impl Default for LocationDependence {
    fn default() -> Self {
        Self { factor: [[f64::INFINITY; FIELDS]; FIELDS], line_u: [None; 2], line_m: [None; 2] }
    }
}

/// Level counts made into shares, each level given half a pair so none is impossible;
/// `None` with fewer than [`MIN_PAIRS`] pairs.
fn shares(counts: &[f64; LEVELS]) -> Option<[f64; LEVELS]> {
    let total: f64 = counts.iter().sum();
    (total >= MIN_PAIRS).then(|| counts.map(|count| (count + 0.5) / (total + 0.5 * LEVELS as f64)))
}

/// Whether two records are likely one person by their other fields: such pairs are left out
/// of the count, which is about strangers.
fn likely_same_person(a: &MatchRecord, b: &MatchRecord) -> bool {
    let close = |field: Field| match (a.get(field), b.get(field)) {
        (Some(x), Some(y)) => level(field, x, y) <= 1,
        _ => false,
    };
    (close(Field::FirstName) && close(Field::LastName))
        || close(Field::BirthDate)
        || close(Field::Email)
        || close(Field::Phone)
        || names_swapped(a, b)
}

/// Fewest pairs of strangers agreeing on a field that make a measured dependence trusted
/// over the assumption that place fields say the same thing.
const MIN_PAIRS: f64 = 50.0;

impl LocationDependence {
    /// Measures the dependence on `records`: for each place field, `samples` random pairs of
    /// records agreeing on it exactly (or all such pairs, if there are no more), strangers
    /// only, are checked for exact agreement on the other two; `u` gives each field's exact agreement among all pairs. A pair of fields
    /// takes the measure from the field whose agreeing pairs told more; with too few such
    /// pairs it stays dependent.
    pub fn estimate(records: &[MatchRecord], u: &[[f64; LEVELS]; FIELDS], samples: usize, seed: u64) -> Self {
        let mut known = [[0.0f64; FIELDS]; FIELDS];
        let mut agree = [[0.0f64; FIELDS]; FIELDS];
        let mut lines = [[0.0f64; LEVELS]; 2];
        let mut random = SplitMix::new(seed ^ 0x10CA_7104);
        for given in LOCATION {
            crate::agreeing::for_agreeing_pairs(records, given, samples, &mut random, |a, b| {
                if likely_same_person(a, b) {
                    return;
                }
                for other in LOCATION.into_iter().filter(|other| *other != given) {
                    if let (Some(p), Some(q)) = (a.get(other), b.get(other)) {
                        known[given.index()][other.index()] += 1.0;
                        if p == q {
                            agree[given.index()][other.index()] += 1.0;
                        }
                        if other == Field::Address
                            && let Some(area) = AREAS.iter().position(|area| *area == given)
                        {
                            lines[area][usize::from(level(Field::Address, p, q))] += 1.0;
                        }
                    }
                }
            });
        }
        let mut dependence = Self { line_u: lines.map(|counts| shares(&counts)), ..Self::default() };
        for first in LOCATION {
            for second in LOCATION.into_iter().filter(|second| *second != first) {
                // P(second | first) / u(second), or the other way round: the same quantity.
                let measured = |given: Field, other: Field| {
                    let pairs = known[given.index()][other.index()];
                    // One agreeing pair assumed: a few samples never make fields independent.
                    let share = (agree[given.index()][other.index()] + 1.0) / (pairs + 1.0);
                    (pairs, (share / u[other.index()][0]).max(1.0))
                };
                let (one, other) = (measured(first, second), measured(second, first));
                let (pairs, factor) = if one.0 >= other.0 { one } else { other };
                if pairs >= MIN_PAIRS {
                    dependence.factor[first.index()][second.index()] = factor;
                }
            }
        }
        dependence
    }

    /// Completes the street-line-within-an-area measure with how the line compares among
    /// pairs that agree on an area and are near-certainly one person by their other fields
    /// (`patterns`: comparison patterns to counts, see `compare::anchors`). An area measured
    /// on too few of such pairs, or on too few strangers, keeps the plain weights.
    pub fn measure_matches(&mut self, patterns: &std::collections::HashMap<u32, u64>) {
        let mut counts = [[0.0f64; LEVELS]; 2];
        for (packed, count) in patterns {
            let gamma = crate::compare::unpack(*packed);
            let Some(line) = gamma[Field::Address.index()] else { continue };
            if !crate::compare::anchors(&gamma, Field::Address) {
                continue;
            }
            for (area, field) in AREAS.iter().enumerate() {
                if gamma[field.index()] == Some(0) {
                    counts[area][usize::from(line)] += *count as f64;
                }
            }
        }
        self.line_m = counts.map(|counts| shares(&counts));
    }

    /// The weight of a street line at `level` for a pair agreeing exactly on the area field
    /// `area`, where both sides were measured.
    fn line_weight(&self, area: usize, level: u8) -> Option<f64> {
        let (m, u) = (self.line_m[area]?, self.line_u[area]?);
        Some((m[usize::from(level)] / u[usize::from(level)]).log2())
    }

    /// The dependence factor of two fields (infinite: they say the same thing).
    pub fn factor(&self, a: Field, b: Field) -> f64 {
        self.factor[a.index()][b.index()]
    }

    /// Corrects a pair's place weights for what the fields say about each other: the
    /// strongest agreement counts in full, each further agreeing field only what it says
    /// beyond the ones counted (its weight less log2 of the dependence, never below 0); of the
    /// disagreements only the strongest counts, since someone who moved differs in all at
    /// once.
    ///
    /// A street line that differs (a slip, another house, another street) in a pair agreeing
    /// exactly on an area (`levels`: the pair's comparison) weighs instead by how lines
    /// compare within one area (see [`LocationDependence`]), apart from the rest.
    pub fn weigh(&self, levels: &crate::compare::Gamma, weights: &mut [Option<f64>; FIELDS]) {
        let line = levels[Field::Address.index()].filter(|level| *level > 0);
        let in_area = line.and_then(|line| {
            AREAS
                .iter()
                .enumerate()
                .filter(|(_, area)| levels[area.index()] == Some(0))
                .find_map(|(area, _)| self.line_weight(area, line))
        });
        if in_area.is_some() {
            weights[Field::Address.index()] = None;
        }
        self.weigh_places(weights);
        if let Some(weight) = in_area {
            weights[Field::Address.index()] = Some(weight);
        }
    }

    /// [`Self::weigh`] without the street line in its area.
    fn weigh_places(&self, weights: &mut [Option<f64>; FIELDS]) {
        let mut agreeing: Vec<(Field, f64)> = LOCATION
            .iter()
            .filter_map(|field| {
                weights[field.index()].filter(|weight| *weight > 0.0).map(|weight| (*field, weight))
            })
            .collect();
        agreeing.sort_by(|x, y| y.1.total_cmp(&x.1));
        let mut counted: Vec<Field> = Vec::with_capacity(3);
        for (field, weight) in agreeing {
            let factor = counted.iter().map(|other| self.factor(field, *other)).fold(1.0, f64::max);
            weights[field.index()] = Some((weight - factor.log2()).clamp(0.0, weight));
            counted.push(field);
        }
        let strongest_against = LOCATION
            .iter()
            .filter_map(|field| {
                weights[field.index()].filter(|weight| *weight < 0.0).map(|weight| (*field, weight))
            })
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(field, _)| field);
        for field in LOCATION {
            if Some(field) != strongest_against && weights[field.index()].is_some_and(|weight| weight < 0.0) {
                weights[field.index()] = Some(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: i64, postcode: &str, city: &str) -> MatchRecord {
        MatchRecord::new(id).with(Field::Postcode, Some(postcode)).with(Field::City, Some(city))
    }

    fn weights_of(postcode: f64, city: f64) -> [Option<f64>; FIELDS] {
        let mut weights = [None; FIELDS];
        weights[Field::Postcode.index()] = Some(postcode);
        weights[Field::City.index()] = Some(city);
        weights
    }

    /// What a city agreeing at weight 5 adds to a postcode agreeing at weight 8, with the
    /// dependence measured on `records`.
    fn city_after_postcode(records: &[MatchRecord]) -> f64 {
        let u = crate::model::estimate_u(records, 20_000, 1);
        let dependence = LocationDependence::estimate(records, &u, 20_000, 1);
        let mut weights = weights_of(8.0, 5.0);
        dependence.weigh(&[None; FIELDS], &mut weights);
        assert_eq!(weights[Field::Postcode.index()], Some(8.0), "the strongest counts in full");
        weights[Field::City.index()].expect("the city's weight")
    }

    /// 4,000 records in 400 postcodes, each lying in one of 40 cities (ten to a city).
    fn postcodes_naming_cities() -> Vec<MatchRecord> {
        (0..4000)
            .map(|id| {
                let postcode = id % 400;
                place(id, &format!("{postcode:04}"), &format!("city{}", postcode / 10))
            })
            .collect()
    }

    #[test]
    fn a_postcode_that_names_its_city_leaves_the_city_nothing_to_add() {
        assert!(city_after_postcode(&postcodes_naming_cities()) < 0.5);
    }

    #[test]
    fn independent_place_fields_each_count() {
        // Postcodes and cities drawn apart, as in data where they were never checked.
        let mut random = SplitMix::new(3);
        let records: Vec<MatchRecord> = (0..4000)
            .map(|id| {
                let (postcode, city) = (random.below(400), random.below(40));
                place(id, &format!("{postcode:04}"), &format!("city{city}"))
            })
            .collect();
        assert!(city_after_postcode(&records) > 4.0);
    }

    #[test]
    fn another_house_in_the_same_postcode_counts_against_a_pair() {
        // Each postcode is one street of ten houses.
        let records: Vec<MatchRecord> = postcodes_naming_cities()
            .into_iter()
            .map(|record| {
                let (id, postcode) = (record.id, record.id % 400);
                record.with(Field::Address, Some(&format!("{} street{postcode}", id / 400 + 1)))
            })
            .collect();
        let u = crate::model::estimate_u(&records, 20_000, 1);
        let mut dependence = LocationDependence::estimate(&records, &u, 20_000, 1);
        // One person's records (sharing an email) that keep the postcode keep the line, but
        // for a slip now and then.
        let pattern = |line: u8| {
            let mut gamma = [None; FIELDS];
            gamma[Field::Email.index()] = Some(0);
            gamma[Field::Postcode.index()] = Some(0);
            gamma[Field::Address.index()] = Some(line);
            gamma
        };
        let patterns = std::collections::HashMap::from([
            (crate::compare::pack(&pattern(0)), 300),
            (crate::compare::pack(&pattern(1)), 30),
            (crate::compare::pack(&pattern(2)), 3),
        ]);
        let weigh = |dependence: &LocationDependence, line: u8| {
            let mut weights = weights_of(8.0, 0.0);
            weights[Field::Address.index()] = Some(1.0);
            dependence.weigh(&pattern(line), &mut weights);
            (weights[Field::Postcode.index()], weights[Field::Address.index()].unwrap())
        };
        // Strangers alone measured: the plain weights.
        assert_eq!(weigh(&dependence, 2), (Some(8.0), 0.0));
        dependence.measure_matches(&patterns);
        let (postcode, neighbour) = weigh(&dependence, 2);
        assert_eq!(postcode, Some(8.0), "the area counts in full");
        assert!(neighbour < -3.0, "another house of the street: {neighbour}");
        let (_, slip) = weigh(&dependence, 1);
        assert!(slip > 3.0, "a slip in the line strangers of one street never make: {slip}");
    }

    #[test]
    fn the_same_person_is_not_counted_as_strangers() {
        let person = |id: i64, last: &str| {
            MatchRecord::new(id)
                .with(Field::FirstName, Some("ana"))
                .with(Field::LastName, Some(last))
                .with(Field::BirthDate, Some("1990-01-02"))
        };
        assert!(likely_same_person(&person(1, "lima"), &person(2, "lmia")));
        assert!(!likely_same_person(
            &person(1, "lima"),
            &MatchRecord::new(2).with(Field::LastName, Some("lima"))
        ));
    }

    #[test]
    fn unmeasured_fields_say_the_same_thing_and_a_move_counts_once() {
        let dependence = LocationDependence::default();
        let mut weights = weights_of(8.0, 5.0);
        dependence.weigh(&[None; FIELDS], &mut weights);
        assert_eq!(weights[Field::City.index()], Some(0.0));
        let mut weights = weights_of(-4.0, -3.0);
        weights[Field::Address.index()] = Some(-2.0);
        dependence.weigh(&[None; FIELDS], &mut weights);
        assert_eq!(weights, {
            let mut expected = weights_of(-4.0, 0.0);
            expected[Field::Address.index()] = Some(0.0);
            expected
        });
    }
}
