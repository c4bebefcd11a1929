//! Evaluating leaves over Arrow columns, a whole column at a time.

use super::time::Moment;
use super::{MICROS_PER_DAY, Test, TextOp};
use crate::StrategyError;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, ListArray, StringArray};
use arrow_buffer::BooleanBuffer;
use std::collections::HashMap;

/// The columns a tree is evaluated over: one Arrow array per field (two for a location),
/// all of the same length.
#[derive(Debug, Clone, Default)]
pub struct RuleColumns {
    pub(super) rows: usize,
    columns: HashMap<String, Vec<ArrayRef>>,
}

impl RuleColumns {
    /// Columns of `rows` rows.
    pub fn new(rows: usize) -> Self {
        Self { rows, columns: HashMap::new() }
    }

    /// Binds field `name` to `array` (Float64, Utf8, Boolean, Date32, Timestamp(µs) or
    /// List(Utf8), as the field's type says).
    pub fn with(mut self, name: &str, array: ArrayRef) -> Self {
        self.columns.insert(name.to_owned(), vec![array]);
        self
    }

    /// Binds location field `name` to latitude and longitude columns (Float64).
    pub fn with_location(mut self, name: &str, lat: ArrayRef, lon: ArrayRef) -> Self {
        self.columns.insert(name.to_owned(), vec![lat, lon]);
        self
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub(super) fn get(&self, name: &str) -> Result<&[ArrayRef], StrategyError> {
        let arrays = self
            .columns
            .get(name)
            .ok_or_else(|| StrategyError::new(format!("rule field {name:?} has no column bound")))?;
        if arrays.iter().any(|array| array.len() != self.rows) {
            return Err(StrategyError::new(format!("rule field {name:?} has a column of another length")));
        }
        Ok(arrays)
    }
}

fn wrong_type(array: &ArrayRef) -> StrategyError {
    StrategyError::new(format!("rule column has type {}, not the field's", array.data_type()))
}

fn present(array: &dyn Array, rows: usize, want: bool) -> BooleanBuffer {
    BooleanBuffer::collect_bool(rows, |row| array.is_valid(row) == want)
}

pub(super) fn evaluate_leaf(
    test: &Test,
    arrays: &[ArrayRef],
    rows: usize,
    as_of: i64,
) -> Result<BooleanBuffer, StrategyError> {
    let first = &arrays[0];
    match test {
        Test::Exists | Test::Missing => {
            let want = matches!(test, Test::Exists);
            // A location exists when both coordinates do.
            let both =
                BooleanBuffer::collect_bool(rows, |row| arrays.iter().all(|array| array.is_valid(row)));
            if arrays.len() > 1 {
                return Ok(if want { both } else { !&both });
            }
            Ok(present(first.as_ref(), rows, want))
        }
        Test::Number { .. } | Test::NumberBetween(..) | Test::NumberIn(..) => {
            let numbers = first.as_primitive_opt::<Float64Type>().ok_or_else(|| wrong_type(first))?;
            let holds = |n: f64| match test {
                Test::Number { op, value } => op.holds(n, *value),
                Test::NumberBetween(low, high) => *low <= n && n <= *high,
                Test::NumberIn(values, wanted) => values.contains(&n) == *wanted,
                _ => false,
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| numbers.is_valid(row) && holds(numbers.value(row))))
        }
        Test::Text { .. } | Test::TextIn(..) => {
            let texts: &StringArray = first.as_string_opt::<i32>().ok_or_else(|| wrong_type(first))?;
            let holds = |text: &str| match test {
                Test::Text { op: TextOp::Eq, value } => text == value,
                Test::Text { op: TextOp::Ne, value } => text != value,
                Test::Text { op: TextOp::Contains, value } => text.contains(value.as_str()),
                Test::Text { op: TextOp::StartsWith, value } => text.starts_with(value.as_str()),
                Test::TextIn(values, wanted) => values.iter().any(|v| v == text) == *wanted,
                _ => false,
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| texts.is_valid(row) && holds(texts.value(row))))
        }
        Test::Boolean { equal, value } => {
            let flags: &BooleanArray = first.as_boolean_opt().ok_or_else(|| wrong_type(first))?;
            Ok(BooleanBuffer::collect_bool(rows, |row| {
                flags.is_valid(row) && (flags.value(row) == *value) == *equal
            }))
        }
        Test::Time { .. } | Test::TimeBetween(..) => {
            // Dates compare by day: a moment is turned into its UTC day.
            let (values, scale): (Vec<Option<i64>>, bool) =
                if let Some(days) = first.as_primitive_opt::<Date32Type>() {
                    (days.iter().map(|day| day.map(i64::from)).collect(), true)
                } else if let Some(times) = first.as_primitive_opt::<TimestampMicrosecondType>() {
                    (times.iter().collect(), false)
                } else {
                    return Err(wrong_type(first));
                };
            let resolve = |moment: &Moment| {
                let micros = moment.at(as_of);
                if scale { micros.div_euclid(MICROS_PER_DAY) } else { micros }
            };
            let holds: Box<dyn Fn(i64) -> bool> = match test {
                Test::Time { op, value } => {
                    let (op, bound) = (*op, resolve(value));
                    Box::new(move |v| op.holds(v, bound))
                }
                Test::TimeBetween(from, to) => {
                    let (from, to) = (resolve(from), resolve(to));
                    Box::new(move |v| from <= v && v <= to)
                }
                _ => Box::new(|_| false),
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| values[row].is_some_and(&holds)))
        }
        Test::TagsContain(_) | Test::TagsAny(..) => {
            let lists: &ListArray = first.as_list_opt::<i32>().ok_or_else(|| wrong_type(first))?;
            let strings = lists.values().as_string_opt::<i32>().ok_or_else(|| wrong_type(first))?;
            let offsets = lists.value_offsets();
            let has = |row: usize, tag: &str| {
                (offsets[row] as usize..offsets[row + 1] as usize)
                    .any(|i| strings.is_valid(i) && strings.value(i) == tag)
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| {
                if lists.is_null(row) {
                    return matches!(test, Test::TagsAny(_, false));
                }
                match test {
                    Test::TagsContain(tag) => has(row, tag),
                    Test::TagsAny(tags, wanted) => tags.iter().any(|tag| has(row, tag)) == *wanted,
                    _ => false,
                }
            }))
        }
        Test::Within { lat, lon, km } => {
            let [lats, lons] = arrays else {
                return Err(StrategyError::new("a location needs latitude and longitude"));
            };
            let lats = lats.as_primitive_opt::<Float64Type>().ok_or_else(|| wrong_type(lats))?;
            let lons = lons.as_primitive_opt::<Float64Type>().ok_or_else(|| wrong_type(lons))?;
            Ok(BooleanBuffer::collect_bool(rows, |row| {
                lats.is_valid(row)
                    && lons.is_valid(row)
                    && haversine_km(*lat, *lon, lats.value(row), lons.value(row)) <= *km
            }))
        }
    }
}

/// Great-circle distance in kilometres (mean Earth radius 6,371.0088 km).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let (d_phi, d_lambda) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * 6_371.008_8 * a.sqrt().asin()
}
