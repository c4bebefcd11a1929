//! The demographic strategy: customers segmented by who they are and where they live.
//!
//! - **Bands** (`{"method": "bands", "dimensions": [...]}`): each customer in the combination
//!   of its bands on every dimension (age, gender, income, education, occupation, country,
//!   region, city, lifestyle), labelled like "25-34 · female · income Q4". Numeric dimensions
//!   take explicit `edges` or `quantiles` learned in fit. A missing value is its own "unknown"
//!   band, so every customer is in exactly one segment.
//! - **Rules** (`{"method": "rules", "rules": [{"label", "when"}], "multi": false}`): the SDK's
//!   rule language over the same fields plus `location`, `birth_date`, `created_at` and the
//!   consents; the first matching rule wins (or every one with `multi`), else "other".
//!
//! Ages are computed at the as-of date (`as_of` in the params, else the host's now), so the
//! segments drift as time passes; the model says which date was used.

mod bands;
mod fields;

use bands::Dimension;
use kindred_plugin_sdk::rules::{Condition, LabelledRule, assign_by_rules, rule_label};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};
use std::collections::HashMap;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What the strategy does.
#[derive(Debug, Clone)]
enum Method {
    Bands(Vec<Dimension>),
    Rules { rules: Vec<LabelledRule>, multi: bool },
}

/// The demographic strategy.
#[derive(Debug, Clone)]
pub struct Demographic {
    method: Method,
    /// A fixed as-of moment from the params, in microseconds.
    as_of: Option<i64>,
    /// The as-of day the last fit used.
    fitted_day: Option<i32>,
}

impl Demographic {
    fn today(&self, input: &Input) -> i32 {
        let micros = self.as_of.unwrap_or_else(|| input.as_of_micros());
        i32::try_from(micros.div_euclid(MICROS_PER_DAY)).unwrap_or(i32::MAX)
    }
}

/// `YYYY-MM-DD` or RFC 3339 as microseconds.
fn parse_as_of(value: &Value) -> StrategyResult<i64> {
    value
        .as_str()
        .and_then(kindred_plugin_sdk::rules::parse_time)
        .ok_or_else(|| StrategyError::param("/as_of", "must be a date (YYYY-MM-DD) or an RFC 3339 time"))
}

fn params_schema() -> Value {
    let dimension = json!({
        "oneOf": [
            { "enum": bands::DIMENSIONS },
            {
                "type": "object",
                "properties": {
                    "field": { "enum": bands::DIMENSIONS },
                    "edges": { "type": "array", "items": { "type": "number" }, "minItems": 1 },
                    "quantiles": { "type": "integer", "minimum": 2, "maximum": 100 },
                    "tags": { "type": "array", "items": { "type": "string" } }
                },
                "required": ["field"],
                "additionalProperties": false
            }
        ]
    });
    json!({
        "type": "object",
        "properties": {
            "method": { "enum": ["bands", "rules"], "default": "bands" },
            "dimensions": { "type": "array", "items": dimension, "minItems": 1, "default": ["age"] },
            "rules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "label": { "type": "string", "minLength": 1 }, "when": { "type": "object" } },
                    "required": ["label", "when"],
                    "additionalProperties": false
                }
            },
            "multi": { "type": "boolean", "default": false },
            "as_of": { "type": "string", "description": "Date the ages are computed at (default: now)." }
        },
        "additionalProperties": false
    })
}

impl SegmentationStrategy for Demographic {
    const NAME: &'static str = "demographic";

    fn describe() -> Description {
        Description::new(
            "Demographic, geographic and psychographic segments: bands over age, gender, income, education, \
             occupation, place and lifestyle, or rules over the same fields.",
        )
        .params_schema(params_schema())
        .reads(Table::Customers, &fields::read_columns())
    }

