//! The open positions of one (market, side) in leverage order, for
//! `min_max_leverage` (how the engine builds, updates and reads them is
//! `adl_min_max.rs`): an order by exact leverage `N / E`, then account, then
//! slot (`lev_order.rs`), and the positions parked out of it by the price up
//! to which they are in profit.

use std::collections::BTreeSet;

use super::adl_pro_rata_side::SyncPoint;
use super::lev_key::LevKey;
use super::lev_order::{LevOrder, slot_at};

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
    pub(super) key_of: SlotKeys,
    /// A build's keys (kept for its capacity: a step's build allocates
    /// nothing once the side has its size).
    pub(super) build_keys: Vec<LevKey>,
    /// The re-keyed slots of a sync (kept for its capacity).
    pub(super) fresh: Vec<(u32, Option<LevKey>)>,
    /// A close's buffers (kept for their capacity).
    pub(super) scratch: LevScratch,
    /// The bankrupt account of the last close whose winners were all
    /// re-keyed from their fills (`Engine::key_winners_from_fills`): the
    /// next sync passes over what booking those fills logs
    /// ([`super::adl_touched::TouchedSince::take_pending_after_fills`]).
    /// `None`: the next sync re-keys every account the log holds.
    pub(super) keyed_bankrupt: Option<u32>,
    /// Those winners' accounts, in fill order.
    pub(super) keyed_winners: Vec<u32>,
    /// Those winners' slots, in fill order (debug builds check their keys
    /// against the ledger at the next sync).
    pub(super) keyed_slots: Vec<u32>,
    /// What the side's keys were evaluated at by its last build (`None`:
    /// never built): a later build may shift them instead
    /// (`Engine::keep_lev_side`).
    pub(super) synced_at: Option<SyncPoint>,
    /// Builds that kept the keys (shifted them with the mark, no pass over
    /// the market's slots), and those that tried and fell back.
    pub(super) kept: (u64, u64),
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
}

