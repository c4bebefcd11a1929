//! The output of `assign`: which segment each customer is in, with a score.

use arrow_array::builder::{ArrayBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::{Arc, LazyLock};

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new("score", DataType::Float64, true),
    ]))
});

/// The schema every `assign` output has: `customer_id` Int64, `segment` Utf8, `score`
/// nullable Float64.
pub fn output_schema() -> SchemaRef {
    SCHEMA.clone()
}

/// Builds the output of `assign`: one row per (customer, segment). A customer may be in
/// several segments when the strategy allows it (rules with `multi`), or in none.
#[derive(Debug, Default)]
pub struct Assignments {
    customer_ids: Int64Builder,
    segments: StringBuilder,
    scores: Float64Builder,
}

impl Assignments {
    /// An empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `customer_id` in `segment` with an optional `score` (what the score means is the
    /// strategy's to say: a probability, an RFM code, a centrality).
    pub fn push(&mut self, customer_id: i64, segment: &str, score: Option<f64>) {
        self.customer_ids.append_value(customer_id);
        self.segments.append_value(segment);
        self.scores.append_option(score);
    }

    /// How many rows so far.
    pub fn len(&self) -> usize {
        self.customer_ids.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows as a record batch with [`output_schema`].
    pub fn finish(mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.customer_ids.finish()),
            Arc::new(self.segments.finish()),
            Arc::new(self.scores.finish()),
        ];
        // The three builders always have the same length and the schema's types.
        RecordBatch::try_new(output_schema(), columns)
            .unwrap_or_else(|_| RecordBatch::new_empty(output_schema()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;

    #[test]
    fn rows_come_out_in_the_contract_schema() {
        let mut out = Assignments::new();
        out.push(7, "champions", Some(545.0));
        out.push(8, "lost", None);
        assert_eq!(out.len(), 2);
        let batch = out.finish();
        assert_eq!(batch.schema(), output_schema());
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().values().as_ref(), [7, 8]);
        assert!(batch.column(2).is_null(1));
    }
}
