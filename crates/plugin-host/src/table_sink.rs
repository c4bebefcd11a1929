//! Streamed store rows turned into Arrow record batches of a table's projected schema.

use crate::stored_text::{parse_date, parse_time_micros};
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use kindred_plugin_abi::{ColumnKind, TableId};
use kindred_store::{Cell, RowSink};
use std::sync::Arc;

/// A growing Arrow column of one kind.
enum ColumnBuilder {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Utf8(StringBuilder),
    Boolean(BooleanBuilder),
    Date32(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Tags(ListBuilder<StringBuilder>),
}

impl ColumnBuilder {
    fn new(kind: ColumnKind, rows: usize) -> Self {
        match kind {
            ColumnKind::Int64 => Self::Int64(Int64Builder::with_capacity(rows)),
            ColumnKind::Float64 => Self::Float64(Float64Builder::with_capacity(rows)),
            ColumnKind::Utf8 => Self::Utf8(StringBuilder::with_capacity(rows, rows * 8)),
            ColumnKind::Boolean => Self::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnKind::Date32 => Self::Date32(Date32Builder::with_capacity(rows)),
            ColumnKind::TimestampMicros => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"))
            }
            ColumnKind::Utf8List => Self::Tags(ListBuilder::new(StringBuilder::new())),
        }
    }

    /// Appends `cell`, or says why it does not fit the column.
    fn push(&mut self, cell: Cell<'_>) -> Result<(), String> {
        let wrong = |expected: &str| Err(format!("expected {expected}, found {cell:?}"));
        match (self, cell) {
            (Self::Int64(builder), Cell::Null) => builder.append_null(),
            (Self::Int64(builder), Cell::Integer(number)) => builder.append_value(number),
            (Self::Float64(builder), Cell::Null) => builder.append_null(),
            (Self::Float64(builder), Cell::Real(number)) => builder.append_value(number),
            (Self::Float64(builder), Cell::Integer(number)) => builder.append_value(number as f64),
            (Self::Utf8(builder), Cell::Null) => builder.append_null(),
            (Self::Utf8(builder), Cell::Text(text)) => builder.append_value(text),
            (Self::Boolean(builder), Cell::Null) => builder.append_null(),
            (Self::Boolean(builder), Cell::Integer(number)) => builder.append_value(number != 0),
            (Self::Date32(builder), Cell::Null) => builder.append_null(),
            (Self::Date32(builder), Cell::Date(days)) => builder.append_value(days),
            (Self::Date32(builder), Cell::Text(text)) => match parse_date(text) {
                Some(days) => builder.append_value(days),
                None => return wrong("a YYYY-MM-DD date"),
            },
            (Self::Timestamp(builder), Cell::Null) => builder.append_null(),
            (Self::Timestamp(builder), Cell::Time(micros)) => builder.append_value(micros),
            (Self::Timestamp(builder), Cell::Text(text)) => match parse_time_micros(text) {
                Some(micros) => builder.append_value(micros),
                None => return wrong("an RFC 3339 time"),
            },
            (Self::Tags(builder), Cell::Null) => builder.append(false),
            (Self::Tags(builder), Cell::Text(tags)) => {
                for tag in tags.split(';').filter(|tag| !tag.is_empty()) {
                    builder.values().append_value(tag);
                }
                builder.append(true);
            }
            (Self::Int64(_), _) => return wrong("an integer"),
            (Self::Float64(_), _) => return wrong("a number"),
            (Self::Utf8(_), _) => return wrong("text"),
            (Self::Boolean(_), _) => return wrong("0 or 1"),
            (Self::Date32(_), _) => return wrong("a date"),
            (Self::Timestamp(_), _) => return wrong("a time"),
            (Self::Tags(_), _) => return wrong("tags"),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Int64(builder) => Arc::new(builder.finish()),
            Self::Float64(builder) => Arc::new(builder.finish()),
            Self::Utf8(builder) => Arc::new(builder.finish()),
            Self::Boolean(builder) => Arc::new(builder.finish()),
            Self::Date32(builder) => Arc::new(builder.finish()),
            Self::Timestamp(builder) => Arc::new(builder.finish()),
            Self::Tags(builder) => Arc::new(builder.finish()),
        }
    }
}

/// Builds record batches of `batch_rows` rows from streamed rows.
pub struct TableSink {
    table: TableId,
    schema: SchemaRef,
    names: Vec<&'static str>,
    builders: Vec<ColumnBuilder>,
    batch_rows: usize,
    pending: usize,
    rows: u64,
    batches: Vec<RecordBatch>,
}

impl TableSink {
    /// A sink for the columns of `table` at `columns` (indexes into its catalog), projected to
    /// `schema`.
    pub fn new(table: TableId, columns: &[usize], schema: SchemaRef, batch_rows: usize) -> Self {
        let specs: Vec<_> = columns.iter().map(|index| table.columns()[*index]).collect();
        Self {
            table,
            schema,
            names: specs.iter().map(|(name, _)| *name).collect(),
            builders: specs.iter().map(|(_, kind)| ColumnBuilder::new(*kind, batch_rows)).collect(),
            batch_rows,
            pending: 0,
            rows: 0,
            batches: Vec::new(),
        }
    }

    /// The database column names to read, in order.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.names.clone()
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.pending == 0 {
            return Ok(());
        }
        let columns = self.builders.iter_mut().map(ColumnBuilder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|error| error.to_string())?;
        self.batches.push(batch);
        self.pending = 0;
        Ok(())
    }

    /// The batches built, once every row is in.
    pub fn finish(mut self) -> Result<Vec<RecordBatch>, String> {
        self.flush()?;
        Ok(self.batches)
    }
}

impl RowSink for TableSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), String> {
        self.rows += 1;
        for ((builder, cell), name) in self.builders.iter_mut().zip(cells).zip(&self.names) {
            builder.push(*cell).map_err(|reason| {
                format!("{} row {}, column {name}: {reason}", self.table.name(), self.rows)
            })?;
        }
        self.pending += 1;
        if self.pending == self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }
}
