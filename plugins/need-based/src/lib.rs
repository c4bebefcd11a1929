//! The need-based strategy: communities of customers bound by shared needs, passions and jobs
//! to be done, through strong and weak ties, named by the needs they share.
//!
//! `fit` builds one weighted graph from ties (weight × a factor per kind) and shared needs
//! (each customer linked to its `need_neighbors` strongest by IDF-weighted overlap), finds
//! communities with Leiden, and names each by its most over-represented needs. `assign` gives
//! a customer fit already placed, unchanged, its community; a new or changed customer joins
//! the community that wins the weighted vote of its ties and needs.

mod affinity;
pub mod communities;
mod customer_graph;
mod fingerprint;
mod listening;
mod settings;
mod summaries;

use communities::graph::Graph;
use communities::leiden::{self, Settings as LeidenSettings};
use customer_graph::CustomerGraph;
use fingerprint::fingerprints;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, Positions, Reads, SegmentationStrategy, StrategyError, StrategyResult,
    Table, export_strategy,
};
use listening::Listener;
use settings::Settings;
use std::collections::HashMap;
use summaries::{SMALL_GROUPS, Summary, UNCONNECTED, summarise};

/// A community index meaning "no edge at all".
const NO_COMMUNITY: u32 = u32::MAX;

/// The need-based strategy.
#[derive(Debug, Clone)]
pub struct NeedBased {
    settings: Settings,
    fitted: Option<Fitted>,
}

/// What fit learned.
#[derive(Debug, Clone)]
struct Fitted {
    /// Label of each community (its name, or "small groups").
    labels: Vec<String>,
    /// Each fitted customer's community and the fingerprint of its ties and needs.
    members: HashMap<i64, (u32, u64)>,
    summaries: Vec<Summary>,
    /// Modularity at resolution 1, and at the chosen resolution.
    modularity: (f64, f64),
    /// Need tag → index, its IDF, and the communities that hold it with their share.
    need_index: HashMap<String, u32>,
    idf: Vec<f64>,
    need_profiles: HashMap<u32, Vec<(u32, f64)>>,
    scales: (f64, f64),
    stats: Value,
    /// The listener, when listening is on: assign hears new texts with what fit knew.
    listener: Option<Listener>,
}

/// Communities hold a need in their profile (for votes) from this share of members.
const PROFILE_SHARE: f64 = 0.05;

impl NeedBased {
    /// The community a new or changed customer joins: the weighted vote of its tie neighbours
    /// (by their fitted communities) and of its needs (by how common each is in a community).
    fn vote(&self, fitted: &Fitted, ties: &[(i64, &str, f64)], needs: &[(&str, f64)]) -> u32 {
        let (tie_scale, need_scale) = fitted.scales;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for (other, kind, weight) in ties {
            if let Some((community, _)) = fitted.members.get(other)
                && *community != NO_COMMUNITY
            {
                *scores.entry(*community).or_default() += weight * self.settings.tie_factor(kind) * tie_scale;
            }
        }
        for (tag, weight) in needs {
            let Some(need) = fitted.need_index.get(*tag) else { continue };
            for (community, share) in fitted.need_profiles.get(need).into_iter().flatten() {
                // As if the customer's need neighbours were drawn from the community's members.
                *scores.entry(*community).or_default() += weight
                    * fitted.idf[*need as usize]
                    * share
                    * self.settings.need_neighbors as f64
                    * need_scale;
            }
        }
        scores
            .into_iter()
            .filter(|(_, score)| *score > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map_or(NO_COMMUNITY, |(community, _)| community)
    }
}

impl SegmentationStrategy for NeedBased {
    const NAME: &'static str = "need-based";

    fn describe() -> Description {
        Description::new(
            "Need-based segments: communities of customers found by Leiden in the graph of their ties and \
             shared needs, named by the needs most over-represented in each.",
        )
        .params_schema(Settings::schema())
        .reads(Table::Customers, &["external_id"])
        .reads(Table::Ties, &["kind", "weight"])
        .reads(Table::Needs, &["tag", "weight"])
        .reads(Table::Interactions, &["occurred_at", "kind", "text"])
    }

