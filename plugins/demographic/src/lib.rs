//! The demographic strategy: customers in age bands computed from their birth date at the
//! as-of date. (Issue 4 grows it into bands over many dimensions and rules.)

use kindred_plugin_sdk::arrow_array::Array as _;
use kindred_plugin_sdk::dates::age_in_years;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{
    Assignments, Description, Input, SegmentationStrategy, StrategyError, StrategyResult, Table,
    export_strategy,
};

/// The default age band edges, in years.
pub const DEFAULT_AGE_EDGES: [u32; 6] = [18, 25, 35, 45, 55, 65];

/// Segments customers into age bands.
#[derive(Debug, Clone)]
pub struct Demographic {
    edges: Vec<u32>,
}

impl Demographic {
    /// The label of the band holding `age`.
    fn band(&self, age: u32) -> String {
        match self.edges.iter().position(|edge| age < *edge) {
            Some(0) => format!("under {}", self.edges[0]),
            Some(index) => format!("{}-{}", self.edges[index - 1], self.edges[index] - 1),
            None => format!("{}+", self.edges.last().copied().unwrap_or(0)),
        }
    }
}

impl SegmentationStrategy for Demographic {
    const NAME: &'static str = "demographic";

    fn describe() -> Description {
        Description::new(
            "Demographic segments: customers in age bands from their birth date at the as-of date.",
        )
        .params_schema(json!({
            "type": "object",
            "properties": {
                "age_edges": {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 1, "maximum": 150 },
                    "minItems": 1,
                    "description": "Ages where a new band starts, ascending (default 18, 25, 35, 45, 55, 65)."
                }
            },
            "additionalProperties": false
        }))
        .reads(Table::Customers, &["birth_date"])
    }

    fn create(params: &Value) -> StrategyResult<Self> {
        let edges = match params.get("age_edges") {
            None => DEFAULT_AGE_EDGES.to_vec(),
            Some(Value::Array(items)) => {
                let mut edges = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let edge = item
                        .as_u64()
                        .and_then(|edge| u32::try_from(edge).ok())
                        .filter(|edge| (1..=150).contains(edge))
                        .ok_or_else(|| {
                            StrategyError::param(
                                &format!("/age_edges/{index}"),
                                "must be an age from 1 to 150",
                            )
                        })?;
                    if edges.last().is_some_and(|last| *last >= edge) {
                        return Err(StrategyError::param(
                            &format!("/age_edges/{index}"),
                            "edges must ascend",
                        ));
                    }
                    edges.push(edge);
                }
                if edges.is_empty() {
                    return Err(StrategyError::param("/age_edges", "needs at least one edge"));
                }
                edges
            }
            Some(_) => return Err(StrategyError::param("/age_edges", "must be an array of ages")),
        };
        Ok(Self { edges })
    }

    fn fit(&mut self, _population: &Input) -> StrategyResult<()> {
        Ok(()) // the edges are given; nothing to learn
    }

    fn assign(&self, batch: &Input, out: &mut Assignments) -> StrategyResult<()> {
        let today = batch.as_of_day();
        for customers in batch.customers() {
            let (ids, births) = (customers.id()?, customers.birth_date()?);
            for row in 0..customers.len() {
                let age = (!births.is_null(row)).then(|| age_in_years(births.value(row), today)).flatten();
                let segment = age.map_or_else(|| "age unknown".to_owned(), |age| self.band(age));
                out.push(ids.value(row), &segment, age.map(f64::from));
            }
        }
        Ok(())
    }

    fn model(&self) -> Value {
        json!({ "age_edges": self.edges })
    }
}

export_strategy!(Demographic);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_bad_params() {
        let strategy = Demographic::create(&json!({})).expect("defaults");
        assert_eq!(strategy.band(17), "under 18");
        assert_eq!(strategy.band(30), "25-34");
        assert_eq!(strategy.band(70), "65+");
        let error = Demographic::create(&json!({ "age_edges": [30, 20] })).expect_err("descending");
        assert!(error.message().contains("/age_edges/1"), "{error}");
    }
}
