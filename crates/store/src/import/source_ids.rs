//! An interaction's `source_id` names one interaction of one customer: a row whose source id
//! is already another customer's (stored, or earlier in the same chunk) is a conflict, refused
//! before any customer it names is created.

use super::RowError;
use super::records::Record;
use crate::error::{StoreError, StoreResult};
use crate::sql::{MAX_PARAMETERS, marks, statement};
use sea_orm::{ConnectionTrait, DbBackend, Value};
use std::collections::HashMap;

/// The reason given for a row whose source id belongs to another customer.
pub const SOURCE_ID_CONFLICT: &str = "is already the source id of an interaction of another customer";

/// Splits interaction rows into those kept and those whose source id another customer holds.
pub(crate) async fn screen_source_ids<C: ConnectionTrait>(
    conn: &C,
    records: Vec<(u64, Record)>,
) -> StoreResult<(Vec<(u64, Record)>, Vec<RowError>)> {
    let mut wanted: Vec<&str> = records
        .iter()
        .filter_map(|(_, record)| match record {
            Record::Interaction(interaction) => interaction.source_id.as_ref().map(|id| id.as_str()),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Ok((records, Vec::new()));
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut owners: HashMap<String, String> = HashMap::new();
    let backend = conn.get_database_backend();
    if backend == DbBackend::Postgres {
        // One probe of the source id index per id, whatever the planner believes of a table
        // that grows under the import (a long `IN` list tempts it into scanning
        // `interactions` and `customers` whole, every chunk).
        let sql = "SELECT o.source_id, o.external_id FROM json_array_elements_text(CAST(? AS json)) AS w(id) \
             CROSS JOIN LATERAL (SELECT i.source_id, c.external_id FROM interactions i \
             JOIN customers c ON c.id = i.customer_id WHERE i.source_id = w.id) AS o";
        let ids = serde_json::to_string(&wanted).map_err(|error| StoreError::ReadTask(error.to_string()))?;
        for row in conn.query_all_raw(statement(backend, sql, vec![ids.into()])).await? {
            owners.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        }
    } else {
        for chunk in wanted.chunks(MAX_PARAMETERS) {
            let sql = format!(
                "SELECT i.source_id, c.external_id FROM interactions i JOIN customers c ON c.id = i.customer_id \
                 WHERE i.source_id IN ({})",
                marks(chunk.len())
            );
            let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
            for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
                owners.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
            }
        }
    }
    let mut kept = Vec::with_capacity(records.len());
    let mut refused = Vec::new();
    for (line, record) in records {
        if let Record::Interaction(interaction) = &record
            && let Some(source_id) = &interaction.source_id
        {
            let customer = interaction.customer_external_id.as_str();
            let owner = owners.entry(source_id.as_str().to_owned()).or_insert_with(|| customer.to_owned());
            if owner != customer {
                refused.push(RowError {
                    line,
                    column: Some("source_id".to_owned()),
                    reason: SOURCE_ID_CONFLICT.to_owned(),
                });
                continue;
            }
        }
        kept.push((line, record));
    }
    Ok((kept, refused))
}
