//! The Gamma-Gamma spend model of Fader and Hardie: each purchase's value z ~ Gamma(p, ν),
//! with ν ~ Gamma(q, v) across customers. Fitted on repeat buyers: x repeat purchases of mean
//! value m.

use super::optimize::{Minimum, minimize};
use super::special::{digamma, ln_gamma};

/// One repeat buyer: purchases and their mean value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend {
    /// Repeat purchases (≥ 1).
    pub x: f64,
    /// Their mean value (> 0).
    pub mean: f64,
}

/// The three parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// Shape of each purchase's value.
    pub p: f64,
    /// Shape of the rate across customers.
    pub q: f64,
    /// Scale of the rate across customers.
    pub v: f64,
}

impl Params {
    /// ln f(m | x) of one buyer and its gradient in (p, q, v).
    #[cfg(test)]
    fn ln_likelihood(&self, spend: Spend) -> (f64, [f64; 3]) {
        let Params { p, q, v } = *self;
        let Spend { x, mean } = spend;
        let px = p * x;
        let ln_total = (x * mean + v).ln();
        let value =
            ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * mean.ln() + px * x.ln()
                - (px + q) * ln_total;
        let d_p = x * (digamma(px + q) - digamma(px) + mean.ln() + x.ln() - ln_total);
        let d_q = digamma(px + q) - digamma(q) + v.ln() - ln_total;
        let d_v = q / v - (px + q) / (x * mean + v);
        (value, [d_p, d_q, d_v])
    }

