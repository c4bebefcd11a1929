//! Whole tables streamed column by column on SQLite, for segmentation runs that read millions
//! of rows: the query a strategy's read needs (its consent condition included), run by the
//! direct read path ([`crate::sqlite_direct`]).

use crate::connect::Store;
use crate::consent::StrategyTable;
use crate::error::{StoreError, StoreResult};
use crate::sqlite_direct::{MAX_COLUMNS, RowSink};

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
        let (first, last) = reads.integer_pair(sql).await?;
        Ok(first.zip(last))
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
        reads.stream(sql, columns.len(), sink).await
    }
}
