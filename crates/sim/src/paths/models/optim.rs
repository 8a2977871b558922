//! Small numerical tools for the calibrator: Nelder–Mead minimisation, a
//! finite-difference Hessian, a symmetric inverse and ln Γ.
//!
//! Written here rather than pulled from a crate: the calibrator needs a few dozen
//! lines of each, and no dependency is worth a build-time cost for that.

/// Result of a minimisation.
#[derive(Clone, Debug)]
pub(crate) struct Minimum {
    /// Argument of the best point.
    pub x: Vec<f64>,
    /// Objective there.
    pub f: f64,
    /// Whether the simplex collapsed (objective spread ≤ `ftol`) before `max_evals`.
    pub converged: bool,
}

/// Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½) from `x0` with
/// initial steps `step`, restarted once from its optimum (a standard guard against
/// a collapsed simplex). Non-finite objective values count as +∞, so constraints
/// can be expressed by returning NaN or ∞.
pub(crate) fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: &[f64],
    max_evals: usize,
    ftol: f64,
) -> Minimum {
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let first = run(&mut eval, x0, step, max_evals / 2, ftol);
    let second = run(&mut eval, &first.x, step, max_evals / 2, ftol);
    if second.f <= first.f {
        Minimum {
            converged: second.converged,
            ..second
        }
    } else {
        first
    }
}

/// The simplex of `x0` and `x0` moved by `step[i]` along each axis `i`, with
/// the values of `f`.
fn initial_simplex(
    f: &mut impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: &[f64],
) -> Vec<(Vec<f64>, f64)> {
    let n = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), f(x0)));
    for i in 0..n {
        let mut x = x0.to_vec();
        x[i] += step[i];
        let v = f(&x);
        simplex.push((x, v));
    }
    simplex
}

/// One Nelder–Mead run from `x0` (reflection, expansion, contraction, shrink)
/// until the simplex's values are within `ftol` or `max_evals` evaluations.
fn run(
    f: &mut impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: &[f64],
    max_evals: usize,
    ftol: f64,
) -> Minimum {
    let n = x0.len();
    let mut simplex = initial_simplex(f, x0, step);
    let mut evals = n + 1;
    let mut converged = false;
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= ftol {
            converged = true;
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|p| p.0[j]).sum::<f64>() / n as f64)
            .collect();
        let towards = |c: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + c * (simplex[n].0[j] - centroid[j]))
                .collect()
        };
        let xr = towards(-1.0);
        let fr = f(&xr);
        evals += 1;
        if fr < simplex[0].1 {
            let xe = towards(-2.0);
            let fe = f(&xe);
            evals += 1;
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let (xc, fc) = if fr < simplex[n].1 {
                let x = towards(-0.5);
                let v = f(&x);
                (x, v)
            } else {
                let x = towards(0.5);
                let v = f(&x);
                (x, v)
            };
            evals += 1;
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (xc, fc);
            } else {
                let x_best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    for (xj, bj) in p.0.iter_mut().zip(&x_best) {
                        *xj = bj + 0.5 * (*xj - bj);
                    }
                    p.1 = f(&p.0);
                }
                evals += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    Minimum { x, f, converged }
}

/// Central finite-difference Hessian of `f` at `x` with steps `h`; `None` if any
/// evaluation is not finite.
pub(crate) fn hessian(
    mut f: impl FnMut(&[f64]) -> f64,
    x: &[f64],
    h: &[f64],
) -> Option<Vec<Vec<f64>>> {
    let n = x.len();
    let mut at = |d: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, s) in d {
            y[i] += s;
        }
        let v = f(&y);
        v.is_finite().then_some(v)
    };
    let f0 = at(&[])?;
    let mut hess = vec![vec![0.0; n]; n];
    for i in 0..n {
        let up = at(&[(i, h[i])])?;
        let down = at(&[(i, -h[i])])?;
        hess[i][i] = (up - 2.0 * f0 + down) / (h[i] * h[i]);
        for j in 0..i {
            let pp = at(&[(i, h[i]), (j, h[j])])?;
            let pm = at(&[(i, h[i]), (j, -h[j])])?;
            let mp = at(&[(i, -h[i]), (j, h[j])])?;
            let mm = at(&[(i, -h[i]), (j, -h[j])])?;
            let v = (pp - pm - mp + mm) / (4.0 * h[i] * h[j]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    Some(hess)
}

/// Inverse of a symmetric positive-definite matrix (Gauss–Jordan); `None` if it is
/// not positive definite.
pub(crate) fn inverse_spd(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut r = row.clone();
            r.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
            r
        })
        .collect();
    for col in 0..n {
        // Without pivoting: a positive-definite matrix has positive pivots.
        let p = m[col][col];
        if !(p.is_finite() && p > 0.0) {
            return None;
        }
        for v in m[col].iter_mut() {
            *v /= p;
        }
        let pivot_row = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let k = row[col];
                for (v, pv) in row.iter_mut().zip(&pivot_row) {
                    *v -= k * pv;
                }
            }
        }
    }
    Some(m.into_iter().map(|r| r[n..].to_vec()).collect())
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ~1e-15).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let m = nelder_mead(
            |x| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2),
            &[-1.2, 1.0],
            &[0.5, 0.5],
            4000,
            1e-14,
        );
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3,
            "{:?}",
            m.x
        );
        assert!(m.converged);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(0.25) - 1.288_022_524_698_077_5).abs() < 1e-12);
    }

    #[test]
    fn hessian_and_inverse_of_a_quadratic() {
        let h = hessian(
            |x| 2.0 * x[0] * x[0] + x[0] * x[1] + 3.0 * x[1] * x[1],
            &[0.3, -0.2],
            &[1e-3, 1e-3],
        )
        .unwrap();
        let want = [[4.0, 1.0], [1.0, 6.0]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((h[i][j] - want[i][j]).abs() < 1e-6);
            }
        }
        let inv = inverse_spd(&h).unwrap();
        assert!((inv[0][0] - 6.0 / 23.0).abs() < 1e-6 && (inv[0][1] + 1.0 / 23.0).abs() < 1e-6);
        assert!(inverse_spd(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }
}
