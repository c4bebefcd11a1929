//! Favourite channel: each customer in the segment of the channel they used most in the
//! last `window_days` days (store, web, email, social, support...), or "no interactions".

use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyResult, Table, export_strategy,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The parameters. Kindred derives their JSON Schema from this type (doc comments become
/// descriptions; the defaults and bounds are in it), checks a client's parameters against it,
/// and reads them into it before `create`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// How many days before the as-of date count.
    #[schemars(range(min = 1))]
    pub window_days: u32,
}

impl Default for Params {
    fn default() -> Self {
        Self { window_days: 90 }
    }
}

/// The strategy's state: its parameters (it learns nothing in fit). `Serialize` and
/// `Deserialize`, with `state` in `export_strategy!` below, let Kindred save a fitted instance
/// and load it after a restart instead of refitting.
#[derive(Serialize, Deserialize)]
pub struct FavouriteChannel {
    window_days: i64,
}

impl SegmentationStrategy for FavouriteChannel {
    const NAME: &'static str = "favourite-channel";
    type Params = Params;

    fn describe() -> Description {
        Description::new("Customers by the channel they used most in a recent window.")
            // The key column (customer_id) always comes; ask only for what you read.
            .reads(Table::Interactions, &["occurred_at", "channel"])
    }

    fn create(params: Params) -> StrategyResult<Self> {
        Ok(Self { window_days: i64::from(params.window_days.max(1)) })
    }

    fn fit(&mut self, _population: &Input) -> StrategyResult<()> {
        Ok(())
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        let since = batch.as_of_micros() - self.window_days * MICROS_PER_DAY;
        let mut counts: HashMap<i64, HashMap<String, u32>> = HashMap::new();
        for interactions in batch.interactions() {
            let (customers, times, channels) =
                (interactions.customer_id()?, interactions.occurred_at()?, interactions.channel()?);
            for row in 0..interactions.len() {
                let at = times.value(row);
                if at < since || at > batch.as_of_micros() || channels.is_null(row) {
                    continue;
                }
                let channel = channels.value(row).to_owned();
                *counts.entry(customers.value(row)).or_default().entry(channel).or_default() += 1;
            }
        }
        for customer in batch.customer_ids() {
            // Most used channel; ties go to the name first in alphabetical order.
            let favourite = counts.get(&customer).and_then(|channels| {
                channels.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(c, n)| (c.clone(), *n))
            });
            match favourite {
                Some((channel, uses)) => out.push(customer, &channel, Some(f64::from(uses))),
                None => out.push(customer, "no interactions", None),
            }
        }
        Ok(())
    }

    fn model(&self) -> Value {
        json!({ "window_days": self.window_days })
    }
}

export_strategy!(FavouriteChannel, state);

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_plugin_sdk::arrow_array::{
        ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, cast::AsArray,
    };
    use kindred_plugin_sdk::testing;
    use std::sync::Arc;

    #[test]
    fn the_most_used_recent_channel_wins() {
        let day = MICROS_PER_DAY;
        let customers: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let owners: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 1, 2]));
        let times: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![99 * day, 98 * day, 97 * day, 1 * day]).with_timezone("UTC"),
        );
        let channels: ArrayRef = Arc::new(StringArray::from(vec!["web", "web", "store", "email"]));
        let tables = HashMap::from([
            (Table::Customers, vec![RecordBatch::try_from_iter([("id", customers)]).unwrap()]),
            (
                Table::Interactions,
                vec![
                    RecordBatch::try_from_iter([
                        ("customer_id", owners),
                        ("occurred_at", times),
                        ("channel", channels),
                    ])
                    .unwrap(),
                ],
            ),
        ]);
        let input = Input::new(tables, 100 * day);
        let params = json!({ "window_days": 30 });
        let (output, model) = testing::run::<FavouriteChannel>(&params, &input).unwrap();
        let segments: Vec<&str> = output.column(1).as_string::<i32>().iter().flatten().collect();
        assert_eq!(segments, ["web", "no interactions"]);
        // Loaded from its saved state, as after a restart, it assigns alike.
        assert_eq!(testing::run_reloaded::<FavouriteChannel>(&params, &input).unwrap(), (output, model));
    }
}
