//! The per-winner record of ADL (docs/model.md §6, "ADL waves"): each winner's
//! take of each ADL close is folded into the path's current wave
//! ([`crate::venue::adl_waves::WaveFold`]) where it is booked
//! (`waterfall.rs`, `book_adl_fills`, through `adl_record.rs`), while the
//! winner's lines are in the cache; the step's closes add what they needed,
//! which goes to the wave when the step is over.
//!
//! Nothing is kept per take: a crash's step books hundreds of thousands of
//! takes, and a per-step buffer of records (written at the booking, read
//! back by the runner after the step) was a stream of tens of megabytes
//! each step at 1,000,000 accounts (docs/performance.md, "ADL fills,
//! round 10"). The fold's memory is one entry per winner of the current
//! wave; it keeps its buffers across steps and paths, so folding allocates
//! nothing once warm.

use crate::money::Micros;
use crate::venue::adl_waves::{AdlTake, AdlWave, WaveFold};

/// The step's needed notional and the path's waves, folded as the takes are
/// booked.
#[derive(Default)]
pub(super) struct AdlTakeLog {
    /// Σ over the step's closes of the notional they needed (the minimum lots,
    /// at most the lots filled, at the mark).
    pub(super) needed: Micros,
    /// The path's wave being folded.
    fold: WaveFold,
    /// The path's finished waves, in step order, not yet handed out.
    waves: Vec<AdlWave>,
    /// Whether the step being run has booked a take (the fold has opened it;
    /// its needed notional goes to the fold when the step is over).
    open: bool,
}

impl AdlTakeLog {
    /// Ends the previous step (its needed notional to the wave, if it had
    /// takes) and starts the next. O(1).
    #[inline]
    pub(super) fn start_step(&mut self) {
        self.close_step();
        self.needed = Micros::ZERO;
    }

    /// Gives the fold the needed notional of the step that booked takes.
    fn close_step(&mut self) {
        if self.open {
            self.open = false;
            self.fold.step_needed(self.needed.to_usd());
        }
    }

    /// Reads ahead what folding takes of `accounts` will read
    /// ([`WaveFold::touch`]).
    pub(super) fn touch(&self, accounts: impl Iterator<Item = u32> + Clone) {
        self.fold.touch(accounts);
    }

    /// Folds one take of step `step` (the step being run) into the wave.
    pub(super) fn take(&mut self, step: u32, t: &AdlTake) {
        if !self.open {
            self.open = true;
            if let Some(done) = self.fold.open(step) {
                self.waves.push(done);
            }
        }
        self.fold.take(t);
    }

    /// The waves of the path so far, in step order, the one being folded
    /// ended here; the log starts afresh (a step still to run would begin a
    /// new wave).
    pub(super) fn finish(&mut self) -> Vec<AdlWave> {
        self.close_step();
        let mut waves = std::mem::take(&mut self.waves);
        waves.extend(self.fold.finish());
        waves
    }

    /// Forgets everything (a new path), keeping the fold's buffers.
    pub(super) fn restart(&mut self) {
        self.fold.clear();
        self.waves.clear();
        self.needed = Micros::ZERO;
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::venue::adl_waves::adl_waves;

    fn take(step: u32, account: u32, k: u32) -> AdlTake {
        AdlTake {
            step,
            account,
            notional: f64::from(k) * 12.5 + 0.1,
            lots: i64::from(1 + k % 3),
            held: i64::from(5 + k % 4),
            pnl_before: f64::from(k % 7) - 2.25,
            equity_after: 1_000.0 + f64::from(k),
        }
    }

    /// Fed take by take as the engine books them, with each step's needed
    /// notional given when the next step starts, the log's waves are those
    /// of the whole list of takes: the gaps end waves, a step's needed
    /// reaches its wave, and a wave still open at the end is measured.
    #[test]
    fn folded_at_the_booking_the_waves_are_those_of_the_whole_list() {
        let steps_with_takes = [2u32, 3, 4, 7, 9, 10, 11, 12, 20, 21];
        let takes: Vec<AdlTake> = steps_with_takes
            .iter()
            .flat_map(|&s| (0..1 + s % 4).map(move |k| take(s, (s * 7 + k * 3) % 13, s + k)))
            .collect();
        let needed_of = |s: u32| Micros(i64::from(s) * 1_234_567 + 89);
        let whole = adl_waves(&takes, |s| needed_of(s).to_usd());
        assert_eq!(whole.len(), 4, "waves 2-4, 7, 9-12, 20-21");
        let mut log = AdlTakeLog::default();
        for step in 0..=22u32 {
            log.start_step();
            for (i, t) in takes.iter().filter(|t| t.step == step).enumerate() {
                log.take(step, t);
                // Each close adds its needed after its takes are booked.
                if i == 0 {
                    log.needed += needed_of(step);
                }
            }
        }
        assert_eq!(log.finish(), whole);
        assert_eq!(log.finish(), Vec::new(), "a finished log starts afresh");
        // Ended on a step with takes: its needed still reaches the wave.
        let mut log = AdlTakeLog::default();
        log.start_step();
        log.needed = needed_of(20);
        for t in takes.iter().filter(|t| t.step == 20) {
            log.take(20, t);
        }
        let last: Vec<AdlTake> = takes.iter().filter(|t| t.step == 20).copied().collect();
        assert_eq!(log.finish(), adl_waves(&last, |s| needed_of(s).to_usd()));
        // A restart forgets the wave being folded.
        log.start_step();
        log.take(20, &last[0]);
        log.restart();
        assert_eq!(log.finish(), Vec::new());
    }
}
