//! Recording the ADL takes (the data is `adl_takes.rs`): the engine's calls
//! at the ADL execution site and the accessors the runner reads.

use crate::money::Micros;
use crate::venue::market::MarketId;

use super::Engine;
use super::adl_takes::AdlTakeRecord;

/// What [`Engine::log_adl_take`] is told of one booked take.
pub(super) struct TakeBooked {
    pub(super) winner: u32,
    pub(super) market: MarketId,
    pub(super) lots: i64,
    pub(super) held: i64,
    pub(super) pnl_before: Micros,
    /// The winner's equity at the mark after the take.
    pub(super) equity_after: Micros,
}

impl Engine {
    /// The ADL takes of the step just run, in booking order.
    pub fn adl_takes(&self) -> &[AdlTakeRecord] {
        &self.adl_log.takes
    }

    /// The step the takes of [`Engine::adl_takes`] were booked in.
    pub fn adl_takes_step(&self) -> u32 {
        self.adl_log.step
    }

    /// The notional a take of [`Engine::adl_takes`] closed: its lots at the
    /// mark of its market (the marks do not change within a step, so these
    /// are the marks it was booked at until the next step runs).
    pub fn adl_take_notional(&self, t: &AdlTakeRecord) -> Micros {
        let mi = t.market as usize;
        self.markets[mi].value(t.lots, self.marks[mi])
    }

    /// What the ADL closes of the step just run needed: Σ of each close's
    /// minimum lots (at most the lots it filled) at the mark.
    pub fn adl_needed_notional(&self) -> Micros {
        self.adl_log.needed
    }

    /// Records one take, after it was booked (with the winner's equity after
    /// the trade, as the booking knows it).
    pub(super) fn log_adl_take(&mut self, t: &TakeBooked) {
        debug_assert_eq!(
            t.equity_after,
            self.equity(t.winner),
            "Invariant: a take's equity after is the winner's at the marks"
        );
        self.adl_log.step = self.step;
        self.adl_log.takes.push(AdlTakeRecord {
            winner: t.winner,
            market: t.market,
            lots: t.lots,
            held: t.held,
            pnl_before: t.pnl_before,
            equity_after: t.equity_after,
        });
    }

    /// Adds one close's needed notional to the step's.
    pub(super) fn log_adl_needed(&mut self, needed: Micros) {
        self.adl_log.needed += needed;
    }
}
