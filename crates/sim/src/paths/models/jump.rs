//! Merton jump-diffusion: GBM plus Poisson jumps with normal log-sizes.
//!
//! Per step of `dt` years, with `N ~ Poisson(λ·dt)` jumps of log-size
//! `Y ~ N(m, s²)`:
//!
//! ```text
//! r = (μ − σ²/2 − λ·k)·dt + σ·√dt·z + Σ_{i ≤ N} Y_i,   k = E[e^Y] − 1 = e^{m + s²/2} − 1
//! ```
//!
//! The `−λ·k·dt` compensator makes `E[S(t+dt) | S(t)] = S(t)·e^{μ·dt}` exactly: with
//! the default `drift = 0` the price is a **martingale**, whatever the jumps.
//! With a correlation, the diffusion parts are correlated; the jumps of different
//! markets are independent.
//!
//! ```toml
//! [path]
//! kind = "jump"
//! steps = 1440
//! drift = 0.0          # default 0 (martingale)
//! volatility = 0.6     # diffusion, annualised
//! intensity = 10.0     # expected jumps per year
//! jump_mean = -0.05    # mean log jump size
//! jump_stdev = 0.05    # stdev of the log jump size
//! ```

use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Poisson, StandardNormal};

use super::correlation::{Innovation, resolve_optional};
use super::{
    PathModel, Scratch, check_step_volatility, debug_check_price, invalid, start_output,
    year_fraction,
};
use crate::cholesky::Cholesky;
use crate::config::path::JumpConfig;
use crate::paths::error::{PathError, PathModelError};

impl JumpConfig {
    /// Validates and builds the model.
    ///
    /// # Errors
    /// [`PathError::Model`] for bad parameters (including a jump rate per step
    /// too large to sample); [`PathError::Data`] if a correlation file cannot be read.
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
        let rate = self.intensity * dt;
        let poisson = if rate > 0.0 {
            Some(
                Poisson::new(rate).map_err(|error| PathModelError::JumpRate {
                    intensity: self.intensity,
                    rate,
                    error,
                })?,
            )
        } else {
            None
        };
        let k = (self.jump_mean + 0.5 * self.jump_stdev * self.jump_stdev).exp() - 1.0;
        let s2 = self.volatility * self.volatility;
        Ok(Box::new(Jump {
            steps: self.steps as usize,
            markets,
            drift_dt: (self.drift - 0.5 * s2 - self.intensity * k) * dt,
            vol_sqrt_dt: self.volatility * dt.sqrt(),
            poisson,
            jump_mean: self.jump_mean,
            jump_stdev: self.jump_stdev,
            chol,
        }))
    }
}

/// The built jump-diffusion.
#[derive(Clone, Debug)]
struct Jump {
    steps: usize,
    markets: usize,
    /// `(μ − σ²/2 − λk)·dt`.
    drift_dt: f64,
    vol_sqrt_dt: f64,
    /// Jumps per step; `None` for λ = 0.
    poisson: Option<Poisson<f64>>,
    jump_mean: f64,
    jump_stdev: f64,
    chol: Option<Cholesky>,
}

impl PathModel for Jump {
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
            Innovation::Normal.draw_vector(self.chol.as_ref(), rng, &mut scratch.z);
            for (series, &z) in out.iter_mut().zip(&scratch.z) {
                let mut r = self.drift_dt + self.vol_sqrt_dt * z;
                if let Some(poisson) = &self.poisson {
                    let n: f64 = rng.sample(poisson);
                    if n > 0.0 {
                        // Sum of n i.i.d. N(m, s²) jumps.
                        let y: f64 = rng.sample(StandardNormal);
                        r += n * self.jump_mean + self.jump_stdev * n.sqrt() * y;
                    }
                }
                let p = series[t - 1] * r.exp();
                debug_check_price(p);
                series[t] = p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::models::test_util::{log_returns, mean_var};
    use crate::rng::{Purpose, stream};

    /// With no diffusion, a step's log-return differs from the compensated drift
    /// only if it has a jump. Steps with ≥ 1 jump ~ Binomial(n, 1 − e^{−λdt}): within
    /// 5 binomial SE.
    #[test]
    fn jump_count_is_poisson() {
        let cfg = JumpConfig {
            steps: 50_001,
            drift: 0.0,
            volatility: 0.0,
            intensity: 200.0,
            jump_mean: -0.05,
            jump_stdev: 0.03,
            correlation: None,
        };
        let model = cfg.build(Path::new("."), 1, 3600).unwrap();
        let mut out = model.new_output();
        model.fill(
            &[100.0],
            &mut stream(8, Purpose::Path, 0),
            &mut Scratch::new(),
            &mut out,
        );
        let dt = year_fraction(3600);
        let k = (cfg.jump_mean + 0.5 * cfg.jump_stdev * cfg.jump_stdev).exp() - 1.0;
        let drift_dt = -cfg.intensity * k * dt;
        let r = log_returns(&out[0]);
        let jumps = r.iter().filter(|x| (*x - drift_dt).abs() > 1e-9).count() as f64;
        let n = r.len() as f64;
        let q = 1.0 - (-cfg.intensity * dt).exp();
        let (want, se) = (n * q, (n * q * (1.0 - q)).sqrt());
        assert!(
            (jumps - want).abs() < 5.0 * se,
            "{jumps} jump steps vs {want} ± {se}"
        );
    }

    /// Martingale: over 10 000 paths of 30 daily steps with big downward jumps, the
    /// mean terminal price is within 5 SE (sample sd/√paths) of the start price.
    #[test]
    fn compensated_price_is_a_martingale() {
        let cfg = JumpConfig {
            steps: 31,
            drift: 0.0,
            volatility: 0.8,
            intensity: 20.0,
            jump_mean: -0.15,
            jump_stdev: 0.1,
            correlation: None,
        };
        let model = cfg.build(Path::new("."), 1, 86_400).unwrap();
        let mut out = model.new_output();
        let mut scratch = Scratch::new();
        let terminal: Vec<f64> = (0..10_000)
            .map(|i| {
                model.fill(
                    &[100.0],
                    &mut stream(9, Purpose::Path, i),
                    &mut scratch,
                    &mut out,
                );
                out[0][30]
            })
            .collect();
        let (m, v) = mean_var(&terminal);
        let se = (v / terminal.len() as f64).sqrt();
        assert!((m - 100.0).abs() < 5.0 * se, "mean terminal {m} ± {se}");
        // Without the compensator E[S(T)] = S(0)·e^{λkT} ≈ 80 (k ≈ −0.135, λT ≈ 1.6),
        // dozens of SE away: the test has the power to see a missing compensator.
        assert!(se < 0.5, "{se}");
    }

    #[test]
    fn negative_intensity_is_rejected() {
        let cfg = JumpConfig {
            steps: 10,
            drift: 0.0,
            volatility: 0.5,
            intensity: -1.0,
            jump_mean: 0.0,
            jump_stdev: 0.1,
            correlation: None,
        };
        assert_eq!(cfg.validate(1).unwrap_err().key, "path.intensity");
    }
}
