//! The BG/NBD model of Fader, Hardie and Lee (2005, "Counting Your Customers the Easy Way"):
//! while alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each repeat purchase
//! they drop out with probability p ~ Beta(a, b).
//!
//! Each customer is summarised by x (repeat purchases), t_x (time of the last one, from the
//! first purchase) and T (time from the first purchase to as-of).

use super::optimize::{Minimum, minimize};
use super::special::{digamma, ln_gamma, ln_hyp2f1, log_add_exp};
use std::collections::HashMap;

/// One customer's repeat-purchase history, in the model's time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    /// Repeat purchases.
    pub x: f64,
    /// Time of the last repeat purchase since the first purchase (0 when x = 0).
    pub t_x: f64,
    /// Time since the first purchase.
    pub age: f64,
}

/// The four parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Scale (rate) of the purchase-rate distribution.
    pub alpha: f64,
    /// Beta parameters of the drop-out probability.
    pub a: f64,
    /// See `a`.
    pub b: f64,
}

/// The parts of the likelihood that depend only on x, computed once per distinct x.
struct ByCount {
    x: f64,
    ln_a1_a2: f64,
    d_r: f64,
    d_a: f64,
    d_b: f64,
}

impl Params {
    fn by_count(&self, x: f64) -> ByCount {
        let Params { r, alpha, a, b } = *self;
        // ln A1 + ln A2 without the (α + ·) terms.
        let ln_a1_a2 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
            - ln_gamma(b)
            - ln_gamma(a + b + x);
        let d_r = digamma(r + x) - digamma(r) + alpha.ln();
        let d_a = digamma(a + b) - digamma(a + b + x);
        let d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x);
        ByCount { x, ln_a1_a2, d_r, d_a, d_b }
    }

    /// ln L of one customer and its gradient in (r, α, a, b).
    fn ln_likelihood_with(&self, count: &ByCount, t_x: f64, age: f64) -> (f64, [f64; 4]) {
        let Params { r, alpha, a, b } = *self;
        let x = count.x;
        let ln_a3 = -(r + x) * (alpha + age).ln();
        let mut gradient = [count.d_r, r / alpha, count.d_a, count.d_b];
        if x == 0.0 {
            gradient[0] -= (alpha + age).ln();
            gradient[1] -= (r + x) / (alpha + age);
            return (count.ln_a1_a2 + ln_a3, gradient);
        }
        let ln_a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
        let ln_sum = log_add_exp(ln_a3, ln_a4);
        let (w3, w4) = ((ln_a3 - ln_sum).exp(), (ln_a4 - ln_sum).exp());
        gradient[0] -= w3 * (alpha + age).ln() + w4 * (alpha + t_x).ln();
        gradient[1] -= (r + x) * (w3 / (alpha + age) + w4 / (alpha + t_x));
        gradient[2] += w4 / a;
        gradient[3] -= w4 / (b + x - 1.0);
        (count.ln_a1_a2 + ln_sum, gradient)
    }

    /// ln L of one customer and its gradient in (r, α, a, b).
    #[cfg(test)]
    fn ln_likelihood(&self, history: History) -> (f64, [f64; 4]) {
        self.ln_likelihood_with(&self.by_count(history.x), history.t_x, history.age)
    }

    /// Probability that a customer with this history is still alive.
    pub fn probability_alive(&self, history: History) -> f64 {
        if history.x == 0.0 {
            return 1.0;
        }
        let Params { r, alpha, a, b } = *self;
        let x = history.x;
        let ln_odds =
            a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + history.age) / (alpha + history.t_x)).ln();
        // 1 / (1 + e^ln_odds), stable for large odds.
        if ln_odds > 0.0 {
            let inverse = (-ln_odds).exp();
            inverse / (1.0 + inverse)
        } else {
            1.0 / (1.0 + ln_odds.exp())
        }
    }

    /// Expected purchases in the next `horizon` time units for a customer with this history.
    pub fn expected_purchases(&self, history: History, horizon: f64) -> f64 {
        let Params { r, alpha, a, b } = *self;
        let History { x, age, .. } = history;
        let z = horizon / (alpha + age + horizon);
        let Some(ln_hyp) = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z) else { return f64::NAN };
        let ln_power = (r + x) * ((alpha + age) / (alpha + age + horizon)).ln();
        let bought = (a + b + x - 1.0) / (a - 1.0) * -(ln_power + ln_hyp).exp_m1();
        (bought * self.probability_alive(history)).max(0.0)
    }
}

