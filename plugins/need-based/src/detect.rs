//! How communities are found: ties make them, needs place the customers ties leave out.
//!
//! 1. Leiden on the graph of ties alone. Its communities of at least `min_size` customers are
//!    the tie communities; shared needs never merge two of them.
//! 2. Every customer outside a tie community (no tie, or ties only within a group too small)
//!    joins the community its ties into tie communities and its needs vote for
//!    ([`Voter`]), against the tie communities only, so no one is placed through someone
//!    placed before.
//! 3. The customers still without a community form communities among themselves from their
//!    remaining ties and their shared needs (each linked to its `need_neighbors` strongest
//!    need-sharing neighbours among them), mixed in the `needs_share` proportion. Without any
//!    tie, this is the whole run: communities of shared needs.

use crate::affinity::{NeedTable, need_edges};
use crate::communities::density::circle_density;
use crate::communities::graph::Graph;
use crate::communities::leiden::{self, Objective, Settings as LeidenSettings};
use crate::customer_graph::CustomerGraph;
use crate::placement::{NO_COMMUNITY, Voter};
use crate::settings::{DEFAULT_DENSITY_SHARE, DEFAULT_MODULARITY_RESOLUTION, Settings};

/// Under CPM the derived resolution is at least this share of the mean edge weight, so a
/// graph with no triangle at all (where circles have no density) is not one community.
const LEAST_DENSITY_SHARE: f64 = 1e-3;

/// What detection found.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Community of each node, `0..count`, or [`NO_COMMUNITY`].
    pub membership: Vec<u32>,
    /// How many communities.
    pub count: usize,
    /// The tie graph (every node, weights with their kind's factor).
    pub ties: Graph,
    /// The edges of step 3 (between customers outside tie communities), mixed.
    pub rest_edges: Vec<(u32, u32, f64)>,
    /// The Leiden run that made the communities: on the ties, or on needs when there were none.
    pub leiden: Option<LeidenSettings>,
    /// Modularity (resolution 1) and the objective's own quality of that run's communities on
    /// its graph.
    pub quality: (f64, f64),
    /// Communities of step 1.
    pub tie_communities: usize,
    /// Customers placed in step 2 with no tie into the community they joined.
    pub placed_by_needs: usize,
    /// Customers placed in step 2 helped by their ties.
    pub placed_by_ties: usize,
}

/// Leiden's settings on `graph`: the resolution asked for, or by default the objective's.
pub fn leiden_on(graph: &Graph, settings: &Settings, resolution: Option<f64>) -> LeidenSettings {
    let resolution = resolution.unwrap_or_else(|| match settings.objective() {
        Objective::Modularity => DEFAULT_MODULARITY_RESOLUTION,
        Objective::Cpm => {
            let least = graph.mean_edge_weight() * LEAST_DENSITY_SHARE;
            circle_density(graph, settings.seed)
                .map_or(least, |density| (density * DEFAULT_DENSITY_SHARE).max(least))
        }
    });
    LeidenSettings {
        objective: settings.objective(),
        resolution,
        seed: settings.seed,
        ..LeidenSettings::default()
    }
}

/// Finds the communities of `customers`.
pub fn detect(customers: &CustomerGraph, settings: &Settings) -> Detection {
    let n = customers.ids.len();
    let ties = Graph::new(n, &customers.tie_edges);
    let mut membership = vec![NO_COMMUNITY; n];
    let mut count = 0;
    let mut run = None;
    let mut quality = (0.0, 0.0);
    if ties.total_degree() > 0.0 {
        let leiden = leiden_on(&ties, settings, settings.resolution);
        let found = leiden::communities(&ties, &leiden);
        quality = (ties.modularity(&found, 1.0), leiden.quality(&ties, &found));
        let mut sizes = vec![0_usize; n];
        for node in 0..n {
            if ties.degree(node) > 0.0 {
                sizes[found[node]] += 1;
            }
        }
        let mut renumbered = vec![NO_COMMUNITY; n];
        for node in 0..n {
            let community = found[node];
            if ties.degree(node) > 0.0 && sizes[community] >= settings.min_size {
                if renumbered[community] == NO_COMMUNITY {
                    renumbered[community] = count as u32;
                    count += 1;
                }
                membership[node] = renumbered[community];
            }
        }
        run = Some(leiden);
    }
    let tie_communities = count;
    let (placed_by_ties, placed_by_needs) = place(customers, &ties, &mut membership, settings);
    let rest_edges = rest_edges(customers, &membership, settings);
    if !rest_edges.is_empty() {
        let rest = Graph::new(n, &rest_edges);
        // A resolution asked for is read on the graph of ties; on needs only when there is none.
        let leiden = leiden_on(&rest, settings, if run.is_none() { settings.resolution } else { None });
        let found = leiden::communities(&rest, &leiden);
        if run.is_none() {
            quality = (rest.modularity(&found, 1.0), leiden.quality(&rest, &found));
            run = Some(leiden);
        }
        let mut renumbered = vec![NO_COMMUNITY; n];
        for node in 0..n {
            if membership[node] == NO_COMMUNITY && rest.degree(node) > 0.0 {
                let community = found[node];
                if renumbered[community] == NO_COMMUNITY {
                    renumbered[community] = count as u32;
                    count += 1;
                }
                membership[node] = renumbered[community];
            }
        }
    }
    Detection {
        membership,
        count,
        ties,
        rest_edges,
        leiden: run,
        quality,
        tie_communities,
        placed_by_needs,
        placed_by_ties,
    }
}

