//! Customer id → position lookups for strategies that sum millions of rows per customer.

use std::collections::HashMap;

/// Ids span at most this many slots per id for the flat table to be used.
const DENSE_SPAN_PER_ID: i64 = 4;

/// Where each id sits in a list of ids: a flat table when the ids are dense (the usual case
/// for database ids: one array read per lookup), a hash map otherwise.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Positions {
    /// Ids from `first` on, by offset; `u32::MAX` for a gap.
    Dense {
        /// The smallest id.
        first: i64,
        /// Position of each id, by `id - first`.
        slots: Vec<u32>,
    },
    /// Any ids.
    Sparse(HashMap<i64, u32>),
}

impl Positions {
    /// The positions of `ids` (the last position wins for a repeated id).
    pub fn new(ids: &[i64]) -> Self {
        let (Some(min), Some(max)) = (ids.iter().min(), ids.iter().max()) else {
            return Self::Sparse(HashMap::new());
        };
        let span = max.saturating_sub(*min).saturating_add(1);
        if span <= (ids.len() as i64).saturating_mul(DENSE_SPAN_PER_ID) {
            let mut slots = vec![u32::MAX; span as usize];
            for (position, id) in ids.iter().enumerate() {
                slots[(id - min) as usize] = position as u32;
            }
            Self::Dense { first: *min, slots }
        } else {
            Self::Sparse(ids.iter().enumerate().map(|(position, id)| (*id, position as u32)).collect())
        }
    }

    /// The position of `id`, if it is in the list.
    #[inline]
    pub fn get(&self, id: i64) -> Option<usize> {
        match self {
            Self::Dense { first, slots } => {
                let offset = usize::try_from(id.checked_sub(*first)?).ok()?;
                let position = *slots.get(offset)?;
                (position != u32::MAX).then_some(position as usize)
            }
            Self::Sparse(map) => map.get(&id).map(|position| *position as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Positions;

    #[test]
    fn dense_and_sparse_lookups_agree() {
        for ids in [vec![5, 6, 8, 7], vec![1, 1_000_000_000, -3]] {
            let positions = Positions::new(&ids);
            for (position, id) in ids.iter().enumerate() {
                assert_eq!(positions.get(*id), Some(position));
            }
            assert_eq!(positions.get(4), None);
            assert_eq!(positions.get(i64::MIN), None);
        }
        assert!(matches!(Positions::new(&[5, 6, 8, 7]), Positions::Dense { .. }));
        assert_eq!(Positions::new(&[]).get(1), None);
    }
}
