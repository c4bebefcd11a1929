//! The rule language every strategy can use: a condition tree in JSON, checked once when a
//! segmentation is created and then evaluated column by column over Arrow arrays.
//!
//! ```json
//! {"all": [
//!   {"field": "age", "op": "between", "value": [25, 34]},
//!   {"any": [{"field": "country", "op": "in", "value": ["PT", "ES"]},
//!            {"field": "location", "op": "within_km", "value": {"lat": 38.7, "lon": -9.1, "km": 50}}]},
//!   {"not": {"field": "lifestyle", "op": "contains", "value": "vegan"}},
//!   {"field": "created_at", "op": "ge", "value": "now-90d"}
//! ]}
//! ```
//!
//! `all`, `any` and `not` nest to any depth. A leaf names a field the strategy offers, an op
//! valid for the field's type, and a value of the right type:
//!
//! | type | ops | value |
//! |---|---|---|
//! | number | `eq ne lt le gt ge` / `between` / `in not_in` | number / `[low, high]` (inclusive) / list |
//! | text | `eq ne` / `in not_in` / `contains starts_with` | text / list / text (case-sensitive) |
//! | boolean | `eq ne` | `true` or `false` |
//! | date, timestamp | `eq ne lt le gt ge` / `between` | `YYYY-MM-DD`, RFC 3339, or `now`, `now-30d`, `now+2w` (units `h d w y`) / `[from, to]` |
//! | tags | `contains` / `in` (any of) / `not_in` (none of) | tag / list |
//! | location | `within_km` | `{"lat", "lon", "km"}` |
//!
//! Every type also has `exists` and `missing` (no value). A comparison with a missing value is
//! false, so `ne` does not match a customer with no value: combine it with `exists` or
//! `missing` to say what you mean. Relative times are taken from the input's as-of moment at
//! each evaluation, so "joined in the last 90 days" stays true as time passes.

mod columns;
mod labelled;
mod time;

pub use columns::{RuleColumns, haversine_km};
pub use labelled::{LabelledRule, RuleParam, assign_by_rules};
pub use time::parse_time;

use crate::StrategyError;
use arrow_buffer::BooleanBuffer;
use columns::evaluate_leaf;
use serde_json::Value;
use std::collections::BTreeMap;
use time::Moment;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The type of a field a rule can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A number (Float64).
    Number,
    /// Text (Utf8).
    Text,
    /// True or false (Boolean).
    Boolean,
    /// A day (Date32).
    Date,
    /// A moment (Timestamp, microseconds, UTC).
    Timestamp,
    /// A list of tags (List of Utf8).
    Tags,
    /// A place: two Float64 columns, latitude and longitude.
    Location,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Number => "number",
            FieldType::Text => "text",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Tags => "tags",
            FieldType::Location => "location",
        }
    }

    fn ops(self) -> &'static [&'static str] {
        match self {
            FieldType::Number => {
                &["eq", "ne", "lt", "le", "gt", "ge", "between", "in", "not_in", "exists", "missing"]
            }
            FieldType::Date | FieldType::Timestamp => {
                &["eq", "ne", "lt", "le", "gt", "ge", "between", "exists", "missing"]
            }
            FieldType::Text => &["eq", "ne", "in", "not_in", "contains", "starts_with", "exists", "missing"],
            FieldType::Boolean => &["eq", "ne", "exists", "missing"],
            FieldType::Tags => &["contains", "in", "not_in", "exists", "missing"],
            FieldType::Location => &["within_km", "exists", "missing"],
        }
    }
}

/// The fields a strategy offers to rules, by name.
#[derive(Debug, Clone, Default)]
pub struct Fields(BTreeMap<String, FieldType>);

impl Fields {
    /// No fields yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field.
    pub fn with(mut self, name: &str, field_type: FieldType) -> Self {
        self.0.insert(name.to_owned(), field_type);
        self
    }

