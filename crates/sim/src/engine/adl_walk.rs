//! Building, updating and walking the ADL candidate queues of
//! [`super::adl_queue`] (see there for the design and its cost).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::venue::adl::{AdlCandidate, AdlRanking};

use super::Engine;
use super::adl_queue::{QueueKey, SideQueue, score_rank};
use super::adl_request::AdlRequest;

impl Engine {
    /// The queue of the positions on side `winners` (±1) of market `mi`, ready for
    /// a walk: built if this step has none yet, else brought up to date with the
    /// accounts changed since its last walk. The queue is taken out of the engine
    /// (`self.adl_queues`) by the caller.
    pub(super) fn sync_adl_queue(
        &mut self,
        q: &mut SideQueue,
        mi: usize,
        winners: i64,
        ranking: Option<&dyn AdlRanking>,
    ) {
        if !q.touched.built_in(self.step) {
            self.build_adl_queue(q, mi, winners, ranking);
            return;
        }
        let pending = q.touched.take_pending(self.ledger.touched());
        for &a in &pending {
            let acc = &self.ledger.accounts[a as usize];
            for s in acc.first_slot..acc.first_slot + acc.slot_count {
                let p = self.ledger.positions[s as usize];
                if p.market as usize != mi {
                    continue;
                }
                q.remove(a, s);
                if p.lots.signum() == winners {
                    self.adl_evaluations += 1;
                    q.insert(self.adl_rank(s, ranking), a, s);
                }
            }
        }
        q.touched.recycle(pending);
    }

    /// Scores every open position on side `winners` of market `mi` and heapifies
    /// them; starts the log of changed accounts for the step if no queue did.
    fn build_adl_queue(
        &mut self,
        q: &mut SideQueue,
        mi: usize,
        winners: i64,
        ranking: Option<&dyn AdlRanking>,
    ) {
        if !self.ledger.tracking_touched() {
            self.ledger.track_touched(true);
        }
        q.reset(
            self.ledger.positions.len(),
            self.ledger.accounts.len(),
            self.step,
            self.ledger.touched().len(),
        );
        let mut entries = std::mem::take(&mut q.heap).into_vec();
        entries.clear();
        for &s in &self.ledger.market_slots[mi] {
            let p = self.ledger.positions[s as usize];
            if p.lots.signum() != winners {
                continue;
            }
            self.adl_evaluations += 1;
            let key = (self.adl_rank(s, ranking), self.ledger.slot_owner(s), s);
            entries.push(Reverse((key, q.version[s as usize])));
        }
        q.heap = BinaryHeap::from(entries);
    }

    /// Rank of the position in slot `s` in its queue: its score under `ranking`
    /// (higher first), or 0 (account order) without a ranking.
    fn adl_rank(&self, s: u32, ranking: Option<&dyn AdlRanking>) -> u64 {
        match ranking {
            Some(r) => score_rank(r.score(&self.adl_candidate_at_mark(s))),
            None => 0,
        }
    }

    /// Ranked queue: the candidates of `req` (bankrupt account, bankruptcy price),
    /// in rank order, until its `needed` lots are filled. Writes the
    /// candidates reached and the fills `(candidate index, lots)`; returns the
    /// lots filled. Same fills as [`crate::venue::adl::allocate`] on every
    /// candidate (when they hold no more than `needed`, all of them, in rank
    /// order here rather than in account order: booking and re-checking them
    /// commute).
    pub(super) fn walk_ranked_queue(
        &mut self,
        q: &mut SideQueue,
        ranking: &dyn AdlRanking,
        req: &AdlRequest,
        cands: &mut Vec<AdlCandidate>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        if !req.start(cands, fills) {
            return 0;
        }
        let (a, price, needed) = (req.bankrupt, req.price, req.needed);
        let mut left = needed;
        let mut visit = |engine: &mut Engine, (rank, owner, s): QueueKey, left: &mut i64| {
            if owner == a {
                return;
            }
            engine.adl_evaluations += 1;
            if let Some(c) = engine.adl_candidate(s, price, true) {
                debug_assert_eq!(
                    score_rank(ranking.score(&c)),
                    rank,
                    "Invariant: an ADL queue entry is ranked at its current score"
                );
                let take = c.lots.min(*left);
                cands.push(c);
                fills.push((cands.len() - 1, take));
                *left -= take;
            }
        };
        let mut reached = q.front.iter();
        while left > 0 {
            let Some(&key) = reached.next() else { break };
            visit(self, key, &mut left);
        }
        while left > 0 {
            let Some(key) = q.pop_into_front() else { break };
            visit(self, key, &mut left);
        }
        needed - left
    }

    /// Every candidate of the bankrupt account `a` at bankruptcy price `price`, in
    /// account order (the order [`crate::venue::adl::allocate`] expects for the
    /// unranked policies), with the account's margin state (`maintenance`,
    /// `wallet`) only if `margin`.
    pub(super) fn collect_queue_candidates(
        &mut self,
        q: &mut SideQueue,
        a: u32,
        price: i64,
        margin: bool,
        cands: &mut Vec<AdlCandidate>,
    ) {
        cands.clear();
        while q.pop_into_front().is_some() {}
        for &(_, owner, s) in &q.front {
            if owner == a {
                continue;
            }
            self.adl_evaluations += 1;
            if let Some(c) = self.adl_candidate(s, price, margin) {
                cands.push(c);
            }
        }
    }
}
