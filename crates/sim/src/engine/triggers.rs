//! The data of the liquidation index: per market, a max-heap of the longs'
//! triggers and a min-heap of the shorts', and the queue of liquidations due.
//! How triggers are computed and breaches detected is [`super::index`].
//!
//! Each heap stores its triggers relative to an offset (`long_offset`,
//! `short_offset`): moving every trigger of a market and side by the same number
//! of ticks (a funding settlement, [`LiquidationIndex::shift_longs`]) is O(1) and
//! keeps the heap's order.
//!
//! Each heap is a [`TriggerHeap`]: the opening book's triggers frozen into one
//! run sorted in pop order (shared by every engine restarted from the same
//! template, read by a cursor), and a binary heap of the triggers pushed since.
//! What the index answers depends only on the multiset of entries it holds
//! (the entries a mark has crossed, the nearest trigger, the count), never on
//! the order in which entries of equal rank leave, so the split changes no
//! result (docs/performance.md, "Monte Carlo per core, round 8").

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Heap entry: `(trigger ticks, account, version)`.
pub(super) type LongEntry = (i64, Reverse<u32>, u32);
pub(super) type ShortEntry = (Reverse<i64>, Reverse<u32>, u32);

/// A max-heap in two parts: a frozen run of entries sorted largest first,
/// consumed from the front by a cursor, and a binary heap of the entries
/// pushed since it was frozen. The largest entry is the larger of the two
/// fronts.
///
/// The frozen run is shared (`Arc`): restarting an engine from a template
/// copies a pointer and a cursor, not the opening book's triggers, and a pop
/// from it reads the next entry in memory instead of sifting down a heap of
/// O(accounts) entries.
#[derive(Debug)]
pub(super) struct TriggerHeap<E> {
    /// Entries frozen by [`TriggerHeap::freeze`], largest first.
    frozen: Arc<[E]>,
    /// Entries of `frozen` already popped (or cleared).
    next: usize,
    /// Entries pushed since the last freeze.
    heap: BinaryHeap<E>,
}

impl<E: Ord + Copy> TriggerHeap<E> {
    /// An empty heap with room for `capacity` pushed entries.
    fn with_capacity(capacity: usize) -> TriggerHeap<E> {
        TriggerHeap {
            frozen: Arc::from(Vec::new()),
            next: 0,
            heap: BinaryHeap::with_capacity(capacity),
        }
    }

    /// Entries held, stale ones included.
    pub(super) fn len(&self) -> usize {
        self.frozen.len() - self.next + self.heap.len()
    }

    /// The largest entry.
    #[inline]
    pub(super) fn peek(&self) -> Option<&E> {
        match (self.frozen.get(self.next), self.heap.peek()) {
            (Some(f), Some(h)) => Some(f.max(h)),
            (f, h) => f.or(h),
        }
    }

    /// Removes the largest entry.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<E> {
        match (self.frozen.get(self.next), self.heap.peek()) {
            (Some(&f), Some(h)) if f >= *h => {
                self.next += 1;
                Some(f)
            }
            (Some(&f), None) => {
                self.next += 1;
                Some(f)
            }
            _ => self.heap.pop(),
        }
    }

    /// Adds an entry.
    #[inline]
    pub(super) fn push(&mut self, entry: E) {
        self.heap.push(entry);
    }

    /// Removes every entry (the frozen run's memory is kept until the next
    /// freeze or copy).
    fn clear(&mut self) {
        self.next = self.frozen.len();
        self.heap.clear();
    }

    /// Moves every entry into the frozen run (sorted, largest first): the
    /// same entries, popped in an order that differs only among equal ones.
    /// Allocates; for an engine's opening, not for a step.
    fn freeze(&mut self) {
        let mut all: Vec<E> = Vec::with_capacity(self.len());
        all.extend_from_slice(&self.frozen[self.next..]);
        all.extend(self.heap.drain());
        all.sort_unstable_by(|a, b| b.cmp(a));
        self.frozen = Arc::from(all);
        self.next = 0;
    }

    /// Makes this heap a copy of `src`: the frozen run shared, the pushed
    /// entries copied into this heap's buffer.
    fn clone_from_heap(&mut self, src: &TriggerHeap<E>) {
        self.frozen = Arc::clone(&src.frozen);
        self.next = src.next;
        self.heap.clone_from(&src.heap);
    }
}

