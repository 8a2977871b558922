//! `pro_rata` ADL at venue scale (docs/performance.md, "ADL per policy").
//!
//! [`crate::venue::adl::allocate`] gives each candidate the share
//! `needed × lots / Σ lots` (f64), floors it, and hands the lots left one each
//! to the largest fractional parts (ties by account, then slot). That needs
//! every candidate for each bankrupt position. This module gets the same
//! fills from an index of the winners' side kept through the step:
//!
//! - `Σ lots` of the candidates at the bankruptcy price `p`: a position is a
//!   candidate when it is in profit at `p`, which for a position of `L` lots
//!   and cost `C` is a threshold on `p` (exact integer arithmetic, `value` is
//!   linear in the price); the positions sit in a [`ThresholdSums`] keyed by
//!   that threshold, so the Σ over the positions in profit at `p` is
//!   O(log c) plus the positions of one threshold bucket;
//! - the candidates whose share floors to at least one lot are those with the
//!   most lots (the share grows with the lots), and among the rest the
//!   fractional part is the share itself, so the largest fractional parts are
//!   the largest positions: both come from one walk of the side in
//!   (lots desc, account, slot) order, stopping after the lots are handed out;
//! - the positions whose offer depends on `p` otherwise: those of the bankrupt
//!   account (left out), and, when `p` is worse than the mark for the winners
//!   (a gap), those whose equity does not absorb the loss of every lot (their
//!   lots capped to `equity / loss`: an index by equity per lot gives them),
//!   are evaluated one by one and merged into the walk.
//!
//! The f64 shares and their order are computed exactly as `allocate` computes
//! them (same expressions), so the fills are identical. When `needed × Σ lots`
//! reaches 2^53 (where f64 floors could round up to the next integer and the
//! order of small shares could tie) the allocation falls back to the full
//! collection and `allocate`. A wave of b bankrupt positions costs
//! O(c log c) per step to build plus, per bankrupt position, O(log c) for the
//! sum, O(log c) per position filled, and one step of the walk per position
//! of the side it skips (not in profit at `p`, or capped, or the bankrupt's).

use std::cell::Cell;
use std::cmp::Reverse;

use crate::money::Micros;
use crate::venue::adl::{self, AdlCandidate, AdlFillTarget, AdlPolicy};

use super::Engine;
use super::adl_pro_rata_side::{
    EXACT_LIMIT, Entry, ProRataSide, SyncPoint, pro_rata_shares, sort_by_account,
};
use super::adl_request::AdlRequest;
use super::adl_touched::TouchedSince;
use super::ledger::Position;
use super::waterfall::FillAccounts;

/// Winners of a `pro_rata` close read, booked and re-indexed together
/// ([`Engine::book_pro_rata_fills`]): their lines (~7 a winner) stay in the
/// cache from the read to the re-index.
const FILL_CHUNK: usize = 64;

/// The booking's record of the indexed position in slot `slot` of
/// `account` (entry `e`, not set aside: it offers its lots), from the
/// index entry alone: not reading the position here saves a cache miss per
/// winner (the booking reads it a chunk at a time).
fn pro_rata_booking_candidate(account: u32, slot: u32, e: Entry) -> AdlFillTarget {
    AdlFillTarget {
        account,
        slot,
        lots: e.lots,
        equity: Micros(e.equity),
    }
}

/// The `known` of a re-index after a close booked `fills` (to `cands`;
/// `equity_after[k]`: fill `k`'s winner's equity after it), when each fill
/// went to a different account in increasing order (`None` otherwise: no
/// equity known): the winner's equity after its fill and the slot filled.
/// The log lists the winners in fill order (the bankrupt between them), so
/// the next fill's account is the next winner met, and its equity is the
/// next one after.
fn equities_after<'a>(
    cands: &'a [AdlFillTarget],
    fills: Option<&'a [(usize, i64)]>,
    equity_after: &'a [Micros],
) -> impl FnMut(u32) -> Option<(Micros, u32)> + 'a {
    let mut next = 0;
    move |a: u32| {
        let &(i, _) = fills?.get(next)?;
        if cands[i].account != a {
            return None;
        }
        next += 1;
        Some((*equity_after.get(next - 1)?, cands[i].slot))
    }
}

/// The profit threshold of a position of `lots` (signed, non-zero) and cost
/// `cost` (micro-USD), `k` micro-USD per lot and tick: it is in profit at
/// price `p` iff `side × p ≥` the threshold (clamped to ±`i64::MAX / 4`).
/// pnl(p) = lots·p·k − cost > 0: long, p > cost / d; short, p < −cost / d,
/// `d = |lots|·k`. Either side's threshold is `⌊cost / d⌋ + 1` (the short's
/// `−⌊(−cost − 1) / d⌋` of [`profit_threshold_wide`] is that integer: one
/// expression, no branch on the side). In `i64` when `d` fits (the 128-bit
/// division was 1.5% of the 100,000-account crash), else in `i128`: the
/// same integer. The `i64` path takes `d` in `1..=i64::MAX` as a `u64`
/// product, so the division needs no zero or overflow check, and floors by
/// the remainder's sign: one `idiv` (it runs for every fill's re-index).
#[inline]
fn profit_threshold(lots: i64, cost: i64, k: i64) -> i64 {
    let bound = i64::MAX / 4;
    let d = u64::try_from(k)
        .ok()
        .and_then(|k| lots.unsigned_abs().checked_mul(k))
        .and_then(|d| i64::try_from(d).ok())
        .filter(|&d| d > 0);
    let Some(d) = d else {
        return profit_threshold_wide(lots, cost, k);
    };
    let (q, r) = (cost / d, cost % d);
    let floor = q - i64::from(r < 0);
    // `floor + 1` overflows only at `floor = i64::MAX`, clamped either way.
    floor.saturating_add(1).clamp(-bound, bound)
}

/// [`profit_threshold`] in `i128` throughout: what its `i64` fast path must
/// give, and its fallback when a product or a negation would overflow.
fn profit_threshold_wide(lots: i64, cost: i64, k: i64) -> i64 {
    let bound = i128::from(i64::MAX / 4);
    let d = i128::from(lots.abs()) * i128::from(k);
    let cost = i128::from(cost);
    let threshold = if lots > 0 {
        cost.div_euclid(d) + 1
    } else {
        -((-cost - 1).div_euclid(d))
    };
    threshold.clamp(-bound, bound) as i64
}

/// The index entry of position `q` of account `owner` (equity `equity`), if
/// it is open on side `winners` and the equity is positive; `threshold()`
/// gives its profit threshold ([`profit_threshold`], or a build's memo of
/// it) and is called only then.
#[inline(always)]
fn entry_of(
    owner: u32,
    q: Position,
    winners: i64,
    equity: i64,
    threshold: impl FnOnce() -> i64,
) -> Option<Entry> {
    if q.lots.signum() != winners || equity <= 0 {
        return None;
    }
    Some(Entry {
        account: owner,
        lots: q.lots.abs(),
        threshold: threshold(),
        equity,
    })
}

impl Engine {
    /// The index entry of the position in slot `s` of `owner` (equity
    /// `equity`), if it is open on side `winners` in an account with positive
    /// equity: what a re-index must leave (debug checks).
    #[cfg(debug_assertions)]
    fn pro_rata_entry(&self, owner: u32, s: u32, winners: i64, equity: i64) -> Option<Entry> {
        let q = self.ledger.positions[s as usize];
        let per_lot_tick = self.markets[q.market as usize].micros_per_lot_tick;
        entry_of(owner, q, winners, equity, || {
            profit_threshold(q.lots, q.cost.0, per_lot_tick)
        })
    }

