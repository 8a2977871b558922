//! The open positions of one (market, side) in leverage order, for
//! `min_max_leverage` (how the engine builds, updates and reads them is
//! `adl_min_max.rs`): a sorted set by exact leverage `N / E`, then account,
//! then slot, and the positions parked out of it by the price up to which they
//! are in profit.

use std::cmp::Ordering;
use std::collections::{BTreeSet, btree_set};
use std::iter::Chain;
use std::slice;

use crate::venue::adl_min_max::{LevCandidate, lev_order};

/// A position in the leverage order: notional and equity (micro-USD, at the
/// mark), account, slot, and the f64 quotient [`lev_order`] compares first
/// (computed once per key rather than at every comparison of a search).
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
    /// `notional / equity` correctly rounded when both are exact in f64 (as
    /// [`lev_order`]'s fast path computes it), NaN when not: an ordering
    /// hint only, never money.
    lev: f64,
}

impl LevKey {
    /// The key of slot `slot` of `account` (`equity > 0`).
    pub(super) fn new(notional: i64, equity: i64, account: u32, slot: u32) -> Self {
        const EXACT: i64 = 1 << 53;
        let lev = if notional.abs() < EXACT && equity > 0 && equity < EXACT {
            notional as f64 / equity as f64
        } else {
            f64::NAN
        };
        Self {
            notional,
            equity,
            account,
            slot,
            lev,
        }
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
    /// [`lev_order`] with its f64 quotients read from the keys: the same order.
    fn cmp(&self, o: &Self) -> Ordering {
        let order = if !self.lev.is_nan() && !o.lev.is_nan() && self.lev != o.lev {
            o.lev.total_cmp(&self.lev)
        } else {
            (i128::from(o.notional) * i128::from(self.equity))
                .cmp(&(i128::from(self.notional) * i128::from(o.equity)))
                .then(self.account.cmp(&o.account))
                .then(self.slot.cmp(&o.slot))
        };
        debug_assert_eq!(
            order,
            lev_order(&self.as_candidate(0), &o.as_candidate(0)),
            "Invariant: the leverage index orders as lev_order"
        );
        order
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

/// How many keys [`LevOrder`] keeps in its flat head (it holds up to twice
/// as many before spilling the lowest into its tree).
const HEAD: usize = 1024;

/// Keys in leverage order, in two parts: a sorted `Vec` of the first ones
/// (`head`) and a `BTreeSet` of the rest (`tail`); every key of `head` comes
/// before every key of `tail`. A close reads and re-keys the positions at the
/// top of the order, which land back near the top: they are moved within the
/// flat head, in cache, a batch at a time (O(head) per batch), and reach the
/// tree only when they fall below it.
#[derive(Default, Clone)]
pub(super) struct LevOrder {
    /// The first keys, ascending (highest leverage first).
    head: Vec<LevKey>,
    /// The other keys.
    tail: BTreeSet<LevKey>,
}

impl LevOrder {
    /// The order of `keys` (any order, distinct).
    pub(super) fn build(mut keys: Vec<LevKey>) -> Self {
        keys.sort_unstable();
        let rest = keys.split_off(keys.len().min(HEAD));
        Self {
            head: keys,
            tail: rest.into_iter().collect(),
        }
    }

    /// Every key, in order.
    pub(super) fn iter(&self) -> Chain<slice::Iter<'_, LevKey>, btree_set::Iter<'_, LevKey>> {
        self.head.iter().chain(self.tail.iter())
    }

    /// Whether `k` belongs in the tail (at or after its first key).
    fn in_tail(&self, k: &LevKey) -> bool {
        self.tail.first().is_some_and(|f| k >= f)
    }

    /// Takes out each of `keys` (all present; `keys` is used as scratch).
    pub(super) fn remove_all(&mut self, keys: &mut Vec<LevKey>) {
        keys.retain(|k| {
            let tail = self.in_tail(k);
            if tail {
                let removed = self.tail.remove(k);
                debug_assert!(removed, "Invariant: a key removed was in the order");
            }
            !tail
        });
        if keys.is_empty() {
            return;
        }
        keys.sort_unstable();
        let before = self.head.len();
        let mut gone = keys.iter().peekable();
        self.head.retain(|h| {
            while gone.next_if(|g| *g < h).is_some() {}
            gone.next_if(|g| *g == h).is_none()
        });
        debug_assert_eq!(
            before - self.head.len(),
            keys.len(),
            "Invariant: a key removed was in the order"
        );
        self.refill();
    }

    /// Puts in each of `keys` (none present; `keys` is used as scratch).
    pub(super) fn insert_all(&mut self, keys: &mut Vec<LevKey>) {
        keys.retain(|k| {
            let tail = self.in_tail(k);
            if tail {
                self.tail.insert(*k);
            }
            !tail
        });
        if keys.is_empty() {
            return;
        }
        self.head.append(keys);
        // Two sorted runs: a merge.
        self.head.sort();
        if self.head.len() > 2 * HEAD {
            self.tail.extend(self.head.drain(HEAD..));
        }
    }

    /// Tops the head up from the tail when it has run low.
    fn refill(&mut self) {
        if self.head.len() >= HEAD / 2 {
            return;
        }
        while self.head.len() < HEAD {
            let Some(k) = self.tail.pop_first() else {
                break;
            };
            self.head.push(k);
        }
    }
}

/// One (market, side) in leverage order.
#[derive(Default, Clone)]
pub(super) struct LevSide {
    /// The step the set was built in (`None`: never built).
    pub(super) built_step: Option<u32>,
    /// How much of the ledger's touched log the set has applied.
    pub(super) cursor: usize,
    /// The side's open positions with positive equity, highest leverage first,
    /// but for those in `parked`.
    pub(super) set: LevOrder,
    /// Positions a close found not in profit at its bankruptcy price, by
    /// `reach` (they are in profit at a price `x = −side × price` iff
    /// `reach ≥ x`): out of `set` until a close at a price where they are.
    pub(super) parked: BTreeSet<(i64, LevKey)>,
    /// Per slot: its key and, if parked, its reach.
    pub(super) key_of: Vec<Option<(LevKey, Option<i64>)>>,
    /// Scratch: keys to take out of / put into `set` in one batch.
    pub(super) batch: Vec<LevKey>,
}

impl LevSide {
    /// Takes slot `s`'s entry out, wherever it is: a key in `set` is added to
    /// `out` (for [`LevOrder::remove_all`]).
    pub(super) fn remove(&mut self, s: u32, out: &mut Vec<LevKey>) {
        match self.key_of[s as usize].take() {
            Some((k, None)) => out.push(k),
            Some((k, Some(reach))) => {
                self.parked.remove(&(reach, k));
            }
            None => {}
        }
    }

    /// Parks each `(k, reach)` of `keys` (found not in profit; all in `set`).
    pub(super) fn park_all(&mut self, keys: &[(LevKey, i64)]) {
        let mut out = std::mem::take(&mut self.batch);
        out.clear();
        for &(k, reach) in keys {
            out.push(k);
            self.parked.insert((reach, k));
            self.key_of[k.slot as usize] = Some((k, Some(reach)));
        }
        self.set.remove_all(&mut out);
        self.batch = out;
    }

    /// Brings back every parked position in profit at `x` (`reach ≥ x`).
    pub(super) fn unpark(&mut self, x: i64) {
        let mut back = std::mem::take(&mut self.batch);
        back.clear();
        while let Some(&(reach, k)) = self.parked.last() {
            if reach < x {
                break;
            }
            self.parked.pop_last();
            back.push(k);
            self.key_of[k.slot as usize] = Some((k, None));
        }
        self.set.insert_all(&mut back);
        self.batch = back;
    }
}
