//! `customer_identifiers`: how a domain [`Identifier`] is stored (a kind column that leaves
//! the origin of external ids out, so an external id is one value whatever system named it),
//! who holds which identifiers, and attaching new ones.

use crate::error::{StoreError, StoreResult};
use crate::sql::{MAX_PARAMETERS, marks, statement};
use kindred_domain::identity::{Identifier, IdentifierKind};
use kindred_domain::{Customer, CustomerId};
use sea_orm::{ConnectionTrait, DbBackend, Value};
use std::collections::HashMap;

/// The origin of records whose file or call named none.
pub const DEFAULT_ORIGIN: &str = "default";

/// The `kind` column: `external_id`, `email`, `phone` or `social:<network>`.
pub(crate) fn kind_column(identifier: &Identifier) -> String {
    match &identifier.kind {
        IdentifierKind::ExternalId { .. } => "external_id".to_owned(),
        kind => kind.stored(),
    }
}

/// The `origin` column of `identifier` brought by a record of `record_origin`.
pub(crate) fn origin_column(identifier: &Identifier, record_origin: &str) -> String {
    match &identifier.kind {
        IdentifierKind::ExternalId { origin } => origin.clone(),
        _ => record_origin.to_owned(),
    }
}

/// Reads a stored identifier back (`None` for a kind this version does not know).
pub(crate) fn from_columns(kind: &str, value: &str, origin: &str) -> Option<Identifier> {
    let kind = if kind == "external_id" {
        IdentifierKind::ExternalId { origin: origin.to_owned() }
    } else {
        IdentifierKind::from_stored(kind)?
    };
    Some(Identifier { kind, value: value.to_owned() })
}

/// The origin a customer record names, or the default.
pub(crate) fn record_origin(customer: &Customer) -> &str {
    customer.origin.as_ref().map_or(DEFAULT_ORIGIN, |origin| origin.as_str())
}

/// Every identifier a customer record carries: its external id in its origin, its email,
/// phone and social handles.
pub(crate) fn identifiers_of(customer: &Customer) -> Vec<Identifier> {
    let mut identifiers =
        vec![Identifier::external_id(record_origin(customer), customer.external_id.as_str())];
    identifiers.extend(customer.email.as_ref().map(Identifier::email));
    identifiers.extend(customer.phone.as_ref().map(Identifier::phone));
    identifiers
        .extend(customer.social_handles.iter().map(|(network, handle)| Identifier::social(network, handle)));
    identifiers
}

/// Identifiers looked up per statement.
const IDENTIFIERS_PER_LOOKUP: usize = 50_000;

/// The customer holding each of `identifiers` that someone holds (external ids whatever
/// their origin), keyed by the identifier as asked.
pub(crate) async fn owners_of<C: ConnectionTrait>(
    conn: &C,
    identifiers: &[Identifier],
) -> StoreResult<HashMap<Identifier, CustomerId>> {
    let backend = conn.get_database_backend();
    let mut asked: HashMap<(String, String), &Identifier> =
        identifiers.iter().map(|id| ((kind_column(id), id.value.clone()), id)).collect();
    let keys: Vec<(&str, &str)> = asked.keys().map(|(kind, value)| (kind.as_str(), value.as_str())).collect();
    let mut owners = HashMap::with_capacity(keys.len());
    // One probe of the (kind, value) index per pair asked, the pairs sent as one JSON array:
    // a row-value `IN (VALUES ...)` list makes SQLite scan every identifier, and a long list
    // can tempt PostgreSQL into a scan too.
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT ci.kind, ci.value, ci.customer_id FROM json_array_elements(CAST(? AS json)) AS j(pair) \
             CROSS JOIN LATERAL (SELECT kind, value, customer_id FROM customer_identifiers \
             WHERE kind = j.pair ->> 0 AND value = j.pair ->> 1) AS ci"
        }
        _ => {
            "SELECT ci.kind, ci.value, ci.customer_id FROM json_each(?) AS j \
             JOIN customer_identifiers ci ON ci.kind = j.value ->> 0 AND ci.value = j.value ->> 1"
        }
    };
    let mut found = Vec::new();
    for chunk in keys.chunks(IDENTIFIERS_PER_LOOKUP) {
        let pairs = serde_json::to_string(chunk).map_err(|error| StoreError::ReadTask(error.to_string()))?;
        for row in conn.query_all_raw(statement(backend, sql, vec![pairs.into()])).await? {
            let kind: String = row.try_get_by_index(0)?;
            let value: String = row.try_get_by_index(1)?;
            let customer: i64 = row.try_get_by_index(2)?;
            found.push((kind, value, customer));
        }
    }
    for (kind, value, customer) in found {
        if let Some(identifier) = asked.remove(&(kind, value)) {
            owners.insert(identifier.clone(), CustomerId(customer));
        }
    }
    Ok(owners)
}

