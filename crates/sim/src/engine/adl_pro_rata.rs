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
//!   linear in the price); the positions sit in a [`SumTree`] keyed by that
//!   threshold, so the Σ over the positions in profit at `p` is O(log c);
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
use std::collections::BTreeSet;

use crate::venue::adl::{self, AdlCandidate, AdlPolicy};

use super::Engine;
use super::sum_tree::SumTree;

/// What the index holds of one position of the side.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Owner of the position.
    account: u32,
    /// Lots (absolute).
    lots: i64,
    /// The position is in profit at price `p` iff `side × p ≥ threshold`.
    threshold: i64,
    /// Account equity (micro-USD) per lot of the position, rounded down: its
    /// lots are capped at a loss per lot above this.
    equity_per_lot: i64,
}

/// Key of the walk: lots (largest first), account, slot.
type LotsKey = (Reverse<i64>, u32, u32);

/// One (market, side): its open positions in accounts with positive equity.
#[derive(Default, Clone)]
pub(super) struct ProRataSide {
    /// The step the index was built in (`None`: never built).
    built_step: Option<u32>,
    /// How much of the ledger's touched log the index has applied.
    cursor: usize,
    /// Per slot: its entry, if indexed.
    entries: Vec<Option<Entry>>,
    /// Entries in walk order.
    by_lots: BTreeSet<LotsKey>,
    /// Lots by profit threshold.
    by_threshold: SumTree,
    /// Entries by equity per lot.
    by_equity: BTreeSet<(i64, u32)>,
    /// Per slot: the allocation that set it aside (`stamp`).
    set_aside: Vec<u32>,
    /// Allocations so far.
    stamp: u32,
    /// Per account: the sync that last re-indexed it.
    seen: Vec<u32>,
    /// Syncs so far.
    syncs: u32,
    /// Candidates whose lots are capped at this allocation's price.
    capped: Vec<AdlCandidate>,
}

/// A share of the allocation: the position and the f64 numbers `allocate` uses.
#[derive(Clone, Copy)]
struct Share {
    account: u32,
    slot: u32,
    lots: i64,
    floor: i64,
    frac: f64,
}

impl Share {
    /// `allocate`'s order for the lots left: largest fractional part, then
    /// account, then slot.
    fn before(&self, other: &Share) -> bool {
        other
            .frac
            .total_cmp(&self.frac)
            .then(self.account.cmp(&other.account))
            .then(self.slot.cmp(&other.slot))
            .is_lt()
    }
}

/// Above this `needed × Σ lots` the f64 shares are not exact enough for the
/// walk to reproduce them (see the module documentation).
const EXACT_LIMIT: i128 = 1 << 53;

impl ProRataSide {
    /// Removes the entry of `slot`, if any.
    fn remove(&mut self, slot: u32) {
        if let Some(e) = self.entries[slot as usize].take() {
            self.by_lots.remove(&(Reverse(e.lots), e.account, slot));
            self.by_threshold.remove((e.threshold, slot), e.lots);
            self.by_equity.remove(&(e.equity_per_lot, slot));
        }
    }

    /// Indexes `slot` with entry `e`.
    fn insert(&mut self, slot: u32, e: Entry) {
        self.by_lots.insert((Reverse(e.lots), e.account, slot));
        self.by_threshold.insert((e.threshold, slot), e.lots);
        self.by_equity.insert((e.equity_per_lot, slot));
        self.entries[slot as usize] = Some(e);
    }

    /// Starts a new allocation's set-aside marks.
    fn next_stamp(&mut self) -> u32 {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.set_aside.fill(0);
            self.stamp = 1;
        }
        self.stamp
    }
}

