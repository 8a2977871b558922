//! The quiet step: a step that only moves the marks and the clock.
//!
//! Most steps of a long replay (or of a calm path) cross no trigger: the
//! marks stay strictly between each market's nearest long and short
//! triggers, no funding settles, no liquidation is due, and nothing else the
//! step looks at (controls, collateral, the vault) is there. Such a step
//! changes nothing but the marks, the previous marks, the step counter, the
//! step's (already empty) flows and, after a liquidation wave, the decay of
//! the temporary impact; the fund's statistics see the same balance they saw
//! at the end of the last full step, so observing them again changes nothing.
//!
//! At the end of every full step (`end_step`) the engine writes down, per
//! market, the band of marks (in ticks, both ends excluded) within which a
//! step is quiet, and the step counter up to which nothing is scheduled
//! ([`QuietState`]). A step whose marks all fall inside their bands then
//! runs as [`Engine::try_step_quiet`]: the marks computed exactly as
//! `update_marks` computes them (the same memo, the same log-factor and
//! `exp`, the same `checked_ticks`), two compares a market, then the marks,
//! previous marks, memo, the impact's flowless decay (`end_impact_step`, as
//! `end_step` runs it) and the step counter written. Any mark outside its
//! band (or off the tick grid), any funding given, or the step counter at a
//! scheduled settlement or liquidation: the full step runs, and builds the
//! bands again at its end. Exact by construction: the engine after a quiet
//! step is the engine after the full step of the same prices
//! (`crates/sim/tests/quiet_step.rs` compares them step by step).
//!
//! The bands are conservative: a stale entry at the top of a trigger heap
//! narrows a band (the full step pops it), and the open-interest check's
//! bound is split evenly over the markets. A narrower band only costs a
//! full step.

use std::cmp::Reverse;

use crate::money::MAX_MICROS;
use crate::venue::market::Market;

use super::quiet_state::QuietBand;
use super::{Engine, MarketFlows, VenueFlows, end_impact_step, same_bits};

/// 2^-50: how far (relative to `x / tick`) `x × fl(1 / tick)` must be from
/// every half-integer for its rounding to be the rounding of `fl(x / tick)`
/// ([`checked_ticks_quick`]).
const HALF_MARGIN: f64 = 1.0 / 1_125_899_906_842_624.0;

/// 2^51: below it the nearest tick is far inside
/// [`crate::venue::market::MAX_PRICE_TICKS`].
const QUICK_MAX_TICKS: f64 = 2_251_799_813_685_248.0;

/// 2^52: `y + 2^52` for `y` in `[0, 2^52)` is `2^52` plus `y` rounded to
/// the nearest integer (the `f64`s there are the integers), and its bits are
/// the bits of `2^52` plus that integer.
const ROUNDER: f64 = 4_503_599_627_370_496.0;

/// [`Market::checked_ticks`] of `x` (the same result for every `x`), by a
/// multiply where it can: `inv_tick` is `fl(1 / tick_size)` (or NaN: always
/// the division).
///
/// Why it is exact: with `u = 2^-53`, `q = x / tick` (real), `d = fl(x /
/// tick)` is within `u·q` of `q` and `y = fl(x × fl(1 / tick))` within
/// `(2u + u²)·q`, so `|y − d| < 4u·y = 2^-51·y`. `n`, the integer nearest
/// `y` (`fl(y + 2^52) − 2^52`, exact), is `|y − n|` from `y`; when the
/// nearest half-integer, `0.5 − |y − n|` from `y` (exact: Sterbenz), is
/// farther than `2^-50·y`, no half-integer lies between `y` and `d`, so
/// `d` rounds to `n` too (half away from zero or not: `d` is no
/// half-integer), and for `y` in `[2, 2^51)` that is in `checked_ticks`'
/// range. Anything else (`y` near a half-integer, out of that range, NaN,
/// infinities) takes `checked_ticks` itself. The quiet step's marks are
/// then computed without the division, the call to `round` (libm's, on the
/// baseline x86-64 target) and the saturating cast.
#[inline(always)]
fn checked_ticks_quick(market: &Market, x: f64, inv_tick: f64) -> Option<i64> {
    let y = x * inv_tick;
    if (2.0..QUICK_MAX_TICKS).contains(&y) {
        let shifted = y + ROUNDER;
        let nearest = shifted - ROUNDER;
        if 0.5 - (y - nearest).abs() > y * HALF_MARGIN {
            // `shifted` is in [2^52, 2^53): its bits less 2^52's are `nearest`.
            let ticks = (shifted.to_bits() - ROUNDER.to_bits()) as i64;
            debug_assert_eq!(
                Some(ticks),
                market.checked_ticks(x),
                "Invariant: the quick ticks are checked_ticks'"
            );
            return Some(ticks);
        }
    }
    market.checked_ticks(x)
}

