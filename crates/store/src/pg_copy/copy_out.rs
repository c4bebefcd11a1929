//! A query's rows streamed out of PostgreSQL with `COPY (SELECT ...) TO STDOUT` in binary.

use super::binary::{BinaryRows, PgType};
use super::query_error;
use crate::error::{StoreError, StoreResult};
use crate::row_sink::RowSink;
use futures::StreamExt;
use sea_orm::sqlx::postgres::PgPool;
use sea_orm::sqlx::{AssertSqlSafe, Column, Executor, SqlSafeStr, Statement, TypeInfo};

/// Runs `select` through `COPY ... TO STDOUT (FORMAT binary)` on a connection of `pool` and
/// hands each row to `sink`, as it arrives; returns the sink. The statement is prepared first
/// to learn its columns' types, which the binary format does not carry.
pub(crate) async fn stream<S: RowSink>(pool: &PgPool, select: &str, mut sink: S) -> StoreResult<S> {
    let mut conn = pool.acquire().await.map_err(query_error)?;
    let prepared =
        (&mut *conn).prepare(AssertSqlSafe(select.to_owned()).into_sql_str()).await.map_err(query_error)?;
    let types = prepared
        .columns()
        .iter()
        .map(|column| {
            let name = column.type_info().name();
            PgType::named(name).ok_or_else(|| {
                StoreError::ReadTask(format!(
                    "column {} is of type {name}, which cannot be streamed",
                    column.name()
                ))
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut rows = BinaryRows::new(types);
    let outcome = {
        let mut chunks = conn
            .copy_out_raw(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
            .await
            .map_err(query_error)?;
        let mut outcome = Ok(());
        while let Some(chunk) = chunks.next().await {
            let fed = match chunk {
                Ok(bytes) => rows.feed(&bytes, &mut sink).map_err(StoreError::ReadTask),
                Err(error) => Err(query_error(error)),
            };
            if let Err(error) = fed {
                outcome = Err(error);
                break;
            }
        }
        outcome
    };
    if outcome.is_err() {
        // A stream left half read leaves the connection mid-protocol: it is not reused.
        conn.close_on_drop();
    }
    outcome?;
    rows.finish().map_err(StoreError::ReadTask)?;
    Ok(sink)
}