impl LevScratch {
    /// Empties every buffer.
    pub(super) fn clear(&mut self) {
        self.batch.clear();
        self.offers.clear();
        self.read.clear();
        self.lots.clear();
        self.out.clear();
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
            self.key_of.set(s, Some((k, None)));
            self.order.insert(k);
        }
    }

    /// Whether slot `s` is in the order (not parked) under key `k` already,
    /// so that [`LevSide::rekey`] would move nothing.
    #[inline]
    pub(super) fn unchanged(&self, s: u32, k: Option<LevKey>) -> bool {
        k.is_some_and(|k| self.key_of.in_order_as(s, &k))
    }

    /// Takes slot `s`'s entry out, wherever it is.
    pub(super) fn remove(&mut self, s: u32) {
        let entry = self.key_of.get(s);
        self.key_of.set(s, None);
        match entry {
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

    /// Gives slot `s`, which has no key (a winner taken out of the order),
    /// the key `k`: in the order at the next [`LevSide::flush_put_back`],
    /// which must come before the order is read or changed otherwise.
    #[inline(always)]
    pub(super) fn put_back(&mut self, s: u32, k: LevKey) {
        debug_assert!(
            self.key_of.get(s).is_none(),
            "Invariant: a slot put back into the leverage order had no key"
        );
        self.key_of.set(s, Some((k, None)));
        self.order.insert_later(k);
    }

    /// Inserts the keys [`LevSide::put_back`] kept for the order's top, in
    /// one batch ([`LevOrder::flush_later`]: a close's winners merged into
    /// it at once).
    pub(super) fn flush_put_back(&mut self) {
        self.order.flush_later();
    }

    /// Takes the candidates of `read` given lots (`lots`, as `read`; read
    /// from the order by one close, in order, not parked) out of it, by
    /// their slots.
    ///
    /// One pass over `read` clears each winner's entry and tests whether
    /// the winners are the first keys of the order's top, in order (a close
    /// reads from the top and most of what it reads wins): then those keys
    /// go at once ([`LevOrder::remove_front`]), else by
    /// [`LevOrder::remove_read`] (a second pass, the plain form). Exact:
    /// `remove_read` of the slots of `near`'s first keys, in order, removes
    /// exactly those keys (a slot has one key in the order). The two passes
    /// were ~49 instructions a winner (docs/performance.md,
    /// "`min_max_leverage` per-close reads and take-out, round 26").
    pub(super) fn take_out(&mut self, read: &[LevCandidate], lots: &[i64]) {
        let (a, b) = self.order.near_slices();
        let mut taken = 0;
        let mut front = true;
        for (c, &q) in read.iter().zip(lots) {
            if q <= 0 {
                continue;
            }
            debug_assert!(
                self.key_of.in_order_as(
                    c.slot,
                    &LevKey::new(c.notional, c.equity, c.account, c.slot)
                ),
                "Invariant: a winner taken out of the leverage order is in it under the key it was read with"
            );
            self.key_of.set(c.slot, None);
            front &= slot_at(a, b, taken) == Some(c.slot);
            taken += 1;
        }
        if front {
            self.order.remove_front(taken);
        } else {
            self.order.remove_read(
                read.iter()
                    .zip(lots)
                    .filter(|(_, q)| **q > 0)
                    .map(|(c, _)| c.slot),
            );
        }
    }

    /// Parks each `(key, reach)` of `out` (read from the order by one close,
    /// in order, and found not in profit) with its reach.
    pub(super) fn park(&mut self, out: &[(LevKey, i64)]) {
        // Most closes park nothing: no pass over the order's top then.
        if out.is_empty() {
            return;
        }
        self.order.remove_read(out.iter().map(|o| o.0.slot));
        for &(k, reach) in out {
            self.parked.insert((reach, k));
            self.key_of.set(k.slot, Some((k, Some(reach))));
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
            self.key_of.set(k.slot, Some((k, None)));
        }
    }
}

/// Per slot of a side, its key in the order or parked (`LevSide::key_of`),
/// each entry in 32 aligned bytes ([`SlotKey`]): a close reads the entries
/// of its winners at random, and an entry of `Option<(LevKey, Option<i64>)>`
/// (48 bytes) straddled two cache lines one time in two.
#[derive(Default, Clone)]
pub(super) struct SlotKeys {
    entries: Vec<SlotKey>,
}

/// One slot's entry of [`SlotKeys`]: its key's amounts and account (the
/// slot is the entry's index, the quotient recomputed by [`LevKey::new`])
/// and where the key is.
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(32))]
struct SlotKey {
    notional: i64,
    equity: i64,
    /// The reach it is parked at ([`KeyPlace::Parked`]).
    reach: i64,
    account: u32,
    place: KeyPlace,
}

/// Where a slot's key is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum KeyPlace {
    /// No key.
    #[default]
    None,
    /// In the order.
    Order,
    /// Parked.
    Parked,
}

impl SlotKeys {
    /// No key for any of `slots` slots.
    pub(super) fn reset(&mut self, slots: usize) {
        self.entries.clear();
        self.entries.resize(slots, SlotKey::default());
    }

    /// Slots the entries cover.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Gives each slot holding a key (in the order or parked), in slot
    /// order, what `f(slot, account, notional, equity)` answers (its key's
    /// account and amounts): `Some(Some(k))` the
    /// key `k` (of that slot and account) in the order, `Some(None)` no
    /// key; `None` stops the pass and returns false (the entries after it
    /// unchanged, those before it rewritten).
    ///
    /// Not inlined: inlined into `Engine::keep_lev_side` (and so into
    /// `deleverage`, since `3ebd6d9`) its pass took 169 M instructions of
    /// the 100k crash where the call takes 142 M (docs/performance.md,
    /// "The kept pass out of line, round 27").
    #[inline(never)]
    pub(super) fn rekey_each(
        &mut self,
        mut f: impl FnMut(u32, u32, i64, i64) -> Option<Option<LevKey>>,
    ) -> bool {
        for (s, e) in self.entries.iter_mut().enumerate() {
            if e.place == KeyPlace::None {
                continue;
            }
            let Some(k) = f(s as u32, e.account, e.notional, e.equity) else {
                return false;
            };
            *e = match k {
                None => SlotKey::default(),
                Some(k) => {
                    debug_assert!(
                        k.slot as usize == s && k.account == e.account,
                        "Invariant: a slot's entry holds its own key"
                    );
                    SlotKey {
                        notional: k.notional,
                        equity: k.equity,
                        reach: 0,
                        account: k.account,
                        place: KeyPlace::Order,
                    }
                }
            };
        }
        true
    }

