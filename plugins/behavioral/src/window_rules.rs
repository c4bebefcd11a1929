//! Window rules: the SDK's rule language with aggregate leaves over each customer's
//! interactions, e.g. "spent over 1,000 in the last 365 days":
//!
//! ```json
//! {"agg": "sum", "of": "amount", "where": {"kind": "purchase"}, "within_days": 365, "op": "gt", "value": 1000}
//! ```
//!
//! Each aggregate leaf becomes a number column (one value per customer) that the SDK's
//! condition tree tests like any other number field; identical aggregates are computed once.

use crate::customers::CustomerList;
use crate::history::{MICROS_PER_DAY, Window};
use kindred_plugin_sdk::arrow_array::{Array as _, ArrayRef, Float64Array};
use kindred_plugin_sdk::rules::{
    Condition, FieldType, Fields, LabelledRule, RuleColumns, RuleParam, assign_by_rules,
};
use kindred_plugin_sdk::serde_json::{Map, Value, json};
use kindred_plugin_sdk::{Assignments, Input, StrategyError, StrategyResult};
use std::collections::HashMap;
use std::sync::Arc;

/// The label of customers no rule matches, unless the params name another.
pub const OTHER: &str = "other";

/// What an aggregate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AggKind {
    /// Matching interactions.
    Count,
    /// Sum of a measure (0 when none).
    Sum,
    /// Mean of a measure (missing when none).
    Avg,
    /// Smallest measure (missing when none).
    Min,
    /// Largest measure (missing when none).
    Max,
    /// Whole days from the last matching interaction to as-of (missing when none).
    DaysSinceLast,
    /// Whole days from the first matching interaction to as-of (missing when none).
    DaysSinceFirst,
}

const AGG_NAMES: [(&str, AggKind); 7] = [
    ("count", AggKind::Count),
    ("sum", AggKind::Sum),
    ("avg", AggKind::Avg),
    ("min", AggKind::Min),
    ("max", AggKind::Max),
    ("days_since_last", AggKind::DaysSinceLast),
    ("days_since_first", AggKind::DaysSinceFirst),
];

impl AggKind {
    fn needs_measure(self) -> bool {
        matches!(self, AggKind::Sum | AggKind::Avg | AggKind::Min | AggKind::Max)
    }
}

/// The number an aggregate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Measure {
    /// The interaction's amount.
    Amount,
    /// What serving it cost.
    CostToServe,
}

/// One aggregate leaf: what, of which interactions, over how many days.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Aggregate {
    /// What it computes.
    pub kind: AggKind,
    /// The number it reads (sum, avg, min, max).
    pub of: Option<Measure>,
    /// Only interactions of these kinds (any kind when `None`).
    pub kinds: Option<Vec<String>>,
    /// Only interactions on these channels (any channel when `None`).
    pub channels: Option<Vec<String>>,
    /// Only the last N days up to as-of (all history when `None`).
    pub within_days: Option<i64>,
}

impl Aggregate {
    /// A readable name, also the rule field the aggregate is bound to.
    fn name(&self) -> String {
        let agg = AGG_NAMES.iter().find(|(_, kind)| *kind == self.kind).map_or("?", |(name, _)| name);
        let mut name = match self.of {
            Some(Measure::Amount) => format!("{agg}(amount)"),
            Some(Measure::CostToServe) => format!("{agg}(cost_to_serve)"),
            None => agg.to_owned(),
        };
        if let Some(kinds) = &self.kinds {
            name.push_str(&format!(" kind in [{}]", kinds.join(", ")));
        }
        if let Some(channels) = &self.channels {
            name.push_str(&format!(" channel in [{}]", channels.join(", ")));
        }
        if let Some(days) = self.within_days {
            name.push_str(&format!(" within {days} days"));
        }
        name
    }

