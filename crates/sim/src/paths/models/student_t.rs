//! GBM with Student-t innovations: fat-tailed returns at a target volatility.
//!
//! Per step: `S(t+dt) = S(t)·exp((μ − σ²/2)·dt + σ·√dt·z)` with
//! `z = T·√((ν−2)/ν)`, `T ~ t(ν)`, `ν > 2`: `z` has unit variance, so the
//! log-returns have exactly the target annualised volatility σ, excess kurtosis
//! `6/(ν−4)` for `ν > 4` and tail index ν. (`E[S]` is then only approximately
//! `S(0)e^{μt}`; `E[e^z]` is infinite for a t, but prices stay finite per draw.)
//! With a correlation, the standardized t draws are correlated through the
//! Cholesky factor: a t-copula approximation (see [`super::correlation`]).
//!
//! ```toml
//! [path]
//! kind = "student_t"
//! steps = 1440
//! drift = 0.0        # default 0
//! volatility = 0.8
//! dof = 4.0          # > 2
//! ```

use std::path::Path;

use super::correlation::{Innovation, resolve_optional};
use super::gbm::Diffusion;
use super::{PathModel, check_step_volatility, invalid};
use crate::config::path::StudentTConfig;
use crate::paths::error::PathError;

impl StudentTConfig {
    /// Validates and builds the model.
    ///
    /// # Errors
    /// [`PathError::Model`] for bad parameters; [`PathError::Data`] if a
    /// correlation file cannot be read.
    pub fn build(
        &self,
        base_dir: &Path,
        markets: usize,
        step_seconds: u32,
    ) -> Result<Box<dyn PathModel>, PathError> {
        self.validate(markets).map_err(invalid)?;
        check_step_volatility("volatility", self.volatility, step_seconds)?;
        let chol = resolve_optional(self.correlation.as_ref(), base_dir, markets, step_seconds)?;
        Ok(Box::new(Diffusion::new(
            self.steps,
            markets,
            self.drift,
            self.volatility,
            step_seconds,
            Innovation::student_t(self.dof)?,
            chol,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::models::test_util::{log_returns, mean_var};
    use crate::paths::models::{Scratch, year_fraction};
    use crate::rng::{Purpose, stream};

    fn returns(dof: f64, n: u32, seed: u64) -> Vec<f64> {
        let cfg = StudentTConfig {
            steps: n + 1,
            drift: 0.0,
            volatility: 0.6,
            dof,
            correlation: None,
        };
        let model = cfg.build(Path::new("."), 1, 60).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[100.0],
            &mut stream(seed, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        log_returns(&out[0])
    }

    /// ν = 12: excess kurtosis 6/(ν−4) = 0.75. Tolerance 5 SE, with the delta-method
    /// SE of the sample kurtosis of a unit-variance variable,
    /// `Var ≈ (μ8 − μ4² − 4μ4(μ6 − μ4) + 4μ4²(μ4 − 1))/n`, from the standardized t
    /// moments μ4 = 3(ν−2)/(ν−4), μ6 = 15(ν−2)²/((ν−4)(ν−6)),
    /// μ8 = 105(ν−2)³/((ν−4)(ν−6)(ν−8)). Also: variance = σ²dt within 5 SE.
    #[test]
    fn excess_kurtosis_and_variance_match_theory() {
        let nu = 12.0;
        let r = returns(nu, 300_000, 2);
        let n = r.len() as f64;
        let (m, v) = mean_var(&r);
        let m4 = r.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
        let kurt = m4 / (v * v) - 3.0;
        let mu4 = 3.0 * (nu - 2.0) / (nu - 4.0);
        let mu6 = 15.0 * (nu - 2.0f64).powi(2) / ((nu - 4.0) * (nu - 6.0));
        let mu8 = 105.0 * (nu - 2.0f64).powi(3) / ((nu - 4.0) * (nu - 6.0) * (nu - 8.0));
        let var_k = (mu8 - mu4 * mu4 - 4.0 * mu4 * (mu6 - mu4) + 4.0 * mu4 * mu4 * (mu4 - 1.0)) / n;
        let want = 6.0 / (nu - 4.0);
        assert!(
            (kurt - want).abs() < 5.0 * var_k.sqrt(),
            "kurtosis {kurt} vs {want}"
        );
        let want_v = 0.36 * year_fraction(60);
        // Var of a sample variance: σ⁴(μ4 − 1)/n.
        let se_v = want_v * ((mu4 - 1.0) / n).sqrt();
        assert!((v - want_v).abs() < 5.0 * se_v, "variance {v} vs {want_v}");
    }

    /// Hill estimator of the tail index on the k = 1000 largest |returns| of
    /// n = 300 000: SE ≈ ν/√k (≈ 3–5%); the second-order bias of a t at k/n = 0.33%
    /// is a few percent more, so "roughly" is ±20%.
    #[test]
    fn tail_index_is_recovered_by_hill() {
        for (nu, seed) in [(3.0, 3), (5.0, 4)] {
            let mut a: Vec<f64> = returns(nu, 300_000, seed).iter().map(|x| x.abs()).collect();
            let k = 1000;
            let len = a.len();
            a.select_nth_unstable_by(len - k - 1, f64::total_cmp);
            let threshold = a[len - k - 1];
            let top = &a[len - k..];
            let hill = top.iter().map(|x| (x / threshold).ln()).sum::<f64>() / k as f64;
            let alpha = 1.0 / hill;
            assert!((alpha - nu).abs() < 0.2 * nu, "ν = {nu}: Hill {alpha}");
        }
    }

    #[test]
    fn dof_must_exceed_two() {
        let cfg = StudentTConfig {
            steps: 10,
            drift: 0.0,
            volatility: 0.6,
            dof: 2.0,
            correlation: None,
        };
        let e = cfg.validate(1).unwrap_err();
        assert_eq!(e.key, "path.dof");
        assert!(e.message.contains("> 2"), "{}", e.message);
    }
}
