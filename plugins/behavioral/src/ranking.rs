//! Rankings learned in `fit` and applied in `assign`: SQL `NTILE` tiles and tiers by
//! cumulative share. Each keeps the (value, external id) key of the last customer of every
//! tile, so `assign` puts a customer exactly where `fit` ranked them, and a changed customer
//! where they now belong, without the rest of the population.

use kindred_plugin_sdk::serde_json::{Value, json};
use std::cmp::Ordering;

/// A customer's place in a ranking: the ranked value, then the external id as tie-break.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RankKey {
    /// The value ranked.
    pub value: f64,
    /// The customer's external id.
    pub external_id: String,
}

impl RankKey {
    fn to_json(&self) -> Value {
        json!({ "value": self.value, "external_id": self.external_id })
    }
}

/// Which way a ranking runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Smallest value first.
    Ascending,
    /// Largest value first.
    Descending,
}

impl Direction {
    /// Orders two (value, external id) keys: by value this way, then by external id ascending.
    pub fn compare(self, left: (f64, &str), right: (f64, &str)) -> Ordering {
        let by_value = left.0.total_cmp(&right.0);
        let by_value = if self == Direction::Descending { by_value.reverse() } else { by_value };
        by_value.then_with(|| left.1.cmp(right.1))
    }

    fn sorted<'a>(self, keys: &[(f64, &'a str)]) -> Vec<(f64, &'a str)> {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable_by(|left, right| self.compare(*left, *right));
        sorted
    }
}

/// How many boundaries lie strictly before `key`.
fn boundaries_before(direction: Direction, boundaries: &[RankKey], key: (f64, &str)) -> usize {
    boundaries
        .iter()
        .filter(|boundary| direction.compare((boundary.value, &boundary.external_id), key) == Ordering::Less)
        .count()
}

/// `NTILE(tiles) OVER (ORDER BY value, external_id)`: tiles numbered from 1, the first
/// `n % tiles` of them one customer larger.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tiles {
    direction: Direction,
    boundaries: Vec<RankKey>,
}

impl Tiles {
    /// Learns the tiles of `keys` ranked in `direction`.
    pub fn fit(keys: &[(f64, &str)], tiles: usize, direction: Direction) -> Self {
        let sorted = direction.sorted(keys);
        let (base, extra) = (sorted.len() / tiles, sorted.len() % tiles);
        let mut boundaries = Vec::new();
        let mut end = 0;
        for tile in 0..tiles.saturating_sub(1) {
            end += base + usize::from(tile < extra);
            if end == 0 || end >= sorted.len() {
                break;
            }
            let (value, external_id) = sorted[end - 1];
            boundaries.push(RankKey { value, external_id: external_id.to_owned() });
        }
        Self { direction, boundaries }
    }

    /// The tile (from 1) of a customer with this key.
    pub fn tile(&self, value: f64, external_id: &str) -> u8 {
        1 + boundaries_before(self.direction, &self.boundaries, (value, external_id)) as u8
    }

    /// The last key of each tile but the last one, for the model.
    pub fn to_json(&self) -> Value {
        Value::Array(self.boundaries.iter().map(RankKey::to_json).collect())
    }
}

/// Tiers by cumulative share of a total, largest values first: the customers that make the
/// first `shares[0]` of the total, the next `shares[1]`, and so on; the last tier holds the
/// rest, zero included. Negative values are not ranked (the caller labels them).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShareTiers {
    /// Cumulative share at which each tier but the last ends.
    limits: Vec<f64>,
    /// The last key of each tier but the last (`None`: no customer up to that tier).
    boundaries: Vec<Option<RankKey>>,
    total: f64,
    /// Customers in each tier at fit.
    counts: Vec<usize>,
}

impl ShareTiers {
    /// Learns the tiers of `keys` for tier shares `shares` (each tier but the last).
    pub fn fit(keys: &[(f64, &str)], shares: &[f64]) -> Self {
        let limits: Vec<f64> = shares
            .iter()
            .scan(0.0, |sum, share| {
                *sum += share;
                Some(*sum)
            })
            .collect();
        let positive: Vec<(f64, &str)> = keys.iter().copied().filter(|(value, _)| *value > 0.0).collect();
        let sorted = Direction::Descending.sorted(&positive);
        let total: f64 = sorted.iter().map(|(value, _)| value).sum();
        let mut boundaries: Vec<Option<RankKey>> = vec![None; limits.len()];
        let mut counts = vec![0; limits.len() + 1];
        let (mut tier, mut before) = (0, 0.0);
        for (value, external_id) in &sorted {
            while tier < limits.len() && before >= limits[tier] * total {
                tier += 1;
            }
            counts[tier] += 1;
            for boundary in boundaries.iter_mut().skip(tier) {
                *boundary = Some(RankKey { value: *value, external_id: (*external_id).to_owned() });
            }
            before += value;
        }
        Self { limits, boundaries, total, counts }
    }

