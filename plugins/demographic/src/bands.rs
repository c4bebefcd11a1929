//! Bands mode: each customer in the combination of its band on every dimension.

use crate::fields;
use kindred_plugin_sdk::arrow_array::cast::AsArray;
use kindred_plugin_sdk::arrow_array::{Array, Float64Array, RecordBatch};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Customers, StrategyError, StrategyResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The default age edges, in years.
pub const DEFAULT_AGE_EDGES: [f64; 6] = [18.0, 25.0, 35.0, 45.0, 55.0, 65.0];

/// The fields a dimension can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DimensionField {
    Age,
    Gender,
    Income,
    Education,
    Occupation,
    Country,
    Region,
    City,
    Lifestyle,
}

impl DimensionField {
    /// The field's name in the parameters and the customers table.
    pub fn name(self) -> &'static str {
        match self {
            DimensionField::Age => "age",
            DimensionField::Gender => "gender",
            DimensionField::Income => "income",
            DimensionField::Education => "education",
            DimensionField::Occupation => "occupation",
            DimensionField::Country => "country",
            DimensionField::Region => "region",
            DimensionField::City => "city",
            DimensionField::Lifestyle => "lifestyle",
        }
    }
}

/// One dimension as the parameters give it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DimensionParam {
    /// A field, cut the default way (age in the usual bands, income in quartiles).
    Field(DimensionField),
    /// A field and how to cut it.
    Cut(DimensionCut),
}

/// A dimension with its options.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionCut {
    /// The field.
    pub field: DimensionField,
    /// Age or income: where each band starts, ascending.
    #[schemars(length(min = 1))]
    pub edges: Option<Vec<f64>>,
    /// Age or income: this many bands of equal size, cut where fit finds them.
    #[schemars(range(min = 2, max = 100))]
    pub quantiles: Option<u32>,
    /// Lifestyle: the tags that name a band, in order of preference (any tag when empty).
    pub tags: Option<Vec<String>>,
}

/// How a numeric dimension is cut.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Cuts {
    /// Given edges: a band starts at each.
    Edges(Vec<f64>),
    /// `k` bands of equal size, cut where fit says.
    Quantiles { k: usize, learned: Vec<f64> },
}

/// One dimension.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Dimension {
    /// Age or income.
    Numeric { field: String, cuts: Cuts },
    /// A text field: its value is its band.
    Categorical { field: String },
    /// Lifestyle: the first of `tags` the customer has (any tag, alphabetically first, when
    /// `tags` is empty).
    Lifestyle { tags: Vec<String> },
}

fn edges(given: &[f64], path: &str) -> StrategyResult<Vec<f64>> {
    if given.is_empty() {
        return Err(StrategyError::param(path, "must be a non-empty list of ascending numbers"));
    }
    for (index, edge) in given.iter().enumerate() {
        if !edge.is_finite() {
            return Err(StrategyError::param(format!("{path}/{index}"), "must be a number"));
        }
        if index > 0 && given[index - 1] >= *edge {
            return Err(StrategyError::param(format!("{path}/{index}"), "edges must ascend"));
        }
    }
    Ok(given.to_vec())
}

impl Dimension {
    /// The dimension the parameter at `path` gives, its options checked against its field.
    pub fn from_param(param: &DimensionParam, path: &str) -> StrategyResult<Self> {
        let cut = match param {
            DimensionParam::Field(field) => {
                DimensionCut { field: *field, edges: None, quantiles: None, tags: None }
            }
            DimensionParam::Cut(cut) => cut.clone(),
        };
        let name = cut.field.name();
        let misplaced = match cut.field {
            DimensionField::Age | DimensionField::Income => cut.tags.is_some().then_some("tags"),
            DimensionField::Lifestyle => {
                (cut.edges.is_some().then_some("edges")).or(cut.quantiles.is_some().then_some("quantiles"))
            }
            _ => (cut.edges.is_some().then_some("edges"))
                .or(cut.quantiles.is_some().then_some("quantiles"))
                .or(cut.tags.is_some().then_some("tags")),
        };
        if let Some(option) = misplaced {
            return Err(StrategyError::param(
                format!("{path}/{option}"),
                format!("not an option of {name:?}"),
            ));
        }
        Ok(match cut.field {
            DimensionField::Age | DimensionField::Income => {
                let cuts = match (&cut.edges, cut.quantiles) {
                    (Some(_), Some(_)) => {
                        return Err(StrategyError::param(path, "give edges or quantiles, not both"));
                    }
                    (Some(given), None) => Cuts::Edges(edges(given, &format!("{path}/edges"))?),
                    (None, Some(k)) if (2..=100).contains(&k) => {
                        Cuts::Quantiles { k: k as usize, learned: Vec::new() }
                    }
                    (None, Some(_)) => {
                        return Err(StrategyError::param(
                            format!("{path}/quantiles"),
                            "must be a whole number from 2 to 100",
                        ));
                    }
                    (None, None) if cut.field == DimensionField::Age => {
                        Cuts::Edges(DEFAULT_AGE_EDGES.to_vec())
                    }
                    (None, None) => Cuts::Quantiles { k: 4, learned: Vec::new() },
                };
                Dimension::Numeric { field: name.to_owned(), cuts }
            }
            DimensionField::Lifestyle => Dimension::Lifestyle { tags: cut.tags.unwrap_or_default() },
            _ => Dimension::Categorical { field: name.to_owned() },
        })
    }