    /// Expected value of a purchase of a customer with this spend (`None`: no repeat purchase
    /// seen, the population mean).
    pub fn expected_value(&self, spend: Option<Spend>) -> f64 {
        let Params { p, q, v } = *self;
        match spend {
            Some(Spend { x, mean }) if x > 0.0 => p * (v + x * mean) / (p * x + q - 1.0),
            _ => p * v / (q - 1.0),
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fit {
    /// The maximum-likelihood parameters.
    pub params: Params,
    /// The log-likelihood there, summed over buyers.
    pub log_likelihood: f64,
    /// Whether the optimizer converged.
    pub converged: bool,
    /// Its iterations.
    pub iterations: usize,
}

/// The buyers with one value of x: (x, ln x, [(m, ln m)]).
type SameCount = (f64, f64, Vec<(f64, f64)>);

/// Repeat buyers sorted by x, with ln m precomputed: the terms that depend only on x are then
/// computed once per distinct x, leaving one logarithm per buyer in each evaluation.
struct Sorted {
    groups: Vec<SameCount>,
    buyers: f64,
}

impl Sorted {
    fn new(buyers: &[Spend]) -> Self {
        let mut sorted: Vec<Spend> = buyers.to_vec();
        sorted.sort_by(|left, right| left.x.total_cmp(&right.x));
        let mut groups: Vec<SameCount> = Vec::new();
        for spend in sorted {
            match groups.last_mut() {
                Some((x, _, means)) if *x == spend.x => means.push((spend.mean, spend.mean.ln())),
                _ => groups.push((spend.x, spend.x.ln(), vec![(spend.mean, spend.mean.ln())])),
            }
        }
        Self { groups, buyers: buyers.len().max(1) as f64 }
    }
}

/// Mean negative log-likelihood at log-parameters `point`, and its gradient in them.
fn objective(sorted: &Sorted, point: &[f64]) -> (f64, Vec<f64>) {
    let params = Params { p: point[0].exp(), q: point[1].exp(), v: point[2].exp() };
    let Params { p, q, v } = params;
    let ln_v = v.ln();
    let (mut total, mut gradient) = (0.0, [0.0; 3]);
    for (x, ln_x, means) in &sorted.groups {
        let px = p * x;
        let count = means.len() as f64;
        // The terms of ln f and its derivatives that depend on x alone.
        total += count * (ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * ln_v + px * ln_x);
        gradient[0] += count * x * (digamma(px + q) - digamma(px) + ln_x);
        gradient[1] += count * (digamma(px + q) - digamma(q) + ln_v);
        gradient[2] += count * q / v;
        for (mean, ln_mean) in means {
            let ln_total = (x * mean + v).ln();
            total += (px - 1.0) * ln_mean - (px + q) * ln_total;
            gradient[0] += x * (ln_mean - ln_total);
            gradient[1] -= ln_total;
            gradient[2] -= (px + q) / (x * mean + v);
        }
    }
    let scale = [p, q, v];
    let n = sorted.buyers;
    (-total / n, gradient.iter().zip(scale).map(|(g, s)| -g * s / n).collect())
}

/// Fits the model to repeat buyers with a positive mean spend.
pub fn fit(buyers: &[Spend]) -> Fit {
    let mean = buyers.iter().map(|b| b.mean).sum::<f64>() / buyers.len().max(1) as f64;
    let start = vec![0.0, 1.0, mean.max(1e-3).ln()];
    let sorted = Sorted::new(buyers);
    let Minimum { point, value, iterations, converged } =
        minimize(|point| objective(&sorted, point), start, (-15.0, 15.0));
    Fit {
        params: Params { p: point[0].exp(), q: point[1].exp(), v: point[2].exp() },
        log_likelihood: -value * buyers.len() as f64,
        converged,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Gamma};

    const TRUE: Params = Params { p: 6.25, q: 3.74, v: 15.44 };

    fn simulate(params: Params, buyers: usize, seed: u64) -> Vec<Spend> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rates = Gamma::new(params.q, 1.0 / params.v).expect("gamma");
        (0..buyers)
            .map(|index| {
                let x = 1 + index % 7;
                let rate: f64 = rates.sample(&mut rng);
                let values = Gamma::new(params.p, 1.0 / rate).expect("gamma");
                let total: f64 = (0..x).map(|_| values.sample(&mut rng)).sum();
                Spend { x: x as f64, mean: total / x as f64 }
            })
            .collect()
    }

    #[test]
    fn the_gradient_matches_finite_differences() {
        for spend in
            [Spend { x: 1.0, mean: 20.0 }, Spend { x: 40.0, mean: 3.5 }, Spend { x: 100_000.0, mean: 80.0 }]
        {
            let (_, gradient) = TRUE.ln_likelihood(spend);
            for (index, analytic) in gradient.iter().enumerate() {
                let h = 1e-6 * [TRUE.p, TRUE.q, TRUE.v][index];
                let shifted = |delta: f64| {
                    let mut params = TRUE;
                    match index {
                        0 => params.p += delta,
                        1 => params.q += delta,
                        _ => params.v += delta,
                    }
                    params.ln_likelihood(spend).0
                };
                let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
                assert!(
                    (numeric - analytic).abs() < 1e-4 * (1.0 + analytic.abs()),
                    "{spend:?} #{index}: {numeric} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn the_grouped_objective_sums_the_buyers_likelihoods() {
        let buyers = simulate(TRUE, 500, 5);
        let point = [TRUE.p.ln(), TRUE.q.ln(), TRUE.v.ln()];
        let (value, gradient) = objective(&Sorted::new(&buyers), &point);
        let (mut total, mut sum) = (0.0, [0.0; 3]);
        for spend in &buyers {
            let (one, partials) = TRUE.ln_likelihood(*spend);
            total += one;
            sum.iter_mut().zip(partials).for_each(|(s, p)| *s += p);
        }
        let n = buyers.len() as f64;
        assert!((value + total / n).abs() < 1e-9 * value.abs());
        for (index, scale) in [TRUE.p, TRUE.q, TRUE.v].iter().enumerate() {
            assert!((gradient[index] + sum[index] * scale / n).abs() < 1e-9 * (1.0 + gradient[index].abs()));
        }
    }

    #[test]
    fn fitting_recovers_the_parameters_that_made_the_data() {
        let found = fit(&simulate(TRUE, 30_000, 11));
        assert!(found.converged, "{found:?}");
        let Params { p, q, v } = found.params;
        let close = |found: f64, truth: f64| (found / truth - 1.0).abs() < 0.15;
        assert!(close(p, TRUE.p) && close(q, TRUE.q) && close(v, TRUE.v), "{found:?}");
        // The population mean spend per purchase is p v / (q - 1).
        let implied = found.params.expected_value(None);
        let truth = TRUE.expected_value(None);
        assert!((implied / truth - 1.0).abs() < 0.05, "{implied} vs {truth}");
    }
}
