//! The `pro_rata` walk order of one side's positions (lots, largest first,
//! then slot) as sorted blocks of packed `u64` keys: a two-level sorted array.
//!
//! It replaced a `BTreeSet<(Reverse<lots>, account, slot)>` that a filled
//! winner re-keyed at every fill (its lots change), about a fifth of the
//! 100,000-account `pro_rata` crash: a B-tree of ~400,000 entries is seven
//! levels of cache misses per insert and per remove. Here a re-key finds its
//! block by a binary search over the blocks' last keys (a few KB, cached),
//! then moves at most one block's tail (≤ [`BLOCK`] keys, contiguous); the
//! walk reads the blocks in order.
//!
//! Slots are allocated in account order and an account's slots are
//! consecutive (`Ledger::open_account`), so (account, slot) order is slot
//! order and the key needs no account. Lots at or above [`LOTS_LIMIT`] do not
//! fit the key: such entries are counted ([`LotsOrder::oversized`]) and the
//! caller falls back to the full collection while any is held.

/// Keys per block before it splits in two.
const BLOCK: usize = 256;

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
    /// the next.
    blocks: Vec<Vec<u64>>,
    /// Per block: its last (largest) key.
    lasts: Vec<u64>,
    /// Entries held whose lots are at or above [`LOTS_LIMIT`].
    oversized: usize,
}

impl LotsOrder {
    /// Rebuilds from `(lots, slot)` pairs (any order, slots distinct).
    pub(in crate::engine) fn build(&mut self, entries: &[(i64, u32)]) {
        let mut keys: Vec<u64> = entries.iter().map(|&(l, s)| key(l, s)).collect();
        keys.sort_unstable();
        self.oversized = entries.iter().filter(|e| e.0 >= LOTS_LIMIT).count();
        self.blocks = keys.chunks(BLOCK / 2).map(<[u64]>::to_vec).collect();
        self.lasts = self
            .blocks
            .iter()
            .filter_map(|b| b.last().copied())
            .collect();
    }

    /// Whether an entry held has lots beyond the key's range.
    pub(in crate::engine) fn oversized(&self) -> bool {
        self.oversized > 0
    }

    /// The block that holds or would hold `k`.
    fn block_of(&self, k: u64) -> usize {
        self.lasts
            .partition_point(|&last| last < k)
            .min(self.lasts.len().saturating_sub(1))
    }

    /// Adds `slot` holding `lots` (not held).
    pub(in crate::engine) fn insert(&mut self, lots: i64, slot: u32) {
        let k = key(lots, slot);
        self.oversized += usize::from(lots >= LOTS_LIMIT);
        if self.blocks.is_empty() {
            self.blocks.push(vec![k]);
            self.lasts.push(k);
            return;
        }
        self.insert_into(self.block_of(k), k);
    }

    /// Inserts key `k` (not held) into block `b` (the block that would hold
    /// it), splitting the block when full.
    fn insert_into(&mut self, b: usize, k: u64) {
        let block = &mut self.blocks[b];
        let at = block.partition_point(|&x| x < k);
        debug_assert!(
            block.get(at) != Some(&k),
            "Invariant: a slot is in the lots order once"
        );
        block.insert(at, k);
        self.lasts[b] = *block.last().unwrap_or(&k);
        if block.len() > BLOCK {
            let tail = block.split_off(BLOCK / 2);
            self.lasts[b] = block[BLOCK / 2 - 1];
            self.lasts.insert(b + 1, tail[tail.len() - 1]);
            self.blocks.insert(b + 1, tail);
        }
    }

    /// Removes `slot` holding `lots` (held).
    pub(in crate::engine) fn remove(&mut self, lots: i64, slot: u32) {
        let k = key(lots, slot);
        let b = self.block_of(k);
        let Some(block) = self.blocks.get_mut(b) else {
            debug_assert!(
                false,
                "Invariant: the lots order removes only what it holds"
            );
            return;
        };
        let Ok(at) = block.binary_search(&k) else {
            debug_assert!(
                false,
                "Invariant: the lots order removes only what it holds"
            );
            return;
        };
        self.oversized -= usize::from(lots >= LOTS_LIMIT);
        self.remove_at(b, at);
    }

