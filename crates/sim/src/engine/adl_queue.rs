//! The data of the ADL candidate queues (how the engine builds and walks them is
//! `adl_walk.rs`): per market and side, the positions that can be
//! deleveraged, in the order the policy visits them, maintained through a step
//! instead of re-collected and re-sorted for every bankrupt position.
//!
//! A queue is built at the first ADL of a step against its (market, side): every
//! open position of that side is scored once (O(c)) and heapified (O(c)). A walk
//! visits entries in rank order, popping them from the heap into `front`, a
//! sorted set of the entries already reached (O(log c) each), so that the next
//! walk starts from the top again without a new sort. Between walks, the accounts
//! whose positions or balances changed (the ledger's log of touched accounts:
//! ADL fills, liquidations, fees, payouts) are re-scored and re-inserted: their
//! old `front` entry is removed, their old heap entry goes stale by version.
//!
//! Scores depend on the marks, the margin multipliers and the collateral prices,
//! which only change at the start of a step, and on the account's own state,
//! which the log covers; so a walk sees every position ranked exactly as a fresh
//! sort would rank it (ties by account, then slot), and a speed-up changes no
//! allocation. The queue's rank key is the score (higher first) for a ranked
//! queue and nothing (account order) for the other policies.
//!
//! Cost of a wave of b bankrupt positions over c candidates: O(c) to build,
//! O(log c) per entry reached, re-scored or filled. The ranked queue stops at
//! the last lot it needs, so the wave costs O((c + b) log c); the other policies
//! see every candidate of each bankrupt position (their allocation depends on
//! all of them) but no longer rebuild or re-sort the set for it.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// Entry key, in visiting order: `(rank, account, slot)`.
pub(super) type QueueKey = (u64, u32, u32);

/// One (market, side) queue and its per-slot bookkeeping.
#[derive(Default, Clone)]
pub(super) struct SideQueue {
    /// The step the queue was built in and the accounts touched since its
    /// last walk.
    pub(super) touched: super::adl_touched::TouchedSince,
    /// Entries not reached yet: `(key, version)`, smallest key first.
    pub(super) heap: BinaryHeap<Reverse<(QueueKey, u32)>>,
    /// Entries reached by a walk, in visiting order; every live entry of `heap`
    /// comes after all of them.
    pub(super) front: BTreeSet<QueueKey>,
    /// Per slot: version of its live heap entry (older entries are stale).
    pub(super) version: Vec<u32>,
    /// Per slot: its rank in `front`, if it is there.
    pub(super) in_front: Vec<Option<u64>>,
    /// The side's open positions, for the dYdX walk (`adl_dydx.rs`), which
    /// uses it instead of the heap.
    pub(super) open: super::adl_open_side::OpenSide,
    /// The side's index for `pro_rata` (`adl_pro_rata.rs`), which uses it
    /// instead of the heap.
    pub(super) pro_rata: super::adl_pro_rata_side::ProRataSide,
    /// The side's open positions in leverage order, for `min_max_leverage`
    /// (`adl_lev_side.rs`, `adl_min_max.rs`), which uses it instead of the heap.
    pub(super) lev: super::adl_lev_side::LevSide,
}

impl SideQueue {
    /// Empties the queue for a new build; sizes the per-slot and per-account
    /// arrays on first use.
    pub(super) fn reset(&mut self, slots: usize, accounts: usize, step: u32, cursor: usize) {
        self.touched.start(step, accounts, cursor);
        self.heap.clear();
        if self.version.len() != slots {
            self.version = vec![0; slots];
            self.in_front = vec![None; slots];
        } else {
            // Only the slots in `front` have a rank there (O(front), not O(slots)).
            for &(_, _, slot) in &self.front {
                self.in_front[slot as usize] = None;
            }
        }
        self.front.clear();
    }

    /// Removes the entry of `slot` (from `front`, or stale in the heap).
    pub(super) fn remove(&mut self, account: u32, slot: u32) {
        let s = slot as usize;
        self.version[s] = self.version[s].wrapping_add(1);
        if let Some(rank) = self.in_front[s].take() {
            self.front.remove(&(rank, account, slot));
        }
    }

    /// Inserts `slot` with `rank`: into `front` if it comes before the last
    /// entry a walk reached (it then also comes before every heap entry), else
    /// into the heap (it comes after all of `front`).
    pub(super) fn insert(&mut self, rank: u64, account: u32, slot: u32) {
        let key = (rank, account, slot);
        if self.front.last().is_some_and(|last| key < *last) {
            self.front.insert(key);
            self.in_front[slot as usize] = Some(rank);
        } else {
            self.heap.push(Reverse((key, self.version[slot as usize])));
        }
    }

    /// Pops stale entries off the heap's top.
    fn drop_stale_top(&mut self) {
        while let Some(Reverse(((_, _, slot), v))) = self.heap.peek() {
            if self.version[*slot as usize] == *v && self.in_front[*slot as usize].is_none() {
                break;
            }
            self.heap.pop();
        }
    }

    /// Moves the heap's first live entry into `front` and returns it.
    pub(super) fn pop_into_front(&mut self) -> Option<QueueKey> {
        self.drop_stale_top();
        let Reverse((key, _)) = self.heap.pop()?;
        self.front.insert(key);
        self.in_front[key.2 as usize] = Some(key.0);
        Some(key)
    }
}

/// The rank of a score in a ranked queue: ascending rank = descending score
/// under `f64::total_cmp`.
pub(super) fn score_rank(score: f64) -> u64 {
    let b = score.to_bits();
    let ordered = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    !ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_rank_orders_by_descending_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -3.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            7.25,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(score_rank(w[0]) > score_rank(w[1]), "{} vs {}", w[0], w[1]);
        }
    }

    #[test]
    fn walks_see_reinserted_entries_in_order() {
        let mut q = SideQueue::default();
        q.reset(10, 10, 0, 0);
        for s in [5u32, 1, 7, 3] {
            q.insert(u64::from(s) * 10, s, s);
        }
        assert_eq!(q.pop_into_front(), Some((10, 1, 1)));
        assert_eq!(q.pop_into_front(), Some((30, 3, 3)));
        assert_eq!(q.pop_into_front(), Some((50, 5, 5)));
        // Re-scored: 1 moves behind 7 (into the heap), 3 moves before 5 (stays in
        // front), 7's old heap entry goes stale and comes back first.
        q.remove(1, 1);
        q.insert(80, 1, 1);
        q.remove(3, 3);
        q.insert(40, 3, 3);
        q.remove(7, 7);
        q.insert(0, 7, 7);
        let front: Vec<_> = q.front.iter().copied().collect();
        assert_eq!(front, vec![(0, 7, 7), (40, 3, 3), (50, 5, 5)]);
        assert_eq!(q.pop_into_front(), Some((80, 1, 1)));
        assert_eq!(q.pop_into_front(), None);
    }
}
