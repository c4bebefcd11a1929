//! Tier labels and shares from the parameters, shared by the value and lifetime-value methods.

use kindred_plugin_sdk::{StrategyError, StrategyResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tiers: a label per tier and the share of the total each tier but the last makes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TierSpec {
    /// Labels, best tier first.
    pub labels: Vec<String>,
    /// Share of the total of each tier but the last.
    pub shares: Vec<f64>,
}

impl TierSpec {
    /// The default tiers: the customers that make the top 50% of `what`, the next 30%, the
    /// next 15%, and the rest.
    pub fn default_for(what: &str) -> Self {
        Self {
            labels: vec![
                format!("Top 50% of {what}"),
                format!("Next 30% of {what}"),
                format!("Next 15% of {what}"),
                format!("Last 5% of {what}"),
            ],
            shares: vec![0.5, 0.3, 0.15],
        }
    }

    /// Tiers from the `tiers` parameter (every tier but the last has a share; the shares add
    /// up to less than 1), or the default when absent.
    pub fn from_params(given: Option<&[TierParam]>, what: &str) -> StrategyResult<Self> {
        let Some(items) = given else { return Ok(Self::default_for(what)) };
        if items.len() < 2 {
            return Err(StrategyError::param(
                "/tiers",
                "must be a list of at least two {label, share} tiers",
            ));
        }
        let mut spec = Self { labels: Vec::new(), shares: Vec::new() };
        for (index, item) in items.iter().enumerate() {
            let label = item.label.trim();
            if label.is_empty() {
                return Err(StrategyError::param(format!("/tiers/{index}/label"), "must be a label"));
            }
            if spec.labels.iter().any(|known| known == label) {
                return Err(StrategyError::param(
                    format!("/tiers/{index}/label"),
                    format!("{label:?} is used twice"),
                ));
            }
            spec.labels.push(label.to_owned());
            let last = index + 1 == items.len();
            let share_path = format!("/tiers/{index}/share");
            match (item.share, last) {
                (Some(_), true) => {
                    return Err(StrategyError::param(
                        share_path,
                        "the last tier takes the rest: give it no share",
                    ));
                }
                (None, true) => {}
                (None, false) => {
                    return Err(StrategyError::param(share_path, "every tier but the last needs a share"));
                }
                (Some(share), false) if share > 0.0 && share < 1.0 => spec.shares.push(share),
                (Some(_), false) => {
                    return Err(StrategyError::param(share_path, "must be a number between 0 and 1"));
                }
            }
        }
        if spec.shares.iter().sum::<f64>() >= 1.0 {
            return Err(StrategyError::param(
                "/tiers",
                "the shares must add up to less than 1, leaving some for the last tier",
            ));
        }
        Ok(spec)
    }
}

/// A tier as the parameters give it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierParam {
    /// The tier's segment.
    #[schemars(length(min = 1))]
    pub label: String,
    /// The share of the total the tier makes (every tier but the last has one).
    #[schemars(extend("exclusiveMinimum" = 0, "exclusiveMaximum" = 1))]
    pub share: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_plugin_sdk::serde_json::json;

    #[test]
    fn tiers_parse_and_refuse_with_paths() {
        let parse = |value: kindred_plugin_sdk::serde_json::Value| {
            let tiers: Vec<TierParam> = kindred_plugin_sdk::params::parse(&value)?;
            TierSpec::from_params(Some(&tiers), "profit")
        };
        let spec = parse(json!([{"label": "A", "share": 0.6}, {"label": "B"}])).expect("valid");
        assert_eq!((spec.labels.len(), spec.shares.as_slice()), (2, [0.6].as_slice()));
        for (bad, path) in [
            (json!([{"label": "A", "share": 0.6}, {"label": "B", "share": 0.4}]), "/tiers/1/share"),
            (json!([{"label": "A"}, {"label": "B"}]), "/tiers/0/share"),
            (json!([{"label": "A", "share": 1.5}, {"label": "B"}]), "/tiers/0/share"),
            (json!([{"label": "A", "share": 0.6}, {"label": "A"}]), "/tiers/1/label"),
            (json!([{"label": "A", "share": 0.6}, {"label": "B", "share": 0.5}, {"label": "C"}]), "/tiers"),
        ] {
            let error = parse(bad.clone()).expect_err("refused");
            assert_eq!(error.param_path().map(|(path, _)| path), Some(path), "{bad}");
        }
        assert_eq!(TierSpec::from_params(None, "profit").expect("default").labels[0], "Top 50% of profit");
    }
}
