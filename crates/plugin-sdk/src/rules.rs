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

use crate::StrategyError;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, ListArray, StringArray};
use arrow_buffer::BooleanBuffer;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

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

/// A moment in a rule: fixed, or relative to the as-of moment of each evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moment {
    /// Microseconds since the Unix epoch.
    Fixed(i64),
    /// The as-of moment plus this many microseconds.
    Relative(i64),
}

impl Moment {
    fn at(self, as_of_micros: i64) -> i64 {
        match self {
            Moment::Fixed(micros) => micros,
            Moment::Relative(offset) => as_of_micros.saturating_add(offset),
        }
    }

    fn parse(value: &Value, path: &str) -> Result<Self, RuleError> {
        let Some(text) = value.as_str() else {
            return refuse(path, "expected a date (YYYY-MM-DD), an RFC 3339 time, or now-30d");
        };
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("now") {
            if rest.is_empty() {
                return Ok(Moment::Relative(0));
            }
            let (sign, amount) = match rest.split_at(1) {
                ("-", amount) => (-1, amount),
                ("+", amount) => (1, amount),
                _ => return refuse(path, format!("{text:?}: write now, now-30d or now+2w")),
            };
            let (number, unit) = amount.split_at(amount.len().saturating_sub(1));
            let count: i64 = number.parse().map_err(|_| RuleError {
                path: path.to_owned(),
                reason: format!("{text:?}: expected a whole number before the unit"),
            })?;
            let unit_micros = match unit {
                "h" => MICROS_PER_DAY / 24,
                "d" => MICROS_PER_DAY,
                "w" => 7 * MICROS_PER_DAY,
                "y" => 365 * MICROS_PER_DAY + MICROS_PER_DAY / 4,
                _ => return refuse(path, format!("{text:?}: the unit must be h, d, w or y")),
            };
            return Ok(Moment::Relative(sign * count.saturating_mul(unit_micros)));
        }
        parse_time(text).map(Moment::Fixed).ok_or_else(|| RuleError {
            path: path.to_owned(),
            reason: format!("{text:?} is not a date (YYYY-MM-DD), an RFC 3339 time, or now-30d"),
        })
    }
}

/// Days since the Unix epoch of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Microseconds since the Unix epoch of `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time
/// (`YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`); `None` for anything else, including impossible dates.
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i64 = text.get(0..4)?.parse().ok()?;
    let month: u32 = text.get(5..7)?.parse().ok()?;
    let day: u32 = text.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if crate::dates::civil_from_days(i32::try_from(days).ok()?) != (year, month, day) {
        return None; // 2025-02-30 and the like
    }
    let mut micros = days * MICROS_PER_DAY;
    if bytes.len() == 10 {
        return Some(micros);
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.len() < 19 {
        return None;
    }
    let hour: i64 = text.get(11..13)?.parse().ok()?;
    let minute: i64 = text.get(14..16)?.parse().ok()?;
    let second: i64 = text.get(17..19)?.parse().ok()?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    micros += ((hour * 60 + minute) * 60 + second) * 1_000_000;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        let scaled: String = fraction[..digits].chars().chain(std::iter::repeat('0')).take(6).collect();
        micros += scaled.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    match rest {
        "Z" | "z" => Some(micros),
        offset if offset.len() == 6 && (offset.starts_with('+') || offset.starts_with('-')) => {
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            let shift = (hours * 60 + minutes) * 60_000_000;
            Some(if offset.starts_with('+') { micros - shift } else { micros + shift })
        }
        _ => None,
    }
}

/// What a leaf tests, with its value parsed for the field's type.
#[derive(Debug, Clone, PartialEq)]
enum Test {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
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

    fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextOp {
    Eq,
    Ne,
    Contains,
    StartsWith,
}

/// A checked condition tree.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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

/// The columns a tree is evaluated over: one Arrow array per field (two for a location),
/// all of the same length.
#[derive(Debug, Clone, Default)]
pub struct RuleColumns {
    rows: usize,
    columns: HashMap<String, Vec<ArrayRef>>,
}

impl RuleColumns {
    /// Columns of `rows` rows.
    pub fn new(rows: usize) -> Self {
        Self { rows, columns: HashMap::new() }
    }

    /// Binds field `name` to `array` (Float64, Utf8, Boolean, Date32, Timestamp(µs) or
    /// List(Utf8), as the field's type says).
    pub fn with(mut self, name: &str, array: ArrayRef) -> Self {
        self.columns.insert(name.to_owned(), vec![array]);
        self
    }

    /// Binds location field `name` to latitude and longitude columns (Float64).
    pub fn with_location(mut self, name: &str, lat: ArrayRef, lon: ArrayRef) -> Self {
        self.columns.insert(name.to_owned(), vec![lat, lon]);
        self
    }

    /// How many rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn get(&self, name: &str) -> Result<&[ArrayRef], StrategyError> {
        let arrays = self
            .columns
            .get(name)
            .ok_or_else(|| StrategyError::new(format!("rule field {name:?} has no column bound")))?;
        if arrays.iter().any(|array| array.len() != self.rows) {
            return Err(StrategyError::new(format!("rule field {name:?} has a column of another length")));
        }
        Ok(arrays)
    }
}

fn wrong_type(array: &ArrayRef) -> StrategyError {
    StrategyError::new(format!("rule column has type {}, not the field's", array.data_type()))
}

