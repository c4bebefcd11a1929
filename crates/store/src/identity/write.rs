//! Writing customer records through resolution: each record goes to the customer its
//! identifiers name, new identifiers are attached, and records that bring customers together
//! merge them.

use super::alias_writes::{survivors_among, write_to_survivors};
use super::merge::{AppliedMerge, MergeReason, merge_in};
use super::records::resolve_batch;
use super::shared_identifiers;
use crate::error::StoreResult;
use crate::identifiers::{Sighting, attach};
use crate::sql::{MAX_PARAMETERS, marks, statement};
use crate::write::{WriteCounts, upsert_customers};
use kindred_domain::Customer;
use kindred_domain::identity::{Decision, IdentityPolicy};
use sea_orm::{ConnectionTrait, Value};
use std::collections::{HashMap, HashSet};

/// What writing a batch of customer records did.
#[derive(Debug, Default)]
pub struct CustomersWritten {
    /// Rows inserted, updated, unchanged.
    pub counts: WriteCounts,
    /// The own external ids of the customers written, each once.
    pub external_ids: Vec<String>,
    /// Merges the records caused.
    pub merges: Vec<AppliedMerge>,
    /// Identifiers blocked or dropped.
    pub decisions: usize,
}

/// The id of each of these own external ids.
async fn ids_of<C: ConnectionTrait>(conn: &C, external_ids: &[String]) -> StoreResult<HashMap<String, i64>> {
    let backend = conn.get_database_backend();
    let mut ids = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(MAX_PARAMETERS) {
        let sql =
            format!("SELECT external_id, id FROM customers WHERE external_id IN ({})", marks(chunk.len()));
        let values: Vec<Value> = chunk.iter().map(|id| id.clone().into()).collect();
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            ids.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        }
    }
    Ok(ids)
}

/// Logs why an identifier was not matched on, by kind only: values are personal data that an
/// erasure could not take back out of the logs.
fn log_decision(decision: &Decision) {
    match decision {
        Decision::Blocked { identifier, pattern } => {
            tracing::debug!(kind = %identifier.kind, pattern, "identity: blocked value not matched on")
        }
        Decision::Dropped { identifier, over, count, limit } => tracing::debug!(
            kind = %identifier.kind,
            over,
            count,
            limit,
            "identity: identifier set aside, a match would break a limit"
        ),
    }
}

/// Resolves and writes `customers` on `conn` (a write transaction); merges are made as `by`.
pub(crate) async fn write_customer_records<C: ConnectionTrait>(
    conn: &C,
    policy: &IdentityPolicy,
    customers: Vec<Customer>,
    by: &str,
) -> StoreResult<CustomersWritten> {
    super::lock_identity(conn).await?;
    let batch = resolve_batch(conn, &policy.rules, customers).await?;
    batch.decisions.iter().for_each(|(_, decision)| log_decision(decision));
    let set_aside = batch.decisions.iter().filter(|(_, d)| matches!(d, Decision::Dropped { .. })).count();
    if set_aside > 0 {
        tracing::info!(
            set_aside,
            blocked = batch.decisions.len() - set_aside,
            records = batch.customers.len(),
            by,
            "identity: identifiers set aside because a match would break a limit (kinds at debug level)"
        );
    }
    let mut external_ids: Vec<String> =
        batch.customers.iter().map(|c| c.external_id.as_str().to_owned()).collect();
    external_ids.sort_unstable();
    external_ids.dedup();
    // Records for survivors of merges are written so that what each brings under an alias is
    // known field by field (for an unmerge); the rest as before.
    let under_alias: Vec<String> = batch
        .customers
        .iter()
        .zip(&batch.arrived_under)
        .filter(|(_, arrived)| arrived.is_some())
        .map(|(customer, _)| customer.external_id.as_str().to_owned())
        .collect();
    let survivors =
        if under_alias.is_empty() { HashSet::new() } else { survivors_among(conn, &under_alias).await? };
    let (watched, rest): (Vec<_>, Vec<_>) = batch
        .customers
        .into_iter()
        .zip(batch.arrived_under)
        .partition(|(customer, _)| survivors.contains(customer.external_id.as_str()));
    let mut counts = upsert_customers(conn, rest.into_iter().map(|(customer, _)| customer).collect()).await?;
    counts += write_to_survivors(conn, watched).await?;
    let mut named: Vec<String> = external_ids.clone();
    named.extend(batch.merges.iter().flat_map(|m| [m.survivor.clone(), m.absorbed.clone()]));
    named.sort_unstable();
    named.dedup();
    let ids = ids_of(conn, &named).await?;
    let rows: Vec<Sighting> = batch
        .attach
        .into_iter()
        .filter_map(|(owner, identifier, origin, arrived_under)| {
            Some(Sighting { customer: *ids.get(&owner)?, identifier, origin, arrived_under })
        })
        .collect();
    attach(conn, &rows).await?;
    let mut merges = Vec::with_capacity(batch.merges.len());
    // Where each customer merged so far went.
    let mut went: HashMap<i64, i64> = HashMap::new();
    let current = |went: &HashMap<i64, i64>, mut id: i64| {
        while let Some(next) = went.get(&id) {
            id = *next;
        }
        id
    };
    for pending in batch.merges {
        let (Some(&a), Some(&b)) = (ids.get(&pending.survivor), ids.get(&pending.absorbed)) else { continue };
        let (a, b) = (current(&went, a), current(&went, b));
        if a == b {
            continue;
        }
        // The customer known longest survives.
        let (survivor, absorbed) = (a.min(b), a.max(b));
        let evidence = shared_identifiers(&pending.evidence);
        merges.push(merge_in(conn, policy, survivor, absorbed, MergeReason::Identifier, evidence, by).await?);
        went.insert(absorbed, survivor);
    }
    let external_ids = external_ids
        .into_iter()
        .filter(|id| !merges.iter().any(|m| m.entry.absorbed_external_id == *id))
        .collect();
    Ok(CustomersWritten { counts, external_ids, merges, decisions: batch.decisions.len() })
}
