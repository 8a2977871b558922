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
    /// The old keys of the re-keys not yet applied
    /// ([`LotsOrder::rekey_later`]); applied together by
    /// [`LotsOrder::flush`], and before any other change.
    pending_old: Vec<u64>,
    /// Their new keys (any order).
    pending_new: Vec<u64>,
    /// [`LotsOrder::merge_split`]'s buffer, kept between calls (also the
    /// build's sorted keys).
    scratch: Vec<u64>,
    /// [`sort_keys`]'s second buffer, kept between builds.
    radix_tmp: Vec<u64>,
    /// [`sort_keys`]'s digit counts, kept between builds.
    radix_counts: Vec<usize>,
    /// [`sort_moves`]'s buffer, kept between flushes: a close's few dozen
    /// re-keys (not `radix_tmp`, which a swap would hand to the pending
    /// lists and the next build would allocate again at the side's size).
    moves_tmp: Vec<u64>,
    /// Per re-key of the next flush, in the order they are pushed: the
    /// place of its old key among the old keys sorted, as the caller
    /// expects it ([`LotsOrder::expect_order`]); empty: none expected.
    order_hint: Vec<u32>,
}

impl LotsOrder {
    /// Rebuilds from `(lots, slot)` pairs (any order, slots distinct).
    ///
    /// Once a step, over the whole side (~500,000 entries at 1,000,000
    /// accounts): the keys are sorted by [`sort_keys`] (a radix pass by lots
    /// when the slots come in increasing order, as the engine's do), into
    /// buffers and blocks kept from the last build, so a build allocates
    /// only when the side outgrows them.
    pub(in crate::engine) fn build(&mut self, entries: &[(i64, u32)]) {
        self.pending_old.clear();
        self.order_hint.clear();
        self.pending_new.clear();
        let mut keys = std::mem::take(&mut self.scratch);
        sort_keys(
            entries,
            &mut keys,
            &mut self.radix_tmp,
            &mut self.radix_counts,
        );
        self.oversized = entries.iter().filter(|e| e.0 >= LOTS_LIMIT).count();
        let chunks = keys.chunks(BLOCK / 2);
        let n = chunks.len();
        self.blocks.truncate(n);
        for (b, c) in chunks.enumerate() {
            match self.blocks.get_mut(b) {
                Some(block) => {
                    block.clear();
                    block.extend(c);
                }
                None => self.blocks.push_back(new_block(c)),
            }
        }
        self.lasts.clear();
        self.lasts
            .extend(self.blocks.iter().filter_map(|b| b.back().copied()));
        self.scratch = keys;
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
        self.flush();
        let k = key(lots, slot);
        self.oversized += usize::from(lots >= LOTS_LIMIT);
        if self.blocks.is_empty() {
            self.insert_block(0, &[k]);
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
                self.insert_block(b + 1, &[k]);
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
        self.flush();
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
        self.flush();
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

    /// Moves `slot` from `old` lots to `new` lots (held with `old`), at the next [`LotsOrder::flush`] or
    /// before the next other change. A close's re-keys taken together leave
    /// the front of the order as one sorted run and enter the next lots run
    /// as one sorted run, so each block they touch is searched once and
    /// shifted once for all of them ([`LotsOrder::flush`]), where one re-key
    /// at a time searched both keys and shifted the block for each.
    /// Inlined into the re-index of every winner: two pushes, where a call
    /// (its six saved registers, the rare path's [`LotsOrder::rekey`]
    /// inlined beside them) cost ~25 instructions more; the move across
    /// [`LOTS_LIMIT`] goes to [`LotsOrder::rekey_across`], not inlined.
    #[inline(always)]
    pub(in crate::engine) fn rekey_later(&mut self, slot: u32, old: i64, new: i64) {
        if (old >= LOTS_LIMIT) != (new >= LOTS_LIMIT) {
            return self.rekey_across(slot, old, new);
        }
        self.pending_old.push(key(old, slot));
        self.pending_new.push(key(new, slot));
    }

    /// [`LotsOrder::rekey_later`]'s move of `slot` between a key within
    /// [`LOTS_LIMIT`] and an oversized one: applied now ([`LotsOrder::rekey`]),
    /// as before. Rare (lots at or above `u32::MAX`), kept out of line.
    #[cold]
    #[inline(never)]
    fn rekey_across(&mut self, slot: u32, old: i64, new: i64) {
        self.rekey(slot, old, new);
    }

    /// Tells the next [`LotsOrder::flush`] where each of its re-keys' old
    /// keys (in the order [`LotsOrder::rekey_later`] will take them) lies
    /// among them sorted: `places`, a permutation of `0..n`. A close books
    /// its winners in account order but met them in this order's (the
    /// walk's), so the flush puts the old keys in order by these places, one
    /// pass, where the comparison sort of a close of many lots values was
    /// ~1.5% of the 100,000-account crash. Only a hint: the flush checks
    /// that what it gives is sorted, else sorts ([`sort_moves`]).
    pub(in crate::engine) fn expect_order(&mut self, places: impl Iterator<Item = u32>) {
        self.order_hint.clear();
        self.order_hint.extend(places);
    }

    /// Applies the re-keys [`LotsOrder::rekey_later`] left pending: every
    /// old key out (sorted, block by block), then every new key in (sorted,
    /// block by block). The order is a set of keys, so the order in which
    /// the re-keys are applied changes nothing but the work. A slot re-keyed
    /// twice (`a → b`, then `b → c`) has its middle key among both the old
    /// and the new ones: equal keys of the two lists cancel first (the net
    /// change of any sequence of valid moves is the old keys less the new
    /// ones out, the new ones less the old ones in).
    pub(in crate::engine) fn flush(&mut self) {
        let hint = std::mem::take(&mut self.order_hint);
        self.flush_with(&hint);
        self.order_hint = hint;
        self.order_hint.clear();
    }

    /// [`LotsOrder::flush`] with the places `hint` expected of the old keys
    /// ([`LotsOrder::expect_order`]; empty: none).
    fn flush_with(&mut self, hint: &[u32]) {
        if self.pending_old.is_empty() {
            return;
        }
        let mut old = std::mem::take(&mut self.pending_old);
        let mut new = std::mem::take(&mut self.pending_new);
        let shape = MovesShape::of(&old, &new);
        // Every re-key moving its slot by the same lots (a close's one-lot
        // fills): the new keys in order are the old ones in order, moved
        // (a key's order is its lots part's, then its slot's). Else both
        // sorted.
        match shape.shift {
            Some(shift) => {
                sort_moves(&mut old, &mut self.moves_tmp, shape.increasing, hint);
                new.clear();
                new.extend(old.iter().map(|&k| {
                    let top = ((k >> 32) as i64 + shift) as u64;
                    (top << 32) | (k & u64::from(u32::MAX))
                }));
                debug_assert!(
                    new.is_sorted(),
                    "Invariant: keys moved by one lots shift keep their order"
                );
            }
            None => {
                sort_moves(&mut old, &mut self.moves_tmp, shape.increasing, hint);
                sort_moves(&mut new, &mut self.moves_tmp, shape.increasing, hint);
            }
        }
        if shape.disjoint {
            debug_assert!(
                {
                    let (mut o, mut n) = (old.clone(), new.clone());
                    cancel_common(&mut o, &mut n);
                    o.len() == old.len()
                },
                "Invariant: re-keys of distinct slots, each to another key, share no key"
            );
        } else {
            cancel_common(&mut old, &mut new);
        }
        self.remove_sorted(&old);
        self.insert_sorted(&new);
        old.clear();
        new.clear();
        self.pending_old = old;
        self.pending_new = new;
    }

    /// The end of the run of `moves` from `i` (increasing) that block `b`
    /// holds or would hold: those up to the block's last key, or all that
    /// are left in the last block; at least one key, so that a flush always
    /// moves on (a key a removal does not find is skipped).
    fn run_end(&self, b: usize, moves: &[u64], i: usize) -> usize {
        let end = if b + 1 >= self.lasts.len() {
            moves.len()
        } else {
            let last = self.lasts[b];
            i + moves[i..].partition_point(|&m| m <= last)
        };
        end.max(i + 1)
    }

    /// Removes the keys `moves` (increasing, held): those of one
    /// block in one pass over it.
    fn remove_sorted(&mut self, moves: &[u64]) {
        let mut i = 0;
        while i < moves.len() {
            let b = self.block_near(moves[i], self.left);
            let end = self.run_end(b, moves, i);
            self.remove_run(b, &moves[i..end]);
            self.left = b;
            i = end;
        }
    }

    /// Removes the keys `moves` (increasing, all held in block
    /// `b`) with one shift of the keys around them: those before the last
    /// one toward the back when that is the shorter side (a close's keys
    /// leave the front block's front, past a few skipped ones), else those
    /// after the first one toward the front. Drops the block if it empties.
    fn remove_run(&mut self, b: usize, moves: &[u64]) {
        let Some(block) = self.blocks.get_mut(b) else {
            debug_assert!(
                false,
                "Invariant: the lots order removes only what it holds"
            );
            return;
        };
        let (len, m) = (block.len(), moves.len());
        if block.front() == Some(&moves[0]) && block.get(m - 1) == Some(&moves[m - 1]) {
            // The block's first `m` keys (a close's winners leaving the
            // front of the order, none skipped between): the keys removed
            // are held here, distinct and sorted, and lie from the front
            // key to the `m`th, `m` places, so they are those places. No
            // pass over them.
            debug_assert!(
                block.range(..m).eq(moves.iter()),
                "Invariant: m sorted held keys from the front key to the m-th are the first m"
            );
            block.drain(..m);
            match block.back() {
                Some(&last) => self.lasts[b] = last,
                None => {
                    self.blocks.remove(b);
                    self.lasts.remove(b);
                }
            }
            return;
        }
        let first = if block.front() == Some(&moves[0]) {
            0
        } else {
            block.partition_point(|&x| x < moves[0])
        };
        let last = block.partition_point(|&x| x < moves[m - 1]);
        let removed = if last < len - first {
            // Keys `0..=last` move back over the removed ones; the front
            // `removed` places are then dropped.
            let hi = (last + 1).min(len);
            let (mut w, mut j) = (hi, m);
            for r in (0..hi).rev() {
                if j > 0 && block[r] == moves[j - 1] {
                    j -= 1;
                    continue;
                }
                w -= 1;
                block[w] = block[r];
            }
            let removed = m - j;
            block.drain(..removed);
            removed
        } else {
            let (mut w, mut j) = (first, 0);
            for r in first..len {
                if j < m && block[r] == moves[j] {
                    j += 1;
                    continue;
                }
                block[w] = block[r];
                w += 1;
            }
            block.truncate(w);
            j
        };
        debug_assert_eq!(
            removed, m,
            "Invariant: the lots order removes only what it holds"
        );
        match block.back() {
            Some(&last) => self.lasts[b] = last,
            None => {
                self.blocks.remove(b);
                self.lasts.remove(b);
            }
        }
    }

    /// Inserts the keys `moves` (increasing, not held): those of
    /// one block in one merge into it.
    fn insert_sorted(&mut self, moves: &[u64]) {
        let mut i = 0;
        while i < moves.len() {
            if self.blocks.is_empty() {
                self.blocks.push_back(new_block(&[]));
                self.lasts.push_back(moves[i]);
            }
            let b = self.block_near(moves[i], self.entered);
            let end = self.run_end(b, moves, i);
            self.merge_run(b, &moves[i..end]);
            i = end;
        }
    }

    /// Merges the keys `moves` (increasing, not held) into block
    /// `b` (the block that would hold each of them), shifting the keys on
    /// the shorter side once; through [`LotsOrder::merge_split`] when they
    /// do not fit in one block. Behind every key of the (last) block they fill it and
    /// then whole new blocks, as [`LotsOrder::insert_into`] does. Leaves the
    /// `entered` finger behind the last key inserted.
    fn merge_run(&mut self, b: usize, moves: &[u64]) {
        let m = moves.len();
        let block = &mut self.blocks[b];
        let len = block.len();
        if block.back().is_none_or(|&last| last < moves[0]) {
            let room = BLOCK.saturating_sub(len).min(m);
            block.extend(moves[..room].iter().copied());
            let mut at = b;
            if let Some(&last) = block.back() {
                self.lasts[b] = last;
            }
            let mut rest = &moves[room..];
            while !rest.is_empty() {
                let take = rest.len().min(BLOCK);
                at += 1;
                self.insert_block(at, &rest[..take]);
                rest = &rest[take..];
            }
            self.entered = at;
            self.entered_at = self.blocks[at].len();
            return;
        }
        if len + m > BLOCK {
            return self.merge_split(b, moves);
        }
        let first = block.partition_point(|&x| x < moves[0]);
        let last = block.partition_point(|&x| x < moves[m - 1]);
        // The place of the last key inserted.
        let mut placed = 0;
        if len - first <= last {
            // Grow at the back (within the block's capacity); merge from
            // the back on the block as one slice (rotated into place if
            // it wraps), as [`LotsOrder::merge_split`] does on its buffer.
            block.resize(len + m, 0);
            placed = merge_back(block.make_contiguous(), len, moves);
        } else {
            // Grow at the front; merge from the front.
            for _ in 0..m {
                block.push_front(0);
            }
            let (mut r, mut w, mut j) = (m, 0, 0);
            while j < m {
                if r < len + m && block[r] < moves[j] {
                    block[w] = block[r];
                    r += 1;
                } else {
                    debug_assert!(
                        r == len + m || block[r] != moves[j],
                        "Invariant: a slot is in the lots order once"
                    );
                    block[w] = moves[j];
                    placed = w;
                    j += 1;
                }
                w += 1;
            }
        }
        self.lasts[b] = *block.back().unwrap_or(&0);
        self.entered = b;
        self.entered_at = placed + 1;
    }

    /// [`LotsOrder::merge_run`] when block `b` and the keys do not fit one
    /// block: merged into a scratch buffer, then written back as blocks of
    /// `BLOCK / 2` keys (the last of up to [`BLOCK`]), the first in `b`'s
    /// storage and the others in new blocks of the usual capacity.
    fn merge_split(&mut self, b: usize, moves: &[u64]) {
        let mut merged = std::mem::take(&mut self.scratch);
        let block = &self.blocks[b];
        let (len, m) = (block.len(), moves.len());
        // The block's keys copied (its two slices), then merged with the
        // moves from the back, in place: no per-key push or ring index.
        merged.clear();
        merged.extend(block.iter().copied());
        merged.resize(len + m, 0);
        let placed = merge_back(&mut merged, len, moves);
        let half = BLOCK / 2;
        let mut start = 0;
        let mut at = b;
        while start < merged.len() {
            let end = if merged.len() - start > BLOCK {
                start + half
            } else {
                merged.len()
            };
            let piece = &merged[start..end];
            if at == b {
                let block = &mut self.blocks[b];
                block.clear();
                block.extend(piece);
                self.lasts[b] = piece[piece.len() - 1];
            } else {
                self.insert_block(at, piece);
            }
            if (start..end).contains(&placed) {
                self.entered = at;
                self.entered_at = placed - start + 1;
            }
            start = end;
            at += 1;
        }
        self.scratch = merged;
    }

    /// Puts a new block holding `keys` (increasing, not empty, all between
    /// block `at - 1`'s and block `at`'s) at place `at`, with its last key.
    fn insert_block(&mut self, at: usize, keys: &[u64]) {
        debug_assert!(!keys.is_empty(), "Invariant: a block holds a key");
        self.lasts.insert(at, keys[keys.len() - 1]);
        self.blocks.insert(at, new_block(keys));
    }

    /// The entries in walk order, as `(lots, slot)` (lots clamped to the
    /// key's range: see [`LotsOrder::oversized`]). The tests' and the debug
    /// checks' plain reader ([`LotsOrder::read_keys`] is the walk's).
    #[cfg(any(test, debug_assertions))]
    pub(in crate::engine) fn iter(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        debug_assert!(
            self.pending_old.is_empty(),
            "Invariant: the lots order is read with no re-key pending"
        );
        self.blocks.iter().flatten().map(|&k| lots_and_slot(k))
    }

    /// Copies the keys from `cur` on into `buf`, as many as fit, and moves
    /// `cur` past them; returns how many (0: none left). The walk's reader:
    /// a copy of up to two slices a block, where [`LotsOrder::iter`]'s
    /// flattened rings paid an `Option` test or two per key.
    pub(in crate::engine) fn read_keys(&self, cur: &mut LotsCursor, buf: &mut [u64]) -> usize {
        debug_assert!(
            self.pending_old.is_empty(),
            "Invariant: the lots order is read with no re-key pending"
        );
        let mut n = 0;
        while n < buf.len() {
            let Some(block) = self.blocks.get(cur.block) else {
                break;
            };
            let (front, back) = block.as_slices();
            let mut at = cur.at;
            for part in [front, back] {
                let Some(rest) = part.get(at..) else {
                    at -= part.len();
                    continue;
                };
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                (n, cur.at, at) = (n + k, cur.at + k, 0);
            }
            if cur.at >= block.len() {
                (cur.block, cur.at) = (cur.block + 1, 0);
            }
        }
        n
    }
}

/// A place in a [`LotsOrder`] for [`LotsOrder::read_keys`]: a block and a
/// key in it (the start: the default).
#[derive(Clone, Copy, Debug, Default)]
pub(in crate::engine) struct LotsCursor {
    /// The block.
    block: usize,
    /// The key's place in the block.
    at: usize,
}

/// The `(lots, slot)` of key `k` (lots clamped to the key's range).
#[inline]
pub(in crate::engine) fn lots_and_slot(k: u64) -> (i64, u32) {
    (i64::from(u32::MAX) - (k >> 32) as i64, k as u32)
}

/// Merges the increasing `moves` (none held) into `buf`, whose first
/// `len` places hold increasing keys and whose length is `len` plus the
/// moves': from the back, each key written once. Returns the place of the
/// last move. Also [`super::sort_by_account`]'s merge of a shorter second
/// run (`merge_runs`).
pub(super) fn merge_back(buf: &mut [u64], len: usize, moves: &[u64]) -> usize {
    debug_assert_eq!(
        buf.len(),
        len + moves.len(),
        "Invariant: room for the moves"
    );
    let (mut r, mut j) = (len, moves.len());
    let mut placed = buf.len() - 1;
    for w in (0..buf.len()).rev() {
        if j == 0 {
            // The rest is the block's own, already in place.
            break;
        }
        if r > 0 && buf[r - 1] > moves[j - 1] {
            r -= 1;
            buf[w] = buf[r];
        } else {
            debug_assert!(
                r == 0 || buf[r - 1] != moves[j - 1],
                "Invariant: the keys merged are distinct (a slot is in the lots order once)"
            );
            j -= 1;
            buf[w] = moves[j];
            if j == moves.len() - 1 {
                placed = w;
            }
        }
    }
    placed
}

/// A block holding `keys`, with room for [`BLOCK`] keys and the one an
/// insertion adds before the block is split.
fn new_block(keys: &[u64]) -> VecDeque<u64> {
    let mut block = VecDeque::with_capacity(BLOCK + 1);
    block.extend(keys.iter().copied());
    block
}

/// Bits of the lots sorted by one radix pass of [`sort_keys`].
const DIGIT: u32 = 16;

/// Writes into `keys` the keys of `entries` in increasing order (`tmp`,
/// `counts`: buffers kept by the caller).
///
/// The engine lists a side's slots in increasing order (`market_slots`), and
/// a key is its lots' part above its slot's: a stable sort by lots alone then
/// orders the keys. That sort is a least-significant-digit radix sort of
/// `most − lots` (`most`: the largest lots held, clamped as the key clamps
/// them) in [`DIGIT`]-bit digits, as many as the spread of lots needs, each
/// pass's counts no longer than that spread (at this crash's sizes one pass,
/// counting and scattering, where the comparison sort it replaced was ~1.7%
/// of the 100,000-account crash; none when every entry holds the same lots).
/// Entries whose slots do not increase fall back to that comparison sort.
/// The keys are distinct (the slots are), so either way the result is the
/// one sorted order.
fn sort_keys(
    entries: &[(i64, u32)],
    keys: &mut Vec<u64>,
    tmp: &mut Vec<u64>,
    counts: &mut Vec<usize>,
) {
    keys.clear();
    keys.extend(entries.iter().map(|&(l, s)| key(l, s)));
    if !entries.windows(2).all(|w| w[0].1 < w[1].1) {
        keys.sort_unstable();
        return;
    }
    // The key's upper half is `u32::MAX − lots`: its least is the most lots.
    let top = |k: u64| k >> 32;
    let (Some(low), Some(high)) = (
        keys.iter().map(|&k| top(k)).min(),
        keys.iter().map(|&k| top(k)).max(),
    ) else {
        return;
    };
    let span = high - low;
    let bits = u64::BITS - span.leading_zeros();
    let mask = (1u64 << DIGIT) - 1;
    for shift in (0..bits).step_by(DIGIT as usize) {
        let width = ((span >> shift).min(mask) + 1) as usize;
        counts.clear();
        counts.resize(width, 0);
        counting_pass(keys, tmp, counts, |k| {
            (((top(k) - low) >> shift) & mask) as usize
        });
    }
    debug_assert!(
        keys.is_sorted(),
        "Invariant: a stable sort by lots of keys in slot order is the key order"
    );
}

/// One stable counting-sort pass of `keys` by `digit` (each below
/// `counts.len()`; `counts` zeroed): counts, their prefix sums, the
/// scatter into `tmp`, then `keys` and `tmp` swapped (`tmp` comes back
/// holding `keys`' old storage). Shared by [`sort_keys`]' radix passes and
/// [`sort_moves`].
#[inline]
fn counting_pass(
    keys: &mut Vec<u64>,
    tmp: &mut Vec<u64>,
    counts: &mut [usize],
    digit: impl Fn(u64) -> usize,
) {
    for &k in keys.iter() {
        counts[digit(k)] += 1;
    }
    let mut at = 0;
    for c in counts.iter_mut() {
        let n = *c;
        *c = at;
        at += n;
    }
    tmp.clear();
    tmp.resize(keys.len(), 0);
    for &k in keys.iter() {
        let d = digit(k);
        tmp[counts[d]] = k;
        counts[d] += 1;
    }
    std::mem::swap(keys, tmp);
}

/// Spread of lots values (most − least, plus one) [`sort_moves`] counts
/// through before it falls back to the comparison sort.
const FEW_LOTS: usize = 128;

/// Sorts `keys` (distinct; `increasing`: their slots strictly increase, as
/// [`MovesShape::increasing`] found; `tmp`: a buffer kept by the caller,
/// which may come back holding `keys`' old storage).
///
/// A close's re-keys come in increasing slot order (its winners in account
/// order, an account's slots consecutive: `Engine::book_pro_rata_fills`),
/// and a key is its lots' part above its slot's, so the keys of one lots
/// value are already in order: a stable counting sort by the lots part
/// orders them (as [`sort_keys`] does for a build), two passes over the
/// keys and one over the spread of lots, where the comparison sort of the
/// two lists was ~2% of the 100,000-account crash's instructions. A close
/// fills its largest positions, whose lots lie close together. Keys whose
/// slots do not increase (a sync's re-keys, in the log's order) or whose
/// lots spread over more than [`FEW_LOTS`] values go to that comparison
/// sort. The keys are distinct, so both give the one sorted order.
///
/// `hint`: each key's expected place ([`LotsOrder::expect_order`]), tried
/// first ([`place_by_hint`]), before the pass that finds whether the keys
/// are in order and their lots' spread: a close's hint is right (its own
/// check is the only pass then), and one that is not costs that check; a
/// list already in order takes the identity hint, so it passes too. Exact
/// whatever the hint: [`place_by_hint`] keeps only a sorted result.
fn sort_moves(keys: &mut Vec<u64>, tmp: &mut Vec<u64>, increasing: bool, hint: &[u32]) {
    if place_by_hint(keys, tmp, hint) {
        return;
    }
    let top = |k: u64| k >> 32;
    let (mut sorted, mut low, mut high) = (true, u64::MAX, 0);
    for (i, &k) in keys.iter().enumerate() {
        sorted &= i == 0 || keys[i - 1] < k;
        low = low.min(top(k));
        high = high.max(top(k));
    }
    if sorted {
        return;
    }
    if !increasing || high - low >= FEW_LOTS as u64 {
        keys.sort_unstable();
        return;
    }
    let mut counts = [0usize; FEW_LOTS];
    counting_pass(keys, tmp, &mut counts[..=(high - low) as usize], |k| {
        (top(k) - low) as usize
    });
    debug_assert!(
        keys.is_sorted(),
        "Invariant: a stable sort by lots of keys in slot order is the key order"
    );
}

/// Puts `keys[j]` at place `hint[j]` (through `tmp`, which may come back
/// holding `keys`' old storage) if that sorts them: returns true then,
/// else false with `keys` as they were.
///
/// Exact whatever the hint: no key is 0 ([`key`]'s lots part is at least
/// 1), so a result strictly increasing from a non-zero first key has every
/// place written; `n` keys written into `n` places, each once, is a
/// permutation of the keys, and a sorted one is the sorted order.
fn place_by_hint(keys: &mut Vec<u64>, tmp: &mut Vec<u64>, hint: &[u32]) -> bool {
    if hint.len() != keys.len() {
        return false;
    }
    tmp.clear();
    tmp.resize(keys.len(), 0);
    for (&k, &h) in keys.iter().zip(hint) {
        match tmp.get_mut(h as usize) {
            Some(t) => *t = k,
            None => return false,
        }
    }
    let sorted = tmp.first().is_some_and(|&k| k != 0) && tmp.windows(2).all(|w| w[0] < w[1]);
    if sorted {
        std::mem::swap(keys, tmp);
    }
    sorted
}

/// What one pass over a flush's pending re-keys (`old[i] → new[i]`, one
/// slot each) finds about them.
struct MovesShape {
    /// The lots change every re-key shares, if they share one (`new`'s
    /// lots part minus `old`'s: a `pro_rata` close's one-lot fills all move
    /// by +1).
    shift: Option<i64>,
    /// The slots strictly increase along the list (a close's winners booked
    /// in account order): each slot is re-keyed once.
    increasing: bool,
    /// No key is in both lists: the slots increase and each re-key changes
    /// its key. A key in both would be one slot's (the lower half), so one
    /// re-key's, old and new alike. Then `cancel_common` has nothing to do.
    disjoint: bool,
}

impl MovesShape {
    /// The shape of `old` → `new` (same length).
    fn of(old: &[u64], new: &[u64]) -> MovesShape {
        debug_assert_eq!(old.len(), new.len(), "Invariant: a re-key is a pair");
        let lots_shift = |o: u64, n: u64| (n >> 32) as i64 - (o >> 32) as i64;
        let first = old
            .first()
            .zip(new.first())
            .map(|(&o, &n)| lots_shift(o, n));
        let (mut shared, mut increasing, mut moved) = (true, true, true);
        for (i, (&o, &n)) in old.iter().zip(new).enumerate() {
            shared &= Some(lots_shift(o, n)) == first;
            increasing &= i == 0 || (old[i - 1] as u32) < (o as u32);
            moved &= o != n;
        }
        MovesShape {
            shift: first.filter(|_| shared),
            increasing,
            disjoint: increasing && moved,
        }
    }
}

/// Removes from `old` and `new` (each sorted) the keys they have in
/// common, pair by pair (multiset difference both ways), keeping both
/// sorted.
fn cancel_common(old: &mut Vec<u64>, new: &mut Vec<u64>) {
    let (mut i, mut j) = (0, 0);
    let (mut wi, mut wj) = (0, 0);
    while i < old.len() && j < new.len() {
        match old[i].cmp(&new[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                old[wi] = old[i];
                wi += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                new[wj] = new[j];
                wj += 1;
                j += 1;
            }
        }
    }
    if wi == i && wj == j {
        // Nothing cancelled (the common case): both lists as they are.
        return;
    }
    while i < old.len() {
        old[wi] = old[i];
        wi += 1;
        i += 1;
    }
    while j < new.len() {
        new[wj] = new[j];
        wj += 1;
        j += 1;
    }
    old.truncate(wi);
    new.truncate(wj);
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
    pub(super) struct Mirrored {
        order: LotsOrder,
        set: BTreeSet<(Reverse<i64>, u32)>,
        pub(super) held: Vec<Option<i64>>,
    }

    impl Mirrored {
        /// The order built from the slots `held` gives lots.
        pub(super) fn built(held: Vec<Option<i64>>) -> Self {
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

        /// A re-key left pending in the order (applied to the set now).
        pub(super) fn rekey_later(&mut self, s: u32, l: i64, nl: i64) {
            self.order.rekey_later(s, l, nl);
            self.set.remove(&(Reverse(l), s));
            self.set.insert((Reverse(nl), s));
            self.held[s as usize] = Some(nl);
        }

        /// Applies the pending re-keys and checks the order against the
        /// set, and the blocks' shape: non-empty, at most [`BLOCK`] keys,
        /// sorted, `lasts` their last keys.
        pub(super) fn flush_and_check(&mut self, what: &str) {
            self.order.flush();
            // Lots at or above the limit are ordered as `LOTS_LIMIT - 1`.
            let mut want: Vec<(i64, u32)> = self
                .want()
                .into_iter()
                .map(|(l, s)| (l.min(LOTS_LIMIT - 1), s))
                .collect();
            want.sort_unstable_by_key(|&(l, s)| (Reverse(l), s));
            assert_eq!(self.order.iter().collect::<Vec<_>>(), want, "{what}");
            let oversized = self.set.iter().any(|e| e.0.0 >= LOTS_LIMIT);
            assert_eq!(self.order.oversized(), oversized, "{what}");
            assert_eq!(self.order.blocks.len(), self.order.lasts.len(), "{what}");
            for (b, block) in self.order.blocks.iter().enumerate() {
                assert!(!block.is_empty() && block.len() <= BLOCK, "{what}");
                assert_eq!(block.back(), Some(&self.order.lasts[b]), "{what}");
            }
        }

        /// The set's entries in walk order, as `(lots, slot)`.
        fn want(&self) -> Vec<(i64, u32)> {
            self.set.iter().map(|&(Reverse(l), s)| (l, s)).collect()
        }
    }

    /// A build sorts as a plain sort of the keys, by the radix passes (slots
    /// in increasing order: lots below 2^16, so one pass; up to 2^32 and
    /// beyond [`LOTS_LIMIT`], so both passes and the clamp; all one lots
    /// value, so none) or by the fallback (slots shuffled); and rebuilds of
    /// one order, larger then smaller then empty, reuse its blocks and
    /// buffers with nothing of the earlier build left: the walk order, the
    /// oversized count and the blocks' shape checked after each, then a
    /// few re-keys and inserts so the reused blocks are changed too.
    #[test]
    fn builds_match_a_plain_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        let mut order = LotsOrder::default();
        for case in 0..300 {
            let n = match case % 5 {
                0 => 0,
                1 => rng.random_range(1..10),
                _ => rng.random_range(1..3000),
            };
            let lots_max: i64 = match case % 4 {
                0 => 1,
                1 => 50,
                2 => 1 << 20,
                _ => LOTS_LIMIT + 10,
            };
            let mut slots: Vec<u32> = (0..n as u32 * 3).filter(|_| rng.random_bool(0.4)).collect();
            if case % 3 == 0 {
                for i in (1..slots.len()).rev() {
                    slots.swap(i, rng.random_range(0..=i));
                }
            }
            let entries: Vec<(i64, u32)> = slots
                .iter()
                .map(|&s| (rng.random_range(1..=lots_max), s))
                .collect();
            order.build(&entries);
            let mut want: Vec<(i64, u32)> = entries
                .iter()
                .map(|&(l, s)| (l.min(LOTS_LIMIT - 1), s))
                .collect();
            want.sort_unstable_by_key(|&(l, s)| (Reverse(l), s));
            assert_eq!(order.iter().collect::<Vec<_>>(), want, "case {case}");
            assert_eq!(
                order.oversized(),
                entries.iter().any(|e| e.0 >= LOTS_LIMIT),
                "case {case}"
            );
            assert_eq!(order.blocks.len(), order.lasts.len(), "case {case}");
            for (b, block) in order.blocks.iter().enumerate() {
                assert!(!block.is_empty() && block.len() <= BLOCK, "case {case}");
                assert_eq!(block.back(), Some(&order.lasts[b]), "case {case}");
            }
            // Changes after a rebuild, against a sorted set.
            let held: Vec<Option<i64>> = {
                let mut h = vec![None; n * 3 + 1];
                for &(l, s) in &entries {
                    h[s as usize] = Some(l.min(LOTS_LIMIT - 1));
                }
                h
            };
            let mut m = Mirrored {
                order: std::mem::take(&mut order),
                set: want.iter().map(|&(l, s)| (Reverse(l), s)).collect(),
                held,
            };
            for _ in 0..20 {
                let s = rng.random_range(0..m.held.len() as u32);
                let nl = rng.random_range(1..60);
                match m.held[s as usize] {
                    Some(l) if l != nl => m.rekey_later(s, l, nl),
                    Some(_) => {}
                    None => m.insert(nl, s),
                }
            }
            m.flush_and_check(&format!("case {case} after changes"));
            order = m.order;
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

    /// Re-keys left pending and applied together: closes as `pro_rata`
    /// makes them (the first keys, some skipped, down one lot each: a run
    /// leaving the front block into the middle or the end of the next
    /// run), batches of random re-keys up and down (blocks emptied, split
    /// several times over, new last blocks), crossings of
    /// [`LOTS_LIMIT`], slots re-keyed twice before the flush, and inserts
    /// and removes between (which apply the pending re-keys first): the
    /// order stays a sorted set's.
    #[test]
    fn batched_rekeys_match_a_sorted_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        for case in 0..60 {
            let n = rng.random_range(1..5 * BLOCK as u32);
            let top = rng.random_range(2..40);
            let held: Vec<Option<i64>> = (0..n)
                .map(|_| rng.random_bool(0.9).then(|| rng.random_range(1..top)))
                .collect();
            let mut m = Mirrored::built(held);
            for round in 0..120 {
                let mut used = vec![false; n as usize];
                match rng.random_range(0..4) {
                    0 | 1 => {
                        // A close: the first `c` keys down one lot, a few
                        // skipped.
                        let c = rng.random_range(1..3 * BLOCK);
                        let mut front: Vec<(i64, u32)> = m.want().into_iter().take(c).collect();
                        front.retain(|&(l, _)| l > 1 && !rng.random_bool(0.05));
                        // Each one's place in walk order (the hint's).
                        let mut placed: Vec<(u32, (i64, u32))> =
                            (0..front.len() as u32).zip(front).collect();
                        // In slot order, as the engine books a close's
                        // winners (`sort_moves`'s passes), or in walk order.
                        if rng.random_bool(0.5) {
                            placed.sort_unstable_by_key(|e| e.1.1);
                        }
                        let mut places: Vec<u32> = placed.iter().map(|e| e.0).collect();
                        // The places told to the flush: as the engine
                        // gives them, two swapped, one repeated, one out
                        // of range, one short, or none.
                        let k = places.len();
                        match rng.random_range(0..8) {
                            0 if k > 1 => {
                                places.swap(rng.random_range(0..k), rng.random_range(0..k))
                            }
                            1 if k > 1 => places[rng.random_range(0..k)] = places[0],
                            2 if k > 0 => places[rng.random_range(0..k)] = k as u32,
                            3 => {
                                places.pop();
                            }
                            4 => places.clear(),
                            _ => {}
                        }
                        m.order.expect_order(places.into_iter());
                        for (_, (l, s)) in placed {
                            m.rekey_later(s, l, l - 1);
                            used[s as usize] = true;
                        }
                    }
                    2 => {
                        // Random re-keys, up and down, some across the limit.
                        for _ in 0..rng.random_range(1..2 * BLOCK) {
                            let s = rng.random_range(0..n);
                            // A slot re-keyed twice (a chain, back to its
                            // first lots at times) now and then.
                            let again = !used[s as usize] || rng.random_bool(0.3);
                            let Some(l) = m.held[s as usize].filter(|_| again) else {
                                continue;
                            };
                            let nl = match rng.random_range(0..20) {
                                0 => LOTS_LIMIT + rng.random_range(0..3),
                                1 => rng.random_range(1..2 * top),
                                _ => (l + rng.random_range(-2..3)).clamp(1, top + 5),
                            };
                            if nl != l {
                                m.rekey_later(s, l, nl);
                                used[s as usize] = true;
                            }
                        }
                    }
                    _ => {
                        // Every key of one lots count to one new count.
                        let from = rng.random_range(1..top);
                        let to = rng.random_range(1..top + 3);
                        let run: Vec<(i64, u32)> =
                            m.want().into_iter().filter(|e| e.0 == from).collect();
                        for (l, s) in run {
                            if l != to {
                                m.rekey_later(s, l, to);
                            }
                        }
                    }
                }
                if rng.random_bool(0.3) {
                    // A change between: applies the pending ones first.
                    let s = rng.random_range(0..n);
                    match m.held[s as usize] {
                        Some(l) if rng.random_bool(0.5) => m.remove(l, s),
                        Some(l) => m.rekey(s, l, rng.random_range(1..top)),
                        None => m.insert(rng.random_range(1..top), s),
                    }
                }
                m.flush_and_check(&format!("case {case} round {round}"));
            }
        }
        // From empty, and down to empty.
        let mut m = Mirrored::built(vec![None; 10]);
        m.flush_and_check("empty");
        m.insert(3, 4);
        m.rekey_later(4, 3, 2);
        m.flush_and_check("one");
        m.remove(2, 4);
        m.flush_and_check("emptied");
    }

    /// `keys` sorted, and each key's place in that sorted list (the true
    /// places a hint gives).
    fn sorted_with_places(keys: &[u64]) -> (Vec<u64>, Vec<u32>) {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let places = keys
            .iter()
            .map(|k| sorted.partition_point(|w| w < k) as u32)
            .collect();
        (sorted, places)
    }

    /// `sort_moves` sorts as the comparison sort does: keys in increasing
    /// slot order of lots values spread within [`FEW_LOTS`] (the counting
    /// pass) and beyond (the comparison sort, the clamp at [`LOTS_LIMIT`]
    /// included), slots out of order (the comparison sort), already
    /// sorted, empty and single;
    /// the buffer passed in holding anything. And the flush's shape of a
    /// list of re-keys: the shared shift, increasing slots and disjoint
    /// lists as a plain computation finds them.
    #[test]
    fn sort_moves_is_the_comparison_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        let mut tmp = Vec::new();
        for case in 0..30_000 {
            let n = rng.random_range(0..200usize);
            let base = rng.random_range(1..1000);
            let spread: i64 = match rng.random_range(0..4) {
                0 => rng.random_range(1..FEW_LOTS as i64 + 3),
                1 => rng.random_range(1..70_000),
                2 => rng.random_range(1..LOTS_LIMIT),
                _ => rng.random_range(1..4),
            };
            let values: Vec<i64> = (0..rng.random_range(1..40))
                .map(|_| match rng.random_range(0..8) {
                    0 => LOTS_LIMIT - rng.random_range(1..4),
                    1 => LOTS_LIMIT + rng.random_range(0..4),
                    _ => (base + rng.random_range(0..spread)).min(LOTS_LIMIT - 1),
                })
                .collect();
            let mut slot = rng.random_range(0..1000u32);
            let mut keys: Vec<u64> = (0..n)
                .map(|_| {
                    slot += rng.random_range(1..5);
                    key(values[rng.random_range(0..values.len())], slot)
                })
                .collect();
            match rng.random_range(0..6) {
                0 => keys.sort_unstable(),
                1 if n > 1 => {
                    // One slot out of order.
                    let i = rng.random_range(0..n - 1);
                    keys.swap(i, i + 1);
                }
                _ => {}
            }
            if rng.random_bool(0.3) {
                tmp = (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect();
            }
            let increasing = keys.windows(2).all(|w| (w[0] as u32) < (w[1] as u32));
            // The shape of `keys` re-keyed: by one shift, by one shift
            // with a pair's key left alone, or by a shift each.
            let shifted: Vec<u64> = match rng.random_range(0..3) {
                0 => keys.iter().map(|&k| k.wrapping_sub(1 << 32)).collect(),
                1 => keys
                    .iter()
                    .map(|&k| {
                        if rng.random_bool(0.05) {
                            k
                        } else {
                            k.wrapping_sub(1 << 32)
                        }
                    })
                    .collect(),
                _ => keys
                    .iter()
                    .map(|&k| k.wrapping_sub(rng.random_range(0..3u64) << 32))
                    .collect(),
            };
            let shape = MovesShape::of(&keys, &shifted);
            let shifts: Vec<i64> = keys
                .iter()
                .zip(&shifted)
                .map(|(&o, &k)| (k >> 32) as i64 - (o >> 32) as i64)
                .collect();
            let shared = shifts.first().filter(|&&f| shifts.iter().all(|&x| x == f));
            assert_eq!(shape.shift, shared.copied(), "case {case}");
            assert_eq!(shape.increasing, increasing, "case {case}");
            let common = keys.iter().any(|k| shifted.contains(k));
            assert!(!(shape.disjoint && common), "case {case}");
            assert_eq!(
                shape.disjoint,
                increasing && keys.iter().zip(&shifted).all(|(o, k)| o != k),
                "case {case}"
            );
            // Each key's place in the sorted list: the true places, two
            // swapped, one repeated, one out of range, one short, or none.
            let (want, mut hint) = sorted_with_places(&keys);
            match rng.random_range(0..7) {
                0 if n > 1 => hint.swap(rng.random_range(0..n), rng.random_range(0..n)),
                1 if n > 1 => hint[rng.random_range(0..n)] = hint[0],
                2 if n > 0 => hint[rng.random_range(0..n)] = n as u32 + rng.random_range(0..3),
                3 => {
                    hint.pop();
                }
                4 => hint.clear(),
                _ => {}
            }
            sort_moves(&mut keys, &mut tmp, increasing, &hint);
            assert_eq!(keys, want, "case {case}");
        }
    }

    /// `place_by_hint` sorts exactly when the places given sort the keys
    /// and are a permutation, and leaves the keys alone otherwise: random
    /// distinct keys (0 among them at times), the true places, random
    /// places (repeats and out of range), the true ones with one changed.
    #[test]
    fn place_by_hint_is_the_sort_or_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        let mut tmp = Vec::new();
        for case in 0..20_000 {
            let n = rng.random_range(0..40usize);
            let mut keys: Vec<u64> = (0..n)
                .map(|_| {
                    let bits = rng.random_range(1..40);
                    rng.random_range(0..1u64 << bits)
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for i in (1..keys.len()).rev() {
                keys.swap(i, rng.random_range(0..=i));
            }
            let n = keys.len();
            let (want, mut hint) = sorted_with_places(&keys);
            match rng.random_range(0..3) {
                0 => hint = (0..n).map(|_| rng.random_range(0..n as u32 + 2)).collect(),
                1 if n > 0 => hint[rng.random_range(0..n)] = rng.random_range(0..n as u32 + 1),
                _ => {}
            }
            let exact = hint.len() == n
                && keys
                    .iter()
                    .zip(&hint)
                    .all(|(k, &h)| want.get(h as usize) == Some(k));
            let before = keys.clone();
            let sorted = place_by_hint(&mut keys, &mut tmp, &hint);
            // A 0 key (or no key) makes true places fail; never the other way.
            let zero = want.first() == Some(&0);
            assert_eq!(sorted, exact && !zero && n > 0, "case {case}");
            assert_eq!(keys, if sorted { want } else { before }, "case {case}");
        }
    }

    /// `merge_back` gives the sorted union and the last move's place: a
    /// block's keys and moves (none held) drawn at random, the moves all
    /// before, all after, between or among the block's, one move, an
    /// empty block.
    #[test]
    fn merge_back_is_a_sorted_union() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for case in 0..20_000 {
            let mut all: Vec<u64> = (0..rng.random_range(1..2 * BLOCK))
                .map(|_| rng.random_range(0..4 * BLOCK as u64))
                .collect();
            all.sort_unstable();
            all.dedup();
            let m = rng.random_range(1..=all.len());
            let moves: Vec<u64> = match rng.random_range(0..4) {
                0 => all[..m].to_vec(),
                1 => all[all.len() - m..].to_vec(),
                2 => {
                    let at = rng.random_range(0..=all.len() - m);
                    all[at..at + m].to_vec()
                }
                _ => {
                    let mut picked: Vec<u64> = all.clone();
                    for i in (1..picked.len()).rev() {
                        picked.swap(i, rng.random_range(0..=i));
                    }
                    picked.truncate(m);
                    picked.sort_unstable();
                    picked
                }
            };
            let block: Vec<u64> = all.iter().filter(|k| !moves.contains(k)).copied().collect();
            let mut buf = block.clone();
            buf.resize(block.len() + m, 0);
            let placed = merge_back(&mut buf, block.len(), &moves);
            assert_eq!(buf, all, "case {case}");
            assert_eq!(buf[placed], moves[m - 1], "case {case}");
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

#[cfg(test)]
mod property_tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A close as the engine makes it, against a sorted set: the
        /// order's first `c` keys (walk order), some left out, re-keyed by
        /// `shift` lots (or each by its own) in slot order after the flush
        /// is told their walk places (true ones, or changed at `bad`);
        /// the flush leaves the order the set's, whatever the hint.
        #[test]
        fn a_close_with_its_walk_places_is_the_sorted_set(
            lots in prop::collection::vec(1i64..300, 1..400),
            c in 1usize..200,
            skip in prop::collection::vec(any::<bool>(), 200),
            own in prop::collection::vec(0i64..3, 200),
            one_shift in any::<bool>(),
            bad in prop::option::of((0usize..200, 0u32..210)),
        ) {
            let entries: Vec<(i64, u32)> = lots.iter().copied().zip(0u32..).collect();
            let mut order = LotsOrder::default();
            order.build(&entries);
            let mut set: BTreeSet<u64> = entries.iter().map(|&(l, s)| key(l, s)).collect();
            let front: Vec<(i64, u32)> = order
                .iter()
                .take(c)
                .zip(&skip)
                .filter(|&((l, _), &skipped)| !skipped && l > 3)
                .map(|(e, _)| e)
                .collect();
            let mut placed: Vec<(u32, (i64, u32))> = (0u32..).zip(front).collect();
            placed.sort_unstable_by_key(|e| e.1.1);
            let mut places: Vec<u32> = placed.iter().map(|e| e.0).collect();
            if let Some((at, to)) = bad.filter(|_| !places.is_empty()) {
                let n = places.len();
                places[at % n] = to;
            }
            order.expect_order(places.into_iter());
            for (i, &(_, (l, s))) in placed.iter().enumerate() {
                let nl = l - if one_shift { 1 } else { 1 + own[i % own.len()] };
                order.rekey_later(s, l, nl);
                set.remove(&key(l, s));
                set.insert(key(nl, s));
            }
            order.flush();
            let got: Vec<u64> = order.iter().map(|(l, s)| key(l, s)).collect();
            let want: Vec<u64> = set.into_iter().collect();
            prop_assert_eq!(got, want);
        }

        /// [`LotsOrder::read_keys`] in chunks of random sizes (1 to past a
        /// block, from random points: a block end, a ring's wrap, mid-slice)
        /// reads the flattened blocks, each block a ring wrapped at random
        /// (`skews`), then 0 at the end, however often asked.
        #[test]
        fn read_keys_in_chunks_is_the_flattened_order(
            sizes in prop::collection::vec(1usize..12, 1..6),
            skews in prop::collection::vec(0usize..12, 6),
            chunks in prop::collection::vec(1usize..20, 1..40),
        ) {
            let mut order = LotsOrder::default();
            let mut want = Vec::new();
            for (b, &n) in sizes.iter().enumerate() {
                let mut block = new_block(&[]);
                for _ in 0..skews[b] {
                    block.push_back(0);
                    block.pop_front();
                }
                let keys: Vec<u64> = (0..n as u64).map(|i| key(100 - b as i64, i as u32 + 1)).collect();
                // The first half pushed at the front (in reverse): the ring
                // wraps, its keys in two slices.
                let h = n / 2;
                for &k in keys[..h].iter().rev() {
                    block.push_front(k);
                }
                block.extend(keys[h..].iter().copied());
                want.extend(keys.iter().copied());
                order.lasts.push_back(keys[n - 1]);
                order.blocks.push_back(block);
            }
            prop_assert_eq!(
                order.iter().collect::<Vec<_>>(),
                want.iter().map(|&k| lots_and_slot(k)).collect::<Vec<_>>()
            );
            let mut cur = LotsCursor::default();
            let mut got = Vec::new();
            let mut buf = [7u64; 20];
            for &c in chunks.iter().cycle().take(want.len() + 2) {
                let n = order.read_keys(&mut cur, &mut buf[..c]);
                prop_assert!(n == c || got.len() + n == want.len());
                got.extend_from_slice(&buf[..n]);
            }
            prop_assert_eq!(got, want);
            prop_assert_eq!(order.read_keys(&mut cur, &mut buf), 0);
        }

        /// [`LotsOrder::merge_run`] into a block that wraps in its ring (its
        /// head moved on by `skew` pops first), `m` keys at random places
        /// (so either merge: from the back on the block made contiguous, or
        /// from the front): the block is the sorted union, its last key in
        /// `lasts`, the finger just behind the last key inserted.
        #[test]
        fn merge_run_into_a_wrapped_block_is_the_sorted_union(
            all in prop::collection::btree_set(0u64..5_000, 2..BLOCK),
            pick in prop::collection::vec(0u8..4, BLOCK),
            skew in 0usize..BLOCK + 1,
        ) {
            let all: Vec<u64> = all.into_iter().collect();
            let pick_of = |want: bool| -> Vec<u64> {
                all.iter()
                    .zip(&pick)
                    .filter(|&(_, &p)| (p == 0) == want)
                    .map(|(&k, _)| k)
                    .collect()
            };
            let (moves, held) = (pick_of(true), pick_of(false));
            prop_assume!(!moves.is_empty() && !held.is_empty());
            let mut block = new_block(&[]);
            for _ in 0..skew {
                block.push_back(0);
                block.pop_front();
            }
            block.extend(held.iter().copied());
            let mut order = LotsOrder::default();
            order.lasts.push_back(held[held.len() - 1]);
            order.blocks.push_back(block);
            order.merge_run(0, &moves);
            let got: Vec<u64> = order.blocks[0].iter().copied().collect();
            prop_assert_eq!(&got, &all);
            prop_assert_eq!(order.lasts[0], all[all.len() - 1]);
            prop_assert_eq!(order.entered, 0);
            prop_assert_eq!(got[order.entered_at - 1], moves[moves.len() - 1]);
        }

        /// [`LotsOrder::rekey_later`] (inlined, its move across
        /// [`LOTS_LIMIT`] out of line in [`LotsOrder::rekey_across`]) against
        /// a sorted set: random re-keys of held slots to lots just below, at
        /// or above the limit or small (within either side, across it both
        /// ways, to the same lots), flushed at random points and at the end.
        #[test]
        fn rekeys_later_across_the_limit_are_the_sorted_set(
            start in prop::collection::vec(0usize..4, 1..120),
            moves in prop::collection::vec((0usize..120, 0usize..4, 0i64..3, any::<bool>()), 0..300),
        ) {
            let lots_of = |kind: usize, d: i64| match kind {
                0 => 1 + d,
                1 => LOTS_LIMIT - 1 - d,
                2 => LOTS_LIMIT + d,
                _ => 200 + d,
            };
            let held: Vec<Option<i64>> = start.iter().map(|&k| Some(lots_of(k, 0))).collect();
            let n = held.len();
            let mut m = super::tests::Mirrored::built(held);
            for (i, &(at, kind, d, flush)) in moves.iter().enumerate() {
                let s = (at % n) as u32;
                let Some(l) = m.held[s as usize] else { continue };
                m.rekey_later(s, l, lots_of(kind, d));
                if flush {
                    m.flush_and_check(&format!("move {i}"));
                }
            }
            m.flush_and_check("end");
        }

        /// [`sort_moves`], which tries the hint before it looks at the
        /// keys, against the comparison sort: distinct keys of few lots
        /// values (ties of lots, slots in or out of order; empty and
        /// single lists included), each with a hint that is the true
        /// places, the identity, a random permutation, one place changed
        /// (duplicated or out of range), too short or none; the buffer
        /// passed in holding anything. Always the sorted keys.
        #[test]
        fn hint_first_sort_moves_is_the_comparison_sort(
            cells in prop::collection::vec((1i64..6, any::<bool>()), 0..80),
            shuffle in prop::collection::vec(any::<u32>(), 80),
            hint_kind in 0usize..6,
            bad in (0usize..80, 0u32..90),
            junk in prop::collection::vec(any::<u64>(), 0..40),
        ) {
            // Distinct slots, increasing; each with its lots.
            let mut keys: Vec<u64> = (0u32..)
                .zip(&cells)
                .filter(|&(_, &(_, taken))| taken || cells.len() < 4)
                .map(|(s, &(l, _))| key(l, s))
                .collect();
            // Out of slot order at random (else kept increasing).
            if shuffle[0] % 3 != 0 {
                for i in (1..keys.len()).rev() {
                    keys.swap(i, shuffle[i] as usize % (i + 1));
                }
            }
            let n = keys.len();
            let mut want = keys.clone();
            want.sort_unstable();
            let places: Vec<u32> = keys
                .iter()
                .map(|k| want.partition_point(|w| w < k) as u32)
                .collect();
            let hint: Vec<u32> = match hint_kind {
                0 => places,
                1 => (0..n as u32).collect(),
                2 => {
                    let mut h: Vec<u32> = (0..n as u32).collect();
                    for i in (1..n).rev() {
                        h.swap(i, shuffle[i] as usize % (i + 1));
                    }
                    h
                }
                3 => {
                    let mut h = places;
                    if n > 0 {
                        h[bad.0 % n] = bad.1;
                    }
                    h
                }
                4 => places[..n.saturating_sub(1)].to_vec(),
                _ => Vec::new(),
            };
            let increasing = keys.windows(2).all(|w| (w[0] as u32) < (w[1] as u32));
            let mut tmp = junk;
            sort_moves(&mut keys, &mut tmp, increasing, &hint);
            prop_assert_eq!(keys, want);
        }
    }
}