impl Engine {
    /// The index entry of the position in slot `s` of `owner` (equity
    /// `equity`), if it is open on side `winners` in an account with positive
    /// equity.
    fn pro_rata_entry(&self, owner: u32, s: u32, winners: i64, equity: i64) -> Option<Entry> {
        let q = self.ledger.positions[s as usize];
        if q.lots.signum() != winners || equity <= 0 {
            return None;
        }
        let lots = q.lots.abs();
        let per_lot_tick = self.markets[q.market as usize].micros_per_lot_tick as i128;
        let d = i128::from(lots) * per_lot_tick;
        let cost = i128::from(q.cost.0);
        // pnl(p) = lots·p·k − cost > 0: long, p > cost / d; short, p < −cost / d.
        let threshold = if q.lots > 0 {
            cost.div_euclid(d) + 1
        } else {
            -((-cost - 1).div_euclid(d))
        };
        let bound = i128::from(i64::MAX / 4);
        Some(Entry {
            account: owner,
            lots,
            threshold: threshold.clamp(-bound, bound) as i64,
            equity_per_lot: equity / lots,
        })
    }

    /// Brings the index of side `winners` (±1) of market `mi` up to date:
    /// built at the first allocation of a step, then re-indexing the accounts
    /// the ledger logged as changed since the last one.
    fn sync_pro_rata(&mut self, side: &mut ProRataSide, mi: usize, winners: i64) {
        if side.built_step != Some(self.step) {
            self.build_pro_rata(side, mi, winners);
            return;
        }
        side.syncs = side.syncs.wrapping_add(1).max(1);
        let log = self.ledger.touched();
        for &a in &log[side.cursor..] {
            if side.seen[a as usize] == side.syncs {
                continue;
            }
            side.seen[a as usize] = side.syncs;
            let acc = &self.ledger.accounts[a as usize];
            let mut equity = None;
            for s in acc.first_slot..acc.first_slot + acc.slot_count {
                if self.ledger.positions[s as usize].market as usize != mi {
                    continue;
                }
                side.remove(s);
                let e = *equity.get_or_insert_with(|| self.equity(a).0);
                if let Some(entry) = self.pro_rata_entry(a, s, winners, e) {
                    self.adl_evaluations += 1;
                    side.insert(s, entry);
                }
            }
        }
        side.cursor = log.len();
    }

    /// Indexes every open position of side `winners` of market `mi` in an
    /// account with positive equity; starts the log of changed accounts for
    /// the step if nothing did.
    fn build_pro_rata(&mut self, side: &mut ProRataSide, mi: usize, winners: i64) {
        if !self.ledger.tracking_touched() {
            self.ledger.track_touched(true);
        }
        side.built_step = Some(self.step);
        side.cursor = self.ledger.touched().len();
        let slots = self.ledger.positions.len();
        if side.entries.len() != slots {
            side.entries = vec![None; slots];
            side.set_aside = vec![0; slots];
        } else {
            for &(_, _, s) in &side.by_lots {
                side.entries[s as usize] = None;
            }
        }
        if side.seen.len() != self.ledger.accounts.len() {
            side.seen = vec![0; self.ledger.accounts.len()];
            side.syncs = 0;
        }
        let mut by_threshold = Vec::new();
        let mut by_lots = Vec::new();
        let mut by_equity = Vec::new();
        for &s in &self.ledger.market_slots[mi] {
            if self.ledger.positions[s as usize].lots.signum() != winners {
                continue;
            }
            let owner = self.ledger.slot_owner(s);
            let Some(e) = self.pro_rata_entry(owner, s, winners, self.equity(owner).0) else {
                continue;
            };
            self.adl_evaluations += 1;
            by_threshold.push(((e.threshold, s), e.lots));
            by_lots.push((Reverse(e.lots), e.account, s));
            by_equity.push((e.equity_per_lot, s));
            side.entries[s as usize] = Some(e);
        }
        by_threshold.sort_unstable_by_key(|x| x.0);
        side.by_threshold.build_sorted(&by_threshold);
        side.by_lots = by_lots.into_iter().collect();
        side.by_equity = by_equity.into_iter().collect();
    }

