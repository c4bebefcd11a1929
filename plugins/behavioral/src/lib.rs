//! The behavioral strategy: customers by what they do. Its `method` parameter chooses:
//!
//! - **rfm** (the default): recency, frequency and monetary scores 1..5 by quintiles, and the
//!   named segments of the RFM map;
//! - **value**: tiers by cumulative share of profit (revenue minus cost to serve), and the
//!   loss-making;
//! - **rules**: the SDK's rule language over aggregates of each customer's interactions in a
//!   window ("spent over 1,000 in the last 365 days");
//! - **clv**: predictive lifetime value with BG/NBD and Gamma-Gamma.
//!
//! Every method takes `as_of` (default: the moment of the run) and ignores interactions after
//! it. `fit` learns cut points and model parameters; `assign` applies them to any batch, so
//! one changed customer is re-scored without a refit.

mod clv;
mod customers;
mod history;
mod ranking;
mod rfm;
pub mod rfm_sql;
mod tiers;
mod value;
mod window_rules;

use clv::{Clv, ClvScore, ClvSettings};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};
use rfm::Rfm;
use tiers::TierSpec;
use value::ValueTiers;
use window_rules::WindowRules;

/// The methods, and the parameters each takes besides `method` and `as_of`.
const METHODS: [(&str, &[&str]); 4] = [
    ("rfm", &["window_days"]),
    ("value", &["window_days", "tiers"]),
    ("rules", &["rules", "multi", "otherwise"]),
    ("clv", &["time_unit", "horizon", "lost_below", "at_risk_below", "tiers", "score"]),
];

/// The behavioral strategy: one of its methods, and the as-of moment if the params fix one.
#[derive(Debug, Clone)]
pub struct Behavioral {
    method: Method,
    as_of: Option<i64>,
    fitted_as_of: Option<i64>,
    /// Parameters given that the chosen method does not use.
    ignored: Vec<String>,
}

#[derive(Debug, Clone)]
enum Method {
    Rfm(Rfm),
    Value(ValueTiers),
    Rules(WindowRules),
    Clv(Clv),
}

/// The error of calling `assign` before `fit`.
pub(crate) fn not_fitted() -> StrategyError {
    StrategyError::new("assign was called before fit")
}

fn whole_days(params: &Value, key: &str) -> StrategyResult<Option<i64>> {
    params
        .get(key)
        .map(|days| {
            days.as_i64().filter(|days| *days >= 1).ok_or_else(|| {
                StrategyError::param(format!("/{key}"), "must be a whole number of days, at least 1")
            })
        })
        .transpose()
}

fn fraction(params: &Value, key: &str, default: f64) -> StrategyResult<f64> {
    match params.get(key) {
        None => Ok(default),
        Some(value) => value
            .as_f64()
            .filter(|value| (0.0..=1.0).contains(value))
            .ok_or_else(|| StrategyError::param(format!("/{key}"), "must be a probability between 0 and 1")),
    }
}

fn clv_settings(params: &Value) -> StrategyResult<ClvSettings> {
    let unit_days = match params.get("time_unit").map(Value::as_str) {
        None | Some(Some("week")) => 7,
        Some(Some("day")) => 1,
        Some(_) => return Err(StrategyError::param("/time_unit", "must be \"day\" or \"week\"")),
    };
    let horizon = match params.get("horizon") {
        None => 364.0 / unit_days as f64,
        Some(value) => value
            .as_f64()
            .filter(|horizon| *horizon > 0.0 && horizon.is_finite())
            .ok_or_else(|| StrategyError::param("/horizon", "must be a positive number of time units"))?,
    };
    let lost_below = fraction(params, "lost_below", 0.3)?;
    let at_risk_below = fraction(params, "at_risk_below", 0.6)?;
    if at_risk_below < lost_below {
        return Err(StrategyError::param("/at_risk_below", "must not be below lost_below"));
    }
    let tiers = TierSpec::parse(params.get("tiers"), "expected value")?;
    let score = match params.get("score") {
        None => ClvScore::ExpectedValue,
        Some(name) => ClvScore::NAMES
            .iter()
            .find(|(known, _)| Some(*known) == name.as_str())
            .map(|(_, score)| *score)
            .ok_or_else(|| {
                StrategyError::param(
                    "/score",
                    "must be expected_value, expected_purchases or probability_alive",
                )
            })?,
    };
    Ok(ClvSettings { unit_days, horizon, lost_below, at_risk_below, tiers, score })
}

fn params_schema() -> Value {
    let tiers = json!({
        "type": "array",
        "minItems": 2,
        "items": {
            "type": "object",
            "properties": {
                "label": { "type": "string", "minLength": 1 },
                "share": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 }
            },
            "required": ["label"],
            "additionalProperties": false
        },
        "description": "Tiers by cumulative share of the total, best first; every tier but the last has a share."
    });
    json!({
        "type": "object",
        "properties": {
            "method": { "enum": ["rfm", "value", "rules", "clv"], "default": "rfm" },
            "as_of": { "type": "string", "description": "Date or RFC 3339 time the run is as of (default: now); later interactions are ignored." },
            "window_days": { "type": "integer", "minimum": 1, "description": "rfm: days before as_of that count (default: all); value: the same (default 365)." },
            "tiers": tiers,
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": { "label": { "type": "string", "minLength": 1 }, "when": { "type": "object" } },
                    "required": ["label", "when"],
                    "additionalProperties": false
                }
            },
            "multi": { "type": "boolean", "default": false },
            "otherwise": { "type": "string", "minLength": 1, "default": "other" },
            "time_unit": { "enum": ["day", "week"], "default": "week" },
            "horizon": { "type": "number", "exclusiveMinimum": 0, "description": "clv: time units predicted (default: 52 weeks or 364 days)." },
            "lost_below": { "type": "number", "minimum": 0, "maximum": 1, "default": 0.3 },
            "at_risk_below": { "type": "number", "minimum": 0, "maximum": 1, "default": 0.6 },
            "score": {
                "enum": ["expected_value", "expected_purchases", "probability_alive"],
                "default": "expected_value",
                "description": "clv: the per-customer figure each membership carries as its score."
            }
        },
        "additionalProperties": false
    })
}

