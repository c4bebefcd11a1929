//! PostgreSQL's `COPY` protocol, for the bulk paths: whole tables streamed out in binary into
//! a [`crate::RowSink`] (`copy_out`, read by [`binary`]), and import rows sent in as text
//! into a staging table (`copy_in`).

mod binary;
mod copy_in;
mod copy_out;

pub(crate) use binary::BinaryWriter;
pub(crate) use copy_in::copy_in;
pub(crate) use copy_out::stream;

use crate::error::StoreError;
use sea_orm::{DbErr, RuntimeErr};
use std::sync::Arc;

/// A failed read of sqlx's, as the store reports database errors.
fn query_error(error: sea_orm::sqlx::Error) -> StoreError {
    StoreError::Database(DbErr::Query(RuntimeErr::SqlxError(Arc::new(error))))
}

/// A failed write of sqlx's, as the store reports database errors.
pub(crate) fn exec_error(error: sea_orm::sqlx::Error) -> StoreError {
    StoreError::Database(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error))))
}
