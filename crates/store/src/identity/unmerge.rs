//! Undoing a merge: the absorbed customer comes back as it was (same id, same row), with the
//! identifiers it held; interactions, ties and needs go back by the external id they arrived
//! under (also those that arrived since the merge, profile writes and identifiers included);
//! what the merge removed is put back; the survivor's fields not written since the merge
//! return to their values before it.

use super::alias_writes;
use super::snapshot::{MergeSnapshot, StaticMembership};
use crate::entity::{alias_write, customer, interaction, merge_log, need, tie};
use crate::error::{StoreError, StoreResult};
use crate::sql::{marks, statement};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use serde_json::Value as Json;

/// A merge undone.
#[derive(Debug, Clone)]
pub struct Unmerged {
    /// The merge log entry, now marked undone.
    pub entry: merge_log::Model,
    /// The survivor's id.
    pub survivor_id: i64,
    /// The customer restored (its id is the one it had).
    pub restored: customer::Model,
    /// Segments of static segmentations the restored customer was in, by segmentation: to be
    /// given back by hand-editing rules (recorded and published by the caller).
    pub static_memberships: Vec<(i64, String)>,
}

/// The survivor's row with each field the merge wrote and nothing wrote since returned to
/// its value before the merge.
fn restored_survivor(
    current: &customer::Model,
    before: &customer::Model,
    after: &customer::Model,
) -> StoreResult<customer::Model> {
    let json = |model: &customer::Model| {
        serde_json::to_value(model).map_err(|e| StoreError::ReadTask(e.to_string()))
    };
    let (mut now, before, after) = (json(current)?, json(before)?, json(after)?);
    if let (Json::Object(now), Json::Object(before), Json::Object(after)) = (&mut now, &before, &after) {
        for (field, value) in now.iter_mut() {
            if matches!(field.as_str(), "id" | "external_id" | "created_at") {
                continue;
            }
            if after.get(field) == Some(value) {
                *value = before.get(field).cloned().unwrap_or(Json::Null);
            }
        }
    }
    serde_json::from_value(now).map_err(|e| StoreError::ReadTask(format!("restored profile: {e}")))
}

/// Moves the rows of `table` whose `column` is the survivor and whose `arrived` column names
/// one of `routing` back to the restored customer.
async fn route_back<C: ConnectionTrait>(
    conn: &C,
    (table, column, arrived): (&str, &str, &str),
    survivor_id: i64,
    restored: &customer::Model,
    routing: &[String],
) -> StoreResult<u64> {
    if routing.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "UPDATE {table} SET {column} = ?, {arrived} = CASE WHEN {arrived} = ? THEN NULL ELSE {arrived} END \
         WHERE {column} = ? AND {arrived} IN ({})",
        marks(routing.len())
    );
    let mut values: Vec<sea_orm::Value> =
        vec![restored.id.into(), restored.external_id.clone().into(), survivor_id.into()];
    values.extend(routing.iter().map(|id| id.clone().into()));
    Ok(conn.execute_raw(statement(conn.get_database_backend(), &sql, values)).await?.rows_affected())
}

