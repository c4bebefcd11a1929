//! The behavioral strategy: customers by their purchases in a window before the as-of date.
//! (Issue 5 grows it into RFM, value tiers, window rules and lifetime value.)

use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};
use std::collections::HashMap;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Customers who bought in the window ("active buyers"), bought only before it ("lapsed
/// buyers") or never ("no purchases"); the score is what they spent in the window.
#[derive(Debug, Clone)]
pub struct Behavioral {
    window_days: i64,
}

/// Spending of one customer.
#[derive(Debug, Default, Clone, Copy)]
struct Spend {
    in_window: f64,
    purchases_in_window: u32,
    purchases_before: u32,
}

impl SegmentationStrategy for Behavioral {
    const NAME: &'static str = "behavioral";

    fn describe() -> Description {
        Description::new("Behavioral segments: active, lapsed and non-buyers by purchases in a window before the as-of date.")
            .params_schema(json!({
                "type": "object",
                "properties": {
                    "window_days": { "type": "integer", "minimum": 1, "description": "Days before the as-of date that count as recent (default 365)." }
                },
                "additionalProperties": false
            }))
            .reads(Table::Interactions, &["occurred_at", "kind", "amount"])
            .segments(["active buyers", "lapsed buyers", "no purchases"])
    }

    fn create(params: &Value) -> StrategyResult<Self> {
        let window_days = match params.get("window_days") {
            None => 365,
            Some(value) => value.as_i64().filter(|days| *days >= 1).ok_or_else(|| {
                StrategyError::param("/window_days", "must be a whole number of days, at least 1")
            })?,
        };
        Ok(Self { window_days })
    }

    fn fit(&mut self, _population: &Input) -> StrategyResult<()> {
        Ok(())
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        let as_of = batch.as_of_micros();
        let since = as_of - self.window_days * MICROS_PER_DAY;
        let mut spend: HashMap<i64, Spend> = HashMap::new();
        for interactions in batch.interactions() {
            let (ids, times, kinds, amounts) = (
                interactions.customer_id()?,
                interactions.occurred_at()?,
                interactions.kind()?,
                interactions.amount()?,
            );
            for row in 0..interactions.len() {
                let at = times.value(row);
                if at > as_of || kinds.value(row) != "purchase" {
                    continue;
                }
                let entry = spend.entry(ids.value(row)).or_default();
                if at >= since {
                    entry.purchases_in_window += 1;
                    entry.in_window += if amounts.is_null(row) { 0.0 } else { amounts.value(row) };
                } else {
                    entry.purchases_before += 1;
                }
            }
        }
        for id in batch.customer_ids() {
            let spend = spend.get(&id).copied().unwrap_or_default();
            let segment = if spend.purchases_in_window > 0 {
                "active buyers"
            } else if spend.purchases_before > 0 {
                "lapsed buyers"
            } else {
                "no purchases"
            };
            out.push(id, segment, Some(spend.in_window));
        }
        Ok(())
    }

    fn model(&self) -> Value {
        json!({ "window_days": self.window_days })
    }
}

export_strategy!(Behavioral);