/// Step 2: every customer outside a tie community joins the one its ties and needs vote for.
/// Returns how many were placed with a tie to help and how many by needs alone.
fn place(
    customers: &CustomerGraph,
    ties: &Graph,
    membership: &mut [u32],
    settings: &Settings,
) -> (usize, usize) {
    let degrees: Vec<f64> = (0..ties.nodes()).map(|node| ties.degree(node)).collect();
    let voter = Voter::new(&customers.needs, &degrees, membership, settings);
    let mut placed = Vec::new();
    for (node, community) in membership.iter().enumerate() {
        if *community != NO_COMMUNITY {
            continue;
        }
        let tie_votes: Vec<(u32, f64)> = ties
            .neighbours(node)
            .filter(|(other, _)| *other != node && membership[*other] != NO_COMMUNITY)
            .map(|(other, weight)| (membership[other], weight))
            .collect();
        let needs = customers.needs.by_node[node].iter().copied();
        let chosen = voter.vote(tie_votes.iter().copied(), needs);
        if chosen != NO_COMMUNITY {
            let by_tie = tie_votes.iter().any(|(community, _)| *community == chosen);
            placed.push((node, chosen, by_tie));
        }
    }
    let by_ties = placed.iter().filter(|(_, _, by_tie)| *by_tie).count();
    let by_needs = placed.len() - by_ties;
    for (node, community, _) in placed {
        membership[node] = community;
    }
    (by_ties, by_needs)
}

/// Step 3's edges: ties and need-sharing edges between customers still without a community,
/// mixed so that needs make `needs_share` of the weight when both are there.
fn rest_edges(customers: &CustomerGraph, membership: &[u32], settings: &Settings) -> Vec<(u32, u32, f64)> {
    let left = |node: u32| membership[node as usize] == NO_COMMUNITY;
    let ties: Vec<(u32, u32, f64)> =
        customers.tie_edges.iter().copied().filter(|(a, b, _)| left(*a) && left(*b)).collect();
    let needs = if settings.use_needs {
        let mut among =
            NeedTable { tags: customers.needs.tags.clone(), by_node: vec![Vec::new(); membership.len()] };
        let mut any = false;
        for (node, list) in customers.needs.by_node.iter().enumerate() {
            if left(node as u32) && !list.is_empty() {
                among.by_node[node] = list.clone();
                any = true;
            }
        }
        // IDF stays that of the whole population: how telling a need is does not change with
        // who is left to place.
        let idf = customers.needs.idf();
        if any { need_edges(&among, &idf, settings.need_neighbors, settings.seed) } else { Vec::new() }
    } else {
        Vec::new()
    };
    let tie_total: f64 = ties.iter().map(|(_, _, w)| w).sum();
    let need_total: f64 = needs.iter().map(|(_, _, w)| w).sum();
    // Scaled to a mean weight of about one, so gains keep their size in Leiden's refinement.
    let edges = (ties.len() + needs.len()) as f64;
    let (tie_scale, need_scale) = match (tie_total > 0.0, need_total > 0.0) {
        (true, true) => ((1.0 - settings.needs_share) / tie_total, settings.needs_share / need_total),
        (true, false) => (1.0 / tie_total, 0.0),
        (false, true) => (0.0, 1.0 / need_total),
        (false, false) => return Vec::new(),
    };
    let ties = ties.into_iter().map(|(a, b, w)| (a, b, w * tie_scale * edges));
    let needs = needs.into_iter().map(|(a, b, w)| (a, b, w * need_scale * edges));
    ties.chain(needs).filter(|(_, _, w)| *w > 0.0).collect()
}