/// A fitted model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fit {
    /// The maximum-likelihood parameters.
    pub params: Params,
    /// The log-likelihood there, summed over customers.
    pub log_likelihood: f64,
    /// Whether the optimizer converged.
    pub converged: bool,
    /// Its iterations.
    pub iterations: usize,
}

/// Distinct histories and how many customers share each.
pub fn group(histories: &[History]) -> Vec<(History, f64)> {
    let mut counts: HashMap<[u64; 3], (History, f64)> = HashMap::new();
    for history in histories {
        let key = [history.x.to_bits(), history.t_x.to_bits(), history.age.to_bits()];
        counts.entry(key).or_insert((*history, 0.0)).1 += 1.0;
    }
    let mut grouped: Vec<(History, f64)> = counts.into_values().collect();
    // Same order every run, so fits are reproducible to the last bit.
    grouped.sort_by(|(left, _), (right, _)| {
        (left.x, left.t_x, left.age)
            .partial_cmp(&(right.x, right.t_x, right.age))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    grouped
}

/// Mean negative log-likelihood over `grouped` histories at log-parameters `point`, and its
/// gradient in the log-parameters.
fn objective(grouped: &[(History, f64)], point: &[f64]) -> (f64, Vec<f64>) {
    let params = Params { r: point[0].exp(), alpha: point[1].exp(), a: point[2].exp(), b: point[3].exp() };
    let (mut total, mut weight) = (0.0, 0.0);
    let mut gradient = [0.0; 4];
    let mut cached: Option<ByCount> = None;
    for (history, count) in grouped {
        if cached.as_ref().is_none_or(|cached| cached.x != history.x) {
            cached = Some(params.by_count(history.x));
        }
        let Some(by_count) = cached.as_ref() else { continue };
        let (value, partials) = params.ln_likelihood_with(by_count, history.t_x, history.age);
        total += count * value;
        weight += count;
        for (sum, partial) in gradient.iter_mut().zip(partials) {
            *sum += count * partial;
        }
    }
    let scale = [params.r, params.alpha, params.a, params.b];
    let weight = weight.max(1.0);
    (-total / weight, gradient.iter().zip(scale).map(|(g, s)| -g * s / weight).collect())
}

/// Fits the model to `histories` by maximum likelihood.
pub fn fit(histories: &[History]) -> Fit {
    let grouped = group(histories);
    let mean_age = histories.iter().map(|h| h.age).sum::<f64>() / histories.len().max(1) as f64;
    let start = vec![0.0, mean_age.max(1.0).ln(), 0.0, 0.0];
    let Minimum { point, value, iterations, converged } =
        minimize(|point| objective(&grouped, point), start, (-15.0, 15.0));
    Fit {
        params: Params { r: point[0].exp(), alpha: point[1].exp(), a: point[2].exp(), b: point[3].exp() },
        log_likelihood: -value * histories.len() as f64,
        converged,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Beta, Distribution, Exp, Gamma};

    const TRUE: Params = Params { r: 0.25, alpha: 4.0, a: 0.8, b: 2.5 };

    /// Customers drawn from the model: λ ~ Gamma(r, α), p ~ Beta(a, b), watched for `age`.
    fn simulate(params: Params, customers: usize, seed: u64) -> Vec<History> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rates = Gamma::new(params.r, 1.0 / params.alpha).expect("gamma");
        let dropouts = Beta::new(params.a, params.b).expect("beta");
        (0..customers)
            .map(|index| {
                let age = 26.0 + (index % 53) as f64;
                let (rate, dropout): (f64, f64) = (rates.sample(&mut rng), dropouts.sample(&mut rng));
                let mut history = History { x: 0.0, t_x: 0.0, age };
                let Ok(wait) = Exp::new(rate.max(1e-12)) else { return history };
                let mut now = 0.0;
                loop {
                    now += wait.sample(&mut rng);
                    if now > age {
                        break;
                    }
                    history.x += 1.0;
                    history.t_x = now;
                    if rand::RngExt::random::<f64>(&mut rng) < dropout {
                        break;
                    }
                }
                history
            })
            .collect()
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        let histories = [
            History { x: 0.0, t_x: 0.0, age: 30.0 },
            History { x: 3.0, t_x: 20.0, age: 38.0 },
            History { x: 1.0, t_x: 0.5, age: 2.0 },
            History { x: 4_000.0, t_x: 99.0, age: 100.0 },
        ];
        for history in histories {
            for params in [TRUE, Params { r: 2.0, alpha: 0.3, a: 5.0, b: 0.7 }] {
                let (_, gradient) = params.ln_likelihood(history);
                for (index, analytic) in gradient.iter().enumerate() {
                    let h = 1e-6 * [params.r, params.alpha, params.a, params.b][index];
                    let shifted = |delta: f64| {
                        let mut p = params;
                        match index {
                            0 => p.r += delta,
                            1 => p.alpha += delta,
                            2 => p.a += delta,
                            _ => p.b += delta,
                        }
                        p.ln_likelihood(history).0
                    };
                    let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
                    let tolerance = 1e-5 * (1.0 + analytic.abs());
                    assert!(
                        (numeric - analytic).abs() < tolerance,
                        "{history:?} {params:?} #{index}: {numeric} vs {analytic}"
                    );
                }
            }
        }
    }

    #[test]
    fn fitting_recovers_the_parameters_that_made_the_data() {
        let histories = simulate(TRUE, 40_000, 7);
        let found = fit(&histories);
        assert!(found.converged, "{found:?}");
        let Params { r, alpha, a, b } = found.params;
        let close = |found: f64, truth: f64, tolerance: f64| (found / truth - 1.0).abs() < tolerance;
        assert!(close(r, TRUE.r, 0.1) && close(alpha, TRUE.alpha, 0.15), "{found:?}");
        assert!(close(a, TRUE.a, 0.3) && close(b, TRUE.b, 0.35), "{found:?}");
        // The expected purchases of a fresh cohort match what the model implies.
        assert!(found.log_likelihood < 0.0);
    }

    #[test]
    fn single_purchases_and_huge_counts_do_not_break_the_fit() {
        let only_one: Vec<History> =
            (0..500).map(|i| History { x: 0.0, t_x: 0.0, age: 1.0 + f64::from(i % 50) }).collect();
        let found = fit(&only_one);
        assert!(found.log_likelihood.is_finite(), "{found:?}");
        let Params { r, alpha, a, b } = found.params;
        assert!([r, alpha, a, b].iter().all(|p| p.is_finite() && *p > 0.0), "{found:?}");

        let mut mixed = simulate(TRUE, 2_000, 3);
        let heavy = History { x: 250_000.0, t_x: 52.0, age: 52.0 };
        mixed.push(heavy);
        let found = fit(&mixed);
        assert!(found.converged && found.log_likelihood.is_finite(), "{found:?}");
        assert!(found.params.probability_alive(heavy) > 0.5);
        let expected = found.params.expected_purchases(heavy, 52.0);
        assert!(expected.is_finite() && expected > 1_000.0, "{expected}");
    }

    #[test]
    fn predictions_behave() {
        let quiet = History { x: 5.0, t_x: 5.0, age: 50.0 };
        let active = History { x: 5.0, t_x: 49.0, age: 50.0 };
        assert!(TRUE.probability_alive(quiet) < TRUE.probability_alive(active));
        assert_eq!(TRUE.probability_alive(History { x: 0.0, t_x: 0.0, age: 9.0 }), 1.0);
        let (soon, later) = (TRUE.expected_purchases(active, 10.0), TRUE.expected_purchases(active, 52.0));
        assert!(soon > 0.0 && later > soon, "{soon} {later}");
    }
}