/// Who customer `id` is now: itself, or the customer it was merged into (by merges not
/// undone); `None` when it is gone otherwise.
async fn current_id<C: ConnectionTrait>(conn: &C, mut id: i64) -> StoreResult<Option<i64>> {
    // Each hop follows a merge made later than the last: the chain is short and ends.
    for _ in 0..1_000 {
        if customer::Entity::find_by_id(id).one(conn).await?.is_some() {
            return Ok(Some(id));
        }
        let into = merge_log::Entity::find()
            .filter(merge_log::Column::AbsorbedId.eq(id))
            .filter(merge_log::Column::UnmergedAt.is_null())
            .one(conn)
            .await?;
        match into {
            Some(entry) => id = entry.survivor_id,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Undoes merge `merge_id` on `conn` (a write transaction), as `by`.
pub(crate) async fn unmerge_in<C: ConnectionTrait>(
    conn: &C,
    merge_id: i64,
    by: &str,
) -> StoreResult<Unmerged> {
    super::lock_identity(conn).await?;
    let entry = merge_log::Entity::find_by_id(merge_id)
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound { what: "merge", key: merge_id.to_string() })?;
    if let Some(at) = entry.unmerged_at {
        return Err(StoreError::Conflict(format!("merge {merge_id} was already undone at {at}")));
    }
    let Some(snapshot) = entry.snapshot.clone() else {
        return Err(StoreError::Conflict(format!(
            "merge {merge_id} cannot be undone: the merged customer was erased"
        )));
    };
    let snapshot = MergeSnapshot::from_json(snapshot)?;
    let Some(survivor) = customer::Entity::find_by_id(entry.survivor_id).one(conn).await? else {
        let later = merge_log::Entity::find()
            .filter(merge_log::Column::AbsorbedId.eq(entry.survivor_id))
            .filter(merge_log::Column::UnmergedAt.is_null())
            .one(conn)
            .await?;
        return Err(StoreError::Conflict(match later {
            Some(later) => format!(
                "merge {merge_id} cannot be undone while customer {} is merged into customer {}: undo merge {} first",
                entry.survivor_id, later.survivor_id, later.id
            ),
            None => {
                format!("merge {merge_id} cannot be undone: customer {} no longer exists", entry.survivor_id)
            }
        }));
    };
    // What arrived since the merge under the absorbed customer's ids is its own.
    // Those it carried in from its own merges go back as they are; those that arrived since
    // the merge are replayed onto it and taken off the survivor.
    let (carried, since): (Vec<alias_write::Model>, Vec<alias_write::Model>) =
        alias_writes::of_customer(conn, survivor.id)
            .await?
            .into_iter()
            .partition(|write| snapshot.carried_writes.contains(&write.id));
    let (mut back, mut stay): (Vec<alias_write::Model>, Vec<alias_write::Model>) =
        since.into_iter().partition(|write| snapshot.routing.contains(&write.arrived_under));
    // As the survivor saw them: what is taken back off it.
    let taken_back = back.clone();
    let mut restored_columns = alias_writes::columns_of(&snapshot.absorbed)?;
    alias_writes::replay(&mut restored_columns, &mut back);
    // Consent given or refused since the merge is like any field: the person whose id it
    // came under keeps it.
    let restored = alias_writes::model_of(restored_columns)?;
    let taken = customer::Entity::find()
        .filter(
            Condition::any()
                .add(customer::Column::Id.eq(restored.id))
                .add(customer::Column::ExternalId.eq(restored.external_id.as_str())),
        )
        .one(conn)
        .await?;
    if let Some(taken) = taken {
        return Err(StoreError::Conflict(format!(
            "merge {merge_id} cannot be undone: customer {} ({}) exists again",
            taken.id, taken.external_id
        )));
    }
    customer::Entity::insert(restored.clone().into_active_model().reset_all())
        .exec_without_returning(conn)
        .await?;
    let backend = conn.get_database_backend();
    if !snapshot.absorbed_identifiers.is_empty() {
        let sql = format!(
            "UPDATE customer_identifiers SET customer_id = ? WHERE customer_id = ? AND id IN ({})",
            marks(snapshot.absorbed_identifiers.len())
        );
        let mut values: Vec<sea_orm::Value> = vec![restored.id.into(), survivor.id.into()];
        values.extend(snapshot.absorbed_identifiers.iter().map(|id| (*id).into()));
        conn.execute_raw(statement(backend, &sql, values)).await?;
    }
    for target in [
        ("interactions", "customer_id", "arrived_under"),
        ("needs", "customer_id", "arrived_under"),
        ("ties", "from_id", "from_arrived_under"),
        ("ties", "to_id", "to_arrived_under"),
        ("customer_identifiers", "customer_id", "arrived_under"),
    ] {
        route_back(conn, target, survivor.id, &restored, &snapshot.routing).await?;
    }
    for tie in &snapshot.removed_ties {
        // A tie to someone merged into another since goes to them; to someone erased or
        // deleted since, nowhere.
        let (Some(from), Some(to)) =
            (current_id(conn, tie.from_id).await?, current_id(conn, tie.to_id).await?)
        else {
            continue;
        };
        if from == to {
            continue;
        }
        let mut tie = tie.clone();
        (tie.from_id, tie.to_id) = (from, to);
        tie::Entity::insert(tie.into_active_model().reset_all())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(conn)
            .await?;
    }
    crate::mutual_ties::order_mutual_ties(conn, &[survivor.id, restored.id]).await?;
    for chunk in snapshot.moved_history.chunks(crate::sql::MAX_PARAMETERS - 2) {
        let sql = format!(
            "UPDATE membership_events SET customer_id = ? WHERE customer_id = ? AND id IN ({})",
            marks(chunk.len())
        );
        let mut values: Vec<sea_orm::Value> = vec![restored.id.into(), survivor.id.into()];
        values.extend(chunk.iter().map(|id| (*id).into()));
        conn.execute_raw(statement(backend, &sql, values)).await?;
    }
    for row in &snapshot.removed_interactions {
        interaction::Entity::insert(row.clone().into_active_model().reset_all())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(conn)
            .await?;
    }
    for need in &snapshot.removed_needs {
        need::Entity::insert(need.clone().into_active_model().reset_all())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(conn)
            .await?;
    }
    let mut survivor_columns = alias_writes::columns_of(&survivor)?;
    alias_writes::take_back(&mut survivor_columns, &taken_back);
    let survivor_now = restored_survivor(
        &alias_writes::model_of(survivor_columns)?,
        &snapshot.survivor_before,
        &snapshot.survivor_after,
    )?;
    survivor_now.into_active_model().reset_all().update(conn).await?;
    // What the taken writes had replaced is what the writes staying with the survivor replaced.
    for at in alias_writes::hand_over(&taken_back, &mut stay) {
        let mut changed = stay[at].clone().into_active_model();
        changed.fields = Set(stay[at].fields.clone());
        changed.update(conn).await?;
    }
    for write in carried {
        let mut moved = write.into_active_model();
        moved.customer_id = Set(restored.id);
        moved.update(conn).await?;
    }
    // The writes given back now belong to the restored customer: kept while it may still be
    // unmerged itself (they arrived under ids of customers it absorbed), else done with.
    for write in back {
        if write.arrived_under == restored.external_id {
            alias_write::Entity::delete_by_id(write.id).exec(conn).await?;
        } else {
            let mut moved = write.clone().into_active_model();
            moved.customer_id = Set(restored.id);
            moved.fields = Set(write.fields);
            moved.update(conn).await?;
        }
    }
    alias_writes::forget_unneeded(conn, &[survivor.id, restored.id]).await?;
    let mut undone = entry.into_active_model();
    undone.unmerged_at = Set(Some(chrono::Utc::now()));
    undone.unmerged_by = Set(Some(by.to_owned()));
    let entry = undone.update(conn).await?;
    crate::changes::record_changes(conn, &[survivor.external_id.as_str(), restored.external_id.as_str()])
        .await?;
    Ok(Unmerged {
        entry,
        survivor_id: survivor.id,
        restored,
        static_memberships: snapshot
            .static_memberships
            .into_iter()
            .map(|StaticMembership { segmentation_id, segment }| (segmentation_id, segment))
            .collect(),
    })
}