    /// The dimension's field.
    pub fn field(&self) -> &str {
        match self {
            Dimension::Numeric { field, .. } | Dimension::Categorical { field } => field,
            Dimension::Lifestyle { .. } => "lifestyle",
        }
    }

    /// The numeric values of this dimension for a batch (age at `today`, or income).
    fn numbers(&self, customers: &Customers<'_>, today: i32) -> StrategyResult<Float64Array> {
        match self.field() {
            "age" => fields::ages(customers, today),
            _ => Ok(customers.income()?.clone()),
        }
    }

    /// Learns quantile cut points from the whole population.
    pub fn fit(&mut self, batches: &[Customers<'_>], today: i32) -> StrategyResult<()> {
        let mut values = Vec::new();
        for customers in batches {
            values.extend(self.numbers(customers, today)?.iter().flatten());
        }
        if let Dimension::Numeric { cuts: Cuts::Quantiles { k, learned }, .. } = self {
            values.sort_by(f64::total_cmp);
            *learned = (1..*k).filter_map(|i| values.get(i * values.len() / *k).copied()).collect();
            learned.dedup();
        }
        Ok(())
    }

    /// The band of every row of a batch, as codes into a list of labels (so a batch costs
    /// one label per distinct band, not one per row).
    pub fn bands(&self, customers: &Customers<'_>, today: i32) -> StrategyResult<Banded> {
        let rows = customers.len();
        let field = self.field();
        let mut banded = Banded::default();
        match self {
            Dimension::Numeric { cuts, .. } => {
                let numbers = self.numbers(customers, today)?;
                let positions = match cuts {
                    Cuts::Edges(edges) => edges.len() + 1,
                    Cuts::Quantiles { learned, .. } => learned.len() + 1,
                };
                // Code 0 is "unknown", code 1 + p the p-th band.
                let mut names: Vec<Option<String>> = vec![None; positions + 1];
                names[0] = Some(format!("{field} unknown"));
                for row in 0..rows {
                    let code = if numbers.is_null(row) {
                        0
                    } else {
                        let value = numbers.value(row);
                        let position = band_position(cuts, value);
                        names[position + 1].get_or_insert_with(|| numeric_band(field, cuts, value));
                        position + 1
                    };
                    banded.codes.push(code as u32);
                }
                banded.names = names.into_iter().map(Option::unwrap_or_default).collect();
            }
            Dimension::Categorical { .. } => {
                let batch: &RecordBatch = customers.batch();
                let column = batch
                    .column_by_name(field)
                    .ok_or_else(|| StrategyError::new(format!("input column {field:?} is missing")))?;
                let texts = column
                    .as_string_opt::<i32>()
                    .ok_or_else(|| StrategyError::new(format!("{field} is not text")))?;
                let unknown = format!("{field} unknown");
                let mut interner = Interner::default();
                for row in 0..rows {
                    let label = if texts.is_null(row) { unknown.as_str() } else { texts.value(row) };
                    banded.codes.push(interner.code(label));
                }
                banded.names = interner.names;
            }
            Dimension::Lifestyle { tags } => {
                let lists = customers.lifestyle()?;
                let values = lists
                    .values()
                    .as_string_opt::<i32>()
                    .ok_or_else(|| StrategyError::new("lifestyle is not a list of text"))?;
                let offsets = lists.value_offsets();
                let mut interner = Interner::default();
                for row in 0..rows {
                    let held = (offsets[row] as usize..offsets[row + 1] as usize)
                        .filter(|index| values.is_valid(*index))
                        .map(|index| values.value(index));
                    let label = if lists.is_null(row) {
                        None
                    } else if tags.is_empty() {
                        held.min()
                    } else {
                        let held: Vec<&str> = held.collect();
                        if held.is_empty() {
                            None
                        } else {
                            Some(
                                tags.iter()
                                    .map(String::as_str)
                                    .find(|tag| held.contains(tag))
                                    .unwrap_or("other lifestyle"),
                            )
                        }
                    };
                    banded.codes.push(interner.code(label.unwrap_or("lifestyle unknown")));
                }
                banded.names = interner.names;
            }
        }
        Ok(banded)
    }

    /// What fit learned about this dimension, for the model.
    pub fn model(&self) -> Value {
        match self {
            Dimension::Numeric { field, cuts: Cuts::Edges(edges) } => {
                json!({ "field": field, "edges": edges })
            }
            Dimension::Numeric { field, cuts: Cuts::Quantiles { k, learned } } => {
                json!({ "field": field, "quantiles": k, "cut_points": learned })
            }
            Dimension::Categorical { field } => json!({ "field": field }),
            Dimension::Lifestyle { tags } => json!({ "field": "lifestyle", "tags": tags }),
        }
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value}") }
}

/// Each row's band on one dimension: `names[codes[row]]`.
#[derive(Debug, Default)]
pub struct Banded {
    /// A code per row.
    pub codes: Vec<u32>,
    /// The label of each code.
    pub names: Vec<String>,
}

/// Gives each distinct label a code, allocating once per label.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Interner {
    codes: std::collections::HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn code(&mut self, label: &str) -> u32 {
        if let Some(code) = self.codes.get(label) {
            return *code;
        }
        let code = self.names.len() as u32;
        self.codes.insert(label.to_owned(), code);
        self.names.push(label.to_owned());
        code
    }
}