/// The triggers of every market and the liquidations scheduled.
pub(super) struct LiquidationIndex {
    pub(super) longs: Vec<TriggerHeap<LongEntry>>,
    pub(super) shorts: Vec<TriggerHeap<ShortEntry>>,
    /// `(due step, account)` of every scheduled liquidation, earliest first.
    pub(super) due: BinaryHeap<Reverse<(u32, u32)>>,
    /// Per market: ticks added to every stored long trigger.
    long_offset: Vec<i64>,
    /// Per market: ticks added to every stored short trigger.
    short_offset: Vec<i64>,
}

impl LiquidationIndex {
    /// An empty index for `markets` markets sized for `accounts` accounts.
    pub(super) fn new(markets: usize, accounts: usize) -> LiquidationIndex {
        LiquidationIndex {
            longs: (0..markets)
                .map(|_| TriggerHeap::with_capacity(2 * accounts + 16))
                .collect(),
            shorts: (0..markets)
                .map(|_| TriggerHeap::with_capacity(2 * accounts + 16))
                .collect(),
            due: BinaryHeap::with_capacity(accounts + 16),
            long_offset: vec![0; markets],
            short_offset: vec![0; markets],
        }
    }

    /// Makes this index a copy of `src`, reusing its heaps' buffers (a
    /// prepared engine's restart, `engine/restart.rs`): the frozen runs are
    /// shared, not copied.
    pub(super) fn reset_from(&mut self, src: &LiquidationIndex) {
        let LiquidationIndex {
            longs,
            shorts,
            due,
            long_offset,
            short_offset,
        } = src;
        reset_heaps(&mut self.longs, longs);
        reset_heaps(&mut self.shorts, shorts);
        self.due.clone_from(due);
        self.long_offset.clone_from(long_offset);
        self.short_offset.clone_from(short_offset);
    }

    /// Freezes every heap's entries into its sorted run
    /// ([`TriggerHeap::freeze`]): after the opening book is indexed, so that
    /// the engines restarted from it share the run.
    pub(super) fn freeze(&mut self) {
        self.longs.iter_mut().for_each(TriggerHeap::freeze);
        self.shorts.iter_mut().for_each(TriggerHeap::freeze);
    }

    /// Adds the trigger of a long of `account` in `market`: safe while the mark
    /// stays above `trigger` ticks.
    /// Returns the trigger as stored (before the market's long offset;
    /// [`LiquidationIndex::long_trigger`] reads it back as it stands after
    /// later shifts).
    pub(super) fn push_long(
        &mut self,
        market: usize,
        trigger: i64,
        account: u32,
        version: u32,
    ) -> i64 {
        let stored = trigger.saturating_sub(self.long_offset[market]);
        self.longs[market].push((stored, Reverse(account), version));
        stored
    }

    /// The trigger (ticks) of a long entry of `market` stored as `stored`,
    /// the market's offset applied as [`LiquidationIndex::pop_crossed`]
    /// applies it: the entry stays while the mark is above it.
    #[inline]
    pub(super) fn long_trigger(&self, market: usize, stored: i64) -> i64 {
        stored.saturating_add(self.long_offset[market])
    }

    /// Adds the trigger of a short of `account` in `market`: safe while the mark
    /// stays below `trigger` ticks. Returns the trigger as stored (before the
    /// market's short offset; [`LiquidationIndex::short_trigger`] reads it
    /// back as it stands after later shifts).
    pub(super) fn push_short(
        &mut self,
        market: usize,
        trigger: i64,
        account: u32,
        version: u32,
    ) -> i64 {
        let stored = trigger.saturating_sub(self.short_offset[market]);
        self.shorts[market].push((Reverse(stored), Reverse(account), version));
        stored
    }

    /// The trigger (ticks) of a short entry of `market` stored as `stored`,
    /// the market's offset applied as [`LiquidationIndex::pop_crossed`]
    /// applies it: the entry stays while the mark is below it.
    #[inline]
    pub(super) fn short_trigger(&self, market: usize, stored: i64) -> i64 {
        stored.saturating_add(self.short_offset[market])
    }

    /// Moves every long trigger of `market` up by `ticks` (towards the mark).
    pub(super) fn shift_longs(&mut self, market: usize, ticks: i64) {
        self.long_offset[market] = self.long_offset[market].saturating_add(ticks);
    }