    /// The tier (from 0) of a customer with this key; the caller handles negative values.
    pub fn tier(&self, value: f64, external_id: &str) -> usize {
        self.boundaries
            .iter()
            .flatten()
            .filter(|boundary| {
                Direction::Descending.compare((boundary.value, &boundary.external_id), (value, external_id))
                    == Ordering::Less
            })
            .count()
    }

    /// The tiers for the model: label, cumulative share, lowest value and customers at fit.
    pub fn to_json(&self, labels: &[String]) -> Value {
        let tiers: Vec<Value> = labels
            .iter()
            .enumerate()
            .map(|(index, label)| {
                json!({
                    "label": label,
                    "up_to_share": self.limits.get(index),
                    "lowest": self.boundaries.get(index).and_then(|b| b.as_ref()).map(|b| b.value),
                    "customers_at_fit": self.counts.get(index),
                })
            })
            .collect();
        json!({ "total": self.total, "tiers": tiers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(values: &[(f64, &'a str)]) -> Vec<(f64, &'a str)> {
        values.to_vec()
    }

    #[test]
    fn tiles_follow_ntile_with_ties_broken_by_external_id() {
        // Seven customers: NTILE(5) gives tiles of 2, 2, 1, 1, 1.
        let data =
            keys(&[(10.0, "g"), (10.0, "a"), (10.0, "c"), (20.0, "b"), (5.0, "z"), (30.0, "d"), (10.0, "e")]);
        let tiles = Tiles::fit(&data, 5, Direction::Ascending);
        // Order: 5 z | 10 a, 10 c | 10 e, 10 g | 20 b | 30 d  -> tiles 1,1,2,2,3,4,5
        let expected = [("z", 1), ("a", 1), ("c", 2), ("e", 2), ("g", 3), ("b", 4), ("d", 5)];
        for (external_id, tile) in expected {
            let value = data.iter().find(|(_, id)| *id == external_id).map(|(v, _)| *v).unwrap_or_default();
            assert_eq!(tiles.tile(value, external_id), tile, "{external_id}");
        }
        let descending = Tiles::fit(&data, 5, Direction::Descending);
        // Order: 30 d, 20 b | 10 a, 10 c | 10 e | 10 g | 5 z
        assert_eq!(descending.tile(30.0, "d"), 1);
        assert_eq!(descending.tile(10.0, "c"), 2);
        assert_eq!(descending.tile(10.0, "g"), 4);
        assert_eq!(descending.tile(5.0, "z"), 5);
    }

    #[test]
    fn fewer_customers_than_tiles_and_none() {
        let data = keys(&[(1.0, "a"), (2.0, "b")]);
        let tiles = Tiles::fit(&data, 5, Direction::Ascending);
        assert_eq!((tiles.tile(1.0, "a"), tiles.tile(2.0, "b"), tiles.tile(99.0, "x")), (1, 2, 2));
        assert_eq!(Tiles::fit(&[], 5, Direction::Ascending).tile(3.0, "a"), 1);
    }

    #[test]
    fn share_tiers_split_by_cumulative_share() {
        // Total 100: a (50) makes the first half; b (30) the next 30%; c and d the next 15%.
        let data =
            keys(&[(30.0, "b"), (50.0, "a"), (10.0, "c"), (5.0, "d"), (3.0, "e"), (2.0, "f"), (0.0, "g")]);
        let tiers = ShareTiers::fit(&data, &[0.5, 0.3, 0.15]);
        let found: Vec<usize> = data.iter().map(|(value, id)| tiers.tier(*value, id)).collect();
        assert_eq!(found, [1, 0, 2, 2, 3, 3, 3]);
        // A changed customer lands where its new value belongs.
        assert_eq!(tiers.tier(60.0, "new"), 0);
        assert_eq!(tiers.tier(7.0, "new"), 2);
        assert_eq!(tiers.tier(4.0, "new"), 3);
    }

    #[test]
    fn an_empty_middle_tier_is_skipped() {
        let data = keys(&[(90.0, "a"), (10.0, "b")]);
        let tiers = ShareTiers::fit(&data, &[0.5, 0.3, 0.15]);
        // b starts at 90% of the total, past the second tier's 80%.
        assert_eq!((tiers.tier(90.0, "a"), tiers.tier(10.0, "b")), (0, 2));
        let data = keys(&[(96.0, "a"), (4.0, "b")]);
        let tiers = ShareTiers::fit(&data, &[0.5, 0.3, 0.15]);
        assert_eq!((tiers.tier(96.0, "a"), tiers.tier(4.0, "b")), (0, 3));
    }
}