    /// Brings the index of side `winners` (±1) of market `mi` up to date:
    /// built at the first allocation of a step, then re-indexing the accounts
    /// the ledger logged as changed since the last one.
    /// `x`: the price of the allocation it is synced for (`side × price`),
    /// below which the threshold sums' deep bucket is cut at a build.
    fn sync_pro_rata(&mut self, side: &mut ProRataSide, mi: usize, winners: i64, x: i64) {
        if !side.touched.built_in(self.step) {
            self.build_pro_rata(side, mi, winners, x);
            return;
        }
        self.resync_pro_rata(side, mi, winners, |_| None);
        // The walk reads the lots order next: apply the re-keys together.
        side.by_lots.flush();
    }

    /// Re-indexes the accounts logged as changed since the side's last sync;
    /// `known(a)`: account `a`'s equity at the marks and a slot of its
    /// (the one its fill booked) if the caller holds them.
    fn resync_pro_rata(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        known: impl FnMut(u32) -> Option<(Micros, u32)>,
    ) {
        let pending = side.touched.take_pending(self.ledger.touched());
        self.resync_accounts(side, mi, winners, &pending, known);
        side.touched.recycle(pending);
    }

    /// Re-indexes the accounts `pending` (each once) on side `winners` of
    /// market `mi`; `known(a)` as [`Engine::resync_pro_rata`] takes it. An
    /// account known and holding one slot is re-indexed at the slot known,
    /// without reading its account line (a cache miss per winner), by
    /// [`Engine::reindex_known`] (every winner of a close booked a chunk at a
    /// time).
    fn resync_accounts(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        pending: &[u32],
        mut known: impl FnMut(u32) -> Option<(Micros, u32)>,
    ) {
        // A side is one market's: its micro-USD per lot and tick, read once.
        let k = self.markets[mi].micros_per_lot_tick;
        for &a in pending {
            // Asked of every account, in the log's order (the caller's
            // equities follow it), whether or not one is summed below.
            match known(a) {
                Some((e, s)) => self.reindex_winner(side, mi, winners, k, a, s, e),
                None => self.reindex_account(side, mi, winners, k, a, None),
            }
        }
    }

