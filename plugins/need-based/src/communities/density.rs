//! How tightly knit the circle around a typical node is: the yardstick the Constant Potts
//! Model's default resolution is taken from.
//!
//! For a node with two neighbours or more, the density of its circle is the edge weight
//! between its neighbours divided by the number of pairs of them (the weighted clustering
//! coefficient). Inside a community of density p, two neighbours of a member are tied with
//! about that probability, so the mean over nodes reads the density of the communities the
//! graph holds, and it does not shrink as the rest of the graph grows (the density of the
//! whole graph does).

use super::graph::Graph;
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

/// Nodes whose circle is measured, at most (a seeded sample beyond it).
const SAMPLED_NODES: usize = 20_000;
/// Neighbours of one node considered, at most (its heaviest).
const NEIGHBOURS: usize = 48;

/// The mean density of the circles around nodes with at least two neighbours, or `None` when
/// no node has two.
pub fn circle_density(graph: &Graph, seed: u64) -> Option<f64> {
    let n = graph.nodes();
    let nodes: Vec<usize> = if n <= SAMPLED_NODES {
        (0..n).collect()
    } else {
        let mut picked = index::sample(&mut ChaCha8Rng::seed_from_u64(seed), n, SAMPLED_NODES).into_vec();
        picked.sort_unstable();
        picked
    };
    // `mark[u]` holds the number of the circle `u` was last seen in, plus one.
    let mut mark = vec![0_u32; n];
    let mut circle: Vec<(usize, f64)> = Vec::with_capacity(NEIGHBOURS);
    let (mut sum, mut measured) = (0.0, 0_usize);
    for (number, node) in nodes.into_iter().enumerate() {
        let stamp = number as u32 + 1;
        circle.clear();
        circle.extend(graph.neighbours(node).filter(|(other, _)| *other != node));
        if circle.len() < 2 {
            continue;
        }
        if circle.len() > NEIGHBOURS {
            circle.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            circle.truncate(NEIGHBOURS);
        }
        for (other, _) in &circle {
            mark[*other] = stamp;
        }
        let mut between = 0.0;
        for (other, _) in &circle {
            // Each edge between two of the circle is seen from both ends: counted from the lower.
            between += graph
                .neighbours(*other)
                .filter(|(third, _)| *third > *other && mark[*third] == stamp)
                .map(|(_, weight)| weight)
                .sum::<f64>();
        }
        let k = circle.len() as f64;
        sum += between / (k * (k - 1.0) / 2.0);
        measured += 1;
    }
    (measured > 0).then(|| sum / measured as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cliques_are_dense_and_a_star_is_not() {
        let mut clique = Vec::new();
        for a in 0..5_u32 {
            for b in a + 1..5 {
                clique.push((a, b, 2.0));
            }
        }
        let density = circle_density(&Graph::new(5, &clique), 1).expect("density");
        assert!((density - 2.0).abs() < 1e-12, "every pair of neighbours tied with weight 2: {density}");
        let star: Vec<(u32, u32, f64)> = (1..10).map(|leaf| (0, leaf, 1.0)).collect();
        assert_eq!(circle_density(&Graph::new(10, &star), 1), Some(0.0));
        assert_eq!(circle_density(&Graph::new(3, &[(0, 1, 1.0)]), 1), None);
    }

    #[test]
    fn the_density_does_not_depend_on_how_many_circles_there_are() {
        let cliques = |count: u32| {
            let mut edges = Vec::new();
            for clique in 0..count {
                let first = clique * 4;
                for a in 0..4 {
                    for b in a + 1..4 {
                        edges.push((first + a, first + b, 1.0));
                    }
                }
            }
            circle_density(&Graph::new(count as usize * 4, &edges), 3).expect("density")
        };
        assert!((cliques(10) - cliques(20_000)).abs() < 1e-9);
    }
}
