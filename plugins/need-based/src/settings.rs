//! The need-based strategy's parameters: one struct, read by serde and described by schemars,
//! and the checks its types cannot state.

use crate::communities::leiden::Objective;
use kindred_plugin_sdk::{StrategyError, StrategyResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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

/// How the graph is built and cut: the strategy's parameters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Ties become edges.
    pub use_ties: bool,
    /// Shared needs become edges.
    pub use_needs: bool,
    /// Need-sharing neighbours kept per customer.
    #[schemars(range(min = 1))]
    pub need_neighbors: usize,
    /// Strength of each tie kind (household 1.5, friend 1, colleague 0.7, referred 0.6,
    /// conversation 0.4, follows 0.3; "other", for kinds not listed, 0.5).
    #[schemars(extend("additionalProperties" = { "type": "number", "minimum": 0 }))]
    pub tie_factors: BTreeMap<String, f64>,
    /// Share of the graph's weight from shared needs when both sources are used.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub needs_share: f64,
    /// What makes a community. cpm (Constant Potts Model): a group whose members are tied more
    /// densely than the resolution, however large the customer base; modularity: a group with
    /// more ties inside than chance would give, judged against the whole graph, so small
    /// circles merge as the base grows. Without an objective, a given resolution means
    /// modularity, else cpm.
    pub objective: Option<Objective>,
    /// How tightly knit a community must be. Under cpm: the least tie weight per pair of
    /// members (0.05: as if one pair in twenty were friends); by default a tenth of the density
    /// of the circle around a typical customer, reported in the model as resolution_used.
    /// Under modularity: 1 is classic modularity, larger finds smaller communities; default 1.5.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub resolution: Option<f64>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Communities smaller than this are "small groups".
    #[schemars(range(min = 1))]
    pub min_size: usize,
    /// A need names a community only if at least this share of its members has it.
    #[schemars(range(max = 1.0), extend("exclusiveMinimum" = 0))]
    pub min_support: f64,
    /// A need names a community only if it is at least this many times more common there
    /// than in the whole population.
    #[schemars(range(min = 1.0))]
    pub min_lift: f64,
    /// Needs in a community's label.
    #[schemars(range(min = 1))]
    pub label_needs: usize,
    /// Also hear needs in what customers write (posts, reviews, mentions): hashtags, the words
    /// of each need tag, and the vocabulary.
    pub listen: bool,
    /// Need tag -> words and phrases that signal it, e.g.
    /// {"trail_running": ["trail run", "singletrack"]}.
    pub vocabulary: BTreeMap<String, Vec<String>>,
    /// Interaction kinds whose text is read.
    #[schemars(length(min = 1))]
    pub listen_kinds: Vec<String>,
    /// Days after which a mention counts half as much.
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub listen_half_life_days: f64,
    /// Heard needs weaker than this are dropped. A need's weight is s / (1 + s), s the
    /// recency-weighted count of texts that mention it.
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 1))]
    pub listen_min_weight: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            use_ties: true,
            use_needs: true,
            need_neighbors: 10,
            tie_factors: BTreeMap::new(),
            needs_share: DEFAULT_NEEDS_SHARE,
            objective: None,
            resolution: None,
            seed: 42,
            min_size: 10,
            min_support: 0.2,
            min_lift: 1.5,
            label_needs: 2,
            listen: false,
            vocabulary: BTreeMap::new(),
            listen_kinds: LISTEN_KINDS.iter().map(|kind| (*kind).to_owned()).collect(),
            listen_half_life_days: 180.0,
            listen_min_weight: 0.25,
        }
    }
}

/// How needs are heard in what customers write.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

