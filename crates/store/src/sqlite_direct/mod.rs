//! The direct read path on a SQLite file: plain synchronous rusqlite connections of its own
//! (`reads`), rows turned into entity models by column name (`rows`), and whole queries
//! streamed cell by cell into a sink (`stream`). Only this module touches rusqlite for reads;
//! the store's methods decide what to read (and its consent condition) and call it.

mod reads;
mod rows;
mod stream;

pub(crate) use reads::SqliteReads;
pub(crate) use rows::FromSqliteRow;
pub(crate) use stream::MAX_COLUMNS;
