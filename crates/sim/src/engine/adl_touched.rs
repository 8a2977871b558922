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

    /// Marks the index built in `step` without a rebuild (a kept index that
    /// re-reads the log since its last sync instead), its cursor moved back
    /// by the `dropped` entries the log lost from its front since: if it
    /// was started for `accounts` accounts and its cursor is within the
    /// log left (`log_len` entries), else nothing changes and the index
    /// must rebuild.
    pub(super) fn resume(
        &mut self,
        step: u32,
        accounts: usize,
        dropped: u64,
        log_len: usize,
    ) -> bool {
        let cursor = (self.cursor as u64)
            .checked_sub(dropped)
            .and_then(|c| usize::try_from(c).ok())
            .filter(|&c| c <= log_len);
        let Some(cursor) = cursor else {
            return false;
        };
        if self.built_step.is_none() || self.seen.len() != accounts {
            return false;
        }
        self.built_step = Some(step);
        self.cursor = cursor;
        true
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
        let since = &log[self.cursor..];
        self.sync_through(since.iter().copied(), log.len())
    }

    /// Starts a sync: `accounts`, each once, in order of first appearance
    /// (in the buffer [`TouchedSince::recycle`] gave back); the log is then
    /// applied up to `end`.
    fn sync_through(&mut self, accounts: impl IntoIterator<Item = u32>, end: usize) -> Vec<u32> {
        self.next_sync();
        let mut out = std::mem::take(&mut self.pending);
        out.clear();
        for a in accounts {
            if self.first_visit(a) {
                out.push(a);
            }
        }
        self.cursor = end;
        out
    }

    /// Whether `log` since the last call is what booking fills to `winners`
    /// (different accounts, none of them `bankrupt`) against `bankrupt`
    /// logs: each winner then the bankrupt; if so the cursor is passed over
    /// it (nothing moved otherwise). [`TouchedSince::take_pending`]'s answer
    /// is then known without the per-account markers (a random read and
    /// write per winner) and without a list: the winners in order, the
    /// bankrupt after the first, the order the caller re-indexes them in
    /// from its fills. Exact: the markers serve only to drop repeats within
    /// one sync, and the next sync starts a new marker.
    pub(super) fn pass_known(
        &mut self,
        log: &[u32],
        winners: impl ExactSizeIterator<Item = u32>,
        bankrupt: u32,
    ) -> bool {
        let Some(since) = log.get(self.cursor..) else {
            return false;
        };
        if !is_fills_log(since, winners, bankrupt) {
            return false;
        }
        self.cursor = log.len();
        true
    }

    /// [`TouchedSince::take_pending`] for an index that has already re-keyed
    /// `winners` (different accounts, none of them `bankrupt`) from their
    /// fills against `bankrupt`: when the log since the last call starts
    /// with what booking those fills logs (each winner then the bankrupt),
    /// that part is passed over but for the bankrupt, and the accounts
    /// logged after it are taken as `take_pending` takes them (a winner
    /// among them again included). Returns the accounts and whether the
    /// log started so; if not, the answer is `take_pending`'s.
    pub(super) fn take_pending_after_fills(
        &mut self,
        log: &[u32],
        winners: &[u32],
        bankrupt: u32,
    ) -> (Vec<u32>, bool) {
        let booked = 2 * winners.len();
        let since = log.get(self.cursor..).unwrap_or(&[]);
        let matched = since.len() >= booked
            && is_fills_log(&since[..booked], winners.iter().copied(), bankrupt);
        if !matched {
            return (self.take_pending(log), false);
        }
        let lead = (booked > 0).then_some(bankrupt);
        let after = since[booked..].iter().copied();
        (
            self.sync_through(lead.into_iter().chain(after), log.len()),
            true,
        )
    }

    /// Whether the last sync ([`TouchedSince::take_pending`]) handed out
    /// account `a`.
    #[inline]
    pub(super) fn met_in_last_sync(&self, a: u32) -> bool {
        self.syncs != 0 && self.seen[a as usize] == self.syncs
    }

    /// Gives back the buffer of [`TouchedSince::take_pending`] for the next sync.
    pub(super) fn recycle(&mut self, pending: Vec<u32>) {
        self.pending = pending;
    }
}