    /// Removes the key at `at` of block `b`, and the block if it empties.
    fn remove_at(&mut self, b: usize, at: usize) {
        let block = &mut self.blocks[b];
        block.remove(at);
        match block.last() {
            Some(&last) => self.lasts[b] = last,
            None => {
                self.blocks.remove(b);
                self.lasts.remove(b);
            }
        }
    }

    /// Moves `slot` from `old` lots to `new` lots (held with `old`): within
    /// its block when the new key falls there (a rotation of the keys between
    /// the two places: a winner filled by a lot moves past the few entries of
    /// its lots), else a removal and an insert at the places found (each key
    /// searched once).
    pub(in crate::engine) fn rekey(&mut self, slot: u32, old: i64, new: i64) {
        let (ko, kn) = (key(old, slot), key(new, slot));
        if (old >= LOTS_LIMIT) != (new >= LOTS_LIMIT) {
            self.remove(old, slot);
            self.insert(new, slot);
            return;
        }
        let b = self.block_of(ko);
        let Ok(i) = self.blocks[b].binary_search(&ko) else {
            debug_assert!(
                false,
                "Invariant: the lots order re-keys only what it holds"
            );
            return;
        };
        let bn = self.block_of(kn);
        if bn != b {
            // Removing `ko` leaves `kn`'s block the same (blocks before `b`
            // are untouched; `b`'s last stays below `kn` when `bn > b`),
            // one lower if `b` empties and goes.
            let emptied = self.blocks[b].len() == 1;
            self.remove_at(b, i);
            self.insert_into(if emptied && bn > b { bn - 1 } else { bn }, kn);
            return;
        }
        let block = &mut self.blocks[b];
        let j = block.partition_point(|&x| x < kn);
        if j > i {
            block[i..j].rotate_left(1);
            block[j - 1] = kn;
        } else {
            block[j..=i].rotate_right(1);
            block[j] = kn;
        }
        self.lasts[b] = block[block.len() - 1];
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

    /// Through random builds, inserts, removes and re-keys (many ties in
    /// lots, blocks split and emptied), the order is a sorted set's.
    #[test]
    fn order_matches_a_sorted_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..40 {
            let n = rng.random_range(0..3000u32);
            let mut held: Vec<Option<i64>> = vec![None; 4000];
            let mut set = BTreeSet::new();
            let mut start = Vec::new();
            for s in 0..n {
                let l = rng.random_range(1..40);
                held[s as usize] = Some(l);
                set.insert((Reverse(l), s));
                start.push((l, s));
            }
            let mut order = LotsOrder::default();
            order.build(&start);
            for _ in 0..4000 {
                let s = rng.random_range(0..4000u32);
                match held[s as usize] {
                    Some(l) if rng.random_bool(0.3) => {
                        order.remove(l, s);
                        set.remove(&(Reverse(l), s));
                        held[s as usize] = None;
                    }
                    Some(l) => {
                        let nl = (l + rng.random_range(-3..2)).max(1);
                        order.rekey(s, l, nl);
                        set.remove(&(Reverse(l), s));
                        set.insert((Reverse(nl), s));
                        held[s as usize] = Some(nl);
                    }
                    None => {
                        let l = rng.random_range(1..40);
                        order.insert(l, s);
                        set.insert((Reverse(l), s));
                        held[s as usize] = Some(l);
                    }
                }
            }
            let want: Vec<(i64, u32)> = set.iter().map(|&(Reverse(l), s)| (l, s)).collect();
            let got: Vec<(i64, u32)> = order.iter().collect();
            assert_eq!(got, want, "case {case}");
            assert!(
                order
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
}