    fn parse(object: &Map<String, Value>, path: &str) -> StrategyResult<Self> {
        for key in object.keys() {
            if !matches!(key.as_str(), "agg" | "of" | "where" | "within_days" | "op" | "value") {
                return Err(StrategyError::param(
                    format!("{path}/{key}"),
                    "unknown key: an aggregate has agg, of, where, within_days, op and value",
                ));
            }
        }
        let agg_path = format!("{path}/agg");
        let name = object.get("agg").and_then(Value::as_str).unwrap_or_default();
        let kind =
            AGG_NAMES.iter().find(|(known, _)| *known == name).map(|(_, kind)| *kind).ok_or_else(|| {
                let known: Vec<&str> = AGG_NAMES.iter().map(|(name, _)| *name).collect();
                StrategyError::param(&agg_path, format!("must be one of {}", known.join(", ")))
            })?;
        let of_path = format!("{path}/of");
        let of = match object.get("of").map(|of| of.as_str()) {
            None => None,
            Some(Some("amount")) => Some(Measure::Amount),
            Some(Some("cost_to_serve")) => Some(Measure::CostToServe),
            Some(_) => return Err(StrategyError::param(&of_path, "must be \"amount\" or \"cost_to_serve\"")),
        };
        if kind.needs_measure() && of.is_none() {
            return Err(StrategyError::param(
                &of_path,
                format!("{name} needs \"of\": \"amount\" or \"cost_to_serve\""),
            ));
        }
        if !kind.needs_measure() && of.is_some() {
            return Err(StrategyError::param(&of_path, format!("{name} reads no measure: leave \"of\" out")));
        }
        let (mut kinds, mut channels) = (None, None);
        if let Some(filter) = object.get("where") {
            let where_path = format!("{path}/where");
            let filter = filter.as_object().ok_or_else(|| {
                StrategyError::param(&where_path, "must be an object with kind and/or channel")
            })?;
            for (key, value) in filter {
                let key_path = format!("{where_path}/{key}");
                let values = text_or_list(value, &key_path)?;
                match key.as_str() {
                    "kind" => kinds = Some(values),
                    "channel" => channels = Some(values),
                    _ => {
                        return Err(StrategyError::param(
                            &key_path,
                            "unknown key: where has kind and channel",
                        ));
                    }
                }
            }
        }
        let within_days = match object.get("within_days") {
            None => None,
            Some(days) => Some(days.as_i64().filter(|days| *days >= 1).ok_or_else(|| {
                StrategyError::param(
                    format!("{path}/within_days"),
                    "must be a whole number of days, at least 1",
                )
            })?),
        };
        Ok(Self { kind, of, kinds, channels, within_days })
    }

    /// The aggregate for each customer of `input`, as of `as_of`.
    fn compute(&self, input: &Input, customers: &CustomerList, as_of: i64) -> StrategyResult<ArrayRef> {
        let window = Window::new(as_of, self.within_days);
        let n = customers.len();
        let mut count = vec![0_u32; n];
        let mut measured = vec![0_u32; n];
        let mut total = vec![0.0_f64; n];
        let mut low = vec![f64::INFINITY; n];
        let mut high = vec![f64::NEG_INFINITY; n];
        let mut first = vec![i64::MAX; n];
        let mut last = vec![i64::MIN; n];
        for batch in input.interactions() {
            let (ids, times, kinds, channels) =
                (batch.customer_id()?, batch.occurred_at()?, batch.kind()?, batch.channel()?);
            let measure = match self.of {
                Some(Measure::Amount) => Some(batch.amount()?),
                Some(Measure::CostToServe) => Some(batch.cost_to_serve()?),
                None => None,
            };
            let matches = |allowed: &Option<Vec<String>>,
                           column: &kindred_plugin_sdk::arrow_array::StringArray,
                           row| {
                allowed.as_ref().is_none_or(|allowed| {
                    !column.is_null(row) && allowed.iter().any(|value| value == column.value(row))
                })
            };
            for row in 0..batch.len() {
                let at = times.value(row);
                if !window.contains(at)
                    || !matches(&self.kinds, kinds, row)
                    || !matches(&self.channels, channels, row)
                {
                    continue;
                }
                let Some(position) = customers.position(ids.value(row)) else { continue };
                count[position] += 1;
                first[position] = first[position].min(at);
                last[position] = last[position].max(at);
                if let Some(values) = measure
                    && !values.is_null(row)
                {
                    let value = values.value(row);
                    measured[position] += 1;
                    total[position] += value;
                    low[position] = low[position].min(value);
                    high[position] = high[position].max(value);
                }
            }
        }
        let days = |at: i64| ((as_of - at).div_euclid(MICROS_PER_DAY)) as f64;
        let values: Float64Array = (0..n)
            .map(|p| match self.kind {
                AggKind::Count => Some(f64::from(count[p])),
                AggKind::Sum => Some(total[p]),
                AggKind::Avg => (measured[p] > 0).then(|| total[p] / f64::from(measured[p])),
                AggKind::Min => (measured[p] > 0).then_some(low[p]),
                AggKind::Max => (measured[p] > 0).then_some(high[p]),
                AggKind::DaysSinceLast => (count[p] > 0).then(|| days(last[p])),
                AggKind::DaysSinceFirst => (count[p] > 0).then(|| days(first[p])),
            })
            .collect();
        Ok(Arc::new(values))
    }
}

fn text_or_list(value: &Value, path: &str) -> StrategyResult<Vec<String>> {
    let bad = || StrategyError::param(path, "must be text or a non-empty list of text");
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(|item| item.as_str().map(str::to_owned).ok_or_else(bad)).collect()
        }
        _ => Err(bad()),
    }
}

