//! Rows sent into PostgreSQL with `COPY ... FROM STDIN`.

use super::exec_error;
use crate::error::StoreResult;
use sea_orm::sqlx::postgres::PgConnection;

/// Sends `data`, a whole binary `COPY` stream, with `statement` (a `COPY ... FROM STDIN
/// (FORMAT binary)`) on `conn`; returns how many rows were copied. A failed send ends the
/// `COPY` so the connection stays usable.
pub(crate) async fn copy_in(conn: &mut PgConnection, statement: &str, data: &[u8]) -> StoreResult<u64> {
    let mut copy = conn.copy_in_raw(statement).await.map_err(exec_error)?;
    if let Err(error) = copy.send(data).await {
        // The send's error is the one worth reporting; the abort's is a consequence.
        let _ = copy.abort("the import stopped sending rows").await;
        return Err(exec_error(error));
    }
    copy.finish().await.map_err(exec_error)
}