    /// Re-indexes account `a`, whose equity at the marks `e` and a slot `s`
    /// (the one its fill booked) the caller holds: at slot `s` alone if it
    /// is the account's one slot ([`Engine::reindex_known`]), else every
    /// slot ([`Engine::reindex_account`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn reindex_winner(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        k: i64,
        a: u32,
        s: u32,
        e: Micros,
    ) {
        if !self.ledger.holds_one_slot(a) {
            return self.reindex_account(side, mi, winners, k, a, Some(e));
        }
        debug_assert_eq!(
            self.ledger.accounts[a as usize].first_slot, s,
            "Invariant: the slot known is the account's one slot"
        );
        debug_assert_eq!(
            e,
            self.equity(a),
            "Invariant: the equity given is the account's at the marks"
        );
        self.reindex_known(side, mi, winners, k, a, s, e.0);
    }

    /// Re-indexes slot `s`, the one slot of account `a`, whose equity at the
    /// marks is `equity` (`k`: the market's micro-USD per lot and tick): the
    /// per-winner path of [`Engine::resync_accounts`], one position read and
    /// no equity sum. Its entry is [`Engine::pro_rata_entry`]'s: none off the
    /// market, off the side or at non-positive equity.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn reindex_known(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        k: i64,
        a: u32,
        s: u32,
        equity: i64,
    ) {
        let q = self.ledger.positions[s as usize];
        if q.market as usize != mi {
            return;
        }
        self.reindex_slot(side, winners, k, a, s, q, equity);
    }

    /// Sets slot `s`'s entry (position `q` of account `a`, equity `equity`
    /// at the marks; `k`: its market's micro-USD per lot and tick):
    /// [`entry_of`], counted as a candidate evaluation when there is one.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn reindex_slot(
        &mut self,
        side: &mut ProRataSide,
        winners: i64,
        k: i64,
        a: u32,
        s: u32,
        q: Position,
        equity: i64,
    ) {
        let entry = entry_of(a, q, winners, equity, || {
            profit_threshold(q.lots, q.cost.0, k)
        });
        if entry.is_some() {
            self.adl_evaluations += 1;
        }
        side.set(s, entry);
    }

    /// Re-indexes every slot of account `a` on market `mi` (`k`: its
    /// micro-USD per lot and tick; `given`: the account's equity at the
    /// marks if the caller holds it, else summed once, only if a slot is on
    /// side `winners`).
    fn reindex_account(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        k: i64,
        a: u32,
        given: Option<Micros>,
    ) {
        let acc = &self.ledger.accounts[a as usize];
        let mut equity = None;
        for s in acc.first_slot..acc.first_slot + acc.slot_count {
            let q = self.ledger.positions[s as usize];
            if q.market as usize != mi {
                continue;
            }
            if q.lots.signum() != winners {
                // Not on the side (the bankrupt's, a winner closed out):
                // no entry whatever its equity, so none is summed.
                side.set(s, None);
                continue;
            }
            let e = *equity.get_or_insert_with(|| match given {
                Some(e) => {
                    debug_assert_eq!(
                        e,
                        self.equity(a),
                        "Invariant: the equity given is the account's at the marks"
                    );
                    e.0
                }
                None => self.equity(a).0,
            });
            self.reindex_slot(side, winners, k, a, s, q, e);
        }
    }

    /// Re-indexes side `winners` of market `mi` right after a close booked
    /// `fills` (to `cands`; `equity_after[k]`: the equity of fill `k`'s
    /// winner after it), rather than at the next close: the winners' lines
    /// are still in the cache, and when each fill went to a different
    /// account (in increasing order, as `pro_rata`'s do) their equity is
    /// the one the booking read, not summed again. Exact: an account's entry
    /// depends only on its ledger lines and the marks (fixed within a step),
    /// and an account changed after this sync is logged again and re-indexed
    /// at the next one, as before.
    pub(super) fn sync_pro_rata_after_fills(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
        equity_after: &[Micros],
    ) {
        self.resync_after_fills(side, mi, winners, cands, fills, equity_after);
        side.by_lots.flush();
    }

    /// [`Engine::sync_pro_rata_after_fills`] without applying the lots
    /// order's re-keys (the caller flushes them).
    fn resync_after_fills(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
        equity_after: &[Micros],
    ) {
        if !side.touched.built_in(self.step) {
            return;
        }
        let once = fills
            .windows(2)
            .all(|w| cands[w[0].0].account < cands[w[1].0].account);
        let known = equities_after(cands, once.then_some(fills), equity_after);
        self.resync_pro_rata(side, mi, winners, known);
    }

    /// Books the fills of a `pro_rata` close whose winners are different
    /// accounts in increasing order (`cands`, `fills` as
    /// [`Engine::book_adl_fills`] takes them) and re-indexes side `side`
    /// after them, [`FILL_CHUNK`] winners at a time: each chunk's lines read
    /// together (their misses overlap), then booked, then re-indexed while
    /// still in the cache. A close of thousands of winners (a large
    /// bankrupt position shared one lot each among the largest positions)
    /// otherwise met every winner's lines cold in each of its passes.
    /// Returns what the winners gave up against the mark; writes the last
    /// chunk's equities after to `equity_after`.
    ///
    /// Exact: the same bookings in the same order (a chunk's booking reads
    /// and writes only its winners' lines and the bankrupt's), and the same
    /// entries: a winner's entry depends only on its own lines and the
    /// marks, which the later chunks do not change (each winner is filled
    /// once), and the bankrupt account, re-indexed after every chunk, holds
    /// no entry on this side.
    pub(super) fn book_pro_rata_fills(
        &mut self,
        side: &mut ProRataSide,
        slot: u32,
        price: i64,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
        equity_after: &mut Vec<Micros>,
    ) -> Micros {
        debug_assert!(
            fills
                .windows(2)
                .all(|w| cands[w[0].0].account < cands[w[1].0].account),
            "Invariant: a pro_rata close's winners are different accounts in increasing order"
        );
        let p = self.ledger.positions[slot as usize];
        let (mi, winners) = (p.market as usize, -p.lots.signum());
        let bankrupt = self.ledger.slot_owner(slot);
        // A close of one chunk was read by the allocation's touch pass.
        let touch = fills.len() > FILL_CHUNK;
        let mut cost = Micros::ZERO;
        for chunk in fills.chunks(FILL_CHUNK) {
            if touch {
                self.touch_fills(side, cands, chunk);
            }
            cost += self.book_adl_fills(
                slot,
                price,
                cands,
                chunk,
                FillAccounts::Increasing,
                false,
                equity_after,
            );
            self.resync_chunk(side, mi, winners, bankrupt, cands, chunk, equity_after);
        }
        side.by_lots.flush();
        #[cfg(debug_assertions)]
        for &(i, _) in fills {
            let (a, s) = (cands[i].account, cands[i].slot);
            assert_eq!(
                side.entry(s),
                self.pro_rata_entry(a, s, winners, self.equity(a).0),
                "Invariant: a chunked close leaves each winner's entry as a re-index after every fill would"
            );
        }
        cost
    }

    /// [`Engine::resync_after_fills`] of one chunk of a close booked against
    /// account `bankrupt`: when the log since the last sync is the chunk's
    /// (each winner, then the bankrupt), its accounts are known without the
    /// side's per-account markers ([`super::adl_touched::TouchedSince::pass_known`]),
    /// and each winner's equity is the one its booking wrote.
    #[allow(clippy::too_many_arguments)]
    fn resync_chunk(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        bankrupt: u32,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
        equity_after: &[Micros],
    ) {
        let accounts = fills.iter().map(|&(i, _)| cands[i].account);
        let passed = side.touched.built_in(self.step)
            && equity_after.len() == fills.len()
            && side
                .touched
                .pass_known(self.ledger.touched(), accounts, bankrupt);
        if !passed {
            return self.resync_after_fills(side, mi, winners, cands, fills, equity_after);
        }
        self.resync_fills(side, mi, winners, bankrupt, cands, fills, equity_after);
    }

    /// Re-indexes the winners of `fills` (to `cands`; `equity_after[n]`:
    /// fill `n`'s winner's equity after it) and `bankrupt`, in the log's
    /// order: the first winner, the bankrupt, the other winners. What
    /// [`Engine::resync_accounts`] does with that list and
    /// [`equities_after`]' answers (the bankrupt, no winner, is given no
    /// equity), without the list or the per-account match.
    #[allow(clippy::too_many_arguments)]
    fn resync_fills(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        bankrupt: u32,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
        equity_after: &[Micros],
    ) {
        debug_assert_eq!(
            fills.len(),
            equity_after.len(),
            "Invariant: an equity after each fill"
        );
        let k = self.markets[mi].micros_per_lot_tick;
        for (n, (&(i, _), &e)) in fills.iter().zip(equity_after).enumerate() {
            let t = cands[i];
            self.reindex_winner(side, mi, winners, k, t.account, t.slot, e);
            if n == 0 {
                self.reindex_account(side, mi, winners, k, bankrupt, None);
            }
        }
    }

    /// Reads, in one pass, a word of each line the booking and the
    /// re-index of `fills` will read or write (see
    /// [`Engine::touch_pro_rata_winners`]). Reads only.
    fn touch_fills(&self, side: &ProRataSide, cands: &[AdlFillTarget], fills: &[(usize, i64)]) {
        let mut x = 0u64;
        for &(i, _) in fills {
            x ^= self.touch_winner(side, cands[i].account, cands[i].slot);
        }
        std::hint::black_box(x);
    }

    /// Indexes every open position of side `winners` of market `mi` in an
    /// account with positive equity; starts the log of changed accounts for
    /// the step if nothing did. The threshold sums' deep bucket is cut a
    /// little below `x` (the step's first allocation, at `side × price`).
    fn build_pro_rata(&mut self, side: &mut ProRataSide, mi: usize, winners: i64, x: i64) {
        if !self.ledger.tracking_touched() {
            self.ledger.track_touched(true);
        }
        self.ledger.keep_touched_log();
        side.size_thresholds(self.ledger.positions.len());
        let can_keep = side.can_keep(self.ledger.positions.len());
        if can_keep && self.keep_pro_rata_pass_free(side, mi, winners, x) {
            side.synced_at = Some(self.sync_point(mi));
            return;
        }
        let cursor = self.ledger.touched().len();
        side.touched
            .start(self.step, self.ledger.accounts.len(), cursor);
        if can_keep {
            self.keep_pro_rata(side, mi, winners, x);
            side.synced_at = Some(self.sync_point(mi));
            return;
        }
        side.start_build(self.ledger.positions.len());
        let mut by_threshold = std::mem::take(&mut side.build_thresholds);
        let mut by_lots = std::mem::take(&mut side.build_lots);
        by_threshold.clear();
        by_lots.clear();
        if side.entries_kept() != 0 || self.slot_lots_on(mi, winners) != 0 {
            self.index_pro_rata_slots(side, mi, winners, &mut by_threshold, &mut by_lots);
        } else {
            // Nothing to index and no entry to clear: what the pass would
            // leave (every record empty, the memo unread, no evaluation).
            debug_assert!(
                self.ledger.market_slots[mi]
                    .iter()
                    .all(
                        |&s| self.ledger.positions[s as usize].lots.signum() != winners
                            && side.entry(s).is_none()
                    ),
                "Invariant: a side without open lots or entries indexes nothing"
            );
        }
        side.build_threshold_sums(&by_threshold, x);
        side.by_lots.build(&by_lots);
        side.built(by_lots.len());
        side.build_thresholds = by_threshold;
        side.build_lots = by_lots;
        side.by_equity.clear();
        side.equity_indexed = false;
        side.synced_at = Some(self.sync_point(mi));
    }

    /// What a build of a kept ADL side of market `mi` evaluates its entries
    /// at, now: the touched log's epoch and base, the mark and the market's
    /// micro-USD per lot and tick (`pro_rata`'s [`ProRataSide::synced_at`]
    /// and `min_max_leverage`'s `LevSide::synced_at`).
    pub(super) fn sync_point(&self, mi: usize) -> SyncPoint {
        SyncPoint {
            epoch: self.ledger.touched_epoch(),
            base: self.ledger.touched_base(),
            mark: self.marks[mi],
            per_lot_tick: self.markets[mi].micros_per_lot_tick,
        }
    }

    /// Whether a side of market `mi` synced at `then` may shift its
    /// entries with the mark instead of a pass over the market's slots:
    /// every account holds at most one slot and no collateral asset (its
    /// equity is `A + value(lots, mark)`), the touched log has been kept
    /// since (same epoch: every account changed since is in its tail) and
    /// the market's lot-tick value is unchanged. Both kept sides' test.
    pub(super) fn shift_is_exact(&self, then: &SyncPoint, mi: usize) -> bool {
        let simple = self.collateral.is_none() && self.ledger.max_slots() <= 1;
        simple
            && then.epoch == self.ledger.touched_epoch()
            && then.per_lot_tick == self.markets[mi].micros_per_lot_tick
    }

    /// Carries `touched`, a side's place in the touched log as of its sync
    /// at `then`, into this step (`TouchedSince::resume`, the entries
    /// dropped from the log's front since counted off); false if the log
    /// no longer holds the side's cursor.
    pub(super) fn resume_touched(&self, touched: &mut TouchedSince, then: &SyncPoint) -> bool {
        let (accounts, log_len) = (self.ledger.accounts.len(), self.ledger.touched().len());
        let dropped = self.ledger.touched_base().checked_sub(then.base);
        dropped.is_some_and(|d| touched.resume(self.step, accounts, d, log_len))
    }

    /// The change of a kept side's entries' equity per lot since its last
    /// build, `winners·k·(mark − mark_then)`, when a build may skip its pass
    /// ([`Engine::keep_pro_rata_pass_free`]): every account holds at most
    /// one slot and no collateral asset (its equity is `A + value(lots,
    /// mark)`), the touched log has been kept since (same epoch: every
    /// account changed since is in its tail), the market's lot-tick value
    /// is unchanged, and the mark did not move against the winners (no
    /// unchanged entry's equity falls, so none leaves).
    fn pass_free_shift(&self, side: &ProRataSide, mi: usize, winners: i64) -> Option<i64> {
        let then = side.synced_at?;
        let k = self.markets[mi].micros_per_lot_tick;
        let moved = self.marks[mi]
            .checked_sub(then.mark)?
            .checked_mul(winners)?;
        (self.shift_is_exact(&then, mi) && moved >= 0).then(|| moved.checked_mul(k))?
    }

    /// [`Engine::keep_pro_rata`] without the pass over market `mi`'s slots,
    /// when [`Engine::pass_free_shift`] allows it: every record's equity is
    /// shifted by its lots times the change per lot
    /// ([`ProRataSide::shift_records`]; the threshold sums cut again first
    /// when stale, from the records' keys), then the accounts the ledger
    /// logged since the side's last sync are re-indexed as a sync does.
    /// Taken only if then every lot on the side is in an entry
    /// (`slot_lots_on == total`: no on-side slot unindexed, which a rise of
    /// its equity could have brought in); else (or on an overflow) returns
    /// false and the caller runs the pass, which writes every record again.
    /// Counts one evaluation per entry, as the pass counts them.
    fn keep_pro_rata_pass_free(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        x: i64,
    ) -> bool {
        let Some(per_lot) = self.pass_free_shift(side, mi, winners) else {
            return false;
        };
        let resumed = side
            .synced_at
            .is_some_and(|then| self.resume_touched(&mut side.touched, &then));
        if !resumed {
            return false;
        }
        let min_before = side.min_equity_per_lot;
        let stale = side.start_keep(x);
        if !side.shift_records(per_lot, stale, min_before) {
            side.keeps.fallbacks += 1;
            return false;
        }
        if stale {
            side.recut(x);
        }
        let evaluations = self.adl_evaluations;
        let pending = side.touched.take_pending(self.ledger.touched());
        let tail = pending.len();
        self.resync_accounts(side, mi, winners, &pending, |_| None);
        side.touched.recycle(pending);
        side.by_lots.flush();
        self.adl_evaluations = evaluations;
        if self.slot_lots_on(mi, winners) != side.threshold_total() {
            side.keeps.fallbacks += 1;
            return false;
        }
        self.adl_evaluations += side.entries_kept() as u64;
        side.count_pass_free(tail, stale);
        #[cfg(debug_assertions)]
        self.check_kept_pro_rata(side, mi, winners, x);
        true
    }

    /// [`Engine::build_pro_rata`] on a side built before (its orders hold
    /// its records' entries): the same pass over market `mi`'s slots
    /// evaluates every entry afresh, but an entry whose lots, threshold and
    /// owner are as recorded (most of the side: only its equity moved with
    /// the mark) is written to its record alone, and only the others move
    /// in the orders ([`ProRataSide::end_keep`]); the threshold sums are
    /// cut again below `x` only when their cut is stale. Exact: the records
    /// end as the build writes them, and the orders are sets of the
    /// records' keys, whatever the moves that made them (debug builds
    /// compare the side with a fresh evaluation on small markets).
    fn keep_pro_rata(&mut self, side: &mut ProRataSide, mi: usize, winners: i64, x: i64) {
        let stale = side.start_keep(x);
        if side.entries_kept() != 0 || self.slot_lots_on(mi, winners) != 0 {
            self.keep_pro_rata_slots(side, mi, winners, stale);
        }
        let (changed, rebuilt) = side.end_keep(&self.ledger.market_slots[mi], x);
        // A rebuild of the orders cut the sums below `x` already.
        let recut = stale && !rebuilt;
        if recut {
            side.recut(x);
        }
        side.count_keep(changed, recut);
        #[cfg(debug_assertions)]
        self.check_kept_pro_rata(side, mi, winners, x);
    }

    /// [`Engine::keep_pro_rata`]'s pass: each slot of market `mi` evaluated
    /// as [`Engine::index_pro_rata_slots`] does (its evaluations counted
    /// alike), handed to [`ProRataSide::keep_entry`]; with `stale`, each
    /// entry's threshold key also listed for the sums' re-cut
    /// ([`ProRataSide::recut`]), where a second pass over the records
    /// listed them.
    fn keep_pro_rata_slots(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        stale: bool,
    ) {
        for &s in &self.ledger.market_slots[mi] {
            let e = self.fresh_slot_entry(side, mi, winners, s);
            if let Some(e) = e {
                self.adl_evaluations += 1;
                if stale {
                    side.build_thresholds.push(((e.threshold, s), e.lots));
                }
            }
            side.keep_entry(s, e);
        }
    }

    /// Debug builds, markets under 2^16 slots: a kept build left every
    /// record as a fresh evaluation gives it, the lots order as their sort,
    /// the entries counted and the threshold sums' totals at `x`.
    #[cfg(debug_assertions)]
    fn check_kept_pro_rata(&self, side: &ProRataSide, mi: usize, winners: i64, x: i64) {
        if self.ledger.positions.len() > 1 << 16 {
            return;
        }
        let mut order = Vec::new();
        let (mut total, mut above) = (0, 0);
        for &s in &self.ledger.market_slots[mi] {
            let owner = self.ledger.slot_owner(s);
            let want = self.pro_rata_entry(owner, s, winners, self.equity(owner).0);
            assert_eq!(
                side.entry(s),
                want,
                "Invariant: a kept build's record is a fresh one"
            );
            if let Some(e) = want {
                order.push((e.lots, s));
                total += e.lots;
                above += if e.threshold > x { e.lots } else { 0 };
            }
        }
        order.sort_by_key(|&(l, s)| (Reverse(l), s));
        assert!(
            side.by_lots.iter().eq(order.iter().copied())
                && side.entries_kept() == order.len()
                && side.threshold_total() == total
                && side.lots_above(x) == above,
            "Invariant: a kept build's orders are the fresh entries'"
        );
    }

    /// The lots of side `winners` (`1` long, `-1` short) held in market
    /// `mi`'s position slots, from the ledger's long open interest less the
    /// external counterparty's and the vault's: the market's lots sum to 0
    /// over every holder, so its short lots are its long ones. Lets a build
    /// of a side with no open position skip its pass over every slot (26 of
    /// the 60 builds of the 1,000,000-account crash).
    pub(super) fn slot_lots_on(&self, mi: usize, winners: i64) -> i64 {
        let l = &self.ledger;
        let others = (winners * l.ext_lots[mi]).max(0) + (winners * l.vault_lots[mi]).max(0);
        let lots = l.long_lots[mi] - others;
        debug_assert_eq!(
            lots,
            l.market_slots[mi]
                .iter()
                .map(|&s| (winners * l.positions[s as usize].lots).max(0))
                .sum::<i64>(),
            "Invariant: the open interest less the other holders' is the slots' on that side"
        );
        lots
    }

    /// The entry slot `s` of market `mi` holds on side `winners` now, if any
    /// (open on that side in an account with positive equity), evaluated
    /// afresh: what a build's pass and a kept build's pass write. As
    /// [`Engine::pro_rata_entry`], with the threshold from the side's memo
    /// (the passes meet the slots in increasing order: the memo is read in
    /// order) and the equity off the slot.
    #[inline(always)]
    fn fresh_slot_entry(
        &self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        s: u32,
    ) -> Option<Entry> {
        let q = self.ledger.positions[s as usize];
        if q.lots.signum() != winners {
            return None;
        }
        let market = &self.markets[mi];
        let owner = self.ledger.slot_owner(s);
        let equity = self
            .equity_of_slot(owner, s, market.value(q.lots, self.marks[mi]))
            .0;
        let threshold = || {
            side.threshold_of(s, q.lots, q.cost.0, || {
                profit_threshold(q.lots, q.cost.0, market.micros_per_lot_tick)
            })
        };
        entry_of(owner, q, winners, equity, threshold)
    }

    /// [`Engine::build_pro_rata`]'s pass over market `mi`'s slots: writes
    /// each slot's record (its entry or none) and appends each entry's keys
    /// to `by_threshold` and `by_lots`.
    fn index_pro_rata_slots(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        by_threshold: &mut Vec<((i64, u32), i64)>,
        by_lots: &mut Vec<(i64, u32)>,
    ) {
        for &s in &self.ledger.market_slots[mi] {
            let Some(e) = self.fresh_slot_entry(side, mi, winners, s) else {
                side.clear_entry(s);
                continue;
            };
            self.adl_evaluations += 1;
            by_threshold.push(((e.threshold, s), e.lots));
            by_lots.push((e.lots, s));
            side.put_entry(s, e);
        }
        debug_assert!(
            self.ledger.positions.len() > 1 << 16 || side.entries_held() == by_lots.len(),
            "Invariant: a build leaves no entry of an earlier one"
        );
    }

    /// `pro_rata` ADL of `req`: the fills [`adl::allocate`] gives on every
    /// candidate, from the side's index. Writes the booking's records of the
    /// candidates filled to `targets` (account order) and the fills
    /// `(record index, lots)`; `cands` is the full collection's scratch
    /// ([`Engine::pro_rata_by_full_collection`]). Returns the lots filled.
    pub(super) fn deleverage_pro_rata(
        &mut self,
        side: &mut ProRataSide,
        req: &AdlRequest,
        cands: &mut Vec<AdlCandidate>,
        targets: &mut Vec<AdlFillTarget>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        if !req.start(targets, fills) {
            return 0;
        }
        let (mi, winners, a, price, needed) =
            (req.market, req.winners, req.bankrupt, req.price, req.needed);
        self.sync_pro_rata(side, mi, winners, winners * price);
        if side.by_lots.oversized() {
            return self.pro_rata_by_full_collection(req, cands, targets, fills);
        }
        let total = self.pro_rata_total(side, mi, winners, a, price);
        if total == 0 {
            return 0;
        }
        let mut chosen = std::mem::take(&mut side.chosen);
        chosen.clear();
        let exact = i128::from(needed) * i128::from(total) < EXACT_LIMIT;
        if total <= needed {
            self.every_pro_rata_candidate(side, winners * price, &mut chosen);
        } else if !exact
            || !self.pro_rata_shares_counted(side, winners * price, needed, total, &mut chosen)
        {
            side.chosen = chosen;
            return self.pro_rata_by_full_collection(req, cands, targets, fills);
        }
        sort_by_account(&mut chosen, &mut side.by_account);
        // The booking re-keys the winners in this order; their old keys in
        // the lots order's are the walk's order, mostly the list as given.
        side.by_lots.expect_order(side.by_account.places());
        // A close of more than a chunk is booked a chunk at a time
        // (`book_pro_rata_fills`, which reads each chunk's lines again):
        // here only the index records the candidates read, a chunk at a time.
        let whole = chosen.len() <= FILL_CHUNK;
        for part in chosen.chunks(FILL_CHUNK) {
            if whole {
                self.touch_pro_rata_winners(side, part);
            } else {
                side.touch_records(part.iter().map(|c| c.1));
            }
            for &(account, s, lots) in part {
                self.pro_rata_fill(side, account, s, lots, price, targets, fills);
            }
        }
        side.chosen = chosen;
        fills.iter().map(|f| f.1).sum()
    }

    /// Appends the booking's record of slot `s` of `account` and its fill
    /// of `lots` at `price`: from the index record alone when the position
    /// offers its indexed lots ([`pro_rata_booking_candidate`]), else (set
    /// aside: capped) from the ledger.
    #[allow(clippy::too_many_arguments)]
    fn pro_rata_fill(
        &mut self,
        side: &ProRataSide,
        account: u32,
        s: u32,
        lots: i64,
        price: i64,
        cands: &mut Vec<AdlFillTarget>,
        fills: &mut Vec<(usize, i64)>,
    ) {
        self.adl_evaluations += 1;
        // The index was synced above: its equity is the account's now.
        let c = match side.entry(s) {
            Some(e) if !side.is_set_aside(s) => {
                let c = pro_rata_booking_candidate(account, s, e);
                #[cfg(debug_assertions)]
                self.check_fill_target(&c, price);
                Some(c)
            }
            Some(e) => self
                .adl_candidate_with_equity(account, s, price, false, Micros(e.equity))
                .map(|c| AdlFillTarget::of(&c, Micros(e.equity))),
            None => self
                .adl_candidate(s, price, false)
                .map(|c| self.fill_target_of(&c)),
        };
        debug_assert!(
            c.is_some_and(|c| c.lots >= lots),
            "Invariant: a pro_rata fill goes to a candidate holding the lots"
        );
        if let Some(c) = c {
            cands.push(c);
            fills.push((cands.len() - 1, lots));
        }
    }

    /// Reads, in one pass before any of them is used, a word of each line
    /// the close will read or write for each winner chosen (its position,
    /// its flags, its slot's owner, its index lines): the loads are independent, so their cache
    /// misses overlap, where the candidate records, the booking, the margin
    /// re-check and the re-index would otherwise meet them one winner at a
    /// time (a close fills ~62 winners, mostly not read since the last step
    /// at 1,000,000 accounts). Reads only: no state changes.
    fn touch_pro_rata_winners(&self, side: &ProRataSide, chosen: &[(u32, u32, i64)]) {
        let mut x = 0u64;
        for &(account, s, _) in chosen {
            x ^= self.touch_winner(side, account, s);
        }
        std::hint::black_box(x);
    }

    /// A word of each line the close reads or writes for the winner in slot
    /// `s` of `account` (see [`Engine::touch_pro_rata_winners`]). Not its
    /// account line: a close reads only its flags (the ledger's byte per
    /// account), unless the account holds several slots. Not the slot's
    /// owner either: the booking takes it from the candidate
    /// (`Ledger::trade_between`'s `owners`), so a load of it here was a miss
    /// for nothing (docs/performance.md, "Issue 14 after round 19").
    #[inline(always)]
    fn touch_winner(&self, side: &ProRataSide, account: u32, s: u32) -> u64 {
        let mut x = self.ledger.positions[s as usize].lots as u64;
        // Its flags (the booking marks it dirty and hit).
        x ^= u64::from(self.ledger.is_dirty(account));
        // Its index record (the re-index reads the entry it replaces).
        x ^= side.entry(s).map_or(0, |e| e.lots as u64);
        x ^ side.touch(s)
    }

    /// [`pro_rata_shares`], its index reads counted as candidate evaluations.
    fn pro_rata_shares_counted(
        &mut self,
        side: &mut ProRataSide,
        x: i64,
        needed: i64,
        total: i64,
        out: &mut Vec<(u32, u32, i64)>,
    ) -> bool {
        let visited = Cell::new(0);
        let mut scratch = std::mem::take(&mut side.shares);
        let done = pro_rata_shares(side, x, needed, total, out, &mut scratch, &visited);
        side.shares = scratch;
        self.adl_evaluations += visited.get();
        done
    }

    /// Σ lots of the candidates at `price` (excluding account `a`); sets aside
    /// (`side.set_aside` at the new stamp) the positions in profit at `price`
    /// whose offer is not their lots: the bankrupt account's, and under a gap
    /// those whose equity does not absorb the loss (collected, capped, in
    /// `side.capped` in walk order).
    fn pro_rata_total(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        a: u32,
        price: i64,
    ) -> i64 {
        side.next_stamp();
        let x = winners * price;
        side.cover_threshold(x);
        let mut total = side.threshold_total() - side.lots_above(x);
        side.capped.clear();
        let acc = &self.ledger.accounts[a as usize];
        for s in acc.first_slot..acc.first_slot + acc.slot_count {
            if let Some(e) = side.entry(s) {
                side.set_aside(s);
                if e.threshold <= x {
                    total -= e.lots;
                }
            }
        }
        let m = &self.markets[mi];
        let loss = (m.value(-winners, price) - m.value(-winners, self.marks[mi])).0;
        // No entry's equity per lot below the loss: none is capped (the
        // common case: `by_equity` is then neither built nor kept).
        if loss > 0 && side.may_cap(loss) {
            side.index_equity();
            // Kept between closes: no allocation a close.
            let mut capped = std::mem::take(&mut side.capped_slots);
            capped.clear();
            let side_ref = &*side;
            capped.extend(
                side.by_equity
                    .up_to(loss)
                    .filter(|&s| side_ref.entry(s).is_some_and(|e| e.equity_per_lot() < loss)),
            );
            for &s in &capped {
                let Some(e) = side.entry(s) else {
                    continue;
                };
                if side.is_set_aside(s) || e.threshold > x {
                    continue;
                }
                side.set_aside(s);
                total -= e.lots;
                self.adl_evaluations += 1;
                if let Some(c) = self.adl_candidate(s, price, false) {
                    total += c.lots;
                    side.capped.push(c);
                }
            }
            side.capped_slots = capped;
            side.capped
                .sort_unstable_by_key(|c| (Reverse(c.lots), c.account, c.slot));
        }
        total
    }

    /// Every candidate at `x = side × price`, as `(account, slot, lots)`, in
    /// no particular order (the caller sorts them by account and slot).
    fn every_pro_rata_candidate(&self, side: &ProRataSide, x: i64, out: &mut Vec<(u32, u32, i64)>) {
        for (_, s) in side.keys_up_to(x) {
            if !side.is_set_aside(s)
                && let Some(e) = side.entry(s)
            {
                out.push((e.account, s, e.lots));
            }
        }
        out.extend(side.capped.iter().map(|c| (c.account, c.slot, c.lots)));
    }

    /// The reference: every candidate of the side collected in account order
    /// (to `cands`) and [`adl::allocate`] (used where the index's f64 shares
    /// would not be exact); the booking's records of them to `targets`.
    fn pro_rata_by_full_collection(
        &mut self,
        req: &AdlRequest,
        cands: &mut Vec<AdlCandidate>,
        targets: &mut Vec<AdlFillTarget>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        if !req.start(cands, fills) {
            return 0;
        }
        targets.clear();
        let (mi, winners, a, price) = (req.market, req.winners, req.bankrupt, req.price);
        for k in 0..self.ledger.market_slots[mi].len() {
            let s = self.ledger.market_slots[mi][k];
            let q = self.ledger.positions[s as usize];
            if q.lots.signum() != winners || self.ledger.slot_owner(s) == a {
                continue;
            }
            self.adl_evaluations += 1;
            if let Some(c) = self.adl_candidate(s, price, false) {
                cands.push(c);
            }
        }
        let filled = adl::allocate(&AdlPolicy::ProRata, cands, req.needed, &mut self.rng, fills);
        self.fill_targets_of(cands, targets);
        filled
    }

    /// Debug builds, small markets: the index's fills are those of
    /// [`adl::allocate`] on a fresh collection of every candidate.
    #[cfg(debug_assertions)]
    pub(super) fn check_pro_rata_against_full(
        &self,
        full: &mut [AdlCandidate],
        needed: i64,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
    ) {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let mut want = Vec::new();
        adl::allocate(&AdlPolicy::ProRata, full, needed, &mut rng, &mut want);
        // The fields the booking reads (its records carry only those:
        // `pro_rata_booking_candidate`).
        type Fill = ((u32, u32, i64, f64), i64);
        let got: Vec<Fill> = fills
            .iter()
            .map(|&(i, l)| {
                let c = &cands[i];
                ((c.account, c.slot, c.lots, c.equity.to_usd()), l)
            })
            .collect();
        let want: Vec<Fill> = want
            .iter()
            .map(|&(i, l)| {
                let c = &full[i];
                ((c.account, c.slot, c.lots, c.equity), l)
            })
            .collect();
        assert_eq!(
            got, want,
            "Invariant: the pro_rata index fills as allocate on every candidate"
        );
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{profit_threshold, profit_threshold_wide};

    /// The `i64` fast path gives the `i128` formula's threshold, extremes
    /// included.
    #[test]
    fn profit_threshold_is_the_wide_formula() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let edges = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        for _ in 0..200_000 {
            let lots = match rng.random_range(0..4) {
                0 => rng.random_range(1..100),
                1 => rng.random_range(1..i64::MAX),
                _ => rng.random_range(1..1_000_000),
            } * if rng.random_bool(0.5) { 1 } else { -1 };
            let cost = if rng.random_bool(0.1) {
                edges[rng.random_range(0..edges.len())]
            } else {
                let width = rng.random_range(1..63);
                rng.random_range(-(1i64 << width)..1i64 << width)
            };
            let k = if rng.random_bool(0.1) {
                rng.random_range(1..i64::MAX)
            } else {
                rng.random_range(1..1_000_000)
            };
            assert_eq!(
                profit_threshold(lots, cost, k),
                profit_threshold_wide(lots, cost, k),
                "{lots} {cost} {k}"
            );
        }
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::{profit_threshold, profit_threshold_wide};

    /// Lots, costs and prices per lot and tick at the extremes and near
    /// them, and ordinary ones.
    fn edgy(ordinary: std::ops::Range<i64>) -> impl Strategy<Value = i64> {
        prop_oneof![
            ordinary,
            Just(1i64),
            Just(i64::MAX),
            Just(i64::MAX - 1),
            Just(i64::MAX / 2),
            Just(i64::MAX / 2 + 1),
            1i64..i64::MAX,
        ]
    }

    proptest! {
        /// The `u64`-product, floored-by-remainder fast path is the `i128`
        /// formula: either sign of lots and cost, exact multiples (a
        /// remainder of 0), products at and past `i64::MAX`, costs at the
        /// extremes.
        #[test]
        fn lean_threshold_is_the_wide_formula(
            lots in edgy(1..1000),
            short in any::<bool>(),
            k in edgy(1..1_000_000),
            cost in prop_oneof![
                -1_000_000_000i64..1_000_000_000,
                Just(i64::MIN),
                Just(i64::MIN + 1),
                Just(-1i64),
                Just(0i64),
                Just(i64::MAX),
                any::<i64>(),
            ],
            multiple in -1000i64..1000,
            exact in any::<bool>(),
        ) {
            let lots = if short { -lots } else { lots };
            // A cost that is an exact multiple of |lots|·k, when it fits.
            let cost = match lots.unsigned_abs().checked_mul(k as u64).and_then(|d| i64::try_from(d).ok()).and_then(|d| d.checked_mul(multiple)) {
                Some(c) if exact => c,
                _ => cost,
            };
            prop_assert_eq!(profit_threshold(lots, cost, k), profit_threshold_wide(lots, cost, k));
        }
    }
}

