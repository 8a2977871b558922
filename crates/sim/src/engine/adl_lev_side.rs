//! The open positions of one (market, side) in leverage order, for
//! `min_max_leverage` (how the engine builds, updates and reads them is
//! `adl_min_max.rs`): an order by exact leverage `N / E`, then account, then
//! slot (`lev_order.rs`), and the positions parked out of it by the price up
//! to which they are in profit.

use std::collections::BTreeSet;

use super::lev_key::LevKey;
use super::lev_order::LevOrder;

use crate::venue::adl_min_max::{LevCandidate, LotScratch};

/// One (market, side) in leverage order.
#[derive(Default, Clone)]
pub(super) struct LevSide {
    /// The step the set was built in and the accounts touched since its
    /// last close.
    pub(super) touched: super::adl_touched::TouchedSince,
    /// The side's open positions with positive equity, highest leverage first,
    /// but for those in `parked`.
    pub(super) order: LevOrder,
    /// Positions a close found not in profit at its bankruptcy price, by
    /// `reach` (they are in profit at a price `x = −side × price` iff
    /// `reach ≥ x`): out of `set` until a close at a price where they are.
    pub(super) parked: BTreeSet<(i64, LevKey)>,
    /// Per slot: its key and, if parked, its reach.
    pub(super) key_of: Vec<Option<(LevKey, Option<i64>)>>,
    /// A build's keys (kept for its capacity: a step's build allocates
    /// nothing once the side has its size).
    pub(super) build_keys: Vec<LevKey>,
    /// The re-keyed slots of a sync (kept for its capacity).
    pub(super) fresh: Vec<(u32, Option<LevKey>)>,
    /// A close's buffers (kept for their capacity).
    pub(super) scratch: LevScratch,
}

/// What one close reads of the order, kept between closes for the buffers'
/// capacity.
#[derive(Default, Clone)]
pub(super) struct LevScratch {
    /// Keys taken from the order, not yet evaluated.
    pub(super) batch: Vec<LevKey>,
    /// Their offers (`Err(reach)`: not in profit), as `batch`.
    pub(super) offers: Vec<Result<i64, i64>>,
    /// The candidates read that offer lots, in leverage order.
    pub(super) read: Vec<LevCandidate>,
    /// The lots selected from each of `read`.
    pub(super) lots: Vec<i64>,
    /// `select_lots_with`'s buffers.
    pub(super) select: LotScratch,
    /// The positions found not in profit, with their reach.
    pub(super) out: Vec<(LevKey, i64)>,
    /// The keys of the candidates filled, in order.
    pub(super) filled: Vec<LevKey>,
}

impl LevScratch {
    /// Empties every buffer.
    pub(super) fn clear(&mut self) {
        self.batch.clear();
        self.offers.clear();
        self.read.clear();
        self.lots.clear();
        self.out.clear();
        self.filled.clear();
    }
}

impl LevSide {
    /// Gives slot `s` the key `k` (`None`: out of the order), back in the
    /// order if it was parked; nothing moves when its key is unchanged.
    pub(super) fn rekey(&mut self, s: u32, k: Option<LevKey>) {
        if self.unchanged(s, k) {
            return;
        }
        self.remove(s);
        if let Some(k) = k {
            self.key_of[s as usize] = Some((k, None));
            self.order.insert(k);
        }
    }

    /// Whether slot `s` is in the order (not parked) under key `k` already,
    /// so that [`LevSide::rekey`] would move nothing.
    #[inline]
    pub(super) fn unchanged(&self, s: u32, k: Option<LevKey>) -> bool {
        matches!(
            (self.key_of[s as usize], k),
            (Some((old, None)), Some(new))
                if (old.notional, old.equity, old.account) == (new.notional, new.equity, new.account)
        )
    }

    /// Takes slot `s`'s entry out, wherever it is.
    pub(super) fn remove(&mut self, s: u32) {
        match self.key_of[s as usize].take() {
            Some((k, None)) => {
                let found = self.order.remove(&k);
                debug_assert!(found, "Invariant: a slot keyed in the order is in it");
            }
            Some((k, Some(reach))) => {
                self.parked.remove(&(reach, k));
            }
            None => {}
        }
    }

    /// Takes `keys` (read from the order by one close, in order, not
    /// parked) out of it.
    pub(super) fn take_out(&mut self, keys: &[LevKey]) {
        for k in keys {
            debug_assert!(
                matches!(self.key_of[k.slot as usize], Some((o, None)) if o == *k),
                "Invariant: a slot taken out of the leverage order was in it under its key"
            );
            self.key_of[k.slot as usize] = None;
        }
        self.order.remove_read(keys.iter().copied());
    }

    /// Parks each `(key, reach)` of `out` (read from the order by one close,
    /// in order, and found not in profit) with its reach.
    pub(super) fn park(&mut self, out: &[(LevKey, i64)]) {
        self.order.remove_read(out.iter().map(|o| o.0));
        for &(k, reach) in out {
            self.parked.insert((reach, k));
            self.key_of[k.slot as usize] = Some((k, Some(reach)));
        }
    }

    /// Brings back every parked position in profit at `x` (`reach ≥ x`).
    pub(super) fn unpark(&mut self, x: i64) {
        while let Some(&(reach, k)) = self.parked.last() {
            if reach < x {
                break;
            }
            self.parked.pop_last();
            self.order.insert(k);
            self.key_of[k.slot as usize] = Some((k, None));
        }
    }
}
