//! A liquidation order with a price limit against the book (the impact
//! model): how much of it fills at or better than the limit, and what happens
//! to the rest (docs/model.md §5, "The fillable price as a limit").
//!
//! As dYdX v4 does (`LiquidateSubaccountsAgainstOrderbook`,
//! `protocol/x/clob/keeper/liquidations.go`; `CanDeleverageSubaccount`,
//! `deleveraging.go`):
//!
//! - the order fills the most lots whose execution price (the impact model's,
//!   this step's flow included) is at or better than the limit; a fill worse
//!   than the bankruptcy price leaves a deficit the fund covers, or ADL when it
//!   cannot (the waterfall, as for any close);
//! - what does not fill waits for the next step (the next block);
//! - an order that fills nothing for an account below zero equity is
//!   deleveraged whole at the bankruptcy price, whatever the fund holds
//!   (under another last line than ADL, it is closed at the market price
//!   instead, without the limit).

use crate::money::Micros;

use super::Engine;
use super::liquidation_limit::{LiquidationLimit, fillable_ticks};
use super::rules::LastLine;

/// What a liquidation order with a limit does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LimitedClose {
    /// Close this many lots at the market (all the order's without a limit).
    Fill(i64),
    /// Nothing fills: try again next step.
    Wait,
    /// Nothing fills and the account is below zero: deleverage the order's
    /// lots at the bankruptcy price.
    Deleverage,
}

impl Engine {
    /// Makes liquidation orders limit orders at the fillable price (`None`:
    /// no limit, the default); call before the first step.
    pub fn set_liquidation_limit(&mut self, limit: Option<LiquidationLimit>) {
        self.liquidation_limit = limit;
    }

    /// The liquidation limit in force, if any.
    #[must_use]
    pub fn liquidation_limit(&self) -> Option<LiquidationLimit> {
        self.liquidation_limit
    }

    /// The fillable price in ticks of the position in `slot` now, for an
    /// account of `equity` and total requirement `maintenance`.
    pub(super) fn fillable_ticks_of(
        &self,
        limit: &LiquidationLimit,
        slot: u32,
        equity: Micros,
        maintenance: Micros,
    ) -> i64 {
        let p = self.ledger.positions[slot as usize];
        let mi = p.market as usize;
        fillable_ticks(
            limit,
            self.marks[mi],
            p.lots,
            self.position_maintenance(&p, p.lots),
            equity,
            maintenance,
            self.markets[mi].micros_per_lot_tick,
        )
    }

    /// What an order closing `wanted` lots of the position in `slot` (of an
    /// account of `equity` and total requirement `maintenance`) does under the
    /// liquidation limit, if any.
    pub(super) fn limit_close(
        &self,
        slot: u32,
        wanted: i64,
        equity: Micros,
        maintenance: Micros,
    ) -> LimitedClose {
        let Some(limit) = self.liquidation_limit else {
            return LimitedClose::Fill(wanted);
        };
        let p = self.ledger.positions[slot as usize];
        let ticks = self.fillable_ticks_of(&limit, slot, equity, maintenance);
        let filled = self.lots_within(p.market as usize, -p.lots.signum(), wanted, ticks);
        if filled > 0 {
            LimitedClose::Fill(filled)
        } else if equity.0 >= 0 {
            LimitedClose::Wait
        } else if matches!(self.cfg.last_line, LastLine::Adl { .. }) {
            LimitedClose::Deleverage
        } else {
            LimitedClose::Fill(wanted)
        }
    }

    /// The most of `wanted` lots, traded in direction `side` (−1 sells, 1
    /// buys) in `market`, whose execution price is at or better than `limit`
    /// ticks (the impact is monotone in the flow: a binary search).
    pub(super) fn lots_within(&self, market: usize, side: i64, wanted: i64, limit: i64) -> i64 {
        let ok = |q: i64| {
            let t = self.execution_ticks(market, side * q);
            if side < 0 { t >= limit } else { t <= limit }
        };
        if wanted <= 0 || ok(wanted) {
            return wanted.max(0);
        }
        if !ok(1) {
            return 0;
        }
        let (mut lo, mut hi) = (1, wanted);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if ok(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