#[cfg(test)]
mod build_property_tests {
    use proptest::prelude::*;

    use super::super::adl_pro_rata_side::{Entry, ProRataSide};
    use super::super::test_venue::{Change, Spec, apply, change};
    use crate::engine::Engine;

    /// A two-market venue of `accounts`, one margin tier.
    fn venue(accounts: &[Spec]) -> Engine {
        super::super::test_venue::venue(accounts, &[0])
    }

    /// One account: small amounts, equity around zero, flat slots, slots
    /// of either side in either market, and often none on one side.
    fn account() -> impl Strategy<Value = Spec> {
        let slot = proptest::option::of((
            prop_oneof![-3i64..=3, 0i64..=3],
            prop_oneof![Just(10_000i64), 5_000i64..15_000],
        ));
        (
            prop_oneof![Just(0i64), -2_000_000i64..2_000_000, Just(1_000_000i64)],
            [slot.clone(), slot],
        )
    }

    /// What a build leaves: every slot's entry, the entries counted, the
    /// lots order's list and the evaluations it counted.
    type Built = (Vec<Option<Entry>>, usize, Vec<(i64, u32)>, u64);

    /// Every slot's entry, the entries counted, the lots order and the
    /// evaluations a build of side `winners` of market `mi` on `side` leaves.
    fn build(e: &mut Engine, side: &mut ProRataSide, mi: usize, winners: i64) -> Built {
        let before = e.adl_evaluations;
        e.build_pro_rata(side, mi, winners, 0);
        let entries = (0..e.ledger.positions.len() as u32)
            .map(|s| side.entry(s))
            .collect();
        let order = side.by_lots.iter().collect();
        (
            entries,
            side.entries_kept(),
            order,
            e.adl_evaluations - before,
        )
    }