    /// `pro_rata` ADL of `needed` lots of the bankrupt account `a` at
    /// bankruptcy price `price` against side `winners` of market `mi`: the
    /// fills [`adl::allocate`] gives on every candidate, from the side's index.
    /// Writes the candidates filled (account order) and the fills
    /// `(candidate index, lots)`; returns the lots filled.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn deleverage_pro_rata(
        &mut self,
        side: &mut ProRataSide,
        mi: usize,
        winners: i64,
        a: u32,
        price: i64,
        needed: i64,
        cands: &mut Vec<AdlCandidate>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        cands.clear();
        fills.clear();
        if needed <= 0 {
            return 0;
        }
        self.sync_pro_rata(side, mi, winners);
        let total = self.pro_rata_total(side, mi, winners, a, price);
        if total == 0 {
            return 0;
        }
        let mut chosen = Vec::new();
        let exact = i128::from(needed) * i128::from(total) < EXACT_LIMIT;
        if total <= needed {
            self.every_pro_rata_candidate(side, winners * price, &mut chosen);
        } else if !exact
            || !self.pro_rata_shares_counted(side, winners * price, needed, total, &mut chosen)
        {
            return self.pro_rata_by_full_collection(mi, winners, a, price, needed, cands, fills);
        }
        chosen.sort_unstable_by_key(|&(account, slot, _)| (account, slot));
        for &(_, s, lots) in &chosen {
            self.adl_evaluations += 1;
            let c = self.adl_candidate(s, price, false);
            debug_assert!(
                c.is_some_and(|c| c.lots >= lots),
                "Invariant: a pro_rata fill goes to a candidate holding the lots"
            );
            if let Some(c) = c {
                cands.push(c);
                fills.push((cands.len() - 1, lots));
            }
        }
        fills.iter().map(|f| f.1).sum()
    }

    /// [`pro_rata_shares`], its index reads counted as candidate evaluations.
    fn pro_rata_shares_counted(
        &mut self,
        side: &ProRataSide,
        x: i64,
        needed: i64,
        total: i64,
        out: &mut Vec<(u32, u32, i64)>,
    ) -> bool {
        let visited = Cell::new(0);
        let done = pro_rata_shares(side, x, needed, total, out, &visited);
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
        let stamp = side.next_stamp();
        let x = winners * price;
        let mut total = side.by_threshold.total() - side.by_threshold.sum_above((x, u32::MAX));
        side.capped.clear();
        let acc = &self.ledger.accounts[a as usize];
        for s in acc.first_slot..acc.first_slot + acc.slot_count {
            if let Some(e) = side.entries[s as usize] {
                side.set_aside[s as usize] = stamp;
                if e.threshold <= x {
                    total -= e.lots;
                }
            }
        }
        let m = &self.markets[mi];
        let loss = (m.value(-winners, price) - m.value(-winners, self.marks[mi])).0;
        if loss > 0 {
            let capped: Vec<u32> = side.by_equity.range(..(loss, 0)).map(|&(_, s)| s).collect();
            for s in capped {
                let Some(e) = side.entries[s as usize] else {
                    continue;
                };
                if side.set_aside[s as usize] == stamp || e.threshold > x {
                    continue;
                }
                side.set_aside[s as usize] = stamp;
                total -= e.lots;
                self.adl_evaluations += 1;
                if let Some(c) = self.adl_candidate(s, price, false) {
                    total += c.lots;
                    side.capped.push(c);
                }
            }
            side.capped
                .sort_unstable_by_key(|c| (Reverse(c.lots), c.account, c.slot));
        }
        total
    }

    /// Every candidate at `x = side × price`, as `(account, slot, lots)`.
    fn every_pro_rata_candidate(&self, side: &ProRataSide, x: i64, out: &mut Vec<(u32, u32, i64)>) {
        let stamp = side.stamp;
        side.by_threshold
            .for_each_up_to((x, u32::MAX), &mut |(_, s), lots| {
                if side.set_aside[s as usize] != stamp {
                    let account = side.entries[s as usize].map_or(0, |e| e.account);
                    out.push((account, s, lots));
                }
            });
        out.extend(side.capped.iter().map(|c| (c.account, c.slot, c.lots)));
    }

    /// The reference: every candidate of the side collected in account order
    /// and [`adl::allocate`] (used where the index's f64 shares would not be
    /// exact).
    #[allow(clippy::too_many_arguments)]
    fn pro_rata_by_full_collection(
        &mut self,
        mi: usize,
        winners: i64,
        a: u32,
        price: i64,
        needed: i64,
        cands: &mut Vec<AdlCandidate>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        cands.clear();
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
        adl::allocate(&AdlPolicy::ProRata, cands, needed, &mut self.rng, fills)
    }

    /// Debug builds, small markets: the index's fills are those of
    /// [`adl::allocate`] on a fresh collection of every candidate.
    #[cfg(debug_assertions)]
    pub(super) fn check_pro_rata_against_full(
        &self,
        full: &mut [AdlCandidate],
        needed: i64,
        cands: &[AdlCandidate],
        fills: &[(usize, i64)],
    ) {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let mut want = Vec::new();
        adl::allocate(&AdlPolicy::ProRata, full, needed, &mut rng, &mut want);
        let as_list = |c: &[AdlCandidate], f: &[(usize, i64)]| -> Vec<(AdlCandidate, i64)> {
            f.iter().map(|&(i, l)| (c[i], l)).collect()
        };
        assert_eq!(
            as_list(cands, fills),
            as_list(full, &want),
            "Invariant: the pro_rata index fills as allocate on every candidate"
        );
    }
}

