//! Whole tables streamed column by column on SQLite, for segmentation runs that read millions
//! of rows: no model per row, no allocation per cell, one read transaction (one snapshot).

use crate::connect::Store;
use crate::consent::StrategyTable;
use crate::error::{StoreError, StoreResult};
use rusqlite::types::ValueRef;

/// Most columns one stream reads (every table has fewer).
const MAX_COLUMNS: usize = 32;

/// One cell of a streamed row, borrowed from the database for the length of the call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// An integer (also booleans, stored as 0 and 1).
    Integer(i64),
    /// A real number.
    Real(f64),
    /// Text (also times and dates, stored as ISO 8601 text).
    Text(&'a str),
}

/// Receives the rows of a streamed table, one call per row.
pub trait RowSink: Send + 'static {
    /// Takes one row, its cells in the order the columns were asked for. An error stops the
    /// stream and is returned by [`Store::stream_table`].
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), String>;
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_')
}

impl Store {
    /// Whether [`Store::stream_table`] can run here: on a SQLite file, not on PostgreSQL or
    /// an in-memory database.
    pub fn can_stream(&self) -> bool {
        self.reads.is_some()
    }

    /// The smallest and largest id of `table`, if it has rows (SQLite files only).
    pub async fn id_bounds(&self, table: &str) -> StoreResult<Option<(i64, i64)>> {
        let Some(reads) = self.reads.clone() else {
            return Err(StoreError::ReadTask("streaming needs a SQLite database file".to_owned()));
        };
        let table = StrategyTable::named(table)?.name();
        let sql = format!("SELECT MIN(id), MAX(id) FROM {table}");
        tokio::task::spawn_blocking(move || {
            reads.with_connection(&sql, |statement| {
                let bounds: (Option<i64>, Option<i64>) =
                    statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                Ok(bounds.0.zip(bounds.1))
            })
        })
        .await
        .map_err(|error| StoreError::ReadTask(error.to_string()))?
    }

    /// Streams `columns` of every row of `table` (customers, interactions, ties or needs) that
    /// a strategy may read in id order into `sink` on the blocking pool, and hands the sink
    /// back: rows of customers who refused profiling (and ties with such a customer at either
    /// end) are left out. With `ids`, only the rows whose id lies in that inclusive range:
    /// separate ranges can stream at once.
    pub async fn stream_table<S: RowSink>(
        &self,
        table: &str,
        columns: &[&str],
        ids: Option<(i64, i64)>,
        sink: S,
    ) -> StoreResult<S> {
        let Some(reads) = self.reads.clone() else {
            return Err(StoreError::ReadTask("streaming needs a SQLite database file".to_owned()));
        };
        let table = StrategyTable::named(table)?;
        if columns.is_empty() || columns.len() > MAX_COLUMNS {
            return Err(StoreError::ReadTask(format!(
                "stream 1 to {MAX_COLUMNS} columns, not {}",
                columns.len()
            )));
        }
        if let Some(bad) = columns.iter().find(|column| !valid_name(column)) {
            return Err(StoreError::ReadTask(format!("{bad:?} is not a column name")));
        }
        let profiled = table.profiled_in_scan();
        let range = ids.map_or(String::new(), |(first, last)| format!(" AND id BETWEEN {first} AND {last}"));
        let sql = format!(
            "SELECT {} FROM {} WHERE {profiled}{range} ORDER BY id",
            columns.join(", "),
            table.name()
        );
        let width = columns.len();
        tokio::task::spawn_blocking(move || {
            let mut sink = sink;
            reads.with_connection(&sql, |statement| {
                let mut rows = statement.query([])?;
                while let Some(row) = rows.next()? {
                    let mut cells = [Cell::Null; MAX_COLUMNS];
                    for (index, cell) in cells.iter_mut().enumerate().take(width) {
                        *cell = match row.get_ref(index)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(number) => Cell::Integer(number),
                            ValueRef::Real(number) => Cell::Real(number),
                            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Cell::Text(
                                std::str::from_utf8(bytes)
                                    .map_err(|error| rusqlite::Error::Utf8Error(index, error))?,
                            ),
                        };
                    }
                    sink.row(&cells[..width]).map_err(StoreError::ReadTask)?;
                }
                Ok(())
            })?;
            Ok(sink)
        })
        .await
        .map_err(|error| StoreError::ReadTask(error.to_string()))?
    }
}