    /// Slot `s`'s key and, if parked, its reach.
    pub(super) fn get(&self, s: u32) -> Option<(LevKey, Option<i64>)> {
        let e = self.entries[s as usize];
        let key = || LevKey::new(e.notional, e.equity, e.account, s);
        match e.place {
            KeyPlace::None => None,
            KeyPlace::Order => Some((key(), None)),
            KeyPlace::Parked => Some((key(), Some(e.reach))),
        }
    }

    /// Sets slot `s`'s key (of that slot) and, if parked, its reach.
    pub(super) fn set(&mut self, s: u32, entry: Option<(LevKey, Option<i64>)>) {
        self.entries[s as usize] = match entry {
            None => SlotKey::default(),
            Some((k, reach)) => {
                debug_assert_eq!(k.slot, s, "Invariant: a slot's entry holds its own key");
                SlotKey {
                    notional: k.notional,
                    equity: k.equity,
                    reach: reach.unwrap_or(0),
                    account: k.account,
                    place: if reach.is_some() {
                        KeyPlace::Parked
                    } else {
                        KeyPlace::Order
                    },
                }
            }
        };
    }

    /// Whether slot `s` is in the order (not parked) with the amounts and
    /// account of `k`.
    #[inline]
    pub(super) fn in_order_as(&self, s: u32, k: &LevKey) -> bool {
        let e = &self.entries[s as usize];
        e.place == KeyPlace::Order
            && (e.notional, e.equity, e.account) == (k.notional, k.equity, k.account)
    }