/// One stored identifier with its row.
#[derive(Debug, Clone)]
pub(crate) struct HeldIdentifier {
    /// The row's id.
    pub row_id: i64,
    /// The identifier, external ids with their origin.
    pub identifier: Identifier,
}

/// Every identifier each of `customers` holds.
pub(crate) async fn held_by<C: ConnectionTrait>(
    conn: &C,
    customers: &[i64],
) -> StoreResult<HashMap<i64, Vec<HeldIdentifier>>> {
    let backend = conn.get_database_backend();
    let mut held: HashMap<i64, Vec<HeldIdentifier>> = HashMap::new();
    for chunk in customers.chunks(MAX_PARAMETERS) {
        let sql = format!(
            "SELECT id, customer_id, kind, value, origin FROM customer_identifiers \
             WHERE customer_id IN ({}) ORDER BY id",
            marks(chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            let row_id: i64 = row.try_get_by_index(0)?;
            let customer: i64 = row.try_get_by_index(1)?;
            let kind: String = row.try_get_by_index(2)?;
            let value: String = row.try_get_by_index(3)?;
            let origin: String = row.try_get_by_index(4)?;
            if let Some(identifier) = from_columns(&kind, &value, &origin) {
                held.entry(customer).or_default().push(HeldIdentifier { row_id, identifier });
            }
        }
    }
    Ok(held)
}

/// An identifier to record for a customer.
#[derive(Debug, Clone)]
pub(crate) struct Sighting {
    /// The customer's id.
    pub customer: i64,
    /// What it is known by.
    pub identifier: Identifier,
    /// The system it came from.
    pub origin: String,
    /// The external id of the record that brought it, when that record was written to this
    /// customer under another id.
    pub arrived_under: Option<String>,
}

/// Records that each customer is known by its identifier (with the origin it came from); one
/// already held by anyone only has its last sighting moved to now, and its origin named if it
/// was the default (a customer first seen bare, then in a file that names its system).
pub(crate) async fn attach<C: ConnectionTrait>(conn: &C, rows: &[Sighting]) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<&Sighting> = rows
        .iter()
        .filter(|row| seen.insert((kind_column(&row.identifier), row.identifier.value.clone())))
        .collect();
    for chunk in rows.chunks(MAX_PARAMETERS / 5) {
        let tuples = vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO customer_identifiers (customer_id, kind, value, origin, arrived_under) VALUES {tuples} \
             ON CONFLICT (kind, value) DO UPDATE SET last_seen = CURRENT_TIMESTAMP, \
             origin = CASE WHEN customer_identifiers.origin = '{DEFAULT_ORIGIN}' THEN excluded.origin \
             ELSE customer_identifiers.origin END"
        );
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|row| {
                [
                    row.customer.into(),
                    kind_column(&row.identifier).into(),
                    row.identifier.value.clone().into(),
                    row.origin.clone().into(),
                    row.arrived_under.clone().into(),
                ]
            })
            .collect();
        conn.execute_raw(statement(backend, &sql, values)).await?;
    }
    Ok(())
}

/// Gives each customer created bare (an interaction, tie or need named an unknown external
/// id) its external id as an identifier of the default origin.
pub(crate) async fn attach_bare<C: ConnectionTrait>(conn: &C, created: &[(String, i64)]) -> StoreResult<()> {
    let rows: Vec<Sighting> = created
        .iter()
        .map(|(external_id, id)| Sighting {
            customer: *id,
            identifier: Identifier::external_id(DEFAULT_ORIGIN, external_id),
            origin: DEFAULT_ORIGIN.to_owned(),
            arrived_under: None,
        })
        .collect();
    attach(conn, &rows).await
}