    /// The plain build: every slot passed over, on a side with no entry.
    fn plain(e: &mut Engine, mi: usize, winners: i64) -> Built {
        let mut side = ProRataSide::default();
        side.start_build(e.ledger.positions.len());
        side.size_thresholds(e.ledger.positions.len());
        let (mut by_t, mut by_l) = (Vec::new(), Vec::new());
        let before = e.adl_evaluations;
        e.index_pro_rata_slots(&mut side, mi, winners, &mut by_t, &mut by_l);
        let entries = (0..e.ledger.positions.len() as u32)
            .map(|s| side.entry(s))
            .collect();
        by_l.sort_by_key(|&(l, s)| (std::cmp::Reverse(l), s));
        (entries, by_l.len(), by_l, e.adl_evaluations - before)
    }

    /// The threshold sums' answers of `side` at a few prices: the total and
    /// Σ lots above each.
    fn sums(side: &ProRataSide) -> Vec<i64> {
        let mut v = vec![side.threshold_total()];
        for x in [
            -1_000_000, -20_000, -10_000, -300, 0, 300, 10_000, 20_000, 1_000_000,
        ] {
            v.push(side.lots_above(x));
        }
        v
    }

    /// `accounts` with one slot each at most (the first market's if any,
    /// else the second's): the accounts a build may skip its pass for.
    fn one_slot_accounts(accounts: &[Spec]) -> Vec<Spec> {
        accounts
            .iter()
            .map(|&(c, [a, b])| (c, if a.is_some() { [a, None] } else { [None, b] }))
            .collect()
    }