impl Engine {
    /// Switches quiet steps on (the default) or off. Off, every step runs
    /// in full; the engine's state after each step is the same either way
    /// (this switch is for tests and benches comparing the two).
    pub fn set_quiet_steps(&mut self, on: bool) {
        self.scratch.quiet.off = !on;
        self.scratch.quiet.until = 0;
    }

    /// Steps run as quiet steps (only the marks and the clock moved) since
    /// the engine was built or restarted: a diagnostic of how much of a run
    /// the fast path took.
    pub fn quiet_steps(&self) -> u64 {
        let q = &self.scratch.quiet;
        q.count + u64::from(self.step.wrapping_sub(q.since))
    }

    /// Whether some market's impact model follows the clock (the answer is
    /// kept until the engine is restarted).
    pub(super) fn impact_clocked(&mut self) -> bool {
        if let Some(clocked) = self.scratch.quiet.clocked {
            return clocked;
        }
        let clocked = self.markets.iter().any(|m| m.impact.has_clock());
        self.scratch.quiet.clocked = Some(clocked);
        clocked
    }

    /// Writes down when the next steps are quiet (called at the end of a
    /// full step, after the step counter moved on).
    pub(super) fn build_quiet(&mut self) {
        // The full step just run is not a quiet one.
        self.scratch.quiet.since = self.step;
        self.scratch.quiet.until = 0;
        if self.scratch.quiet.off || !self.may_step_quietly() {
            return;
        }
        let until = self.quiet_until();
        let n = self.markets.len();
        let mut bands = std::mem::take(&mut self.scratch.quiet.bands);
        bands.clear();
        bands.extend((0..n).map(|i| self.quiet_band(i)));
        let q = &mut self.scratch.quiet;
        q.bands = bands;
        q.next.resize(n, (0, 0.0, 1.0));
        q.until = until;
        q.dirty = true;
    }

    /// Whether nothing but the marks (and a decaying impact) can act in a
    /// step: no controls, no collateral, no vault, no pending error, no
    /// compaction due, the marks' memo built.
    fn may_step_quietly(&self) -> bool {
        let c = &self.controls;
        if c.breaker.is_some() || c.margin.is_some() || c.oracle.is_some() {
            return false;
        }
        if self.collateral.is_some() || self.vault.is_some() || self.ledger.out_of_range.is_some() {
            return false;
        }
        if self.index.needs_compaction(self.ledger.accounts.len()) {
            return false;
        }
        self.scratch.marks.len() == self.markets.len()
    }

    /// The first step counter at which a step is not quiet whatever the
    /// marks: a scheduled funding settlement, or a liquidation due.
    fn quiet_until(&self) -> u32 {
        let t = self.step;
        let mut until = match self.index.due.peek() {
            Some(&Reverse((due, _))) => due,
            None => u32::MAX,
        };
        for m in &self.markets {
            let interval = m.funding_interval_steps;
            if interval == 0 {
                continue;
            }
            // The first step `s >= t` with `s > 0` and `s % interval == 0`.
            let next = if t == 0 {
                interval
            } else {
                t.div_ceil(interval).saturating_mul(interval)
            };
            until = until.min(next);
        }
        until
    }

    /// Market `i`'s quiet band: the marks strictly above its nearest long
    /// trigger, strictly below its nearest short trigger, and at most the
    /// market's even share of the open-interest bound; with the reciprocal
    /// of its tick.
    fn quiet_band(&self, i: usize) -> QuietBand {
        let (long, short) = self.index.nearest_triggers(i);
        let low = long.unwrap_or(i64::MIN);
        let mut high = short.unwrap_or(i64::MAX);
        let per_tick =
            i128::from(self.ledger.gross_lots[i]) * i128::from(self.markets[i].micros_per_lot_tick);
        if per_tick > 0 {
            let n = self.markets.len().max(1) as i128;
            let cap = i128::from(MAX_MICROS) / n / per_tick;
            let cap = i64::try_from(cap).unwrap_or(i64::MAX);
            high = high.min(cap.saturating_add(1));
        }
        let inv_tick = 1.0 / self.markets[i].tick_size;
        QuietBand {
            low,
            high,
            inv_tick: if inv_tick.is_normal() {
                inv_tick
            } else {
                f64::NAN
            },
        }
    }

