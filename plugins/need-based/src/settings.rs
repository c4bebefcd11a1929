//! The need-based strategy's parameters.

use crate::communities::leiden::Objective;
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

/// Default resolution under modularity. Above 1 because the communities that matter here are
/// circles of a few dozen people, which modularity at 1 merges as the graph grows (its
/// resolution limit, which CPM does not have).
pub const DEFAULT_MODULARITY_RESOLUTION: f64 = 1.5;

/// Under CPM, by default a community must be at least this share as tightly knit as the
/// circle around a typical customer (the mean density of the ties between a customer's
/// contacts). Measured on planted communities from 10,000 to 1,000,000 customers, sparse and
/// dense, anywhere from a twentieth to a fifth finds them; a tenth sits in the middle.
pub const DEFAULT_DENSITY_SHARE: f64 = 0.1;

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
    /// What Leiden maximises.
    pub objective: Objective,
    /// Leiden's resolution; `None`: derived (CPM) or [`DEFAULT_MODULARITY_RESOLUTION`].
    pub resolution: Option<f64>,
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
    /// Listening: needs heard in what customers write, when on.
    pub listening: Option<ListenSettings>,
}

/// How needs are heard in what customers write.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenSettings {
    /// Need tag → words and phrases that signal it (besides the tag's own words).
    pub vocabulary: BTreeMap<String, Vec<String>>,
    /// Interaction kinds whose text is read.
    pub kinds: Vec<String>,
    /// Days after which a mention counts half as much.
    pub half_life_days: f64,
    /// Heard needs weaker than this are dropped.
    pub min_weight: f64,
}

/// Interaction kinds read by default when listening.
pub const LISTEN_KINDS: [&str; 3] = ["post", "review", "mention"];

/// A JSON Pointer token for `key` (RFC 6901: `~` as `~0`, `/` as `~1`).
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl ListenSettings {
    /// The listening settings, or `None` when `listen` is off.
    fn parse(params: &Value) -> StrategyResult<Option<Self>> {
        if !flag(params, "listen", false)? {
            return Ok(None);
        }
        let mut vocabulary = BTreeMap::new();
        if let Some(given) = params.get("vocabulary") {
            let given = given.as_object().ok_or_else(|| {
                StrategyError::param(
                    "/vocabulary",
                    "must be an object: need tag -> list of words and phrases",
                )
            })?;
            for (tag, phrases) in given {
                let at = format!("/vocabulary/{}", pointer_token(tag));
                if tag.trim().is_empty() {
                    return Err(StrategyError::param(&at, "a need tag cannot be empty"));
                }
                let phrases = phrases
                    .as_array()
                    .ok_or_else(|| StrategyError::param(&at, "must be a list of words and phrases"))?;
                let mut list = Vec::with_capacity(phrases.len());
                for (index, phrase) in phrases.iter().enumerate() {
                    let phrase = phrase
                        .as_str()
                        .filter(|phrase| phrase.chars().any(char::is_alphanumeric))
                        .ok_or_else(|| {
                        StrategyError::param(format!("{at}/{index}"), "must be text with a letter or digit")
                    })?;
                    list.push(phrase.to_owned());
                }
                vocabulary.insert(tag.clone(), list);
            }
        }
        let kinds = match params.get("listen_kinds") {
            None => LISTEN_KINDS.iter().map(|kind| (*kind).to_owned()).collect(),
            Some(kinds) => {
                let kinds = kinds
                    .as_array()
                    .filter(|kinds| !kinds.is_empty())
                    .ok_or_else(|| StrategyError::param("/listen_kinds", "must be a non-empty list"))?;
                let mut list = Vec::with_capacity(kinds.len());
                for (index, kind) in kinds.iter().enumerate() {
                    let kind = kind.as_str().filter(|kind| !kind.trim().is_empty()).ok_or_else(|| {
                        StrategyError::param(format!("/listen_kinds/{index}"), "must be an interaction kind")
                    })?;
                    list.push(kind.to_owned());
                }
                list
            }
        };
        Ok(Some(Self {
            vocabulary,
            kinds,
            half_life_days: number(
                params,
                "listen_half_life_days",
                180.0,
                |n| n > 0.0,
                "must be a positive number",
            )?,
            min_weight: number(
                params,
                "listen_min_weight",
                0.25,
                |n| n > 0.0 && n < 1.0,
                "must be above 0 and below 1",
            )?,
        }))
    }
}

