//! Rows of one query streamed cell by cell into a sink on the blocking pool: no model per row,
//! no allocation per cell, one read transaction (one snapshot).

use super::reads::SqliteReads;
use crate::error::{StoreError, StoreResult};
use crate::row_sink::{Cell, RowSink};
use rusqlite::types::ValueRef;
use std::sync::Arc;

/// Most columns one stream reads (every table has fewer).
pub(crate) const MAX_COLUMNS: usize = 32;

impl SqliteReads {
    /// The two integers of the one row `sql` returns (either may be NULL), on the blocking pool.
    pub(crate) async fn integer_pair(
        self: &Arc<Self>,
        sql: String,
    ) -> StoreResult<(Option<i64>, Option<i64>)> {
        let reads = self.clone();
        tokio::task::spawn_blocking(move || {
            reads.with_connection(&sql, |statement| {
                Ok(statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?)
            })
        })
        .await
        .map_err(|error| StoreError::ReadTask(error.to_string()))?
    }

    /// Runs `sql`, which selects `width` columns, on the blocking pool and hands each row to
    /// `sink`; returns the sink.
    pub(crate) async fn stream<S: RowSink>(
        self: &Arc<Self>,
        sql: String,
        width: usize,
        sink: S,
    ) -> StoreResult<S> {
        let reads = self.clone();
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
