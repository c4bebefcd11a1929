//! Consent as SQL: which rows segmentation strategies may read (not those of customers who
//! refused profiling) and which members marketing may reach (not those who refused
//! marketing). A consent left unset (NULL) is no refusal; only FALSE is.

use crate::connect::Store;
use crate::entity::customer;
use crate::error::{StoreError, StoreResult};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// The ids of the customers who refused profiling, as a subquery. Uncorrelated, so a scan of
/// a whole table evaluates it once.
pub(crate) const REFUSED_PROFILING: &str = "SELECT id FROM customers WHERE consent_profiling = FALSE";

/// A table segmentation strategies read. Only these can be read for a strategy, and each has
/// its consent condition: a read without one cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyTable {
    /// `customers`.
    Customers,
    /// `interactions`.
    Interactions,
    /// `ties`.
    Ties,
    /// `needs`.
    Needs,
}

impl StrategyTable {
    /// Every table strategies read.
    pub const ALL: [StrategyTable; 4] =
        [StrategyTable::Customers, StrategyTable::Interactions, StrategyTable::Ties, StrategyTable::Needs];

    /// The table's name in SQL.
    pub fn name(self) -> &'static str {
        match self {
            StrategyTable::Customers => "customers",
            StrategyTable::Interactions => "interactions",
            StrategyTable::Ties => "ties",
            StrategyTable::Needs => "needs",
        }
    }

    /// The table named `name`; an error for any other table, which has no consent condition
    /// and so is never read for a strategy.
    pub fn named(name: &str) -> StoreResult<Self> {
        Self::ALL.into_iter().find(|table| table.name() == name).ok_or_else(|| {
            StoreError::ReadTask(format!(
                "table {name:?} is not one strategies read: it has no consent condition"
            ))
        })
    }

    /// The condition a row meets when a strategy may read it in a scan of the whole table: its
    /// customer, or both ends of a tie, did not refuse profiling.
    pub(crate) fn profiled_in_scan(self) -> String {
        match self {
            StrategyTable::Customers => "consent_profiling IS NOT FALSE".to_owned(),
            StrategyTable::Interactions | StrategyTable::Needs => {
                format!("customer_id NOT IN ({REFUSED_PROFILING})")
            }
            StrategyTable::Ties => {
                format!("from_id NOT IN ({REFUSED_PROFILING}) AND to_id NOT IN ({REFUSED_PROFILING})")
            }
        }
    }

    /// The condition a row meets when a strategy may read it, for reads of a few customers'
    /// rows: a lookup by primary key per row instead of a scan of every customer.
    pub(crate) fn profiled_per_row(self) -> String {
        let refused = |ids: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM customers c WHERE c.id IN ({ids}) AND c.consent_profiling = FALSE)"
            )
        };
        match self {
            StrategyTable::Customers => "consent_profiling IS NOT FALSE".to_owned(),
            StrategyTable::Interactions => refused("interactions.customer_id"),
            StrategyTable::Needs => refused("needs.customer_id"),
            StrategyTable::Ties => refused("ties.from_id, ties.to_id"),
        }
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
    fn only_strategy_tables_are_read_and_ties_check_both_ends() {
        for table in StrategyTable::ALL {
            assert_eq!(StrategyTable::named(table.name()).ok(), Some(table));
        }
        assert!(StrategyTable::named("memberships").is_err());
        assert!(StrategyTable::named("api_keys").is_err());
        let ties = StrategyTable::Ties.profiled_in_scan();
        assert_eq!(ties.matches(REFUSED_PROFILING).count(), 2, "both ends of a tie are checked");
    }
}