fn flag(params: &Value, key: &str, default: bool) -> StrategyResult<bool> {
    params.get(key).map_or(Ok(default), |value| {
        value.as_bool().ok_or_else(|| StrategyError::param(format!("/{key}"), "must be true or false"))
    })
}

fn count(params: &Value, key: &str, default: usize, least: u64) -> StrategyResult<usize> {
    params.get(key).map_or(Ok(default), |value| {
        value.as_u64().filter(|n| *n >= least).and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
            StrategyError::param(format!("/{key}"), format!("must be a whole number, at least {least}"))
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
            .ok_or_else(|| StrategyError::param(format!("/{key}"), rule))
    })
}

/// The objective asked for; without one, modularity when a resolution is given (what every
/// segmentation stored before CPM meant by it) and CPM otherwise.
fn objective(params: &Value) -> StrategyResult<Objective> {
    match params.get("objective") {
        None if params.get("resolution").is_some() => Ok(Objective::Modularity),
        None => Ok(Objective::Cpm),
        Some(given) => match given.as_str() {
            Some("cpm") => Ok(Objective::Cpm),
            Some("modularity") => Ok(Objective::Modularity),
            _ => Err(StrategyError::param("/objective", "must be \"cpm\" or \"modularity\"")),
        },
    }
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
                    StrategyError::param(format!("/tie_factors/{kind}"), "must be a number, 0 or more")
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
            objective: objective(params)?,
            resolution: match params.get("resolution") {
                None => None,
                Some(_) => Some(number(params, "resolution", 1.0, |n| n > 0.0, "must be a positive number")?),
            },
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
            listening: ListenSettings::parse(params)?,
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
                "objective": { "type": "string", "enum": ["cpm", "modularity"], "default": "cpm", "description": "What makes a community. cpm (Constant Potts Model): a group whose members are tied more densely than the resolution, however large the customer base; modularity: a group with more ties inside than chance would give, judged against the whole graph, so small circles merge as the base grows. Without an objective, a given resolution means modularity." },
                "resolution": { "type": "number", "exclusiveMinimum": 0, "description": "How tightly knit a community must be. Under cpm: the least tie weight per pair of members (0.05: as if one pair in twenty were friends); by default a tenth of the density of the circle around a typical customer, reported in the model as resolution_used. Under modularity: 1 is classic modularity, larger finds smaller communities; default 1.5." },
                "seed": { "type": "integer", "minimum": 0, "default": 42 },
                "min_size": { "type": "integer", "minimum": 1, "default": 10 },
                "min_support": { "type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.2 },
                "min_lift": { "type": "number", "minimum": 1, "default": 1.5 },
                "label_needs": { "type": "integer", "minimum": 1, "default": 2 },
                "listen": { "type": "boolean", "default": false, "description": "Also hear needs in what customers write (posts, reviews, mentions): hashtags, the words of each need tag, and the vocabulary." },
                "vocabulary": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string", "minLength": 1 } }, "description": "Need tag -> words and phrases that signal it, e.g. {\"trail_running\": [\"trail run\", \"singletrack\"]}." },
                "listen_kinds": { "type": "array", "items": { "type": "string", "minLength": 1 }, "minItems": 1, "default": ["post", "review", "mention"], "description": "Interaction kinds whose text is read." },
                "listen_half_life_days": { "type": "number", "exclusiveMinimum": 0, "default": 180, "description": "Days after which a mention counts half as much." },
                "listen_min_weight": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.25, "description": "Heard needs weaker than this are dropped. A need's weight is s / (1 + s), s the recency-weighted count of texts that mention it." }
            },
            "additionalProperties": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpm_by_default_and_modularity_for_a_resolution_set_before_cpm() {
        let parse = |params: Value| Settings::parse(&params).expect("valid");
        assert_eq!((parse(json!({})).objective, parse(json!({})).resolution), (Objective::Cpm, None));
        let stored = parse(json!({ "resolution": 1.5 }));
        assert_eq!((stored.objective, stored.resolution), (Objective::Modularity, Some(1.5)));
        let asked = parse(json!({ "objective": "cpm", "resolution": 0.05 }));
        assert_eq!((asked.objective, asked.resolution), (Objective::Cpm, Some(0.05)));
        let error = Settings::parse(&json!({ "objective": "louvain" })).expect_err("refused");
        assert_eq!(error.param_path().map(|(path, _)| path), Some("/objective"));
    }
}
