//! The need-based strategy's parameters.

use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{StrategyError, StrategyResult};
use std::collections::BTreeMap;

/// Default strength of each tie kind: the people one lives with and friends count most.
pub const TIE_FACTORS: [(&str, f64); 6] = [
    ("household", 1.5),
    ("friend", 1.0),
    ("colleague", 0.7),
    ("referred", 0.6),
    ("conversation", 0.4),
    ("follows", 0.3),
];

/// Default share of the graph's weight from shared needs. Ties are the stronger evidence of a
/// community; needs connect the customers ties miss and pull together circles that share
/// them. On the demo data, 0.2 keeps NMI with the planted communities at about 0.95.
pub const DEFAULT_NEEDS_SHARE: f64 = 0.2;

/// Default Leiden resolution. Above 1 because the communities that matter here are circles
/// of a few dozen people, which modularity at 1 merges as the graph grows (its resolution
/// limit).
pub const DEFAULT_RESOLUTION: f64 = 1.5;

/// How the graph is built and cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Ties become edges.
    pub use_ties: bool,
    /// Shared needs become edges.
    pub use_needs: bool,
    /// Need-sharing neighbours kept per customer.
    pub need_neighbors: usize,
    /// Factor of each tie kind (kinds not listed: `other_tie_factor`).
    pub tie_factors: BTreeMap<String, f64>,
    /// Factor of tie kinds not in `tie_factors`.
    pub other_tie_factor: f64,
    /// Share of the graph's weight that comes from shared needs when both sources are used.
    pub needs_share: f64,
    /// Leiden's resolution.
    pub resolution: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Communities smaller than this are "small groups".
    pub min_size: usize,
    /// A need names a community only if at least this share of its members has it.
    pub min_support: f64,
    /// A need names a community only if it is at least this many times more common there
    /// than in the whole population.
    pub min_lift: f64,
    /// Needs in a community's label.
    pub label_needs: usize,
}

fn flag(params: &Value, key: &str, default: bool) -> StrategyResult<bool> {
    params.get(key).map_or(Ok(default), |value| {
        value.as_bool().ok_or_else(|| StrategyError::param(&format!("/{key}"), "must be true or false"))
    })
}

fn count(params: &Value, key: &str, default: usize, least: u64) -> StrategyResult<usize> {
    params.get(key).map_or(Ok(default), |value| {
        value.as_u64().filter(|n| *n >= least).and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
            StrategyError::param(&format!("/{key}"), format!("must be a whole number, at least {least}"))
        })
    })
}

fn number(
    params: &Value,
    key: &str,
    default: f64,
    valid: impl Fn(f64) -> bool,
    rule: &str,
) -> StrategyResult<f64> {
    params.get(key).map_or(Ok(default), |value| {
        value
            .as_f64()
            .filter(|n| n.is_finite() && valid(*n))
            .ok_or_else(|| StrategyError::param(&format!("/{key}"), rule))
    })
}

impl Settings {
    /// Settings from the parameters, refusing bad ones with their JSON path.
    pub fn parse(params: &Value) -> StrategyResult<Self> {
        let mut tie_factors: BTreeMap<String, f64> =
            TIE_FACTORS.iter().map(|(kind, factor)| ((*kind).to_owned(), *factor)).collect();
        let mut other_tie_factor = 0.5;
        if let Some(given) = params.get("tie_factors") {
            let given = given.as_object().ok_or_else(|| {
                StrategyError::param("/tie_factors", "must be an object: tie kind -> factor")
            })?;
            for (kind, factor) in given {
                let factor = factor.as_f64().filter(|f| f.is_finite() && *f >= 0.0).ok_or_else(|| {
                    StrategyError::param(&format!("/tie_factors/{kind}"), "must be a number, 0 or more")
                })?;
                if kind == "other" {
                    other_tie_factor = factor;
                } else {
                    tie_factors.insert(kind.clone(), factor);
                }
            }
        }
        let settings = Self {
            use_ties: flag(params, "use_ties", true)?,
            use_needs: flag(params, "use_needs", true)?,
            need_neighbors: count(params, "need_neighbors", 10, 1)?,
            tie_factors,
            other_tie_factor,
            needs_share: number(
                params,
                "needs_share",
                DEFAULT_NEEDS_SHARE,
                |n| (0.0..=1.0).contains(&n),
                "must be between 0 and 1",
            )?,
            resolution: number(
                params,
                "resolution",
                DEFAULT_RESOLUTION,
                |n| n > 0.0,
                "must be a positive number",
            )?,
            seed: params.get("seed").map_or(Ok(42), |seed| {
                seed.as_u64()
                    .ok_or_else(|| StrategyError::param("/seed", "must be a whole number, 0 or more"))
            })?,
            min_size: count(params, "min_size", 10, 1)?,
            min_support: number(
                params,
                "min_support",
                0.2,
                |n| n > 0.0 && n <= 1.0,
                "must be above 0 and at most 1",
            )?,
            min_lift: number(params, "min_lift", 1.5, |n| n >= 1.0, "must be a number, at least 1")?,
            label_needs: count(params, "label_needs", 2, 1)?,
        };
        if !settings.use_ties && !settings.use_needs {
            return Err(StrategyError::param("/use_needs", "use_ties and use_needs cannot both be false"));
        }
        Ok(settings)
    }

    /// The factor of a tie of `kind`.
    pub fn tie_factor(&self, kind: &str) -> f64 {
        self.tie_factors.get(kind).copied().unwrap_or(self.other_tie_factor)
    }

    /// The parameters' JSON Schema.
    pub fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "use_ties": { "type": "boolean", "default": true },
                "use_needs": { "type": "boolean", "default": true },
                "need_neighbors": { "type": "integer", "minimum": 1, "default": 10, "description": "Need-sharing neighbours kept per customer." },
                "tie_factors": { "type": "object", "additionalProperties": { "type": "number", "minimum": 0 }, "description": "Strength of each tie kind (household 1.5, friend 1, colleague 0.7, referred 0.6, conversation 0.4, follows 0.3; \"other\" 0.5)." },
                "needs_share": { "type": "number", "minimum": 0, "maximum": 1, "default": 0.2, "description": "Share of the graph's weight from shared needs when both sources are used." },
                "resolution": { "type": "number", "exclusiveMinimum": 0, "default": 1.5 },
                "seed": { "type": "integer", "minimum": 0, "default": 42 },
                "min_size": { "type": "integer", "minimum": 1, "default": 10 },
                "min_support": { "type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.2 },
                "min_lift": { "type": "number", "minimum": 1, "default": 1.5 },
                "label_needs": { "type": "integer", "minimum": 1, "default": 2 }
            },
            "additionalProperties": false
        })
    }
}
