//! The `pro_rata` walk order of one side's positions (lots, largest first,
//! then slot) as sorted blocks of packed `u64` keys: a two-level sorted array.
//!
//! It replaced a `BTreeSet<(Reverse<lots>, account, slot)>` that a filled
//! winner re-keyed at every fill (its lots change), about a fifth of the
//! 100,000-account `pro_rata` crash: a B-tree of ~400,000 entries is seven
//! levels of cache misses per insert and per remove. Here a re-key finds its
//! block from the block the last re-key used (a finger: [`LotsOrder::block_near`]
//! gallops out from it over the blocks' last keys), then moves keys within
//! one block; the walk reads the blocks in order.
//!
//! Re-keys come in runs that stay in a few places: a close fills the largest
//! positions by a lot each, so its re-keys leave the front of the order and
//! land just behind it; where the whole side holds equal lots (the end of a
//! crash) each one leaves the front of the run of `L` lots and enters the
//! end of the run of `L − 1`. So the two fingers (one for the key left, one
//! for the key entered) are almost always right or a block off, where a
//! binary search over all the blocks' last keys cost ~12 dependent loads a
//! key (~30% of a re-key at 1,000,000 accounts); and a block is a ring
//! ([`VecDeque`]), so that a key leaving its block's front or entering its
//! back moves no other key, where a shift of up to a block (2 KB) did.
//!
//! Slots are allocated in account order and an account's slots are
//! consecutive (`Ledger::open_account`), so (account, slot) order is slot
//! order and the key needs no account. Lots at or above [`LOTS_LIMIT`] do not
//! fit the key: such entries are counted ([`LotsOrder::oversized`]) and the
//! caller falls back to the full collection while any is held.

use std::collections::VecDeque;

/// Keys per block before it splits in two.
const BLOCK: usize = 256;

/// Keys [`LotsOrder::place`] compares forward from its finger before it
/// bisects the block instead.
const SCAN: usize = 8;

/// Within a block, a key moves by swaps when it moves this far or less, else
/// by a removal and an insert (each shifting the shorter side of the ring).
const SWAPS: usize = 16;

/// Lots an entry may hold for its key to order it exactly.
pub(in crate::engine) const LOTS_LIMIT: i64 = u32::MAX as i64;

/// The key of `slot` holding `lots` (`1 ≤ lots < LOTS_LIMIT`): increasing in
/// walk order.
fn key(lots: i64, slot: u32) -> u64 {
    let l = lots.clamp(0, LOTS_LIMIT - 1) as u64;
    ((u64::from(u32::MAX) - l) << 32) | u64::from(slot)
}

/// See the module documentation.
#[derive(Clone, Default)]
pub(in crate::engine) struct LotsOrder {
    /// Sorted, non-empty blocks; every key of a block is below every key of
    /// the next. A ring too: the front block empties and goes at every
    /// [`BLOCK`] re-keys of a levelled sweep, which a vector paid with a
    /// shift of every block after it.
    blocks: VecDeque<VecDeque<u64>>,
    /// Per block: its last (largest) key.
    lasts: VecDeque<u64>,
    /// Entries held whose lots are at or above [`LOTS_LIMIT`].
    oversized: usize,
    /// The block the last key left was found in (a hint: any value is
    /// correct, only slower when far off).
    left: usize,
    /// The block the last key entered was put in (a hint, as `left`).
    entered: usize,
    /// The place in block `entered` just behind the last key entered (a
    /// hint, as `left`): where the next one usually goes.
    entered_at: usize,
}

impl LotsOrder {
    /// Rebuilds from `(lots, slot)` pairs (any order, slots distinct).
    pub(in crate::engine) fn build(&mut self, entries: &[(i64, u32)]) {
        let mut keys: Vec<u64> = entries.iter().map(|&(l, s)| key(l, s)).collect();
        keys.sort_unstable();
        self.oversized = entries.iter().filter(|e| e.0 >= LOTS_LIMIT).count();
        self.blocks = keys
            .chunks(BLOCK / 2)
            .map(|c| {
                let mut block = VecDeque::with_capacity(BLOCK + 1);
                block.extend(c);
                block
            })
            .collect();
        self.lasts = self
            .blocks
            .iter()
            .filter_map(|b| b.back().copied())
            .collect();
        self.left = 0;
        self.entered = 0;
        self.entered_at = 0;
    }

