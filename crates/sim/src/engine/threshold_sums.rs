//! The lots of a side's positions by profit threshold (`adl_pro_rata.rs`):
//! Σ lots of the positions whose threshold is above a price, in O(√∛n)
//! (at most 64 sums a level) plus the positions of one bucket, with updates
//! in O(1).
//!
//! The thresholds are bucketed into bucket sums kept on three levels (per
//! bucket, per 64 buckets, per 4,096: an update writes three numbers where
//! the Fenwick tree it replaced wrote ~20; the query comes once a close);
//! the entries themselves are listed per bucket, read only for the bucket
//! the query price falls in. A bucket's sum and the head of its list share
//! one 16-byte line, so that a move into a bucket misses once, not twice.
//!
//! **The deep bucket.** Bucket 0 holds every threshold at or below a cut
//! (`cut`: a little below the first query price of the step, see
//! [`cut_below`]); the others are a fixed number of buckets of 2^shift ticks
//! over `cut..` the highest threshold of the build (the last one
//! open-ended). A query at `x ≥ cut` counts all of bucket 0 as in profit
//! without reading its list. A filled winner's break-even moves away from
//! the fill price, deeper into profit (`(T·L − f·x) / (L − f) < T` when
//! `T < x`), so once in bucket 0 it stays there, and its later fills are a
//! write to a hot sum: no bucket line, no node, no slot line written.
//! (With one bucket per tick over the whole range, every fill moved its
//! winner to another bucket: a cache miss on the old bucket's sum, one on
//! the new one's and one on its list head, ~7% of the 1,000,000-account
//! crash.) A query below the cut is still exact (it reads bucket 0's list),
//! but slow: the caller rebuilds with a lower cut first ([`ThresholdSums::covers`]).
//!
//! A filled winner's break-even price above the cut moves with every fill,
//! usually to another bucket, so the lists are append-only: a move pushes a
//! node for the slot on its new bucket's list and marks it the slot's
//! current node; the old node stays, stale, skipped by the readers (a node
//! is live iff it is its slot's current one), until the nodes are rebuilt
//! from the live slots once they reach twice those. A move is a bucket
//! update, an append and two writes, where a doubly linked list also read
//! and wrote both neighbours.
//!
//! **The slot lines are the caller's** ([`SlotLines`]): a slot's threshold
//! and current node live in the caller's per-slot record (the `pro_rata`
//! side's `Record`, which holds the threshold already), so that a filled
//! winner's re-index meets one random line a slot, not its record and a
//! line of the sums besides (round 24).
//!
//! **A raised cut** ([`ThresholdSums::raise_cut`], round 24b): a kept side
//! whose step's first query rose past its cut's margins raises the cut by a
//! whole number of buckets instead of building again: bucket 0 absorbs the
//! buckets below the new cut (their sums moved, their lists spliced onto
//! its own), the others stay where they are (the bucket of a threshold
//! above the cut is counted from the build's cut, `origin`; the buckets
//! absorbed stay empty). The open-ended last bucket is never absorbed: a
//! build once the cut would reach it. (A query above the raised buckets'
//! range reads the last bucket's list: the thresholds above the build's
//! highest, few. A first rule, a build once half the buckets were
//! absorbed, still built 10 times of 19 at 100,000 accounts.)

/// End of a bucket's list; also "no current node" (a slot not held).
pub(super) const NIL: u32 = u32::MAX;

/// The per-slot lines of a [`ThresholdSums`], kept by its caller: each
/// slot's threshold (written by the caller: a key's threshold is its slot's
/// before the key is inserted or replaced in, and stays while it is held)
/// and its current node (written by the sums alone; [`NIL`] for every slot
/// not held, which the caller keeps by writing `NIL` when it empties a
/// slot's line).
pub(super) trait SlotLines {
    /// Slots covered: every slot held is below it.
    fn slot_count(&self) -> usize;
    /// `slot`'s threshold (meaningful only while held).
    fn threshold(&self, slot: u32) -> i64;
    /// `slot`'s current node ([`NIL`]: not held).
    fn current(&self, slot: u32) -> u32;
    /// Makes `node` `slot`'s current node.
    fn set_current(&mut self, slot: u32, node: u32);
}

/// Entry key: `(threshold, slot)`, unique per slot.
pub(super) type ThresholdKey = (i64, u32);

/// The cut for a step whose first query is at `x`: 1/64 of `|x|` below it
/// (the bankruptcy prices of one step's closes lie within a fraction of
/// that of each other), so the step's later queries are at or above it.
pub(super) fn cut_below(x: i64) -> i64 {
    x.saturating_sub((x.unsigned_abs() >> 6) as i64)
        .saturating_sub(1)
}

