//! The Leiden algorithm (Traag, Waltman and van Eck, 2019, "From Louvain to Leiden:
//! guaranteeing well-connected communities") maximising modularity or the Constant Potts
//! Model, each with a resolution.
//!
//! Written here rather than taken from a crate: the crates on the registry either pull in a
//! graph library and a thread pool the plugin does not need, or do not document the
//! refinement step this module's tests hold it to (every community stays connected). Each
//! pass is: fast local moving (a queue of nodes whose neighbourhood changed), refinement
//! (communities split into well-connected sub-communities, merged at random among the
//! positive-gain moves), aggregation of the refined partition with the unrefined one as its
//! starting point. Randomness comes from one seeded generator, so a seed gives one result.
//!
//! Both objectives reward the edge weight inside communities and charge a price for each pair
//! of nodes put together: `scale × mass(a) × mass(b)`. Under modularity a node's mass is its
//! weighted degree and the scale is resolution / 2m, so the price falls as the whole graph
//! grows and small communities merge (its resolution limit); under CPM a node's mass is how
//! many customers it stands for and the scale is the resolution, so a community is kept when
//! it is denser than the resolution, whatever the size of the rest of the graph.

use super::graph::Graph;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// What Leiden maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Modularity (Newman), with the Reichardt-Bornholdt resolution.
    Modularity,
    /// The Constant Potts Model (Traag, Van Dooren and Nesterov, 2011).
    Cpm,
}

impl Objective {
    /// The objective's name in parameters and models.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Modularity => "modularity",
            Objective::Cpm => "cpm",
        }
    }
}

/// Settings of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// What is maximised.
    pub objective: Objective,
    /// Larger finds more, smaller communities: for modularity 1 is classic modularity; for
    /// CPM it is the least density (edge weight per pair of members) a community must have.
    pub resolution: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Passes at most; a pass that changes nothing ends the run earlier.
    pub max_passes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { objective: Objective::Modularity, resolution: 1.0, seed: 42, max_passes: 10 }
    }
}

impl Settings {
    /// The quality of `membership` on `graph` under these settings.
    pub fn quality(&self, graph: &Graph, membership: &[usize]) -> f64 {
        match self.objective {
            Objective::Modularity => graph.modularity(membership, self.resolution),
            Objective::Cpm => graph.cpm_quality(membership, self.resolution),
        }
    }

    /// The price model on one level of the aggregation.
    fn price(&self, graph: &Graph) -> Price {
        match self.objective {
            Objective::Modularity => Price {
                mass: (0..graph.nodes()).map(|node| graph.degree(node)).collect(),
                scale: if graph.total_degree() > 0.0 { self.resolution / graph.total_degree() } else { 0.0 },
            },
            Objective::Cpm => Price {
                mass: (0..graph.nodes()).map(|node| graph.size(node)).collect(),
                scale: self.resolution,
            },
        }
    }
}

/// What putting two nodes together costs: `scale × mass[a] × mass[b]`.
struct Price {
    mass: Vec<f64>,
    scale: f64,
}

/// A pass that raises the quality by less than this share of it is the last.
const MIN_PASS_GAIN: f64 = 1e-4;

/// The randomness of the refinement: moves are drawn with probability ∝ exp(gain / θ).
const THETA: f64 = 0.01;

/// Scratch space: weight from the node being moved to each community, and which are set.
struct Neighbourhood {
    weight: Vec<f64>,
    touched: Vec<usize>,
}

impl Neighbourhood {
    fn new(size: usize) -> Self {
        Self { weight: vec![0.0; size], touched: Vec::new() }
    }

    fn add(&mut self, community: usize, weight: f64) {
        if self.weight[community] == 0.0 {
            self.touched.push(community);
        }
        self.weight[community] += weight;
    }

    fn clear(&mut self) {
        for community in self.touched.drain(..) {
            self.weight[community] = 0.0;
        }
    }
}