/// The candidates at `x = side × price` in walk order (lots desc, account,
/// slot): the indexed ones in profit and not set aside, merged with the
/// capped ones.
/// Counts in `visited` the index entries it reads (skipped ones included).
fn walk<'a>(
    side: &'a ProRataSide,
    x: i64,
    visited: &'a Cell<u64>,
) -> impl Iterator<Item = (i64, u32, u32)> + 'a {
    let stamp = side.stamp;
    let mut indexed = side
        .by_lots
        .iter()
        .filter(move |&&(_, _, s)| {
            visited.set(visited.get() + 1);
            side.set_aside[s as usize] != stamp
                && side.entries[s as usize].is_some_and(|e| e.threshold <= x)
        })
        .map(|&(Reverse(l), acc, s)| (l, acc, s))
        .peekable();
    let mut capped = side
        .capped
        .iter()
        .map(|c| (c.lots, c.account, c.slot))
        .peekable();
    std::iter::from_fn(move || match (indexed.peek(), capped.peek()) {
        (Some(&i), Some(&c)) => {
            if (Reverse(i.0), i.1, i.2) < (Reverse(c.0), c.1, c.2) {
                indexed.next()
            } else {
                capped.next()
            }
        }
        (Some(_), None) => indexed.next(),
        (None, _) => capped.next(),
    })
}

