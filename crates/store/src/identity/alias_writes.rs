//! Profile writes that reach the survivor of a merge under another customer's external id
//! (an alias): each is kept with the fields it set, so that an unmerge gives them to the
//! customer they came for and takes them back off the survivor.

use crate::entity::{alias_write, customer};
use crate::error::{StoreError, StoreResult};
use crate::sql::{MAX_PARAMETERS, marks, statement};
use crate::write::{WriteCounts, known_profile_columns, upsert_customers};
use kindred_domain::Customer;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value as Json};
use std::collections::HashSet;

/// Of these own external ids, those of customers that absorbed another by a merge not undone.
pub(crate) async fn survivors_among<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[String],
) -> StoreResult<HashSet<String>> {
    let backend = conn.get_database_backend();
    let mut survivors = HashSet::new();
    for chunk in external_ids.chunks(MAX_PARAMETERS) {
        let sql = format!(
            "SELECT DISTINCT c.external_id FROM customers c JOIN merge_log m ON m.survivor_id = c.id \
             WHERE m.unmerged_at IS NULL AND c.external_id IN ({})",
            marks(chunk.len())
        );
        let values: Vec<sea_orm::Value> = chunk.iter().map(|id| id.clone().into()).collect();
        for row in conn.query_all_raw(statement(backend, &sql, values)).await? {
            survivors.insert(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(survivors)
}

/// A customer row as a JSON object of its columns.
pub(crate) fn columns_of(model: &customer::Model) -> StoreResult<Map<String, Json>> {
    match serde_json::to_value(model) {
        Ok(Json::Object(columns)) => Ok(columns),
        Ok(_) => Err(StoreError::ReadTask("a customer row is not an object".to_owned())),
        Err(error) => Err(StoreError::ReadTask(format!("customer row: {error}"))),
    }
}

/// A customer row from a JSON object of its columns.
pub(crate) fn model_of(columns: Map<String, Json>) -> StoreResult<customer::Model> {
    serde_json::from_value(Json::Object(columns))
        .map_err(|error| StoreError::ReadTask(format!("customer row: {error}")))
}

async fn by_external_id<C: ConnectionTrait>(
    conn: &C,
    external_id: &str,
) -> StoreResult<Option<customer::Model>> {
    Ok(customer::Entity::find().filter(customer::Column::ExternalId.eq(external_id)).one(conn).await?)
}

/// Writes one record to a survivor, and keeps what it set when it `arrived_under` an
/// external id other than the survivor's own.
pub(crate) async fn write_to_survivor<C: ConnectionTrait>(
    conn: &C,
    record: Customer,
    arrived_under: Option<String>,
) -> StoreResult<WriteCounts> {
    let external_id = record.external_id.as_str().to_owned();
    let set = known_profile_columns(&record);
    let before = by_external_id(conn, &external_id).await?;
    let counts = upsert_customers(conn, vec![record]).await?;
    let (Some(arrived_under), Some(before)) = (arrived_under, before) else {
        return Ok(counts);
    };
    let Some(after) = by_external_id(conn, &external_id).await? else { return Ok(counts) };
    let (before_columns, after_columns) = (columns_of(&before)?, columns_of(&after)?);
    let fields: Map<String, Json> = set
        .into_iter()
        .map(|column| {
            let value = |columns: &Map<String, Json>| columns.get(column).cloned().unwrap_or(Json::Null);
            let change = serde_json::json!({ "from": value(&before_columns), "to": value(&after_columns) });
            (column.to_owned(), change)
        })
        .collect();
    alias_write::ActiveModel {
        customer_id: Set(after.id),
        arrived_under: Set(arrived_under),
        fields: Set(Json::Object(fields)),
        written_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(counts)
}

/// The writes kept for customer `id`, oldest first.
pub(crate) async fn of_customer<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> StoreResult<Vec<alias_write::Model>> {
    use sea_orm::QueryOrder;
    Ok(alias_write::Entity::find()
        .filter(alias_write::Column::CustomerId.eq(id))
        .order_by_asc(alias_write::Column::Id)
        .all(conn)
        .await?)
}

/// The fields a kept write set: each column with its value before and after.
fn changes(write: &alias_write::Model) -> impl Iterator<Item = (&String, &Json, &Json)> {
    write
        .fields
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(column, change)| Some((column, change.get("from")?, change.get("to")?)))
}

/// Columns a kept write never sets.
fn untouchable(column: &str) -> bool {
    matches!(column, "id" | "external_id" | "created_at" | "updated_at")
}

/// Applies `writes` (oldest first) to `columns`, and rewrites each write's `from` as the value
/// it replaced there: they are now writes to that customer.
pub(crate) fn replay(columns: &mut Map<String, Json>, writes: &mut [alias_write::Model]) {
    for write in writes {
        let mut rewritten = Map::new();
        for (column, _, to) in changes(write) {
            if untouchable(column) {
                continue;
            }
            let from = columns.insert(column.clone(), to.clone()).unwrap_or(Json::Null);
            rewritten.insert(column.clone(), serde_json::json!({ "from": from, "to": to }));
        }
        write.fields = Json::Object(rewritten);
    }
}

/// Takes `writes` (oldest first) back off `columns`: each field still holding what a write
/// set returns to what it replaced.
pub(crate) fn take_back(columns: &mut Map<String, Json>, writes: &[alias_write::Model]) {
    for write in writes.iter().rev() {
        for (column, from, to) in changes(write) {
            if !untouchable(column) && columns.get(column.as_str()) == Some(to) {
                columns.insert(column.clone(), from.clone());
            }
        }
    }
}

/// Deletes the kept writes of customers that absorbed no one by a merge not undone.
pub(crate) async fn forget_unneeded<C: ConnectionTrait>(conn: &C, customers: &[i64]) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "DELETE FROM alias_writes WHERE customer_id IN ({}) AND NOT EXISTS \
         (SELECT 1 FROM merge_log m WHERE m.survivor_id = alias_writes.customer_id AND m.unmerged_at IS NULL)",
        marks(customers.len())
    );
    let values: Vec<sea_orm::Value> = customers.iter().map(|id| (*id).into()).collect();
    conn.execute_raw(statement(backend, &sql, values)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fields: Json) -> alias_write::Model {
        alias_write::Model {
            id: 1,
            customer_id: 1,
            arrived_under: "B".into(),
            fields,
            written_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn replayed_writes_land_and_are_taken_back_where_nothing_wrote_since() {
        let mut writes = vec![
            write(
                serde_json::json!({ "email": { "from": "a@x", "to": "b@x" }, "city": { "from": "Rome", "to": "Oslo" } }),
            ),
            write(
                serde_json::json!({ "email": { "from": "b@x", "to": "b2@x" }, "id": { "from": 1, "to": 9 } }),
            ),
        ];
        // On the survivor, the city was written again since by its own id: it stays.
        let mut survivor: Map<String, Json> =
            serde_json::from_value(serde_json::json!({ "id": 1, "email": "b2@x", "city": "Bergen" }))
                .unwrap();
        take_back(&mut survivor, &writes);
        assert_eq!(survivor["email"], "a@x");
        assert_eq!(survivor["city"], "Bergen");
        assert_eq!(survivor["id"], 1);
        // On the customer they came for, they land in order, and now replace its own values.
        let mut absorbed: Map<String, Json> =
            serde_json::from_value(serde_json::json!({ "id": 2, "email": "old@x", "city": null })).unwrap();
        replay(&mut absorbed, &mut writes);
        assert_eq!(absorbed["email"], "b2@x");
        assert_eq!(absorbed["city"], "Oslo");
        assert_eq!(absorbed["id"], 2, "ids are never written");
        assert_eq!(writes[0].fields["email"]["from"], "old@x");
        assert_eq!(writes[1].fields["email"]["from"], "b@x");
    }
}
