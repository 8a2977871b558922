//! Funding settled lazily: a per-market log of settlements, applied to a
//! position when its account is next touched (docs/performance.md, "Monte
//! Carlo per core, round 5").
//!
//! A settlement pays `funding_payment(rate, value(lots, mark))` per open
//! position, rounded per position and per settlement. A position's lots do not
//! change between two touches of its slot (the ledger applies the log before
//! any trade on the slot), so the payments of the settlements a slot has not
//! seen yet are the same numbers whenever they are computed: applying them in
//! order at the next touch, or summing them for a read, gives the collateral
//! eager settlement would hold, to the micro-USD (a sum of per-settlement
//! rounded payments, never a rounded sum).
//!
//! The ledger keeps an account's **stored** collateral and the external
//! counterparty's **stored** cash; the true balance is the stored one less
//! (plus, for the external counterparty) the payments still pending. A pending
//! payment is owed by the account and due to the external counterparty at once,
//! so the stored balances are conserved on their own.

use crate::money::{Micros, PPB, Rate};

/// Settlements a market may hold pending before they are applied to every
/// position at once: bounds the cost of a read of an untouched account.
pub(super) const MAX_PENDING: usize = 8;

/// One funding settlement of a market: the rate and the mark it settled at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FundingEntry {
    /// The rate settled.
    pub(super) rate: Rate,
    /// The market's mark, ticks.
    pub(super) mark: i64,
    /// The market's value of one lot at one tick, micro-USD.
    pub(super) micros_per_lot_tick: i64,
}

impl FundingEntry {
    /// The payment of a position of `lots` (positive when it pays):
    /// `funding_payment(rate, value(lots, mark))`, the market's value
    /// (`Market::value`) computed the same way.
    #[inline]
    pub(super) fn payment(&self, lots: i64) -> Micros {
        let v = i128::from(lots) * i128::from(self.mark) * i128::from(self.micros_per_lot_tick);
        funding_payment(self.rate, Micros(v as i64))
    }

    /// An upper bound of `|payment(l)|` over every `|l| ≤ lots`, and of the sum
    /// of `|payment(l_i)|` over any `n` positions whose `|l_i|` sum to at most
    /// `lots` (plus `n`): `|lots × mark × micros_per_lot_tick × rate| / PPB + 1`
    /// (rounding adds at most one half per position). `None` when the value
    /// leaves `i64` (the eager loop then settles) or the product leaves `i128`.
    pub(super) fn bound(&self, lots: i64) -> Option<u128> {
        let v = i128::from(lots)
            .checked_mul(i128::from(self.mark))?
            .checked_mul(i128::from(self.micros_per_lot_tick))?;
        if v.unsigned_abs() >= i64::MAX as u128 {
            return None;
        }
        let p = v.checked_mul(i128::from(self.rate.0))?.unsigned_abs();
        Some(p / PPB as u128 + 1)
    }
}

/// The settlements not yet applied to every position, per market, with each
/// slot's progress through its market's log.
#[derive(Clone, Debug, Default)]
pub(super) struct FundingLog {
    /// Per market, the settlements pending for some of its slots, in order.
    entries: Vec<Vec<FundingEntry>>,
    /// Per slot, how many of its market's entries are applied to it.
    applied: Vec<u32>,
    /// Per market, Σ over its entries of the bound of one position's payment.
    slot_bound: Vec<u128>,
    /// Per market, Σ over its entries of the bound of all its positions'
    /// payments together.
    total_bound: Vec<u128>,
    /// Σ of the entries' counts (0: nothing pending anywhere).
    pending: usize,
}

impl FundingLog {
    /// An empty log for `markets` markets and `slots` position slots.
    pub(super) fn new(markets: usize, slots: usize) -> FundingLog {
        FundingLog {
            entries: vec![Vec::new(); markets],
            applied: vec![0; slots],
            slot_bound: vec![0; markets],
            total_bound: vec![0; markets],
            pending: 0,
        }
    }

    /// Makes this log a copy of `src`, reusing the buffers; with `slots`,
    /// only those slots' progress is copied (the others already hold
    /// `src`'s).
    pub(super) fn reset_from(
        &mut self,
        src: &FundingLog,
        slots: Option<&mut dyn Iterator<Item = u32>>,
    ) {
        let FundingLog {
            entries,
            applied,
            slot_bound,
            total_bound,
            pending,
        } = src;
        self.entries.clone_from(entries);
        match slots {
            Some(slots) => {
                for s in slots {
                    self.applied[s as usize] = applied[s as usize];
                }
            }
            None => self.applied.clone_from(applied),
        }
        debug_assert!(
            self.applied == *applied,
            "Invariant: a restarted log's progress is its template's"
        );
        self.slot_bound.clone_from(slot_bound);
        self.total_bound.clone_from(total_bound);
        self.pending = *pending;
    }

