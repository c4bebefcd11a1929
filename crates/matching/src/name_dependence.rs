//! Two strangers who share a family name are not a random pair of people: a name runs in a
//! country, a region, a family, so such strangers also share a given name, a town, a kind of
//! street more often than any two people do. Weighing each of those agreements by how often
//! *all* strangers agree on it counts the name's country two or three times over and makes
//! namesakes look like one person. So the data says by how much: among strangers who share a
//! family name (or, where the family names differ, a given name), how often each other field
//! agrees at each level, against all strangers; a pair sharing the name has each field's
//! weight corrected by the difference. Where names say nothing of the rest (names drawn
//! apart from places, as in most synthetic benchmarks), the difference measured is nil.

use crate::compare::{Gamma, LEVELS, gamma, level};
use crate::random::SplitMix;
use crate::record::{FIELDS, Field, MatchRecord};

/// The name fields a pair may share, in the order they are looked at: the family name first
/// (it says most about where a person comes from), the given name where family names differ.
const NAMES: [Field; 2] = [Field::LastName, Field::FirstName];

/// The fields a shared name may say something about: the other name and where a person
/// lives. A birth date, an email or a phone number is a person's own, whatever their name.
const CORRECTED: [Field; 5] =
    [Field::FirstName, Field::LastName, Field::Postcode, Field::City, Field::Address];

/// A person's own fields: a pair is counted as strangers only if it comes no closer than
/// different on any of them (nor on the other name, unless that is what is counted).
const PERSONAL: [Field; 3] = [Field::BirthDate, Field::Email, Field::Phone];

/// Fields that tell people apart: a pair counted as strangers differs outright on at least
/// two of them (other than the name shared and the field counted), so a copy rewritten in one
/// field, as benchmarks make them, is still kept out of the count.
const TELLING_APART: [Field; 6] =
    [Field::BirthDate, Field::Email, Field::Phone, Field::FirstName, Field::LastName, Field::Address];

/// Fewest strangers seen at a level for its share to be trusted over the share among all
/// strangers: rarer agreements (an email, a phone) keep their plain weight.
const MIN_SEEN: f64 = 200.0;

/// For pairs sharing a name, by how much each field's weight at each level is lowered
/// (log2 of the share of strangers sharing the name that agree so, over the share of all
/// strangers): 0 where unmeasured, which is also the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameDependence {
    correction: [[[f64; LEVELS]; FIELDS]; NAMES.len()],
}

/// Whether a pair sharing `name` is surely two people for counting `field`: it differs
/// outright on two fields that tell people apart and is not close on any personal field or
/// on the other name (the shared name and `field` aside).
fn strangers(levels: &Gamma, name: Field, field: Field) -> bool {
    let others =
        |fields: &'static [Field]| fields.iter().filter(move |other| **other != field && **other != name);
    let differing = others(&TELLING_APART).filter(|other| levels[other.index()] == Some(3)).count();
    let close = others(&PERSONAL)
        .chain(others(&[Field::FirstName, Field::LastName]))
        .any(|other| levels[other.index()].is_some_and(|level| level < 3));
    differing >= 2 && !close
}

impl NameDependence {
    /// Measures the dependence on `records`: for each name, `samples` random pairs of records
    /// sharing it exactly (or every such pair, when there are no more), compared field by
    /// field; `u` gives each level's share among all pairs.
    pub fn estimate(records: &[MatchRecord], u: &[[f64; LEVELS]; FIELDS], samples: usize, seed: u64) -> Self {
        let mut dependence = Self::default();
        let mut random = SplitMix::new(seed ^ 0x4A3E_D0C5);
        for (condition, name) in NAMES.iter().enumerate() {
            let mut seen = [[0.0f64; LEVELS]; FIELDS];
            crate::agreeing::for_agreeing_pairs(records, *name, samples, &mut random, |a, b| {
                // Close on a personal field: counted for nothing, known before comparing the rest.
                let close = |field: Field| {
                    a.get(field).zip(b.get(field)).is_some_and(|(x, y)| level(field, x, y) < 3)
                };
                if PERSONAL.into_iter().any(close) {
                    return;
                }
                let levels = gamma(a, b);
                for field in CORRECTED.into_iter().filter(|field| field != name) {
                    if let Some(level) = levels[field.index()]
                        && strangers(&levels, *name, field)
                    {
                        seen[field.index()][usize::from(level)] += 1.0;
                    }
                }
            });
            for field in CORRECTED.into_iter().filter(|field| field != name) {
                let counts = seen[field.index()];
                let total: f64 = counts.iter().sum();
                for (level, count) in counts.iter().enumerate() {
                    if *count >= MIN_SEEN {
                        dependence.correction[condition][field.index()][level] =
                            (count / total / u[field.index()][level]).log2();
                    }
                }
            }
        }
        dependence
    }

    /// The correction of `field` at `level` for a pair sharing `name` (0 for a field that is
    /// not one of the names looked at).
    pub fn correction(&self, name: Field, field: Field, level: u8) -> f64 {
        NAMES
            .iter()
            .position(|candidate| *candidate == name)
            .map_or(0.0, |condition| self.correction[condition][field.index()][usize::from(level)])
    }

