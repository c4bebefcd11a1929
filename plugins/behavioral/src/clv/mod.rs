//! Predictive lifetime value: BG/NBD for how many purchases a customer will make and whether
//! they are still a customer at all, Gamma-Gamma for what each purchase is worth. Purchases
//! are counted once per day.

mod bgnbd;
mod gamma_gamma;
mod optimize;
mod special;

use crate::customers::CustomerList;
use crate::history::{MICROS_PER_DAY, PurchaseDays, purchase_days};
use crate::ranking::ShareTiers;
use crate::tiers::TierSpec;
use bgnbd::History;
use gamma_gamma::Spend;
use kindred_plugin_sdk::serde_json::{Value, json};
use kindred_plugin_sdk::{Assignments, Input, StrategyResult};

/// Repeat buyers whose probability of being alive is below the lost threshold.
pub const LIKELY_LOST: &str = "Likely lost";
/// Repeat buyers whose probability of being alive is below the at-risk threshold.
pub const AT_RISK: &str = "At risk";

/// The lifetime-value method's settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClvSettings {
    /// Days per time unit (1: day, 7: week).
    pub unit_days: i64,
    /// Prediction horizon, in time units.
    pub horizon: f64,
    /// P(alive) below this, among repeat buyers: likely lost.
    pub lost_below: f64,
    /// P(alive) below this, among repeat buyers: at risk.
    pub at_risk_below: f64,
    /// Value tiers of the rest.
    pub tiers: TierSpec,
    /// What each membership's score is.
    pub score: ClvScore,
}

/// The per-customer figure a membership carries as its score.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClvScore {
    /// Expected value over the horizon (the default).
    #[default]
    ExpectedValue,
    /// Expected purchases over the horizon.
    ExpectedPurchases,
    /// Probability that the customer is still a customer.
    ProbabilityAlive,
}

impl ClvScore {
    /// The names params use, with their meaning.
    pub const NAMES: [(&'static str, ClvScore); 3] = [
        ("expected_value", ClvScore::ExpectedValue),
        ("expected_purchases", ClvScore::ExpectedPurchases),
        ("probability_alive", ClvScore::ProbabilityAlive),
    ];

    fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, score)| *score == self).map_or("expected_value", |(name, _)| name)
    }
}

/// The lifetime-value method.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Clv {
    settings: ClvSettings,
    fitted: Option<Fitted>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Fitted {
    purchases: bgnbd::Fit,
    spend: Option<gamma_gamma::Fit>,
    tiers: ShareTiers,
    buyers: usize,
    repeat_buyers: usize,
}

/// What the models predict for one buyer.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Prediction {
    repeat_buyer: bool,
    probability_alive: f64,
    expected_purchases: f64,
    expected_value: f64,
}

impl Clv {
    /// The method with these settings, not yet fitted.
    pub fn new(settings: ClvSettings) -> Self {
        Self { settings, fitted: None }
    }

    fn history(&self, days: &PurchaseDays, as_of: i64) -> History {
        let unit = self.settings.unit_days as f64;
        let today = as_of.div_euclid(MICROS_PER_DAY);
        History {
            x: f64::from(days.repeat_days),
            t_x: (days.last_day - days.first_day) as f64 / unit,
            age: (today - days.first_day) as f64 / unit,
        }
    }

    fn predict(
        &self,
        purchases: &bgnbd::Fit,
        spend: Option<&gamma_gamma::Fit>,
        days: &PurchaseDays,
        as_of: i64,
    ) -> Prediction {
        let history = self.history(days, as_of);
        let repeat = (days.repeat_days > 0 && days.repeat_spend > 0.0).then(|| Spend {
            x: f64::from(days.repeat_days),
            mean: days.repeat_spend / f64::from(days.repeat_days),
        });
        let value_per_purchase = match spend {
            Some(fit) if fit.params.q > 1.0 => fit.params.expected_value(repeat),
            // No usable spend model (too few repeat buyers): the customer's own mean.
            _ => days.total_spend / f64::from(days.repeat_days + 1),
        };
        let expected = purchases.params.expected_purchases(history, self.settings.horizon);
        let expected = if expected.is_finite() { expected } else { 0.0 };
        Prediction {
            repeat_buyer: days.repeat_days > 0,
            probability_alive: purchases.params.probability_alive(history),
            expected_purchases: expected,
            expected_value: expected * value_per_purchase,
        }
    }

