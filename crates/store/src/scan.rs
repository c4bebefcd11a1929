//! Whole tables in id order, a page at a time, and every child row of a set of customers:
//! what segmentation strategies read. Every read here leaves out the customers who refused
//! profiling, with their interactions, needs and every tie that touches them
//! (`consent.rs`), so no strategy ever receives them.

use crate::connect::Store;
use crate::consent::StrategyTable;
use crate::entity::{customer, interaction, need, tie};
use crate::error::StoreResult;
use crate::sql::marks;
use crate::sqlite_direct::FromSqliteRow;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Value};

/// The scan condition of `table`, as an expression.
fn profiled(table: StrategyTable) -> Expr {
    Expr::cust(table.profiled_in_scan())
}

/// The per-row condition of `table`, as SQL text.
fn profiled_rows(table: StrategyTable) -> String {
    table.profiled_per_row()
}

/// Most customer ids bound in one read (SQLite allows 32,766 parameters).
const MAX_IDS: usize = 30_000;

impl Store {
    /// Up to `limit` customers who did not refuse profiling with an id above `after`, by id.
    pub async fn scan_customers(&self, after: i64, limit: u64) -> StoreResult<Vec<customer::Model>> {
        Ok(customer::Entity::find()
            .filter(customer::Column::Id.gt(after))
            .filter(profiled(StrategyTable::Customers))
            .order_by_asc(customer::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Up to `limit` interactions with an id above `after`, by id.
    pub async fn scan_interactions(&self, after: i64, limit: u64) -> StoreResult<Vec<interaction::Model>> {
        Ok(interaction::Entity::find()
            .filter(interaction::Column::Id.gt(after))
            .filter(profiled(StrategyTable::Interactions))
            .order_by_asc(interaction::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Up to `limit` ties with an id above `after`, by id.
    pub async fn scan_ties(&self, after: i64, limit: u64) -> StoreResult<Vec<tie::Model>> {
        Ok(tie::Entity::find()
            .filter(tie::Column::Id.gt(after))
            .filter(profiled(StrategyTable::Ties))
            .order_by_asc(tie::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Up to `limit` needs with an id above `after`, by id.
    pub async fn scan_needs(&self, after: i64, limit: u64) -> StoreResult<Vec<need::Model>> {
        Ok(need::Entity::find()
            .filter(need::Column::Id.gt(after))
            .filter(profiled(StrategyTable::Needs))
            .order_by_asc(need::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// The id of every customer who did not refuse profiling, in order.
    pub async fn profiled_customer_ids(&self) -> StoreResult<Vec<i64>> {
        Ok(customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(profiled(StrategyTable::Customers))
            .order_by_asc(customer::Column::Id)
            .into_tuple::<i64>()
            .all(self.connection())
            .await?)
    }

    /// Those of these customers who did not refuse profiling, by id (unknown ids are left
    /// out).
    pub async fn profiled_customers_among(&self, customer_ids: &[i64]) -> StoreResult<Vec<customer::Model>> {
        let sql = format!(
            "SELECT * FROM customers WHERE id IN ({{ids}}) AND {}",
            profiled_rows(StrategyTable::Customers)
        );
        let mut customers: Vec<customer::Model> = self.rows_among(&sql, customer_ids, 1).await?;
        customers.sort_unstable_by_key(|customer| customer.id);
        Ok(customers)
    }

    /// Every interaction of these customers, by customer and time.
    pub async fn all_interactions_of(&self, customer_ids: &[i64]) -> StoreResult<Vec<interaction::Model>> {
        let sql = format!(
            "SELECT * FROM interactions WHERE customer_id IN ({{ids}}) AND {} ORDER BY customer_id, occurred_at",
            profiled_rows(StrategyTable::Interactions)
        );
        self.rows_among(&sql, customer_ids, 1).await
    }

    /// Every tie with either end among these customers, by id.
    pub async fn all_ties_of(&self, customer_ids: &[i64]) -> StoreResult<Vec<tie::Model>> {
        let sql = format!(
            "SELECT * FROM ties WHERE (from_id IN ({{ids}}) OR to_id IN ({{ids}})) AND {}",
            profiled_rows(StrategyTable::Ties)
        );
        let mut ties: Vec<tie::Model> = self.rows_among(&sql, customer_ids, 2).await?;
        // A tie between customers of different chunks is read twice.
        ties.sort_unstable_by_key(|tie| tie.id);
        ties.dedup_by_key(|tie| tie.id);
        Ok(ties)
    }

    /// Every need of these customers, by id.
    pub async fn all_needs_of(&self, customer_ids: &[i64]) -> StoreResult<Vec<need::Model>> {
        let sql = format!(
            "SELECT * FROM needs WHERE customer_id IN ({{ids}}) AND {}",
            profiled_rows(StrategyTable::Needs)
        );
        let mut needs: Vec<need::Model> = self.rows_among(&sql, customer_ids, 1).await?;
        needs.sort_unstable_by_key(|need| need.id);
        Ok(needs)
    }

    /// The rows `sql` selects for these customers, whose ids it takes `lists` times, each
    /// where it says `{ids}`. Ids are read in ascending chunks, so rows ordered by customer
    /// first stay in order across chunks. On a SQLite file this is one hand-off to a
    /// blocking thread per chunk rather than one per batch of rows.
    async fn rows_among<T>(&self, sql: &str, customer_ids: &[i64], lists: usize) -> StoreResult<Vec<T>>
    where
        T: FromQueryResult + FromSqliteRow + Send + 'static,
    {
        let mut ids = customer_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut rows = Vec::new();
        if self.backend() == sea_orm::DbBackend::Postgres {
            // The ids as one text parameter: one statement text whatever their number, so it
            // is prepared and planned once, not for every size of batch.
            let sql = sql.replace("IN ({ids})", "= ANY(CAST(string_to_array(?, ',') AS bigint[]))");
            let list: String = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let values: Vec<Value> = (0..lists).map(|_| Value::from(list.clone())).collect();
            if !ids.is_empty() {
                rows.extend(self.read_rows::<T>(sql, values, usize::MAX).await?);
            }
            return Ok(rows);
        }
        for chunk in ids.chunks(MAX_IDS / lists) {
            let sql = sql.replace("{ids}", &marks(chunk.len()));
            let values: Vec<Value> =
                (0..lists).flat_map(|_| chunk.iter().map(|id| Value::from(*id))).collect();
            rows.extend(self.read_rows::<T>(sql, values, usize::MAX).await?);
        }
        Ok(rows)
    }
}
