//! The social graph: planted communities with characteristic needs, and the ties between customers.

use crate::DemoError;
use crate::places::{self, Place};
use crate::rng::{self, Purpose, Seeds, chance, uniform};
use crate::vocab::{NEEDS, theme_of};
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Gamma};

/// What a planted community has in common.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    /// Characteristic needs (indices into [`NEEDS`]), most characteristic first.
    pub needs: Vec<u8>,
    /// Where most members live.
    pub home: Place,
}

/// Customers split into planted communities.
#[derive(Debug)]
pub(crate) struct Communities {
    /// Customer indices, community after community.
    members: Vec<u32>,
    /// Where each community starts in `members`, plus the end.
    offsets: Vec<u32>,
    /// Community of each customer.
    community_of: Vec<u32>,
    profiles: Vec<Profile>,
}

impl Communities {
    /// Splits `customers` into communities of about `mean_size` (by a seeded shuffle) and gives
    /// each its characteristic needs and home.
    pub fn plant(seeds: &Seeds, customers: usize, mean_size: usize) -> Result<Self, DemoError> {
        let mut rng = seeds.rng(Purpose::Plan, 0);
        let mean = mean_size as f64;
        let sizes =
            Gamma::new(4.0, mean / 4.0).map_err(|error| DemoError::Distribution(error.to_string()))?;
        let smallest = (mean_size / 4).max(2);
        let mut offsets = vec![0u32];
        let mut placed = 0usize;
        while placed < customers {
            let remaining = customers - placed;
            let mut size = (sizes.sample(&mut rng).round() as usize).max(smallest).min(remaining);
            if remaining - size < smallest {
                size = remaining;
            }
            placed += size;
            offsets.push(placed as u32);
        }
        let mut members: Vec<u32> = (0..customers as u32).collect();
        members.shuffle(&mut rng);
        let mut community_of = vec![0u32; customers];
        for (community, bounds) in offsets.windows(2).enumerate() {
            for member in &members[bounds[0] as usize..bounds[1] as usize] {
                community_of[*member as usize] = community as u32;
            }
        }
        let profiles = (0..offsets.len() - 1).map(|community| profile(seeds, community)).collect();
        Ok(Self { members, offsets, community_of, profiles })
    }

    /// Number of communities.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// The community of `customer`.
    pub fn of(&self, customer: usize) -> usize {
        self.community_of[customer] as usize
    }

    /// Members of `community`, in shuffled order.
    pub fn members(&self, community: usize) -> &[u32] {
        &self.members[self.offsets[community] as usize..self.offsets[community + 1] as usize]
    }

    /// What `community` has in common.
    pub fn profile(&self, community: usize) -> &Profile {
        &self.profiles[community]
    }
}

/// Draws the characteristic needs and home of `community`.
fn profile(seeds: &Seeds, community: usize) -> Profile {
    let mut rng = seeds.rng(Purpose::Community, community as u64);
    let count = 2 + rng::weighted(&mut rng, &[0.35, 0.4, 0.25], |w| *w);
    let first = rng::index(&mut rng, NEEDS.len());
    let mut needs = vec![first as u8];
    let (theme_start, theme_end) = theme_of(first);
    while needs.len() < count {
        // The second need usually comes from the same theme, so communities read coherently.
        let candidate = if needs.len() == 1 && chance(&mut rng, 0.75) {
            theme_start + rng::index(&mut rng, theme_end - theme_start)
        } else {
            rng::index(&mut rng, NEEDS.len())
        };
        if !needs.contains(&(candidate as u8)) {
            needs.push(candidate as u8);
        }
    }
    Profile { needs, home: places::anywhere(&mut rng) }
}

/// One tie from a customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TieSpec {
    /// Index of the other customer.
    pub to: u32,
    pub kind: &'static str,
    pub weight: f64,
    pub mutual: bool,
}

/// Reusable buffers for working out a customer's ties.
#[derive(Debug, Default)]
pub(crate) struct TieScratch {
    /// The ties to write for the customer.
    pub ties: Vec<TieSpec>,
    own: Vec<TieSpec>,
    other: Vec<TieSpec>,
}

/// Strong ties `customer` starts to members of its own community.
fn strong_choices(seeds: &Seeds, communities: &Communities, customer: usize, out: &mut Vec<TieSpec>) {
    out.clear();
    let members = communities.members(communities.of(customer));
    if members.len() < 2 {
        return;
    }
    let mut rng = seeds.rng(Purpose::Strong, customer as u64);
    let wanted = (1 + rng::weighted(&mut rng, &[0.2, 0.5, 0.3], |w| *w)).min(members.len() - 1);
    let picks = rand::seq::index::sample(&mut rng, members.len(), (wanted + 1).min(members.len()));
    for pick in
        picks.iter().map(|position| members[position]).filter(|m| *m as usize != customer).take(wanted)
    {
        let (kind, low, high, mutual) = match rng::weighted(&mut rng, &[0.08, 0.55, 0.32, 0.05], |w| *w) {
            0 => ("household", 0.85, 1.0, true),
            1 => ("friend", 0.6, 1.0, chance(&mut rng, 0.9)),
            2 => ("colleague", 0.6, 0.9, chance(&mut rng, 0.85)),
            _ => ("referred", 0.6, 0.8, false),
        };
        out.push(TieSpec { to: pick, kind, weight: rng::cents(uniform(&mut rng, low, high)), mutual });
    }
}