    /// Lowers (or raises) the weights of a pair (`levels`: its comparison, names as
    /// oriented) that shares a name, exactly or but for a slip, by what that name says of
    /// the other fields among strangers. Pairs sharing no name are left as they are.
    pub fn correct(&self, levels: &Gamma, weights: &mut [Option<f64>; FIELDS]) {
        let Some(condition) =
            NAMES.iter().position(|name| levels[name.index()].is_some_and(|level| level <= 1))
        else {
            return;
        };
        for field in Field::ALL {
            if let (Some(level), Some(weight)) = (levels[field.index()], weights[field.index()].as_mut()) {
                *weight -= self.correction[condition][field.index()][usize::from(level)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 6,000 people in three countries, each with its own family names and towns; given
    /// names shared by all when `shared_given` (else each country's own).
    fn countries(shared_given: bool) -> Vec<MatchRecord> {
        let mut random = SplitMix::new(9);
        // Names of eight random letters: no two alike (as "given1" and "given11" would be).
        let mut word = |_| (0..8).map(|_| char::from(b'a' + random.below(26) as u8)).collect::<String>();
        let (givens, families, towns): (Vec<String>, Vec<String>, Vec<String>) = (
            (0..30).map(&mut word).collect(),
            (0..60).map(&mut word).collect(),
            (0..30).map(&mut word).collect(),
        );
        (0..6000)
            .map(|id| {
                let country = id % 3;
                let given =
                    if shared_given { random.below(30) } else { country as usize * 10 + random.below(10) };
                MatchRecord::new(id)
                    .with(Field::FirstName, Some(&givens[given]))
                    .with(Field::LastName, Some(&families[country as usize * 20 + random.below(20)]))
                    .with(Field::City, Some(&towns[country as usize * 10 + random.below(10)]))
                    .with(
                        Field::BirthDate,
                        Some(&format!("19{:02}-01-{:02}", random.below(90), 1 + random.below(28))),
                    )
                    .with(Field::Email, Some(&format!("{:016x}@example.org", random.next_u64())))
            })
            .collect()
    }

    fn measured(records: &[MatchRecord]) -> NameDependence {
        let u = crate::model::estimate_u(records, 50_000, 1);
        NameDependence::estimate(records, &u, 50_000, 1)
    }

    #[test]
    fn a_town_shared_by_namesakes_of_one_country_says_less() {
        let dependence = measured(&countries(true));
        // Sharing a family name, strangers are of one country: one town in 10, not in 30.
        let town = dependence.correction(Field::LastName, Field::City, 0);
        assert!((town - 3f64.log2()).abs() < 0.3, "{town}");
        // Given names are drawn apart from countries: nothing to correct.
        let given = dependence.correction(Field::LastName, Field::FirstName, 0);
        assert!(given.abs() < 0.3, "{given}");
        assert_eq!(
            dependence.correction(Field::LastName, Field::BirthDate, 0),
            0.0,
            "a birth date is one's own"
        );
    }

    #[test]
    fn a_given_name_of_the_same_country_says_less_beside_its_family_name() {
        let dependence = measured(&countries(false));
        let given = dependence.correction(Field::LastName, Field::FirstName, 0);
        assert!((given - 3f64.log2()).abs() < 0.3, "{given}");
        let mut levels = [None; FIELDS];
        levels[Field::LastName.index()] = Some(0);
        levels[Field::FirstName.index()] = Some(0);
        levels[Field::City.index()] = Some(3);
        let mut weights = [None; FIELDS];
        weights[Field::LastName.index()] = Some(8.0);
        weights[Field::FirstName.index()] = Some(6.0);
        weights[Field::City.index()] = Some(-2.0);
        dependence.correct(&levels, &mut weights);
        assert_eq!(weights[Field::LastName.index()], Some(8.0), "the shared name itself is kept");
        assert!((weights[Field::FirstName.index()].unwrap() - (6.0 - given)).abs() < 1e-9);
        let mut unrelated = [None; FIELDS];
        unrelated[Field::City.index()] = Some(-2.0);
        let mut other_names = levels;
        other_names[Field::LastName.index()] = Some(3);
        other_names[Field::FirstName.index()] = Some(3);
        dependence.correct(&other_names, &mut unrelated);
        assert_eq!(unrelated[Field::City.index()], Some(-2.0), "no name shared: as it was");
    }

    #[test]
    fn copies_are_not_counted_as_namesakes() {
        // Everyone twice, with the same birth date: left out, so nothing is measured from them.
        let mut records = countries(true);
        let copies: Vec<MatchRecord> = records
            .iter()
            .map(|record| {
                let mut copy = record.clone();
                copy.id += 10_000;
                copy
            })
            .collect();
        records.extend(copies);
        let dependence = measured(&records);
        let given = dependence.correction(Field::LastName, Field::FirstName, 0);
        assert!(given.abs() < 0.5, "{given}");
    }
}