    /// The type of `name`.
    pub fn get(&self, name: &str) -> Option<FieldType> {
        self.0.get(name).copied()
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// A bad node of a condition tree: where (a JSON Pointer into the parameters) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// JSON Pointer of the bad node, e.g. `/rules/0/when/all/1/op`.
    pub path: String,
    /// Why it is refused.
    pub reason: String,
}

impl From<RuleError> for StrategyError {
    fn from(error: RuleError) -> Self {
        StrategyError::param(&error.path, error.reason)
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

fn refuse<T>(path: &str, reason: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError { path: path.to_owned(), reason: reason.into() })
}

/// What a leaf tests, with its value parsed for the field's type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) enum Test {
    Exists,
    Missing,
    Number { op: Compare, value: f64 },
    NumberBetween(f64, f64),
    NumberIn(Vec<f64>, bool),
    Text { op: TextOp, value: String },
    TextIn(Vec<String>, bool),
    Boolean { equal: bool, value: bool },
    Time { op: Compare, value: Moment },
    TimeBetween(Moment, Moment),
    TagsContain(String),
    TagsAny(Vec<String>, bool),
    Within { lat: f64, lon: f64, km: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Compare {
    fn parse(op: &str) -> Option<Self> {
        Some(match op {
            "eq" => Compare::Eq,
            "ne" => Compare::Ne,
            "lt" => Compare::Lt,
            "le" => Compare::Le,
            "gt" => Compare::Gt,
            "ge" => Compare::Ge,
            _ => return None,
        })
    }

    pub(super) fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Compare::Eq => left == right,
            Compare::Ne => left != right,
            Compare::Lt => left < right,
            Compare::Le => left <= right,
            Compare::Gt => left > right,
            Compare::Ge => left >= right,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum TextOp {
    Eq,
    Ne,
    Contains,
    StartsWith,
}

/// A checked condition tree.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// Every child holds (true when there are none).
    All(Vec<Condition>),
    /// Some child holds (false when there are none).
    Any(Vec<Condition>),
    /// The child does not hold.
    Not(Box<Condition>),
    /// A test of one field.
    Leaf {
        /// The field tested.
        field: String,
        /// The test.
        #[doc(hidden)]
        test: LeafTest,
    },
}

/// A leaf's parsed test (opaque).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeafTest(Test);

fn number(value: &Value, path: &str) -> Result<f64, RuleError> {
    value.as_f64().filter(|n| n.is_finite()).map_or_else(|| refuse(path, "expected a number"), Ok)
}

fn text(value: &Value, path: &str) -> Result<String, RuleError> {
    value.as_str().map(str::to_owned).map_or_else(|| refuse(path, "expected text"), Ok)
}

fn list<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, RuleError> {
    match value.as_array() {
        Some(items) if !items.is_empty() => Ok(items),
        Some(_) => refuse(path, "expected a non-empty list"),
        None => refuse(path, "expected a list"),
    }
}

fn pair<'a>(value: &'a Value, path: &str) -> Result<(&'a Value, &'a Value), RuleError> {
    match value.as_array().map(Vec::as_slice) {
        Some([low, high]) => Ok((low, high)),
        _ => refuse(path, "expected [low, high]"),
    }
}

impl Condition {
    /// Checks and parses a condition tree. `path` is the JSON Pointer of `tree` inside the
    /// parameters (e.g. `/rules/0/when`), so errors point at the bad node.
    pub fn parse(tree: &Value, fields: &Fields, path: &str) -> Result<Self, RuleError> {
        let Some(object) = tree.as_object() else {
            return refuse(
                path,
                "expected an object: {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or a field test",
            );
        };
        for (key, build) in
            [("all", Condition::All as fn(Vec<Condition>) -> Condition), ("any", Condition::Any)]
        {
            if let Some(children) = object.get(key) {
                if object.len() != 1 {
                    return refuse(path, format!("\"{key}\" must be the only key of its object"));
                }
                let child_path = format!("{path}/{key}");
                let Some(children) = children.as_array() else {
                    return refuse(&child_path, "expected a list of conditions");
                };
                let parsed = children
                    .iter()
                    .enumerate()
                    .map(|(index, child)| Condition::parse(child, fields, &format!("{child_path}/{index}")))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(build(parsed));
            }
        }
        if let Some(child) = object.get("not") {
            if object.len() != 1 {
                return refuse(path, "\"not\" must be the only key of its object");
            }
            return Ok(Condition::Not(Box::new(Condition::parse(child, fields, &format!("{path}/not"))?)));
        }
        for key in object.keys() {
            if !matches!(key.as_str(), "field" | "op" | "value") {
                return refuse(&format!("{path}/{key}"), "unknown key: a test has field, op and value");
            }
        }
        let field_path = format!("{path}/field");
        let Some(field) = object.get("field").and_then(Value::as_str) else {
            return refuse(&field_path, "expected the name of a field");
        };
        let Some(field_type) = fields.get(field) else {
            return refuse(
                &field_path,
                format!("unknown field {field:?} (known: {})", fields.names().join(", ")),
            );
        };
        let op_path = format!("{path}/op");
        let Some(op) = object.get("op").and_then(Value::as_str) else {
            return refuse(&op_path, "expected an op");
        };
        if !field_type.ops().contains(&op) {
            return refuse(
                &op_path,
                format!(
                    "op {op:?} is not valid for {} field {field:?} (valid: {})",
                    field_type.name(),
                    field_type.ops().join(", ")
                ),
            );
        }
        let value_path = format!("{path}/value");
        let value = object.get("value").unwrap_or(&Value::Null);
        if matches!(op, "exists" | "missing") {
            let test = if op == "exists" { Test::Exists } else { Test::Missing };
            return Ok(Condition::Leaf { field: field.to_owned(), test: LeafTest(test) });
        }
        if value.is_null() {
            return refuse(&value_path, format!("op {op:?} needs a value"));
        }
        let test = match (field_type, op) {
            (FieldType::Number, "between") => {
                let (low, high) = pair(value, &value_path)?;
                Test::NumberBetween(
                    number(low, &format!("{value_path}/0"))?,
                    number(high, &format!("{value_path}/1"))?,
                )
            }
            (FieldType::Number, "in" | "not_in") => {
                let items = list(value, &value_path)?;
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| number(item, &format!("{value_path}/{index}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Test::NumberIn(values, op == "in")
            }
            (FieldType::Number, _) => Test::Number {
                op: Compare::parse(op).unwrap_or(Compare::Eq),
                value: number(value, &value_path)?,
            },
            (FieldType::Text, "in" | "not_in") => {
                let items = list(value, &value_path)?;
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| text(item, &format!("{value_path}/{index}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Test::TextIn(values, op == "in")
            }
            (FieldType::Text, _) => {
                let op = match op {
                    "eq" => TextOp::Eq,
                    "ne" => TextOp::Ne,
                    "contains" => TextOp::Contains,
                    _ => TextOp::StartsWith,
                };
                Test::Text { op, value: text(value, &value_path)? }
            }
            (FieldType::Boolean, _) => {
                let Some(flag) = value.as_bool() else {
                    return refuse(&value_path, "expected true or false");
                };
                Test::Boolean { equal: op == "eq", value: flag }
            }
            (FieldType::Date | FieldType::Timestamp, "between") => {
                let (from, to) = pair(value, &value_path)?;
                Test::TimeBetween(
                    Moment::parse(from, &format!("{value_path}/0"))?,
                    Moment::parse(to, &format!("{value_path}/1"))?,
                )
            }
            (FieldType::Date | FieldType::Timestamp, _) => Test::Time {
                op: Compare::parse(op).unwrap_or(Compare::Eq),
                value: Moment::parse(value, &value_path)?,
            },
            (FieldType::Tags, "contains") => Test::TagsContain(text(value, &value_path)?),
            (FieldType::Tags, _) => {
                let items = list(value, &value_path)?;
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| text(item, &format!("{value_path}/{index}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Test::TagsAny(values, op == "in")
            }
            (FieldType::Location, _) => {
                let Some(place) = value.as_object() else {
                    return refuse(&value_path, "expected {\"lat\", \"lon\", \"km\"}");
                };
                let get = |key: &str| -> Result<f64, RuleError> {
                    number(place.get(key).unwrap_or(&Value::Null), &format!("{value_path}/{key}"))
                };
                let (lat, lon, km) = (get("lat")?, get("lon")?, get("km")?);
                if !(-90.0..=90.0).contains(&lat) {
                    return refuse(&format!("{value_path}/lat"), "latitude must be within -90..90");
                }
                if !(-180.0..=180.0).contains(&lon) {
                    return refuse(&format!("{value_path}/lon"), "longitude must be within -180..180");
                }
                if km < 0.0 {
                    return refuse(&format!("{value_path}/km"), "distance must not be negative");
                }
                Test::Within { lat, lon, km }
            }
        };
        Ok(Condition::Leaf { field: field.to_owned(), test: LeafTest(test) })
    }

    /// Which rows of `columns` match, as of `as_of_micros`.
    pub fn evaluate(&self, columns: &RuleColumns, as_of_micros: i64) -> Result<BooleanBuffer, StrategyError> {
        let rows = columns.rows;
        Ok(match self {
            Condition::All(children) => {
                let mut result = BooleanBuffer::new_set(rows);
                for child in children {
                    result = &result & &child.evaluate(columns, as_of_micros)?;
                }
                result
            }
            Condition::Any(children) => {
                let mut result = BooleanBuffer::new_unset(rows);
                for child in children {
                    result = &result | &child.evaluate(columns, as_of_micros)?;
                }
                result
            }
            Condition::Not(child) => !&child.evaluate(columns, as_of_micros)?,
            Condition::Leaf { field, test } => {
                let column = columns.get(field)?;
                evaluate_leaf(&test.0, column, rows, as_of_micros)?
            }
        })
    }

    /// The fields the tree reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect_fields(&mut names);
        names.sort_unstable();
        names.dedup();
        names
    }

    fn collect_fields<'a>(&'a self, names: &mut Vec<&'a str>) {
        match self {
            Condition::All(children) | Condition::Any(children) => {
                children.iter().for_each(|child| child.collect_fields(names));
            }
            Condition::Not(child) => child.collect_fields(names),
            Condition::Leaf { field, .. } => names.push(field),
        }
    }
}
