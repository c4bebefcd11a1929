//! What each community is: the needs most over-represented in it (lift against the whole
//! population, with a minimum support and a minimum lift) name it; its size, top needs, the share of its
//! members' ties that stay inside and its most central members describe it.

use crate::communities::graph::Graph;
use crate::customer_graph::CustomerGraph;
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
#[derive(Debug, Clone, PartialEq)]
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
        })
    }
}

/// Summaries of the communities `0..count` of `membership`, labelled; `None` for a community
/// under the minimum size (its members are "small groups").
pub fn summarise(
    customers: &CustomerGraph,
    graph: &Graph,
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
    let mut used_labels: HashMap<String, usize> = HashMap::new();
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
            let base = if naming.is_empty() { "no distinctive need".to_owned() } else { naming.join(" · ") };
            let seen = used_labels.entry(base.clone()).or_default();
            *seen += 1;
            let label = if *seen == 1 { base } else { format!("{base} ({seen})") };
            let mut central: Vec<(f64, usize)> = group
                .iter()
                .map(|node| {
                    let inside: f64 = graph
                        .neighbours(*node)
                        .filter(|(other, _)| membership[*other] == community && other != node)
                        .map(|(_, weight)| weight)
                        .sum();
                    (inside, *node)
                })
                .collect();
            central.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let influencers = central
                .iter()
                .take(INFLUENCERS)
                .map(|(_, node)| customers.external_ids[*node].clone())
                .collect();
            let internal_tie_share =
                (tie_touching[community] > 0.0).then(|| tie_inside[community] / tie_touching[community]);
            Some(Summary { label, size: group.len(), top_needs: needs, internal_tie_share, influencers })
        })
        .collect()
}
