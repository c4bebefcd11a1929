//! The Leiden algorithm (Traag, Waltman and van Eck, 2019, "From Louvain to Leiden:
//! guaranteeing well-connected communities") maximising modularity with a resolution.
//!
//! Written here rather than taken from a crate: the crates on the registry either pull in a
//! graph library and a thread pool the plugin does not need, or do not document the
//! refinement step this module's tests hold it to (every community stays connected). Each
//! pass is: fast local moving (a queue of nodes whose neighbourhood changed), refinement
//! (communities split into well-connected sub-communities, merged at random among the
//! positive-gain moves), aggregation of the refined partition with the unrefined one as its
//! starting point. Randomness comes from one seeded generator, so a seed gives one result.

use super::graph::Graph;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Settings of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Larger finds more, smaller communities (1 is classic modularity).
    pub resolution: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Passes at most; a pass that changes nothing ends the run earlier.
    pub max_passes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { resolution: 1.0, seed: 42, max_passes: 10 }
    }
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
    let mut quality = graph.modularity(&membership, settings.resolution);
    for _ in 0..settings.max_passes {
        let before = membership.clone();
        let mut level = graph.clone();
        // For each node of `graph`, its node in `level`.
        let mut node_map: Vec<usize> = (0..graph.nodes()).collect();
        let mut partition = membership.clone();
        loop {
            move_nodes(&level, &mut partition, settings.resolution, &mut rng);
            let count = renumber(&mut partition);
            if count == level.nodes() {
                break; // every node its own community: nothing left to aggregate
            }
            let mut refined = refine(&level, &partition, settings.resolution, &mut rng);
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
        let improved = graph.modularity(&membership, settings.resolution);
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
/// neighbouring community (or an empty one) with the largest modularity gain; the neighbours
/// of a moved node that are outside its new community are queued again. Returns whether any
/// node moved.
fn move_nodes(graph: &Graph, membership: &mut [usize], resolution: f64, rng: &mut ChaCha8Rng) -> bool {
    let n = graph.nodes();
    // Community ids as u32 while moving: half the memory traffic on the hottest array.
    let mut partition: Vec<u32> = membership.iter().map(|community| *community as u32).collect();
    let total = graph.total_degree();
    if total <= 0.0 {
        return false;
    }
    let mut community_degree = vec![0.0; n];
    let mut community_size = vec![0_usize; n];
    for node in 0..n {
        community_degree[partition[node] as usize] += graph.degree(node);
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
        let degree = graph.degree(node);
        for (neighbour, weight) in graph.neighbours(node) {
            if neighbour != node {
                around.add(partition[neighbour] as usize, weight);
            }
        }
        // Take the node out of its community, then compare every place it could go.
        community_degree[current] -= degree;
        community_size[current] -= 1;
        if community_size[current] == 0 {
            empty.push(current);
        }
        let gain =
            |community: usize, links: f64| links - resolution * degree * community_degree[community] / total;
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
        community_degree[best] += degree;
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
fn refine(graph: &Graph, partition: &[usize], resolution: f64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = graph.nodes();
    let total = graph.total_degree();
    let mut refined: Vec<usize> = (0..n).collect();
    let mut sub_degree: Vec<f64> = (0..n).map(|node| graph.degree(node)).collect();
    let mut singleton = vec![true; n];
    // Weight from each sub-community to the rest of its community, and each community's degree.
    let mut community_degree = vec![0.0; n];
    for node in 0..n {
        community_degree[partition[node]] += graph.degree(node);
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
        let degree = graph.degree(node);
        let well_connected = |links: f64, weight: f64| {
            links >= resolution * weight * (community_degree[community] - weight) / total
        };
        if !singleton[node] || !well_connected(external[node], degree) {
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
            if target == refined[node] || !well_connected(external[target], sub_degree[target]) {
                continue;
            }
            let gain = around.weight[target] - resolution * degree * sub_degree[target] / total;
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
            sub_degree[chosen] += degree;
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