/// A kept side's cut is stale once this many of [`cut_below`]'s margins
/// below the step's first query ([`ThresholdSums::stale_for`]).
const STALE_MARGINS: i128 = 2;

/// One node of a bucket's list.
#[derive(Clone, Copy, Debug)]
struct Node {
    /// The slot it lists.
    slot: u32,
    /// The next (older) node of the bucket (`NIL`: the last).
    next: u32,
}

/// See the module documentation.
#[derive(Clone, Default)]
pub(super) struct ThresholdSums {
    /// Thresholds at or below it are in bucket 0.
    cut: i64,
    /// The build's cut: bucket `b ≥ 1` covers `origin + ((b − 1) << shift,
    /// b << shift]` (the last one open-ended); `cut` is `origin` raised by
    /// a whole number of buckets ([`ThresholdSums::raise_cut`]).
    origin: i64,
    /// Bucket width above the cut, log2 ticks.
    shift: u32,
    /// Bucket sums and list heads.
    sums: LevelSums,
    /// Σ of every value.
    total: i64,
    /// The lists' nodes, live and stale.
    nodes: Vec<Node>,
    /// Slots held.
    live: usize,
}

impl ThresholdSums {
    /// Rebuilds from `(key, value)` entries (any order; values positive;
    /// exactly the slots `lines` holds, each with its key's threshold),
    /// with the thresholds at or below `cut` in bucket 0. Writes every
    /// entry's current node and no other line (those are [`NIL`] already:
    /// no pass over the slots).
    pub(super) fn build(
        &mut self,
        entries: &[(ThresholdKey, i64)],
        cut: i64,
        lines: &mut (impl SlotLines + ?Sized),
    ) {
        let hi = entries.iter().map(|e| e.0.0).max().unwrap_or(cut);
        let buckets = entries.len().next_power_of_two().clamp(1024, 1 << 20);
        let range = (i128::from(hi) - i128::from(cut)).max(0) as u128;
        let mut shift = 0;
        while range > 0 && ((range - 1) >> shift) >= (buckets - 1) as u128 {
            shift += 1;
        }
        self.cut = cut;
        self.origin = cut;
        self.shift = shift;
        self.sums.reset(buckets);
        self.total = 0;
        self.nodes.clear();
        self.live = 0;
        for &(key, value) in entries {
            let b = self.bucket(key.0);
            self.sums.add(b, value);
            self.total += value;
            // A held slot's line may name a node of the lists just dropped.
            lines.set_current(key.1, NIL);
            self.link(key, lines);
        }
        debug_assert!(
            entries
                .iter()
                .enumerate()
                .all(|(i, e)| lines.current(e.0.1) == i as u32),
            "Invariant: a build's entries are distinct slots"
        );
    }

    /// Whether a query at `x` is fast: at or above the cut (below it,
    /// [`ThresholdSums::sum_above`] reads bucket 0's whole list).
    pub(super) fn covers(&self, x: i64) -> bool {
        x >= self.cut
    }

    /// Whether the cut is stale for a step whose first query is at `x`:
    /// above it ([`ThresholdSums::covers`] fails), or below it by more than
    /// [`STALE_MARGINS`] times [`cut_below`]'s margin (the step's queries and its winners'
    /// break-evens would fall in buckets above the cut rather than in the
    /// deep one). A build of the side cuts at every step; a kept side
    /// re-cuts only then ([`ThresholdSums::raise_cut`] first).
    pub(super) fn stale_for(&self, x: i64) -> bool {
        let margin = i128::from(x) - i128::from(cut_below(x));
        let below = i128::from(x) - i128::from(self.cut);
        below < 0 || below > STALE_MARGINS * margin
    }

    /// Raises the cut for a step whose first query is at `x` (the cut
    /// stale for it, [`ThresholdSums::stale_for`]) by whole buckets, to the
    /// highest bucket boundary at or below [`cut_below`]`(x)`: bucket 0
    /// absorbs the buckets up to it ([`ThresholdSums::absorb`]). Returns
    /// false, changing nothing, when that would not do: `x` below the cut,
    /// the cut still stale for `x` at the boundary (buckets wider than the
    /// margins), or the boundary at the last (open-ended) bucket (the
    /// caller then builds again). Exact: every sum and listing is a build's at the new
    /// cut; only the bucketing above it is the old build's.
    pub(super) fn raise_cut(&mut self, x: i64) -> bool {
        let len = self.sums.len();
        let want = i128::from(cut_below(x));
        let (origin, cut) = (i128::from(self.origin), i128::from(self.cut));
        if len == 0 || want < cut {
            return false;
        }
        let (from, to) = ((cut - origin) >> self.shift, (want - origin) >> self.shift);
        let raised = origin + (to << self.shift);
        let below = i128::from(x) - raised;
        let margin = i128::from(x) - i128::from(cut_below(x));
        if to + 2 >= len as i128 || below > STALE_MARGINS * margin {
            return false;
        }
        debug_assert!(
            origin + (from << self.shift) == cut && raised >= cut,
            "Invariant: the cut is on a bucket boundary, raised"
        );
        // In range: `origin ≤ raised ≤ want`, both `i64`; `from ≤ to < len − 2`.
        self.absorb(from as usize + 1, to as usize + 1);
        self.cut = raised as i64;
        true
    }

