//! The quiet step: a step that only moves the marks and the clock.
//!
//! Most steps of a long replay (or of a calm path) cross no trigger: the
//! marks stay strictly between each market's nearest long and short
//! triggers, no funding settles, no liquidation is due, the impact state
//! rests, and nothing else the step looks at (controls, collateral, the
//! vault) is there. Such a step changes nothing but the marks, the previous
//! marks, the step counter and the step's (already empty) flows; the fund's
//! statistics see the same balance they saw at the end of the last full
//! step, so observing them again changes nothing.
//!
//! At the end of every full step (`end_step`) the engine writes down, per
//! market, the band of marks (in ticks, both ends excluded) within which a
//! step is quiet, and the step counter up to which nothing is scheduled
//! ([`QuietState`]). A step whose marks all fall inside their bands then
//! runs as [`Engine::try_step_quiet`]: the marks computed exactly as the full
//! step computes them (the same memo, the same `checked_ticks`), two compares
//! a market, and the marks, previous marks and step counter written. Any
//! mark outside its band (or off the tick grid), any funding given, or the
//! step counter at a scheduled settlement or liquidation: the full step
//! runs, and builds the bands again at its end. Exact by construction: the
//! engine after a quiet step is the engine after the full step of the same
//! prices (`crates/sim/tests/quiet_step.rs` compares them step by step).
//!
//! The bands are conservative: a stale entry at the top of a trigger heap
//! narrows a band (the full step pops it), and the open-interest check's
//! bound is split evenly over the markets. A narrower band only costs a
//! full step.

use std::cmp::Reverse;

use crate::money::MAX_MICROS;

use super::{Engine, MarketFlows, VenueFlows};

/// What a quiet step may assume: built at the end of a full step, valid
/// until the next full step (quiet steps do not change it).
#[derive(Debug, Default)]
pub(super) struct QuietState {
    /// Whether `bands` and `until` describe the engine now.
    valid: bool,
    /// Quiet steps switched off ([`Engine::set_quiet_steps`]).
    off: bool,
    /// Whether the per-step outputs (flows, events, the journal, the ADL
    /// takes) still hold the last full step's: the first quiet step after
    /// it resets them, later ones find them reset.
    dirty: bool,
    /// Quiet steps run while the step counter is below this: the next
    /// scheduled funding settlement or liquidation due.
    until: u32,
    /// Per market: the marks (ticks) strictly between which no trigger is
    /// crossed and the open-interest check passes.
    bands: Vec<(i64, i64)>,
    /// The marks of the quiet step being checked (one per market).
    next: Vec<i64>,
    /// Whether some market's impact model keeps a clock (`None`: not known
    /// yet); [`Engine::set_time`] skips the others.
    clocked: Option<bool>,
    /// Quiet steps run since the engine was built or restarted.
    count: u64,
}

impl QuietState {
    /// Forgets everything (the engine was restarted with other markets).
    pub(super) fn reset(&mut self) {
        let off = self.off;
        *self = QuietState {
            off,
            bands: std::mem::take(&mut self.bands),
            next: std::mem::take(&mut self.next),
            ..QuietState::default()
        };
    }
}

impl Engine {
    /// Switches quiet steps on (the default) or off. Off, every step runs
    /// in full; the engine's state after each step is the same either way
    /// (this switch is for tests and benches comparing the two).
    pub fn set_quiet_steps(&mut self, on: bool) {
        self.scratch.quiet.off = !on;
        self.scratch.quiet.valid = false;
    }

    /// Steps run as quiet steps (only the marks and the clock moved) since
    /// the engine was built or restarted: a diagnostic of how much of a run
    /// the fast path took.
    pub fn quiet_steps(&self) -> u64 {
        self.scratch.quiet.count
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
        self.scratch.quiet.valid = false;
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
        q.next.resize(n, 0);
        q.until = until;
        q.dirty = true;
        q.valid = true;
    }

    /// Whether nothing but the marks can act in a step: no controls, no
    /// collateral, no vault, no pending error, no compaction due, and every
    /// market's impact state resting (or not moving the mark).
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
        let memos = &self.scratch.marks;
        memos.len() == self.markets.len()
            && self
                .markets
                .iter()
                .zip(memos)
                .all(|(m, memo)| !m.impact_moves_mark || memo.impact_still)
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
    /// market's even share of the open-interest bound.
    fn quiet_band(&self, i: usize) -> (i64, i64) {
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
        (low, high)
    }

    /// Runs the step at `prices` (one per market) as a quiet step if it is
    /// one, and returns whether it did; otherwise changes nothing.
    #[inline]
    pub(super) fn try_step_quiet(&mut self, prices: &[f64]) -> bool {
        let q = &mut self.scratch.quiet;
        if !q.valid || self.step >= q.until {
            return false;
        }
        let memos = &self.scratch.marks;
        for (i, m) in self.markets.iter().enumerate() {
            let memo = &memos[i];
            let mark = if prices[i] == memo.base {
                memo.mark
            } else {
                match m.checked_ticks(prices[i] * memo.factor) {
                    Some(mark) => mark,
                    None => return false,
                }
            };
            let (low, high) = q.bands[i];
            if mark <= low || mark >= high {
                return false;
            }
            q.next[i] = mark;
        }
        if q.dirty {
            q.dirty = false;
            self.clear_step_outputs();
        }
        debug_assert!(
            self.scratch.quiet.bands
                == (0..self.markets.len())
                    .map(|i| self.quiet_band(i))
                    .collect::<Vec<_>>(),
            "Invariant: a quiet step's bands are the engine's"
        );
        let (memos, next) = (&mut self.scratch.marks, &self.scratch.quiet.next);
        for i in 0..self.markets.len() {
            self.prev_marks[i] = self.marks[i];
            self.marks[i] = next[i];
            memos[i].base = prices[i];
            memos[i].mark = next[i];
        }
        self.step += 1;
        self.scratch.quiet.count += 1;
        true
    }

    /// What the start of a full step resets (the outputs of the step
    /// before), as `step_with_funding` and `update_marks` do.
    fn clear_step_outputs(&mut self) {
        if self.ledger.tracking_touched() {
            self.ledger.track_touched(false);
        }
        self.events.clear();
        self.adl_log.start_step();
        self.ledger.clear_journal();
        self.venue_flows = VenueFlows::default();
        self.flows.fill(MarketFlows::default());
        self.liquidations_paused = false;
    }
}
