//! `Identifier` and `MergeEntry`: what a customer is known by, and the merges they took part in.

use async_graphql::{ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use kindred_store::entity::{customer_identifier, merge_log};

/// An identifier a customer is known by.
#[derive(SimpleObject)]
pub(crate) struct Identifier {
    /// `external_id`, `email`, `phone` or `social:<network>`.
    kind: String,
    /// Normalised: emails and handles lowercased, phones in E.164.
    value: String,
    /// The system it came from (`default` when none was named).
    origin: String,
    /// When a record first carried it.
    first_seen: DateTime<Utc>,
    /// When a record last carried it.
    last_seen: DateTime<Utc>,
}

impl From<customer_identifier::Model> for Identifier {
    fn from(row: customer_identifier::Model) -> Self {
        Self {
            kind: row.kind,
            value: row.value,
            origin: row.origin,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
        }
    }
}

/// One entry of the merge log: a customer merged into another.
pub(crate) struct MergeEntry(pub merge_log::Model);

#[Object]
impl MergeEntry {
    /// The entry's id, which `unmergeCustomer` takes.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The customer that stayed.
    async fn survivor_id(&self) -> ID {
        ID(self.0.survivor_id.to_string())
    }
    /// The customer merged into it (restored under this id by an unmerge).
    async fn absorbed_id(&self) -> ID {
        ID(self.0.absorbed_id.to_string())
    }
    /// The absorbed customer's external id, now an alias of the survivor (`(erased)` once
    /// the survivor was erased).
    async fn absorbed_external_id(&self) -> &str {
        &self.0.absorbed_external_id
    }
    /// `IDENTIFIER` (a record carried identifiers of both) or `MANUAL` (a person merged them).
    async fn reason(&self) -> String {
        self.0.reason.to_uppercase()
    }
    /// Why: for `IDENTIFIER`, `{"shared": [{"kind", "value"}...]}`, the identifiers the
    /// record shared with both customers.
    async fn evidence(&self) -> Json<serde_json::Value> {
        Json(self.0.evidence.clone())
    }
    /// Who decided: the API key's name, `import`, or `api` on a server without keys.
    async fn decided_by(&self) -> &str {
        &self.0.decided_by
    }
    /// When.
    async fn merged_at(&self) -> DateTime<Utc> {
        self.0.merged_at
    }
    /// When it was undone, if it was.
    async fn unmerged_at(&self) -> Option<DateTime<Utc>> {
        self.0.unmerged_at
    }
    /// Who undid it.
    async fn unmerged_by(&self) -> Option<&str> {
        self.0.unmerged_by.as_deref()
    }
    /// Whether `unmergeCustomer` can undo it: not undone yet, and the survivor not erased.
    async fn can_undo(&self) -> bool {
        self.0.unmerged_at.is_none() && self.0.snapshot.is_some()
    }
}
