//! Deterministic resolution of a batch of customer records before they are written: each
//! record is matched on its identifiers against the customers stored and the records before
//! it, and written to the customer it belongs to (under that customer's own external id);
//! records that bring several customers together produce merges to apply after the write.

use crate::error::StoreResult;
use crate::identifiers::{held_by, identifiers_of, origin_column, owners_of, record_origin};
use crate::sql::{MAX_PARAMETERS, marks, statement};
use kindred_domain::identity::{Decision, Identifier, IdentityRules, Outcome, resolve};
use kindred_domain::{Customer, CustomerId, ExternalId};
use sea_orm::{ConnectionTrait, Value};
use std::collections::HashMap;

/// Two customers found to be one person by a record: applied, by external id, once the
/// batch is written.
#[derive(Debug, Clone)]
pub(crate) struct PendingMerge {
    /// The own external id of the customer that stays.
    pub survivor: String,
    /// The own external id of the customer merged into it.
    pub absorbed: String,
    /// The identifiers the record shared with both.
    pub evidence: Vec<Identifier>,
}

/// What resolving a batch decided.
#[derive(Debug, Default)]
pub(crate) struct ResolvedBatch {
    /// The records, each under the own external id of the customer it belongs to.
    pub customers: Vec<Customer>,
    /// The external id each record arrived under, where it was written under another
    /// (parallel to `customers`).
    pub arrived_under: Vec<Option<String>>,
    /// Identifiers to attach: the own external id of their customer, the identifier, its
    /// origin, the external id of the record that brought it when that record was written
    /// under another.
    pub attach: Vec<(String, Identifier, String, Option<String>)>,
    /// Merges to apply, in order.
    pub merges: Vec<PendingMerge>,
    /// Identifiers blocked or dropped, by the external id of the record that carried them.
    pub decisions: Vec<(String, Decision)>,
}

/// The own external id of each of `customers`.
async fn own_external_ids<C: ConnectionTrait>(
    conn: &C,
    customers: &[i64],
) -> StoreResult<HashMap<i64, String>> {
    let backend = conn.get_database_backend();
    let mut own = HashMap::with_capacity(customers.len());
    for chunk in customers.chunks(MAX_PARAMETERS) {
        let sql = format!("SELECT id, external_id FROM customers WHERE id IN ({})", marks(chunk.len()));
        let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            own.insert(row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        }
    }
    Ok(own)
}

/// Resolves `customers` (in order) against the store and each other.
pub(crate) async fn resolve_batch<C: ConnectionTrait>(
    conn: &C,
    rules: &IdentityRules,
    customers: Vec<Customer>,
) -> StoreResult<ResolvedBatch> {
    let carried: Vec<Vec<Identifier>> = customers.iter().map(identifiers_of).collect();
    let mut all: Vec<Identifier> = carried.iter().flatten().cloned().collect();
    all.sort();
    all.dedup();
    let mut owners = owners_of(conn, &all).await?;
    // Whom each identifier named before this batch, and who this batch merged away: a later
    // record under a merged-away customer's own id is written to that customer's row before
    // the merge folds it in, so that an unmerge gives it back with the rest.
    let stored_owners = owners.clone();
    let mut merged_away: std::collections::HashSet<CustomerId> = std::collections::HashSet::new();
    let mut matched: Vec<i64> = owners.values().map(|id| id.0).collect();
    matched.sort_unstable();
    matched.dedup();
    let mut held: HashMap<CustomerId, Vec<Identifier>> = held_by(conn, &matched)
        .await?
        .into_iter()
        .map(|(customer, rows)| (CustomerId(customer), rows.into_iter().map(|row| row.identifier).collect()))
        .collect();
    let mut own: HashMap<CustomerId, String> =
        own_external_ids(conn, &matched).await?.into_iter().map(|(id, ext)| (CustomerId(id), ext)).collect();
    // Records that are new customers get ids above every stored one, in order, so that the
    // customer known longest (the lowest id) survives a merge.
    let mut next_new = i64::MAX - customers.len() as i64;
    let mut batch = ResolvedBatch { customers: Vec::with_capacity(customers.len()), ..Default::default() };
    for (mut customer, identifiers) in customers.into_iter().zip(carried) {
        let resolution = resolve(&identifiers, rules, &owners, &held);
        let record_external_id = customer.external_id.as_str().to_owned();
        batch.decisions.extend(resolution.decisions.into_iter().map(|d| (record_external_id.clone(), d)));
        // Who the record is in this batch's picture (`target`), and whose row it is written
        // to (`written_to`): a record that merges customers is written to the one its own
        // external id names, before the merge, so that an unmerge gives its data back there.
        let own_owner = identifiers.first().and_then(|own| owners.get(own).copied());
        let (target, written_to) = match resolution.outcome {
            Outcome::New => {
                let id = CustomerId(next_new);
                next_new += 1;
                own.insert(id, record_external_id.clone());
                (id, id)
            }
            Outcome::Existing(id) => {
                let stored_own = identifiers.first().and_then(|own| stored_owners.get(own).copied());
                match stored_own {
                    Some(own) if merged_away.contains(&own) => (id, own),
                    _ => (id, id),
                }
            }
            Outcome::Merge { survivor, absorbed, evidence } => {
                let written_to = match own_owner {
                    Some(owner) if owner == survivor || absorbed.contains(&owner) => owner,
                    _ => survivor,
                };
                for gone in absorbed {
                    merged_away.insert(gone);
                    let (Some(survivor_ext), Some(absorbed_ext)) = (own.get(&survivor), own.get(&gone))
                    else {
                        continue;
                    };
                    batch.merges.push(PendingMerge {
                        survivor: survivor_ext.clone(),
                        absorbed: absorbed_ext.clone(),
                        evidence: evidence.clone(),
                    });
                    // What the absorbed held is the survivor's from now on.
                    let moved = held.remove(&gone).unwrap_or_default();
                    for identifier in &moved {
                        owners.insert(identifier.clone(), survivor);
                    }
                    owners.values_mut().filter(|owner| **owner == gone).for_each(|owner| *owner = survivor);
                    held.entry(survivor).or_default().extend(moved);
                }
                (survivor, written_to)
            }
        };
        let target_external_id = own.get(&written_to).cloned().unwrap_or_else(|| record_external_id.clone());
        let origin = record_origin(&customer).to_owned();
        let arrived_under = (target_external_id != record_external_id).then(|| record_external_id.clone());
        for identifier in resolution.kept {
            owners.insert(identifier.clone(), target);
            let list = held.entry(target).or_default();
            if !list.contains(&identifier) {
                list.push(identifier.clone());
            }
            let origin = origin_column(&identifier, &origin);
            batch.attach.push((target_external_id.clone(), identifier, origin, arrived_under.clone()));
        }
        if target_external_id != record_external_id {
            customer.external_id = ExternalId::parse("external_id", &target_external_id)
                .map_err(|error| crate::StoreError::Invalid(kindred_domain::ValidationErrors(vec![error])))?;
        }
        batch.customers.push(customer);
        batch.arrived_under.push(arrived_under);
    }
    Ok(batch)
}
