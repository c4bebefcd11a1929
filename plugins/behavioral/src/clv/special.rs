//! Special functions the lifetime-value models need: log-gamma (from `libm`), digamma and the
//! Gauss hypergeometric function, in log space so large counts do not overflow.

/// ln Γ(x) for x > 0.
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ψ(x) = d/dx ln Γ(x) for x > 0. `libm` has no digamma: the recurrence ψ(x) = ψ(x + 1) − 1/x
/// lifts x to 10 or more, where the asymptotic series is exact to double precision.
pub fn digamma(mut x: f64) -> f64 {
    let mut result = 0.0;
    while x < 10.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    let inverse = 1.0 / x;
    let inverse2 = inverse * inverse;
    let series = inverse2
        * (1.0 / 12.0
            - inverse2
                * (1.0 / 120.0
                    - inverse2 * (1.0 / 252.0 - inverse2 * (1.0 / 240.0 - inverse2 * (1.0 / 132.0)))));
    result + x.ln() - 0.5 * inverse - series
}

/// Most terms summed for one hypergeometric value.
const MAX_TERMS: usize = 1_000_000;

/// ln ₂F₁(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, by its power series. Terms are rescaled
/// as they grow, so a large `a` or `b` (a customer with thousands of purchases) cannot
/// overflow. `None` if the series has not converged after a million terms.
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) {
        return None;
    }
    const RESCALE_ABOVE: f64 = 1e250;
    let (mut term, mut sum, mut log_scale) = (1.0_f64, 1.0_f64, 0.0_f64);
    for n in 0..MAX_TERMS {
        let n = n as f64;
        let ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        term *= ratio;
        sum += term;
        if sum > RESCALE_ABOVE {
            term /= RESCALE_ABOVE;
            sum /= RESCALE_ABOVE;
            log_scale += RESCALE_ABOVE.ln();
        }
        if ratio < 1.0 && term <= sum * f64::EPSILON * 0.5 {
            return Some(sum.ln() + log_scale);
        }
    }
    None
}

/// ln(e^a + e^b) without overflow.
#[inline]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let (high, low) = if a > b { (a, b) } else { (b, a) };
    if low == f64::NEG_INFINITY { high } else { high + (low - high).exp().ln_1p() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_matches_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-12);
        assert!((digamma(0.5) + euler + 2.0 * 2.0_f64.ln()).abs() < 1e-12);
        // ψ(x + 1) = ψ(x) + 1/x, far from the recurrence's threshold too.
        for x in [0.01, 0.3, 7.5, 120.0, 1e6] {
            assert!((digamma(x + 1.0) - digamma(x) - 1.0 / x).abs() < 1e-10 * (1.0 + 1.0 / x), "{x}");
        }
        // The derivative of ln Γ.
        for x in [0.2, 2.5, 40.0] {
            let h = 1e-5;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!((numeric - digamma(x)).abs() < 1e-6, "{x}");
        }
    }

    #[test]
    fn hypergeometric_matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z.
        for z in [0.1_f64, 0.5, 0.9, 0.999] {
            let expected = (-(1.0 - z).ln() / z).ln();
            let found = ln_hyp2f1(1.0, 1.0, 2.0, z).expect("converges");
            assert!((found - expected).abs() < 1e-10, "z {z}: {found} vs {expected}");
        }
        // ₂F₁(a, b; b; z) = (1 − z)^(−a), with a large a.
        let (a, z) = (5_000.0, 0.3_f64);
        let found = ln_hyp2f1(a, 7.0, 7.0, z).expect("converges");
        assert!((found - (-a * (1.0 - z).ln())).abs() < 1e-6 * found.abs());
        assert_eq!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0), None);
    }
}
