//! The dYdX v4 ADL walk (docs/model.md §6, "dYdX walk"), at venue scale.
//!
//! dYdX v4 offsets a bankrupt position against the subaccounts with an open
//! position on the opposite side, starting from a pseudo-random one of them
//! and walking forward with wrap-around until the position is offset
//! (`OffsetSubaccountPerpetualPosition`, protocol/x/clob/keeper/deleveraging.go
//! at commit 002f3fa: `indexOffset := pseudoRand.Intn(numSubaccounts)` over
//! `GetSubaccountsWithOpenPositionsOnSide`). The walk here does the same over
//! the opposite side's open positions in account order: the start is drawn
//! over all of them, and each position reached is evaluated as a candidate
//! ([`Engine::adl_candidate`]: in profit at the bankruptcy price, positive
//! equity, at most the lots its equity absorbs) and skipped if it is not one.
//!
//! The open positions come from the (market, side) Fenwick tree of
//! [`super::adl_open_side`]: the count and each position reached in O(log n),
//! so a walk costs O(log n) per position it reaches and stops at the last lot
//! it needs, instead of evaluating the whole side for every bankrupt position.

use rand::RngExt;

use crate::venue::adl::AdlCandidate;

use super::Engine;
use super::adl_open_side::OpenSide;
use super::adl_request::AdlRequest;

impl Engine {
    /// Brings the open positions of side `winners` (±1) of market `mi` up to
    /// date: built at the first walk of a step, then updated from the accounts
    /// the ledger logged as changed since the last walk.
    fn sync_open_side(&mut self, open: &mut OpenSide, mi: usize, winners: i64) {
        if !open.touched.built_in(self.step) {
            if !self.ledger.tracking_touched() {
                self.ledger.track_touched(true);
            }
            let cursor = self.ledger.touched().len();
            open.touched
                .start(self.step, self.ledger.accounts.len(), cursor);
            let slots = &self.ledger.market_slots[mi];
            let positions = &self.ledger.positions;
            open.rebuild(slots.len(), |i| {
                positions[slots[i] as usize].lots.signum() == winners
            });
            return;
        }
        let pending = open.touched.take_pending(self.ledger.touched());
        let slots = &self.ledger.market_slots[mi];
        for &a in &pending {
            let acc = &self.ledger.accounts[a as usize];
            for s in acc.first_slot..acc.first_slot + acc.slot_count {
                let p = self.ledger.positions[s as usize];
                if p.market as usize != mi {
                    continue;
                }
                // The market's slots are sorted (numbered account by account).
                if let Ok(i) = slots.binary_search(&s) {
                    open.set(i, p.lots.signum() == winners);
                }
            }
        }
        open.touched.recycle(pending);
    }

    /// The dYdX walk for `req`: a start drawn uniformly over the open
    /// positions on the winners' side of its market (one draw from the
    /// engine's generator, none if the side has no open position), then
    /// forward in account order with wrap-around, each position reached
    /// evaluated as a candidate at the bankruptcy price, until the `needed`
    /// lots are filled or the side is walked once. Writes the candidates
    /// filled and the fills `(candidate index, lots)` in walk order; returns
    /// the lots filled.
    pub(super) fn walk_dydx(
        &mut self,
        open: &mut OpenSide,
        req: &AdlRequest,
        cands: &mut Vec<AdlCandidate>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        if !req.start(cands, fills) {
            return 0;
        }
        let (mi, a, price, needed) = (req.market, req.bankrupt, req.price, req.needed);
        self.sync_open_side(open, mi, req.winners);
        let n = open.count();
        if n == 0 {
            return 0;
        }
        let start = self.rng.random_range(0..n);
        let mut left = needed;
        let mut evaluations = 0u64;
        for k in 0..n {
            if left == 0 {
                break;
            }
            let s = self.ledger.market_slots[mi][open.kth((start + k) % n)];
            if self.ledger.slot_owner(s) == a {
                continue;
            }
            evaluations += 1;
            // The walk reads only the lots: no account margin state.
            if let Some(c) = self.adl_candidate(s, price, false) {
                let take = c.lots.min(left);
                cands.push(c);
                fills.push((cands.len() - 1, take));
                left -= take;
            }
        }
        self.adl_evaluations += evaluations;
        needed - left
    }

    /// Debug builds: the walk's fills are the ones a fresh collection of the
    /// side's open positions (a full scan of the market) gives with the same
    /// draw, and the generator moved as far as that draw moves it.
    #[cfg(debug_assertions)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_dydx_walk_against_full_scan(
        &self,
        a: u32,
        slot: u32,
        needed: i64,
        price: i64,
        mut rng: rand_chacha::ChaCha8Rng,
        cands: &[AdlCandidate],
        fills: &[(usize, i64)],
    ) {
        let p = self.ledger.positions[slot as usize];
        let mi = p.market as usize;
        let winners = -p.lots.signum();
        let open: Vec<u32> = self.ledger.market_slots[mi]
            .iter()
            .copied()
            .filter(|&s| self.ledger.positions[s as usize].lots.signum() == winners)
            .collect();
        let mut want = Vec::new();
        if needed > 0 && !open.is_empty() {
            let start = rng.random_range(0..open.len());
            let mut left = needed;
            for k in 0..open.len() {
                if left == 0 {
                    break;
                }
                let s = open[(start + k) % open.len()];
                if self.ledger.slot_owner(s) == a {
                    continue;
                }
                if let Some(c) = self.adl_candidate(s, price, false) {
                    let take = c.lots.min(left);
                    want.push((s, take));
                    left -= take;
                }
            }
        }
        let got: Vec<(u32, i64)> = fills.iter().map(|&(i, l)| (cands[i].slot, l)).collect();
        assert_eq!(
            got, want,
            "Invariant: the dYdX walk over the open-position tree fills as a full scan does"
        );
        assert!(
            rng == self.rng,
            "Invariant: the dYdX walk draws once per walk over a non-empty side"
        );
    }
}
