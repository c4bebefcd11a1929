//! Edges between customers who share needs, weighted by how rare the shared needs are, each
//! customer keeping only its `k` strongest such neighbours.
//!
//! Never all pairs: a customer's candidates come from the holders of each of its needs, and
//! a need held by more than `SAMPLE` customers offers only the `SAMPLE` holders that follow
//! the customer in a seeded shuffle of its holders. A need held by half the population thus
//! adds `SAMPLE` candidates per holder, not half the population.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Most holders of one need a customer looks at as candidates.
pub const SAMPLE: usize = 64;

/// The needs of every customer: (need index, weight) lists by node.
#[derive(Debug, Clone, Default)]
pub struct NeedTable {
    /// Need tags, by index.
    pub tags: Vec<String>,
    /// Each node's needs.
    pub by_node: Vec<Vec<(u32, f64)>>,
}

impl NeedTable {
    /// An empty table for `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        Self { tags: Vec::new(), by_node: vec![Vec::new(); nodes] }
    }

    /// Records that `node` has need `tag` with `weight` (a repeated tag keeps the largest).
    pub fn add(&mut self, node: usize, tag: &str, weight: f64, index: &mut HashMap<String, u32>) {
        let need = *index.entry(tag.to_owned()).or_insert_with(|| {
            self.tags.push(tag.to_owned());
            (self.tags.len() - 1) as u32
        });
        let needs = &mut self.by_node[node];
        match needs.iter_mut().find(|(known, _)| *known == need) {
            Some((_, known)) => *known = known.max(weight),
            None => needs.push((need, weight)),
        }
    }

    /// A table of `nodes` nodes where each (node, tag) of `rows` holds that need with weight 1.
    #[cfg(test)]
    pub fn of_rows(rows: &[(usize, &str)], nodes: usize) -> Self {
        let mut table = Self::new(nodes);
        let mut index = HashMap::new();
        for (node, tag) in rows {
            table.add(*node, tag, 1.0, &mut index);
        }
        table
    }

    /// How many nodes hold each need.
    pub fn holders(&self) -> Vec<usize> {
        let mut counts = vec![0; self.tags.len()];
        for needs in &self.by_node {
            for (need, _) in needs {
                counts[*need as usize] += 1;
            }
        }
        counts
    }

    /// Inverse document frequency of each need: ln(nodes / holders).
    pub fn idf(&self) -> Vec<f64> {
        let nodes = self.by_node.len().max(1) as f64;
        self.holders().iter().map(|holders| (nodes / (*holders).max(1) as f64).ln()).collect()
    }
}

/// Need-sharing edges (from, to, weight) with from < to: each node linked to its `k` best
/// candidates by IDF-weighted overlap Σ w_u·w_v·idf over shared needs (`idf` by need index).
pub fn need_edges(needs: &NeedTable, idf: &[f64], k: usize, seed: u64) -> Vec<(u32, u32, f64)> {
    if k == 0 {
        return Vec::new();
    }
    let mut holders: Vec<Vec<u32>> = vec![Vec::new(); needs.tags.len()];
    for (node, list) in needs.by_node.iter().enumerate() {
        for (need, _) in list {
            holders[*need as usize].push(node as u32);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // For each node and each of its needs, the node's place in the need's shuffled holders.
    let mut position: Vec<Vec<usize>> = needs.by_node.iter().map(|list| vec![0; list.len()]).collect();
    for (need, list) in holders.iter_mut().enumerate() {
        if list.len() > SAMPLE {
            list.shuffle(&mut rng);
            for (at, node) in list.iter().enumerate() {
                let mine = &needs.by_node[*node as usize];
                if let Some(slot) = mine.iter().position(|(known, _)| *known as usize == need) {
                    position[*node as usize][slot] = at;
                }
            }
        }
    }
    let weight_of = |node: u32, need: u32| -> f64 {
        needs.by_node[node as usize].iter().find(|(known, _)| *known == need).map_or(0.0, |(_, w)| *w)
    };
    // Scores by candidate in a flat array, with the list of candidates touched: far cheaper
    // than a hash map for the ~200 candidates of each of a million customers.
    let mut score = vec![0.0_f64; needs.by_node.len()];
    let mut touched: Vec<u32> = Vec::new();
    let mut edges = Vec::new();
    for (node, list) in needs.by_node.iter().enumerate() {
        let node = node as u32;
        for (slot, (need, weight)) in list.iter().enumerate() {
            let holders = &holders[*need as usize];
            let idf = idf[*need as usize];
            if idf <= 0.0 {
                continue; // held by everyone: says nothing
            }
            let mut visit = |other: u32| {
                if other != node {
                    let slot = &mut score[other as usize];
                    if *slot == 0.0 {
                        touched.push(other);
                    }
                    *slot += weight * weight_of(other, *need) * idf;
                }
            };
            if holders.len() <= SAMPLE {
                holders.iter().copied().for_each(&mut visit);
            } else {
                let start = position[node as usize][slot];
                (1..=SAMPLE).map(|step| holders[(start + step) % holders.len()]).for_each(&mut visit);
            }
        }
        let mut best: Vec<(u32, f64)> =
            touched.iter().map(|other| (*other, score[*other as usize])).filter(|(_, s)| *s > 0.0).collect();
        for other in touched.drain(..) {
            score[other as usize] = 0.0;
        }
        // Strongest first; ties by node, so a seed gives one graph.
        best.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        best.truncate(k);
        edges.extend(best.into_iter().map(|(other, s)| (node.min(other), node.max(other), s)));
    }
    // A pair chosen from both sides is one edge.
    edges.sort_unstable_by_key(|(a, b, _)| (*a, *b));
    edges.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_shared_needs_weigh_more() {
        // 0 and 1 share a rare need; 0 and 2 share a common one.
        let mut rows = vec![(0, "ultra trail"), (1, "ultra trail"), (0, "coffee"), (2, "coffee")];
        rows.extend((3..8).map(|node| (node, "coffee")));
        let edges = {
            let table = NeedTable::of_rows(&rows, 8);
            need_edges(&table, &table.idf(), 1, 1)
        };
        let from_zero: Vec<_> = edges.iter().filter(|(a, b, _)| *a == 0 || *b == 0).collect();
        assert_eq!(from_zero.first().map(|(a, b, _)| (*a, *b)), Some((0, 1)), "{edges:?}");
    }

    #[test]
    fn a_need_held_by_everyone_adds_no_edges_and_a_popular_one_stays_sparse() {
        let nodes = 2_000;
        let mut rows: Vec<(usize, &str)> = (0..nodes).map(|node| (node, "everyone")).collect();
        rows.extend((0..nodes / 2).map(|node| (node, "half")));
        let edges = {
            let table = NeedTable::of_rows(&rows, nodes);
            need_edges(&table, &table.idf(), 5, 7)
        };
        assert!(edges.iter().all(|(a, b, _)| (*a as usize) < nodes / 2 && (*b as usize) < nodes / 2));
        assert!(edges.len() <= nodes / 2 * 5, "{} edges", edges.len());
        assert!(edges.len() >= nodes / 2 * 5 / 2, "each holder keeps its 5: {} edges", edges.len());
    }
}
