//! Profile writes that reach the survivor of a merge under another customer's external id
//! (an alias): each is kept with the fields it set, so that an unmerge gives them to the
//! customer they came for and takes them back off the survivor.

use crate::entity::{alias_write, customer};
use crate::error::{StoreError, StoreResult};
use crate::sql::{MAX_PARAMETERS, marks, statement};
use crate::write::{WriteCounts, known_profile_columns, upsert_customers};
use kindred_domain::Customer;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

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

/// The rows of these own external ids.
async fn rows_of<C: ConnectionTrait>(
    conn: &C,
    external_ids: &[String],
) -> StoreResult<HashMap<String, customer::Model>> {
    let mut rows = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(MAX_PARAMETERS) {
        let found = customer::Entity::find()
            .filter(customer::Column::ExternalId.is_in(chunk.iter().cloned()))
            .all(conn)
            .await?;
        rows.extend(found.into_iter().map(|row| (row.external_id.clone(), row)));
    }
    Ok(rows)
}

/// What `record` set, as each column's value `before` and `after` the write.
fn fields_set(
    record: &[&'static str],
    before: &customer::Model,
    after: &customer::Model,
) -> StoreResult<Json> {
    let (before, after) = (columns_of(before)?, columns_of(after)?);
    let value =
        |columns: &Map<String, Json>, column: &str| columns.get(column).cloned().unwrap_or(Json::Null);
    Ok(Json::Object(
        record
            .iter()
            .map(|column| {
                let change =
                    serde_json::json!({ "from": value(&before, column), "to": value(&after, column) });
                ((*column).to_owned(), change)
            })
            .collect(),
    ))
}

/// Writes records (in order) to survivors of merges, and keeps what each set when it
/// `arrived_under` an external id other than the survivor's own. Written in rounds that take
/// at most one record per customer, each round one bulk upsert: what each record changed is
/// then its customer's row before and after the round.
pub(crate) async fn write_to_survivors<C: ConnectionTrait>(
    conn: &C,
    records: Vec<(Customer, Option<String>)>,
) -> StoreResult<WriteCounts> {
    let mut counts = WriteCounts::default();
    let mut pending = records;
    while !pending.is_empty() {
        let mut taken = HashSet::new();
        let (round, later): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(record, _)| taken.insert(record.external_id.as_str().to_owned()));
        pending = later;
        let kept: Vec<(String, String, Vec<&'static str>)> = round
            .iter()
            .filter_map(|(record, arrived)| {
                let arrived = arrived.clone()?;
                Some((record.external_id.as_str().to_owned(), arrived, known_profile_columns(record)))
            })
            .collect();
        let names: Vec<String> = kept.iter().map(|(external_id, _, _)| external_id.clone()).collect();
        let before = rows_of(conn, &names).await?;
        counts += upsert_customers(conn, round.into_iter().map(|(record, _)| record).collect()).await?;
        if kept.is_empty() {
            continue;
        }
        let after = rows_of(conn, &names).await?;
        let mut writes = Vec::with_capacity(kept.len());
        for (external_id, arrived_under, set) in kept {
            let (Some(before), Some(after)) = (before.get(&external_id), after.get(&external_id)) else {
                continue;
            };
            writes.push(alias_write::ActiveModel {
                customer_id: Set(after.id),
                arrived_under: Set(arrived_under),
                fields: Set(fields_set(&set, before, after)?),
                written_at: Set(chrono::Utc::now()),
                ..Default::default()
            });
        }
        for chunk in writes.chunks(MAX_PARAMETERS / 5) {
            alias_write::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await?;
        }
    }
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

/// Hands over what `taken` (writes taken off a customer, oldest first) replaced to the writes
/// that `stay` with it: a later write of a column that replaced a taken write's value now
/// replaced what that write had replaced. Returns the positions in `stay` changed.
pub(crate) fn hand_over(taken: &[alias_write::Model], stay: &mut [alias_write::Model]) -> Vec<usize> {
    let mut changed = Vec::new();
    for write in taken {
        for (column, from, to) in changes(write) {
            let next = stay.iter().position(|later| {
                later.id > write.id
                    && later.fields.get(column).and_then(|change| change.get("from")) == Some(to)
            });
            if let Some(at) = next {
                if let Some(change) = stay[at].fields.get_mut(column).and_then(Json::as_object_mut) {
                    change.insert("from".to_owned(), from.clone());
                }
                if !changed.contains(&at) {
                    changed.push(at);
                }
            }
        }
    }
    changed
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

    #[test]
    fn a_write_that_stays_replaced_what_a_taken_one_had_replaced() {
        let mut taken = write(serde_json::json!({ "email": { "from": "x", "to": "y" } }));
        taken.id = 1;
        let mut later = write(
            serde_json::json!({ "email": { "from": "y", "to": "z" }, "city": { "from": "y", "to": "q" } }),
        );
        later.id = 2;
        let mut stay = vec![later];
        assert_eq!(hand_over(&[taken], &mut stay), [0]);
        assert_eq!(stay[0].fields["email"]["from"], "x", "y was the taken write's");
        assert_eq!(stay[0].fields["city"]["from"], "y", "another column is left alone");
    }
}
