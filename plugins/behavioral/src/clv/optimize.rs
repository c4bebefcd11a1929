//! Minimising a smooth function of a few unbounded variables: BFGS with a backtracking line
//! search, each variable kept within bounds. The lifetime-value models have three or four
//! parameters, so a dense inverse-Hessian estimate is the simplest sound choice.

/// Where a minimisation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The point.
    pub point: Vec<f64>,
    /// The function's value there.
    pub value: f64,
    /// Iterations taken.
    pub iterations: usize,
    /// Whether the gradient vanished there (within tolerance) inside the bounds.
    pub converged: bool,
}

/// Largest gradient component accepted as zero.
const GRADIENT_TOLERANCE: f64 = 1e-7;
const MAX_ITERATIONS: usize = 1_000;

fn dot(left: &[f64], right: &[f64]) -> f64 {
    left.iter().zip(right).map(|(l, r)| l * r).sum()
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|row| (0..n).map(|column| f64::from(u8::from(row == column))).collect()).collect()
}

/// Minimises `function` (value and gradient) from `start`, each variable within `bounds`.
pub fn minimize(
    function: impl Fn(&[f64]) -> (f64, Vec<f64>),
    start: Vec<f64>,
    bounds: (f64, f64),
) -> Minimum {
    let n = start.len();
    let clamp =
        |point: Vec<f64>| -> Vec<f64> { point.into_iter().map(|x| x.clamp(bounds.0, bounds.1)).collect() };
    let mut point = clamp(start);
    let (mut value, mut gradient) = function(&point);
    let mut inverse_hessian = identity(n);
    let mut iterations = 0;
    let mut active = vec![false; n];
    let at_bound = |point: &[f64], gradient: &[f64]| {
        // A bound counts as a minimum only if the gradient pushes outwards there.
        point.iter().zip(gradient).all(|(x, g)| {
            g.abs() < GRADIENT_TOLERANCE || (*x <= bounds.0 && *g > 0.0) || (*x >= bounds.1 && *g < 0.0)
        })
    };
    while iterations < MAX_ITERATIONS {
        if !value.is_finite() {
            break;
        }
        if at_bound(&point, &gradient) {
            let interior = point.iter().all(|x| *x > bounds.0 && *x < bounds.1);
            return Minimum { point, value, iterations, converged: interior };
        }
        iterations += 1;
        // Variables held at a bound by a gradient pushing outwards stay there; when that set
        // changes, the curvature learned so far no longer applies.
        let held: Vec<bool> = point
            .iter()
            .zip(&gradient)
            .map(|(x, g)| (*x <= bounds.0 && *g > 0.0) || (*x >= bounds.1 && *g < 0.0))
            .collect();
        if held != active {
            active = held;
            inverse_hessian = identity(n);
        }
        let project = |direction: Vec<f64>| -> Vec<f64> {
            direction.into_iter().zip(&active).map(|(d, held)| if *held { 0.0 } else { d }).collect()
        };
        let mut direction = project(inverse_hessian.iter().map(|row| -dot(row, &gradient)).collect());
        if dot(&direction, &gradient) >= 0.0 {
            inverse_hessian = identity(n);
            direction = project(gradient.iter().map(|g| -g).collect());
        }
        let slope = dot(&direction, &gradient);
        let mut step = 1.0;
        let mut next = None;
        for _ in 0..60 {
            let candidate = clamp(point.iter().zip(&direction).map(|(x, d)| x + step * d).collect());
            let (candidate_value, candidate_gradient) = function(&candidate);
            if candidate_value.is_finite() && candidate_value <= value + 1e-4 * step * slope {
                next = Some((candidate, candidate_value, candidate_gradient));
                break;
            }
            step *= 0.5;
        }
        let Some((candidate, candidate_value, candidate_gradient)) = next else {
            if inverse_hessian == identity(n) {
                break; // not even a steepest-descent step helps: as good as it gets
            }
            inverse_hessian = identity(n);
            continue;
        };
        let moved: Vec<f64> = candidate.iter().zip(&point).map(|(new, old)| new - old).collect();
        let change: Vec<f64> = candidate_gradient.iter().zip(&gradient).map(|(new, old)| new - old).collect();
        let curvature = dot(&moved, &change);
        if curvature > 1e-12 {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / curvature;
            let h_y: Vec<f64> = inverse_hessian.iter().map(|row| dot(row, &change)).collect();
            let y_h_y = dot(&change, &h_y);
            for row in 0..n {
                for column in 0..n {
                    inverse_hessian[row][column] += -rho
                        * (moved[row] * h_y[column] + h_y[row] * moved[column])
                        + (rho * rho * y_h_y + rho) * moved[row] * moved[column];
                }
            }
        }
        let improvement = value - candidate_value;
        point = candidate;
        value = candidate_value;
        gradient = candidate_gradient;
        if improvement.abs() <= f64::EPSILON * value.abs().max(1.0) && moved.iter().all(|m| m.abs() < 1e-12) {
            break;
        }
    }
    let converged = gradient.iter().all(|g| g.abs() < GRADIENT_TOLERANCE * 100.0)
        && point.iter().all(|x| *x > bounds.0 && *x < bounds.1);
    Minimum { point, value, iterations, converged }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let rosenbrock = |p: &[f64]| {
            let (x, y) = (p[0], p[1]);
            let value = (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
            let gradient = vec![-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)];
            (value, gradient)
        };
        let found = minimize(rosenbrock, vec![-1.2, 1.0], (-10.0, 10.0));
        assert!(found.converged, "{found:?}");
        assert!((found.point[0] - 1.0).abs() < 1e-5 && (found.point[1] - 1.0).abs() < 1e-5, "{found:?}");
    }

    #[test]
    fn stops_at_a_bound_without_claiming_convergence() {
        // Decreasing forever in x: the bound is where it stops.
        let slope = |p: &[f64]| ((-p[0]).exp() + p[1] * p[1], vec![-(-p[0]).exp(), 2.0 * p[1]]);
        let found = minimize(slope, vec![0.0, 1.0], (-5.0, 5.0));
        assert!(!found.converged);
        assert!((found.point[0] - 5.0).abs() < 1e-9 && found.point[1].abs() < 1e-6, "{found:?}");
    }
}
