//! What each kind of import file contains.

use kindred_domain::{CUSTOMER_COLUMNS, INTERACTION_COLUMNS, NEED_COLUMNS, TIE_COLUMNS};
use std::fmt;
use std::str::FromStr;

/// The columns of a customer file: the profile's, then `origin` (the system the rows come
/// from, kept with the identifiers, not the profile).
const CUSTOMER_FILE_COLUMNS: [&str; CUSTOMER_COLUMNS.len() + 1] = {
    let mut all = [""; CUSTOMER_COLUMNS.len() + 1];
    let mut at = 0;
    while at < CUSTOMER_COLUMNS.len() {
        all[at] = CUSTOMER_COLUMNS[at];
        at += 1;
    }
    all[CUSTOMER_COLUMNS.len()] = "origin";
    all
};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    /// Customer profiles, keyed by `external_id`.
    Customers,
    /// Interactions, keyed by customer and time (or `source_id`).
    Interactions,
    /// Ties between two customers.
    Ties,
    /// Needs of customers.
    Needs,
}

impl ImportKind {
    /// Columns that every row must have.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &["external_id"],
            ImportKind::Interactions => &["customer_external_id", "occurred_at"],
            ImportKind::Ties => &["from_external_id", "to_external_id"],
            ImportKind::Needs => &["customer_external_id", "tag"],
        }
    }

    /// Every column a file of this kind may have.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &CUSTOMER_FILE_COLUMNS,
            ImportKind::Interactions => &INTERACTION_COLUMNS,
            ImportKind::Ties => &TIE_COLUMNS,
            ImportKind::Needs => &NEED_COLUMNS,
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Interactions => "interactions",
            ImportKind::Ties => "ties",
            ImportKind::Needs => "needs",
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customers" => Ok(ImportKind::Customers),
            "interactions" => Ok(ImportKind::Interactions),
            "ties" => Ok(ImportKind::Ties),
            "needs" => Ok(ImportKind::Needs),
            other => {
                Err(format!("unknown import kind {other:?}: expected customers, interactions, ties or needs"))
            }
        }
    }
}
