//! The customers of an input: their ids, external ids, and a fast id → position lookup.

use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::{Input, StrategyResult};
use std::collections::HashMap;

/// Dense lookup tables are used when ids span at most this many slots per customer.
const DENSE_SPAN_PER_CUSTOMER: i64 = 4;

/// The customers of one input, by position.
#[derive(Debug, Clone)]
pub struct CustomerList {
    /// Customer ids, in input order.
    pub ids: Vec<i64>,
    /// External ids (empty text when missing), by position: the tie-break of every ranking.
    pub external_ids: Vec<String>,
    index: PositionIndex,
}

/// Customer id → position, as a flat table when ids are dense (the usual case: one array
/// read per interaction) and a hash map otherwise.
#[derive(Debug, Clone)]
enum PositionIndex {
    Dense { first: i64, slots: Vec<u32> },
    Sparse(HashMap<i64, u32>),
}

impl CustomerList {
    /// The customers of `input`.
    pub fn of(input: &Input) -> StrategyResult<Self> {
        let mut ids = Vec::new();
        let mut external_ids = Vec::new();
        for batch in input.customers() {
            let (id, external) = (batch.id()?, batch.external_id()?);
            for row in 0..batch.len() {
                ids.push(id.value(row));
                external_ids.push(if external.is_null(row) {
                    String::new()
                } else {
                    external.value(row).to_owned()
                });
            }
        }
        let index = PositionIndex::new(&ids);
        Ok(Self { ids, external_ids, index })
    }

    /// How many customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of customer `id`, if it is in the input.
    #[inline]
    pub fn position(&self, id: i64) -> Option<usize> {
        match &self.index {
            PositionIndex::Dense { first, slots } => {
                let slot = id.checked_sub(*first)?;
                let position = *slots.get(usize::try_from(slot).ok()?)?;
                (position != u32::MAX).then_some(position as usize)
            }
            PositionIndex::Sparse(map) => map.get(&id).map(|position| *position as usize),
        }
    }
}

impl PositionIndex {
    fn new(ids: &[i64]) -> Self {
        let (Some(min), Some(max)) = (ids.iter().min(), ids.iter().max()) else {
            return Self::Sparse(HashMap::new());
        };
        let span = max.saturating_sub(*min).saturating_add(1);
        if span <= (ids.len() as i64).saturating_mul(DENSE_SPAN_PER_CUSTOMER) {
            let mut slots = vec![u32::MAX; span as usize];
            for (position, id) in ids.iter().enumerate() {
                slots[(id - min) as usize] = position as u32;
            }
            Self::Dense { first: *min, slots }
        } else {
            Self::Sparse(ids.iter().enumerate().map(|(position, id)| (*id, position as u32)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PositionIndex;

    #[test]
    fn dense_and_sparse_lookups_agree() {
        for ids in [vec![5, 6, 8, 7], vec![1, 1_000_000_000, -3]] {
            let index = PositionIndex::new(&ids);
            for (position, id) in ids.iter().enumerate() {
                let found = match &index {
                    PositionIndex::Dense { first, slots } => slots[(id - first) as usize] as usize,
                    PositionIndex::Sparse(map) => map[id] as usize,
                };
                assert_eq!(found, position);
            }
        }
    }
}
