//! The population, already in memory for `fit`, cut into the tables of each `assign` batch:
//! every row of a table goes to the batch of the customer it belongs to (a tie to the batches
//! of both its ends), so a run reads the store once.

use crate::tables::TableData;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use arrow_select::interleave::interleave;

/// Where the rows of one table go: for each batch, (record batch, row) pairs in table order.
type Placement = Vec<Vec<(usize, usize)>>;

/// The population cut by customer into consecutive batches.
pub struct AssignBatches<'a> {
    population: &'a [TableData],
    placements: Vec<Placement>,
}

impl<'a> AssignBatches<'a> {
    /// Cuts `population` for the batches of ascending customer ids `chunks`.
    pub fn new(population: &'a [TableData], chunks: &[&[i64]]) -> Self {
        // The first customer id of each batch; batches hold consecutive ids.
        let starts: Vec<i64> = chunks.iter().filter_map(|chunk| chunk.first().copied()).collect();
        let placements = population
            .iter()
            .map(|table| {
                let mut placement: Placement = vec![Vec::new(); starts.len()];
                for (batch_index, batch) in table.batches.iter().enumerate() {
                    let keys: Vec<_> = (0..table.table.key_columns())
                        .map(|key| batch.column(key).as_primitive::<Int64Type>())
                        .collect();
                    for row in 0..batch.num_rows() {
                        // A tie goes to the batches of both its ends, once if they are the same.
                        let mut targets = keys
                            .iter()
                            .filter(|ids| !ids.is_null(row))
                            .filter_map(|ids| batch_of(&starts, ids.value(row)));
                        let first = targets.next();
                        let second = targets.next().filter(|second| Some(*second) != first);
                        for target in first.into_iter().chain(second) {
                            placement[target].push((batch_index, row));
                        }
                    }
                }
                placement
            })
            .collect();
        Self { population, placements }
    }

    /// The tables of batch `index`.
    pub fn tables(&self, index: usize) -> Result<Vec<TableData>, arrow_schema::ArrowError> {
        self.population
            .iter()
            .zip(&self.placements)
            .map(|(table, placement)| {
                let rows = &placement[index];
                let batches = if rows.is_empty() {
                    Vec::new()
                } else {
                    let columns = (0..table.schema.fields().len())
                        .map(|column| {
                            let arrays: Vec<&dyn Array> =
                                table.batches.iter().map(|batch| batch.column(column).as_ref()).collect();
                            interleave(&arrays, rows)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    vec![RecordBatch::try_new(table.schema.clone(), columns)?]
                };
                Ok(TableData { table: table.table, schema: table.schema.clone(), batches })
            })
            .collect()
    }
}

/// The batch whose id range holds `id`, if any.
fn batch_of(starts: &[i64], id: i64) -> Option<usize> {
    match starts.partition_point(|start| *start <= id) {
        0 => None,
        after => Some(after - 1),
    }
}