    /// Moves every short trigger of `market` down by `ticks` (towards the mark).
    pub(super) fn shift_shorts(&mut self, market: usize, ticks: i64) {
        self.short_offset[market] = self.short_offset[market].saturating_sub(ticks);
    }

    /// Whether stale entries have piled up beyond twice the accounts.
    pub(super) fn needs_compaction(&self, accounts: usize) -> bool {
        let n = accounts + 16;
        self.longs.iter().any(|h| h.len() > 2 * n) || self.shorts.iter().any(|h| h.len() > 2 * n)
    }

    pub(super) fn clear_triggers(&mut self) {
        for h in &mut self.longs {
            h.clear();
        }
        for h in &mut self.shorts {
            h.clear();
        }
        self.long_offset.fill(0);
        self.short_offset.fill(0);
    }

    /// The nearest triggers of `market` (stale entries included): the
    /// highest long trigger and the lowest short one, offsets applied as
    /// [`LiquidationIndex::pop_crossed`] applies them (a mark strictly
    /// between the two pops nothing). Read-only; for the quiet step
    /// (`engine/quiet.rs`).
    pub(super) fn nearest_triggers(&self, market: usize) -> (Option<i64>, Option<i64>) {
        let long = self.longs[market]
            .peek()
            .map(|&(stored, _, _)| stored.saturating_add(self.long_offset[market]));
        let short = self.shorts[market]
            .peek()
            .map(|&(Reverse(stored), _, _)| stored.saturating_add(self.short_offset[market]));
        (long, short)
    }

    /// Pops every entry of `market` the mark has crossed, calling `take` with
    /// `(account, version)` (stale entries included: the caller checks). The
    /// entries come in no particular order among equal triggers.
    pub(super) fn pop_crossed(&mut self, market: usize, mark: i64, mut take: impl FnMut(u32, u32)) {
        let (long_offset, short_offset) = (self.long_offset[market], self.short_offset[market]);
        while let Some(&(stored, Reverse(a), v)) = self.longs[market].peek() {
            if stored.saturating_add(long_offset) < mark {
                break;
            }
            self.longs[market].pop();
            take(a, v);
        }
        while let Some(&(Reverse(stored), Reverse(a), v)) = self.shorts[market].peek() {
            if stored.saturating_add(short_offset) > mark {
                break;
            }
            self.shorts[market].pop();
            take(a, v);
        }
    }
}