    /// Runs the step at `prices` (one per market) as a quiet step if it is
    /// one, and returns whether it did; otherwise changes nothing.
    // Inlined always into `step` and `step_with_funding` (and so into their
    // callers' loops): called, it saved and restored six registers a step.
    #[inline(always)]
    pub(super) fn try_step_quiet(&mut self, prices: &[f64]) -> bool {
        // `until` is 0 while the bands are not built.
        if self.step >= self.scratch.quiet.until {
            return false;
        }
        let n = self.markets.len();
        if n == 1 {
            // One market: checked and written with the values in registers.
            let Some(next) = self.quiet_mark(0, prices[0]) else {
                return false;
            };
            self.begin_quiet();
            self.commit_market(0, prices[0], next);
        } else {
            for (i, &price) in prices.iter().enumerate().take(n) {
                let Some(next) = self.quiet_mark(i, price) else {
                    return false;
                };
                self.scratch.quiet.next[i] = next;
            }
            self.begin_quiet();
            for (i, &price) in prices.iter().enumerate().take(n) {
                let next = self.scratch.quiet.next[i];
                self.commit_market(i, price, next);
            }
        }
        // The fund's statistics saw this balance at the end of the last full
        // step; observing it again changes nothing.
        debug_assert!(
            {
                let mut fund = self.ledger.fund().clone();
                fund.observe(self.step);
                &fund == self.ledger.fund()
            },
            "Invariant: a quiet step's fund statistics are the last full step's"
        );
        // Counted by `quiet_steps` from the step counter.
        self.step += 1;
        true
    }

    /// Market `i`'s mark at path price `price` as `update_marks` computes it
    /// (the same memo, log-factor, `exp` and `checked_ticks`), with the
    /// log-factor and factor it used, if the step is quiet in that market.
    // Inlined always: returned through memory, its three values would be
    // stored separately and read back as one wide load (a store-forwarding
    // stall of about a third of the quiet step, perf).
    #[inline(always)]
    fn quiet_mark(&self, i: usize, price: f64) -> Option<(i64, f64, f64)> {
        let memo = &self.scratch.marks[i];
        // A resting impact state is the memo's; a decaying one is read again.
        let (log_factor, factor) = if memo.impact_still {
            (memo.log_factor, memo.factor)
        } else {
            let log_factor = self.impact[i].permanent + self.impact[i].temporary;
            if log_factor == memo.log_factor {
                (memo.log_factor, memo.factor)
            } else {
                (log_factor, log_factor.exp())
            }
        };
        let band = self.scratch.quiet.bands[i];
        let mark = if price == memo.base && log_factor == memo.log_factor {
            memo.mark
        } else {
            checked_ticks_quick(&self.markets[i], price * factor, band.inv_tick)?
        };
        (mark > band.low && mark < band.high).then_some((mark, log_factor, factor))
    }

    /// The start of a quiet step: the first after a full step resets that
    /// step's outputs.
    #[inline]
    fn begin_quiet(&mut self) {
        if self.scratch.quiet.dirty {
            self.scratch.quiet.dirty = false;
            self.clear_step_outputs();
        }
        debug_assert!(
            self.scratch
                .quiet
                .bands
                .iter()
                .map(QuietBand::bits)
                .eq((0..self.markets.len()).map(|i| self.quiet_band(i).bits())),
            "Invariant: a quiet step's bands are the engine's"
        );
    }

    /// Writes market `i`'s part of a quiet step checked by
    /// [`Engine::quiet_mark`]: its mark and memo (stage 1) and a decaying
    /// impact state's flowless step (stage 8, as `end_step` runs it).
    #[inline(always)]
    fn commit_market(&mut self, i: usize, price: f64, next: (i64, f64, f64)) {
        let (mark, log_factor, factor) = next;
        let m = &self.markets[i];
        let memo = &mut self.scratch.marks[i];
        self.prev_marks[i] = self.marks[i];
        self.marks[i] = mark;
        memo.log_factor = log_factor;
        memo.factor = factor;
        memo.base = price;
        memo.mark = mark;
        if m.impact_moves_mark && !memo.impact_still {
            let state = &mut self.impact[i];
            let before = *state;
            let (fraction, decay) = (m.permanent_impact_fraction, m.temporary_impact_decay);
            end_impact_step(state, 0.0, fraction, decay);
            memo.impact_still = same_bits(&before, state);
        }
    }

