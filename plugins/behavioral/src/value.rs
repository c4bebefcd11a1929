//! Value tiers: customers by the profit they bring (revenue minus cost to serve) in a window,
//! tiered by their cumulative share of the total profit, and the loss-making apart.

use crate::customers::CustomerList;
use crate::history::{Window, profit};
use crate::ranking::ShareTiers;
use crate::tiers::TierSpec;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Assignments, Input, StrategyResult};

/// The label of customers whose cost to serve exceeds their revenue.
pub const LOSS_MAKING: &str = "Loss-making";

/// The value method.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ValueTiers {
    /// Days before as-of that count.
    pub window_days: i64,
    /// The tiers.
    pub spec: TierSpec,
    fitted: Option<ShareTiers>,
}

impl ValueTiers {
    /// Tiers over the `window_days` before as-of.
    pub fn new(window_days: i64, spec: TierSpec) -> Self {
        Self { window_days, spec, fitted: None }
    }

    /// Learns where each tier ends.
    pub fn fit(&mut self, population: &Input, as_of: i64) -> StrategyResult<()> {
        let customers = CustomerList::of(population)?;
        let profits = profit(population, &customers, Window::new(as_of, Some(self.window_days)))?;
        let keys: Vec<(f64, &str)> =
            profits.iter().zip(&customers.external_ids).map(|(profit, id)| (*profit, id.as_str())).collect();
        self.fitted = Some(ShareTiers::fit(&keys, &self.spec.shares));
        Ok(())
    }

    /// Labels every customer of `batch`; the score is the profit.
    pub fn assign(&self, batch: &Input, as_of: i64, out: &mut Assignments) -> StrategyResult<()> {
        let fitted = self.fitted.as_ref().ok_or_else(crate::not_fitted)?;
        let customers = CustomerList::of(batch)?;
        let profits = profit(batch, &customers, Window::new(as_of, Some(self.window_days)))?;
        for (position, profit) in profits.iter().enumerate() {
            let label = if *profit < 0.0 {
                LOSS_MAKING
            } else {
                &self.spec.labels[fitted.tier(*profit, &customers.external_ids[position])]
            };
            out.push(customers.ids[position], label, Some(*profit).filter(|profit| profit.is_finite()));
        }
        Ok(())
    }

    /// The window and the tiers' bounds.
    pub fn model(&self) -> Value {
        let mut model =
            json!({ "window_days": self.window_days, "profit": "purchases - refunds - cost_to_serve" });
        if let Some(fitted) = &self.fitted {
            model["tiers"] = fitted.to_json(&self.spec.labels);
        }
        model
    }
}
