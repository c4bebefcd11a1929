//! The customers of an input: their ids, external ids, and a fast id → position lookup.

use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::{Input, Positions, StrategyResult};

/// The customers of one input, by position.
#[derive(Debug, Clone)]
pub struct CustomerList {
    /// Customer ids, in input order.
    pub ids: Vec<i64>,
    /// External ids (empty text when missing), by position: the tie-break of every ranking.
    pub external_ids: Vec<String>,
    index: Positions,
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
        let index = Positions::new(&ids);
        Ok(Self { ids, external_ids, index })
    }

    /// How many customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of customer `id`, if it is in the input.
    #[inline]
    pub fn position(&self, id: i64) -> Option<usize> {
        self.index.get(id)
    }
}
