//! Drift's last line (docs/venues.md §5): a loss the insurance fund cannot pay
//! is spread over every open position of the market, longs and shorts alike,
//! pro-rata to size — Drift moves both sides' cumulative funding rate by
//! `loss / (base long + base short)` (`resolve_perp_bankruptcy`).
//!
//! Money moves only through [`super::ledger::Ledger::transfer`] (reason
//! `Haircut`, payer → bankrupt account). A payer is charged at most its equity:
//! a charge never makes an account bankrupt in turn; what is left the venue
//! covers like any other loss nobody can absorb (recorded insolvency).

use crate::money::Micros;
use crate::venue::market::MarketId;

use super::Engine;
use super::ledger::{Party, TransferReason};

impl Engine {
    /// Charges `amount` to the open positions of `market` outside `bankrupt`,
    /// pro-rata to their size in lots (largest remainders to the largest
    /// positions, then the lowest slot), each at most its account's equity; pays
    /// it to the bankrupt account and returns what was charged.
    /// O(positions of the market).
    pub(super) fn socialize_by_size(
        &mut self,
        bankrupt: u32,
        market: MarketId,
        amount: Micros,
    ) -> Micros {
        let mi = market as usize;
        let mut payers = std::mem::take(&mut self.scratch.winners);
        payers.clear();
        let mut total_lots = 0i128;
        for &s in &self.ledger.market_slots[mi] {
            let p = self.ledger.positions[s as usize];
            let owner = self.ledger.slot_owner(s);
            if p.lots == 0 || owner == bankrupt {
                continue;
            }
            payers.push((owner, s, Micros(p.lots.abs())));
            total_lots += i128::from(p.lots.abs());
        }
        let mut charged = Micros::ZERO;
        if total_lots > 0 {
            let shares = size_shares(&payers, i128::from(amount.0), total_lots);
            for (w, &share) in payers.iter().zip(&shares) {
                let cap = self.equity(w.0).max(Micros::ZERO);
                let h = Micros(share as i64).min(cap);
                if h.0 <= 0 {
                    continue;
                }
                self.ledger.transfer(
                    Party::Account(w.0),
                    Party::Account(bankrupt),
                    h,
                    TransferReason::Haircut,
                );
                self.ledger.mark_dirty(w.0);
                self.ledger.accounts[w.0 as usize].haircut += h;
                charged += h;
            }
            self.venue_flows.socialized_loss += charged;
            self.totals.socialized_loss += charged;
            for w in &payers {
                self.recheck(w.0);
            }
        }
        self.scratch.winners = payers;
        charged
    }
}

/// `charge` split over `payers` pro-rata to their lots (`.2`), exactly: floors,
/// then one micro-USD each to the largest positions (lowest slot first) until
/// the sum is `charge`.
fn size_shares(payers: &[(u32, u32, Micros)], charge: i128, total: i128) -> Vec<i128> {
    let mut shares: Vec<i128> = payers
        .iter()
        .map(|w| charge * i128::from(w.2.0) / total)
        .collect();
    let mut left = charge - shares.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..payers.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(payers[i].2), payers[i].1));
    let mut k = 0;
    while left > 0 && !order.is_empty() {
        shares[order[k % order.len()]] += 1;
        left -= 1;
        k += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_pro_rata_to_size_and_sum_exactly() {
        // Drift's unit test: 7 long and 4 short (11 in all) share a loss of 100.
        let payers = [(0, 0, Micros(7)), (1, 1, Micros(4))];
        let s = size_shares(&payers, 100_000_000, 11);
        assert_eq!(s.iter().sum::<i128>(), 100_000_000);
        assert_eq!(s, vec![63_636_364, 36_363_636]);
    }
}