    /// What the start of a full step resets (the outputs of the step
    /// before), as `step_with_funding` and `update_marks` do.
    fn clear_step_outputs(&mut self) {
        self.reset_step_outputs();
        self.flows.fill(MarketFlows::default());
        self.liquidations_paused = false;
    }

    /// The outputs of the step before that every step resets first, full or
    /// quiet: the touched log (last step's ADL queues are stale once the
    /// marks move; kept, though, while a kept `pro_rata` side reads it across
    /// steps: [`super::ledger::Ledger::start_step_log`]), the events, the ADL log, the journal and the venue's
    /// flows.
    #[inline]
    pub(super) fn reset_step_outputs(&mut self) {
        self.ledger.start_step_log();
        self.events.clear();
        self.adl_log.start_step();
        self.ledger.clear_journal();
        self.venue_flows = VenueFlows::default();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::checked_ticks_quick;
    use crate::money::{Micros, Rate};
    use crate::venue::market::{MarginSchedule, Market};

    /// A market of tick `tick` (only the tick matters here).
    fn market(tick: f64) -> Market {
        let rate = |x: f64| Rate::from_fraction(x).unwrap();
        let margin = MarginSchedule::new(&[(Micros::ZERO, rate(0.01), rate(0.005))]);
        Market::plain("m", tick, 0.001, 100, margin)
    }

    /// The ticks of `checked_ticks_quick` and of `checked_ticks` at `x`.
    fn both(m: &Market, x: f64) -> (Option<i64>, Option<i64>) {
        (
            checked_ticks_quick(m, x, 1.0 / m.tick_size),
            m.checked_ticks(x),
        )
    }

    /// Ticks of the markets the scenarios use, and awkward ones.
    const TICKS: [f64; 9] = [0.1, 0.01, 0.5, 1.0, 0.001, 0.3, 1e-8, 7.0, 0.000_1];

    #[test]
    fn quick_ticks_are_checked_ticks_at_half_ticks_and_edges() {
        for &tick in &TICKS {
            let m = market(tick);
            for n in [
                1_i64,
                2,
                3,
                10,
                49,
                1_000,
                1_209_999,
                1_210_000,
                1 << 40,
                1 << 50,
            ] {
                for frac in [0.0, 0.25, 0.5, 0.75, 1.5, -0.5] {
                    #[allow(clippy::cast_precision_loss)]
                    let x = (n as f64 + frac) * tick;
                    // The float on each side of it too.
                    for x in [
                        x,
                        f64::from_bits(x.to_bits() + 1),
                        f64::from_bits(x.to_bits() - 1),
                    ] {
                        let (quick, exact) = both(&m, x);
                        assert_eq!(quick, exact, "tick {tick}, x {x}");
                    }
                }
            }
            for x in [
                0.0,
                -1.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
                tick * 0.49,
                tick * 1.5,
                tick * 2.5,
                1e300,
                f64::MAX,
            ] {
                let (quick, exact) = both(&m, x);
                assert_eq!(quick, exact, "tick {tick}, x {x}");
            }
        }
        // A NaN reciprocal: always the division.
        let m = market(0.1);
        assert_eq!(
            checked_ticks_quick(&m, 12.34, f64::NAN),
            m.checked_ticks(12.34)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 4096,
            rng_seed: proptest::test_runner::RngSeed::Fixed(14),
            ..ProptestConfig::default()
        })]

        /// Any price, any tick of the list: the same ticks (or none).
        #[test]
        fn quick_ticks_are_checked_ticks(
            tick in prop::sample::select(TICKS.to_vec()),
            bits in any::<u64>(),
            price in 0.0_f64..1e7,
            ticks in 1_i64..(1 << 52),
        ) {
            let m = market(tick);
            #[allow(clippy::cast_precision_loss)]
            let half = (ticks as f64 + 0.5) * tick;
            for x in [f64::from_bits(bits), price, half, f64::from_bits(half.to_bits() + 1)] {
                let (quick, exact) = both(&m, x);
                prop_assert_eq!(quick, exact, "tick {}, x {}", tick, x);
            }
        }
    }
}