fn present(array: &dyn Array, rows: usize, want: bool) -> BooleanBuffer {
    BooleanBuffer::collect_bool(rows, |row| array.is_valid(row) == want)
}

fn evaluate_leaf(
    test: &Test,
    arrays: &[ArrayRef],
    rows: usize,
    as_of: i64,
) -> Result<BooleanBuffer, StrategyError> {
    let first = &arrays[0];
    match test {
        Test::Exists | Test::Missing => {
            let want = matches!(test, Test::Exists);
            // A location exists when both coordinates do.
            let both =
                BooleanBuffer::collect_bool(rows, |row| arrays.iter().all(|array| array.is_valid(row)));
            if arrays.len() > 1 {
                return Ok(if want { both } else { !&both });
            }
            Ok(present(first.as_ref(), rows, want))
        }
        Test::Number { .. } | Test::NumberBetween(..) | Test::NumberIn(..) => {
            let numbers = first.as_primitive_opt::<Float64Type>().ok_or_else(|| wrong_type(first))?;
            let holds = |n: f64| match test {
                Test::Number { op, value } => op.holds(n, *value),
                Test::NumberBetween(low, high) => *low <= n && n <= *high,
                Test::NumberIn(values, wanted) => values.contains(&n) == *wanted,
                _ => false,
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| numbers.is_valid(row) && holds(numbers.value(row))))
        }
        Test::Text { .. } | Test::TextIn(..) => {
            let texts: &StringArray = first.as_string_opt::<i32>().ok_or_else(|| wrong_type(first))?;
            let holds = |text: &str| match test {
                Test::Text { op: TextOp::Eq, value } => text == value,
                Test::Text { op: TextOp::Ne, value } => text != value,
                Test::Text { op: TextOp::Contains, value } => text.contains(value.as_str()),
                Test::Text { op: TextOp::StartsWith, value } => text.starts_with(value.as_str()),
                Test::TextIn(values, wanted) => values.iter().any(|v| v == text) == *wanted,
                _ => false,
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| texts.is_valid(row) && holds(texts.value(row))))
        }
        Test::Boolean { equal, value } => {
            let flags: &BooleanArray = first.as_boolean_opt().ok_or_else(|| wrong_type(first))?;
            Ok(BooleanBuffer::collect_bool(rows, |row| {
                flags.is_valid(row) && (flags.value(row) == *value) == *equal
            }))
        }
        Test::Time { .. } | Test::TimeBetween(..) => {
            // Dates compare by day: a moment is turned into its UTC day.
            let (values, scale): (Vec<Option<i64>>, bool) =
                if let Some(days) = first.as_primitive_opt::<Date32Type>() {
                    (days.iter().map(|day| day.map(i64::from)).collect(), true)
                } else if let Some(times) = first.as_primitive_opt::<TimestampMicrosecondType>() {
                    (times.iter().collect(), false)
                } else {
                    return Err(wrong_type(first));
                };
            let resolve = |moment: &Moment| {
                let micros = moment.at(as_of);
                if scale { micros.div_euclid(MICROS_PER_DAY) } else { micros }
            };
            let holds: Box<dyn Fn(i64) -> bool> = match test {
                Test::Time { op, value } => {
                    let (op, bound) = (*op, resolve(value));
                    Box::new(move |v| op.holds(v, bound))
                }
                Test::TimeBetween(from, to) => {
                    let (from, to) = (resolve(from), resolve(to));
                    Box::new(move |v| from <= v && v <= to)
                }
                _ => Box::new(|_| false),
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| values[row].is_some_and(&holds)))
        }
        Test::TagsContain(_) | Test::TagsAny(..) => {
            let lists: &ListArray = first.as_list_opt::<i32>().ok_or_else(|| wrong_type(first))?;
            let strings = lists.values().as_string_opt::<i32>().ok_or_else(|| wrong_type(first))?;
            let offsets = lists.value_offsets();
            let has = |row: usize, tag: &str| {
                (offsets[row] as usize..offsets[row + 1] as usize)
                    .any(|i| strings.is_valid(i) && strings.value(i) == tag)
            };
            Ok(BooleanBuffer::collect_bool(rows, |row| {
                if lists.is_null(row) {
                    return matches!(test, Test::TagsAny(_, false));
                }
                match test {
                    Test::TagsContain(tag) => has(row, tag),
                    Test::TagsAny(tags, wanted) => tags.iter().any(|tag| has(row, tag)) == *wanted,
                    _ => false,
                }
            }))
        }
        Test::Within { lat, lon, km } => {
            let [lats, lons] = arrays else {
                return Err(StrategyError::new("a location needs latitude and longitude"));
            };
            let lats = lats.as_primitive_opt::<Float64Type>().ok_or_else(|| wrong_type(lats))?;
            let lons = lons.as_primitive_opt::<Float64Type>().ok_or_else(|| wrong_type(lons))?;
            Ok(BooleanBuffer::collect_bool(rows, |row| {
                lats.is_valid(row)
                    && lons.is_valid(row)
                    && haversine_km(*lat, *lon, lats.value(row), lons.value(row)) <= *km
            }))
        }
    }
}

/// Great-circle distance in kilometres (mean Earth radius 6,371.0088 km).
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let (d_phi, d_lambda) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * 6_371.008_8 * a.sqrt().asin()
}
