//! A Brownian bridge pinned to a crash level, then free GBM.
//!
//! For each market, the log-price runs from `ln S(0)` to `ln(S(0)·(1 + crash))` at
//! step `pin_step` as a Brownian bridge with the model's volatility σ:
//!
//! ```text
//! W(t) = σ·√dt·(z₁ + … + z_t),   ln S(t) = ln S(0) + W(t) + (t/T)·(ln(1 + crash) − W(T)),   T = pin_step
//! ```
//!
//! and the price at the pin is set to `start × (1.0 + crash)` exactly (bitwise), so
//! every path crosses the same crash level at the same time: the scenario chooses
//! *when* and *how deep*, the model only the route. After the pin the price moves as
//! a free GBM with `drift` and σ (see [`super::gbm`]). With a correlation the
//! innovations `z` are correlated across markets, before and after the pin.
//!
//! ```toml
//! [path]
//! kind = "bridge"
//! steps = 1440
//! pin_step = 360      # 6 hours of 60 s steps
//! crash = -0.35       # −35 % at the pin
//! volatility = 0.8    # annualised
//! drift = 0.0         # after the pin, default 0
//! ```

use std::path::Path;

use rand_chacha::ChaCha8Rng;

use super::correlation::{Innovation, resolve_optional};
use super::{
    PathModel, Scratch, check_step_volatility, debug_check_price, invalid, start_output,
    year_fraction,
};
use crate::cholesky::Cholesky;
use crate::config::path::BridgeConfig;
use crate::paths::error::PathError;

impl BridgeConfig {
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
        Ok(Box::new(Bridge {
            steps: self.steps as usize,
            pin: self.pin_step as usize,
            crash: self.crash,
            log_target: self.crash.ln_1p(),
            vol_sqrt_dt: self.volatility * dt.sqrt(),
            drift_dt: (self.drift - 0.5 * self.volatility * self.volatility) * dt,
            markets,
            chol,
        }))
    }
}

/// The built bridge model.
#[derive(Clone, Debug)]
struct Bridge {
    steps: usize,
    pin: usize,
    crash: f64,
    /// `ln(1 + crash)`.
    log_target: f64,
    vol_sqrt_dt: f64,
    drift_dt: f64,
    markets: usize,
    chol: Option<Cholesky>,
}

impl PathModel for Bridge {
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
        let pin = self.pin.min(self.steps.saturating_sub(1));
        // The free Brownian motion W(t) up to the pin, held in `out` for now.
        for series in out.iter_mut() {
            if pin > 0 {
                series[0] = 0.0;
            }
        }
        for t in 1..=pin {
            Innovation::Normal.draw_vector(self.chol.as_ref(), rng, &mut scratch.z);
            for (series, &z) in out.iter_mut().zip(&scratch.z) {
                series[t] = series[t - 1] + self.vol_sqrt_dt * z;
            }
        }
        // Pinned: W(t) + (t/T)(ln(1 + crash) − W(T)), as a price.
        for (series, &s0) in out.iter_mut().zip(start) {
            if pin == 0 {
                continue;
            }
            let w_end = series[pin];
            let tp = pin as f64;
            series[0] = s0;
            for (t, w) in series.iter_mut().enumerate().take(pin).skip(1) {
                let x = *w + (t as f64 / tp) * (self.log_target - w_end);
                let p = s0 * x.exp();
                debug_check_price(p);
                *w = p;
            }
            series[pin] = s0 * (1.0 + self.crash);
            debug_check_price(series[pin]);
        }
        // Free GBM after the pin.
        for t in pin + 1..self.steps {
            Innovation::Normal.draw_vector(self.chol.as_ref(), rng, &mut scratch.z);
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
    use crate::config::path::CorrelationSpec;
    use crate::paths::models::test_util::mean_var;
    use crate::rng::{Purpose, stream};

    fn config() -> BridgeConfig {
        BridgeConfig {
            steps: 480,
            pin_step: 360,
            crash: -0.35,
            volatility: 1.2,
            drift: 0.0,
            correlation: Some(CorrelationSpec::Matrix(vec![
                vec![1.0, 0.5],
                vec![0.5, 1.0],
            ])),
        }
    }

    /// Every path of every market is at `start × (1 + crash)` at the pin, bitwise;
    /// halfway to the pin, the log-price has the bridge's mean (the straight line)
    /// and variance σ²dt·t(T − t)/T, within 5 SE over 2 000 paths; after the pin,
    /// one-step log-returns have the free GBM's mean and variance σ²dt (5 SE).
    #[test]
    fn hits_the_pin_exactly_and_moves_freely_after() {
        let cfg = config();
        let model = cfg.build(Path::new("."), 2, 60).unwrap();
        let start = [60_000.0, 0.37];
        let mut out = model.new_output();
        let mut scratch = Scratch::new();
        let (mut mid, mut after) = (Vec::new(), Vec::new());
        for i in 0..2000 {
            model.fill(
                &start,
                &mut stream(4, Purpose::Path, i),
                &mut scratch,
                &mut out,
            );
            for (m, series) in out.iter().enumerate() {
                assert_eq!(series.len(), 480);
                assert_eq!(series[0], start[m]);
                assert_eq!(
                    series[360].to_bits(),
                    (start[m] * (1.0 + cfg.crash)).to_bits()
                );
                assert!(series.iter().all(|p| p.is_finite() && *p > 0.0));
            }
            mid.push((out[0][180] / start[0]).ln());
            after.extend(out[1][361..].windows(2).map(|w| (w[1] / w[0]).ln()));
        }
        let dt = year_fraction(60);
        let s2dt = cfg.volatility * cfg.volatility * dt;
        let (m, v) = mean_var(&mid);
        let want_v = s2dt * 180.0 * 180.0 / 360.0;
        let want_m = 0.5 * cfg.crash.ln_1p();
        let n = mid.len() as f64;
        assert!(
            (m - want_m).abs() < 5.0 * (want_v / n).sqrt(),
            "mid mean {m} vs {want_m}"
        );
        assert!(
            (v - want_v).abs() < 5.0 * want_v * (2.0 / n).sqrt(),
            "mid var {v} vs {want_v}"
        );
        let (m, v) = mean_var(&after);
        let n = after.len() as f64;
        assert!(
            (m + 0.5 * s2dt).abs() < 5.0 * (s2dt / n).sqrt(),
            "after mean {m}"
        );
        assert!(
            (v - s2dt).abs() < 5.0 * s2dt * (2.0 / n).sqrt(),
            "after var {v} vs {s2dt}"
        );
    }

    #[test]
    fn pin_and_crash_are_checked() {
        let mut cfg = config();
        cfg.pin_step = 480;
        assert_eq!(cfg.validate(2).unwrap_err().key, "path.pin_step");
        cfg.pin_step = 0;
        assert_eq!(cfg.validate(2).unwrap_err().key, "path.pin_step");
        let mut cfg = config();
        cfg.crash = -1.0;
        assert_eq!(cfg.validate(2).unwrap_err().key, "path.crash");
        let cfg = config();
        assert_eq!(cfg.validate(3).unwrap_err().key, "path.correlation.matrix");
    }
}
