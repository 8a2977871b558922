//! The data of the per-winner record of ADL (docs/model.md §6, "ADL waves"):
//! one [`AdlTakeRecord`] per winner per ADL close, written where a take is
//! booked (`waterfall.rs`, `book_adl_fills`, through `adl_record.rs`), kept
//! for the step just run, with the wave it belongs to and what the step's
//! closes needed.
//!
//! The buffer is cleared at the start of every step and keeps its capacity,
//! so recording allocates nothing once warm. The runner reads it after each
//! step and folds it into the path's waves ([`crate::venue::adl_waves`]).

use crate::money::Micros;
use crate::venue::market::MarketId;

/// One winner's part of one ADL close, as booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdlTakeRecord {
    /// Wave of the path the take belongs to (0 for the first wave): a wave is a
    /// run of consecutive steps with ADL.
    pub wave: u32,
    /// Step of the close.
    pub step: u32,
    /// The bankrupt account (engine index).
    pub bankrupt: u32,
    /// The winner (engine index).
    pub winner: u32,
    /// Market of the close.
    pub market: MarketId,
    /// Lots closed from the winner (absolute).
    pub lots: i64,
    /// The winner's position before the take, lots (absolute).
    pub held: i64,
    /// Bankruptcy price the take closed at, ticks.
    pub price: i64,
    /// Mark of the step, ticks.
    pub mark: i64,
    /// Notional closed, `lots × mark`, micro-USD.
    pub notional: Micros,
    /// The winner position's unrealized PnL at the mark before the take.
    pub pnl_before: Micros,
    /// The PnL taken with the lots, `pnl_before × lots / held` (rounded toward
    /// zero).
    pub pnl_taken: Micros,
    /// The winner's equity at the mark after the take.
    pub equity_after: Micros,
}

/// The takes of the step just run and the wave bookkeeping of the path.
#[derive(Default)]
pub(super) struct AdlTakeLog {
    pub(super) takes: Vec<AdlTakeRecord>,
    /// Σ over the step's closes of the notional they needed (the minimum lots,
    /// at most the lots filled, at the mark).
    pub(super) needed: Micros,
    /// Waves begun on the path so far.
    waves: u32,
    /// Last step with a take.
    last_step: Option<u32>,
}

impl AdlTakeLog {
    /// Forgets the previous step's takes (keeps the buffer).
    pub(super) fn start_step(&mut self) {
        self.takes.clear();
        self.needed = Micros::ZERO;
    }

    /// The wave a take at `step` belongs to: the current one if the previous
    /// take was at this step or the one before, else a new one.
    pub(super) fn wave_at(&mut self, step: u32) -> u32 {
        let continues = self
            .last_step
            .is_some_and(|last| last == step || last + 1 == step);
        if !continues {
            self.waves += 1;
        }
        self.last_step = Some(step);
        self.waves - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_are_runs_of_consecutive_steps() {
        let mut log = AdlTakeLog::default();
        let waves: Vec<u32> = [3, 3, 4, 6, 7, 7, 20]
            .iter()
            .map(|&s| log.wave_at(s))
            .collect();
        assert_eq!(waves, vec![0, 0, 0, 1, 1, 1, 2]);
    }
}
