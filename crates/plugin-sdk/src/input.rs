//! Read access to the tables a strategy asked for, as Arrow record batches.

use crate::{StrategyError, StrategyResult, Table};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, BooleanArray, Float64Array, Int64Array, ListArray, PrimitiveArray, RecordBatch, StringArray,
};
use std::collections::HashMap;

/// Microseconds in a day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The input of a `fit` or `assign` call: the record batches of each table the strategy
/// asked for, projected to the columns it asked for (plus the keys), and the as-of moment.
#[derive(Debug, Clone, Default)]
pub struct Input {
    tables: HashMap<Table, Vec<RecordBatch>>,
    as_of_micros: i64,
}

impl Input {
    /// An input of these batches as of this moment (microseconds since the Unix epoch, UTC).
    /// The host builds inputs; tests and in-process callers use this.
    pub fn new(tables: HashMap<Table, Vec<RecordBatch>>, as_of_micros: i64) -> Self {
        Self { tables, as_of_micros }
    }

    /// This input with `table`'s batches replaced by `batches` (for tests: a refit's
    /// `segments`, say).
    pub fn with_table(mut self, table: Table, batches: Vec<RecordBatch>) -> Self {
        self.tables.insert(table, batches);
        self
    }

    /// The moment the data describes, in microseconds since the Unix epoch (UTC).
    pub fn as_of_micros(&self) -> i64 {
        self.as_of_micros
    }

    /// The as-of day, in days since the Unix epoch (the unit of `birth_date`).
    pub fn as_of_day(&self) -> i32 {
        i32::try_from(self.as_of_micros.div_euclid(MICROS_PER_DAY)).unwrap_or(i32::MAX)
    }

    /// The batches of `table`; none when the strategy did not ask for it.
    pub fn batches(&self, table: Table) -> &[RecordBatch] {
        self.tables.get(&table).map(Vec::as_slice).unwrap_or_default()
    }

    /// How many rows `table` has in all.
    pub fn rows(&self, table: Table) -> usize {
        self.batches(table).iter().map(RecordBatch::num_rows).sum()
    }

    /// The batches of `customers`, with typed columns.
    pub fn customers(&self) -> impl Iterator<Item = Customers<'_>> {
        self.batches(Table::Customers).iter().map(|batch| Customers { batch })
    }

    /// The batches of `interactions`, with typed columns.
    pub fn interactions(&self) -> impl Iterator<Item = Interactions<'_>> {
        self.batches(Table::Interactions).iter().map(|batch| Interactions { batch })
    }

    /// The batches of `ties`, with typed columns.
    pub fn ties(&self) -> impl Iterator<Item = Ties<'_>> {
        self.batches(Table::Ties).iter().map(|batch| Ties { batch })
    }

    /// The batches of `needs`, with typed columns.
    pub fn needs(&self) -> impl Iterator<Item = Needs<'_>> {
        self.batches(Table::Needs).iter().map(|batch| Needs { batch })
    }

    /// The `segments` batches: the segment each customer holds now in the segmentation being
    /// refitted (none for a preview, a new segmentation or `assign`).
    pub fn segments(&self) -> impl Iterator<Item = Segments<'_>> {
        self.batches(Table::Segments).iter().map(|batch| Segments { batch })
    }

    /// Every customer id of the input, in order.
    pub fn customer_ids(&self) -> Vec<i64> {
        let mut ids = Vec::with_capacity(self.rows(Table::Customers));
        for batch in self.customers() {
            if let Ok(column) = batch.id() {
                ids.extend(column.values().iter().copied());
            }
        }
        ids
    }
}

/// The column `name` of `batch` as array type `A`, or an error naming what is missing.
pub fn column<'a, A: Array + 'static>(batch: &'a RecordBatch, name: &str) -> StrategyResult<&'a A> {
    let array = batch.column_by_name(name).ok_or_else(|| {
        StrategyError::new(format!("input column {name:?} is missing: ask for it in describe()"))
    })?;
    array.as_any().downcast_ref::<A>().ok_or_else(|| {
        StrategyError::new(format!(
            "input column {name:?} has type {}, not the one expected",
            array.data_type()
        ))
    })
}

fn primitive<'a, T: arrow_array::ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &str,
) -> StrategyResult<&'a PrimitiveArray<T>> {
    let array = batch.column_by_name(name).ok_or_else(|| {
        StrategyError::new(format!("input column {name:?} is missing: ask for it in describe()"))
    })?;
    array.as_primitive_opt::<T>().ok_or_else(|| {
        StrategyError::new(format!(
            "input column {name:?} has type {}, not the one expected",
            array.data_type()
        ))
    })
}

