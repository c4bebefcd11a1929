//! What each community is: the needs most over-represented in it (lift against the whole
//! population, with a minimum support and a minimum lift) name it; its size, top needs, the
//! city most of its members share, the share of its members' ties that stay inside and its
//! most central members describe it.

use crate::customer_graph::{CustomerGraph, NO_CITY};
use crate::settings::Settings;
use kindred_plugin_sdk::serde_json::{Value, json};
use std::collections::HashMap;

/// Label of customers in communities below the minimum size.
pub const SMALL_GROUPS: &str = "small groups";
/// Label of customers with no edge at all.
pub const UNCONNECTED: &str = "unconnected";

/// Needs shown per community.
const TOP_NEEDS: usize = 5;
/// Influencers shown per community.
const INFLUENCERS: usize = 3;

/// One community's summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Its label.
    pub label: String,
    /// Members.
    pub size: usize,
    /// (need, share of members, lift), most over-represented first.
    pub top_needs: Vec<(String, f64, f64)>,
    /// Share of the members' tie weight that stays inside.
    pub internal_tie_share: Option<f64>,
    /// External ids of the members with the largest weighted degree inside.
    pub influencers: Vec<String>,
    /// The city at least half the members with a known city live in, with that share.
    pub city: Option<(String, f64)>,
}

impl Summary {
    /// The summary as JSON for the model.
    pub fn to_json(&self) -> Value {
        json!({
            "label": self.label,
            "size": self.size,
            "top_needs": self.top_needs.iter().map(|(need, share, lift)| json!({ "need": need, "share": share, "lift": lift })).collect::<Vec<_>>(),
            "internal_tie_share": self.internal_tie_share,
            "influencers": self.influencers,
            "city": self.city.as_ref().map(|(city, share)| json!({ "name": city, "share": share })),
        })
    }
}

/// Summaries of the communities `0..count` of `membership`, each labelled by its most
/// over-represented needs (labels may repeat: the labels module tells them apart); `None` for
/// a community under the minimum size (its members are "small groups"). `inside` is each
/// node's edge weight to its own community, which ranks the influencers.
pub fn summarise(
    customers: &CustomerGraph,
    inside: &[f64],
    membership: &[usize],
    count: usize,
    settings: &Settings,
) -> Vec<Option<Summary>> {
    let n = membership.len().max(1) as f64;
    let population_share: Vec<f64> = customers.needs.holders().iter().map(|h| *h as f64 / n).collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (node, community) in membership.iter().enumerate() {
        members[*community].push(node);
    }
    let mut tie_inside = vec![0.0; count];
    let mut tie_touching = vec![0.0; count];
    for (a, b, weight) in &customers.tie_edges {
        let (ca, cb) = (membership[*a as usize], membership[*b as usize]);
        tie_touching[ca] += weight;
        if ca == cb {
            tie_inside[ca] += weight;
        } else {
            tie_touching[cb] += weight;
        }
    }
    (0..count)
        .map(|community| {
            let group = &members[community];
            if group.len() < settings.min_size {
                return None;
            }
            let mut holders: HashMap<u32, usize> = HashMap::new();
            for node in group {
                for (need, _) in &customers.needs.by_node[*node] {
                    *holders.entry(*need).or_default() += 1;
                }
            }
            let size = group.len() as f64;
            let mut needs: Vec<(String, f64, f64)> = holders
                .iter()
                .map(|(need, count)| {
                    let share = *count as f64 / size;
                    let lift = share / population_share[*need as usize].max(f64::MIN_POSITIVE);
                    (customers.needs.tags[*need as usize].clone(), share, lift)
                })
                .filter(|(_, share, _)| *share >= settings.min_support)
                .collect();
            needs.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.1.total_cmp(&a.1)).then(a.0.cmp(&b.0)));
            needs.truncate(TOP_NEEDS);
            let naming: Vec<&str> = needs
                .iter()
                .filter(|(_, _, lift)| *lift >= settings.min_lift)
                .take(settings.label_needs)
                .map(|(need, _, _)| need.as_str())
                .collect();
            let label = if naming.is_empty() { NO_DISTINCTIVE_NEED.to_owned() } else { naming.join(" · ") };
            let mut central: Vec<(f64, usize)> = group.iter().map(|node| (inside[*node], *node)).collect();
            central.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let influencers = central
                .iter()
                .take(INFLUENCERS)
                .map(|(_, node)| customers.external_ids[*node].clone())
                .collect();
            let internal_tie_share =
                (tie_touching[community] > 0.0).then(|| tie_inside[community] / tie_touching[community]);
            let city = main_city(customers, group);
            Some(Summary {
                label,
                size: group.len(),
                top_needs: needs,
                internal_tie_share,
                influencers,
                city,
            })
        })
        .collect()
}

/// The label of a community no need is over-represented in.
pub const NO_DISTINCTIVE_NEED: &str = "no distinctive need";

/// The city at least half of `group`'s members with a known city share, with its share.
fn main_city(customers: &CustomerGraph, group: &[usize]) -> Option<(String, f64)> {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for node in group {
        let city = customers.city_of[*node];
        if city != NO_CITY {
            *counts.entry(city).or_default() += 1;
        }
    }
    let known: usize = counts.values().sum();
    let (city, held) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
    let share = held as f64 / known as f64;
    (share >= 0.5).then(|| (customers.cities[city as usize].clone(), share))
}

/// Each node's edge weight to the other members of its own community, over `edges`.
pub fn inside_weights<'a>(
    edges: impl Iterator<Item = &'a (u32, u32, f64)>,
    membership: &[usize],
) -> Vec<f64> {
    let mut inside = vec![0.0; membership.len()];
    for (a, b, weight) in edges {
        let (a, b) = (*a as usize, *b as usize);
        if a != b && membership[a] == membership[b] {
            inside[a] += weight;
            inside[b] += weight;
        }
    }
    inside
}
