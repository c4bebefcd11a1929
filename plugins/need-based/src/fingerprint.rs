//! A fingerprint of each customer's ties and needs, so `assign` can tell a customer fit saw
//! unchanged from one whose ties or needs changed since.

use crate::listening::Heard;
use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::{Input, Positions, StrategyResult};
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};

/// FxHash: fingerprints are compared only within one fitted instance, so a fast hash that is
/// the same on every run is all they need (SipHash took a fifth of assign at a million).
fn hash_of(item: impl Hash) -> u64 {
    let mut hasher = FxHasher::default();
    item.hash(&mut hasher);
    hasher.finish()
}

/// For each of `customers` customers at a position of `positions`, a hash of its ties (other
/// end, kind, weight), needs (tag, weight) and heard needs (tag: their weights fade with time
/// without the customer doing anything), independent of row order.
pub fn fingerprints(
    input: &Input,
    positions: &Positions,
    customers: usize,
    heard: Option<&Heard>,
) -> StrategyResult<Vec<u64>> {
    let mut prints = vec![0_u64; customers];
    for batch in input.ties() {
        let (from, to, kinds, weights) = (batch.from_id()?, batch.to_id()?, batch.kind()?, batch.weight()?);
        for row in 0..batch.len() {
            let (a, b) = (from.value(row), to.value(row));
            let kind = if kinds.is_null(row) { "" } else { kinds.value(row) };
            let weight = if weights.is_null(row) { 1.0 } else { weights.value(row) }.to_bits();
            for (me, other) in [(a, b), (b, a)] {
                if let Some(at) = positions.get(me) {
                    // Adding hashes makes the fingerprint independent of row order.
                    prints[at] = prints[at].wrapping_add(hash_of(("tie", other, kind, weight)));
                }
            }
        }
    }
    for batch in input.needs() {
        let (owners, tags, weights) = (batch.customer_id()?, batch.tag()?, batch.weight()?);
        for row in 0..batch.len() {
            if let Some(at) = positions.get(owners.value(row)) {
                let weight = if weights.is_null(row) { 1.0 } else { weights.value(row) }.to_bits();
                prints[at] = prints[at].wrapping_add(hash_of(("need", tags.value(row), weight)));
            }
        }
    }
    if let Some(heard) = heard {
        for (at, list) in heard.by_position.iter().enumerate() {
            for (need, _) in list {
                prints[at] = prints[at].wrapping_add(hash_of(("heard", heard.tags[*need as usize].as_str())));
            }
        }
    }
    Ok(prints)
}
