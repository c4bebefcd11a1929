//! How many rows each table of customer data holds.

use crate::connect::Store;
use crate::error::StoreResult;
use crate::sql::statement;
use sea_orm::ConnectionTrait;

/// Rows in each table of customer data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Customers.
    pub customers: i64,
    /// Interactions.
    pub interactions: i64,
    /// Ties.
    pub ties: i64,
    /// Needs.
    pub needs: i64,
}

impl Store {
    /// The number of customers, interactions, ties and needs, in one statement.
    pub async fn counts(&self) -> StoreResult<RowCounts> {
        let sql = "SELECT (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM interactions), \
                   (SELECT COUNT(*) FROM ties), (SELECT COUNT(*) FROM needs)";
        let row = self.connection().query_one_raw(statement(self.backend(), sql, Vec::new())).await?;
        let Some(row) = row else { return Ok(RowCounts::default()) };
        Ok(RowCounts {
            customers: row.try_get_by_index(0)?,
            interactions: row.try_get_by_index(1)?,
            ties: row.try_get_by_index(2)?,
            needs: row.try_get_by_index(3)?,
        })
    }
}