    /// Builds the kept `side` (side `winners` of market `mi`, at `x`) and
    /// checks it against the plain pass and a build on a fresh side
    /// (entries, count, lots order, evaluations, threshold sums' answers,
    /// `min_equity_per_lot`: the same, or below it after a pass-free build
    /// whose re-index replaced the least entry).
    fn check_kept_build(
        e: &mut Engine,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        x: i64,
    ) -> Result<(), TestCaseError> {
        let want = plain(e, mi, winners);
        let (before, free) = (e.adl_evaluations, side.keeps.pass_free);
        e.build_pro_rata(side, mi, winners, x);
        let got_evaluations = e.adl_evaluations - before;
        let mut fresh = ProRataSide::default();
        e.build_pro_rata(&mut fresh, mi, winners, x);
        let entries: Vec<_> = (0..e.ledger.positions.len() as u32)
            .map(|s| side.entry(s))
            .collect();
        let order: Vec<_> = side.by_lots.iter().collect();
        prop_assert_eq!((entries, side.entries_kept(), order, got_evaluations), want);
        prop_assert_eq!(sums(side), sums(&fresh));
        if side.keeps.pass_free == free {
            prop_assert_eq!(side.min_equity_per_lot, fresh.min_equity_per_lot);
        } else {
            prop_assert!(side.min_equity_per_lot <= fresh.min_equity_per_lot);
        }
        Ok(())
    }

