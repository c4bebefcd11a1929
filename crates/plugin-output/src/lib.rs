//! What Kindred checks in every `assign` output before using it, trusting nothing a plugin
//! hands back: the three columns with their types, every array valid to the byte (offsets
//! within bounds and increasing, UTF-8 text, null bitmaps of the right length), a customer
//! and a label on every row, only customers of the batch, and finite scores (a null score is
//! no score; NaN or infinity is an error naming its row).
//!
//! Used by the plugin host on every call, in-process or isolated, and by the SDK's test helper,
//! so an author's test refuses what Kindred would refuse. Depends on Arrow and the ABI's
//! column names only.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use kindred_plugin_abi::OUTPUT_COLUMNS;
use std::collections::HashSet;

/// One customer in one segment, as a strategy assigned it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Membership {
    /// The customer.
    pub customer_id: i64,
    /// The segment's label, trimmed.
    pub segment: String,
    /// The strategy's score, if it gives one.
    pub score: Option<f64>,
}

/// Why an output was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutputError {
    /// Not the three columns with their types.
    #[error("output schema must be (customer_id Int64, segment Utf8, score Float64), found ({found})")]
    Schema {
        /// The columns found, as `name type`.
        found: String,
    },
    /// An array's buffers do not hold what its description says.
    #[error("output column {column} is not a valid Arrow array: {reason}")]
    Invalid {
        /// The column.
        column: &'static str,
        /// What Arrow's full validation found.
        reason: String,
    },
    /// A row without a customer or a label.
    #[error("output row {row} has no {column}")]
    Missing {
        /// The row.
        row: usize,
        /// `customer_id` or `segment`.
        column: &'static str,
    },
    /// A blank label.
    #[error("output row {row} has an empty segment label")]
    EmptyLabel {
        /// The row.
        row: usize,
    },
    /// A customer the call was not about.
    #[error("output row {row} names customer {customer_id}, who is not in the batch")]
    ForeignCustomer {
        /// The row.
        row: usize,
        /// The customer named.
        customer_id: i64,
    },
    /// A score that is NaN or infinite.
    #[error(
        "output row {row} has the score {score}, which is not a finite number (leave it null for no score)"
    )]
    NonFiniteScore {
        /// The row.
        row: usize,
        /// The score.
        score: f64,
    },
}

/// The schema an output must have, as the error shows it when it does not.
fn schema_matches(output: &RecordBatch) -> Result<(), OutputError> {
    let schema = output.schema();
    let expected = [DataType::Int64, DataType::Utf8, DataType::Float64];
    let matches = schema.fields().len() == OUTPUT_COLUMNS.len()
        && schema
            .fields()
            .iter()
            .zip(OUTPUT_COLUMNS.iter().zip(expected.iter()))
            .all(|(field, (name, data_type))| field.name() == name && field.data_type() == data_type);
    if matches {
        return Ok(());
    }
    let found: Vec<String> =
        schema.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect();
    Err(OutputError::Schema { found: found.join(", ") })
}

/// Checks that `output` has the contract's columns and that every array's buffers hold what
/// its description says: what must be true before any value is read (or the batch sent on).
pub fn validate_arrays(output: &RecordBatch) -> Result<(), OutputError> {
    schema_matches(output)?;
    for (column, array) in OUTPUT_COLUMNS.iter().zip(output.columns()) {
        array
            .to_data()
            .validate_full()
            .map_err(|error| OutputError::Invalid { column, reason: error.to_string() })?;
    }
    Ok(())
}

