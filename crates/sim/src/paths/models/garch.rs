//! GARCH(1,1) with standardized Student-t innovations: volatility clustering.
//!
//! Per market, per step (per-step variance `h`, `dt` in years of 365 days):
//!
//! ```text
//! ε(t)   = √h(t) · z(t),                 z standardized t(ν) (unit variance)
//! r(t)   = μ·dt − h(t)/2 + ε(t)          log-return of the step
//! h(t+1) = ω + α·ε(t)² + β·h(t),         ω = σ²·dt·(1 − α − β)
//! ```
//!
//! σ is the long-run annualised volatility (`volatility`): the stationary variance
//! of ε is `ω/(1 − α − β) = σ²·dt`, and every path starts at that level,
//! `h(0) = σ²·dt`. Requires α, β ≥ 0, α + β < 1 (stationarity) and ν > 2.
//! With a correlation the `z` are correlated (t-copula approximation); each
//! market keeps its own variance `h`.
//!
//! ```toml
//! [path]
//! kind = "garch"
//! steps = 1440
//! drift = 0.0        # default 0
//! volatility = 0.8   # long-run annualised
//! alpha = 0.08
//! beta = 0.9
//! dof = 5.0
//! ```

use std::path::Path;

use rand_chacha::ChaCha8Rng;

use super::correlation::{Innovation, resolve_optional};
use super::{
    PathModel, Scratch, check_step_volatility, debug_check_price, invalid, start_output,
    year_fraction,
};
use crate::cholesky::Cholesky;
use crate::config::path::GarchConfig;
use crate::paths::error::PathError;

impl GarchConfig {
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
        let dt = year_fraction(step_seconds);
        let long_run = self.volatility * self.volatility * dt;
        Ok(Box::new(Garch {
            steps: self.steps as usize,
            markets,
            drift_dt: self.drift * dt,
            long_run,
            omega: long_run * (1.0 - self.alpha - self.beta),
            alpha: self.alpha,
            beta: self.beta,
            innovation: Innovation::student_t(self.dof)?,
            chol,
        }))
    }
}

/// The built GARCH(1,1)-t model.
#[derive(Clone, Debug)]
struct Garch {
    steps: usize,
    markets: usize,
    drift_dt: f64,
    /// `σ²·dt`, the starting and stationary per-step variance.
    long_run: f64,
    omega: f64,
    alpha: f64,
    beta: f64,
    innovation: Innovation,
    chol: Option<Cholesky>,
}

impl PathModel for Garch {
    fn markets(&self) -> usize {
        self.markets
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn fill(
        &self,
        start: &[f64],
        rng: &mut ChaCha8Rng,
        scratch: &mut Scratch,
        out: &mut [Vec<f64>],
    ) {
        start_output(start, self.steps, out);
        scratch.prepare(self.markets);
        scratch.h.fill(self.long_run);
        for t in 1..self.steps {
            self.innovation
                .draw_vector(self.chol.as_ref(), rng, &mut scratch.z);
            for ((series, &z), h) in out.iter_mut().zip(&scratch.z).zip(scratch.h.iter_mut()) {
                let eps = h.sqrt() * z;
                let p = series[t - 1] * (self.drift_dt - 0.5 * *h + eps).exp();
                debug_check_price(p);
                series[t] = p;
                *h = self.omega + self.alpha * eps * eps + self.beta * *h;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::models::calibrate::calibrate;
    use crate::paths::models::test_util::{log_returns, mean_var};
    use crate::rng::{Purpose, stream};

    fn config() -> GarchConfig {
        GarchConfig {
            steps: 30_001,
            drift: 0.0,
            volatility: 0.8,
            alpha: 0.05,
            beta: 0.9,
            dof: 8.0,
            correlation: None,
        }
    }

    fn simulate(cfg: &GarchConfig, seed: u64) -> Vec<f64> {
        let model = cfg.build(Path::new("."), 1, 60).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[100.0],
            &mut stream(seed, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        out.swap_remove(0)
    }

    /// Sample variance of returns ≈ σ²dt. Tolerance 5 SE, SE² ≈ σ⁴(κ_ε − 1)(1 + 2Σρ_k)/n
    /// with the GARCH(1,1) unconditional kurtosis κ_ε = κ_z(1 − p²)/(1 − p² − (κ_z − 1)α²),
    /// κ_z = 3(ν−2)/(ν−4), p = α + β, and the autocorrelations of ε², ρ_1 =
    /// α(1 − αβ − β²)/(1 − 2αβ − β²), ρ_k = ρ_1·p^(k−1) (Bollerslev 1986, 1988).
    #[test]
    fn return_variance_is_the_long_run_level() {
        let cfg = config();
        let r = log_returns(&simulate(&cfg, 21));
        let n = r.len() as f64;
        let (a, b, nu) = (cfg.alpha, cfg.beta, cfg.dof);
        let p = a + b;
        let kz = 3.0 * (nu - 2.0) / (nu - 4.0);
        let ke = kz * (1.0 - p * p) / (1.0 - p * p - (kz - 1.0) * a * a);
        let rho1 = a * (1.0 - a * b - b * b) / (1.0 - 2.0 * a * b - b * b);
        let inflation = 1.0 + 2.0 * rho1 / (1.0 - p);
        let want = cfg.volatility * cfg.volatility * year_fraction(60);
        let se = want * ((ke - 1.0) * inflation / n).sqrt();
        let (_, v) = mean_var(&r);
        assert!(
            (v - want).abs() < 5.0 * se,
            "variance {v} vs {want} (SE {se})"
        );
    }

    /// The maximum-likelihood calibrator recovers the persistence α + β of a
    /// simulated series within 5 standard errors from the observed information
    /// (the inverse Hessian of the log-likelihood at the optimum).
    #[test]
    fn calibrator_recovers_persistence() {
        let cfg = config();
        let prices = simulate(&cfg, 22);
        let fit = calibrate(&prices, 60).unwrap().garch;
        let se = fit
            .persistence_se
            .expect("information matrix is invertible");
        let p = fit.alpha + fit.beta;
        assert!(se > 0.0 && se < 0.02, "SE {se}");
        assert!(
            (p - (cfg.alpha + cfg.beta)).abs() < 5.0 * se,
            "persistence {p} ± {se}: α {} β {}",
            fit.alpha,
            fit.beta
        );
        assert!(
            (fit.volatility / cfg.volatility - 1.0).abs() < 0.15,
            "{}",
            fit.volatility
        );
    }

    #[test]
    fn non_stationary_and_negative_params_are_rejected() {
        let mut cfg = config();
        cfg.alpha = 0.6;
        cfg.beta = 0.45;
        let e = cfg.validate(1).unwrap_err();
        assert_eq!(
            e.message,
            "`path.alpha` + `path.beta` must be < 1 for a stationary GARCH, got 0.6 + 0.45"
        );
        cfg.alpha = -0.1;
        assert_eq!(cfg.validate(1).unwrap_err().key, "path.alpha");
        let mut cfg = config();
        cfg.dof = 1.5;
        assert_eq!(cfg.validate(1).unwrap_err().key, "path.dof");
        assert!(cfg.build(Path::new("."), 1, 60).is_err());
    }
}
