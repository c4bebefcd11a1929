//! An undirected weighted graph in compressed sparse rows, as community detection reads it:
//! each edge is stored in both directions, a self-loop once with its full weight.

/// A graph on nodes `0..n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Where each node's neighbours start in `targets` and `weights` (n + 1 entries).
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f64>,
    /// Weighted degree of each node: its edges' weights, a self-loop counted twice.
    degrees: Vec<f64>,
    /// Sum of the degrees (twice the total edge weight).
    total: f64,
    /// How many nodes of the original graph each node stands for (1 until aggregated).
    sizes: Vec<f64>,
}

impl Graph {
    /// The graph of `edges` (from, to, weight) on `nodes` nodes. Parallel edges add up;
    /// edges with a weight that is not positive and finite are left out.
    pub fn new(nodes: usize, edges: &[(u32, u32, f64)]) -> Self {
        let usable = || edges.iter().filter(|(_, _, w)| *w > 0.0 && w.is_finite());
        let mut counts = vec![0_usize; nodes + 1];
        for (from, to, _) in usable() {
            counts[*from as usize + 1] += 1;
            if from != to {
                counts[*to as usize + 1] += 1;
            }
        }
        for node in 0..nodes {
            counts[node + 1] += counts[node];
        }
        let mut next = counts.clone();
        let mut targets = vec![0_u32; counts[nodes]];
        let mut weights = vec![0.0; counts[nodes]];
        for (from, to, weight) in usable() {
            let slot = &mut next[*from as usize];
            (targets[*slot], weights[*slot]) = (*to, *weight);
            *slot += 1;
            if from != to {
                let slot = &mut next[*to as usize];
                (targets[*slot], weights[*slot]) = (*from, *weight);
                *slot += 1;
            }
        }
        Self::from_rows(counts, targets, weights, vec![1.0; nodes])
    }

    /// A graph from rows that may hold the same neighbour more than once: merged here.
    fn from_rows(offsets: Vec<usize>, targets: Vec<u32>, weights: Vec<f64>, sizes: Vec<f64>) -> Self {
        let nodes = offsets.len() - 1;
        let mut merged_offsets = Vec::with_capacity(nodes + 1);
        let mut merged_targets = Vec::with_capacity(targets.len());
        let mut merged_weights = Vec::with_capacity(targets.len());
        let mut degrees = vec![0.0; nodes];
        let mut row: Vec<(u32, f64)> = Vec::new();
        merged_offsets.push(0);
        for node in 0..nodes {
            row.clear();
            row.extend((offsets[node]..offsets[node + 1]).map(|i| (targets[i], weights[i])));
            row.sort_unstable_by_key(|(target, _)| *target);
            for (target, weight) in row.drain(..) {
                match (merged_targets.last(), merged_weights.last_mut()) {
                    (Some(last), Some(sum))
                        if *last == target && merged_targets.len() > merged_offsets[node] =>
                    {
                        *sum += weight;
                    }
                    _ => {
                        merged_targets.push(target);
                        merged_weights.push(weight);
                    }
                }
                degrees[node] += if target as usize == node { 2.0 * weight } else { weight };
            }
            merged_offsets.push(merged_targets.len());
        }
        let total = degrees.iter().sum();
        Self {
            offsets: merged_offsets,
            targets: merged_targets,
            weights: merged_weights,
            degrees,
            total,
            sizes,
        }
    }

    /// How many nodes.
    pub fn nodes(&self) -> usize {
        self.degrees.len()
    }

    /// The neighbours of `node` with the edge weights (itself, for a self-loop).
    pub fn neighbours(&self, node: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[node]..self.offsets[node + 1];
        self.targets[range.clone()].iter().zip(&self.weights[range]).map(|(t, w)| (*t as usize, *w))
    }

    /// Weighted degree of `node`.
    pub fn degree(&self, node: usize) -> f64 {
        self.degrees[node]
    }

    /// How many original nodes `node` stands for.
    pub fn size(&self, node: usize) -> f64 {
        self.sizes[node]
    }

    /// Mean weight of an edge (0 without edges).
    pub fn mean_edge_weight(&self) -> f64 {
        if self.targets.is_empty() { 0.0 } else { self.total / self.targets.len() as f64 }
    }

    /// Sum of all degrees, 2m.
    pub fn total_degree(&self) -> f64 {
        self.total
    }

