//! Candidate pairs: records are grouped by several blocking keys (exact values of a few
//! fields together) and only records sharing a group are compared, never all pairs. A record
//! with a typo in one field still meets its duplicate under a key that leaves that field out.

use crate::record::{Field, MatchRecord};
use std::collections::HashMap;

/// A blocking key: the fields whose values, all known and equal, put two records in one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingKey(pub Vec<Field>);

impl BlockingKey {
    /// The keys used when none are given: family name with birth date, given name with birth
    /// date, birth date with city, birth date with postcode, family name with postcode,
    /// email, phone, and both names with city. A pair with typos in both names still meets
    /// under a key of neither.
    pub fn defaults() -> Vec<BlockingKey> {
        use Field::*;
        vec![
            BlockingKey(vec![LastName, BirthDate]),
            BlockingKey(vec![FirstName, BirthDate]),
            BlockingKey(vec![BirthDate, City]),
            BlockingKey(vec![BirthDate, Postcode]),
            BlockingKey(vec![LastName, Postcode]),
            BlockingKey(vec![Email]),
            BlockingKey(vec![Phone]),
            BlockingKey(vec![FirstName, LastName, City]),
        ]
    }

    /// The key's value for `record`, if it knows every field of it.
    fn value(&self, record: &MatchRecord) -> Option<String> {
        let mut key = String::new();
        for field in &self.0 {
            key.push_str(record.get(*field)?);
            key.push('\u{1f}');
        }
        Some(key)
    }
}

/// The pairs each key makes (indices, lower first, each once per key) and how many blocks
/// were too large to compare (larger than `max_block`: a value shared by that many is no
/// evidence of one person).
pub fn pairs_by_key(
    records: &[MatchRecord],
    keys: &[BlockingKey],
    max_block: usize,
) -> (Vec<Vec<(u32, u32)>>, usize) {
    let mut skipped = 0;
    let mut all = Vec::with_capacity(keys.len());
    for key in keys {
        let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
        for (at, record) in records.iter().enumerate() {
            if let Some(value) = key.value(record) {
                blocks.entry(value).or_default().push(at as u32);
            }
        }
        let mut pairs: Vec<u64> = Vec::new();
        for members in blocks.values() {
            if members.len() > max_block {
                skipped += 1;
                continue;
            }
            for (i, a) in members.iter().enumerate() {
                for b in &members[i + 1..] {
                    let (low, high) = if a < b { (*a, *b) } else { (*b, *a) };
                    pairs.push(u64::from(low) << 32 | u64::from(high));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        all.push(pairs.into_iter().map(|pair| ((pair >> 32) as u32, pair as u32)).collect());
    }
    (all, skipped)
}

/// The candidate pairs of `records` under any of `keys` (indices, lower first, each pair
/// once), and how many blocks were too large to compare.
pub fn candidate_pairs(
    records: &[MatchRecord],
    keys: &[BlockingKey],
    max_block: usize,
) -> (Vec<(u32, u32)>, usize) {
    let (by_key, skipped) = pairs_by_key(records, keys, max_block);
    let mut pairs: Vec<(u32, u32)> = by_key.into_iter().flatten().collect();
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_meet_under_any_key_once() {
        let records = vec![
            MatchRecord::new(1)
                .with(Field::LastName, Some("Lima"))
                .with(Field::BirthDate, Some("1990-01-02"))
                .with(Field::Email, Some("a@x.org")),
            MatchRecord::new(2)
                .with(Field::LastName, Some("Lima"))
                .with(Field::BirthDate, Some("1990-01-02"))
                .with(Field::Email, Some("a@x.org")),
            MatchRecord::new(3).with(Field::LastName, Some("Lmia")).with(Field::Email, Some("a@x.org")),
            MatchRecord::new(4).with(Field::LastName, Some("Silva")),
        ];
        let (pairs, skipped) = candidate_pairs(&records, &BlockingKey::defaults(), 10);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(skipped, 0);
        let (pairs, skipped) = candidate_pairs(&records, &BlockingKey::defaults(), 2);
        assert_eq!(pairs, vec![(0, 1)], "the email block of three is too large");
        assert_eq!(skipped, 1);
    }
}