    /// "Likely lost" or "At risk" for a repeat buyer below those thresholds.
    fn risk(&self, prediction: &Prediction) -> Option<&'static str> {
        if !prediction.repeat_buyer {
            None
        } else if prediction.probability_alive < self.settings.lost_below {
            Some(LIKELY_LOST)
        } else if prediction.probability_alive < self.settings.at_risk_below {
            Some(AT_RISK)
        } else {
            None
        }
    }

    /// Fits BG/NBD on every buyer and Gamma-Gamma on the repeat buyers, then the value tiers.
    pub fn fit(&mut self, population: &Input, as_of: i64) -> StrategyResult<()> {
        let customers = CustomerList::of(population)?;
        let days = purchase_days(population, &customers, as_of)?;
        let histories: Vec<History> = days.iter().flatten().map(|days| self.history(days, as_of)).collect();
        let purchases = bgnbd::fit(&histories);
        let buyers: Vec<Spend> = days
            .iter()
            .flatten()
            .filter(|days| days.repeat_days > 0 && days.repeat_spend > 0.0)
            .map(|days| Spend {
                x: f64::from(days.repeat_days),
                mean: days.repeat_spend / f64::from(days.repeat_days),
            })
            .collect();
        let spend = (buyers.len() >= 2).then(|| gamma_gamma::fit(&buyers));
        let mut keys = Vec::new();
        for (position, days) in days.iter().enumerate() {
            let Some(days) = days else { continue };
            let prediction = self.predict(&purchases, spend.as_ref(), days, as_of);
            // Ranked for the tiers: the buyers neither lost nor at risk.
            if self.risk(&prediction).is_none() {
                keys.push((prediction.expected_value, customers.external_ids[position].as_str()));
            }
        }
        let tiers = ShareTiers::fit(&keys, &self.settings.tiers.shares);
        self.fitted =
            Some(Fitted { purchases, spend, tiers, buyers: histories.len(), repeat_buyers: buyers.len() });
        Ok(())
    }

    /// Labels every customer of `batch`; the score is the figure the settings choose.
    pub fn assign(&self, batch: &Input, as_of: i64, out: &mut Assignments) -> StrategyResult<()> {
        let fitted = self.fitted.as_ref().ok_or_else(crate::not_fitted)?;
        let customers = CustomerList::of(batch)?;
        let days = purchase_days(batch, &customers, as_of)?;
        for (position, days) in days.iter().enumerate() {
            let id = customers.ids[position];
            let Some(days) = days else {
                out.push(id, crate::rfm::NO_PURCHASES, None);
                continue;
            };
            let prediction = self.predict(&fitted.purchases, fitted.spend.as_ref(), days, as_of);
            let external_id = &customers.external_ids[position];
            let label = match self.risk(&prediction) {
                Some(risk) => risk,
                None => {
                    &self.settings.tiers.labels[fitted.tiers.tier(prediction.expected_value, external_id)]
                }
            };
            let score = match self.settings.score {
                ClvScore::ExpectedValue => prediction.expected_value,
                ClvScore::ExpectedPurchases => prediction.expected_purchases,
                ClvScore::ProbabilityAlive => prediction.probability_alive,
            };
            // A prediction the model cannot make (a degenerate fit) is no score, not a NaN.
            out.push(id, label, Some(score).filter(|score| score.is_finite()));
        }
        Ok(())
    }

    /// The fitted parameters, their log-likelihoods and the tiers.
    pub fn model(&self) -> Value {
        let settings = &self.settings;
        let mut model = json!({
            "time_unit": if settings.unit_days == 7 { "week" } else { "day" },
            "horizon": settings.horizon,
            "lost_below": settings.lost_below,
            "at_risk_below": settings.at_risk_below,
            "score": settings.score.name(),
        });
        if let Some(fitted) = &self.fitted {
            let purchases = &fitted.purchases;
            model["buyers"] = json!(fitted.buyers);
            model["repeat_buyers"] = json!(fitted.repeat_buyers);
            model["bg_nbd"] = json!({
                "r": purchases.params.r,
                "alpha": purchases.params.alpha,
                "a": purchases.params.a,
                "b": purchases.params.b,
                "log_likelihood": purchases.log_likelihood,
                "converged": purchases.converged,
                "iterations": purchases.iterations,
            });
            model["gamma_gamma"] = fitted.spend.map_or(Value::Null, |spend| {
                json!({
                    "p": spend.params.p,
                    "q": spend.params.q,
                    "v": spend.params.v,
                    "log_likelihood": spend.log_likelihood,
                    "converged": spend.converged,
                    "iterations": spend.iterations,
                })
            });
            model["tiers"] = fitted.tiers.to_json(&settings.tiers.labels);
        }
        model
    }
}
