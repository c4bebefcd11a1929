//! Each customer's needs: most of its community's, plus a few of its own.

use crate::graph::Profile;
use crate::rng::{self, Purpose, Seeds, chance, uniform};
use crate::vocab::{NEEDS, NeedClass};
use crate::write::Row;
use crate::{CustomerId, World};

/// A need a customer holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeldNeed {
    /// Index into [`NEEDS`].
    pub need: u8,
    pub weight: f64,
    pub kind: &'static str,
    pub source: &'static str,
}

impl HeldNeed {
    /// The vocabulary entry.
    pub fn tag(&self) -> &'static crate::vocab::NeedTag {
        &NEEDS[usize::from(self.need)]
    }
}

fn kind(need: usize, weight: f64) -> &'static str {
    match NEEDS[need].class {
        NeedClass::Hobby if weight >= 0.85 => "passion",
        NeedClass::Hobby => "interest",
        NeedClass::Need => "need",
        NeedClass::Job => "job",
    }
}

/// Chance that a member holds its community's most characteristic need, then each other one.
const HOLD_FIRST: f64 = 0.92;
const HOLD_OTHER: f64 = 0.78;

/// Fills `out` with the needs of `customer`, a member of a community with `profile`.
pub(crate) fn held_needs(seeds: &Seeds, customer: usize, profile: &Profile, out: &mut Vec<HeldNeed>) {
    out.clear();
    let mut rng = seeds.rng(Purpose::Needs, customer as u64);
    for (rank, need) in profile.needs.iter().enumerate() {
        if chance(&mut rng, if rank == 0 { HOLD_FIRST } else { HOLD_OTHER }) {
            let weight = rng::cents(uniform(&mut rng, 0.6, 1.0));
            let source = if chance(&mut rng, 0.55) { "declared" } else { "inferred" };
            out.push(HeldNeed { need: *need, weight, kind: kind(usize::from(*need), weight), source });
        }
    }
    let extra = rng::weighted(&mut rng, &[0.35, 0.4, 0.25], |w| *w);
    for _ in 0..extra {
        let need = rng::index(&mut rng, NEEDS.len()) as u8;
        if profile.needs.contains(&need) || out.iter().any(|held| held.need == need) {
            continue;
        }
        let weight = rng::cents(uniform(&mut rng, 0.1, 0.4));
        let source = if chance(&mut rng, 0.3) { "declared" } else { "inferred" };
        out.push(HeldNeed { need, weight, kind: kind(usize::from(need), weight), source });
    }
}

/// Fills `out` with the needs of `customer` in `world`.
pub(crate) fn of_customer(world: &World, customer: usize, out: &mut Vec<HeldNeed>) {
    let profile = world.communities.profile(world.communities.of(customer));
    held_needs(&world.seeds, customer, profile, out);
}

/// Fills `row` with one needs-file row.
pub(crate) fn write_row(customer: usize, need: &HeldNeed, row: &mut Row) {
    row.clear();
    row.text_fmt(format_args!("{}", CustomerId(customer)))
        .text(need.tag().tag)
        .text(need.kind)
        .text(need.source)
        .number(need.weight, 2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::Place;

    #[test]
    fn members_mostly_hold_their_community_needs() {
        let seeds = Seeds::new(9);
        let profile = Profile { needs: vec![11, 12, 40], home: Place { country: 0, region: 0, city: 0 } };
        let mut needs = Vec::new();
        let (mut first, mut others, mut extras) = (0, 0, 0);
        for customer in 0..1_000 {
            held_needs(&seeds, customer, &profile, &mut needs);
            for held in &needs {
                assert!((0.0..=1.0).contains(&held.weight));
                match profile.needs.iter().position(|n| *n == held.need) {
                    Some(0) => first += 1,
                    Some(_) => others += 1,
                    None => {
                        extras += 1;
                        assert!(held.weight <= 0.4);
                    }
                }
            }
            let mut tags: Vec<_> = needs.iter().map(|h| h.need).collect();
            tags.sort_unstable();
            tags.dedup();
            assert_eq!(tags.len(), needs.len());
        }
        assert!(first >= 880, "{first}");
        assert!((1_450..1_670).contains(&others), "{others}");
        assert!((700..1_000).contains(&extras), "{extras}");
    }

    #[test]
    fn kinds_follow_the_tag_class() {
        assert_eq!(kind(0, 0.9), "passion");
        assert_eq!(kind(0, 0.7), "interest");
        assert_eq!(kind(2, 0.9), "need");
        assert_eq!(kind(19, 0.9), "job");
    }
}