/// The allocation of `needed` lots over candidates holding `total > needed`
/// (`needed × total` below [`EXACT_LIMIT`]), as `allocate` rounds it, into
/// `out` as `(account, slot, lots)`, counting in `visited` the index entries
/// read. Returns false if the walk ended with lots left (never under the
/// limit; the caller then falls back).
fn pro_rata_shares(
    side: &ProRataSide,
    x: i64,
    needed: i64,
    total: i64,
    out: &mut Vec<(u32, u32, i64)>,
    visited: &Cell<u64>,
) -> bool {
    let share_of = |(lots, account, slot): (i64, u32, u32)| {
        let s = needed as f64 * lots as f64 / total as f64;
        Share {
            account,
            slot,
            lots,
            floor: (s.floor() as i64).clamp(0, lots),
            frac: s - s.floor(),
        }
    };
    let mut stream = walk(side, x, visited).map(share_of).peekable();
    // The shares of at least one lot: a prefix of the walk.
    let mut whole = Vec::new();
    while let Some(s) = stream.next_if(|s| s.floor >= 1) {
        whole.push(s);
    }
    let mut left = needed - whole.iter().map(|s| s.floor).sum::<i64>();
    whole.sort_unstable_by(|p, q| {
        if p.before(q) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    let mut extra = vec![0i64; whole.len()];
    let mut w = 0;
    // The lots left, one each in `allocate`'s order: the merge of the whole
    // shares (by fractional part) and the rest of the walk (fractional part =
    // share, decreasing along the walk).
    while left > 0 {
        let take_whole = match (whole.get(w), stream.peek()) {
            (Some(p), Some(q)) => p.before(q),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        if take_whole {
            if whole[w].floor < whole[w].lots {
                extra[w] = 1;
                left -= 1;
            }
            w += 1;
        } else if let Some(s) = stream.next() {
            out.push((s.account, s.slot, 1));
            left -= 1;
        }
    }
    out.extend(
        whole
            .iter()
            .zip(&extra)
            .map(|(s, e)| (s.account, s.slot, s.floor + e)),
    );
    true
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn candidate(account: u32, slot: u32, lots: i64) -> AdlCandidate {
        AdlCandidate {
            account,
            slot,
            lots,
            pnl: 1.0,
            entry_value: lots as f64,
            notional: lots as f64,
            equity: 1.0,
            wallet: 0.0,
            maintenance: 0.0,
            loss_per_lot: 0.0,
            lot_value: 1.0,
        }
    }

    /// A random side: `(account, slot, lots, threshold, capped lots)`; the
    /// positions with `threshold ≤ 0` are in profit at `x = 0`.
    fn side_of(rows: &[(u32, u32, i64, i64, Option<i64>)]) -> (ProRataSide, i64) {
        let mut side = ProRataSide {
            entries: vec![None; rows.len()],
            set_aside: vec![0; rows.len()],
            ..ProRataSide::default()
        };
        let stamp = side.next_stamp();
        let mut sorted = Vec::new();
        for &(account, slot, lots, threshold, _) in rows {
            let e = Entry {
                account,
                lots,
                threshold,
                equity_per_lot: 0,
            };
            side.entries[slot as usize] = Some(e);
            side.by_lots.insert((Reverse(lots), account, slot));
            side.by_equity.insert((0, slot));
            sorted.push(((threshold, slot), lots));
        }
        sorted.sort_unstable_by_key(|x| x.0);
        side.by_threshold.build_sorted(&sorted);
        let mut total = side.by_threshold.total() - side.by_threshold.sum_above((0, u32::MAX));
        for &(account, slot, lots, threshold, capped) in rows {
            if let (Some(c), true) = (capped, threshold <= 0) {
                side.set_aside[slot as usize] = stamp;
                total += c - lots;
                if c > 0 {
                    side.capped.push(candidate(account, slot, c));
                }
            }
        }
        side.capped
            .sort_unstable_by_key(|c| (Reverse(c.lots), c.account, c.slot));
        (side, total)
    }

    /// On random sides (few sizes and accounts: ties in shares and accounts
    /// are common; some positions out of profit, some capped), the index's
    /// allocation is `allocate`'s on every candidate in account order.
    #[test]
    fn index_allocation_is_allocate_s_on_every_candidate() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for case in 0..3000 {
            let n = rng.random_range(1..50u32);
            let rows: Vec<(u32, u32, i64, i64, Option<i64>)> = (0..n)
                .map(|slot| {
                    let lots = if rng.random_bool(0.1) {
                        rng.random_range(1..2000)
                    } else {
                        rng.random_range(1..7)
                    };
                    let capped = rng.random_bool(0.15).then(|| rng.random_range(0..lots));
                    // Slots of one account are consecutive, as in the ledger.
                    (slot / 2, slot, lots, rng.random_range(-3..2), capped)
                })
                .collect();
            let (side, total) = side_of(&rows);
            let mut all: Vec<AdlCandidate> = rows
                .iter()
                .filter(|r| r.3 <= 0 && r.4 != Some(0))
                .map(|r| candidate(r.0, r.1, r.4.unwrap_or(r.2)))
                .collect();
            assert_eq!(
                all.iter().map(|c| c.lots).sum::<i64>(),
                total,
                "case {case}"
            );
            if total < 2 {
                continue;
            }
            let needed = rng.random_range(1..total);
            let mut want = Vec::new();
            let mut r = ChaCha8Rng::seed_from_u64(0);
            adl::allocate(&AdlPolicy::ProRata, &mut all, needed, &mut r, &mut want);
            let want: Vec<(u32, u32, i64)> = want
                .iter()
                .map(|&(i, l)| (all[i].account, all[i].slot, l))
                .collect();
            let mut got = Vec::new();
            assert!(
                pro_rata_shares(&side, 0, needed, total, &mut got, &Cell::new(0)),
                "case {case}"
            );
            got.sort_unstable();
            assert_eq!(got, want, "case {case}: needed {needed} of {total}");
        }
    }
}
