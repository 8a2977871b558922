//! Geometric Brownian motion, and the diffusion engine it shares with the
//! Student-t model.
//!
//! Per step of `dt` years (365-day year), with unit-variance innovation `z`
//! (correlated across markets if a correlation is given):
//!
//! `S(t+dt) = S(t) · exp((μ − σ²/2)·dt + σ·√dt·z)`
//!
//! so that `E[S(t)] = S(0)·e^{μt}` for normal `z`: `drift = 0` is a martingale.
//!
//! ```toml
//! [path]
//! kind = "gbm"
//! steps = 1440
//! drift = 0.0        # annualised μ, default 0
//! volatility = 0.8   # annualised σ
//! ```

use std::path::Path;

use rand_chacha::ChaCha8Rng;

use super::correlation::{Innovation, resolve_optional};
use super::{
    PathModel, Scratch, check_step_volatility, debug_check_price, invalid, start_output,
    year_fraction,
};
use crate::cholesky::Cholesky;
use crate::config::path::GbmConfig;
use crate::paths::error::PathError;

impl GbmConfig {
    /// Validates and builds the model (`step_seconds`: the scenario's step).
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
            Innovation::Normal,
            chol,
        )))
    }
}

/// A log-normal diffusion with i.i.d. unit-variance innovations (normal for GBM,
/// standardized t for the Student-t model).
#[derive(Clone, Debug)]
pub(crate) struct Diffusion {
    steps: usize,
    markets: usize,
    /// `(μ − σ²/2)·dt`.
    drift_dt: f64,
    /// `σ·√dt`.
    vol_sqrt_dt: f64,
    innovation: Innovation,
    chol: Option<Cholesky>,
}

impl Diffusion {
    pub(crate) fn new(
        steps: u32,
        markets: usize,
        drift: f64,
        volatility: f64,
        step_seconds: u32,
        innovation: Innovation,
        chol: Option<Cholesky>,
    ) -> Diffusion {
        let dt = year_fraction(step_seconds);
        Diffusion {
            steps: steps as usize,
            markets,
            drift_dt: (drift - 0.5 * volatility * volatility) * dt,
            vol_sqrt_dt: volatility * dt.sqrt(),
            innovation,
            chol,
        }
    }
}

impl PathModel for Diffusion {
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
        for t in 1..self.steps {
            self.innovation
                .draw_vector(self.chol.as_ref(), rng, &mut scratch.z);
            for (series, &z) in out.iter_mut().zip(&scratch.z) {
                let p = series[t - 1] * (self.drift_dt + self.vol_sqrt_dt * z).exp();
                debug_check_price(p);
                series[t] = p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::path::ModelConfig;
    use crate::paths::models::test_util::{log_returns, mean_var};
    use crate::rng::{Purpose, stream};

    /// Log-returns of a long GBM path: the sample mean is within 5 SE of
    /// `(μ − σ²/2)dt` (SE = σ√dt/√n) and the sample variance within 5 SE of `σ²dt`
    /// (SE of a normal sample variance = σ²dt·√(2/(n−1))).
    #[test]
    fn log_returns_have_the_theoretical_mean_and_variance() {
        let (mu, sigma, step) = (0.5, 0.9, 3600);
        let cfg = GbmConfig {
            steps: 50_001,
            drift: mu,
            volatility: sigma,
            correlation: None,
        };
        let model = cfg.build(Path::new("."), 2, step).unwrap();
        let mut out = model.new_output();
        let mut scratch = Scratch::new();
        model.fill(
            &[100.0, 3000.0],
            &mut stream(1, Purpose::Path, 0),
            &mut scratch,
            &mut out,
        );
        let dt = year_fraction(step);
        for series in &out {
            assert_eq!(series.len(), 50_001);
            assert!(series.iter().all(|p| p.is_finite() && *p > 0.0));
            let r = log_returns(series);
            let n = r.len() as f64;
            let (m, v) = mean_var(&r);
            let want_m = (mu - 0.5 * sigma * sigma) * dt;
            let want_v = sigma * sigma * dt;
            assert!(
                (m - want_m).abs() < 5.0 * (want_v / n).sqrt(),
                "mean {m} vs {want_m}"
            );
            assert!(
                (v - want_v).abs() < 5.0 * want_v * (2.0 / (n - 1.0)).sqrt(),
                "var {v} vs {want_v}"
            );
        }
    }

    #[test]
    fn same_stream_same_path_and_reuse_does_not_leak() {
        let cfg = GbmConfig {
            steps: 100,
            drift: 0.0,
            volatility: 1.0,
            correlation: None,
        };
        let model = cfg.build(Path::new("."), 1, 60).unwrap();
        let mut a = model.new_output();
        let mut b = vec![vec![7.0; 300]];
        let mut scratch = Scratch::new();
        model.fill(
            &[10.0],
            &mut stream(3, Purpose::Path, 9),
            &mut scratch,
            &mut a,
        );
        model.fill(
            &[10.0],
            &mut stream(3, Purpose::Path, 9),
            &mut scratch,
            &mut b,
        );
        assert_eq!(a, b);
        assert_eq!(a[0][0], 10.0);
    }

    #[test]
    fn toml_keys_defaults_and_errors() {
        let cfg: ModelConfig =
            toml::from_str("kind = \"gbm\"\nsteps = 10\nvolatility = 0.5\n").unwrap();
        assert_eq!(
            cfg,
            ModelConfig::Gbm(GbmConfig {
                steps: 10,
                drift: 0.0,
                volatility: 0.5,
                correlation: None
            })
        );
        assert!(
            toml::from_str::<ModelConfig>("kind = \"gbm\"\nsteps = 1\nvolatility = 0.5\nvol = 1\n")
                .is_err()
        );
        let bad = GbmConfig {
            steps: 10,
            drift: 0.0,
            volatility: -0.1,
            correlation: None,
        };
        let e = bad.validate(1).unwrap_err();
        assert_eq!(e.key, "path.volatility");
        assert!(bad.build(Path::new("."), 1, 60).is_err());
        // 15 annualised is 0.79 per day, 2.1 per week: too much for one step.
        let wild = GbmConfig {
            volatility: 15.0,
            ..bad
        };
        assert!(wild.build(Path::new("."), 1, 86_400).is_ok());
        let e = wild.build(Path::new("."), 1, 7 * 86_400).unwrap_err();
        assert!(e.to_string().contains("`path.volatility` = 15"), "{e}");
    }
}