/// Rewrites aggregate leaves of `tree` into number-field tests, collecting the aggregates.
fn rewrite(tree: &Value, path: &str, aggregates: &mut Vec<Aggregate>) -> StrategyResult<Value> {
    let Some(object) = tree.as_object() else { return Ok(tree.clone()) };
    if object.contains_key("field") {
        return Err(StrategyError::param(
            format!("{path}/field"),
            "behavioral rules test aggregates of interactions: write {\"agg\": ..., \"op\": ..., \"value\": ...}",
        ));
    }
    if object.contains_key("agg") {
        let aggregate = Aggregate::parse(object, path)?;
        let field = aggregate.name();
        if !aggregates.contains(&aggregate) {
            aggregates.push(aggregate);
        }
        let mut leaf = Map::new();
        leaf.insert("field".to_owned(), Value::String(field));
        for key in ["op", "value"] {
            if let Some(value) = object.get(key) {
                leaf.insert(key.to_owned(), value.clone());
            }
        }
        return Ok(Value::Object(leaf));
    }
    let mut rewritten = Map::new();
    for (key, child) in object {
        let child_path = format!("{path}/{key}");
        let child = match (key.as_str(), child) {
            ("all" | "any", Value::Array(children)) => Value::Array(
                children
                    .iter()
                    .enumerate()
                    .map(|(index, child)| rewrite(child, &format!("{child_path}/{index}"), aggregates))
                    .collect::<StrategyResult<_>>()?,
            ),
            ("not", child) => rewrite(child, &child_path, aggregates)?,
            _ => child.clone(),
        };
        rewritten.insert(key.clone(), child);
    }
    Ok(Value::Object(rewritten))
}

/// A member's score under `rule`: the value of the one aggregate the rule reads (what a
/// "spent over 1,000 in 365 days" member spent), or none when it reads no aggregate or several.
fn rule_score<'a>(rule: &LabelledRule, computed: &'a HashMap<String, ArrayRef>) -> Option<&'a Float64Array> {
    let mut aggregates = rule.when.fields().into_iter().filter_map(|field| computed.get(field));
    let only = aggregates.next()?;
    if aggregates.next().is_some() {
        return None;
    }
    only.as_any().downcast_ref::<Float64Array>()
}

/// The rules method.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WindowRules {
    rules: Vec<LabelledRule>,
    aggregates: Vec<Aggregate>,
    multi: bool,
    otherwise: String,
}

impl WindowRules {
    /// Reads the `rules` parameter; `multi` puts a customer in every matching rule rather
    /// than the first; `otherwise` labels customers no rule matches.
    pub fn from_params(
        rules: Option<&[RuleParam]>,
        multi: bool,
        otherwise: Option<&str>,
    ) -> StrategyResult<Self> {
        let items = rules
            .filter(|items| !items.is_empty())
            .ok_or_else(|| StrategyError::param("/rules", "must be a non-empty list of {label, when}"))?;
        let mut aggregates = Vec::new();
        let mut trees = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let label = item.trimmed_label("/rules", index)?;
            let path = format!("/rules/{index}/when");
            trees.push((label, rewrite(&item.when, &path, &mut aggregates)?, path));
        }
        let fields = aggregates
            .iter()
            .fold(Fields::new(), |fields, aggregate| fields.with(&aggregate.name(), FieldType::Number));
        let rules = trees
            .into_iter()
            .map(|(label, tree, path)| {
                Ok(LabelledRule { label, when: Condition::parse(&tree, &fields, &path)? })
            })
            .collect::<StrategyResult<Vec<_>>>()?;
        let otherwise = match otherwise.map(str::trim) {
            None => OTHER.to_owned(),
            Some("") => return Err(StrategyError::param("/otherwise", "must be a label")),
            Some(label) => label.to_owned(),
        };
        Ok(Self { rules, aggregates, multi, otherwise })
    }

    /// Labels every customer of `batch` by the rules, as of `as_of`.
    pub fn assign(&self, batch: &Input, as_of: i64, out: &mut Assignments) -> StrategyResult<()> {
        let customers = CustomerList::of(batch)?;
        let mut columns = RuleColumns::new(customers.len());
        let mut computed = HashMap::new();
        for aggregate in &self.aggregates {
            let name = aggregate.name();
            let values = aggregate.compute(batch, &customers, as_of)?;
            columns = columns.with(&name, values.clone());
            computed.insert(name, values);
        }
        let hits = self
            .rules
            .iter()
            .map(|rule| rule.when.evaluate(&columns, as_of))
            .collect::<StrategyResult<Vec<_>>>()?;
        let scores: Vec<Option<&Float64Array>> =
            self.rules.iter().map(|rule| rule_score(rule, &computed)).collect();
        let score = |rule: usize, position: usize| {
            scores[rule].filter(|values| values.is_valid(position)).map(|values| values.value(position))
        };
        assign_by_rules(&customers.ids, &self.rules, &hits, self.multi, &self.otherwise, score, out);
        Ok(())
    }

    /// The rules and the aggregates they read.
    pub fn model(&self) -> Value {
        json!({
            "multi": self.multi,
            "otherwise": self.otherwise,
            "rules": self.rules.iter().map(|rule| json!({ "label": rule.label, "reads": rule.when.fields() })).collect::<Vec<_>>(),
        })
    }
}
