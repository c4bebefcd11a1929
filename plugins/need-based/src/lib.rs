//! The need-based strategy: communities of customers bound by their ties, described by the
//! needs, passions and jobs to be done they share.
//!
//! `fit` finds communities in the graph of ties with Leiden (by default the Constant Potts
//! Model, whose resolution is derived from how tightly knit the circle around a typical
//! customer is), places the customers ties leave out by the vote of their ties and needs,
//! groups those still left by shared needs ([`detect`]), and names each community by its most
//! over-represented needs ([`labels`]). `assign` gives a customer fit already placed,
//! unchanged, its community; a new or changed customer joins the community that wins the same
//! vote ([`placement`]).

mod affinity;
pub mod communities;
mod customer_graph;
mod detect;
mod fingerprint;
mod labels;
mod listening;
mod placement;
mod settings;
mod summaries;

use customer_graph::CustomerGraph;
use detect::detect;
use fingerprint::fingerprints;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, Positions, Reads, SegmentationStrategy, StrategyError, StrategyResult,
    Table, export_strategy,
};
use listening::Listener;
use placement::{NO_COMMUNITY, Voter};
use rustc_hash::FxHashMap;
use settings::Settings;
use std::collections::HashMap;
use summaries::{SMALL_GROUPS, Summary, UNCONNECTED, inside_weights, summarise};

/// The graph of ties the strategy finds communities in, for benchmarks and tools: by node,
/// each customer's id and external id; the edges weighted by their kind's factor.
#[derive(Debug, Clone)]
pub struct TieGraph {
    /// Customer id of each node.
    pub ids: Vec<i64>,
    /// External id of each node.
    pub external_ids: Vec<String>,
    /// (from, to, weight × kind factor).
    pub edges: Vec<(u32, u32, f64)>,
}

/// The tie graph `fit` would build from `input` with `params`.
pub fn tie_graph(input: &Input, params: &Value) -> StrategyResult<TieGraph> {
    let settings = Settings::parse(params)?;
    let customers = CustomerGraph::of(input, &settings)?;
    Ok(TieGraph { ids: customers.ids, external_ids: customers.external_ids, edges: customers.tie_edges })
}

/// The Leiden settings `fit` would use on the tie graph `graph` with `params` (the derived
/// resolution included).
pub fn leiden_settings(
    graph: &communities::graph::Graph,
    params: &Value,
) -> StrategyResult<communities::leiden::Settings> {
    let settings = Settings::parse(params)?;
    Ok(detect::leiden_on(graph, &settings, settings.resolution))
}

/// The need-based strategy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NeedBased {
    settings: Settings,
    fitted: Option<Fitted>,
}

/// What fit learned.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Fitted {
    /// Label of each community (its name, or "small groups").
    labels: Vec<String>,
    /// Each fitted customer's community and the fingerprint of its ties and needs.
    members: FxHashMap<i64, (u32, u64)>,
    summaries: Vec<Summary>,
    /// Need tag → index, for the vote.
    need_index: HashMap<String, u32>,
    /// The vote over every community found.
    voter: Voter,
    /// What was run and how good it is, for the model.
    run: Value,
    stats: Value,
    /// The listener, when listening is on: assign hears new texts with what fit knew.
    listener: Option<Listener>,
}

impl SegmentationStrategy for NeedBased {
    const NAME: &'static str = "need-based";
    type Params = Settings;

    fn describe() -> Description {
        Description::new(
            "Need-based segments: communities of customers found by Leiden in the graph of their ties, with \
             customers who have few or no ties placed by the needs they share, each named by the needs most \
             over-represented in it.",
        )
        .reads(Table::Customers, &["external_id", "city"])
        .reads(Table::Ties, &["kind", "weight"])
        .reads(Table::Needs, &["tag", "weight"])
        .reads(Table::Interactions, &["occurred_at", "kind", "text"])
        .reads(Table::Segments, &["segment"])
    }

    fn reads(&self) -> Option<Reads> {
        let graph = Reads::new()
            .table(Table::Customers, &["external_id", "city"])
            .table(Table::Ties, &["kind", "weight"])
            .table(Table::Needs, &["tag", "weight"])
            .table(Table::Segments, &["segment"]);
        // What customers wrote is read only when asked to listen.
        Some(match self.settings.listen {
            true => graph.table(Table::Interactions, &["occurred_at", "kind", "text"]),
            false => graph,
        })
    }

