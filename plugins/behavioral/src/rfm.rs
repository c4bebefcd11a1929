//! RFM: recency, frequency and monetary scores 1..5 by quintiles, and the named segments of
//! the standard RFM map.

use crate::customers::CustomerList;
use crate::history::{MICROS_PER_DAY, Purchases, Window, purchases};
use crate::ranking::{Direction, Tiles};
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Assignments, Input, StrategyResult};

/// The label of customers without a purchase in the window.
pub const NO_PURCHASES: &str = "No purchases";

/// Every label RFM can give, the map's first.
pub const SEGMENTS: [&str; 12] = [
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
    NO_PURCHASES,
];

/// The segment of an R score and the sum of the F and M scores (F + M = 2 × their mean).
///
/// | R \ mean(F, M) | 1–1.5 | 2–2.5 | 3–3.5 | 4–5 |
/// |---|---|---|---|---|
/// | 5 | New | Potential Loyalist | Loyal | Champions |
/// | 4 | Promising | Potential Loyalist | Loyal | Champions |
/// | 3 | About to Sleep | Need Attention | Need Attention | Loyal |
/// | 2 | Hibernating | Hibernating | At Risk | At Risk |
/// | 1 | Lost | Lost | At Risk | Can't Lose Them |
pub fn segment(recency: u8, frequency_plus_monetary: u8) -> &'static str {
    let band = match frequency_plus_monetary {
        ..=3 => 0,
        4..=5 => 1,
        6..=7 => 2,
        _ => 3,
    };
    const MAP: [[&str; 4]; 5] = [
        ["Lost", "Lost", "At Risk", "Can't Lose Them"],
        ["Hibernating", "Hibernating", "At Risk", "At Risk"],
        ["About to Sleep", "Need Attention", "Need Attention", "Loyal"],
        ["Promising", "Potential Loyalist", "Loyal", "Champions"],
        ["New", "Potential Loyalist", "Loyal", "Champions"],
    ];
    MAP[usize::from(recency.clamp(1, 5) - 1)][band]
}

/// The RFM method: its window and, once fitted, the quintile cut points.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rfm {
    /// Days before as-of that count (`None`: all purchases up to as-of).
    pub window_days: Option<i64>,
    fitted: Option<Fitted>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Fitted {
    recency: Tiles,
    frequency: Tiles,
    monetary: Tiles,
    buyers: usize,
}

/// One buyer's R (whole days since the last purchase), F and M values. M is rounded to
/// 1/10,000 of the currency unit, so that the same amounts summed in another order (as a
/// database would) tie exactly and rank the same.
fn values(summary: &Purchases, position: usize, as_of: i64) -> Option<(f64, f64, f64)> {
    let last = summary.last[position]?;
    let recency_days = (as_of - last).div_euclid(MICROS_PER_DAY) as f64;
    let monetary = (summary.amount[position] * 10_000.0).round() / 10_000.0;
    Some((recency_days, f64::from(summary.count[position]), monetary))
}

impl Rfm {
    /// RFM over the `window_days` before as-of, or all time.
    pub fn new(window_days: Option<i64>) -> Self {
        Self { window_days, fitted: None }
    }

    /// Learns the quintile cut points over the customers with purchases.
    pub fn fit(&mut self, population: &Input, as_of: i64) -> StrategyResult<()> {
        let customers = CustomerList::of(population)?;
        let summary = purchases(population, &customers, Window::new(as_of, self.window_days))?;
        let (mut r, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for position in 0..customers.len() {
            if let Some((recency, frequency, monetary)) = values(&summary, position, as_of) {
                let external_id = customers.external_ids[position].as_str();
                r.push((recency, external_id));
                f.push((frequency, external_id));
                m.push((monetary, external_id));
            }
        }
        self.fitted = Some(Fitted {
            // The most recent buyers (fewest days) get 5: rank by days, largest first.
            recency: Tiles::fit(&r, 5, Direction::Descending),
            frequency: Tiles::fit(&f, 5, Direction::Ascending),
            monetary: Tiles::fit(&m, 5, Direction::Ascending),
            buyers: r.len(),
        });
        Ok(())
    }

    /// Scores and labels every customer of `batch`.
    pub fn assign(&self, batch: &Input, as_of: i64, out: &mut Assignments) -> StrategyResult<()> {
        let fitted = self.fitted.as_ref().ok_or_else(crate::not_fitted)?;
        let customers = CustomerList::of(batch)?;
        let summary = purchases(batch, &customers, Window::new(as_of, self.window_days))?;
        for position in 0..customers.len() {
            let id = customers.ids[position];
            let Some((recency, frequency, monetary)) = values(&summary, position, as_of) else {
                out.push(id, NO_PURCHASES, None);
                continue;
            };
            let external_id = customers.external_ids[position].as_str();
            let r = fitted.recency.tile(recency, external_id);
            let f = fitted.frequency.tile(frequency, external_id);
            let m = fitted.monetary.tile(monetary, external_id);
            let score = f64::from(r) * 100.0 + f64::from(f) * 10.0 + f64::from(m);
            out.push(id, segment(r, f + m), Some(score));
        }
        Ok(())
    }

    /// The window and cut points.
    pub fn model(&self) -> Value {
        let mut model = json!({ "window_days": self.window_days });
        if let Some(fitted) = &self.fitted {
            model["buyers"] = json!(fitted.buyers);
            model["cut_points"] = json!({
                "recency_days": fitted.recency.to_json(),
                "frequency": fitted.frequency.to_json(),
                "monetary": fitted.monetary.to_json(),
            });
            model["cut_points_note"] = json!(
                "the last (value, external_id) of tiles 1 to 4; recency ranks the most days first, so 5 is the most recent"
            );
        }
        model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_covers_every_score() {
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(segment(r, f + m));
                }
            }
        }
        assert_eq!(seen.len(), SEGMENTS.len() - 1, "every named segment is reachable: {seen:?}");
        assert_eq!(segment(5, 10), "Champions");
        assert_eq!(segment(1, 10), "Can't Lose Them");
        assert_eq!(segment(5, 2), "New");
        assert_eq!(segment(1, 2), "Lost");
        assert_eq!(segment(3, 5), "Need Attention");
    }
}
