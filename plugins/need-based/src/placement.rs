//! The vote that places a customer in a community the ties did not put it in: customers with
//! no tie or only a few, in fit, and new or changed customers in assign. The same vote both
//! times, so a customer assigned alone lands where a whole run would put it.
//!
//! A community gets the weight of the customer's ties to its members, and for each of the
//! customer's needs `weight × IDF × share`, the share of the community's members who hold
//! that need. Needs are scaled so that, for a typical customer, all its needs weigh
//! `needs_share` against its ties' `1 − needs_share`.

use crate::affinity::NeedTable;
use crate::settings::Settings;
use rustc_hash::FxHashMap;

/// A community index meaning "none".
pub const NO_COMMUNITY: u32 = u32::MAX;

/// Communities hold a need in their profile (for votes) from this share of members.
const PROFILE_SHARE: f64 = 0.05;

/// What the vote knows: the communities' needs and how ties and needs are weighed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Voter {
    tie_weight: f64,
    need_weight: f64,
    /// IDF of each need, by index.
    idf: Vec<f64>,
    /// For each need, the communities that hold it with their share of members.
    profiles: Vec<Vec<(u32, f64)>>,
}

impl Voter {
    /// The vote over the communities of `membership` (one per node, [`NO_COMMUNITY`] for
    /// none), with `needs` the nodes' needs and `tie_degrees` their weighted tie degrees.
    pub fn new(needs: &NeedTable, tie_degrees: &[f64], membership: &[u32], settings: &Settings) -> Self {
        let idf = needs.idf();
        let count =
            membership.iter().filter(|c| **c != NO_COMMUNITY).max().map_or(0, |max| *max as usize + 1);
        let mut sizes = vec![0_usize; count];
        for community in membership.iter().filter(|c| **c != NO_COMMUNITY) {
            sizes[*community as usize] += 1;
        }
        let mut holders: FxHashMap<(u32, u32), usize> = FxHashMap::default();
        for (node, list) in needs.by_node.iter().enumerate() {
            if membership[node] != NO_COMMUNITY {
                for (need, _) in list {
                    *holders.entry((*need, membership[node])).or_default() += 1;
                }
            }
        }
        let mut profiles = vec![Vec::new(); needs.tags.len()];
        for ((need, community), held) in holders {
            let share = held as f64 / sizes[community as usize].max(1) as f64;
            if share >= PROFILE_SHARE {
                profiles[need as usize].push((community, share));
            }
        }
        for profile in &mut profiles {
            profile.sort_unstable_by_key(|(community, _)| *community);
        }
        let mean = |values: &mut dyn Iterator<Item = f64>| {
            let (sum, count) = values.filter(|v| *v > 0.0).fold((0.0, 0_usize), |(s, c), v| (s + v, c + 1));
            (count > 0).then(|| sum / count as f64)
        };
        let typical_ties = mean(&mut tie_degrees.iter().copied());
        let typical_needs = mean(
            &mut needs.by_node.iter().map(|list| list.iter().map(|(need, w)| w * idf[*need as usize]).sum()),
        );
        let (tie_weight, need_weight) = match (settings.use_ties, settings.use_needs) {
            (true, true) => {
                let share = settings.needs_share;
                let ratio = match (typical_ties, typical_needs) {
                    (Some(ties), Some(needs)) => ties / needs,
                    _ => 1.0,
                };
                (1.0 - share, share * ratio)
            }
            (true, false) => (1.0, 0.0),
            (false, _) => (0.0, 1.0),
        };
        Self { tie_weight, need_weight, idf, profiles }
    }

    /// The community with the most votes from `ties` (community of the other end, weight with
    /// its kind's factor) and `needs` (need index, weight), or [`NO_COMMUNITY`] when nothing
    /// votes. Equal votes go to the lower community.
    pub fn vote(
        &self,
        ties: impl IntoIterator<Item = (u32, f64)>,
        needs: impl IntoIterator<Item = (u32, f64)>,
    ) -> u32 {
        let mut scores: FxHashMap<u32, f64> = FxHashMap::default();
        for (community, weight) in ties {
            if community != NO_COMMUNITY {
                *scores.entry(community).or_default() += weight * self.tie_weight;
            }
        }
        for (need, weight) in needs {
            let Some(profile) = self.profiles.get(need as usize) else { continue };
            for (community, share) in profile {
                *scores.entry(*community).or_default() +=
                    weight * self.idf[need as usize] * share * self.need_weight;
            }
        }
        scores
            .into_iter()
            .filter(|(_, score)| *score > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map_or(NO_COMMUNITY, |(community, _)| community)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_plugin_sdk::serde_json::json;

    #[test]
    fn ties_outweigh_a_shared_need_and_a_need_places_the_tie_less() {
        // Community 0 (nodes 0-3) bakes; community 1 (nodes 4-7) runs; node 8 is new.
        let mut rows: Vec<(usize, &str)> = (0..4).map(|node| (node, "baking")).collect();
        rows.extend((4..8).map(|node| (node, "running")));
        rows.extend([(8, "baking"), (9, "running"), (10, "chess")]);
        let needs = NeedTable::of_rows(&rows, 11);
        let membership = [0, 0, 0, 0, 1, 1, 1, 1, NO_COMMUNITY, NO_COMMUNITY, NO_COMMUNITY];
        let degrees = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0];
        let settings = crate::settings::Settings::parse(&json!({})).expect("defaults");
        let voter = Voter::new(&needs, &degrees, &membership, &settings);
        assert_eq!(voter.vote([], [(0, 1.0)]), 0, "a baker with no tie joins the bakers");
        assert_eq!(voter.vote([(1, 1.0)], [(0, 1.0)]), 1, "one friend among the runners outweighs the need");
        assert_eq!(voter.vote([], [(2, 1.0)]), NO_COMMUNITY, "a need no community holds");
        assert_eq!(voter.vote([(NO_COMMUNITY, 1.0)], []), NO_COMMUNITY);
    }
}