    fn create(settings: Settings) -> StrategyResult<Self> {
        settings.check()?;
        Ok(Self { settings, fitted: None })
    }

    fn fit(&mut self, population: &Input) -> StrategyResult<()> {
        let settings = &self.settings;
        let customers = CustomerGraph::of(population, settings)?;
        let found = detect(&customers, settings);
        let count = found.count;
        // Customers in no community go to a bin no summary is made for.
        let binned: Vec<usize> = found
            .membership
            .iter()
            .map(|community| if *community == NO_COMMUNITY { count } else { *community as usize })
            .collect();
        let inside = inside_weights(customers.tie_edges.iter().chain(&found.rest_edges), &binned);
        let mut summaries_by_community = summarise(&customers, &inside, &binned, count + 1, settings);
        summaries_by_community.truncate(count);
        let kept = labels::kept_labels(&summaries_by_community, &binned, &customers.previous);
        labels::distinguish(&mut summaries_by_community, &kept, settings.min_lift);
        let labels: Vec<String> = summaries_by_community
            .iter()
            .map(|summary| summary.as_ref().map_or_else(|| SMALL_GROUPS.to_owned(), |s| s.label.clone()))
            .collect();
        let heard = customers.listening.as_ref().map(|listening| &listening.heard);
        let prints = fingerprints(population, &customers.nodes, customers.ids.len(), heard)?;
        let mut members = FxHashMap::with_capacity_and_hasher(customers.ids.len(), Default::default());
        members.extend(
            customers.ids.iter().enumerate().map(|(node, id)| (*id, (found.membership[node], prints[node]))),
        );
        let need_index: HashMap<String, u32> =
            customers.needs.tags.iter().enumerate().map(|(index, tag)| (tag.clone(), index as u32)).collect();
        let degrees: Vec<f64> = (0..found.ties.nodes()).map(|node| found.ties.degree(node)).collect();
        let voter = Voter::new(&customers.needs, &degrees, &found.membership, settings);
        let small = summaries_by_community
            .iter()
            .enumerate()
            .filter(|(_, summary)| summary.is_none())
            .map(|(community, _)| binned.iter().filter(|c| **c == community).count())
            .sum::<usize>();
        let run = found.leiden.map_or(Value::Null, |leiden| {
            json!({
                "objective": leiden.objective.name(),
                "resolution_used": leiden.resolution,
                "modularity": found.quality.0,
                "quality": found.quality.1,
            })
        });
        let mut stats = json!({
            "customers": customers.ids.len(),
            "tie_edges": customers.tie_edges.len(),
            "tie_communities": found.tie_communities,
            "placed_by_ties": found.placed_by_ties,
            "placed_by_needs": found.placed_by_needs,
            "need_edges": found.rest_edges.len(),
            "unconnected": found.membership.iter().filter(|c| **c == NO_COMMUNITY).count(),
            "in_small_groups": small,
        });
        if let Some(listening) = &customers.listening {
            stats["listening"] = listening.stats.to_json();
        }
        self.fitted = Some(Fitted {
            labels,
            members,
            summaries: summaries_by_community.into_iter().flatten().collect(),
            need_index,
            voter,
            run,
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
                    let tie_votes = ties[at].iter().filter_map(|(other, kind, weight)| {
                        let (community, _) = fitted.members.get(other)?;
                        Some((*community, weight * self.settings.tie_factor(kind)))
                    });
                    let need_votes = needs[at]
                        .iter()
                        .filter_map(|(tag, weight)| Some((*fitted.need_index.get(tag)?, *weight)));
                    fitted.voter.vote(tie_votes, need_votes)
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
            "objective": settings.objective().name(),
            "resolution": settings.resolution,
            "seed": settings.seed,
            "min_size": settings.min_size,
            "use_ties": settings.use_ties,
            "use_needs": settings.use_needs,
            "need_neighbors": settings.need_neighbors,
            "needs_share": settings.needs_share,
        });
        if let Some(fitted) = &self.fitted {
            if let Value::Object(run) = &fitted.run {
                for (key, value) in run {
                    model[key] = value.clone();
                }
            }
            model["communities"] = json!(fitted.summaries.len());
            model["graph"] = fitted.stats.clone();
            model["summaries"] = Value::Array(fitted.summaries.iter().map(Summary::to_json).collect());
        }
        model
    }
}

export_strategy!(NeedBased, state);
