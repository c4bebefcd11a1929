//! How common each value is, for the term-frequency adjustment of weights: a name's share of
//! the records, the share of records one slip (one edit) away from it, and the share giving
//! each street address line.

use crate::compare::within_one_edit;
use crate::record::{FIELDS, Field, MatchRecord};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// The fields whose agreement is weighed by how common the value is.
pub(crate) const TF_FIELDS: [Field; 3] = [Field::FirstName, Field::LastName, Field::City];

/// The fields whose near agreement (one edit) is weighed by how many records are one edit
/// away from the value.
const NEAR_FIELDS: [Field; 2] = [Field::FirstName, Field::LastName];

/// How many records hold a value, and how many hold a value one edit away from it.
#[derive(Debug, Default, Clone, Copy)]
struct Count {
    exact: u32,
    near: u32,
}

/// How often each value of the name fields occurs (and how often a value one edit away
/// does), and each street address line, for the term-frequency adjustment.
#[derive(Debug, Default)]
pub struct TermFrequencies {
    counts: [HashMap<Box<str>, Count>; FIELDS],
    lines: HashMap<u64, u32>,
    records: usize,
}

/// A hash of `record`'s street address line (`None` without one). What the postcode and
/// city add to it is weighed apart, by how much they say beyond the line among different
/// people (see `LocationDependence`).
fn line(record: &MatchRecord) -> Option<u64> {
    record.get(Field::Address).map(hash_of)
}

/// A hash of `text` (grouping values without keeping them).
pub(crate) fn hash_of(text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// For each value of `counts`, adds up the records whose value is one edit away (a letter
/// changed, added, dropped, or two neighbours swapped). Values one edit apart share the
/// value with one letter dropped from each (or one is the other with a letter dropped), so
/// only values sharing such a form are compared, never all pairs of values.
fn count_near(counts: &mut HashMap<Box<str>, Count>) {
    let values: Vec<(Box<str>, u32)> =
        counts.iter().map(|(value, count)| (value.clone(), count.exact)).collect();
    let mut forms: Vec<(u64, u32)> = Vec::new();
    let mut dropped = String::new();
    for (at, (value, _)) in values.iter().enumerate() {
        forms.push((hash_of(value), at as u32));
        for (position, letter) in value.char_indices() {
            dropped.clear();
            dropped.push_str(&value[..position]);
            dropped.push_str(&value[position + letter.len_utf8()..]);
            forms.push((hash_of(&dropped), at as u32));
        }
    }
    forms.sort_unstable();
    forms.dedup();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for group in forms.chunk_by(|x, y| x.0 == y.0) {
        for (i, (_, x)) in group.iter().enumerate() {
            for (_, y) in &group[i + 1..] {
                pairs.push(((*x).min(*y), (*x).max(*y)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut near = vec![0u32; values.len()];
    for (x, y) in pairs {
        let ((a, count_a), (b, count_b)) = (&values[x as usize], &values[y as usize]);
        if within_one_edit(a, b) {
            near[x as usize] = near[x as usize].saturating_add(*count_b);
            near[y as usize] = near[y as usize].saturating_add(*count_a);
        }
    }
    for ((value, _), near) in values.iter().zip(near) {
        if let Some(count) = counts.get_mut(value) {
            count.near = near;
        }
    }
}

impl TermFrequencies {
    /// Counts the values of `records`.
    pub fn count(records: &[MatchRecord]) -> Self {
        let mut frequencies = Self { records: records.len(), ..Default::default() };
        for record in records {
            for field in TF_FIELDS {
                if let Some(value) = record.get(field) {
                    frequencies.counts[field.index()].entry(value.into()).or_default().exact += 1;
                }
            }
            if let Some(line) = line(record) {
                *frequencies.lines.entry(line).or_default() += 1;
            }
        }
        for field in NEAR_FIELDS {
            count_near(&mut frequencies.counts[field.index()]);
        }
        frequencies
    }

    /// The share of records with `value` in `field`, if the field is adjusted.
    pub fn share(&self, field: Field, value: &str) -> Option<f64> {
        if !TF_FIELDS.contains(&field) || self.records == 0 {
            return None;
        }
        let count = self.counts[field.index()].get(value).map_or(1, |count| count.exact.max(1));
        Some(f64::from(count) / self.records as f64)
    }

    /// The share of records whose `field` is one edit away from `value` (not equal to it), if
    /// the field is adjusted so; at least one record's worth (a value compared with `value`
    /// is one of them).
    pub fn near_share(&self, field: Field, value: &str) -> Option<f64> {
        if !NEAR_FIELDS.contains(&field) || self.records == 0 {
            return None;
        }
        let count = self.counts[field.index()].get(value).map_or(1, |count| count.near.max(1));
        Some(f64::from(count) / self.records as f64)
    }

    /// The share of records giving the street address line both `a` and `b` give, if they
    /// give the same one.
    pub fn line_share(&self, a: &MatchRecord, b: &MatchRecord) -> Option<f64> {
        let (line, other) = (line(a)?, line(b)?);
        if line != other || self.records == 0 {
            return None;
        }
        let count = self.lines.get(&line).copied().unwrap_or(1).max(1);
        Some(f64::from(count) / self.records as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(id: i64, last: &str) -> MatchRecord {
        MatchRecord::new(id).with(Field::LastName, Some(last))
    }

    #[test]
    fn values_one_edit_away_are_counted() {
        let mut records: Vec<MatchRecord> = (0..10).map(|id| named(id, "jones")).collect();
        records.extend((10..14).map(|id| named(id, "jone")));
        records.push(named(14, "jnoes"));
        records.push(named(15, "jonas"));
        records.push(named(16, "smith"));
        let frequencies = TermFrequencies::count(&records);
        let near = |value: &str| frequencies.near_share(Field::LastName, value).map(|share| share * 17.0);
        // jone (4, dropped letter), jnoes (1, swap), jonas (1, changed letter).
        assert_eq!(near("jones").map(f64::round), Some(6.0));
        // jones (10, an added letter); jonas is two edits away.
        assert_eq!(near("jone").map(f64::round), Some(10.0));
        assert_eq!(near("smith").map(f64::round), Some(1.0), "none, counted as one");
        assert_eq!(frequencies.near_share(Field::City, "jones"), None);
    }

    #[test]
    fn an_address_line_is_as_common_as_the_records_giving_it() {
        let at = |id: i64, line: &str| MatchRecord::new(id).with(Field::Address, Some(line));
        let records =
            [at(0, "12 main street"), at(1, "12 main street"), at(2, "12 main street"), at(3, "7 elm road")];
        let frequencies = TermFrequencies::count(&records);
        assert_eq!(frequencies.line_share(&records[0], &records[1]), Some(0.75));
        assert_eq!(frequencies.line_share(&records[0], &records[3]), None, "another line");
    }
}