/// A moment as RFC 3339 text, to the second, in UTC.
fn rfc3339(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let (day, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = kindred_plugin_sdk::dates::civil_from_days(day as i32);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second / 3600,
        second % 3600 / 60,
        second % 60
    )
}

impl Behavioral {
    fn as_of(&self, input: &Input) -> i64 {
        self.as_of.unwrap_or_else(|| input.as_of_micros())
    }
}

impl SegmentationStrategy for Behavioral {
    const NAME: &'static str = "behavioral";

    fn describe() -> Description {
        let mut segments: Vec<String> = rfm::SEGMENTS.iter().map(|label| (*label).to_owned()).collect();
        segments.extend(TierSpec::default_for("profit").labels);
        segments.push(value::LOSS_MAKING.to_owned());
        segments.extend([clv::LIKELY_LOST.to_owned(), clv::AT_RISK.to_owned()]);
        segments.extend(TierSpec::default_for("expected value").labels);
        Description::new(
            "Behavioral segments: RFM scores and the RFM map, profit tiers, window rules over interaction \
             aggregates, and predictive lifetime value (BG/NBD with Gamma-Gamma).",
        )
        .params_schema(params_schema())
        .reads(Table::Customers, &["external_id"])
        .reads(Table::Interactions, &["occurred_at", "channel", "kind", "amount", "cost_to_serve"])
        .segments(segments)
    }

    fn create(params: &Value) -> StrategyResult<Self> {
        let method_name = match params.get("method") {
            None => "rfm",
            Some(method) => method.as_str().unwrap_or_default(),
        };
        let Some((_, applicable)) = METHODS.iter().find(|(name, _)| *name == method_name) else {
            return Err(StrategyError::param("/method", "must be rfm, value, rules or clv"));
        };
        // Parameters of other methods are ignored rather than refused: operators set defaults
        // for the plugin as a whole (say window_days for rfm) that reach every method. The
        // model lists them, so nobody is misled.
        let ignored: Vec<String> = params
            .as_object()
            .into_iter()
            .flat_map(|object| object.keys())
            .filter(|key| !matches!(key.as_str(), "method" | "as_of") && !applicable.contains(&key.as_str()))
            .cloned()
            .collect();
        let as_of = params
            .get("as_of")
            .map(|value| {
                value.as_str().and_then(kindred_plugin_sdk::rules::parse_time).ok_or_else(|| {
                    StrategyError::param("/as_of", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
                })
            })
            .transpose()?;
        let method = match method_name {
            "rfm" => Method::Rfm(Rfm::new(whole_days(params, "window_days")?)),
            "value" => Method::Value(ValueTiers::new(
                whole_days(params, "window_days")?.unwrap_or(365),
                TierSpec::parse(params.get("tiers"), "profit")?,
            )),
            "rules" => Method::Rules(WindowRules::parse(
                params.get("rules"),
                params.get("multi").and_then(Value::as_bool).unwrap_or(false),
                params.get("otherwise"),
            )?),
            _ => Method::Clv(Clv::new(clv_settings(params)?)),
        };
        Ok(Self { method, as_of, fitted_as_of: None, ignored })
    }

    fn fit(&mut self, population: &Input) -> StrategyResult<()> {
        let as_of = self.as_of(population);
        match &mut self.method {
            Method::Rfm(rfm) => rfm.fit(population, as_of)?,
            Method::Value(value) => value.fit(population, as_of)?,
            Method::Rules(_) => {}
            Method::Clv(clv) => clv.fit(population, as_of)?,
        }
        self.fitted_as_of = Some(as_of);
        Ok(())
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        let as_of = self.as_of(batch);
        match &self.method {
            Method::Rfm(rfm) => rfm.assign(batch, as_of, out),
            Method::Value(value) => value.assign(batch, as_of, out),
            Method::Rules(rules) => rules.assign(batch, as_of, out),
            Method::Clv(clv) => clv.assign(batch, as_of, out),
        }
    }

    fn model(&self) -> Value {
        let (name, mut model) = match &self.method {
            Method::Rfm(rfm) => ("rfm", rfm.model()),
            Method::Value(value) => ("value", value.model()),
            Method::Rules(rules) => ("rules", rules.model()),
            Method::Clv(clv) => ("clv", clv.model()),
        };
        model["method"] = json!(name);
        model["as_of"] = json!(self.fitted_as_of.or(self.as_of).map(rfc3339));
        if !self.ignored.is_empty() {
            model["ignored_params"] = json!(self.ignored);
        }
        model
    }
}

export_strategy!(Behavioral);
