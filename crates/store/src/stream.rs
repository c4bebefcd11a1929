//! Whole tables streamed column by column, for segmentation runs that read millions of rows:
//! the query a strategy's read needs (its consent condition included), run by SQLite's direct
//! read path ([`crate::sqlite_direct`]) or through PostgreSQL's binary `COPY`
//! ([`crate::pg_copy`]).

use crate::connect::Store;
use crate::consent::StrategyTable;
use crate::error::{StoreError, StoreResult};
use crate::row_sink::RowSink;
use crate::sqlite_direct::MAX_COLUMNS;
use sea_orm::{DbBackend, FromQueryResult, Statement};

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_')
}

impl Store {
    /// Whether [`Store::stream_table`] can run here: on a SQLite file or PostgreSQL, not on
    /// an in-memory database.
    pub fn can_stream(&self) -> bool {
        self.reads.is_some() || self.backend() == DbBackend::Postgres
    }

    /// The smallest and largest id of `table`, if it has rows (where streams can run).
    pub async fn id_bounds(&self, table: &str) -> StoreResult<Option<(i64, i64)>> {
        let table = StrategyTable::named(table)?.name();
        let sql = format!("SELECT MIN(id) AS first, MAX(id) AS last FROM {table}");
        if let Some(reads) = self.reads.clone() {
            let (first, last) = reads.integer_pair(sql).await?;
            return Ok(first.zip(last));
        }
        if self.backend() != DbBackend::Postgres {
            return Err(no_stream());
        }
        #[derive(FromQueryResult)]
        struct Bounds {
            first: Option<i64>,
            last: Option<i64>,
        }
        let bounds = Bounds::find_by_statement(Statement::from_string(DbBackend::Postgres, sql))
            .one(self.connection())
            .await?;
        Ok(bounds.and_then(|bounds| bounds.first.zip(bounds.last)))
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
        match self.reads.clone() {
            Some(reads) => reads.stream(sql, columns.len(), sink).await,
            None if self.backend() == DbBackend::Postgres => {
                crate::pg_copy::stream(self.connection().get_postgres_connection_pool(), &sql, sink).await
            }
            None => Err(no_stream()),
        }
    }
}

/// Why a stream cannot run on an in-memory SQLite database.
fn no_stream() -> StoreError {
    StoreError::ReadTask("streaming needs a SQLite database file or PostgreSQL".to_owned())
}