    /// Whether no settlement is pending anywhere.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Settlements pending in market `market`.
    pub(super) fn len(&self, market: usize) -> usize {
        self.entries[market].len()
    }

    /// The payment still pending for slot `slot` of market `market` holding
    /// `lots`: the sum of its unapplied entries' payments, in order.
    #[inline]
    pub(super) fn pending(&self, slot: u32, market: usize, lots: i64) -> Micros {
        let log = &self.entries[market];
        let from = self.applied[slot as usize] as usize;
        if from == log.len() || lots == 0 {
            return Micros::ZERO;
        }
        log[from..]
            .iter()
            .fold(Micros::ZERO, |t, e| t + e.payment(lots))
    }

    /// How many of its market's entries are applied to slot `slot` (0 for
    /// a slot the log does not know).
    #[inline]
    pub(super) fn applied(&self, slot: u32) -> u32 {
        self.applied.get(slot as usize).copied().unwrap_or(0)
    }

    /// Marks every entry of `market` applied to `slot`.
    #[inline]
    pub(super) fn mark_applied(&mut self, slot: u32, market: usize) {
        self.applied[slot as usize] = self.entries[market].len() as u32;
    }

    /// Σ over markets of the bound of one position's pending payment.
    pub(super) fn slot_bound(&self) -> u128 {
        self.slot_bound
            .iter()
            .fold(0u128, |t, &b| t.saturating_add(b))
    }

    /// Σ over markets of the bound of every position's pending payment.
    pub(super) fn total_bound(&self) -> u128 {
        self.total_bound
            .iter()
            .fold(0u128, |t, &b| t.saturating_add(b))
    }

    /// Logs a settlement of `market`, with its bounds (one position's
    /// payment, all positions' payments).
    pub(super) fn push(&mut self, market: usize, entry: FundingEntry, slot: u128, total: u128) {
        self.entries[market].push(entry);
        self.slot_bound[market] = self.slot_bound[market].saturating_add(slot);
        self.total_bound[market] = self.total_bound[market].saturating_add(total);
        self.pending += 1;
    }

    /// Empties market `market`'s log once every slot in `slots` (all of the
    /// market's) has been applied: their progress restarts at 0.
    pub(super) fn clear_market(&mut self, market: usize, slots: &[u32]) {
        for &s in slots {
            debug_assert_eq!(
                self.applied[s as usize] as usize,
                self.entries[market].len(),
                "Invariant: a market's log is cleared only once applied to every slot"
            );
            self.applied[s as usize] = 0;
        }
        self.pending -= self.entries[market].len();
        self.entries[market].clear();
        self.slot_bound[market] = 0;
        self.total_bound[market] = 0;
    }
}

/// `rate.apply_round(value)` (`value × rate`, rounded half away from zero),
/// in `i64` when the product fits (every position of an ordinary book: one
/// hardware division instead of the 128-bit routine), else in `i128`: the same
/// number either way.
#[inline]
pub(super) fn funding_payment(rate: Rate, value: Micros) -> Micros {
    const HALF: i64 = crate::money::PPB / 2;
    match value
        .0
        .checked_mul(rate.0)
        .and_then(|p| p.checked_abs())
        .and_then(|p| p.checked_add(HALF))
    {
        Some(q) => {
            let q = q / crate::money::PPB;
            Micros(if (value.0 < 0) == (rate.0 < 0) { q } else { -q })
        }
        None => rate.apply_round(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::MAX_MICROS;

    /// The `i64` funding payment is `Rate::apply_round`'s, on both sides of
    /// zero, at the rounding midpoints and past the `i64` product.
    #[test]
    fn funding_payment_is_apply_round() {
        let rates = [
            0,
            1,
            -1,
            100_000,
            -100_000,
            499_999_999,
            500_000_000,
            -750_000_000,
        ];
        let values = [
            0,
            1,
            -1,
            3,
            -3,
            5_000,
            -5_000,
            1_234_567_891,
            -987_654_321_987,
            MAX_MICROS,
            -MAX_MICROS,
            i64::MAX,
            i64::MIN + 1,
        ];
        for r in rates {
            for v in values {
                assert_eq!(
                    funding_payment(Rate(r), Micros(v)),
                    Rate(r).apply_round(Micros(v)),
                    "rate {r} value {v}"
                );
            }
        }
    }
}
