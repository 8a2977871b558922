//! The data of the liquidation index: per market, a max-heap of the longs'
//! triggers and a min-heap of the shorts', and the queue of liquidations due.
//! How triggers are computed and breaches detected is [`super::index`].
//!
//! Each heap stores its triggers relative to an offset (`long_offset`,
//! `short_offset`): moving every trigger of a market and side by the same number
//! of ticks (a funding settlement, [`LiquidationIndex::shift_longs`]) is O(1) and
//! keeps the heap's order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Heap entry: `(trigger ticks, account, version)`.
pub(super) type LongEntry = (i64, Reverse<u32>, u32);
pub(super) type ShortEntry = (Reverse<i64>, Reverse<u32>, u32);

/// The triggers of every market and the liquidations scheduled.
pub(super) struct LiquidationIndex {
    pub(super) longs: Vec<BinaryHeap<LongEntry>>,
    pub(super) shorts: Vec<BinaryHeap<ShortEntry>>,
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
                .map(|_| BinaryHeap::with_capacity(2 * accounts + 16))
                .collect(),
            shorts: (0..markets)
                .map(|_| BinaryHeap::with_capacity(2 * accounts + 16))
                .collect(),
            due: BinaryHeap::with_capacity(accounts + 16),
            long_offset: vec![0; markets],
            short_offset: vec![0; markets],
        }
    }

    /// Makes this index a copy of `src`, reusing its heaps' buffers (a
    /// prepared engine's restart, `engine/restart.rs`).
    pub(super) fn reset_from(&mut self, src: &LiquidationIndex) {
        let LiquidationIndex {
            longs,
            shorts,
            due,
            long_offset,
            short_offset,
        } = src;
        self.longs.clone_from(longs);
        self.shorts.clone_from(shorts);
        self.due.clone_from(due);
        self.long_offset.clone_from(long_offset);
        self.short_offset.clone_from(short_offset);
    }

    /// Adds the trigger of a long of `account` in `market`: safe while the mark
    /// stays above `trigger` ticks.
    pub(super) fn push_long(&mut self, market: usize, trigger: i64, account: u32, version: u32) {
        let stored = trigger.saturating_sub(self.long_offset[market]);
        self.longs[market].push((stored, Reverse(account), version));
    }

    /// Adds the trigger of a short of `account` in `market`: safe while the mark
    /// stays below `trigger` ticks.
    pub(super) fn push_short(&mut self, market: usize, trigger: i64, account: u32, version: u32) {
        let stored = trigger.saturating_sub(self.short_offset[market]);
        self.shorts[market].push((Reverse(stored), Reverse(account), version));
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
    /// `(account, version)` (stale entries included: the caller checks).
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
