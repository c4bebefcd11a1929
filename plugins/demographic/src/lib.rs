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

use bands::{Dimension, DimensionField, DimensionParam};
use kindred_plugin_sdk::rules::{LabelledRule, RuleParam, assign_by_rules};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What the strategy does.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Method {
    Bands(Vec<Dimension>),
    Rules { rules: Vec<LabelledRule>, multi: bool },
}

/// The demographic strategy.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
fn parse_as_of(value: &str) -> StrategyResult<i64> {
    kindred_plugin_sdk::rules::parse_time(value)
        .ok_or_else(|| StrategyError::param("/as_of", "must be a date (YYYY-MM-DD) or an RFC 3339 time"))
}

/// Bands or rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodName {
    /// Bands over the dimensions.
    #[default]
    Bands,
    /// Labelled rules.
    Rules,
}

/// The demographic strategy's parameters.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// `bands`: each customer in the combination of its band on every dimension; `rules`: in
    /// the segment of the first rule that matches (every one with `multi`), else "other".
    pub method: MethodName,
    /// Bands: the dimensions, each a field name or `{"field", "edges" | "quantiles" | "tags"}`.
    #[schemars(length(min = 1))]
    pub dimensions: Vec<DimensionParam>,
    /// Rules: `{"label", "when"}` in order, over the customers' fields.
    pub rules: Vec<RuleParam>,
    /// Rules: a customer is in every matching rule's segment, not only the first.
    pub multi: bool,
    /// Date the ages are computed at, `YYYY-MM-DD` or RFC 3339 (default: now).
    pub as_of: Option<String>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            method: MethodName::Bands,
            dimensions: vec![DimensionParam::Field(DimensionField::Age)],
            rules: Vec::new(),
            multi: false,
            as_of: None,
        }
    }
}

impl SegmentationStrategy for Demographic {
    const NAME: &'static str = "demographic";
    type Params = Params;

    fn describe() -> Description {
        Description::new(
            "Demographic, geographic and psychographic segments: bands over age, gender, income, education, \
             occupation, place and lifestyle, or rules over the same fields.",
        )
        .reads(Table::Customers, &fields::read_columns())
    }

    fn create(params: Params) -> StrategyResult<Self> {
        let as_of = params.as_of.as_deref().map(parse_as_of).transpose()?;
        let method = match params.method {
            MethodName::Bands => {
                if params.dimensions.is_empty() {
                    return Err(StrategyError::param("/dimensions", "must be a non-empty list"));
                }
                let parsed = params
                    .dimensions
                    .iter()
                    .enumerate()
                    .map(|(index, item)| Dimension::from_param(item, &format!("/dimensions/{index}")))
                    .collect::<StrategyResult<Vec<_>>>()?;
                Method::Bands(parsed)
            }
            MethodName::Rules => {
                let rules = LabelledRule::from_params(&params.rules, &fields::fields(), "/rules")?;
                Method::Rules { rules, multi: params.multi }
            }
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

export_strategy!(Demographic, state);
