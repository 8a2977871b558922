//! ADL at the previous mark (Hyperliquid; `last_line.adl_price =
//! "previous_mark"`, docs/model.md §6).
//!
//! The ADL close is booked at the bankruptcy price, as for every venue (the
//! winners, the lots each takes and the bad debt they carry are the same);
//! then, fill by fill, the gap between the previous mark and the bankruptcy
//! price moves between the winner and the bankrupt account, which together is
//! the close at the previous mark. A winner pays at most its equity (ADL must
//! not make it bankrupt); what the bankrupt account pays can leave it below
//! zero, a deficit the waterfall then covers like any other.

use crate::money::Micros;
use crate::venue::adl_price::AdlPrice;

use super::Engine;
use super::ledger::{Party, TransferReason};

impl Engine {
    /// Sets the price ADL closes at; call before the first step.
    pub fn set_adl_price(&mut self, price: AdlPrice) {
        self.adl_price = price;
    }

    /// The price ADL closes at.
    #[must_use]
    pub fn adl_price(&self) -> AdlPrice {
        self.adl_price
    }

    /// After the ADL close of the bankrupt position of account `bankrupt` in
    /// `market` (side `side` before the close) at the bankruptcy price
    /// `bankruptcy` (ticks): under `previous_mark`, moves each fill's gap to
    /// the previous mark between winner and bankrupt account. Reads the fills
    /// the close just made (`scratch`). Returns what the bankrupt account
    /// received (negative: paid).
    pub(super) fn settle_adl_price_gap(
        &mut self,
        bankrupt: u32,
        market: usize,
        side: i64,
        bankruptcy: i64,
    ) -> Micros {
        if self.adl_price != AdlPrice::PreviousMark {
            return Micros::ZERO;
        }
        let previous = self.prev_marks[market];
        let mut net = Micros::ZERO;
        for k in 0..self.scratch.fills.len() {
            let (i, lots) = self.scratch.fills[k];
            let winner = self.scratch.candidates[i].account;
            // The winner's trade (the other side of the bankrupt's close): at
            // the previous mark it pays `gap` more than at the bankruptcy price.
            let m = &self.markets[market];
            let w_trade = side * lots;
            let gap = m.value(w_trade, previous) - m.value(w_trade, bankruptcy);
            let reason = TransferReason::AdlPriceGap;
            if gap.0 > 0 {
                let paid = Micros(gap.0.min(self.equity(winner).0.max(0)));
                self.ledger.transfer(
                    Party::Account(winner),
                    Party::Account(bankrupt),
                    paid,
                    reason,
                );
                net += paid;
            } else if gap.0 < 0 {
                self.ledger.transfer(
                    Party::Account(bankrupt),
                    Party::Account(winner),
                    -gap,
                    reason,
                );
                net += gap;
            }
            self.recheck(winner);
        }
        net
    }
}
