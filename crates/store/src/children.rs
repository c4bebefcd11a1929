//! A customer's interactions, ties and needs, a page each, for many customers in one query.
//!
//! The GraphQL layer asks for the same page of the same field for every customer of a
//! response at once; each call here is one statement, whatever the number of customers.

use crate::connect::Store;
use crate::entity::{interaction, need, tie};
use crate::error::StoreResult;
use crate::sql::marks;
use crate::sqlite_direct::FromSqliteRow;
use chrono::{DateTime, Utc};
use sea_orm::{FromQueryResult, Value};
use std::collections::HashMap;

/// Where a page of interactions starts: after this time and id (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InteractionCursor {
    /// Time of the last interaction seen.
    pub occurred_at: DateTime<Utc>,
    /// Id of the last interaction seen.
    pub id: i64,
}

#[derive(FromQueryResult)]
struct Owned<T: FromQueryResult> {
    owner: i64,
    #[sea_orm(nested)]
    row: T,
}

impl<T: FromQueryResult + FromSqliteRow> FromSqliteRow for Owned<T> {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self { owner: row.get("owner")?, row: T::from_sqlite_row(row)? })
    }
}

// Limits are written into the SQL rather than bound: SQLite re-prepares a statement on every
// run when a bound LIMIT may change its plan, which cost more than the query itself. A page
// size is a number we chose, never text from a client.

impl Store {
    /// Up to `limit` interactions of each customer, newest first, after `cursor`.
    pub async fn interactions_of(
        &self,
        customer_ids: &[i64],
        limit: u64,
        cursor: Option<InteractionCursor>,
    ) -> StoreResult<HashMap<i64, Vec<interaction::Model>>> {
        let mut values: Vec<Value> = customer_ids.iter().map(|id| (*id).into()).collect();
        let mut after = String::new();
        if let Some(cursor) = cursor {
            after = " AND (occurred_at < ? OR (occurred_at = ? AND id < ?))".to_owned();
            values.extend([cursor.occurred_at.into(), cursor.occurred_at.into(), cursor.id.into()]);
        }
        let sql = if customer_ids.len() == 1 {
            // One customer (a profile page): a plain index range scan, no window needed.
            format!(
                "SELECT customer_id AS owner, interactions.* FROM interactions WHERE customer_id = ?{after} \
                 ORDER BY occurred_at DESC, id DESC LIMIT {limit}"
            )
        } else {
            format!(
                "SELECT * FROM (SELECT customer_id AS owner, interactions.*, ROW_NUMBER() OVER \
                 (PARTITION BY customer_id ORDER BY occurred_at DESC, id DESC) AS position \
                 FROM interactions WHERE customer_id IN ({}){after}) paged WHERE position <= {limit} \
                 ORDER BY owner, position",
                marks(customer_ids.len())
            )
        };
        self.owned_rows(sql, values, customer_ids.len(), limit).await
    }

    /// Up to `limit` ties at either end of each customer, oldest first, after tie id `after`.
    pub async fn ties_of(
        &self,
        customer_ids: &[i64],
        limit: u64,
        after: Option<i64>,
    ) -> StoreResult<HashMap<i64, Vec<tie::Model>>> {
        let ids = marks(customer_ids.len());
        let id_values = customer_ids.iter().map(|id| Value::from(*id));
        let mut values: Vec<Value> = id_values.clone().chain(id_values).collect();
        values.push(after.unwrap_or(i64::MIN).into());
        let sql = format!(
            "SELECT * FROM (SELECT ends.owner, ties.*, ROW_NUMBER() OVER \
             (PARTITION BY ends.owner ORDER BY ties.id) AS position FROM \
             (SELECT from_id AS owner, id AS tie_id FROM ties WHERE from_id IN ({ids}) \
              UNION ALL SELECT to_id AS owner, id AS tie_id FROM ties WHERE to_id IN ({ids})) ends \
             JOIN ties ON ties.id = ends.tie_id WHERE ties.id > ?) paged WHERE position <= {limit} \
             ORDER BY owner, position"
        );
        self.owned_rows(sql, values, customer_ids.len(), limit).await
    }

    /// Up to `limit` needs of each customer, in the order they were added, after need id
    /// `after`.
    pub async fn needs_of(
        &self,
        customer_ids: &[i64],
        limit: u64,
        after: Option<i64>,
    ) -> StoreResult<HashMap<i64, Vec<need::Model>>> {
        let mut values: Vec<Value> = customer_ids.iter().map(|id| (*id).into()).collect();
        values.push(after.unwrap_or(i64::MIN).into());
        let sql = format!(
            "SELECT * FROM (SELECT customer_id AS owner, needs.*, ROW_NUMBER() OVER \
             (PARTITION BY customer_id ORDER BY id) AS position \
             FROM needs WHERE customer_id IN ({}) AND id > ?) paged WHERE position <= {limit} \
             ORDER BY owner, position",
            marks(customer_ids.len())
        );
        self.owned_rows(sql, values, customer_ids.len(), limit).await
    }

    /// Runs a page query for `customers` customers of at most `limit` rows each and groups
    /// the rows by their owner.
    async fn owned_rows<T>(
        &self,
        sql: String,
        values: Vec<Value>,
        customers: usize,
        limit: u64,
    ) -> StoreResult<HashMap<i64, Vec<T>>>
    where
        T: FromQueryResult + FromSqliteRow + Send + 'static,
    {
        let max_rows = customers.saturating_mul(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut pages: HashMap<i64, Vec<T>> = HashMap::new();
        for row in self.read_rows::<Owned<T>>(sql, values, max_rows).await? {
            pages.entry(row.owner).or_default().push(row.row);
        }
        Ok(pages)
    }
}
