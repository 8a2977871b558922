//! The key of a position in `min_max_leverage`'s leverage order (the order
//! is `lev_order.rs`, the side that keeps it `adl_lev_side.rs`): notional,
//! equity, account and slot, with the f64 quotient compared first.

use std::cmp::Ordering;

use crate::venue::adl_min_max::{LevCandidate, lev_order_exact, lev_ratio};

/// A position in the leverage order: notional and equity (micro-USD, at the
/// mark), account, slot, and the f64 quotient the order compares first.
#[derive(Clone, Copy, Debug)]
pub(super) struct LevKey {
    /// Notional `|lots| × mark`, micro-USD.
    pub(super) notional: i64,
    /// The account's equity at the marks, micro-USD (> 0).
    pub(super) equity: i64,
    /// [`lev_ratio`] of notional and equity, NaN where it has none: kept so
    /// that a search of the set divides nothing.
    ratio: f64,
    /// Owner.
    pub(super) account: u32,
    /// Position slot.
    pub(super) slot: u32,
}

impl LevKey {
    /// The key of slot `slot` of `account`, notional and equity micro-USD.
    pub(super) fn new(notional: i64, equity: i64, account: u32, slot: u32) -> Self {
        LevKey {
            notional,
            equity,
            ratio: lev_ratio(notional, equity).unwrap_or(f64::NAN),
            account,
            slot,
        }
    }

    /// The f64 quotient the order compares first (NaN where there is none).
    pub(super) fn ratio(&self) -> f64 {
        self.ratio
    }

    /// The position as the rule reads it, offering `offer` lots.
    pub(super) fn as_candidate(&self, offer: i64) -> LevCandidate {
        LevCandidate {
            account: self.account,
            slot: self.slot,
            notional: self.notional,
            equity: self.equity,
            offer,
        }
    }
}

impl Ord for LevKey {
    /// [`crate::venue::adl_min_max::lev_order`], its quotients kept.
    fn cmp(&self, o: &Self) -> Ordering {
        let (x, y) = (self.ratio, o.ratio);
        if x != y && !x.is_nan() && !y.is_nan() {
            return y.total_cmp(&x);
        }
        lev_order_exact(&self.as_candidate(0), &o.as_candidate(0))
    }
}

impl PartialOrd for LevKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for LevKey {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for LevKey {}