/// Checks `output` against the contract and returns its memberships; `allowed` holds the
/// customers of the batch the call was given.
pub fn check_output(output: &RecordBatch, allowed: &HashSet<i64>) -> Result<Vec<Membership>, OutputError> {
    validate_arrays(output)?;
    let ids = output.column(0).as_primitive::<Int64Type>();
    let segments = output.column(1).as_string::<i32>();
    let scores = output.column(2).as_primitive::<Float64Type>();
    let mut memberships = Vec::with_capacity(output.num_rows());
    for row in 0..output.num_rows() {
        if ids.is_null(row) {
            return Err(OutputError::Missing { row, column: "customer_id" });
        }
        if segments.is_null(row) {
            return Err(OutputError::Missing { row, column: "segment" });
        }
        let customer_id = ids.value(row);
        if !allowed.contains(&customer_id) {
            return Err(OutputError::ForeignCustomer { row, customer_id });
        }
        let segment = segments.value(row).trim();
        if segment.is_empty() {
            return Err(OutputError::EmptyLabel { row });
        }
        let score = match scores.is_null(row) {
            true => None,
            false if scores.value(row).is_finite() => Some(scores.value(row)),
            false => return Err(OutputError::NonFiniteScore { row, score: scores.value(row) }),
        };
        memberships.push(Membership { customer_id, segment: segment.to_owned(), score });
    }
    Ok(memberships)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};
    use std::sync::Arc;

    fn batch(ids: Vec<Option<i64>>, segments: ArrayRef, scores: Vec<Option<f64>>) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("customer_id", DataType::Int64, true),
            Field::new("segment", DataType::Utf8, true),
            Field::new("score", DataType::Float64, true),
        ]);
        let columns: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(ids)), segments, Arc::new(Float64Array::from(scores))];
        RecordBatch::try_new(Arc::new(schema), columns).unwrap_or_else(|error| panic!("{error}"))
    }

    fn labels(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn allowed() -> HashSet<i64> {
        HashSet::from([1, 2, 3])
    }

    #[test]
    fn a_good_output_is_read_with_null_scores_as_none() {
        let output = batch(vec![Some(1), Some(2)], labels(&[Some(" a "), Some("b")]), vec![Some(0.5), None]);
        let read = check_output(&output, &allowed());
        assert_eq!(
            read,
            Ok(vec![
                Membership { customer_id: 1, segment: "a".to_owned(), score: Some(0.5) },
                Membership { customer_id: 2, segment: "b".to_owned(), score: None },
            ])
        );
    }

    #[test]
    fn non_finite_scores_name_their_row() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let output =
                batch(vec![Some(1), Some(2)], labels(&[Some("a"), Some("b")]), vec![None, Some(bad)]);
            match check_output(&output, &allowed()) {
                Err(OutputError::NonFiniteScore { row: 1, .. }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn rows_without_a_customer_a_label_or_of_another_batch_are_refused() {
        let cases = [
            (
                batch(vec![None], labels(&[Some("a")]), vec![None]),
                OutputError::Missing { row: 0, column: "customer_id" },
            ),
            (
                batch(vec![Some(1)], labels(&[None]), vec![None]),
                OutputError::Missing { row: 0, column: "segment" },
            ),
            (batch(vec![Some(1)], labels(&[Some("  ")]), vec![None]), OutputError::EmptyLabel { row: 0 }),
            (
                batch(vec![Some(9)], labels(&[Some("a")]), vec![None]),
                OutputError::ForeignCustomer { row: 0, customer_id: 9 },
            ),
        ];
        for (output, expected) in cases {
            assert_eq!(check_output(&output, &allowed()), Err(expected));
        }
    }

    #[test]
    fn another_schema_is_refused_with_what_was_found() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        let output =
            RecordBatch::try_new(Arc::new(schema), vec![Arc::new(Int64Array::from(vec![1])) as ArrayRef])
                .unwrap_or_else(|error| panic!("{error}"));
        let error = check_output(&output, &allowed()).unwrap_err();
        assert!(error.to_string().contains("found (id Int64)"), "{error}");
    }

    #[test]
    #[allow(unsafe_code)] // to build the invalid arrays a wrong plugin could hand back
    fn broken_offsets_and_bad_utf8_are_caught_before_any_value_is_read() {
        let invalid = |offsets: &[i32], values: &[u8]| -> ArrayRef {
            let data = arrow_data::ArrayData::builder(DataType::Utf8)
                .len(1)
                .add_buffer(arrow_buffer::Buffer::from_slice_ref(offsets))
                .add_buffer(arrow_buffer::Buffer::from_slice_ref(values));
            // SAFETY: deliberately invalid; only the check under test reads it, and it validates
            // the buffers before reading any value.
            Arc::new(StringArray::from(unsafe { data.build_unchecked() }))
        };
        for (what, segments) in [
            ("offsets past the end", invalid(&[0, 50], b"ab")),
            ("not UTF-8", invalid(&[0, 2], &[0xff, 0xfe])),
        ] {
            let output = batch(vec![Some(1)], segments, vec![None]);
            match check_output(&output, &allowed()) {
                Err(OutputError::Invalid { column: "segment", .. }) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
    }
}
