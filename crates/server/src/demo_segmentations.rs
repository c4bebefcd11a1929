//! The segmentations a demo starts with, their parameters chosen from the demo data itself so
//! each shows something: spending tiers cut at the data's own percentiles over its last year,
//! and the communities of ties with the need-based strategy's defaults.

use kindred_store::{Store, StoreResult};
use serde_json::{Value, json};

/// One segmentation to create.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSegmentation {
    /// Its name.
    pub name: &'static str,
    /// The strategy's own name.
    pub strategy: &'static str,
    /// Its parameters.
    pub params: Value,
}

/// Days in the year of purchases the spending tiers look at.
const YEAR_DAYS: i64 = 365;

/// The demo's segmentations, with parameters read off the data in `store`.
pub async fn demo_segmentations(store: &Store) -> StoreResult<Vec<DemoSegmentation>> {
    let now = chrono::Utc::now();
    // The tiers look at the data's last year, however long ago the demo's history ends.
    let latest = store.latest_interaction_at().await?.unwrap_or(now).min(now);
    let window_days = (now - latest).num_days() + YEAR_DAYS;
    let totals = store.purchase_totals_since(now - chrono::Duration::days(window_days)).await?;
    Ok(vec![
        DemoSegmentation {
            name: "Age bands",
            strategy: "demographic",
            params: json!({ "dimensions": ["age"] }),
        },
        DemoSegmentation { name: "RFM", strategy: "behavioral", params: json!({ "method": "rfm" }) },
        DemoSegmentation {
            name: "Big spenders",
            strategy: "behavioral",
            params: spending_tiers(totals, window_days),
        },
        DemoSegmentation { name: "Communities", strategy: "need-based", params: json!({}) },
    ])
}

/// Rules for spending tiers over the last `window_days`: "big spenders" above the 90th
/// percentile of what buyers spent, "regulars" above the median, "occasional" for any other
/// purchase, and "no purchases this year" for the rest. Cut points are rounded down to two
/// significant digits, so the model reads "over 1,200" rather than "over 1,234.57".
pub fn spending_tiers(mut totals: Vec<f64>, window_days: i64) -> Value {
    totals.retain(|total| total.is_finite());
    totals.sort_by(f64::total_cmp);
    let big = round_down(percentile(&totals, 0.9));
    let median = round_down(percentile(&totals, 0.5)).min(big);
    let spent_over = |label: &str, value: f64| {
        json!({ "label": label, "when": { "agg": "sum", "of": "amount", "where": { "kind": "purchase" },
            "within_days": window_days, "op": "gt", "value": value } })
    };
    let bought = json!({ "label": "occasional", "when": { "agg": "count", "where": { "kind": "purchase" },
        "within_days": window_days, "op": "gt", "value": 0 } });
    json!({
        "method": "rules",
        "rules": [spent_over("big spenders", big), spent_over("regulars", median), bought],
        "otherwise": "no purchases this year",
    })
}

/// The value below which `share` of the sorted `values` lie (0 for none).
fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let position = ((sorted.len() - 1) as f64 * share).round() as usize;
    sorted[position.min(sorted.len() - 1)]
}

/// `value` rounded down to two significant digits (1,234.5 → 1,200; 87.3 → 87; 0 stays 0).
fn round_down(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(value.log10().floor() as i32 - 1);
    (value / scale).floor() * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_points_are_round() {
        assert_eq!(round_down(1234.5), 1200.0);
        assert_eq!(round_down(87.3), 87.0);
        assert_eq!(round_down(9.99), 9.9);
        assert_eq!(round_down(0.0), 0.0);
        assert_eq!(round_down(f64::NAN), 0.0);
    }

    #[test]
    fn tiers_follow_the_data() {
        let totals: Vec<f64> = (1..=1000).map(f64::from).collect();
        let rules = spending_tiers(totals, 400);
        assert_eq!(rules["rules"][0]["label"], "big spenders");
        assert_eq!(rules["rules"][0]["when"]["value"], 900.0);
        assert_eq!(rules["rules"][1]["when"]["value"], 500.0);
        assert_eq!(rules["rules"][2]["when"]["agg"], "count");
        assert_eq!(rules["rules"][0]["when"]["within_days"], 400);
        assert_eq!(rules["otherwise"], "no purchases this year");
        // No purchases at all: every cut at 0, nothing breaks.
        assert_eq!(spending_tiers(Vec::new(), 365)["rules"][0]["when"]["value"], 0.0);
    }
}
