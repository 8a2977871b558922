//! The data of the per-winner record of ADL (docs/model.md §6, "ADL waves"):
//! one [`AdlTakeRecord`] per winner per ADL close, written where a take is
//! booked (`waterfall.rs`, `book_adl_fills`, through `adl_record.rs`), kept
//! for the step just run, with what the step's closes needed.
//!
//! The buffer is cleared at the start of every step and keeps its capacity,
//! so recording allocates nothing once warm. The runner reads it after each
//! step and folds it into the path's waves ([`crate::venue::adl_waves`]).

use crate::money::Micros;
use crate::venue::market::MarketId;

/// One winner's part of one ADL close, as booked: what the wave measures
/// read of it (40 bytes). The step is the log's
/// ([`crate::engine::Engine::adl_takes_step`]); the notional is the lots at
/// the step's mark ([`crate::engine::Engine::adl_take_notional`]). A crash's
/// step books up to a million takes at 1,000,000 accounts, written here and
/// read back by the runner: the record was 96 bytes with per-close and
/// derivable fields (docs/performance.md, "ADL fills, round 10").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdlTakeRecord {
    /// The winner (engine index).
    pub winner: u32,
    /// Market of the close.
    pub market: MarketId,
    /// Lots closed from the winner (absolute).
    pub lots: i64,
    /// The winner's position before the take, lots (absolute).
    pub held: i64,
    /// The winner position's unrealized PnL at the mark before the take.
    pub pnl_before: Micros,
    /// The winner's equity at the mark after the take.
    pub equity_after: Micros,
}

/// The takes of the step just run and what its closes needed.
#[derive(Default)]
pub(super) struct AdlTakeLog {
    pub(super) takes: Vec<AdlTakeRecord>,
    /// Σ over the step's closes of the notional they needed (the minimum lots,
    /// at most the lots filled, at the mark).
    pub(super) needed: Micros,
    /// The step the takes were booked in.
    pub(super) step: u32,
}

impl AdlTakeLog {
    /// Forgets the previous step's takes (keeps the buffer).
    pub(super) fn start_step(&mut self) {
        self.takes.clear();
        self.needed = Micros::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record stays small: it is written and read back once per take
    /// (tens of millions in a venue-scale crash).
    #[test]
    fn a_take_record_is_40_bytes() {
        assert_eq!(std::mem::size_of::<AdlTakeRecord>(), 40);
    }
}