    /// The graph whose nodes are the groups of `membership` (group ids `0..groups`): edge
    /// weights between groups add up, edges inside a group become its self-loop.
    pub fn aggregate(&self, membership: &[usize], groups: usize) -> Self {
        let mut counts = vec![0_usize; groups + 1];
        for node in 0..self.nodes() {
            counts[membership[node] + 1] += self.offsets[node + 1] - self.offsets[node];
        }
        for group in 0..groups {
            counts[group + 1] += counts[group];
        }
        let mut next = counts.clone();
        let mut targets = vec![0_u32; counts[groups]];
        let mut weights = vec![0.0; counts[groups]];
        for node in 0..self.nodes() {
            let group = membership[node];
            for (neighbour, weight) in self.neighbours(node) {
                let slot = &mut next[group];
                targets[*slot] = membership[neighbour] as u32;
                // An edge inside the group is seen from both ends (a self-loop once, with its
                // full weight): half each time, so the group's self-loop carries it once.
                weights[*slot] =
                    if membership[neighbour] == group && neighbour != node { weight / 2.0 } else { weight };
                *slot += 1;
            }
        }
        let mut sizes = vec![0.0; groups];
        for (node, size) in self.sizes.iter().enumerate() {
            sizes[membership[node]] += size;
        }
        Self::from_rows(counts, targets, weights, sizes)
    }

    /// The Constant Potts Model quality of `membership` at `resolution`: the edge weight inside
    /// groups minus `resolution` for every pair of original nodes in the same group.
    pub fn cpm_quality(&self, membership: &[usize], resolution: f64) -> f64 {
        let groups = membership.iter().copied().max().map_or(0, |max| max + 1);
        let mut inside = 0.0;
        let mut sizes = vec![0.0; groups];
        for node in 0..self.nodes() {
            sizes[membership[node]] += self.sizes[node];
            for (neighbour, weight) in self.neighbours(node) {
                if membership[neighbour] == membership[node] {
                    // Each edge is seen from both ends; a self-loop once, with its full weight.
                    inside += if neighbour == node { weight } else { weight / 2.0 };
                }
            }
        }
        let pairs: f64 = sizes.iter().map(|size| size * (size - 1.0) / 2.0).sum();
        inside - resolution * pairs
    }

    /// Modularity of `membership` at `resolution`: the share of edge weight inside groups,
    /// minus what a random graph with the same degrees would put there.
    pub fn modularity(&self, membership: &[usize], resolution: f64) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        let groups = membership.iter().copied().max().map_or(0, |max| max + 1);
        let mut inside = vec![0.0; groups];
        let mut degree = vec![0.0; groups];
        for node in 0..self.nodes() {
            degree[membership[node]] += self.degrees[node];
            for (neighbour, weight) in self.neighbours(node) {
                if membership[neighbour] == membership[node] {
                    inside[membership[node]] += if neighbour == node { 2.0 * weight } else { weight };
                }
            }
        }
        inside
            .iter()
            .zip(&degree)
            .map(|(inside, degree)| inside / self.total - resolution * (degree / self.total).powi(2))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_both_ways_degrees_and_merged_duplicates() {
        let graph = Graph::new(3, &[(0, 1, 1.0), (1, 0, 2.0), (1, 2, 0.5), (2, 2, 1.0), (0, 2, -1.0)]);
        assert_eq!(graph.neighbours(0).collect::<Vec<_>>(), [(1, 3.0)]);
        assert_eq!(graph.neighbours(2).collect::<Vec<_>>(), [(1, 0.5), (2, 1.0)]);
        assert_eq!((graph.degree(0), graph.degree(1), graph.degree(2)), (3.0, 3.5, 2.5));
        assert_eq!(graph.total_degree(), 9.0);
    }

    #[test]
    fn aggregation_keeps_degrees_and_modularity() {
        // Two triangles joined by one edge.
        let edges =
            [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (3, 5, 1.0), (2, 3, 1.0)];
        let graph = Graph::new(6, &edges);
        let membership = [0, 0, 0, 1, 1, 1];
        let q = graph.modularity(&membership, 1.0);
        // m = 7: each triangle holds 3 of 7, with degree sum 7 of 14.
        assert!((q - 2.0 * (3.0 / 7.0 - 0.25)).abs() < 1e-12, "{q}");
        let two = graph.aggregate(&membership, 2);
        assert_eq!(two.neighbours(0).collect::<Vec<_>>(), [(0, 3.0), (1, 1.0)]);
        assert_eq!((two.degree(0), two.total_degree()), (7.0, 14.0));
        assert!((two.modularity(&[0, 1], 1.0) - q).abs() < 1e-12);
        assert!((two.modularity(&[0, 0], 1.0)).abs() < 1e-12);
    }

    #[test]
    fn aggregation_keeps_sizes_and_the_cpm_quality() {
        let edges =
            [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (3, 5, 1.0), (2, 3, 1.0)];
        let graph = Graph::new(6, &edges);
        let membership = [0, 0, 0, 1, 1, 1];
        // Each triangle: 3 edges inside, 3 pairs.
        assert!((graph.cpm_quality(&membership, 0.5) - (6.0 - 0.5 * 6.0)).abs() < 1e-12);
        let two = graph.aggregate(&membership, 2);
        assert_eq!((two.size(0), two.size(1)), (3.0, 3.0));
        assert!((two.cpm_quality(&[0, 1], 0.5) - graph.cpm_quality(&membership, 0.5)).abs() < 1e-12);
        // All six together: 7 edges, 15 pairs.
        assert!((two.cpm_quality(&[0, 0], 0.5) - (7.0 - 7.5)).abs() < 1e-12);
    }
}