/// Makes `dst` a copy of `src` heap by heap, reusing `dst`'s buffers.
fn reset_heaps<E: Ord + Copy>(dst: &mut Vec<TriggerHeap<E>>, src: &[TriggerHeap<E>]) {
    dst.truncate(src.len());
    for (d, s) in dst.iter_mut().zip(src) {
        d.clone_from_heap(s);
    }
    for s in &src[dst.len()..] {
        let mut d = TriggerHeap::with_capacity(s.heap.capacity());
        d.clone_from_heap(s);
        dst.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One operation on a heap: push an entry, pop, freeze, or clear.
    #[derive(Clone, Debug)]
    enum Op {
        Push(i64, u32),
        Pop,
        Freeze,
        Clear,
        /// Pops every entry at or above the key (as `pop_crossed` does).
        PopFrom(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (-20i64..20, 0u32..8).prop_map(|(k, a)| Op::Push(k, a)),
            3 => Just(Op::Pop),
            1 => Just(Op::Freeze),
            1 => Just(Op::Clear),
            2 => (-20i64..20).prop_map(Op::PopFrom),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(8),
            ..ProptestConfig::default()
        })]

        /// The same entries pushed in two orders (as drawn, and shuffled)
        /// are popped in the same order, entry for entry (account and
        /// version too), through a frozen run or not: the deferred
        /// winners' re-index may push them in account order
        /// (`Engine::index_deferred_winners`). Entries of equal trigger
        /// and account differ by version; equal entries are identical.
        #[test]
        fn pops_do_not_depend_on_the_push_order(
            entries in prop::collection::vec((-6i64..6, 0u32..6, 0u32..3), 0..120),
            frozen in prop::collection::vec((-6i64..6, 0u32..6, 0u32..3), 0..40),
            seed in any::<u64>(),
            mark in -7i64..7,
        ) {
            use rand::{SeedableRng, seq::SliceRandom};
            let mut shuffled = entries.clone();
            shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let fill = |order: &[(i64, u32, u32)]| {
                let mut heap: TriggerHeap<LongEntry> = TriggerHeap::with_capacity(4);
                for &(k, a, v) in &frozen {
                    heap.push((k, Reverse(a), v));
                }
                heap.freeze();
                for &(k, a, v) in order {
                    heap.push((k, Reverse(a), v));
                }
                heap
            };
            let (mut one, mut two) = (fill(&entries), fill(&shuffled));
            // A sweep as `pop_crossed` makes, then the rest one by one.
            let sweep = |heap: &mut TriggerHeap<LongEntry>| {
                let mut popped = Vec::new();
                while heap.peek().is_some_and(|e| e.0 >= mark) {
                    popped.extend(heap.pop());
                }
                popped.extend(std::iter::from_fn(|| heap.pop()));
                popped
            };
            let (a, b) = (sweep(&mut one), sweep(&mut two));
            prop_assert_eq!(a.len(), entries.len() + frozen.len());
            prop_assert_eq!(a, b);
        }

        /// Against a plain `BinaryHeap` of the same entries: the same
        /// length, the same top after every operation, the same key popped
        /// (entries of equal key may leave in another order), the same
        /// multiset popped by a `pop_crossed`-style sweep; a copy made at
        /// any point runs on the same.
        #[test]
        fn a_trigger_heap_holds_what_a_binary_heap_holds(ops in prop::collection::vec(op(), 0..200)) {
            let mut heap: TriggerHeap<LongEntry> = TriggerHeap::with_capacity(4);
            let mut copy: TriggerHeap<LongEntry> = TriggerHeap::with_capacity(0);
            let mut plain: BinaryHeap<LongEntry> = BinaryHeap::new();
            let mut version = 0u32;
            for (i, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Push(k, a) => {
                        version += 1;
                        heap.push((k, Reverse(a), version));
                        plain.push((k, Reverse(a), version));
                    }
                    Op::Pop => {
                        let (got, want) = (heap.pop(), plain.pop());
                        prop_assert_eq!(got.map(|e| e.0), want.map(|e| e.0));
                        // Equal keys may leave in another order: put the
                        // one popped back into the reference's place.
                        if let (Some(g), Some(w)) = (got, want) && g != w {
                            let mut rest: Vec<_> = plain.drain().collect();
                            let at = rest.iter().position(|e| *e == g);
                            prop_assert!(at.is_some(), "popped {:?}, not in the heap", g);
                            rest[at.unwrap_or(0)] = w;
                            plain.extend(rest);
                        }
                    }
                    Op::Freeze => heap.freeze(),
                    Op::Clear => {
                        heap.clear();
                        plain.clear();
                    }
                    Op::PopFrom(k) => {
                        let mut got = Vec::new();
                        while let Some(&e) = heap.peek() {
                            if e.0 < k {
                                break;
                            }
                            prop_assert_eq!(heap.pop(), Some(e));
                            got.push(e);
                        }
                        let mut want = Vec::new();
                        while plain.peek().is_some_and(|e| e.0 >= k) {
                            want.extend(plain.pop());
                        }
                        got.sort_unstable();
                        want.sort_unstable();
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(heap.len(), plain.len());
                prop_assert_eq!(heap.peek().map(|e| e.0), plain.peek().map(|e| e.0));
                let mut held: Vec<_> = heap.frozen[heap.next..].to_vec();
                held.extend(heap.heap.iter().copied());
                held.sort_unstable();
                let mut want: Vec<_> = plain.iter().copied().collect();
                want.sort_unstable();
                prop_assert_eq!(&held, &want, "the same multiset of entries");
                if i % 7 == 0 {
                    copy.clone_from_heap(&heap);
                    let mut a: Vec<_> = std::iter::from_fn(|| copy.pop()).collect();
                    let mut b = held.clone();
                    b.sort_unstable_by(|x, y| y.cmp(x));
                    prop_assert_eq!(a.iter().map(|e| e.0).collect::<Vec<_>>(), b.iter().map(|e| e.0).collect::<Vec<_>>());
                    a.sort_unstable_by(|x, y| y.cmp(x));
                    prop_assert_eq!(a, b, "a copy pops the same entries");
                }
            }
        }
    }
}