/// Communities of `graph`: one id per node, ids `0..count` numbered by first appearance.
pub fn communities(graph: &Graph, settings: &Settings) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut membership: Vec<usize> = (0..graph.nodes()).collect();
    let mut quality = settings.quality(graph, &membership);
    for _ in 0..settings.max_passes {
        let before = membership.clone();
        let mut level = graph.clone();
        // For each node of `graph`, its node in `level`.
        let mut node_map: Vec<usize> = (0..graph.nodes()).collect();
        let mut partition = membership.clone();
        loop {
            let price = settings.price(&level);
            move_nodes(&level, &price, &mut partition, &mut rng);
            let count = renumber(&mut partition);
            if count == level.nodes() {
                break; // every node its own community: nothing left to aggregate
            }
            let mut refined = refine(&level, &price, &partition, &mut rng);
            let refined_count = renumber(&mut refined);
            if refined_count == level.nodes() {
                break; // refinement merged nothing: aggregating would not shrink the graph
            }
            // The aggregate starts from the unrefined communities of its nodes.
            let mut next = vec![0; refined_count];
            for node in 0..level.nodes() {
                next[refined[node]] = partition[node];
            }
            for node in node_map.iter_mut() {
                *node = refined[*node];
            }
            level = level.aggregate(&refined, refined_count);
            partition = next;
        }
        membership = flatten(&node_map, &partition);
        renumber(&mut membership);
        // Another pass only while passes still improve the quality noticeably.
        let improved = settings.quality(graph, &membership);
        if improved < quality {
            membership = before; // a pass never makes things worse than the last one
            break;
        }
        if membership == before || improved - quality <= MIN_PASS_GAIN * improved.abs().max(1e-12) {
            break;
        }
        quality = improved;
    }
    membership
}

fn flatten(nodes_to_level: &[usize], partition: &[usize]) -> Vec<usize> {
    nodes_to_level.iter().map(|node| partition[*node]).collect()
}

/// Renumbers community ids to `0..count` by first appearance; returns the count.
fn renumber(membership: &mut [usize]) -> usize {
    let mut ids = vec![usize::MAX; membership.iter().copied().max().map_or(0, |max| max + 1)];
    let mut next = 0;
    for community in membership.iter_mut() {
        if ids[*community] == usize::MAX {
            ids[*community] = next;
            next += 1;
        }
        *community = ids[*community];
    }
    next
}

/// Fast local moving: visits nodes from a queue in random order and moves each to the
/// neighbouring community (or an empty one) with the largest gain; the neighbours
/// of a moved node that are outside its new community are queued again. Returns whether any
/// node moved.
fn move_nodes(graph: &Graph, price: &Price, membership: &mut [usize], rng: &mut ChaCha8Rng) -> bool {
    let n = graph.nodes();
    // Community ids as u32 while moving: half the memory traffic on the hottest array.
    let mut partition: Vec<u32> = membership.iter().map(|community| *community as u32).collect();
    if graph.total_degree() <= 0.0 {
        return false;
    }
    let mut community_mass = vec![0.0; n];
    let mut community_size = vec![0_usize; n];
    for node in 0..n {
        community_mass[partition[node] as usize] += price.mass[node];
        community_size[partition[node] as usize] += 1;
    }
    let mut empty: Vec<usize> = (0..n).filter(|c| community_size[*c] == 0).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut queue: VecDeque<usize> = order.into();
    let mut queued = vec![true; n];
    let mut around = Neighbourhood::new(n);
    let mut moved = false;
    while let Some(node) = queue.pop_front() {
        queued[node] = false;
        let current = partition[node] as usize;
        let mass = price.mass[node];
        for (neighbour, weight) in graph.neighbours(node) {
            if neighbour != node {
                around.add(partition[neighbour] as usize, weight);
            }
        }
        // Take the node out of its community, then compare every place it could go.
        community_mass[current] -= mass;
        community_size[current] -= 1;
        if community_size[current] == 0 {
            empty.push(current);
        }
        let gain = |community: usize, links: f64| links - price.scale * mass * community_mass[community];
        let mut best = current;
        let mut best_gain = gain(current, around.weight[current]);
        for community in &around.touched {
            let candidate = gain(*community, around.weight[*community]);
            if candidate > best_gain {
                (best, best_gain) = (*community, candidate);
            }
        }
        if best_gain < 0.0
            && let Some(alone) = empty.last().copied()
        {
            best = alone;
        }
        if community_size[best] == 0 {
            // An empty community is the node's own, just emptied, or the one taken above:
            // either way the last on the list.
            empty.pop();
        }
        community_mass[best] += mass;
        community_size[best] += 1;
        partition[node] = best as u32;
        if best != current {
            moved = true;
            for (neighbour, _) in graph.neighbours(node) {
                if !queued[neighbour] && partition[neighbour] as usize != best {
                    queued[neighbour] = true;
                    queue.push_back(neighbour);
                }
            }
        }
        around.clear();
    }
    for (community, moved_to) in membership.iter_mut().zip(&partition) {
        *community = *moved_to as usize;
    }
    moved
}

