//! Consent as SQL: which rows segmentation strategies may read (not those of customers who
//! refused profiling) and which members marketing may reach (not those who refused
//! marketing). A consent left unset (NULL) is no refusal; only FALSE is.

use crate::connect::Store;
use crate::entity::customer;
use crate::error::StoreResult;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// The ids of the customers who refused profiling, as a subquery. Uncorrelated, so a scan of
/// a whole table evaluates it once.
pub(crate) const REFUSED_PROFILING: &str = "SELECT id FROM customers WHERE consent_profiling = FALSE";

/// The condition a row of `table` (customers, interactions, ties or needs) meets when a
/// strategy may read it in a scan of the whole table: its customer, or both ends of a tie,
/// did not refuse profiling. `None` for any other table.
pub(crate) fn profiled_in_scan(table: &str) -> Option<String> {
    match table {
        "customers" => Some("consent_profiling IS NOT FALSE".to_owned()),
        "interactions" | "needs" => Some(format!("customer_id NOT IN ({REFUSED_PROFILING})")),
        "ties" => {
            Some(format!("from_id NOT IN ({REFUSED_PROFILING}) AND to_id NOT IN ({REFUSED_PROFILING})"))
        }
        _ => None,
    }
}

/// The condition a row of `table` meets when a strategy may read it, for reads of a few
/// customers' rows: a lookup by primary key per row instead of a scan of every customer.
pub(crate) fn profiled_per_row(table: &str) -> Option<String> {
    let refused = |ids: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM customers c WHERE c.id IN ({ids}) AND c.consent_profiling = FALSE)"
        )
    };
    match table {
        "customers" => Some("consent_profiling IS NOT FALSE".to_owned()),
        "interactions" => Some(refused("interactions.customer_id")),
        "needs" => Some(refused("needs.customer_id")),
        "ties" => Some(refused("ties.from_id, ties.to_id")),
        _ => None,
    }
}

/// The condition a membership row meets when marketing may reach its customer: they did not
/// refuse marketing (a lookup by primary key per row).
pub(crate) const MARKETABLE_MEMBERSHIP: &str = "NOT EXISTS (SELECT 1 FROM customers c \
     WHERE c.id = memberships.customer_id AND c.consent_marketing = FALSE)";

impl Store {
    /// How many customers refused profiling: those no strategy receives and no computed
    /// segment holds.
    pub async fn count_refused_profiling(&self) -> StoreResult<u64> {
        Ok(customer::Entity::find()
            .filter(customer::Column::ConsentProfiling.eq(false))
            .count(self.connection())
            .await?)
    }

    /// How many customers a strategy receives: those who did not refuse profiling.
    pub async fn count_profiled(&self) -> StoreResult<u64> {
        Ok(customer::Entity::find()
            .filter(sea_orm::sea_query::Expr::cust("consent_profiling IS NOT FALSE"))
            .count(self.connection())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_strategy_table_has_a_condition() {
        for table in ["customers", "interactions", "ties", "needs"] {
            assert!(profiled_in_scan(table).is_some(), "{table}");
            assert!(profiled_per_row(table).is_some(), "{table}");
        }
        assert!(profiled_in_scan("memberships").is_none());
        let ties = profiled_in_scan("ties").unwrap_or_default();
        assert_eq!(ties.matches(REFUSED_PROFILING).count(), 2, "both ends of a tie are checked");
    }
}