/// Whether `entries` are what booking fills to `winners` against
/// `bankrupt` logs: each winner, then the bankrupt (no winner the bankrupt).
fn is_fills_log(
    entries: &[u32],
    winners: impl ExactSizeIterator<Item = u32>,
    bankrupt: u32,
) -> bool {
    entries.len() == 2 * winners.len()
        && entries
            .chunks_exact(2)
            .zip(winners)
            .all(|(pair, w)| pair[0] == w && pair[1] == bankrupt && w != bankrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index started at step 0 over 50 accounts, cursor 0.
    fn started() -> TouchedSince {
        let mut t = TouchedSince::default();
        t.start(0, 50, 0);
        t
    }

    /// Draws in `0..n` from a fixed seed (a 64-bit LCG's high bits: the
    /// tests' random logs need no more, and no crate).
    fn draws(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        }
    }

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

    /// `take_pending_after_fills` on logs that start with the fills'
    /// pattern and go on with other accounts: the bankrupt and the accounts
    /// after the pattern as `take_pending` gives them with the winners left
    /// out (but where logged again after the pattern); on any other log,
    /// `take_pending`'s answer.
    #[test]
    fn take_pending_after_fills_passes_over_the_fills_only() {
        let (mut after, mut plain) = (started(), started());
        let mut log: Vec<u32> = Vec::new();
        let mut next = draws(11);
        let mut matched_some = false;
        for round in 0..2000 {
            let bankrupt = next(50) as u32;
            let mut winners: Vec<u32> = (0..next(6) as u32)
                .map(|k| 10 * k + next(10) as u32)
                .filter(|&w| w != bankrupt)
                .collect();
            let mut entries: Vec<u32> = winners.iter().flat_map(|&w| [w, bankrupt]).collect();
            match next(8) {
                0 => entries.insert(0, next(50) as u32),
                1 => {
                    entries.pop();
                }
                2 => winners.push(bankrupt),
                _ => {}
            }
            // Accounts logged after the fills (winners among them at times).
            for _ in 0..next(4) {
                entries.push(next(50) as u32);
            }
            log.extend(&entries);
            let (got, matched) = after.take_pending_after_fills(&log, &winners, bankrupt);
            let want = plain.take_pending(&log);
            if matched {
                matched_some = true;
                let tail = &entries[2 * winners.len()..];
                let mut expect: Vec<u32> = Vec::new();
                if !winners.is_empty() {
                    expect.push(bankrupt);
                }
                for &a in tail {
                    if !expect.contains(&a) {
                        expect.push(a);
                    }
                }
                assert_eq!(got, expect, "round {round}: {entries:?}");
                // The same set as take_pending's once the winners that were
                // not logged again are added.
                let mut all = got.clone();
                all.extend(winners.iter().filter(|w| !got.contains(w)));
                all.sort_unstable();
                let mut want = want;
                want.sort_unstable();
                assert_eq!(all, want, "round {round}: {entries:?}");
            } else {
                assert_eq!(got, want, "round {round}: {entries:?}");
            }
            after.recycle(got);
        }
        assert!(matched_some);
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

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::TouchedSince;

    /// The accounts `Engine::resync_fills` re-indexes after `pass_known`
    /// accepts: the winners in fill order, the bankrupt after the first.
    fn walk_order(winners: &[u32], bankrupt: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for (n, &w) in winners.iter().enumerate() {
            out.push(w);
            if n == 0 {
                out.push(bankrupt);
            }
        }
        out
    }

    proptest! {
        /// `pass_known` (the chunked close's fast path) against
        /// `take_pending` (the plain one) on logs of the fills' pattern,
        /// perturbed: an account logged before it (the cursor not at the
        /// chunk), an entry extra or missing, the bankrupt among the winners
        /// (or the account logged before), no winner or one. When it accepts,
        /// the walk's order is `take_pending`'s answer and both cursors are
        /// at the log's end; when it refuses, nothing moved and
        /// `take_pending` then answers as on the plain index.
        #[test]
        fn pass_known_walks_take_pendings_accounts(
            prefix in proptest::collection::vec(0u32..20, 0..4),
            winners in proptest::collection::btree_set(0u32..20, 0..6),
            bankrupt in 0u32..20,
            change in 0u8..8,
            extra in 0u32..20,
        ) {
            let (mut fast, mut plain) = (TouchedSince::default(), TouchedSince::default());
            fast.start(0, 20, 0);
            plain.start(0, 20, 0);
            let mut log = prefix.clone();
            let (fast_prefix, plain_prefix) = (fast.take_pending(&log), plain.take_pending(&log));
            prop_assert_eq!(fast_prefix, plain_prefix);
            // Different accounts in increasing order, as a close's.
            let mut winners: Vec<u32> = winners.into_iter().collect();
            let mut entries: Vec<u32> = winners.iter().flat_map(|&w| [w, bankrupt]).collect();
            match change {
                0 => entries.push(extra),
                1 => {
                    entries.pop();
                }
                2 => winners.push(bankrupt),
                3 => entries.insert(0, extra),
                _ => {}
            }
            log.extend(&entries);
            let want = plain.take_pending(&log);
            if fast.pass_known(&log, winners.iter().copied(), bankrupt) {
                prop_assert_eq!(walk_order(&winners, bankrupt), want);
                prop_assert_eq!(fast.cursor, log.len());
            } else {
                prop_assert_eq!(fast.cursor, prefix.len());
                prop_assert_eq!(fast.take_pending(&log), want);
            }
        }
    }
}
