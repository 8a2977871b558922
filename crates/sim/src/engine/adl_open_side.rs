//! The open positions of one (market, side), in account order, as a Fenwick
//! tree (binary indexed tree) over the market's position slots: 1 where the
//! slot's position is open on the side, 0 else. The dYdX walk
//! (`adl_dydx.rs`) reads from it the number of open positions on the side and
//! the k-th of them, each in O(log n) for a market of n slots, instead of
//! collecting the side for every bankrupt position.
//!
//! Kept like the ADL queues of [`super::adl_queue`]: built (O(n)) at the first
//! walk of a step against the (market, side), then brought up to date before
//! each walk from the ledger's log of touched accounts (O(log n) per position
//! that opened or closed on the side). A market's slots are in account order
//! (slots are numbered account by account when the ledger opens), so the
//! tree's order is the account order (then slot order within an account).

/// One (market, side): which of the market's slots are open on the side.
#[derive(Default, Clone)]
pub(super) struct OpenSide {
    /// The step the tree was built in and the accounts touched since its
    /// last walk.
    pub(super) touched: super::adl_touched::TouchedSince,
    /// Per index into the market's slots: whether that position is open on the side.
    open: Vec<bool>,
    /// Fenwick tree over `open`, 1-based: `tree[i]` counts the open entries of
    /// `(i − lowbit(i), i]`.
    tree: Vec<u32>,
    /// Open entries in all.
    count: u32,
}

impl OpenSide {
    /// Rebuilds the tree from `open(i)` for the `n` entries, in O(n).
    pub(super) fn rebuild(&mut self, n: usize, open: impl Fn(usize) -> bool) {
        self.open.clear();
        self.open.extend((0..n).map(open));
        self.tree.clear();
        self.tree.resize(n + 1, 0);
        for (i, &o) in self.open.iter().enumerate() {
            self.tree[i + 1] += u32::from(o);
        }
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                self.tree[parent] += self.tree[i];
            }
        }
        self.count = self.open.iter().map(|&o| u32::from(o)).sum();
    }

    /// Open entries.
    pub(super) fn count(&self) -> usize {
        self.count as usize
    }

    /// Marks entry `i` open or not, O(log n) when it changes.
    pub(super) fn set(&mut self, i: usize, open: bool) {
        if self.open[i] == open {
            return;
        }
        self.open[i] = open;
        let n = self.open.len();
        let mut j = i + 1;
        while j <= n {
            if open {
                self.tree[j] += 1;
            } else {
                self.tree[j] -= 1;
            }
            j += j & j.wrapping_neg();
        }
        if open {
            self.count += 1;
        } else {
            self.count -= 1;
        }
    }

    /// The index of the `k`-th open entry (0-based, `k < count()`), O(log n).
    pub(super) fn kth(&self, k: usize) -> usize {
        debug_assert!(k < self.count(), "Invariant: k-th of the open entries");
        let n = self.open.len();
        let mut pos = 0;
        let mut rest = k as u32 + 1;
        let mut step = if n == 0 { 0 } else { 1 << n.ilog2() };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] < rest {
                pos = next;
                rest -= self.tree[next];
            }
            step >>= 1;
        }
        // `pos` entries hold fewer than k + 1 open ones: entry `pos` is the k-th.
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_indices(o: &OpenSide) -> Vec<usize> {
        (0..o.count()).map(|k| o.kth(k)).collect()
    }

    #[test]
    fn kth_finds_the_open_entries_in_order_through_changes() {
        let mut o = OpenSide::default();
        let pattern = [
            true, false, false, true, true, false, true, false, false, true, true,
        ];
        o.rebuild(pattern.len(), |i| pattern[i]);
        assert_eq!(o.count(), 6);
        assert_eq!(open_indices(&o), vec![0, 3, 4, 6, 9, 10]);
        o.set(0, false);
        o.set(5, true);
        o.set(10, false);
        o.set(3, true); // unchanged
        assert_eq!(open_indices(&o), vec![3, 4, 5, 6, 9]);
        for i in 0..pattern.len() {
            o.set(i, false);
        }
        assert_eq!(o.count(), 0);
        o.set(7, true);
        assert_eq!(open_indices(&o), vec![7]);
    }

    #[test]
    fn matches_a_plain_scan_on_every_size() {
        for n in 0..40usize {
            let mut o = OpenSide::default();
            let f = |i: usize| !(i * 7 + n).is_multiple_of(3);
            o.rebuild(n, f);
            let want: Vec<usize> = (0..n).filter(|&i| f(i)).collect();
            assert_eq!(open_indices(&o), want, "n = {n}");
        }
    }
}
