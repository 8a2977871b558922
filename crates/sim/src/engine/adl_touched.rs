//! The accounts the ledger logged as touched since an ADL index last caught
//! up, each once: the one "touched since" loop of the ADL indexes (the ranked
//! queue `adl_walk.rs`, the dYdX walk's open positions `adl_dydx.rs`, the
//! `pro_rata` index `adl_pro_rata.rs`, the `min_max_leverage` order
//! `adl_min_max.rs`).
//!
//! An index is built at its first ADL of a step ([`TouchedSince::start`]);
//! before each later ADL of the step it re-reads the accounts logged since
//! ([`TouchedSince::take_pending`]): a fill logs both sides and a recheck may
//! log again, so a per-account marker of the last sync keeps each account once.

/// Where an index stands in the ledger's log of touched accounts.
#[derive(Default, Clone)]
pub(super) struct TouchedSince {
    /// The step the index was built in (`None`: never built).
    built_step: Option<u32>,
    /// How much of the log the index has applied.
    cursor: usize,
    /// Per account: the sync that last visited it.
    seen: Vec<u32>,
    /// Syncs so far (0: none; markers are compared against it).
    syncs: u32,
    /// The buffer [`TouchedSince::take_pending`] hands out, kept between syncs.
    pending: Vec<u32>,
}

impl TouchedSince {
    /// Whether the index was built in `step` (else it must be rebuilt).
    pub(super) fn built_in(&self, step: u32) -> bool {
        self.built_step == Some(step)
    }

    /// Marks the index built in `step`, the log applied up to `cursor`, for
    /// `accounts` accounts.
    pub(super) fn start(&mut self, step: u32, accounts: usize, cursor: usize) {
        self.built_step = Some(step);
        self.cursor = cursor;
        if self.seen.len() != accounts {
            self.seen = vec![0; accounts];
            self.syncs = 0;
        }
    }

    /// Account `a`'s marker (a read only: the ADL fills' pass over their
    /// winners loads it with their other lines, before the re-index reads
    /// it).
    pub(super) fn marker(&self, a: u32) -> u32 {
        self.seen.get(a as usize).copied().unwrap_or(0)
    }

    /// Whether this sync meets account `a` for the first time (and marks it met).
    fn first_visit(&mut self, a: u32) -> bool {
        let mark = &mut self.seen[a as usize];
        if *mark == self.syncs {
            return false;
        }
        *mark = self.syncs;
        true
    }

    /// Starts a sync: a new marker, all markers cleared when the count wraps.
    fn next_sync(&mut self) {
        self.syncs = self.syncs.wrapping_add(1);
        if self.syncs == 0 {
            self.seen.fill(0);
            self.syncs = 1;
        }
    }

    /// The accounts of `log` (the ledger's touched log) since the last call,
    /// each once, in order of first appearance; the log is then applied up to
    /// its end. Hand the buffer back with [`TouchedSince::recycle`].
    pub(super) fn take_pending(&mut self, log: &[u32]) -> Vec<u32> {
        self.next_sync();
        let mut out = std::mem::take(&mut self.pending);
        out.clear();
        for &a in &log[self.cursor..] {
            if self.first_visit(a) {
                out.push(a);
            }
        }
        self.cursor = log.len();
        out
    }

    /// Gives back the buffer of [`TouchedSince::take_pending`] for the next sync.
    pub(super) fn recycle(&mut self, pending: Vec<u32>) {
        self.pending = pending;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_once_per_sync_in_order_of_first_appearance() {
        let mut t = TouchedSince::default();
        assert!(!t.built_in(3));
        t.start(3, 6, 1);
        assert!(t.built_in(3) && !t.built_in(4));
        let log = vec![9, 4, 2, 4, 0, 2];
        let p = t.take_pending(&log);
        assert_eq!(p, vec![4, 2, 0]);
        t.recycle(p);
        assert_eq!(t.take_pending(&log), Vec::<u32>::new());
        let log = [log, vec![2, 5, 2]].concat();
        assert_eq!(t.take_pending(&log), vec![2, 5]);
    }

    #[test]
    fn markers_are_cleared_when_the_sync_count_wraps() {
        let mut t = TouchedSince::default();
        t.start(0, 2, 0);
        t.syncs = u32::MAX - 1;
        assert_eq!(t.take_pending(&[1]), vec![1]);
        assert_eq!(t.syncs, u32::MAX);
        assert_eq!(t.take_pending(&[1, 1]), vec![1]);
        assert_eq!(t.syncs, 1);
    }
}
