//! Pairs of records that agree exactly on one field, drawn uniformly among all such pairs (or
//! every one of them, when there are few): where measuring how other fields behave among
//! people who share a value starts.

use crate::frequency::hash_of;
use crate::random::SplitMix;
use crate::record::{Field, MatchRecord};

/// Calls `visit` with pairs of `records` agreeing exactly on `field`: every such pair when
/// there are at most `samples`, otherwise `samples` pairs drawn uniformly among them.
pub(crate) fn for_agreeing_pairs(
    records: &[MatchRecord],
    field: Field,
    samples: usize,
    random: &mut SplitMix,
    mut visit: impl FnMut(&MatchRecord, &MatchRecord),
) {
    // Records by the hash of their value, sorted: groups without a map of vectors.
    let mut keyed: Vec<(u64, u32)> = records
        .iter()
        .enumerate()
        .filter_map(|(at, record)| record.get(field).map(|value| (hash_of(value), at as u32)))
        .collect();
    keyed.sort_unstable();
    let groups: Vec<&[(u64, u32)]> =
        keyed.chunk_by(|x, y| x.0 == y.0).filter(|members| members.len() >= 2).collect();
    // Pairs up to each group, so a pair is drawn uniformly among all agreeing pairs.
    let mut ends = Vec::with_capacity(groups.len());
    let mut total: u64 = 0;
    for members in &groups {
        let n = members.len() as u64;
        total += n * (n - 1) / 2;
        ends.push(total);
    }
    let mut pair = |x: u32, y: u32| {
        let (a, b) = (&records[x as usize], &records[y as usize]);
        // Two values hashing alike are no agreement.
        if a.get(field) == b.get(field) {
            visit(a, b);
        }
    };
    if total <= samples as u64 {
        for group in &groups {
            for (at, (_, x)) in group.iter().enumerate() {
                for (_, y) in &group[at + 1..] {
                    pair(*x, *y);
                }
            }
        }
        return;
    }
    for _ in 0..samples {
        let draw = random.next_u64() % total;
        let group = &groups[ends.partition_point(|end| *end <= draw)];
        let x = random.below(group.len());
        let mut y = random.below(group.len() - 1);
        if y >= x {
            y += 1;
        }
        pair(group[x].1, group[y].1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(id: i64, last: &str) -> MatchRecord {
        MatchRecord::new(id).with(Field::LastName, Some(last))
    }

    #[test]
    fn few_pairs_are_all_visited_and_many_are_sampled_among_agreeing_ones() {
        let mut records: Vec<MatchRecord> = (0..4).map(|id| named(id, "lima")).collect();
        records.extend((4..6).map(|id| named(id, "sousa")));
        records.push(named(6, "costa"));
        records.push(MatchRecord::new(7));
        let mut seen = Vec::new();
        for_agreeing_pairs(&records, Field::LastName, 100, &mut SplitMix::new(1), |a, b| {
            seen.push((a.id, b.id))
        });
        seen.sort_unstable();
        assert_eq!(seen, vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (4, 5)]);
        let mut drawn = 0;
        for_agreeing_pairs(&records, Field::LastName, 5, &mut SplitMix::new(1), |a, b| {
            assert_eq!(a.get(Field::LastName), b.get(Field::LastName));
            assert_ne!(a.id, b.id);
            drawn += 1;
        });
        assert_eq!(drawn, 5);
    }
}