/// Declares a typed view over one table's batch, with one accessor per column.
macro_rules! table_view {
    ($(#[$doc:meta])* $view:ident { $($(#[$cdoc:meta])* $column:ident: $kind:tt),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $view<'a> {
            batch: &'a RecordBatch,
        }

        impl<'a> $view<'a> {
            /// The batch itself.
            pub fn batch(&self) -> &'a RecordBatch {
                self.batch
            }

            /// How many rows.
            pub fn len(&self) -> usize {
                self.batch.num_rows()
            }

            /// Whether there are no rows.
            pub fn is_empty(&self) -> bool {
                self.batch.num_rows() == 0
            }

            $(
                $(#[$cdoc])*
                pub fn $column(&self) -> StrategyResult<table_view!(@type $kind)> {
                    table_view!(@get $kind, self.batch, stringify!($column))
                }
            )*
        }
    };
    (@type int) => { &'a Int64Array };
    (@type float) => { &'a Float64Array };
    (@type text) => { &'a StringArray };
    (@type bool) => { &'a BooleanArray };
    (@type date) => { &'a PrimitiveArray<Date32Type> };
    (@type time) => { &'a PrimitiveArray<TimestampMicrosecondType> };
    (@type tags) => { &'a ListArray };
    (@get int, $batch:expr, $name:expr) => { primitive::<Int64Type>($batch, $name) };
    (@get float, $batch:expr, $name:expr) => { primitive::<Float64Type>($batch, $name) };
    (@get date, $batch:expr, $name:expr) => { primitive::<Date32Type>($batch, $name) };
    (@get time, $batch:expr, $name:expr) => { primitive::<TimestampMicrosecondType>($batch, $name) };
    (@get $other:tt, $batch:expr, $name:expr) => { column($batch, $name) };
}

table_view!(
    /// A batch of `customers`.
    Customers {
        /// Customer id (always present).
        id: int,
        /// The business's own id.
        external_id: text,
        /// Birth date, days since the Unix epoch.
        birth_date: date,
        /// `female`, `male`, `non_binary` or `unspecified`.
        gender: text,
        /// Yearly income.
        income: float,
        /// Highest education.
        education: text,
        /// Occupation.
        occupation: text,
        /// Two-letter country code.
        country: text,
        /// Region or state.
        region: text,
        /// City.
        city: text,
        /// Latitude.
        lat: float,
        /// Longitude.
        lon: float,
        /// Lifestyle tags.
        lifestyle: tags,
        /// Agreed to marketing.
        consent_marketing: bool,
        /// Agreed to profiling.
        consent_profiling: bool,
        /// When the customer was first recorded.
        created_at: time,
    }
);

table_view!(
    /// A batch of `interactions`.
    Interactions {
        /// The customer (always present).
        customer_id: int,
        /// When it happened.
        occurred_at: time,
        /// Channel: store, web, email, social, support...
        channel: text,
        /// Kind: purchase, visit, ticket, post...
        kind: text,
        /// Amount of money, for purchases and refunds.
        amount: float,
        /// ISO 4217 currency of the amount.
        currency: text,
        /// What serving this interaction cost.
        cost_to_serve: float,
        /// What the customer wrote (posts, reviews, mentions, tickets), if anything.
        text: text,
    }
);

table_view!(
    /// A batch of `ties`.
    Ties {
        /// One end (always present).
        from_id: int,
        /// The other end (always present).
        to_id: int,
        /// friend, household, colleague, follows, referred, conversation.
        kind: text,
        /// Strength, 0..1.
        weight: float,
        /// Whether the tie goes both ways.
        mutual: bool,
    }
);

table_view!(
    /// A batch of `needs`.
    Needs {
        /// The customer (always present).
        customer_id: int,
        /// The need, interest or passion, as a tag.
        tag: text,
        /// interest, passion, need or job.
        kind: text,
        /// declared or inferred.
        source: text,
        /// Strength, 0..1.
        weight: float,
    }
);

/// The tags of row `row` of a `lifestyle` column.
pub fn tags(list: &ListArray, row: usize) -> Vec<String> {
    if list.is_null(row) {
        return Vec::new();
    }
    let values = list.value(row);
    let strings = values.as_string::<i32>();
    strings.iter().flatten().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::ArrayRef;
    use std::sync::Arc;

    #[test]
    fn typed_columns_and_missing_ones() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![3, 4]));
        let batch = RecordBatch::try_from_iter([("id", ids)]).expect("batch");
        let input = Input::new(HashMap::from([(Table::Customers, vec![batch])]), 86_400_000_000 * 3 + 5);
        assert_eq!(input.customer_ids(), [3, 4]);
        assert_eq!(input.as_of_day(), 3);
        assert_eq!(input.rows(Table::Interactions), 0);
        let customers = input.customers().next().expect("one batch");
        let error = customers.gender().expect_err("not asked for");
        assert!(error.message().contains("\"gender\" is missing"), "{error}");
    }
}

table_view!(
    /// A batch of `segments`.
    Segments {
        /// The customer (always present).
        customer_id: int,
        /// The segment the customer holds now.
        segment: text,
    }
);