    /// Moves buckets `lo..hi` (below the last) into bucket 0: their sums
    /// added to its own, their lists spliced in front of its list (a list
    /// whose sum is 0 holds stale nodes alone: dropped).
    fn absorb(&mut self, lo: usize, hi: usize) {
        debug_assert!(
            lo >= 1 && hi < self.sums.len(),
            "Invariant: the last (open-ended) bucket is never absorbed"
        );
        for b in lo..hi {
            let (sum, head) = (self.sums.fine[b].sum, self.sums.head(b));
            self.sums.set_head(b, NIL);
            if sum == 0 {
                continue;
            }
            debug_assert!(
                head != NIL,
                "Invariant: a bucket with a sum lists its slots"
            );
            self.sums.add(b, -sum);
            self.sums.add(0, sum);
            let mut tail = head;
            while self.nodes[tail as usize].next != NIL {
                tail = self.nodes[tail as usize].next;
            }
            self.nodes[tail as usize].next = self.sums.head(0);
            self.sums.set_head(0, head);
        }
    }

    /// The bucket of threshold `t`: 0 at or below the cut, else
    /// `1 + (t − origin − 1) >> shift` (the last one open-ended; above the
    /// buckets a raised cut absorbed).
    fn bucket(&self, t: i64) -> usize {
        let last = self.sums.len().saturating_sub(1);
        if t <= self.cut {
            return 0;
        }
        let offset = i128::from(t) - i128::from(self.origin);
        usize::try_from((offset - 1) >> self.shift).map_or(last, |b| (b + 1).min(last))
    }

    /// Adds `value` to the bucket of threshold `t` and to the total.
    fn add(&mut self, t: i64, value: i64) {
        self.add_to_bucket(self.bucket(t), value);
    }

    /// Adds `value` to bucket `b`'s sum and to the total.
    #[inline]
    fn add_to_bucket(&mut self, b: usize, value: i64) {
        self.sums.add(b, value);
        self.total += value;
    }

    /// Lists `key`'s slot (not held; its line holds `key`'s threshold) on
    /// its bucket's list, as its current node.
    fn link(&mut self, (t, slot): ThresholdKey, lines: &mut (impl SlotLines + ?Sized)) {
        debug_assert!(
            lines.current(slot) == NIL && lines.threshold(slot) == t,
            "Invariant: threshold sums hold a slot once, at its line's threshold"
        );
        self.push_node(self.bucket(t), slot, lines);
        self.live += 1;
    }