    fn create(params: &Value) -> StrategyResult<Self> {
        let as_of = params.get("as_of").map(parse_as_of).transpose()?;
        let method = match params.get("method").and_then(Value::as_str).unwrap_or("bands") {
            "bands" => {
                let default = json!(["age"]);
                let dimensions = params.get("dimensions").unwrap_or(&default);
                let items = dimensions
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| StrategyError::param("/dimensions", "must be a non-empty list"))?;
                let parsed = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| Dimension::parse(item, &format!("/dimensions/{index}")))
                    .collect::<StrategyResult<Vec<_>>>()?;
                Method::Bands(parsed)
            }
            "rules" => {
                let items = params
                    .get("rules")
                    .and_then(Value::as_array)
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| {
                    StrategyError::param("/rules", "must be a non-empty list of {label, when}")
                })?;
                let fields = fields::fields();
                let mut rules = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let label = rule_label(item, index)?;
                    let when = item.get("when").unwrap_or(&Value::Null);
                    let when = Condition::parse(when, &fields, &format!("/rules/{index}/when"))?;
                    rules.push(LabelledRule { label, when });
                }
                let multi = params.get("multi").and_then(Value::as_bool).unwrap_or(false);
                Method::Rules { rules, multi }
            }
            other => return Err(StrategyError::param("/method", format!("{other:?} is not bands or rules"))),
        };
        Ok(Self { method, as_of, fitted_day: None })
    }

    fn fit(&mut self, population: &Input) -> StrategyResult<()> {
        let today = self.today(population);
        if let Method::Bands(dimensions) = &mut self.method {
            let batches: Vec<_> = population.customers().collect();
            for dimension in dimensions {
                dimension.fit(&batches, today)?;
            }
        }
        self.fitted_day = Some(today);
        Ok(())
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        let today = self.today(batch);
        for customers in batch.customers() {
            let ids = customers.id()?;
            match &self.method {
                Method::Bands(dimensions) => {
                    let banded = dimensions
                        .iter()
                        .map(|dimension| dimension.bands(&customers, today))
                        .collect::<StrategyResult<Vec<_>>>()?;
                    // Each combination of codes is labelled once per batch.
                    let mut labels: HashMap<u64, String> = HashMap::new();
                    for row in 0..customers.len() {
                        let key = banded.iter().fold(0_u64, |key, dimension| {
                            key * dimension.names.len() as u64 + u64::from(dimension.codes[row])
                        });
                        let label = labels.entry(key).or_insert_with(|| {
                            let parts: Vec<&str> = banded
                                .iter()
                                .map(|dimension| dimension.names[dimension.codes[row] as usize].as_str())
                                .collect();
                            parts.join(" · ")
                        });
                        out.push(ids.value(row), label, None);
                    }
                }
                Method::Rules { rules, multi } => {
                    let columns = fields::bind(&customers, today)?;
                    let as_of = self.as_of.unwrap_or_else(|| batch.as_of_micros());
                    let matches = rules
                        .iter()
                        .map(|rule| rule.when.evaluate(&columns, as_of))
                        .collect::<StrategyResult<Vec<_>>>()?;
                    assign_by_rules(ids.values(), rules, &matches, *multi, "other", |_, _| None, out);
                }
            }
        }
        Ok(())
    }

    fn model(&self) -> Value {
        let as_of = self.fitted_day.map(|day| {
            let (year, month, date) = kindred_plugin_sdk::dates::civil_from_days(day);
            format!("{year:04}-{month:02}-{date:02}")
        });
        match &self.method {
            Method::Bands(dimensions) => json!({
                "method": "bands",
                "as_of": as_of,
                "dimensions": dimensions.iter().map(Dimension::model).collect::<Vec<_>>(),
            }),
            Method::Rules { rules, multi } => json!({
                "method": "rules",
                "as_of": as_of,
                "multi": multi,
                "rules": rules.iter().map(|rule| json!({ "label": rule.label, "fields": rule.when.fields() })).collect::<Vec<_>>(),
            }),
        }
    }
}

export_strategy!(Demographic);
