//! The population, already in memory for `fit`, cut into the tables of each `assign` batch:
//! every row of a table goes to the batch of the customer it belongs to (a tie to the batches
//! of both its ends), so a run reads the store once.

use crate::tables::TableData;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use arrow_select::interleave::interleave;
use std::sync::{Arc, OnceLock};

/// Where the rows of one table go: for each batch, (record batch, row) pairs in table order.
type Placement = Vec<Vec<(usize, usize)>>;

/// The population cut by customer into consecutive batches. Rows are placed on the first call
/// to [`AssignBatches::tables`]: a run whose batches are cut elsewhere (in an isolated plugin's
/// worker) never pays for it.
#[derive(Debug)]
pub struct AssignBatches {
    population: Arc<Vec<TableData>>,
    starts: Vec<i64>,
    placements: OnceLock<Vec<Placement>>,
}

impl AssignBatches {
    /// Cuts `population` for the batches of ascending customer ids `chunks`.
    pub fn new(population: Arc<Vec<TableData>>, chunks: &[&[i64]]) -> Self {
        // The first customer id of each batch; batches hold consecutive ids.
        let starts = chunks.iter().filter_map(|chunk| chunk.first().copied()).collect();
        Self::from_starts(population, starts)
    }

    /// Cuts `population` into batches that begin at these ascending customer ids.
    pub fn from_starts(population: Arc<Vec<TableData>>, starts: Vec<i64>) -> Self {
        Self { population, starts, placements: OnceLock::new() }
    }

    /// The whole population.
    pub fn population(&self) -> &[TableData] {
        &self.population
    }

    /// The first customer id of each batch.
    pub fn starts(&self) -> &[i64] {
        &self.starts
    }

    /// How many batches there are.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there is no batch.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn placements(&self) -> &[Placement] {
        self.placements
            .get_or_init(|| self.population.iter().map(|table| place(table, &self.starts)).collect())
    }

    /// The tables of batch `index`.
    pub fn tables(&self, index: usize) -> Result<Vec<TableData>, arrow_schema::ArrowError> {
        self.population
            .iter()
            .zip(self.placements())
            .map(|(table, placement)| {
                let rows = placement.get(index).map(Vec::as_slice).unwrap_or_default();
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

/// Where each row of `table` goes among the batches beginning at `starts`.
fn place(table: &TableData, starts: &[i64]) -> Placement {
    let mut placement: Placement = vec![Vec::new(); starts.len()];
    for (batch_index, batch) in table.batches.iter().enumerate() {
        let keys: Vec<_> =
            (0..table.table.key_columns()).map(|key| batch.column(key).as_primitive::<Int64Type>()).collect();
        for row in 0..batch.num_rows() {
            // A tie goes to the batches of both its ends, once if they are the same.
            let mut targets = keys
                .iter()
                .filter(|ids| !ids.is_null(row))
                .filter_map(|ids| batch_of(starts, ids.value(row)));
            let first = targets.next();
            let second = targets.next().filter(|second| Some(*second) != first);
            for target in first.into_iter().chain(second) {
                placement[target].push((batch_index, row));
            }
        }
    }
    placement
}

/// The batch whose id range holds `id`, if any.
fn batch_of(starts: &[i64], id: i64) -> Option<usize> {
    match starts.partition_point(|start| *start <= id) {
        0 => None,
        after => Some(after - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::schema;
    use arrow_array::{ArrayRef, Int64Array};
    use kindred_plugin_abi::TableId;

    fn table(table: TableId, columns: Vec<Vec<i64>>, batch_rows: usize) -> TableData {
        let indexes: Vec<usize> = (0..columns.len()).collect();
        let schema = schema(table, &indexes);
        let rows = columns[0].len();
        let batches = (0..rows)
            .step_by(batch_rows)
            .map(|start| {
                let end = (start + batch_rows).min(rows);
                let arrays: Vec<ArrayRef> = columns
                    .iter()
                    .map(|c| Arc::new(Int64Array::from(c[start..end].to_vec())) as ArrayRef)
                    .collect();
                RecordBatch::try_new(schema.clone(), arrays).expect("batch")
            })
            .collect();
        TableData { table, schema, batches }
    }

    fn keys(tables: &[TableData], index: usize) -> Vec<Vec<i64>> {
        tables[index]
            .batches
            .iter()
            .flat_map(|batch| {
                let columns: Vec<_> = (0..tables[index].table.key_columns())
                    .map(|key| batch.column(key).as_primitive::<Int64Type>().values().to_vec())
                    .collect();
                (0..batch.num_rows()).map(move |row| columns.iter().map(|c| c[row]).collect::<Vec<_>>())
            })
            .collect()
    }

    #[test]
    fn rows_follow_their_customers_and_ties_both_ends() {
        let population = vec![
            table(TableId::Customers, vec![vec![1, 2, 3, 4, 5]], 2),
            table(TableId::Interactions, vec![vec![5, 1, 3, 3, 2, 5]], 4),
            table(TableId::Ties, vec![vec![1, 2, 5], vec![2, 4, 5]], 2),
        ];
        let chunks: [&[i64]; 3] = [&[1, 2], &[3, 4], &[5]];
        let batches = AssignBatches::new(Arc::new(population), &chunks);
        let first = batches.tables(0).expect("batch 0");
        assert_eq!(keys(&first, 0), [[1], [2]]);
        assert_eq!(keys(&first, 1), [[1], [2]]);
        assert_eq!(keys(&first, 2), [[1, 2], [2, 4]], "a tie inside the batch comes once");
        let second = batches.tables(1).expect("batch 1");
        assert_eq!(keys(&second, 1), [[3], [3]]);
        assert_eq!(keys(&second, 2), [[2, 4]], "a tie across batches goes to both");
        let third = batches.tables(2).expect("batch 2");
        assert_eq!(keys(&third, 1), [[5], [5]]);
        assert_eq!(keys(&third, 2), [[5, 5]]);
    }
}
