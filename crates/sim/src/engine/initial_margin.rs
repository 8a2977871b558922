//! The initial margin the open book locks (docs/model.md §7,
//! `initial_margin_locked`): what the venue's initial-margin brackets require
//! traders to post to hold the positions they hold, at the current marks.

use crate::money::{Micros, Rate};

use super::Engine;

impl Engine {
    /// Initial-margin requirement of every open position of the population at
    /// the current marks, summed: per position `IM(notional at the mark)` of its
    /// market's brackets (rounded up, docs/model.md §3), scaled by the market's
    /// margin multiplier (1 without volatility margin) and rounded up again. The
    /// external counterparty holds no margin and is not counted.
    ///
    /// O(positions): read once per path, at the start, never per step.
    pub fn initial_margin_locked(&self) -> Micros {
        let mut total = Micros::ZERO;
        for account in 0..self.ledger.accounts.len() {
            #[allow(clippy::cast_possible_truncation)]
            for p in self.ledger.positions_of(account as u32) {
                if p.lots == 0 {
                    continue;
                }
                let mi = p.market as usize;
                let m = &self.markets[mi];
                let im = m
                    .margin
                    .initial_margin(m.value(p.lots.abs(), self.marks[mi]));
                total += match self.margin_mult[mi] {
                    Rate::ONE => im,
                    k => k.apply_ceil(im),
                };
            }
        }
        total
    }
}