    fn reads(&self) -> Option<Reads> {
        let graph = Reads::new()
            .table(Table::Customers, &["external_id"])
            .table(Table::Ties, &["kind", "weight"])
            .table(Table::Needs, &["tag", "weight"]);
        // What customers wrote is read only when asked to listen.
        Some(match self.settings.listening {
            Some(_) => graph.table(Table::Interactions, &["occurred_at", "kind", "text"]),
            None => graph,
        })
    }

    fn create(params: &Value) -> StrategyResult<Self> {
        Ok(Self { settings: Settings::parse(params)?, fitted: None })
    }

    fn fit(&mut self, population: &Input) -> StrategyResult<()> {
        let settings = &self.settings;
        let customers = CustomerGraph::of(population, settings)?;
        let graph = Graph::new(customers.ids.len(), &customers.edges(settings));
        let leiden = LeidenSettings {
            resolution: settings.resolution,
            seed: settings.seed,
            ..LeidenSettings::default()
        };
        let membership = leiden::communities(&graph, &leiden);
        let count = membership.iter().copied().max().map_or(0, |max| max + 1);
        // Classic modularity (resolution 1), comparable across runs and tools; the objective
        // Leiden maximised, at the chosen resolution, is reported beside it.
        let modularity =
            (graph.modularity(&membership, 1.0), graph.modularity(&membership, settings.resolution));
        let connected: Vec<bool> = (0..graph.nodes()).map(|node| graph.degree(node) > 0.0).collect();
        let mut connected_membership = membership.clone();
        // Customers without an edge are not a community each: they are "unconnected".
        let mut sizes = vec![0_usize; count];
        for (node, community) in membership.iter().enumerate() {
            if connected[node] {
                sizes[*community] += 1;
            }
        }
        for (node, community) in connected_membership.iter_mut().enumerate() {
            if !connected[node] {
                *community = count; // a bin no summary is made for
            }
        }
        let mut summaries_by_community =
            summarise(&customers, &graph, &connected_membership, count + 1, settings);
        summaries_by_community.truncate(count);
        let labels: Vec<String> = summaries_by_community
            .iter()
            .map(|summary| summary.as_ref().map_or_else(|| SMALL_GROUPS.to_owned(), |s| s.label.clone()))
            .collect();
        let heard = customers.listening.as_ref().map(|listening| &listening.heard);
        let prints = fingerprints(population, &customers.nodes, customers.ids.len(), heard)?;
        let members = customers
            .ids
            .iter()
            .enumerate()
            .map(|(node, id)| {
                let community = if connected[node] { membership[node] as u32 } else { NO_COMMUNITY };
                (*id, (community, prints[node]))
            })
            .collect();
        let need_index: HashMap<String, u32> =
            customers.needs.tags.iter().enumerate().map(|(index, tag)| (tag.clone(), index as u32)).collect();
        let mut holders: HashMap<(u32, u32), usize> = HashMap::new();
        for (node, needs) in customers.needs.by_node.iter().enumerate() {
            if connected[node] {
                for (need, _) in needs {
                    *holders.entry((*need, membership[node] as u32)).or_default() += 1;
                }
            }
        }
        let mut need_profiles: HashMap<u32, Vec<(u32, f64)>> = HashMap::new();
        for ((need, community), count) in holders {
            let share = count as f64 / sizes[community as usize].max(1) as f64;
            if share >= PROFILE_SHARE {
                need_profiles.entry(need).or_default().push((community, share));
            }
        }
        for profile in need_profiles.values_mut() {
            profile.sort_unstable_by_key(|(community, _)| *community);
        }
        let small = summaries_by_community
            .iter()
            .zip(&sizes)
            .filter(|(summary, _)| summary.is_none())
            .map(|(_, size)| size)
            .sum::<usize>();
        let mut stats = json!({
            "customers": customers.ids.len(),
            "tie_edges": customers.tie_edges.len(),
            "need_edges": customers.need_edges.len(),
            "unconnected": connected.iter().filter(|c| !**c).count(),
            "in_small_groups": small,
        });
        if let Some(listening) = &customers.listening {
            stats["listening"] = listening.stats.to_json();
        }
        self.fitted = Some(Fitted {
            labels,
            members,
            summaries: summaries_by_community.into_iter().flatten().collect(),
            modularity,
            idf: customers.needs.idf(),
            need_index,
            need_profiles,
            scales: customers.scales(settings),
            stats,
            listener: customers.listening.map(|listening| listening.listener),
        });
        Ok(())
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        let fitted =
            self.fitted.as_ref().ok_or_else(|| StrategyError::new("assign was called before fit"))?;
        let ids = batch.customer_ids();
        let positions = Positions::new(&ids);
        let heard = match &fitted.listener {
            Some(listener) => Some(listener.hear(batch, &positions, ids.len())?),
            None => None,
        };
        let prints = fingerprints(batch, &positions, ids.len(), heard.as_ref())?;
        let mut ties: Vec<Vec<(i64, String, f64)>> = vec![Vec::new(); ids.len()];
        let mut needs: Vec<Vec<(String, f64)>> = vec![Vec::new(); ids.len()];
        let changed: Vec<bool> = ids
            .iter()
            .zip(&prints)
            .map(|(id, print)| fitted.members.get(id).is_none_or(|(_, known)| known != print))
            .collect();
        if changed.iter().any(|c| *c) {
            for batch in batch.ties() {
                let (from, to, kinds, weights) =
                    (batch.from_id()?, batch.to_id()?, batch.kind()?, batch.weight()?);
                use kindred_plugin_sdk::arrow_array::Array as _;
                for row in 0..batch.len() {
                    let (a, b) = (from.value(row), to.value(row));
                    let kind = if kinds.is_null(row) { "" } else { kinds.value(row) };
                    let weight = if weights.is_null(row) { 1.0 } else { weights.value(row) };
                    for (me, other) in [(a, b), (b, a)] {
                        if let Some(at) = positions.get(me)
                            && changed[at]
                        {
                            ties[at].push((other, kind.to_owned(), weight));
                        }
                    }
                }
            }
            for batch in batch.needs() {
                let (customers, tags, weights) = (batch.customer_id()?, batch.tag()?, batch.weight()?);
                use kindred_plugin_sdk::arrow_array::Array as _;
                for row in 0..batch.len() {
                    if let Some(at) = positions.get(customers.value(row))
                        && changed[at]
                    {
                        let weight = if weights.is_null(row) { 1.0 } else { weights.value(row) };
                        needs[at].push((tags.value(row).to_owned(), weight));
                    }
                }
            }
            if let Some(heard) = &heard {
                let lists = heard.by_position.iter().enumerate().filter(|(at, _)| changed[*at]);
                for (at, list) in lists {
                    for (need, weight) in list {
                        let tag = &heard.tags[*need as usize];
                        match needs[at].iter_mut().find(|(known, _)| known == tag) {
                            Some((_, known)) => *known = known.max(*weight),
                            None => needs[at].push((tag.clone(), *weight)),
                        }
                    }
                }
            }
        }
        for (at, id) in ids.iter().enumerate() {
            let community = match fitted.members.get(id) {
                Some((community, _)) if !changed[at] => *community,
                _ => {
                    let ties: Vec<(i64, &str, f64)> =
                        ties[at].iter().map(|(o, k, w)| (*o, k.as_str(), *w)).collect();
                    let needs: Vec<(&str, f64)> = needs[at].iter().map(|(t, w)| (t.as_str(), *w)).collect();
                    self.vote(fitted, &ties, &needs)
                }
            };
            let label =
                if community == NO_COMMUNITY { UNCONNECTED } else { &fitted.labels[community as usize] };
            out.push(*id, label, None);
        }
        Ok(())
    }

    fn model(&self) -> Value {
        let settings = &self.settings;
        let mut model = json!({
            "resolution": settings.resolution,
            "seed": settings.seed,
            "min_size": settings.min_size,
            "use_ties": settings.use_ties,
            "use_needs": settings.use_needs,
            "need_neighbors": settings.need_neighbors,
            "needs_share": settings.needs_share,
        });
        if let Some(fitted) = &self.fitted {
            model["modularity"] = json!(fitted.modularity.0);
            model["quality_at_resolution"] = json!(fitted.modularity.1);
            model["communities"] = json!(fitted.summaries.len());
            model["graph"] = fitted.stats.clone();
            model["summaries"] = Value::Array(fitted.summaries.iter().map(Summary::to_json).collect());
        }
        model
    }
}

export_strategy!(NeedBased);
