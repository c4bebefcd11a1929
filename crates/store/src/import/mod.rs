//! Bulk import of customers, interactions, ties and needs from CSV or NDJSON.
//!
//! A reader thread parses and validates rows and hands batches to the writer over a bounded
//! channel, so memory stays constant whatever the file's size. Each batch is written in one
//! transaction with multi-row upserts. A bad row is reported (line, column, reason) and
//! skipped; the valid rows around it are imported. Importing the same file twice changes
//! nothing the second time.

mod columns;
mod csv_records;
mod id_cache;
mod reader;
mod records;
mod source_ids;
mod staging;
mod writer;

pub use columns::ImportKind;
pub use reader::Format;
pub use source_ids::SOURCE_ID_CONFLICT;
pub use writer::{ERASED_REASON, ImportOptions, ImportSummary, import, import_with};

use std::fmt;

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The line of the file the row is on (1 is the first line, the header in CSV).
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Why a whole import could not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read the input: {0}")]
    Io(#[from] std::io::Error),
    /// The header names columns that this kind of file does not have.
    #[error("unknown column(s) {unknown:?} in the header; {kind} files accept: {accepted}")]
    UnknownColumns {
        /// The columns not known.
        unknown: Vec<String>,
        /// What is being imported.
        kind: ImportKind,
        /// The columns accepted.
        accepted: String,
    },
    /// The header lacks a key column.
    #[error("the header has no {missing:?} column, which {kind} files need")]
    MissingColumn {
        /// The missing column.
        missing: &'static str,
        /// What is being imported.
        kind: ImportKind,
    },
    /// The header names a column twice.
    #[error("the header names the column {column:?} twice")]
    DuplicateColumn {
        /// The column.
        column: &'static str,
    },
    /// The first line is not a CSV header.
    #[error("the first line is not a CSV header (column names separated by commas, in UTF-8)")]
    BadHeader,
    /// Writing to the database failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    /// The file type could not be told from its name.
    #[error("cannot tell the format of {path:?}: use a .csv, .ndjson or .jsonl file")]
    UnknownFormat {
        /// The path given.
        path: String,
    },
}