    /// Appends a node of `slot` to bucket `b`'s list and makes it current.
    fn push_node(&mut self, b: usize, slot: u32, lines: &mut (impl SlotLines + ?Sized)) {
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            slot,
            next: self.sums.head(b),
        });
        self.sums.set_head(b, index);
        lines.set_current(slot, index);
    }

    /// Drops `slot` (held): its node goes stale.
    fn unlink(&mut self, slot: u32, lines: &mut (impl SlotLines + ?Sized)) {
        debug_assert!(
            lines.current(slot) != NIL,
            "Invariant: threshold sums remove only a key they hold"
        );
        lines.set_current(slot, NIL);
        self.live -= 1;
    }

    /// Rebuilds the lists from the live slots once the stale nodes outnumber
    /// them (amortized O(1) a move).
    fn compact_if_stale(&mut self, lines: &mut (impl SlotLines + ?Sized)) {
        if self.nodes.len() < 2 * self.live + 1024 {
            return;
        }
        self.sums.clear_heads();
        self.nodes.clear();
        for s in 0..lines.slot_count() as u32 {
            if lines.current(s) != NIL {
                self.push_node(self.bucket(lines.threshold(s)), s, lines);
            }
        }
    }

    /// Inserts `key` (not present; its slot's line holds its threshold)
    /// with `value` (positive).
    pub(super) fn insert(
        &mut self,
        key: ThresholdKey,
        value: i64,
        lines: &mut (impl SlotLines + ?Sized),
    ) {
        debug_assert!(value > 0, "Invariant: threshold sums hold positive values");
        self.compact_if_stale(lines);
        self.link(key, lines);
        self.add(key.0, value);
    }

    /// Removes `key` (present, with `value`).
    pub(super) fn remove(
        &mut self,
        key: ThresholdKey,
        value: i64,
        lines: &mut (impl SlotLines + ?Sized),
    ) {
        self.unlink(key.1, lines);
        self.add(key.0, -value);
    }

    /// Replaces `old` (present, with `old_value`) by `new` with `new_value`
    /// (positive; `new`'s slot's line holds its threshold already): the
    /// slot gets a new node only when its bucket changes.
    /// Inlined for the common case, both keys at or below the cut for one
    /// slot (a filled winner in the deep bucket, most of a crash's
    /// re-indexes): bucket 0, no bucket computed, no call;
    /// the rest is [`ThresholdSums::replace_above`].
    #[inline(always)]
    pub(super) fn replace(
        &mut self,
        old: ThresholdKey,
        old_value: i64,
        new: ThresholdKey,
        new_value: i64,
        lines: &mut (impl SlotLines + ?Sized),
    ) {
        if old.0 <= self.cut && new.0 <= self.cut && old.1 == new.1 {
            self.replace_in_bucket(0, old, old_value, new.0, new_value, lines);
        } else {
            self.replace_above(old, old_value, new, new_value, lines);
        }
    }

    /// [`ThresholdSums::replace`] with a key above the cut (or two slots):
    /// in place when both keys are one slot's in one bucket, else a remove
    /// and an insert.
    #[inline(never)]
    fn replace_above(
        &mut self,
        old: ThresholdKey,
        old_value: i64,
        new: ThresholdKey,
        new_value: i64,
        lines: &mut (impl SlotLines + ?Sized),
    ) {
        let b = self.bucket(old.0);
        if old.1 == new.1 && b == self.bucket(new.0) {
            self.replace_in_bucket(b, old, old_value, new.0, new_value, lines);
            return;
        }
        self.remove(old, old_value, lines);
        self.insert(new, new_value, lines);
    }

    /// Gives `old`'s slot (held, in bucket `b`, as is threshold `t`, which
    /// its line holds already) the value `new_value` (positive): its node
    /// stays, and its line is not written (nor read, but by debug checks).
    #[inline(always)]
    fn replace_in_bucket(
        &mut self,
        b: usize,
        old: ThresholdKey,
        old_value: i64,
        t: i64,
        new_value: i64,
        lines: &(impl SlotLines + ?Sized),
    ) {
        debug_assert!(
            new_value > 0,
            "Invariant: threshold sums hold positive values"
        );
        debug_assert!(
            b == self.bucket(old.0) && b == self.bucket(t),
            "Invariant: both keys are in bucket b (a key at or below the cut: 0)"
        );
        debug_assert!(
            lines.current(old.1) != NIL && lines.threshold(old.1) == t,
            "Invariant: threshold sums replace only a key they hold, its line at the new threshold"
        );
        if old_value != new_value {
            self.add_to_bucket(b, new_value - old_value);
        }
    }

    /// Σ of every value.
    pub(super) fn total(&self) -> i64 {
        self.total
    }

    /// The live slots of bucket `b`, newest first.
    fn bucket_slots<'a>(
        &'a self,
        b: usize,
        lines: &'a (impl SlotLines + ?Sized),
    ) -> impl Iterator<Item = u32> + 'a {
        let mut n = self.sums.head(b);
        std::iter::from_fn(move || {
            while n != NIL {
                let index = n;
                let node = self.nodes[index as usize];
                n = node.next;
                if lines.current(node.slot) == index {
                    return Some(node.slot);
                }
            }
            None
        })
    }

    /// Σ values of the entries with threshold above `x`; `value(slot)` gives
    /// the value of an entry of the bucket `x` falls in.
    pub(super) fn sum_above(
        &self,
        x: i64,
        lines: &(impl SlotLines + ?Sized),
        value: impl Fn(u32) -> i64,
    ) -> i64 {
        if self.sums.len() == 0 {
            return 0;
        }
        let b = self.bucket(x);
        let mut sum = self.total - self.sums.prefix(b);
        if b == 0 && x >= self.cut {
            // Every threshold of bucket 0 is at or below the cut.
            return sum;
        }
        for slot in self.bucket_slots(b, lines) {
            if lines.threshold(slot) > x {
                sum += value(slot);
            }
        }
        sum
    }

    /// The keys with threshold at most `x`, in no particular order.
    pub(super) fn up_to<'a>(
        &'a self,
        x: i64,
        lines: &'a (impl SlotLines + ?Sized),
    ) -> impl Iterator<Item = ThresholdKey> + 'a {
        let last = if self.sums.len() == 0 {
            None
        } else {
            Some(self.bucket(x))
        };
        let mut b = last.and_then(|_| self.sums.next_nonempty(0));
        let mut slots = b.map(|b| self.bucket_slots(b, lines));
        std::iter::from_fn(move || {
            loop {
                let (bucket, last) = (b?, last?);
                if bucket > last {
                    return None;
                }
                if let Some(slot) = slots.as_mut()?.next() {
                    let t = lines.threshold(slot);
                    if t <= x {
                        return Some((t, slot));
                    }
                    continue;
                }
                b = self.sums.next_nonempty(bucket + 1);
                slots = b.map(|b| self.bucket_slots(b, lines));
            }
        })
    }
}

