//! Recording the ADL takes (the fold is `adl_takes.rs`): the engine's calls
//! at the ADL execution site and the accessors the runner reads.

use crate::money::Micros;
use crate::venue::adl_waves::{AdlTake, AdlWave};
use crate::venue::market::MarketId;

use super::Engine;

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
    /// What the ADL closes of the step just run needed: Σ of each close's
    /// minimum lots (at most the lots it filled) at the mark.
    pub fn adl_needed_notional(&self) -> Micros {
        self.adl_log.needed
    }

    /// The ADL waves of the path run so far, in step order (the wave being
    /// run ends here): every take the engine booked since it was started or
    /// restarted, or since the last call, folded into its wave's measures
    /// ([`crate::venue::adl_waves`]). Call it once, after the path's last
    /// step.
    pub fn finish_adl_waves(&mut self) -> Vec<AdlWave> {
        self.adl_log.finish()
    }

    /// Brings into the cache what folding the takes of `accounts` will read
    /// (their entries in the wave), so that those misses overlap.
    pub(super) fn touch_adl_takes(&self, accounts: impl Iterator<Item = u32> + Clone) {
        self.adl_log.touch(accounts);
    }

    /// Folds one take into the path's wave, after it was booked (with the
    /// winner's equity after the trade, as the booking knows it).
    pub(super) fn log_adl_take(&mut self, t: &TakeBooked) {
        let mi = t.market as usize;
        let notional = self.markets[mi].value(t.lots, self.marks[mi]);
        debug_assert_eq!(
            t.equity_after,
            self.equity(t.winner),
            "Invariant: a take's equity after is the winner's at the marks"
        );
        self.adl_log.take(
            self.step,
            &AdlTake {
                step: self.step,
                account: t.winner,
                notional: notional.to_usd(),
                lots: t.lots,
                held: t.held,
                pnl_before: t.pnl_before.to_usd(),
                equity_after: t.equity_after.to_usd(),
            },
        );
    }

    /// Adds one close's needed notional to the step's.
    pub(super) fn log_adl_needed(&mut self, needed: Micros) {
        self.adl_log.needed += needed;
    }
}
