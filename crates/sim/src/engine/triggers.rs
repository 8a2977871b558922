//! The data of the liquidation index: per market, a max-heap of the longs'
//! triggers and a min-heap of the shorts', and the queue of liquidations due.
//! How triggers are computed and breaches detected is [`super::index`].

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
        }
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
    }

    /// Pops every entry of `market` the mark has crossed, calling `take` with
    /// `(account, version)` (stale entries included: the caller checks).
    pub(super) fn pop_crossed(&mut self, market: usize, mark: i64, mut take: impl FnMut(u32, u32)) {
        while let Some(&(trigger, Reverse(a), v)) = self.longs[market].peek() {
            if trigger < mark {
                break;
            }
            self.longs[market].pop();
            take(a, v);
        }
        while let Some(&(Reverse(trigger), Reverse(a), v)) = self.shorts[market].peek() {
            if trigger > mark {
                break;
            }
            self.shorts[market].pop();
            take(a, v);
        }
    }
}