    /// The equity of slot `s`'s key (0 without one): a read of its entry.
    #[inline]
    pub(super) fn equity(&self, s: u32) -> i64 {
        self.entries[s as usize].equity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SlotKeys` gives back what was set, as a plain
    /// `Vec<Option<(LevKey, Option<i64>)>>` does (the same key, quotient
    /// and all, and reach), and `in_order_as` / `equity` answer from it.
    #[test]
    fn slot_keys_hold_what_a_plain_vec_of_entries_holds() {
        let mut keys = SlotKeys::default();
        keys.reset(6);
        let mut plain: Vec<Option<(LevKey, Option<i64>)>> = vec![None; 6];
        let k = |n: i64, e: i64, a: u32, s: u32| LevKey::new(n, e, a, s);
        let sets = [
            (1, Some((k(700, 90, 3, 1), None))),
            (2, Some((k(1 << 54, 7, 4, 2), Some(-12)))),
            (4, Some((k(5, 1 << 40, 0, 4), Some(0)))),
            (1, Some((k(701, 90, 3, 1), Some(i64::MAX)))),
            (4, None),
            (5, Some((k(33, 33, 9, 5), None))),
        ];
        for (s, entry) in sets {
            keys.set(s, entry);
            plain[s as usize] = entry;
            for t in 0..6u32 {
                let (got, want) = (keys.get(t), plain[t as usize]);
                assert_eq!(
                    got.map(|(k, r)| (k.notional, k.equity, k.account, k.slot, r)),
                    want.map(|(k, r)| (k.notional, k.equity, k.account, k.slot, r))
                );
                assert_eq!(
                    got.map(|(k, _)| k.ratio().to_bits()),
                    want.map(|(k, _)| k.ratio().to_bits())
                );
                assert_eq!(keys.equity(t), want.map_or(0, |(k, _)| k.equity));
                let probe = k(700, 90, 3, t);
                assert_eq!(
                    keys.in_order_as(t, &probe),
                    matches!(want, Some((o, None)) if (o.notional, o.equity, o.account) == (700, 90, 3))
                );
            }
        }
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::*;

    /// [`LevSide::take_out`]'s plain form: each winner's entry cleared,
    /// then its key removed by [`LevOrder::remove_read`], always.
    fn take_out_plain(side: &mut LevSide, read: &[LevCandidate], lots: &[i64]) {
        let winners = || {
            read.iter()
                .zip(lots)
                .filter(|(_, q)| **q > 0)
                .map(|(c, _)| c)
        };
        for c in winners() {
            side.key_of.set(c.slot, None);
        }
        side.order.remove_read(winners().map(|c| c.slot));
    }

    /// A slot's entry: its key's amounts, account and quotient's bits, and
    /// its reach if parked.
    type Entry = Option<(i64, i64, u32, u64, Option<i64>)>;

    /// Every slot's entry.
    fn entries(side: &LevSide, slots: u32) -> Vec<Entry> {
        (0..slots)
            .map(|s| {
                side.key_of
                    .get(s)
                    .map(|(k, r)| (k.notional, k.equity, k.account, k.ratio().to_bits(), r))
            })
            .collect()
    }

    proptest! {
        /// `take_out` (one pass, the winners taken from the front of the
        /// order when they are its first keys: the fast path) leaves the
        /// order and the slots' entries the plain form leaves: closes that
        /// read the top, fill a prefix of what they read (the common case)
        /// or any subset (winners after a candidate given nothing), and put
        /// their winners back with new keys (so that `near` wraps around
        /// its buffer); keys with many equal quotients and ties on account
        /// and slot.
        #[test]
        fn take_out_matches_the_plain_removal(
            amounts in prop::collection::vec((1i64..30, 1i64..8, 0u32..6), 0..120),
            closes in prop::collection::vec(
                (0usize..40, any::<bool>(), any::<u64>(), 0usize..40, any::<u64>()),
                1..10,
            ),
        ) {
            let slots = amounts.len() as u32;
            let mut keys: Vec<LevKey> = amounts
                .iter()
                .enumerate()
                .map(|(s, &(n, e, a))| LevKey::new(n, e, a, s as u32))
                .collect();
            let mut fast = LevSide::default();
            fast.key_of.reset(amounts.len());
            for k in &keys {
                fast.key_of.set(k.slot, Some((*k, None)));
            }
            fast.order.build(&mut keys);
            let mut plain = fast.clone();
            for (want, prefix, mask, winners, seed) in closes {
                let mut got = Vec::new();
                fast.order.read_after(None, want, |_| false, &mut got);
                plain.order.read_after(None, want, |_| false, &mut Vec::new());
                let read: Vec<LevCandidate> = got.iter().map(|k| k.as_candidate(1)).collect();
                // A prefix of the keys read wins, or any subset of them.
                let lots: Vec<i64> = (0..read.len())
                    .map(|i| {
                        let wins = if prefix { i < winners } else { mask >> (i % 64) & 1 == 1 };
                        if wins { 1 + (i as i64 % 3) } else { 0 }
                    })
                    .collect();
                fast.take_out(&read, &lots);
                take_out_plain(&mut plain, &read, &lots);
                prop_assert_eq!(fast.order.to_vec(), plain.order.to_vec());
                prop_assert_eq!(entries(&fast, slots), entries(&plain, slots));
                // The winners back with new keys, in both sides alike.
                for (i, (c, &q)) in read.iter().zip(&lots).enumerate() {
                    if q > 0 {
                        let n = 1 + ((seed >> (i % 60)) & 31) as i64;
                        let k = LevKey::new(n, c.equity, c.account, c.slot);
                        fast.put_back(c.slot, k);
                        plain.put_back(c.slot, k);
                    }
                }
                fast.flush_put_back();
                plain.flush_put_back();
                prop_assert_eq!(fast.order.to_vec(), plain.order.to_vec());
            }
        }
    }
}