/// Weak ties `customer` starts to customers of other communities.
fn weak_choices(seeds: &Seeds, communities: &Communities, customer: usize, out: &mut Vec<TieSpec>) {
    out.clear();
    let customers = communities.community_of.len();
    let home = communities.of(customer);
    if communities.members(home).len() >= customers {
        return;
    }
    let mut rng = seeds.rng(Purpose::Weak, customer as u64);
    let wanted = rng::weighted(&mut rng, &[0.2, 0.65, 0.15], |w| *w);
    for _ in 0..wanted {
        let target = (0..8)
            .map(|_| rng::index(&mut rng, customers))
            .find(|t| communities.of(*t) != home && !out.iter().any(|tie| tie.to as usize == *t));
        let Some(target) = target else { continue };
        let (kind, mutual) = if chance(&mut rng, 0.65) {
            ("follows", chance(&mut rng, 0.1))
        } else {
            ("conversation", chance(&mut rng, 0.7))
        };
        out.push(TieSpec {
            to: target as u32,
            kind,
            weight: rng::cents(uniform(&mut rng, 0.05, 0.4)),
            mutual,
        });
    }
}

impl Communities {
    /// Works out the ties to write for `customer` into `scratch.ties`.
    ///
    /// A pair of customers gets at most one tie of a kind (one strong tie at all), whoever
    /// chose it: when both chose each other, only the one with the lower index writes it.
    pub fn ties(&self, seeds: &Seeds, customer: usize, scratch: &mut TieScratch) {
        scratch.ties.clear();
        let chosen_back = |other: &[TieSpec], same_kind: Option<&str>| {
            other
                .iter()
                .any(|tie| tie.to as usize == customer && same_kind.is_none_or(|kind| kind == tie.kind))
        };
        strong_choices(seeds, self, customer, &mut scratch.own);
        for tie in &scratch.own {
            if (tie.to as usize) < customer {
                strong_choices(seeds, self, tie.to as usize, &mut scratch.other);
                if chosen_back(&scratch.other, None) {
                    continue;
                }
            }
            scratch.ties.push(*tie);
        }
        weak_choices(seeds, self, customer, &mut scratch.own);
        for tie in &scratch.own {
            if (tie.to as usize) < customer {
                weak_choices(seeds, self, tie.to as usize, &mut scratch.other);
                if chosen_back(&scratch.other, Some(tie.kind)) {
                    continue;
                }
            }
            scratch.ties.push(*tie);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_customer_is_in_exactly_one_community_of_varied_size() {
        let communities = Communities::plant(&Seeds::new(3), 5_000, 40).unwrap();
        let mut seen = vec![0u32; 5_000];
        let mut sizes = Vec::new();
        for community in 0..communities.len() {
            sizes.push(communities.members(community).len());
            for member in communities.members(community) {
                seen[*member as usize] += 1;
                assert_eq!(communities.of(*member as usize), community);
            }
        }
        assert!(seen.iter().all(|count| *count == 1));
        let mean = 5_000.0 / sizes.len() as f64;
        assert!((32.0..48.0).contains(&mean), "mean size {mean}");
        assert!(sizes.iter().min() < sizes.iter().max());
        // Not contiguous: the first community's members are spread out.
        let first = communities.members(0);
        assert!(first.iter().max().unwrap() - first.iter().min().unwrap() > first.len() as u32 * 4);
    }

    #[test]
    fn ties_are_unique_and_mostly_inside_communities() {
        let seeds = Seeds::new(5);
        let communities = Communities::plant(&seeds, 3_000, 30).unwrap();
        let mut scratch = TieScratch::default();
        let mut pairs = HashSet::new();
        let (mut strong, mut weak) = (0usize, 0usize);
        for customer in 0..3_000 {
            communities.ties(&seeds, customer, &mut scratch);
            for tie in &scratch.ties {
                assert_ne!(tie.to as usize, customer);
                assert!((0.0..=1.0).contains(&tie.weight));
                let (low, high) = (customer.min(tie.to as usize), customer.max(tie.to as usize));
                assert!(pairs.insert((low, high, tie.kind)), "duplicate {customer} {tie:?}");
                if communities.of(customer) == communities.of(tie.to as usize) {
                    strong += 1;
                    assert!(tie.weight >= 0.6);
                } else {
                    weak += 1;
                    assert!(tie.weight <= 0.4);
                }
            }
        }
        let strong_degree = 2.0 * strong as f64 / 3_000.0;
        assert!((3.0..=5.0).contains(&strong_degree), "strong degree {strong_degree}");
        let weak_per_customer = weak as f64 / 3_000.0;
        assert!((0.7..=1.3).contains(&weak_per_customer), "weak ties {weak_per_customer}");
    }

    #[test]
    fn tiny_populations_work() {
        let seeds = Seeds::new(1);
        for customers in [0, 1, 2, 5] {
            let communities = Communities::plant(&seeds, customers, 40).unwrap();
            let mut scratch = TieScratch::default();
            for customer in 0..customers {
                communities.ties(&seeds, customer, &mut scratch);
                assert!(scratch.ties.iter().all(|tie| tie.to as usize != customer));
            }
        }
    }
}
