//! Exact (Clopper–Pearson) confidence interval of a probability.

use statrs::distribution::{Beta, ContinuousCDF};

/// The two-sided Clopper–Pearson interval at `confidence` (e.g. 0.95) for `k`
/// events in `n` trials: `[B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)]` with `B` the
/// beta quantile, `0` below when `k = 0` and `1` above when `k = n`. Exact in
/// the sense that its coverage is never below `confidence`: the honest interval
/// for rare events such as insurance-fund depletion, where the normal
/// approximation collapses to zero width. `(NaN, NaN)` when `n = 0`.
pub fn clopper_pearson(k: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 || k > n {
        return (f64::NAN, f64::NAN);
    }
    let alpha = 1.0 - confidence;
    let (kf, nf) = (k as f64, n as f64);
    let lower = if k == 0 {
        0.0
    } else {
        Beta::new(kf, nf - kf + 1.0).map_or(f64::NAN, |b| b.inverse_cdf(alpha / 2.0))
    };
    let upper = if k == n {
        1.0
    } else {
        Beta::new(kf + 1.0, nf - kf).map_or(f64::NAN, |b| b.inverse_cdf(1.0 - alpha / 2.0))
    };
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_values_computed_by_hand() {
        // k = 0: the upper bound has the closed form 1 − (α/2)^(1/n).
        let (lo, hi) = clopper_pearson(0, 10, 0.95);
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-9, "{hi}");
        // k = n: the lower bound is (α/2)^(1/n).
        let (lo, hi) = clopper_pearson(10, 10, 0.95);
        assert_eq!(hi, 1.0);
        assert!((lo - 0.025f64.powf(0.1)).abs() < 1e-9, "{lo}");
        // k = 1, n = 2: the bounds solve 1 − (1 − p)² = α/2 and p² = 1 − α/2.
        let (lo, hi) = clopper_pearson(1, 2, 0.95);
        assert!((lo - (1.0 - 0.975f64.sqrt())).abs() < 1e-9, "{lo}");
        assert!((hi - 0.975f64.sqrt()).abs() < 1e-9, "{hi}");
        // Published value (R binom.test(3, 100)): [0.006229, 0.085176].
        let (lo, hi) = clopper_pearson(3, 100, 0.95);
        assert!((lo - 0.006229).abs() < 5e-6 && (hi - 0.085176).abs() < 5e-6);
        assert!(clopper_pearson(0, 0, 0.95).0.is_nan());
    }
}
