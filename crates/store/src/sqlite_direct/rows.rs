//! Rows read through [`super::reads`] turned into the entity models, by column name.

use crate::entity::{customer, interaction, membership, need, tie};
use rusqlite::Row;

/// A model built from a SQLite row that holds its table's columns under their own names.
pub(crate) trait FromSqliteRow: Sized {
    /// Reads the model's columns from `row`.
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

impl FromSqliteRow for customer::Model {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            external_id: row.get("external_id")?,
            email: row.get("email")?,
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            birth_date: row.get("birth_date")?,
            gender: row.get("gender")?,
            income: row.get("income")?,
            education: row.get("education")?,
            occupation: row.get("occupation")?,
            country: row.get("country")?,
            region: row.get("region")?,
            city: row.get("city")?,
            lat: row.get("lat")?,
            lon: row.get("lon")?,
            lifestyle: row.get("lifestyle")?,
            consent_marketing: row.get("consent_marketing")?,
            consent_profiling: row.get("consent_profiling")?,
            social_handles: row.get("social_handles")?,
            attributes: row.get("attributes")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            phone: row.get("phone")?,
            address_line1: row.get("address_line1")?,
            address_line2: row.get("address_line2")?,
            postcode: row.get("postcode")?,
        })
    }
}

impl FromSqliteRow for interaction::Model {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            customer_id: row.get("customer_id")?,
            occurred_at: row.get("occurred_at")?,
            channel: row.get("channel")?,
            kind: row.get("kind")?,
            amount: row.get("amount")?,
            currency: row.get("currency")?,
            cost_to_serve: row.get("cost_to_serve")?,
            text: row.get("text")?,
            source_id: row.get("source_id")?,
            created_at: row.get("created_at")?,
            arrived_under: row.get("arrived_under")?,
        })
    }
}

impl FromSqliteRow for tie::Model {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            from_id: row.get("from_id")?,
            to_id: row.get("to_id")?,
            kind: row.get("kind")?,
            weight: row.get("weight")?,
            mutual: row.get("mutual")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            from_arrived_under: row.get("from_arrived_under")?,
            to_arrived_under: row.get("to_arrived_under")?,
        })
    }
}

impl FromSqliteRow for need::Model {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            customer_id: row.get("customer_id")?,
            tag: row.get("tag")?,
            kind: row.get("kind")?,
            source: row.get("source")?,
            weight: row.get("weight")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            arrived_under: row.get("arrived_under")?,
        })
    }
}

impl FromSqliteRow for membership::Model {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            segmentation_id: row.get("segmentation_id")?,
            customer_id: row.get("customer_id")?,
            segment: row.get("segment")?,
            score: row.get("score")?,
            since: row.get("since")?,
        })
    }
}