/// Which band `value` falls in on a numeric dimension (0 is the lowest).
fn band_position(cuts: &Cuts, value: f64) -> usize {
    match cuts {
        Cuts::Quantiles { learned, .. } => learned.iter().filter(|cut| value >= **cut).count(),
        Cuts::Edges(edges) => edges.iter().position(|edge| value < *edge).unwrap_or(edges.len()),
    }
}

/// The label of `value`'s band on a numeric dimension.
fn numeric_band(field: &str, cuts: &Cuts, value: f64) -> String {
    match cuts {
        Cuts::Quantiles { learned, .. } => {
            let band = learned.iter().filter(|cut| value >= **cut).count() + 1;
            format!("{field} Q{band}")
        }
        Cuts::Edges(edges) => {
            let prefix = if field == "age" { String::new() } else { format!("{field} ") };
            match edges.iter().position(|edge| value < *edge) {
                Some(0) => format!("{prefix}under {}", number(edges[0])),
                Some(index) if field == "age" => {
                    format!("{}-{}", number(edges[index - 1]), number(edges[index] - 1.0))
                }
                Some(index) => format!("{prefix}{}-{}", number(edges[index - 1]), number(edges[index])),
                None => format!("{prefix}{}+", number(edges.last().copied().unwrap_or(0.0))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_labels() {
        let age = Cuts::Edges(DEFAULT_AGE_EDGES.to_vec());
        assert_eq!(numeric_band("age", &age, 17.0), "under 18");
        assert_eq!(numeric_band("age", &age, 30.0), "25-34");
        assert_eq!(numeric_band("age", &age, 70.0), "65+");
        let income = Cuts::Edges(vec![20_000.0, 50_000.0]);
        assert_eq!(numeric_band("income", &income, 30_000.0), "income 20000-50000");
        let quartiles = Cuts::Quantiles { k: 4, learned: vec![10.0, 20.0, 30.0] };
        assert_eq!(numeric_band("income", &quartiles, 5.0), "income Q1");
        assert_eq!(numeric_band("income", &quartiles, 30.0), "income Q4");
    }

    fn dimension(param: Value, path: &str) -> StrategyResult<Dimension> {
        let param: DimensionParam = kindred_plugin_sdk::params::parse(&param)?;
        Dimension::from_param(&param, path)
    }

    #[test]
    fn dimensions_are_checked_with_paths() {
        assert!(matches!(dimension(json!("gender"), "/d/0"), Ok(Dimension::Categorical { .. })));
        assert!(dimension(json!("shoe_size"), "/dimensions/0").is_err(), "unknown field");
        let error =
            dimension(json!({ "field": "age", "edges": [30, 20] }), "/dimensions/1").expect_err("order");
        assert!(error.message().contains("/dimensions/1/edges/1"), "{error}");
        let error =
            dimension(json!({ "field": "gender", "quantiles": 3 }), "/dimensions/2").expect_err("option");
        assert!(error.message().contains("/dimensions/2/quantiles"), "{error}");
        let error =
            dimension(json!({ "field": "income", "quantiles": 1 }), "/dimensions/0").expect_err("range");
        assert!(error.message().contains("/dimensions/0/quantiles"), "{error}");
    }
}
