//! Clusters of records that are one person, from scored pairs, guarded against chaining: a
//! strong link joins two clusters, a weak one may only attach a record that is on its own,
//! and no cluster grows past a size. So A~B~C~D... by weak links never makes one person.

/// Union-find over record indices, with sizes.
struct Sets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Sets {
    fn new(count: usize) -> Self {
        Self { parent: (0..count as u32).collect(), size: vec![1; count] }
    }

    fn root(&mut self, mut at: u32) -> u32 {
        while self.parent[at as usize] != at {
            let grand = self.parent[self.parent[at as usize] as usize];
            self.parent[at as usize] = grand;
            at = grand;
        }
        at
    }
}

/// Groups `count` records by `links` (index, index, probability), all above the merge
/// threshold: links of at least `strong` join clusters, weaker ones only attach a single
/// record; no cluster grows past `max_size`. Returns the clusters of two or more, each sorted.
pub fn clusters(count: usize, links: &[(u32, u32, f64)], strong: f64, max_size: usize) -> Vec<Vec<u32>> {
    let mut order: Vec<&(u32, u32, f64)> = links.iter().collect();
    order.sort_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let mut sets = Sets::new(count);
    for (a, b, probability) in order {
        let (ra, rb) = (sets.root(*a), sets.root(*b));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (sets.size[ra as usize], sets.size[rb as usize]);
        if (sa + sb) as usize > max_size {
            continue;
        }
        if *probability < strong && sa > 1 && sb > 1 {
            continue;
        }
        let (keep, join) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        sets.parent[join as usize] = keep;
        sets.size[keep as usize] = sa + sb;
    }
    let mut groups: std::collections::BTreeMap<u32, Vec<u32>> = std::collections::BTreeMap::new();
    for at in 0..count as u32 {
        let root = sets.root(at);
        if sets.size[root as usize] > 1 {
            groups.entry(root).or_default().push(at);
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_links_do_not_chain_clusters() {
        // 0=1 strongly, 2=3 strongly, and a weak 1~2: two people, not one.
        let links = [(0, 1, 0.999), (2, 3, 0.999), (1, 2, 0.96)];
        assert_eq!(clusters(4, &links, 0.99, 10), vec![vec![0, 1], vec![2, 3]]);
        // A weak link may attach a single record.
        let links = [(0, 1, 0.999), (1, 4, 0.96)];
        assert_eq!(clusters(5, &links, 0.99, 10), vec![vec![0, 1, 4]]);
        // No cluster past the size.
        let chain: Vec<(u32, u32, f64)> = (0..9).map(|at| (at, at + 1, 0.999)).collect();
        assert!(clusters(10, &chain, 0.99, 4).iter().all(|c| c.len() <= 4));
    }
}