    /// Whether an entry held has lots beyond the key's range.
    pub(in crate::engine) fn oversized(&self) -> bool {
        self.oversized > 0
    }

    /// The block that holds or would hold `k`: the first whose last key is
    /// at least `k`, else the last block (0 when there is none). Searched
    /// outward from block `hint` by doubling steps, then by bisection of the
    /// range found: O(log d) reads of `lasts` for an answer d blocks from
    /// the hint, 1 or 2 when the hint is right.
    fn block_near(&self, k: u64, hint: usize) -> usize {
        let n = self.lasts.len();
        if n <= 1 {
            return 0;
        }
        let h = hint.min(n - 1);
        // The answer lies in `lo..hi` (or is the last block if `hi == n` and
        // no key there reaches `k`): `lasts[lo - 1] < k` when `lo > 0`, and
        // `lasts[hi - 1] >= k` when `hi < n`.
        let (lo, hi) = if self.lasts[h] < k {
            let mut lo = h + 1;
            let mut step = 1;
            loop {
                let probe = h + step;
                if probe >= n {
                    break (lo, n);
                }
                if self.lasts[probe] >= k {
                    break (lo, probe + 1);
                }
                lo = probe + 1;
                step *= 2;
            }
        } else {
            let mut hi = h + 1;
            let mut step = 1;
            loop {
                if step > h {
                    break (0, hi);
                }
                let probe = h - step;
                if self.lasts[probe] < k {
                    break (probe + 1, hi);
                }
                hi = probe + 1;
                step *= 2;
            }
        };
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.lasts[mid] < k {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let b = lo.min(n - 1);
        debug_assert_eq!(
            b,
            self.lasts.partition_point(|&last| last < k).min(n - 1),
            "Invariant: the search from a finger finds the block a full search finds"
        );
        b
    }

    /// Adds `slot` holding `lots` (not held).
    pub(in crate::engine) fn insert(&mut self, lots: i64, slot: u32) {
        let k = key(lots, slot);
        self.oversized += usize::from(lots >= LOTS_LIMIT);
        if self.blocks.is_empty() {
            let mut block = VecDeque::with_capacity(BLOCK + 1);
            block.push_back(k);
            self.blocks.push_back(block);
            self.lasts.push_back(k);
            return;
        }
        let b = self.block_near(k, self.entered);
        self.insert_into(b, k);
    }

    /// The place of key `k` (not held) in block `b`: the number of its keys
    /// below `k`. Compared forward from the `entered_at` finger when `b` is
    /// the `entered` block and the key before the finger is below `k` (at
    /// most [`SCAN`] keys), else a bisection of the block.
    ///
    /// A close's winners leave the front of the run of `L` lots in slot
    /// order and enter the run of `L − 1` in slot order, so each one's place
    /// is right behind the last one's (96% of the entries into a block's
    /// middle in the 1,000,000-account crash; most of the rest 1-8 further):
    /// two comparisons, where the bisection was eight dependent ones
    /// (`insert_into`'s largest share of samples).
    fn place(&self, b: usize, k: u64) -> usize {
        let block = &self.blocks[b];
        let h = self.entered_at;
        let at = if b == self.entered && h <= block.len() && (h == 0 || block[h - 1] < k) {
            // Every key before `h` is below `k`: the place is the first
            // key from `h` on that is not.
            let end = (h + SCAN).min(block.len());
            let mut j = h;
            while j < end && block[j] < k {
                j += 1;
            }
            if j < end || j == block.len() {
                j
            } else {
                block.partition_point(|&x| x < k)
            }
        } else {
            block.partition_point(|&x| x < k)
        };
        debug_assert_eq!(
            at,
            block.partition_point(|&x| x < k),
            "Invariant: the place from the finger is the bisection's"
        );
        at
    }

    /// Inserts key `k` (not held) into block `b` (the block that would hold
    /// it), splitting the block when full; the block it lands in becomes the
    /// `entered` finger, the place behind it `entered_at`.
    fn insert_into(&mut self, b: usize, k: u64) {
        let at = if self.blocks[b].back().is_none_or(|&last| last < k) {
            self.blocks[b].len()
        } else {
            self.place(b, k)
        };
        let block = &mut self.blocks[b];
        self.entered = b;
        self.entered_at = at + 1;
        if at == block.len() {
            // Behind every key (only the last block's keys can be below
            // `k`): the common case of a levelled side, whose lowest run is
            // entered at its end. A full block stays full and the key starts
            // a new last block, so that such a run fills whole blocks, not
            // halves.
            if block.len() == BLOCK {
                let mut new = VecDeque::with_capacity(BLOCK + 1);
                new.push_back(k);
                self.blocks.insert(b + 1, new);
                self.lasts.insert(b + 1, k);
                self.entered = b + 1;
                self.entered_at = 1;
                return;
            }
            block.push_back(k);
        } else {
            debug_assert!(
                block.get(at) != Some(&k),
                "Invariant: a slot is in the lots order once"
            );
            block.insert(at, k);
        }
        self.lasts[b] = *block.back().unwrap_or(&k);
        if block.len() > BLOCK {
            let mut new = block.split_off(BLOCK / 2);
            new.reserve(BLOCK + 1 - new.len());
            self.lasts[b] = *block.back().unwrap_or(&k);
            let tail_last = *new.back().unwrap_or(&k);
            if k > self.lasts[b] {
                self.entered = b + 1;
                self.entered_at = at + 1 - BLOCK / 2;
            }
            self.lasts.insert(b + 1, tail_last);
            self.blocks.insert(b + 1, new);
        }
    }

    /// The place of key `k` in block `b` (held there).
    fn find(&self, b: usize, k: u64) -> Option<usize> {
        let block = self.blocks.get(b)?;
        if block.front() == Some(&k) {
            // The front: where a levelled side's re-keys leave from.
            return Some(0);
        }
        block.binary_search(&k).ok()
    }

    /// Removes `slot` holding `lots` (held).
    pub(in crate::engine) fn remove(&mut self, lots: i64, slot: u32) {
        let k = key(lots, slot);
        let b = self.block_near(k, self.left);
        let Some(at) = self.find(b, k) else {
            debug_assert!(
                false,
                "Invariant: the lots order removes only what it holds"
            );
            return;
        };
        self.left = b;
        self.oversized -= usize::from(lots >= LOTS_LIMIT);
        self.remove_at(b, at);
    }

    /// Removes the key at `at` of block `b`, and the block if it empties.
    fn remove_at(&mut self, b: usize, at: usize) {
        if b == self.entered && at < self.entered_at {
            self.entered_at -= 1;
        }
        let block = &mut self.blocks[b];
        block.remove(at);
        match block.back() {
            Some(&last) => self.lasts[b] = last,
            None => {
                self.blocks.remove(b);
                self.lasts.remove(b);
            }
        }
    }

    /// Moves `slot` from `old` lots to `new` lots (held with `old`): within
    /// its block when the new key falls there, else a removal and an insert
    /// at the places found (each key searched once, from its finger).
    pub(in crate::engine) fn rekey(&mut self, slot: u32, old: i64, new: i64) {
        let (ko, kn) = (key(old, slot), key(new, slot));
        if (old >= LOTS_LIMIT) != (new >= LOTS_LIMIT) {
            self.remove(old, slot);
            self.insert(new, slot);
            return;
        }
        let b = self.block_near(ko, self.left);
        let Some(i) = self.find(b, ko) else {
            debug_assert!(
                false,
                "Invariant: the lots order re-keys only what it holds"
            );
            return;
        };
        self.left = b;
        let bn = self.block_near(kn, self.entered);
        if bn != b {
            // Removing `ko` leaves `kn`'s block the same (blocks before `b`
            // are untouched; `b`'s last stays below `kn` when `bn > b`),
            // one lower if `b` empties and goes.
            let emptied = self.blocks[b].len() == 1;
            self.remove_at(b, i);
            self.insert_into(if emptied && bn > b { bn - 1 } else { bn }, kn);
            return;
        }
        self.entered = b;
        let block = &mut self.blocks[b];
        let j = block.partition_point(|&x| x < kn);
        // The new place: `j - 1` when `ko` (counted in `j`) is below `kn`.
        self.entered_at = if j > i { j } else { j + 1 };
        // `j` counts `ko` when it is below `kn`: the new place is `j - 1`.
        if j > i {
            if j - i <= SWAPS {
                for t in i..j - 1 {
                    block.swap(t, t + 1);
                }
                block[j - 1] = kn;
            } else {
                block.remove(i);
                block.insert(j - 1, kn);
            }
        } else if i - j <= SWAPS {
            for t in (j..i).rev() {
                block.swap(t, t + 1);
            }
            block[j] = kn;
        } else {
            block.remove(i);
            block.insert(j, kn);
        }
        self.lasts[b] = *block.back().unwrap_or(&kn);
    }

    /// The entries in walk order, as `(lots, slot)` (lots clamped to the
    /// key's range: see [`LotsOrder::oversized`]).
    pub(in crate::engine) fn iter(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.blocks.iter().flatten().map(|&k| {
            let lots = i64::from(u32::MAX) - (k >> 32) as i64;
            (lots, k as u32)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BTreeSet;

    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A lots order beside the sorted set it must equal, and each slot's
    /// lots (`None`: not in the order): every change made to both.
    struct Mirrored {
        order: LotsOrder,
        set: BTreeSet<(Reverse<i64>, u32)>,
        held: Vec<Option<i64>>,
    }

    impl Mirrored {
        /// The order built from the slots `held` gives lots.
        fn built(held: Vec<Option<i64>>) -> Self {
            let start: Vec<(i64, u32)> = (0..held.len() as u32)
                .filter_map(|s| Some((held[s as usize]?, s)))
                .collect();
            let mut order = LotsOrder::default();
            order.build(&start);
            let set = start.iter().map(|&(l, s)| (Reverse(l), s)).collect();
            Self { order, set, held }
        }

        fn insert(&mut self, l: i64, s: u32) {
            self.order.insert(l, s);
            self.set.insert((Reverse(l), s));
            self.held[s as usize] = Some(l);
        }

        fn remove(&mut self, l: i64, s: u32) {
            self.order.remove(l, s);
            self.set.remove(&(Reverse(l), s));
            self.held[s as usize] = None;
        }

        fn rekey(&mut self, s: u32, l: i64, nl: i64) {
            self.order.rekey(s, l, nl);
            self.set.remove(&(Reverse(l), s));
            self.set.insert((Reverse(nl), s));
            self.held[s as usize] = Some(nl);
        }

        /// The set's entries in walk order, as `(lots, slot)`.
        fn want(&self) -> Vec<(i64, u32)> {
            self.set.iter().map(|&(Reverse(l), s)| (l, s)).collect()
        }
    }

    /// Through random builds, inserts, removes and re-keys (many ties in
    /// lots, blocks split and emptied), the order is a sorted set's.
    #[test]
    fn order_matches_a_sorted_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..40 {
            let n = rng.random_range(0..3000u32);
            let mut held: Vec<Option<i64>> = vec![None; 4000];
            for h in &mut held[..n as usize] {
                *h = Some(rng.random_range(1..40));
            }
            let mut m = Mirrored::built(held);
            for _ in 0..4000 {
                let s = rng.random_range(0..4000u32);
                match m.held[s as usize] {
                    Some(l) if rng.random_bool(0.3) => m.remove(l, s),
                    Some(l) => m.rekey(s, l, (l + rng.random_range(-3..2)).max(1)),
                    None => m.insert(rng.random_range(1..40), s),
                }
            }
            let got: Vec<(i64, u32)> = m.order.iter().collect();
            assert_eq!(got, m.want(), "case {case}");
            assert!(
                m.order
                    .blocks
                    .iter()
                    .all(|b| !b.is_empty() && b.len() <= BLOCK)
            );
        }
    }

    /// A re-key that empties its block, to an earlier and to a later block.
    #[test]
    fn rekey_out_of_a_block_of_one() {
        let check = |order: &LotsOrder, set: &BTreeSet<(Reverse<i64>, u32)>| {
            let want: Vec<(i64, u32)> = set.iter().map(|&(Reverse(l), s)| (l, s)).collect();
            assert_eq!(order.iter().collect::<Vec<_>>(), want);
        };
        let n = BLOCK as u32 + 1;
        let start: Vec<(i64, u32)> = (0..n).map(|s| (10_000 - i64::from(s), s)).collect();
        let mut set: BTreeSet<(Reverse<i64>, u32)> =
            start.iter().map(|&(l, s)| (Reverse(l), s)).collect();
        let mut order = LotsOrder::default();
        order.build(&start);
        assert_eq!(order.blocks.len(), 3);
        // The last block holds one key; it moves to the first.
        let (l, s) = start[n as usize - 1];
        order.rekey(s, l, 20_000);
        set.remove(&(Reverse(l), s));
        set.insert((Reverse(20_000), s));
        check(&order, &set);
        assert_eq!(order.blocks.len(), 2);
        // Empty the first block but one key, then move that one to the end.
        let first: Vec<(i64, u32)> = order.iter().take(order.blocks[0].len()).collect();
        for &(l, s) in &first[1..] {
            order.remove(l, s);
            set.remove(&(Reverse(l), s));
        }
        let (l, s) = first[0];
        order.rekey(s, l, 1);
        set.remove(&(Reverse(l), s));
        set.insert((Reverse(1), s));
        check(&order, &set);
        assert_eq!(order.blocks.len(), 1);
    }

    #[test]
    fn oversized_lots_are_counted() {
        let mut order = LotsOrder::default();
        order.build(&[(LOTS_LIMIT, 0), (3, 1)]);
        assert!(order.oversized());
        order.remove(LOTS_LIMIT, 0);
        assert!(!order.oversized());
        order.insert(LOTS_LIMIT + 5, 2);
        assert!(order.oversized());
    }

    /// The search from a finger finds the block a full search finds, for
    /// keys in, between, before and after the blocks, from every hint.
    #[test]
    fn search_from_a_finger_is_the_full_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for case in 0..200 {
            let n = rng.random_range(0..2000u32);
            let start: Vec<(i64, u32)> = (0..n)
                .map(|s| (rng.random_range(1..60), 2 * s + 1))
                .collect();
            let mut order = LotsOrder::default();
            order.build(&start);
            let blocks = order.lasts.len();
            for _ in 0..200 {
                let k = key(rng.random_range(0..62), rng.random_range(0..2 * n + 2));
                let hint = rng.random_range(0..blocks + 3);
                let want = order
                    .lasts
                    .partition_point(|&last| last < k)
                    .min(blocks.saturating_sub(1));
                assert_eq!(order.block_near(k, hint), want, "case {case}");
            }
        }
    }

    /// Closes as `pro_rata` makes them on a side with every lots count
    /// populated: a run of keys from the front goes down one lot each, so
    /// each enters the middle of the next run right behind the last one (the
    /// `entered_at` finger), with removals, inserts and re-keys elsewhere
    /// between that leave the finger stale: the order stays a sorted set's
    /// (and, in debug builds, every place from the finger is the
    /// bisection's).
    #[test]
    fn sweeps_into_populated_runs_match_a_sorted_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for case in 0..20 {
            let n = rng.random_range(1..4 * BLOCK as u32);
            let held: Vec<Option<i64>> = (0..n).map(|_| Some(rng.random_range(1..12))).collect();
            let mut m = Mirrored::built(held);
            for _ in 0..300 {
                // A close: the first `c` keys down by one lot, in order.
                let c = rng.random_range(1..40);
                let front: Vec<(i64, u32)> = m.want().into_iter().take(c).collect();
                for (l, s) in front {
                    if l > 1 {
                        m.rekey(s, l, l - 1);
                    }
                }
                // Something elsewhere.
                let s = rng.random_range(0..n);
                match m.held[s as usize] {
                    Some(l) if rng.random_bool(0.5) => m.remove(l, s),
                    Some(l) => m.rekey(s, l, rng.random_range(1..12)),
                    None => m.insert(rng.random_range(1..12), s),
                }
                assert_eq!(m.order.iter().collect::<Vec<_>>(), m.want(), "case {case}");
            }
        }
    }

    /// A levelled side swept as `pro_rata` sweeps it (each re-key takes the
    /// first key of the largest lots down by one, to the end of the next
    /// run), with re-keys elsewhere between: the order stays a sorted set's.
    #[test]
    fn a_levelled_sweep_matches_a_sorted_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let n = 3 * BLOCK as u32 + 17;
        let mut m = Mirrored::built(vec![Some(6); n as usize]);
        for round in 0..5 * n {
            let (s, l) = if round % 7 == 3 {
                let s = rng.random_range(0..n);
                (s, m.held[s as usize].expect("every slot is held"))
            } else {
                let &(Reverse(l), s) = m.set.iter().next().unwrap();
                (s, l)
            };
            if l <= 1 {
                continue;
            }
            m.rekey(s, l, l - 1);
        }
        assert_eq!(m.order.iter().collect::<Vec<_>>(), m.want());
        assert!(
            m.order
                .blocks
                .iter()
                .all(|b| !b.is_empty() && b.len() <= BLOCK)
        );
    }
}