/// Buckets a group of the middle level sums (and groups a group of the top).
const FAN: usize = 64;

/// One bucket: its sum and the head of its list (newest node; `NIL`: none),
/// on one line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
struct Bucket {
    /// Σ of its values.
    sum: i64,
    /// Its newest node.
    head: u32,
}

/// Sums of buckets on three levels: per bucket (with the bucket's list
/// head), per [`FAN`] buckets, per `FAN²` buckets. An update writes one
/// number a level; a prefix sum adds at most `FAN` numbers a level
/// (contiguous).
#[derive(Clone, Default)]
struct LevelSums {
    /// Per bucket.
    fine: Vec<Bucket>,
    /// Per `FAN` buckets.
    mid: Vec<i64>,
    /// Per `FAN²` buckets.
    top: Vec<i64>,
}

impl LevelSums {
    /// `n` buckets, every sum 0, every list empty.
    fn reset(&mut self, n: usize) {
        self.fine.clear();
        self.fine.resize(n, Bucket { sum: 0, head: NIL });
        self.mid.clear();
        self.mid.resize(n.div_ceil(FAN), 0);
        self.top.clear();
        self.top.resize(n.div_ceil(FAN * FAN), 0);
    }

    /// Buckets.
    fn len(&self) -> usize {
        self.fine.len()
    }

    /// Bucket `b`'s list head.
    fn head(&self, b: usize) -> u32 {
        self.fine[b].head
    }

    /// Sets bucket `b`'s list head.
    fn set_head(&mut self, b: usize, head: u32) {
        self.fine[b].head = head;
    }

    /// Empties every list (the sums stay).
    fn clear_heads(&mut self) {
        for f in &mut self.fine {
            f.head = NIL;
        }
    }

    /// Adds `v` to bucket `b`.
    fn add(&mut self, b: usize, v: i64) {
        self.fine[b].sum += v;
        self.mid[b / FAN] += v;
        self.top[b / (FAN * FAN)] += v;
    }

    /// Σ of the buckets up to `b` (inclusive).
    fn prefix(&self, b: usize) -> i64 {
        let (g, t) = (b / FAN, b / (FAN * FAN));
        let top: i64 = self.top[..t].iter().sum();
        let mid: i64 = self.mid[t * FAN..g].iter().sum();
        let fine: i64 = self.fine[g * FAN..=b].iter().map(|f| f.sum).sum();
        top + mid + fine
    }

    /// The first bucket at or after `from` whose sum is non-zero (values are
    /// positive: the non-empty buckets).
    fn next_nonempty(&self, from: usize) -> Option<usize> {
        if from >= self.fine.len() {
            return None;
        }
        let fine =
            |lo: usize, hi: usize| (lo..hi.min(self.fine.len())).find(|&i| self.fine[i].sum != 0);
        let within = |v: &[i64], lo: usize, hi: usize| (lo..hi.min(v.len())).find(|&i| v[i] != 0);
        if let Some(b) = fine(from, (from / FAN + 1) * FAN) {
            return Some(b);
        }
        let g = from / FAN + 1;
        let group = within(&self.mid, g, (g / FAN + 1) * FAN).or_else(|| {
            let t = within(&self.top, g / FAN + 1, usize::MAX)?;
            within(&self.mid, t * FAN, (t + 1) * FAN)
        })?;
        fine(group * FAN, (group + 1) * FAN)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Plain per-slot lines `(threshold, current)`, grown on demand.
    #[derive(Default)]
    struct PlainLines(Vec<(i64, u32)>);

    impl PlainLines {
        /// Writes `slot`'s threshold (the caller's part of a line).
        fn set_threshold(&mut self, slot: u32, t: i64) {
            let s = slot as usize;
            if self.0.len() <= s {
                self.0.resize(s + 1, (0, NIL));
            }
            self.0[s].0 = t;
        }
    }

    impl SlotLines for PlainLines {
        fn slot_count(&self) -> usize {
            self.0.len()
        }
        fn threshold(&self, slot: u32) -> i64 {
            self.0[slot as usize].0
        }
        fn current(&self, slot: u32) -> u32 {
            self.0.get(slot as usize).map_or(NIL, |l| l.1)
        }
        fn set_current(&mut self, slot: u32, node: u32) {
            self.0[slot as usize].1 = node;
        }
    }

    /// The sums with their lines, as a caller keeps them: each key's
    /// threshold written to its line before the key goes in.
    #[derive(Default)]
    struct Sums {
        sums: ThresholdSums,
        lines: PlainLines,
    }

    impl Sums {
        fn build(&mut self, entries: &[(ThresholdKey, i64)], cut: i64) {
            self.lines.0.clear();
            for &((t, s), _) in entries {
                self.lines.set_threshold(s, t);
            }
            self.sums.build(entries, cut, &mut self.lines);
        }
        fn insert(&mut self, key: ThresholdKey, value: i64) {
            self.lines.set_threshold(key.1, key.0);
            self.sums.insert(key, value, &mut self.lines);
        }
        fn remove(&mut self, key: ThresholdKey, value: i64) {
            self.sums.remove(key, value, &mut self.lines);
        }
        fn replace(&mut self, old: ThresholdKey, ov: i64, new: ThresholdKey, nv: i64) {
            self.lines.set_threshold(new.1, new.0);
            self.sums.replace(old, ov, new, nv, &mut self.lines);
        }
        fn sum_above(&self, x: i64, value: impl Fn(u32) -> i64) -> i64 {
            self.sums.sum_above(x, &self.lines, value)
        }
        fn up_to(&self, x: i64) -> impl Iterator<Item = ThresholdKey> + '_ {
            self.sums.up_to(x, &self.lines)
        }
        fn total(&self) -> i64 {
            self.sums.total()
        }
        fn covers(&self, x: i64) -> bool {
            self.sums.covers(x)
        }
    }