impl Settings {
    /// Refuses, with its JSON Pointer, a value its type allows but the strategy cannot use.
    pub fn check(&self) -> StrategyResult<()> {
        let finite = |n: f64| n.is_finite();
        let rules: [(&str, bool, &str); 9] = [
            ("/need_neighbors", self.need_neighbors >= 1, "must be a whole number, at least 1"),
            ("/needs_share", (0.0..=1.0).contains(&self.needs_share), "must be between 0 and 1"),
            (
                "/resolution",
                self.resolution.is_none_or(|n| finite(n) && n > 0.0),
                "must be a positive number",
            ),
            ("/min_size", self.min_size >= 1, "must be a whole number, at least 1"),
            (
                "/min_support",
                self.min_support > 0.0 && self.min_support <= 1.0,
                "must be above 0 and at most 1",
            ),
            ("/min_lift", finite(self.min_lift) && self.min_lift >= 1.0, "must be a number, at least 1"),
            ("/label_needs", self.label_needs >= 1, "must be a whole number, at least 1"),
            ("/use_needs", self.use_ties || self.use_needs, "use_ties and use_needs cannot both be false"),
            (
                "/listen_half_life_days",
                !self.listen || (finite(self.listen_half_life_days) && self.listen_half_life_days > 0.0),
                "must be a positive number",
            ),
        ];
        if let Some((path, _, rule)) = rules.iter().find(|(_, holds, _)| !holds) {
            return Err(StrategyError::param(*path, *rule));
        }
        if self.listen && !(self.listen_min_weight > 0.0 && self.listen_min_weight < 1.0) {
            return Err(StrategyError::param("/listen_min_weight", "must be above 0 and below 1"));
        }
        if let Some((kind, _)) =
            self.tie_factors.iter().find(|(_, factor)| !(factor.is_finite() && **factor >= 0.0))
        {
            return Err(StrategyError::param(
                format!("/tie_factors/{}", pointer_token(kind)),
                "must be a number, 0 or more",
            ));
        }
        if !self.listen {
            return Ok(());
        }
        for (tag, phrases) in &self.vocabulary {
            let at = format!("/vocabulary/{}", pointer_token(tag));
            if tag.trim().is_empty() {
                return Err(StrategyError::param(at, "a need tag cannot be empty"));
            }
            if let Some(index) = phrases.iter().position(|phrase| !phrase.chars().any(char::is_alphanumeric))
            {
                return Err(StrategyError::param(
                    format!("{at}/{index}"),
                    "must be text with a letter or digit",
                ));
            }
        }
        if self.listen_kinds.is_empty() {
            return Err(StrategyError::param("/listen_kinds", "must be a non-empty list"));
        }
        if let Some(index) = self.listen_kinds.iter().position(|kind| kind.trim().is_empty()) {
            return Err(StrategyError::param(
                format!("/listen_kinds/{index}"),
                "must be an interaction kind",
            ));
        }
        Ok(())
    }

    /// The objective: the one asked for; without one, modularity when a resolution is given
    /// (what every segmentation stored before CPM meant by it) and CPM otherwise.
    pub fn objective(&self) -> Objective {
        match (self.objective, self.resolution) {
            (Some(objective), _) => objective,
            (None, Some(_)) => Objective::Modularity,
            (None, None) => Objective::Cpm,
        }
    }

    /// How needs are heard, when `listen` is on.
    pub fn listening(&self) -> Option<ListenSettings> {
        self.listen.then(|| ListenSettings {
            vocabulary: self.vocabulary.clone(),
            kinds: self.listen_kinds.clone(),
            half_life_days: self.listen_half_life_days,
            min_weight: self.listen_min_weight,
        })
    }

    /// The factor of a tie of `kind`: the one given, else the default for its kind, else the
    /// factor given for "other", else 0.5.
    pub fn tie_factor(&self, kind: &str) -> f64 {
        if let Some(factor) = self.tie_factors.get(kind) {
            return *factor;
        }
        TIE_FACTORS
            .iter()
            .find(|(known, _)| *known == kind)
            .map(|(_, factor)| *factor)
            .unwrap_or_else(|| self.tie_factors.get("other").copied().unwrap_or(0.5))
    }

    /// Settings from JSON parameters, checked.
    pub fn parse(params: &kindred_plugin_sdk::serde_json::Value) -> StrategyResult<Self> {
        let settings: Self = kindred_plugin_sdk::params::parse(params)?;
        settings.check()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_plugin_sdk::serde_json::{Value, json};

    #[test]
    fn cpm_by_default_and_modularity_for_a_resolution_set_before_cpm() {
        let parse = |params: Value| Settings::parse(&params).expect("valid");
        assert_eq!((parse(json!({})).objective(), parse(json!({})).resolution), (Objective::Cpm, None));
        let stored = parse(json!({ "resolution": 1.5 }));
        assert_eq!((stored.objective(), stored.resolution), (Objective::Modularity, Some(1.5)));
        let asked = parse(json!({ "objective": "cpm", "resolution": 0.05 }));
        assert_eq!((asked.objective(), asked.resolution), (Objective::Cpm, Some(0.05)));
        let error = Settings::parse(&json!({ "objective": "louvain" })).expect_err("refused");
        assert_eq!(error.param_path().map(|(path, _)| path), Some("/objective"));
    }

    #[test]
    fn tie_factors_fall_back_to_the_defaults_then_other() {
        let settings =
            Settings::parse(&json!({ "tie_factors": { "friend": 2, "other": 0.1 } })).expect("valid");
        assert_eq!(
            (settings.tie_factor("friend"), settings.tie_factor("household"), settings.tie_factor("gym")),
            (2.0, 1.5, 0.1)
        );
    }
}
