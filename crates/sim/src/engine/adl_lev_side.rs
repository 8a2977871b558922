//! The open positions of one (market, side) in leverage order, for
//! `min_max_leverage` (how the engine builds, updates and reads them is
//! `adl_min_max.rs`): a sorted set by exact leverage `N / E`, then account,
//! then slot, and the positions parked out of it by the price up to which they
//! are in profit.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::venue::adl_min_max::{LevCandidate, lev_order};

/// A position in the leverage order: notional and equity (micro-USD, at the
/// mark), account, slot.
#[derive(Clone, Copy, Debug)]
pub(super) struct LevKey {
    /// Notional `|lots| × mark`, micro-USD.
    pub(super) notional: i64,
    /// The account's equity at the marks, micro-USD (> 0).
    pub(super) equity: i64,
    /// Owner.
    pub(super) account: u32,
    /// Position slot.
    pub(super) slot: u32,
}

impl LevKey {
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
    fn cmp(&self, o: &Self) -> Ordering {
        lev_order(&self.as_candidate(0), &o.as_candidate(0))
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

/// One (market, side) in leverage order.
#[derive(Default, Clone)]
pub(super) struct LevSide {
    /// The step the set was built in and the accounts touched since its
    /// last close.
    pub(super) touched: super::adl_touched::TouchedSince,
    /// The side's open positions with positive equity, highest leverage first,
    /// but for those in `parked`.
    pub(super) set: BTreeSet<LevKey>,
    /// Positions a close found not in profit at its bankruptcy price, by
    /// `reach` (they are in profit at a price `x = −side × price` iff
    /// `reach ≥ x`): out of `set` until a close at a price where they are.
    pub(super) parked: BTreeSet<(i64, LevKey)>,
    /// Per slot: its key and, if parked, its reach.
    pub(super) key_of: Vec<Option<(LevKey, Option<i64>)>>,
}

impl LevSide {
    /// Takes slot `s`'s entry out, wherever it is.
    pub(super) fn remove(&mut self, s: u32) {
        match self.key_of[s as usize].take() {
            Some((k, None)) => {
                self.set.remove(&k);
            }
            Some((k, Some(reach))) => {
                self.parked.remove(&(reach, k));
            }
            None => {}
        }
    }

    /// Parks `k` (found not in profit) with its `reach`.
    pub(super) fn park(&mut self, k: LevKey, reach: i64) {
        self.set.remove(&k);
        self.parked.insert((reach, k));
        self.key_of[k.slot as usize] = Some((k, Some(reach)));
    }

    /// Brings back every parked position in profit at `x` (`reach ≥ x`).
    pub(super) fn unpark(&mut self, x: i64) {
        while let Some(&(reach, k)) = self.parked.last() {
            if reach < x {
                break;
            }
            self.parked.pop_last();
            self.set.insert(k);
            self.key_of[k.slot as usize] = Some((k, None));
        }
    }
}
