//! Circuit breaker: a move of the mark larger than `threshold` (relative to any
//! mark of the last `window_steps` steps, in any market) pauses liquidations for
//! `pause_steps` steps, the step of the move included.
//!
//! The engine has no trading besides liquidations, so only liquidations pause.
//! Breach detection goes on while paused: an account that becomes liquidatable is
//! scheduled as usual (so the invariants of docs/model.md §8 hold: negative equity only
//! while a liquidation is pending) and executed at the first step after the pause
//! (or later, at its due step). Marks seen during a pause stay in the window: when
//! the pause ends, a market still moving more than the threshold trips it again.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use crate::money::{PPB, Rate};

/// Decides, step by step, whether liquidations are paused.
pub trait LiquidationPause: Send + Sync {
    /// Sees the marks (ticks, one per market) of step `step` (called once per step,
    /// in order) and returns whether liquidations are paused during it.
    fn observe(&mut self, step: u32, marks: &[i64]) -> bool;
    /// Times the pause started (trips).
    fn trips(&self) -> u32;
    /// Steps during which liquidations were paused.
    fn steps_paused(&self) -> u32;
}

/// `[controls.breaker]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Whether the breaker runs.
    pub enabled: bool,
    /// Relative move that trips it (0.1 = a move of more than 10%).
    pub threshold: f64,
    /// Steps back the move is measured over.
    pub window_steps: u32,
    /// Steps liquidations stay paused, the tripping step included.
    pub pause_steps: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            enabled: false,
            threshold: defaults::BREAKER_THRESHOLD,
            window_steps: defaults::BREAKER_WINDOW_STEPS,
            pause_steps: defaults::BREAKER_PAUSE_STEPS,
        }
    }
}

/// The breaker: a ring of the last `window` marks of every market.
///
/// O(markets × window) per step, no allocation after construction.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    threshold: Rate,
    window: usize,
    pause: u32,
    markets: usize,
    /// `ring[slot × markets + market]`, slot = step mod window.
    ring: Vec<i64>,
    filled: usize,
    next: usize,
    paused_until: u32,
    trips: u32,
    steps_paused: u32,
}

impl CircuitBreaker {
    /// A breaker for `markets` markets (the config is validated: threshold > 0,
    /// window and pause at least 1 step).
    pub fn new(cfg: &BreakerConfig, markets: usize) -> CircuitBreaker {
        let window = cfg.window_steps.max(1) as usize;
        CircuitBreaker {
            threshold: Rate::from_fraction(cfg.threshold).unwrap_or(Rate::ONE),
            window,
            pause: cfg.pause_steps.max(1),
            markets,
            ring: vec![0; window * markets],
            filled: 0,
            next: 0,
            paused_until: 0,
            trips: 0,
            steps_paused: 0,
        }
    }

    /// Whether `mark` moved strictly more than the threshold from `reference`:
    /// `|mark − reference| × 1e9 > threshold_ppb × reference`, exact in integers.
    fn moved(&self, reference: i64, mark: i64) -> bool {
        let diff = (mark as i128 - reference as i128).abs() * PPB as i128;
        diff > self.threshold.0 as i128 * reference as i128
    }
}

impl LiquidationPause for CircuitBreaker {
    fn observe(&mut self, step: u32, marks: &[i64]) -> bool {
        let mut paused = step < self.paused_until;
        if !paused {
            'markets: for (m, &mark) in marks.iter().enumerate().take(self.markets) {
                for slot in 0..self.filled {
                    if self.moved(self.ring[slot * self.markets + m], mark) {
                        paused = true;
                        break 'markets;
                    }
                }
            }
            if paused {
                self.trips += 1;
                self.paused_until = step.saturating_add(self.pause);
            }
        }
        let base = self.next * self.markets;
        for (dst, &mark) in self.ring[base..base + self.markets].iter_mut().zip(marks) {
            *dst = mark;
        }
        self.next = (self.next + 1) % self.window;
        self.filled = (self.filled + 1).min(self.window);
        if paused {
            self.steps_paused += 1;
        }
        paused
    }

    fn trips(&self) -> u32 {
        self.trips
    }

    fn steps_paused(&self) -> u32 {
        self.steps_paused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: f64, window: u32, pause: u32) -> CircuitBreaker {
        CircuitBreaker::new(
            &BreakerConfig {
                enabled: true,
                threshold,
                window_steps: window,
                pause_steps: pause,
            },
            2,
        )
    }

    #[test]
    fn trips_exactly_when_the_move_crosses_the_threshold() {
        let mut b = breaker(0.1, 3, 4);
        // Exactly 10% below 100_000 is not more than the threshold.
        for (t, m) in [100_000, 100_000, 90_000].into_iter().enumerate() {
            assert!(!b.observe(t as u32, &[m, 50]), "step {t}");
        }
        // One tick further (10.001% below a mark still in the window) trips it.
        assert!(b.observe(3, &[89_999, 50]));
        assert_eq!((b.trips(), b.steps_paused()), (1, 1));
    }

    #[test]
    fn the_threshold_is_strict_and_any_market_trips_it() {
        let mut b = breaker(0.1, 2, 1);
        assert!(!b.observe(0, &[1_000, 1_000]));
        assert!(!b.observe(1, &[1_000, 1_100])); // +10% exactly, in market 1
        assert!(b.observe(2, &[1_000, 1_101])); // +10.1% from 1_000, two steps back
        assert_eq!((b.trips(), b.steps_paused()), (1, 1));
    }

    #[test]
    fn moves_older_than_the_window_do_not_count() {
        let mut b = breaker(0.1, 2, 1);
        for (t, m) in [1_000, 950, 900, 860, 820].into_iter().enumerate() {
            // 18% down over four steps, never more than 10% within two.
            assert!(!b.observe(t as u32, &[m, 1]), "step {t}");
        }
    }

    #[test]
    fn releases_after_the_pause() {
        let mut b = breaker(0.05, 2, 3);
        let marks = [100, 100, 80, 80, 80, 80, 80, 80];
        let paused: Vec<bool> = marks
            .iter()
            .enumerate()
            .map(|(t, &m)| b.observe(t as u32, &[m, 1]))
            .collect();
        assert_eq!(
            paused,
            [false, false, true, true, true, false, false, false]
        );
        assert_eq!((b.trips(), b.steps_paused()), (1, 3));
    }

    #[test]
    fn trips_again_when_the_move_goes_on_after_the_pause() {
        let mut b = breaker(0.05, 1, 2);
        let marks = [100, 90, 80, 70, 70];
        let paused: Vec<bool> = marks
            .iter()
            .enumerate()
            .map(|(t, &m)| b.observe(t as u32, &[m, 1]))
            .collect();
        // 90: trip (pause 1, 2); 70 at step 3 is 12.5% below 80: trips again.
        assert_eq!(paused, [false, true, true, true, true]);
        assert_eq!((b.trips(), b.steps_paused()), (2, 4));
    }
}
