//! Rows of a strategy's table handed over cell by cell, whichever database streams them.

/// One cell of a streamed row, borrowed from the database's buffer for the length of the call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// An integer (also booleans: 0 and 1).
    Integer(i64),
    /// A real number.
    Real(f64),
    /// Text (on SQLite also times and dates, stored as ISO 8601 text).
    Text(&'a str),
    /// A time (PostgreSQL): microseconds since 1970-01-01 00:00 UTC.
    Time(i64),
    /// A date (PostgreSQL): days since 1970-01-01.
    Date(i32),
}

/// Receives the rows of a streamed table, one call per row.
pub trait RowSink: Send + 'static {
    /// Takes one row, its cells in the order the columns were asked for. An error stops the
    /// stream and is returned by [`crate::Store::stream_table`].
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), String>;
}
