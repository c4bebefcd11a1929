//! Normalised mutual information between two partitions of the same nodes: 1 when they are
//! the same up to renaming, near 0 when they are unrelated. Normalised by the mean of the two
//! entropies (the usual "NMI" of community detection papers).

use std::collections::HashMap;

/// NMI of partitions `left` and `right` (one label per node, same length).
pub fn nmi(left: &[usize], right: &[usize]) -> f64 {
    assert_eq!(left.len(), right.len(), "partitions of different node sets");
    let n = left.len() as f64;
    if left.is_empty() {
        return 1.0;
    }
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let mut left_sizes: HashMap<usize, f64> = HashMap::new();
    let mut right_sizes: HashMap<usize, f64> = HashMap::new();
    for (a, b) in left.iter().zip(right) {
        *joint.entry((*a, *b)).or_default() += 1.0;
        *left_sizes.entry(*a).or_default() += 1.0;
        *right_sizes.entry(*b).or_default() += 1.0;
    }
    let entropy = |sizes: &HashMap<usize, f64>| -> f64 {
        sizes.values().map(|size| -(size / n) * (size / n).ln()).sum()
    };
    let (h_left, h_right) = (entropy(&left_sizes), entropy(&right_sizes));
    if h_left + h_right == 0.0 {
        return 1.0; // both put everyone together
    }
    let mutual: f64 = joint
        .iter()
        .map(|((a, b), count)| (count / n) * (count * n / (left_sizes[a] * right_sizes[b])).ln())
        .sum();
    (2.0 * mutual / (h_left + h_right)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::nmi;

    #[test]
    fn same_partition_renamed_is_one_and_unrelated_is_zero() {
        assert!((nmi(&[0, 0, 1, 1, 2, 2], &[5, 5, 3, 3, 9, 9]) - 1.0).abs() < 1e-12);
        assert!(nmi(&[0, 0, 1, 1], &[0, 1, 0, 1]).abs() < 1e-12);
        let partly = nmi(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 1, 1]);
        assert!(partly > 0.2 && partly < 0.8, "{partly}");
    }
}
