//! Volatility-responsive margin: every market's maintenance and initial rates are
//! multiplied by `clamp(σ_ewma / σ_ref, 1, cap)`.
//!
//! `σ_ewma` is the exponentially weighted root mean square of the mark's log-returns
//! per step, with a half-life in steps (`σ² ← λ σ² + (1 − λ) r²`, `λ = 0.5^(1/h)`,
//! starting at 0, so the multiplier starts at 1). It is folded in at every step
//! (O(markets)), but the multiplier only changes at update steps (every
//! `update_interval_steps`, not at step 0), as a venue republishes its brackets.
//! Positions already open are re-evaluated at once at the new rates: the engine
//! re-indexes every account when a multiplier changes (O(n log n), once per update
//! at most, never on a quiet step).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use crate::money::Rate;

/// Scales the margin rates of each market, step by step.
pub trait MarginScaling: Send + Sync {
    /// Sees the marks (ticks, one per market) of step `step` (called once per step,
    /// in order); returns whether any multiplier changed (the engine then
    /// re-evaluates every account).
    fn observe(&mut self, step: u32, marks: &[i64]) -> bool;
    /// The current multiplier of each market's margin rates (≥ 1).
    fn multipliers(&self) -> &[Rate];
    /// The largest multiplier applied so far, any market.
    fn max_multiplier(&self) -> Rate;
}

/// `[controls.vol_margin]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VolMarginConfig {
    /// Whether margin follows volatility.
    pub enabled: bool,
    /// Reference volatility per step (σ of one step's log-return) at which the
    /// multiplier is 1.
    pub sigma_ref: f64,
    /// Half-life of the EWMA of squared returns, steps.
    pub half_life_steps: f64,
    /// Steps between multiplier updates.
    pub update_interval_steps: u32,
    /// Largest multiplier.
    pub cap: f64,
}

impl Default for VolMarginConfig {
    fn default() -> Self {
        VolMarginConfig {
            enabled: false,
            sigma_ref: defaults::VOL_MARGIN_SIGMA_REF,
            half_life_steps: defaults::VOL_MARGIN_HALF_LIFE_STEPS,
            update_interval_steps: defaults::VOL_MARGIN_UPDATE_INTERVAL_STEPS,
            cap: defaults::VOL_MARGIN_CAP,
        }
    }
}

/// EWMA volatility per market and the multipliers derived from it.
#[derive(Clone, Debug)]
pub struct VolatilityMargin {
    lambda: f64,
    sigma_ref: f64,
    cap: f64,
    interval: u32,
    variance: Vec<f64>,
    last: Vec<i64>,
    multipliers: Vec<Rate>,
    max: Rate,
}

impl VolatilityMargin {
    /// The control for `markets` markets (the config is validated: `sigma_ref` and
    /// the half-life positive, interval at least 1, `cap ≥ 1`).
    pub fn new(cfg: &VolMarginConfig, markets: usize) -> VolatilityMargin {
        VolatilityMargin {
            lambda: 0.5f64.powf(1.0 / cfg.half_life_steps),
            sigma_ref: cfg.sigma_ref,
            cap: cfg.cap.max(1.0),
            interval: cfg.update_interval_steps.max(1),
            variance: vec![0.0; markets],
            last: vec![0; markets],
            multipliers: vec![Rate::ONE; markets],
            max: Rate::ONE,
        }
    }

    /// Current EWMA volatility per step of each market.
    pub fn sigma(&self, market: usize) -> f64 {
        self.variance[market].sqrt()
    }
}

impl MarginScaling for VolatilityMargin {
    fn observe(&mut self, step: u32, marks: &[i64]) -> bool {
        for (m, &mark) in marks.iter().enumerate().take(self.last.len()) {
            if step > 0 && self.last[m] > 0 && mark > 0 {
                let r = (mark as f64 / self.last[m] as f64).ln();
                self.variance[m] = self.lambda * self.variance[m] + (1.0 - self.lambda) * r * r;
            }
            self.last[m] = mark;
        }
        if step == 0 || !step.is_multiple_of(self.interval) {
            return false;
        }
        let mut changed = false;
        for m in 0..self.multipliers.len() {
            let x = (self.variance[m].sqrt() / self.sigma_ref).clamp(1.0, self.cap);
            let r = Rate::from_fraction(x).unwrap_or(Rate::ONE);
            if r != self.multipliers[m] {
                self.multipliers[m] = r;
                self.max = self.max.max(r);
                changed = true;
            }
        }
        changed
    }

    fn multipliers(&self) -> &[Rate] {
        &self.multipliers
    }

    fn max_multiplier(&self) -> Rate {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(sigma_ref: f64, half_life: f64, interval: u32, cap: f64) -> VolatilityMargin {
        VolatilityMargin::new(
            &VolMarginConfig {
                enabled: true,
                sigma_ref,
                half_life_steps: half_life,
                update_interval_steps: interval,
                cap,
            },
            1,
        )
    }

    /// Flat for 10 steps, then the mark alternates between two levels 1% apart
    /// (a log-return of ±ln 1.01 every step): σ_ewma after n volatile steps is
    /// `ln(1.01) × sqrt(1 − λⁿ)`, and the multiplier follows it only at updates.
    #[test]
    fn follows_a_step_in_volatility_with_the_expected_lag_and_is_capped() {
        let (sigma_ref, half_life, interval) = (0.002, 10.0, 5);
        let mut c = control(sigma_ref, half_life, interval, 4.0);
        let lambda = 0.5f64.powf(1.0 / half_life);
        let r = 1.01f64.ln();
        let mut seen = Vec::new();
        for t in 0..60u32 {
            let mark = if t <= 10 || t % 2 == 0 {
                100_000
            } else {
                101_000
            };
            let changed = c.observe(t, &[mark]);
            let m = c.multipliers()[0].as_fraction();
            // The multiplier changes only at update steps.
            if !(t > 0 && t % interval == 0) {
                assert!(!changed, "step {t}");
            }
            seen.push(m);
            if t > 0 && t % interval == 0 {
                let n = t.saturating_sub(10) as i32; // volatile returns so far
                let sigma = r * (1.0 - lambda.powi(n)).sqrt();
                let expected = (sigma / sigma_ref).clamp(1.0, 4.0);
                assert!(
                    (m - expected).abs() < 2e-9,
                    "step {t}: multiplier {m}, expected {expected}"
                );
            }
        }
        // Quiet until the first update after the move, capped later.
        assert!(seen[..15].iter().all(|&m| m == 1.0));
        assert!(seen[15] > 1.0);
        assert_eq!(seen[59], 4.0);
        assert_eq!(c.max_multiplier(), Rate::from_fraction(4.0).unwrap());
        // Between updates the multiplier holds.
        assert_eq!(seen[16], seen[15]);
    }

    #[test]
    fn volatility_decays_back_to_one() {
        let mut c = control(0.001, 2.0, 1, 10.0);
        c.observe(0, &[1000]);
        assert!(c.observe(1, &[1100]));
        assert!(c.multipliers()[0] > Rate::ONE);
        for t in 2..80 {
            c.observe(t, &[1100]);
        }
        assert_eq!(c.multipliers()[0], Rate::ONE);
    }
}
