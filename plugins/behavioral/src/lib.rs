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
use kindred_plugin_sdk::rules::RuleParam;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};
use rfm::Rfm;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tiers::{TierParam, TierSpec};
use value::ValueTiers;
use window_rules::WindowRules;

/// A method of the behavioral strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodName {
    /// Recency, frequency and monetary scores by quintiles, and the RFM map's segments.
    #[default]
    Rfm,
    /// Tiers by cumulative share of profit, and the loss-making.
    Value,
    /// Rules over aggregates of each customer's interactions in a window.
    Rules,
    /// Predictive lifetime value (BG/NBD with Gamma-Gamma).
    Clv,
}

/// A time unit of the lifetime-value model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// A day.
    Day,
    /// A week (the default).
    #[default]
    Week,
}

/// The behavioral strategy's parameters. Those of other methods than the one chosen are
/// ignored rather than refused (operators set defaults for the plugin as a whole, say
/// `window_days` for rfm, that reach every method); the model lists them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The method.
    #[serde(default)]
    pub method: MethodName,
    /// Date or RFC 3339 time the run is as of (default: now); later interactions are ignored.
    pub as_of: Option<String>,
    /// rfm: days before as_of that count (default: all); value: the same (default 365).
    #[schemars(range(min = 1))]
    pub window_days: Option<u32>,
    /// value and clv: tiers by cumulative share of the total, best first; every tier but the
    /// last has a share.
    #[schemars(length(min = 2))]
    pub tiers: Option<Vec<TierParam>>,
    /// rules: `{"label", "when"}` in order; `when` tests aggregates such as
    /// `{"agg": "sum", "of": "amount", "within_days": 365, "op": "gt", "value": 1000}`.
    #[schemars(length(min = 1))]
    pub rules: Option<Vec<RuleParam>>,
    /// rules: a customer is in every matching rule's segment, not only the first.
    #[schemars(extend("default" = false))]
    pub multi: Option<bool>,
    /// rules: the segment of customers no rule matches.
    #[schemars(length(min = 1), extend("default" = window_rules::OTHER))]
    pub otherwise: Option<String>,
    /// clv: the model's time unit.
    #[schemars(extend("default" = "week"))]
    pub time_unit: Option<TimeUnit>,
    /// clv: time units predicted (default: 52 weeks or 364 days).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub horizon: Option<f64>,
    /// clv: repeat buyers whose probability of being alive is below this are likely lost.
    #[schemars(range(min = 0.0, max = 1.0), extend("default" = LOST_BELOW))]
    pub lost_below: Option<f64>,
    /// clv: repeat buyers whose probability of being alive is below this are at risk.
    #[schemars(range(min = 0.0, max = 1.0), extend("default" = AT_RISK_BELOW))]
    pub at_risk_below: Option<f64>,
    /// clv: the per-customer figure each membership carries as its score.
    #[schemars(extend("default" = "expected_value"))]
    pub score: Option<ClvScore>,
}

/// The default `lost_below` of the clv method.
const LOST_BELOW: f64 = 0.3;
/// The default `at_risk_below` of the clv method.
const AT_RISK_BELOW: f64 = 0.6;

impl Params {
    /// Each method-specific parameter: its name, whether it was given, whether `method` uses it.
    fn given(&self) -> [(&'static str, bool, bool); 10] {
        let method = self.method;
        let for_clv = method == MethodName::Clv;
        let for_rules = method == MethodName::Rules;
        [
            (
                "window_days",
                self.window_days.is_some(),
                matches!(method, MethodName::Rfm | MethodName::Value),
            ),
            ("tiers", self.tiers.is_some(), matches!(method, MethodName::Value | MethodName::Clv)),
            ("rules", self.rules.is_some(), for_rules),
            ("multi", self.multi.is_some(), for_rules),
            ("otherwise", self.otherwise.is_some(), for_rules),
            ("time_unit", self.time_unit.is_some(), for_clv),
            ("horizon", self.horizon.is_some(), for_clv),
            ("lost_below", self.lost_below.is_some(), for_clv),
            ("at_risk_below", self.at_risk_below.is_some(), for_clv),
            ("score", self.score.is_some(), for_clv),
        ]
    }

    /// The parameters given that the chosen method does not use.
    fn ignored(&self) -> Vec<String> {
        self.given()
            .into_iter()
            .filter(|(_, given, used)| *given && !used)
            .map(|(name, ..)| name.to_owned())
            .collect()
    }
}

/// The behavioral strategy: one of its methods, and the as-of moment if the params fix one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Behavioral {
    method: Method,
    as_of: Option<i64>,
    fitted_as_of: Option<i64>,
    /// Parameters given that the chosen method does not use.
    ignored: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

fn clv_settings(params: &Params) -> StrategyResult<ClvSettings> {
    let unit_days = match params.time_unit.unwrap_or_default() {
        TimeUnit::Day => 1,
        TimeUnit::Week => 7,
    };
    let horizon = match params.horizon {
        None => 364.0 / unit_days as f64,
        Some(horizon) if horizon > 0.0 && horizon.is_finite() => horizon,
        Some(_) => return Err(StrategyError::param("/horizon", "must be a positive number of time units")),
    };
    let fraction = |value: Option<f64>, key: &str, default: f64| match value {
        None => Ok(default),
        Some(value) if (0.0..=1.0).contains(&value) => Ok(value),
        Some(_) => Err(StrategyError::param(format!("/{key}"), "must be a probability between 0 and 1")),
    };
    let lost_below = fraction(params.lost_below, "lost_below", LOST_BELOW)?;
    let at_risk_below = fraction(params.at_risk_below, "at_risk_below", AT_RISK_BELOW)?;
    if at_risk_below < lost_below {
        return Err(StrategyError::param("/at_risk_below", "must not be below lost_below"));
    }
    let tiers = TierSpec::from_params(params.tiers.as_deref(), "expected value")?;
    let score = params.score.unwrap_or_default();
    Ok(ClvSettings { unit_days, horizon, lost_below, at_risk_below, tiers, score })
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
    type Params = Params;

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
        .reads(Table::Customers, &["external_id"])
        .reads(Table::Interactions, &["occurred_at", "channel", "kind", "amount", "cost_to_serve"])
        .segments(segments)
    }

    fn create(params: Params) -> StrategyResult<Self> {
        let ignored = params.ignored();
        let as_of = params
            .as_of
            .as_deref()
            .map(|value| {
                kindred_plugin_sdk::rules::parse_time(value).ok_or_else(|| {
                    StrategyError::param("/as_of", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
                })
            })
            .transpose()?;
        let window_days = params.window_days.map(i64::from);
        if window_days.is_some_and(|days| days < 1) {
            return Err(StrategyError::param("/window_days", "must be a whole number of days, at least 1"));
        }
        let method = match params.method {
            MethodName::Rfm => Method::Rfm(Rfm::new(window_days)),
            MethodName::Value => Method::Value(ValueTiers::new(
                window_days.unwrap_or(365),
                TierSpec::from_params(params.tiers.as_deref(), "profit")?,
            )),
            MethodName::Rules => Method::Rules(WindowRules::from_params(
                params.rules.as_deref(),
                params.multi.unwrap_or(false),
                params.otherwise.as_deref(),
            )?),
            MethodName::Clv => Method::Clv(Clv::new(clv_settings(&params)?)),
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

export_strategy!(Behavioral, state);
