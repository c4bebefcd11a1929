//! What customers spent: the per-customer purchase totals that settings such as the demo's
//! spending tiers are chosen from.

use crate::connect::Store;
use crate::consent::REFUSED_PROFILING;
use crate::entity::interaction;
use crate::error::StoreResult;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

impl Store {
    /// The total amount of purchases since `since`, one figure per customer who bought in
    /// that time and did not refuse profiling (in no order). Amounts are summed as they are,
    /// whatever their currency, as a strategy's rules sum them.
    pub async fn purchase_totals_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<f64>> {
        let totals: Vec<Option<f64>> = interaction::Entity::find()
            .select_only()
            .expr(Func::sum(Expr::col(interaction::Column::Amount)))
            .filter(interaction::Column::Kind.eq("purchase"))
            .filter(interaction::Column::OccurredAt.gte(since))
            .filter(interaction::Column::Amount.is_not_null())
            .filter(Expr::cust(format!("customer_id NOT IN ({REFUSED_PROFILING})")))
            .group_by(interaction::Column::CustomerId)
            .into_tuple()
            .all(self.connection())
            .await?;
        Ok(totals.into_iter().flatten().collect())
    }

    /// When the latest interaction happened, if there is any.
    pub async fn latest_interaction_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let latest: Option<Option<DateTime<Utc>>> = interaction::Entity::find()
            .select_only()
            .expr(Func::max(Expr::col(interaction::Column::OccurredAt)))
            .into_tuple()
            .one(self.connection())
            .await?;
        Ok(latest.flatten())
    }
}