    /// A round of the kept-side proptests: a step's start, `changes` but
    /// their marks applied, then each market's mark moved by `moves` (kept
    /// at 1 or above).
    fn start_round(e: &mut Engine, changes: &[Change], moves: [i64; 2]) {
        e.reset_step_outputs();
        for c in changes.iter().filter(|c| !matches!(c, Change::Mark(..))) {
            apply(e, c);
        }
        for (m, by) in moves.iter().enumerate() {
            e.marks[m] = (e.marks[m] + by).max(1);
        }
    }

    /// A kept side of one-slot accounts, the mark falling (for the shorts)
    /// and an account of the side changed between builds: the second build
    /// skips the pass (re-indexing the changed account), the third too
    /// after a step start, and each is a fresh build's.
    #[test]
    fn pass_free_build_is_taken() {
        let accounts: Vec<Spec> = (0..12)
            .map(|i| (2_000_000 + i * 10_000, [Some((-1 - i % 3, 10_000)), None]))
            .collect();
        let mut e = venue(&accounts);
        let mut side = ProRataSide::default();
        let check = |e: &mut Engine, side: &mut ProRataSide| {
            check_kept_build(e, side, 0, -1, 0).expect("a kept build is a fresh one")
        };
        // `n` fills of account 2, one lot in and out: `n` entries of the
        // touched log, its position back where it was after an even `n`.
        let churn = |e: &mut Engine, n: usize| {
            for i in 0..n {
                apply(e, &Change::Fill(2, if i % 2 == 0 { 1 } else { -1 }));
            }
        };
        check(&mut e, &mut side);
        e.marks[0] -= 40;
        apply(&mut e, &Change::Fill(3, 1));
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.tail_accounts), (1, 1));
        e.reset_step_outputs();
        e.marks[0] -= 7;
        apply(&mut e, &Change::Fill(5, -2));
        apply(&mut e, &Change::Funding(0, 20));
        check(&mut e, &mut side);
        assert_eq!(side.keeps.pass_free, 2);
        // The mark against the winners: the pass.
        e.marks[0] += 3;
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.builds), (2, 3));
        // A log past its cap but within twice it is kept whole at a step's
        // start: the cursor carried, no pass.
        churn(&mut e, 4_200);
        e.reset_step_outputs();
        assert_eq!(e.ledger.touched_base(), 0);
        e.marks[0] -= 1;
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.builds), (3, 4));
        // Past twice the cap its front is dropped down to the cap with the
        // side's cursor in it: the pass.
        churn(&mut e, 4_200);
        e.reset_step_outputs();
        assert_eq!(e.ledger.touched().len(), 4_096);
        e.marks[0] -= 1;
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.builds), (3, 5));
        e.marks[0] -= 1;
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.builds), (4, 6));
        // A drop that leaves the side's cursor in the log: it moves back
        // with the front (the fill after it re-indexed), no pass.
        churn(&mut e, 4_000);
        e.reset_step_outputs();
        e.marks[0] -= 1;
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.builds), (5, 7));
        let (base, tail) = (e.ledger.touched_base(), side.keeps.tail_accounts);
        churn(&mut e, 200);
        apply(&mut e, &Change::Fill(4, 1));
        e.reset_step_outputs();
        assert!(e.ledger.touched_base() > base);
        e.marks[0] -= 1;
        check(&mut e, &mut side);
        assert_eq!((side.keeps.pass_free, side.keeps.builds), (6, 8));
        assert!(side.keeps.tail_accounts > tail);
    }

    proptest! {
        /// A build (which skips its pass when the side holds no open lots
        /// and no entry) leaves the entries, their count, the lots order and
        /// the evaluations of the plain pass over every slot: on a fresh
        /// side, on one built before, and once the side's positions are
        /// closed against the external counterparty (stale entries first
        /// cleared by a pass, then a build of nothing skipped).
        #[test]
        fn build_matches_the_plain_pass(
            accounts in proptest::collection::vec(account(), 0..40),
        ) {
            let mut e = venue(&accounts);
            for mi in 0..2 {
                for winners in [-1i64, 1] {
                    let mut side = ProRataSide::default();
                    let want = plain(&mut e, mi, winners);
                    prop_assert_eq!(build(&mut e, &mut side, mi, winners), want.clone());
                    prop_assert_eq!(build(&mut e, &mut side, mi, winners), want);
                    for s in e.ledger.market_slots[mi].clone() {
                        let lots = e.ledger.positions[s as usize].lots;
                        if lots.signum() == winners {
                            let owner = e.ledger.slot_owner(s);
                            let value = e.markets[mi].value(-lots, e.marks[mi]);
                            e.ledger.trade_with_external(owner, s, -lots, value);
                        }
                    }
                    prop_assert_eq!(e.slot_lots_on(mi, winners), 0);
                    let want = plain(&mut e, mi, winners);
                    prop_assert_eq!(want.1, 0);
                    prop_assert_eq!(build(&mut e, &mut side, mi, winners), want.clone());
                    prop_assert_eq!(build(&mut e, &mut side, mi, winners), want);
                }
            }
        }

        /// A side kept across builds (each later one diffs the fresh
        /// entries against the records and moves only what changed) leaves
        /// what a build on a fresh side leaves (entries, count, lots order,
        /// evaluations, threshold sums' answers) through random marks,
        /// fills and funding, with the price of each build (its cut) moving
        /// too.
        #[test]
        fn kept_side_matches_a_fresh_build(
            accounts in proptest::collection::vec(account(), 0..40),
            one_slot in any::<bool>(),
            rounds in proptest::collection::vec(
                (proptest::collection::vec(change(), 0..6), -30_000i64..30_000),
                1..8,
            ),
        ) {
            let accounts = if one_slot { one_slot_accounts(&accounts) } else { accounts };
            let mut e = venue(&accounts);
            let mut kept: Vec<ProRataSide> = vec![ProRataSide::default(); 4];
            let builds = rounds.len() as u64;
            for (changes, x) in rounds {
                e.reset_step_outputs();
                for c in &changes {
                    apply(&mut e, c);
                }
                for (i, side) in kept.iter_mut().enumerate() {
                    let (mi, winners) = (i / 2, if i % 2 == 0 { -1 } else { 1 });
                    check_kept_build(&mut e, side, mi, winners, x)?;
                }
            }
            // Every build after the first kept the orders; with accounts of
            // several slots none skipped the pass.
            for side in &kept {
                prop_assert_eq!(side.keeps.builds, builds - 1);
                if e.ledger.max_slots() > 1 {
                    prop_assert_eq!(side.keeps.pass_free + side.keeps.fallbacks, 0);
                }
            }
        }

        /// A kept side of one-slot accounts whose mark moves only for its
        /// winners (the shorts: it falls), through fills, funding and step
        /// starts: every build after the first tries the pass-free path
        /// (taken, or fallen back after its shift), and each leaves what a
        /// fresh build leaves.
        #[test]
        fn pass_free_side_matches_a_fresh_build(
            accounts in proptest::collection::vec(account(), 0..40),
            rounds in proptest::collection::vec(
                (
                    proptest::collection::vec(change(), 0..4),
                    [prop_oneof![0i64..=5, 0i64..3_000], prop_oneof![0i64..=5, 0i64..3_000]],
                    -30_000i64..30_000,
                ),
                1..8,
            ),
        ) {
            let mut e = venue(&one_slot_accounts(&accounts));
            let mut kept: Vec<ProRataSide> = vec![ProRataSide::default(); 2];
            let builds = rounds.len() as u64;
            for (changes, falls, x) in rounds {
                start_round(&mut e, &changes, falls.map(|fall| -fall));
                for (mi, side) in kept.iter_mut().enumerate() {
                    check_kept_build(&mut e, side, mi, -1, x)?;
                }
            }
            for side in &kept {
                prop_assert_eq!(side.keeps.builds, builds - 1);
                // A mark clamped at 1 may not have fallen: still not against.
                prop_assert_eq!(side.keeps.pass_free + side.keeps.fallbacks, builds - 1);
            }
        }

        /// A kept side of one-slot accounts over many steps, each mark
        /// moving either way (for the side's winners: the records' offset
        /// raised and accumulated; against them: the pass, writing at the
        /// offset), with fills and funding between and a step start each
        /// round: every build leaves what a fresh build leaves.
        #[test]
        fn offset_side_matches_a_fresh_build_over_many_steps(
            accounts in proptest::collection::vec(account(), 0..30),
            rounds in proptest::collection::vec(
                (
                    proptest::collection::vec(change(), 0..3),
                    [prop_oneof![-5i64..=5, -400i64..400], prop_oneof![-5i64..=5, -400i64..400]],
                    -30_000i64..30_000,
                ),
                8..30,
            ),
        ) {
            let mut e = venue(&one_slot_accounts(&accounts));
            let mut kept: Vec<ProRataSide> = vec![ProRataSide::default(); 4];
            for (changes, moves, x) in rounds {
                start_round(&mut e, &changes, moves);
                for (i, side) in kept.iter_mut().enumerate() {
                    let (mi, winners) = (i / 2, if i % 2 == 0 { -1 } else { 1 });
                    check_kept_build(&mut e, side, mi, winners, x)?;
                }
            }
        }

        /// The slot equity the build reads (`Engine::equity_of_slot`) is
        /// `Engine::equity` of the slot's owner, one slot or two.
        #[test]
        fn slot_equity_is_the_account_equity(
            accounts in proptest::collection::vec(account(), 0..40),
        ) {
            let e = venue(&accounts);
            for s in 0..e.ledger.positions.len() as u32 {
                let p = e.ledger.positions[s as usize];
                let owner = e.ledger.slot_owner(s);
                let value = e.markets[p.market as usize].value(p.lots, e.marks[p.market as usize]);
                prop_assert_eq!(e.equity_of_slot(owner, s, value), e.equity(owner));
            }
        }
    }
}
