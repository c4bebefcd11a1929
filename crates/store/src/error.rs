//! Errors of the store.

use kindred_domain::ValidationErrors;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A read on SQLite's direct read path failed.
    #[error("database read error: {0}")]
    Read(#[from] rusqlite::Error),
    /// A read could not be run to its end (its task failed), or a value could not be bound.
    #[error("database read failed: {0}")]
    ReadTask(String),
    /// The database URL is not one Kindred can use.
    #[error("unsupported database URL {url:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl {
        /// The URL as given.
        url: String,
    },
    /// The SQLite file's folder could not be created.
    #[error("cannot create the folder {path:?} for the SQLite database: {source}")]
    CreateFolder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Input that is not valid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The write clashes with a different stored record.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A write whose group was cut short before it could answer (the server is stopping).
    #[error("the write was interrupted before it finished; it may or may not have been stored")]
    Interrupted,
    /// The write names a customer who was erased; re-creating them must be asked for. The
    /// message leaves the external id out, so logs of it hold no personal data.
    #[error("the customer was erased; re-creating them must be asked for (allow erased)")]
    Erased {
        /// The erased external id, as the caller gave it (to name the field at fault).
        external_id: String,
    },
    /// Rows were to be written for customers deleted or merged away meanwhile (PostgreSQL,
    /// where the store, not a foreign key, keeps interactions with their customer).
    #[error("{count} customer(s) the write names no longer exist")]
    CustomersGone {
        /// How many of them.
        count: usize,
    },
    /// A record that does not exist.
    #[error("{what} {key:?} not found")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// The key looked up.
        key: String,
    },
}

/// Results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether the database refused the write because a foreign key names a row that does not
    /// exist (or no longer does).
    pub(crate) fn is_foreign_key(&self) -> bool {
        matches!(self, StoreError::CustomersGone { .. })
            || matches!(
                self,
                StoreError::Database(error)
                    if matches!(error.sql_err(), Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)))
            )
    }

    /// Whether the database refused the write because it clashes with a stored row.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_) | StoreError::CustomersGone { .. })
            || matches!(
                self,
                StoreError::Database(error) if matches!(
                    error.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_) | sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
                )
            )
    }
}