    #[test]
    fn sums_match_a_plain_scan_through_inserts_and_removes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..300 {
            // Narrow ranges (one tick per bucket, many entries a tick) and
            // wide ones (many ticks per bucket).
            let spread = if case % 2 == 0 { 5 } else { 1_000_000_000 };
            let mut by_slot: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
            for slot in 0..rng.random_range(0..60u32) {
                let t = rng.random_range(-spread..spread);
                by_slot.insert(slot, (t, rng.random_range(1..100)));
            }
            let mut sums = Sums::default();
            let entries: Vec<(ThresholdKey, i64)> =
                by_slot.iter().map(|(&s, &(t, v))| ((t, s), v)).collect();
            // Cuts below, inside and above the thresholds: queries on both
            // sides of it, and moves into and out of bucket 0.
            let cut = cut_below(rng.random_range(-2 * spread..2 * spread));
            sums.build(&entries, cut);
            for _ in 0..80 {
                let slot = rng.random_range(0..80u32);
                if let Some((t, v)) = by_slot.remove(&slot) {
                    if rng.random_range(0..2) == 0 {
                        sums.remove((t, slot), v);
                    } else {
                        // Same key (new value), a new key next to it
                        // (across the cut at times), or one deeper (a
                        // filled winner: within bucket 0 when at or below
                        // the cut).
                        let nt = match rng.random_range(0..3) {
                            0 => t,
                            1 => t + 1,
                            _ => t - rng.random_range(1..spread),
                        };
                        let nv = rng.random_range(1..100);
                        sums.replace((t, slot), v, (nt, slot), nv);
                        by_slot.insert(slot, (nt, nv));
                    }
                } else {
                    // Thresholds outside the built range too.
                    let t = rng.random_range(-3 * spread..3 * spread);
                    let v = rng.random_range(1..100);
                    by_slot.insert(slot, (t, v));
                    sums.insert((t, slot), v);
                }
                let x = rng.random_range(-4 * spread..4 * spread);
                let want: i64 = by_slot.values().filter(|e| e.0 > x).map(|e| e.1).sum();
                let got = sums.sum_above(x, |slot| by_slot[&slot].1);
                assert_eq!(got, want, "case {case}");
                assert_eq!(sums.total(), by_slot.values().map(|e| e.1).sum::<i64>());
                let mut want_up: Vec<ThresholdKey> = by_slot
                    .iter()
                    .filter(|(_, e)| e.0 <= x)
                    .map(|(&s, e)| (e.0, s))
                    .collect();
                want_up.sort_unstable();
                let mut got_up: Vec<ThresholdKey> = sums.up_to(x).collect();
                got_up.sort_unstable();
                assert_eq!(got_up, want_up, "case {case}");
            }
        }
    }

    /// The cut is below the query it is made for, by 1/64 of it and one
    /// tick, extremes included; the sums built with it cover that query.
    #[test]
    fn cut_is_below_its_query() {
        for x in [
            i64::MIN,
            i64::MIN + 1,
            -1_210_000,
            -1,
            0,
            1,
            64,
            1_210_000,
            i64::MAX,
        ] {
            let cut = cut_below(x);
            assert!(cut < x || x == i64::MIN, "{x}");
            assert!(
                i128::from(x) - i128::from(cut) <= i128::from(x).abs() / 64 + 1,
                "{x}"
            );
            let mut sums = Sums::default();
            sums.build(&[((x, 0), 1)], cut);
            assert!(sums.covers(x));
            assert!(cut == i64::MIN || !sums.covers(cut - 1));
            if cut < x {
                assert_eq!(sums.sum_above(cut, |_| 1), 1);
            }
            assert_eq!(sums.sum_above(x, |_| 1), 0);
        }
    }

    /// The three levels' prefix sums and next non-empty bucket are a plain
    /// scan's, over sizes that leave partial groups at each level.
    #[test]
    fn level_sums_match_a_plain_scan() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for case in 0..60 {
            let n = rng.random_range(1..20_000usize);
            let mut sums = LevelSums::default();
            sums.reset(n);
            let mut plain = vec![0i64; n];
            for _ in 0..rng.random_range(0..200) {
                let b = rng.random_range(0..n);
                let v = rng.random_range(1..50);
                sums.add(b, v);
                plain[b] += v;
                if rng.random_bool(0.3) {
                    sums.add(b, -v);
                    plain[b] -= v;
                }
            }
            for _ in 0..200 {
                let b = rng.random_range(0..n);
                assert_eq!(
                    sums.prefix(b),
                    plain[..=b].iter().sum::<i64>(),
                    "case {case}"
                );
                let from = rng.random_range(0..n + 2);
                let want = (from..n).find(|&i| plain[i] != 0);
                assert_eq!(sums.next_nonempty(from), want, "case {case} from {from}");
            }
        }
    }

    /// Many moves on few slots: the stale nodes are compacted away (several
    /// times) and the sums and listings stay exact.
    #[test]
    fn compaction_keeps_sums_and_listings() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut held: Vec<(i64, i64)> = (0..40).map(|_| (rng.random_range(-500..500), 1)).collect();
        let mut sums = Sums::default();
        let entries: Vec<(ThresholdKey, i64)> = held
            .iter()
            .enumerate()
            .map(|(s, &(t, v))| ((t, s as u32), v))
            .collect();
        sums.build(&entries, cut_below(0));
        for round in 0..20_000 {
            let s = rng.random_range(0..40usize);
            let (t, v) = held[s];
            let nt = t + rng.random_range(-300..300);
            let nv = rng.random_range(1..9);
            sums.replace((t, s as u32), v, (nt, s as u32), nv);
            held[s] = (nt, nv);
            if round % 97 == 0 {
                let x = rng.random_range(-3000..3000);
                let want: i64 = held.iter().filter(|e| e.0 > x).map(|e| e.1).sum();
                assert_eq!(sums.sum_above(x, |slot| held[slot as usize].1), want);
                let mut got: Vec<ThresholdKey> = sums.up_to(x).collect();
                got.sort_unstable();
                let want_up: Vec<ThresholdKey> = (0..40u32)
                    .filter(|&s| held[s as usize].0 <= x)
                    .map(|s| (held[s as usize].0, s))
                    .collect();
                let mut want_up = want_up;
                want_up.sort_unstable();
                assert_eq!(got, want_up, "round {round}");
            }
        }
        assert!(sums.sums.nodes.len() < 2 * 40 + 1024 + 1);
    }

    /// One step of [`raised_cut_is_a_fresh_build_s`].
    #[derive(Clone, Debug)]
    enum RaiseOp {
        /// Slot, threshold offset, value: inserted, or (held) replaced.
        Put(u32, i64, i64),
        /// Slot: replaced one tick deeper (a filled winner's move).
        Deeper(u32, i64),
        /// Slot: removed if held.
        Drop(u32),
        /// The step's first query rises by this much: the cut raised when
        /// stale (as a kept side does), else built again.
        Rise(i64),
    }

    /// [`RaiseOp`]s: puts across the range, deeper moves, drops, rises.
    fn raise_op(spread: i64) -> impl Strategy<Value = RaiseOp> {
        prop_oneof![
            4 => (0u32..40, -spread..spread, 1i64..100).prop_map(|(s, t, v)| RaiseOp::Put(s, t, v)),
            3 => (0u32..40, 1i64..3_000).prop_map(|(s, d)| RaiseOp::Deeper(s, d)),
            1 => (0u32..40).prop_map(RaiseOp::Drop),
            3 => (0i64..60_000).prop_map(RaiseOp::Rise),
        ]
    }

    /// `sums` against a plain model `slot → (threshold, value)` and a fresh
    /// build at `sums`' cut: totals, sums above and keys up to several
    /// prices (the cut, next to it, random), and each bucket's listed live
    /// slots and sum exactly the held slots its bucket takes.
    fn check_raised(
        sums: &Sums,
        held: &BTreeMap<u32, (i64, i64)>,
        xs: &[i64],
    ) -> Result<(), TestCaseError> {
        let entries: Vec<(ThresholdKey, i64)> =
            held.iter().map(|(&s, &(t, v))| ((t, s), v)).collect();
        let mut fresh = Sums::default();
        fresh.build(&entries, sums.sums.cut);
        prop_assert_eq!(sums.total(), fresh.total());
        let cut = sums.sums.cut;
        for &x in xs
            .iter()
            .chain(&[cut.saturating_sub(1), cut, cut.saturating_add(1)])
        {
            let value = |slot: u32| held[&slot].1;
            let plain: i64 = held.values().filter(|e| e.0 > x).map(|e| e.1).sum();
            prop_assert_eq!(sums.sum_above(x, value), plain);
            prop_assert_eq!(fresh.sum_above(x, value), plain);
            let mut got: Vec<ThresholdKey> = sums.up_to(x).collect();
            let mut want: Vec<ThresholdKey> = fresh.up_to(x).collect();
            got.sort_unstable();
            want.sort_unstable();
            prop_assert_eq!(got, want);
        }
        let t = &sums.sums;
        for b in 0..t.sums.len() {
            let mut listed: Vec<u32> = t.bucket_slots(b, &sums.lines).collect();
            listed.sort_unstable();
            let want: Vec<u32> = held
                .iter()
                .filter(|(_, e)| t.bucket(e.0) == b)
                .map(|(&s, _)| s)
                .collect();
            prop_assert_eq!(&listed, &want, "bucket {}", b);
            let sum: i64 = want.iter().map(|s| held[s].1).sum();
            prop_assert_eq!(t.sums.fine[b].sum, sum, "bucket {}", b);
            prop_assert_eq!(t.sums.prefix(b), fresh_prefix(t, b));
        }
        Ok(())
    }

    /// Σ of buckets `..=b`'s sums, plainly.
    fn fresh_prefix(t: &ThresholdSums, b: usize) -> i64 {
        t.sums.fine[..=b].iter().map(|f| f.sum).sum()
    }

    proptest! {
        /// A side whose cut was raised by whole buckets (again and again,
        /// between puts, re-keys deeper and drops) answers every query as
        /// a fresh build at its cut does, and as a plain model: totals,
        /// sums above and keys up to prices at and about the cut, each
        /// bucket's live slots and sum; a raise leaves the cut covering the
        /// query and no longer stale for it, at most `cut_below`'s.
        #[test]
        fn raised_cut_is_a_fresh_build_s(
            (spread, ops) in prop_oneof![Just(60i64), Just(5_000), Just(200_000)]
                .prop_flat_map(|sp| (Just(sp), proptest::collection::vec(raise_op(sp), 1..40))),
            base in prop_oneof![Just(-1_200_000i64), Just(900_000), -2_000_000i64..2_000_000],
            start in proptest::collection::vec((0u32..40, 1i64..100), 0..40),
            xs in proptest::collection::vec(-300_000i64..300_000, 2),
        ) {
            let mut held: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
            for (i, &(s, v)) in start.iter().enumerate() {
                held.insert(s, (base + (i as i64 * 7919) % (2 * spread) - spread, v));
            }
            let entries: Vec<(ThresholdKey, i64)> =
                held.iter().map(|(&s, &(t, v))| ((t, s), v)).collect();
            let mut x = base - spread - 20_000;
            let mut sums = Sums::default();
            sums.build(&entries, cut_below(x));
            for op in ops {
                match op {
                    RaiseOp::Put(s, t, v) => {
                        if let Some(&(ot, ov)) = held.get(&s) {
                            sums.replace((ot, s), ov, (base + t, s), v);
                        } else {
                            sums.insert((base + t, s), v);
                        }
                        held.insert(s, (base + t, v));
                    }
                    RaiseOp::Deeper(s, d) => {
                        if let Some(&(t, v)) = held.get(&s) {
                            sums.replace((t, s), v, (t - d, s), v + 1);
                            held.insert(s, (t - d, v + 1));
                        }
                    }
                    RaiseOp::Drop(s) => {
                        if let Some((t, v)) = held.remove(&s) {
                            sums.remove((t, s), v);
                        }
                    }
                    RaiseOp::Rise(d) => {
                        x += d;
                        if sums.sums.stale_for(x) {
                            if sums.sums.raise_cut(x) {
                                prop_assert!(sums.covers(x) && !sums.sums.stale_for(x));
                                prop_assert!(sums.sums.cut <= cut_below(x));
                            } else {
                                let entries: Vec<(ThresholdKey, i64)> =
                                    held.iter().map(|(&s, &(t, v))| ((t, s), v)).collect();
                                sums.build(&entries, cut_below(x));
                            }
                        }
                    }
                }
                let queries: Vec<i64> = xs.iter().map(|q| x + q).chain([x]).collect();
                check_raised(&sums, &held, &queries)?;
            }
        }
    }
}