/// Refinement: within each community of `partition`, starts from singletons and merges
/// well-connected nodes into well-connected sub-communities of the same community, each move
/// drawn among the non-negative gains with probability ∝ exp(gain / θ).
fn refine(graph: &Graph, price: &Price, partition: &[usize], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = graph.nodes();
    let mut refined: Vec<usize> = (0..n).collect();
    let mut sub_mass: Vec<f64> = price.mass.clone();
    let mut singleton = vec![true; n];
    // Weight from each sub-community to the rest of its community, and each community's mass.
    let mut community_mass = vec![0.0; n];
    for node in 0..n {
        community_mass[partition[node]] += price.mass[node];
    }
    let mut external: Vec<f64> = (0..n)
        .map(|node| {
            graph
                .neighbours(node)
                .filter(|(neighbour, _)| *neighbour != node && partition[*neighbour] == partition[node])
                .map(|(_, weight)| weight)
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut around = Neighbourhood::new(n);
    let mut candidates: Vec<(usize, f64)> = Vec::new();
    for node in order {
        let community = partition[node];
        let mass = price.mass[node];
        let well_connected =
            |links: f64, own: f64| links >= price.scale * own * (community_mass[community] - own);
        if !singleton[node] || !well_connected(external[node], mass) {
            continue;
        }
        for (neighbour, weight) in graph.neighbours(node) {
            if neighbour != node && partition[neighbour] == community {
                around.add(refined[neighbour], weight);
            }
        }
        candidates.clear();
        for target in &around.touched {
            let target = *target;
            if target == refined[node] || !well_connected(external[target], sub_mass[target]) {
                continue;
            }
            let gain = around.weight[target] - price.scale * mass * sub_mass[target];
            if gain >= 0.0 {
                candidates.push((target, gain));
            }
        }
        if !candidates.is_empty() {
            let best = candidates.iter().map(|(_, gain)| *gain).fold(f64::NEG_INFINITY, f64::max);
            let chances: Vec<f64> =
                candidates.iter().map(|(_, gain)| ((gain - best) / THETA).exp()).collect();
            let mut pick = rng.random::<f64>() * chances.iter().sum::<f64>();
            let mut chosen = candidates[candidates.len() - 1].0;
            for ((target, _), chance) in candidates.iter().zip(&chances) {
                if pick < *chance {
                    chosen = *target;
                    break;
                }
                pick -= chance;
            }
            // Node joins `chosen`: the links between them are no longer external.
            let links = around.weight[chosen];
            external[chosen] += external[node] - 2.0 * links;
            sub_mass[chosen] += mass;
            refined[node] = chosen;
            singleton[chosen] = false;
            singleton[node] = false;
        }
        around.clear();
    }
    refined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::communities::nmi::nmi;

    /// `groups` groups of `size` nodes; each node gets about `inside` edges within its group
    /// and `outside` to other groups.
    fn planted(groups: usize, size: usize, inside: usize, outside: usize, seed: u64) -> (Graph, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = groups * size;
        let mut edges = Vec::new();
        for node in 0..n {
            let group = node / size;
            for _ in 0..inside / 2 {
                let other = group * size + rng.random_range(0..size);
                edges.push((node as u32, other as u32, 1.0));
            }
            for _ in 0..outside.div_ceil(2) {
                edges.push((node as u32, rng.random_range(0..n) as u32, 1.0));
            }
        }
        edges.retain(|(a, b, _)| a != b);
        (Graph::new(n, &edges), (0..n).map(|node| node / size).collect())
    }

    /// Whether every community's members are connected through members alone.
    fn connected(graph: &Graph, membership: &[usize]) -> bool {
        let count = membership.iter().copied().max().map_or(0, |max| max + 1);
        let mut seen = vec![false; graph.nodes()];
        let mut started = vec![false; count];
        for start in 0..graph.nodes() {
            if seen[start] {
                continue;
            }
            if started[membership[start]] {
                return false; // a second piece of a community already visited
            }
            started[membership[start]] = true;
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(node) = stack.pop() {
                for (neighbour, _) in graph.neighbours(node) {
                    if !seen[neighbour] && membership[neighbour] == membership[start] {
                        seen[neighbour] = true;
                        stack.push(neighbour);
                    }
                }
            }
        }
        true
    }

    #[test]
    fn finds_planted_groups_deterministically_and_connected() {
        let (graph, truth) = planted(20, 100, 12, 3, 1);
        let settings = Settings::default();
        let found = communities(&graph, &settings);
        let score = nmi(&found, &truth);
        assert!(score > 0.95, "NMI {score}");
        assert_eq!(found, communities(&graph, &settings), "the same seed gives the same communities");
        assert!(connected(&graph, &found));
        let q = graph.modularity(&found, 1.0);
        assert!(q >= graph.modularity(&truth, 1.0) - 0.01, "modularity {q}");
    }

    #[test]
    fn resolution_changes_the_grain() {
        let (graph, _) = planted(8, 60, 10, 2, 3);
        let count = |resolution: f64| {
            let found = communities(&graph, &Settings { resolution, ..Settings::default() });
            found.iter().copied().max().map_or(0, |max| max + 1)
        };
        assert!(
            count(0.05) < count(1.0) && count(1.0) < count(20.0),
            "{} {} {}",
            count(0.05),
            count(1.0),
            count(20.0)
        );
    }

    /// A ring of `cliques` cliques of `size` nodes, each joined to the next by one edge.
    fn ring_of_cliques(cliques: usize, size: usize) -> Graph {
        let mut edges = Vec::new();
        for clique in 0..cliques {
            let first = clique * size;
            for a in 0..size {
                for b in a + 1..size {
                    edges.push(((first + a) as u32, (first + b) as u32, 1.0));
                }
            }
            edges.push(((first + size - 1) as u32, (((clique + 1) % cliques) * size) as u32, 1.0));
        }
        Graph::new(cliques * size, &edges)
    }

    #[test]
    fn cpm_has_no_resolution_limit_where_modularity_has_one() {
        let graph = ring_of_cliques(40, 4);
        let count = |membership: &[usize]| membership.iter().copied().max().map_or(0, |max| max + 1);
        let modularity = communities(&graph, &Settings::default());
        assert!(count(&modularity) < 40, "modularity merges neighbouring cliques: {}", count(&modularity));
        let cpm = Settings { objective: Objective::Cpm, resolution: 0.5, ..Settings::default() };
        let found = communities(&graph, &cpm);
        assert_eq!(count(&found), 40, "{found:?}");
        assert!((0..160).all(|node| found[node] == found[node / 4 * 4]), "each clique whole: {found:?}");
        // The same cliques in a ring ten times longer: the same grain.
        let longer = communities(&ring_of_cliques(400, 4), &cpm);
        assert_eq!(count(&longer), 400);
    }

    #[test]
    fn cpm_resolution_is_a_density_threshold() {
        // Planted groups of 20 with about 8 of 19 possible ties inside: density about 0.4.
        let (graph, truth) = planted(50, 20, 8, 1, 5);
        let cpm = |resolution: f64| {
            communities(&graph, &Settings { objective: Objective::Cpm, resolution, ..Settings::default() })
        };
        let found = cpm(0.1);
        assert!(nmi(&found, &truth) > 0.95, "NMI {}", nmi(&found, &truth));
        assert!(connected(&graph, &found));
        let denser_than_the_groups = cpm(0.9);
        let count = denser_than_the_groups.iter().copied().max().map_or(0, |max| max + 1);
        assert!(count > 200, "groups are broken up below their density: {count}");
        let quality = Settings { objective: Objective::Cpm, resolution: 0.1, ..Settings::default() };
        assert!(quality.quality(&graph, &found) >= quality.quality(&graph, &truth) - 1e-9);
    }

    /// Zachary's karate club (1977), the classic small social network: 34 members, 78 ties.
    const KARATE: [(u32, u32); 78] = [
        (1, 2),
        (1, 3),
        (1, 4),
        (1, 5),
        (1, 6),
        (1, 7),
        (1, 8),
        (1, 9),
        (1, 11),
        (1, 12),
        (1, 13),
        (1, 14),
        (1, 18),
        (1, 20),
        (1, 22),
        (1, 32),
        (2, 3),
        (2, 4),
        (2, 8),
        (2, 14),
        (2, 18),
        (2, 20),
        (2, 22),
        (2, 31),
        (3, 4),
        (3, 8),
        (3, 9),
        (3, 10),
        (3, 14),
        (3, 28),
        (3, 29),
        (3, 33),
        (4, 8),
        (4, 13),
        (4, 14),
        (5, 7),
        (5, 11),
        (6, 7),
        (6, 11),
        (6, 17),
        (7, 17),
        (9, 31),
        (9, 33),
        (9, 34),
        (10, 34),
        (14, 34),
        (15, 33),
        (15, 34),
        (16, 33),
        (16, 34),
        (19, 33),
        (19, 34),
        (20, 34),
        (21, 33),
        (21, 34),
        (23, 33),
        (23, 34),
        (24, 26),
        (24, 28),
        (24, 30),
        (24, 33),
        (24, 34),
        (25, 26),
        (25, 28),
        (25, 32),
        (26, 32),
        (27, 30),
        (27, 34),
        (28, 34),
        (29, 32),
        (29, 34),
        (30, 33),
        (30, 34),
        (31, 33),
        (31, 34),
        (32, 33),
        (32, 34),
        (33, 34),
    ];

    #[test]
    fn modularity_on_the_karate_club_reaches_the_known_optimum() {
        let edges: Vec<(u32, u32, f64)> = KARATE.iter().map(|(a, b)| (a - 1, b - 1, 1.0)).collect();
        let graph = Graph::new(34, &edges);
        let found = communities(&graph, &Settings::default());
        let q = graph.modularity(&found, 1.0);
        // The best partition's modularity is 0.4198 (four communities).
        assert!(q > 0.4197, "modularity {q}");
        assert!(connected(&graph, &found));
    }

    #[test]
    fn two_triangles_and_isolated_nodes() {
        let edges =
            [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (3, 5, 1.0), (2, 3, 0.1)];
        let graph = Graph::new(8, &edges);
        let found = communities(&graph, &Settings::default());
        assert_eq!(&found[..6], [0, 0, 0, 1, 1, 1]);
        assert!(found[6] != found[7] && found[6] > 1 && found[7] > 1, "isolated nodes stay alone: {found:?}");
    }
}
