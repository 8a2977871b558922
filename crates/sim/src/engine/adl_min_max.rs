//! `min_max_leverage` at venue scale (docs/model.md §6, docs/performance.md
//! "ADL per policy").
//!
//! The rule ([`crate::venue::adl_min_max`]) takes each lot from the candidate
//! whose leverage is highest before that lot; only candidates near the top of
//! the side's leverage order give anything. Per (market, side) the engine keeps
//! the side's open positions (equity > 0) in a sorted set by exact leverage
//! `N / E` (micro-USD notional and equity at the mark), then account, then
//! slot: built at the first ADL of a step against the side (O(c log c)), then
//! kept up to date from the ledger's log of touched accounts (O(log c) per
//! position re-keyed), like the ranked queue of [`super::adl_queue`]. Marks,
//! margin multipliers and collateral prices move only at the start of a step,
//! so a key changes only when its account is touched.
//!
//! For one bankrupt position the engine reads candidates from the top of the
//! set, evaluating each against the bankruptcy price (in profit there, the
//! lots its equity absorbs), selects the first `needed` tokens of the ones read
//! ([`crate::venue::adl_min_max::select_lots`]), and stops as soon as the last
//! token selected comes before the next candidate's first token; else it reads
//! twice as many. It first reads `needed` of them (at most [`READ_MAX`]): each offers at
//! least one lot before the next one's first, so that many always settle it. A close costs O(k log k) for the k candidates it reads, at
//! most about twice those that give a lot.
//!
//! Positions a close finds not in profit at its bankruptcy price are parked
//! out of the order, by the price up to which they would be (`reach`), and
//! come back at the first close whose price is within it: a close never reads
//! them again for nothing (in the crash of `benches/adl-crash.toml` they were
//! most of what the closes read before parking).

use crate::money::Micros;
use crate::venue::adl::AdlFillTarget;
use crate::venue::adl_min_max::{
    LevCandidate, LotTerms, ends_before, select_lots_general, select_within_head,
};

use super::Engine;
use super::adl_lev_side::{LevScratch, LevSide, SlotKeys};
use super::adl_request::AdlRequest;
use super::lev_key::LevKey;

/// At most this many candidates are read before a close's first selection
/// (it reads `needed` of them, which always settle it when each offers a
/// lot, as they do at venue scale; past that the reads double until the
/// selection ends before the next candidate). 256 before round 9: a close of
/// 1,000 lots then took three or four selections over ever more candidates
/// (docs/performance.md, "`min_max_leverage`, round 9").
const READ_MAX: usize = 4096;

impl Engine {
    /// The key of slot `s` if its position is open on side `winners` and its
    /// account's equity is positive.
    fn lev_key(&mut self, s: u32, winners: i64) -> Option<LevKey> {
        if self.ledger.positions[s as usize].lots.signum() != winners {
            return None;
        }
        self.adl_evaluations += 1;
        self.lev_key_uncounted(s, winners)
    }

    /// [`Engine::lev_key`] without counting an evaluation.
    ///
    /// Inlined: the per-step build calls it for every slot on the side, and
    /// the call's saved and restored registers were ~16 of its ~100
    /// instructions (docs/performance.md, "`min_max_leverage` per-close
    /// work, round 22").
    #[inline(always)]
    fn lev_key_uncounted(&self, s: u32, winners: i64) -> Option<LevKey> {
        let p = self.ledger.positions[s as usize];
        if p.lots.signum() != winners {
            return None;
        }
        let account = self.ledger.slot_owner(s);
        let mi = p.market as usize;
        let value = self.markets[mi].value(p.lots, self.marks[mi]);
        let equity = self.equity_of_slot(account, s, value).0;
        // `value` is an exact product, so its magnitude is the value of the
        // lots' magnitude.
        let notional = value.0.abs();
        (equity > 0).then(|| LevKey::new(notional, equity, account, s))
    }

    /// Appends to `keys` the key of each slot of `slots` (a market's) whose
    /// position is open on side `winners`, counting an evaluation each, as
    /// [`Engine::lev_key`] would for every slot. The side is tested here,
    /// inline: most of a market's slots are on the other side or flat, and a
    /// call of `lev_key` for each (its saved registers, its checks) was most
    /// of the build's 380 M instructions at 100,000 accounts
    /// (docs/performance.md, "`min_max_leverage` build, round 19b").
    fn build_lev_keys(&mut self, slots: &[u32], winners: i64, keys: &mut Vec<LevKey>) {
        let mut evaluated = 0;
        for &s in slots {
            if self.ledger.positions[s as usize].lots.signum() != winners {
                continue;
            }
            evaluated += 1;
            if let Some(k) = self.lev_key_uncounted(s, winners) {
                keys.push(k);
            }
        }
        self.adl_evaluations += evaluated;
    }

    /// Builds side `winners` of market `mi` (at the first ADL of a step):
    /// its keys shifted with the mark where [`Engine::keep_lev_side`] can,
    /// else every slot of the market keyed; the log of touched accounts
    /// started and kept across steps from then on.
    fn build_lev_side(&mut self, side: &mut LevSide, mi: usize, winners: i64) {
        if !self.ledger.tracking_touched() {
            self.ledger.track_touched(true);
        }
        self.ledger.keep_touched_log();
        if side.synced_at.is_some() {
            if self.keep_lev_side(side, mi, winners) {
                side.kept.0 += 1;
                side.synced_at = Some(self.sync_point(mi));
                return;
            }
            side.kept.1 += 1;
        }
        let cursor = self.ledger.touched().len();
        side.touched
            .start(self.step, self.ledger.accounts.len(), cursor);
        side.key_of.reset(self.ledger.positions.len());
        let slots = std::mem::take(&mut self.ledger.market_slots[mi]);
        let mut keys = std::mem::take(&mut side.build_keys);
        keys.clear();
        self.build_lev_keys(&slots, winners, &mut keys);
        self.ledger.market_slots[mi] = slots;
        for k in &keys {
            side.key_of.set(k.slot, Some((*k, None)));
        }
        side.order.build(&mut keys);
        side.build_keys = keys;
        side.parked.clear();
        side.keyed_bankrupt = None;
        side.synced_at = Some(self.sync_point(mi));
    }

    /// A build of side `winners` of market `mi` without the pass over the
    /// market's slots, where it is exact: no collateral book and no account
    /// of several slots (an equity is `A + value(lots, mark)`, `A` the
    /// account's lines), the touched log kept since the side's last build
    /// (same epoch, its cursor still in the log: every account changed
    /// since is in its tail) and the market's lot-tick value unchanged.
    /// Then each key of an account not in the tail (in the order or
    /// parked) moves with the mark alone: `N' = value(|lots|, p')` and `E'
    /// = E + value(lots, p') − value(lots, p)` (exact integers; no key if
    /// `E' ≤ 0`); the tail's accounts are keyed from the ledger; and the
    /// order is built from those keys as a full build does. Taken only if
    /// then every on-side slot of the market was keyed or is in the tail
    /// (their lots sum to the side's open lots: an on-side slot left out
    /// at the last build, at equity ≤ 0, may have risen above zero); else
    /// (or on an overflow) false, and the caller builds in full, which
    /// rewrites every part of the side. Counts one evaluation per on-side
    /// slot, as the full build.
    fn keep_lev_side(&mut self, side: &mut LevSide, mi: usize, winners: i64) -> bool {
        let Some(then) = side.synced_at else {
            return false;
        };
        if !self.shift_is_exact(&then, mi)
            || side.key_of.len() != self.ledger.positions.len()
            || !self.resume_touched(&mut side.touched, &then)
        {
            return false;
        }
        let pending = side.touched.take_pending(self.ledger.touched());
        let mut keys = std::mem::take(&mut side.build_keys);
        keys.clear();
        let (m, mark) = (&self.markets[mi], self.marks[mi]);
        let positions = &self.ledger.positions;
        let touched = &side.touched;
        let (mut evaluated, mut lots_on) = (0u64, 0i64);
        let shifted = side.key_of.rekey_each(|s, account, notional, equity| {
            if touched.met_in_last_sync(account) {
                return Some(None);
            }
            let lots = positions[s as usize].lots;
            // The key's signed value at the last build's mark: its
            // notional, `|value(lots, p)|`, with the side's sign.
            let old = winners * notional;
            debug_assert!(
                lots.signum() == winners
                    && self.ledger.slot_owner(s) == account
                    && old == m.value(lots, then.mark).0,
                "Invariant: an untouched keyed slot is still its owner's, on the side, its notional at the last build's mark"
            );
            let new = m.value(lots, mark).0;
            let equity = equity.checked_add(new.checked_sub(old)?)?;
            evaluated += 1;
            lots_on += lots.abs();
            let key = (equity > 0).then(|| LevKey::new(new.abs(), equity, account, s));
            if let Some(key) = key {
                keys.push(key);
            }
            Some(key)
        });
        if !shifted {
            side.build_keys = keys;
            side.touched.recycle(pending);
            return false;
        }
        for &a in &pending {
            let acc = &self.ledger.accounts[a as usize];
            for s in acc.first_slot..acc.first_slot + acc.slot_count {
                let p = self.ledger.positions[s as usize];
                if p.market as usize != mi || p.lots.signum() != winners {
                    continue;
                }
                evaluated += 1;
                lots_on += p.lots.abs();
                let key = self.lev_key_uncounted(s, winners);
                if let Some(key) = key {
                    side.key_of.set(s, Some((key, None)));
                    keys.push(key);
                }
            }
        }
        side.touched.recycle(pending);
        if lots_on != self.slot_lots_on(mi, winners) {
            side.build_keys = keys;
            return false;
        }
        self.adl_evaluations += evaluated;
        side.order.build(&mut keys);
        side.build_keys = keys;
        side.parked.clear();
        side.keyed_bankrupt = None;
        #[cfg(debug_assertions)]
        self.check_kept_lev_side(side, mi, winners, evaluated);
        true
    }

    /// Debug builds, markets under 2^16 slots: a kept build left every
    /// slot's key as a full build gives it (in the order, none parked), the
    /// order as their sort, and counted as many evaluations.
    #[cfg(debug_assertions)]
    fn check_kept_lev_side(&self, side: &LevSide, mi: usize, winners: i64, evaluated: u64) {
        if self.ledger.positions.len() > 1 << 16 {
            return;
        }
        let mut want = Vec::new();
        let mut on_side = 0u64;
        for &s in &self.ledger.market_slots[mi] {
            on_side += u64::from(self.ledger.positions[s as usize].lots.signum() == winners);
            let k = self.lev_key_uncounted(s, winners);
            let got = side.key_of.get(s);
            assert!(
                match k {
                    Some(k) =>
                        matches!(got, Some((g, None)) if (g.notional, g.equity, g.account, g.slot) == (k.notional, k.equity, k.account, k.slot)),
                    None => got.is_none(),
                },
                "Invariant: a kept build keys each slot as a full build"
            );
            want.extend(k);
        }
        want.sort_unstable();
        let got = side.order.to_vec();
        assert!(
            on_side == evaluated
                && side.parked.is_empty()
                && got.len() == want.len()
                && got.iter().zip(&want).all(|(g, w)| {
                    (g.notional, g.equity, g.account, g.slot, g.ratio().to_bits())
                        == (w.notional, w.equity, w.account, w.slot, w.ratio().to_bits())
                }),
            "Invariant: a kept build's order is a full build's"
        );
    }

    /// Brings side `winners` of market `mi` up to date: built at the first ADL
    /// of a step, else re-keyed for the accounts the ledger logged since.
    pub(super) fn sync_lev_side(&mut self, side: &mut LevSide, mi: usize, winners: i64) {
        if !side.touched.built_in(self.step) {
            self.build_lev_side(side, mi, winners);
            return;
        }
        let keyed = side.keyed_bankrupt.take();
        let log = self.ledger.touched();
        let pending = match keyed {
            Some(b) => {
                side.touched
                    .take_pending_after_fills(log, &side.keyed_winners, b)
                    .0
            }
            None => side.touched.take_pending(log),
        };
        // Two passes: the new keys first (each account's records and the
        // slot's entry read with no sorted-set search between them, so the
        // reads overlap; a key that did not move goes no further), then the
        // set's removals and insertions.
        let mut fresh = std::mem::take(&mut side.fresh);
        fresh.clear();
        for &a in &pending {
            let acc = &self.ledger.accounts[a as usize];
            for s in acc.first_slot..acc.first_slot + acc.slot_count {
                if self.ledger.positions[s as usize].market as usize == mi {
                    let k = self.lev_key(s, winners);
                    if !side.unchanged(s, k) {
                        fresh.push((s, k));
                    }
                }
            }
        }
        // In any order: most new keys land in the order's far ranges (a
        // push each), and the order ends the same whatever the order of the
        // insertions (a pulled range is sorted).
        for &(s, k) in &fresh {
            side.rekey(s, k);
        }
        side.fresh = fresh;
        side.touched.recycle(pending);
        #[cfg(debug_assertions)]
        if keyed.is_some() {
            for &s in &side.keyed_slots {
                let k = self.lev_key_uncounted(s, winners);
                debug_assert!(
                    match k {
                        Some(k) => side.key_of.in_order_as(s, &k),
                        None => side.key_of.get(s).is_none(),
                    },
                    "Invariant: a winner re-keyed from its fill holds the key the ledger gives it"
                );
            }
        }
    }

    /// Gives each winner of a close (`read`, `lots` each), taken out of
    /// `side`'s order, its key after its fill, from the fill alone: its
    /// notional less `lots × v` and its equity less `lots × ℓ` (`terms`),
    /// what booking the fill leaves in the ledger (as
    /// [`Engine::book_adl_fills`] finds each winner's equity after its
    /// fill). The next sync then passes over what the booking logs for
    /// them instead of reading each winner's account, position and key
    /// entry again (docs/performance.md, "`min_max_leverage`, round 14").
    /// Only for winners whose account has one position (its equity moves
    /// with this fill alone); if any other wins, or an amount leaves
    /// `i64`, the next sync re-keys from the whole log, as before.
    fn key_winners_from_fills(
        &mut self,
        side: &mut LevSide,
        read: &[LevCandidate],
        lots: &[i64],
        terms: LotTerms,
        bankrupt: u32,
    ) {
        side.keyed_winners.clear();
        side.keyed_slots.clear();
        let mut all = true;
        for (c, &q) in read.iter().zip(lots) {
            if q == 0 {
                continue;
            }
            let single = self.ledger.holds_one_slot(c.account);
            let Some(after) = single.then(|| key_after_fill(c, q, terms)).flatten() else {
                all = false;
                continue;
            };
            if let Some(k) = after {
                // As the sync's `lev_key` counts a position still open.
                self.adl_evaluations += 1;
                if k.equity > 0 {
                    side.put_back(c.slot, k);
                }
            }
            side.keyed_winners.push(c.account);
            side.keyed_slots.push(c.slot);
        }
        side.flush_put_back();
        side.keyed_bankrupt = all.then_some(bankrupt);
    }

    /// The position keyed `k` against bankruptcy price `price`, given the
    /// loss per lot against the mark `loss` (as [`Engine::adl_candidate`]):
    /// `Ok(lots offered)` (0 if its equity absorbs no lot), or `Err(reach)` if
    /// it is not in profit there: it is in profit at a price `p` iff
    /// `reach ≥ −side × p`.
    fn lev_offer(&self, k: &LevKey, price: i64, loss: i64) -> Result<i64, i64> {
        let q = self.ledger.positions[k.slot as usize];
        let m = &self.markets[q.market as usize];
        if (m.value(q.lots, price) - q.cost).0 <= 0 {
            // value(lots, p) − cost > 0 ⟺ |lots|·k·(−side × p) < −cost
            // ⟺ −side × p ≤ ⌊(−cost − 1) / (|lots|·k)⌋.
            let per_tick = i128::from(m.value(q.lots.abs(), 1).0);
            let reach = (-i128::from(q.cost.0) - 1).div_euclid(per_tick);
            return Err(i64::try_from(reach).unwrap_or(i64::MAX));
        }
        Ok(if loss > 0 {
            absorbed_lots(q.lots.abs(), k.equity, loss)
        } else {
            q.lots.abs()
        })
    }

    /// What [`Engine::lev_offer`] and, for those that win, the close after
    /// it read of the candidates of `batch`, loaded in a pass that does
    /// nothing else: the position, the slot's key entry and the account's
    /// flags (the ledger's byte). Each evaluation's arithmetic (a division)
    /// waits on its load, so the offers' loop keeps only a few loads in
    /// flight; this one keeps many, and the winners' entries and flags are
    /// loaded beside the positions rather than in a second pass after the
    /// selection (docs/performance.md, "Loads in passes of their own,
    /// round 32"). Reads only: the winners' dirty mark, which that second
    /// pass set, is the booking's (`Ledger::trade_distinct_winner`,
    /// `trade_between`), in the same order. Not the slot's owner: the
    /// booking takes it from the candidate, so a load of it here would be a
    /// miss for nothing (round 19).
    fn touch_lev_candidates(&self, keys: &SlotKeys, batch: &[LevKey]) {
        let mut fold = 0u64;
        for k in batch {
            let lots = self.ledger.positions[k.slot as usize].lots;
            let entry = keys.equity(k.slot);
            let hit = self.ledger.adl_hit(k.account);
            fold = fold
                .wrapping_add(lots as u64)
                .wrapping_add(entry as u64)
                .wrapping_add(u64::from(hit));
        }
        std::hint::black_box(fold);
    }

    /// `min_max_leverage` for `req`: writes the booking's records of the
    /// candidates that give lots and the fills `(record index, lots)` in
    /// leverage order; returns the lots
    /// filled (`min(needed, Σ offers)`).
    pub(super) fn fill_min_max(
        &mut self,
        side: &mut LevSide,
        req: &AdlRequest,
        cands: &mut Vec<AdlFillTarget>,
        fills: &mut Vec<(usize, i64)>,
    ) -> i64 {
        if !req.start(cands, fills) {
            return 0;
        }
        let (mi, winners, price) = (req.market, req.winners, req.price);
        self.sync_lev_side(side, mi, winners);
        let m = &self.markets[mi];
        let mark = self.marks[mi];
        let terms = LotTerms {
            lot_value: m.value(1, mark).0,
            loss_per_lot: (m.value(-winners, price) - m.value(-winners, mark)).0,
        };
        side.unpark(-winners * price);
        let mut sc = std::mem::take(&mut side.scratch);
        let filled = self.read_and_select(side, req, terms, &mut sc);
        debug_assert!(
            sc.out.iter().all(|&(_, reach)| reach < -winners * price),
            "Invariant: parked at its reach"
        );
        side.park(&sc.out);
        // The winners' keys move with the fills: out of the order now, in
        // one pass over its top, where the read left them, by their slots
        // (the next sync puts them back, as the fills log their accounts).
        side.take_out(&sc.read, &sc.lots);
        self.key_winners_from_fills(side, &sc.read, &sc.lots, terms, req.bankrupt);
        for (c, &q) in sc.read.iter().zip(&sc.lots) {
            if q == 0 {
                continue;
            }
            let booked = AdlFillTarget {
                account: c.account,
                slot: c.slot,
                lots: c.offer,
                equity: Micros(c.equity),
            };
            #[cfg(debug_assertions)]
            self.check_fill_target(&booked, price);
            cands.push(booked);
            fills.push((cands.len() - 1, q));
        }
        side.scratch = sc;
        filled
    }

    /// Reads candidates of `req` from the top of `side` into `sc.read` until
    /// their selection (`sc.lots`) is the selection over the whole side, the
    /// positions found not in profit into `sc.out` with their reach; returns
    /// the lots selected.
    ///
    /// It first reads `needed` candidates (at least 16, at most
    /// [`READ_MAX`]): each
    /// offers a lot before the next one's first, so that many always settle
    /// the close; past that, twice as many each time. The keys are taken from
    /// the set in batches of as many as are still wanted and evaluated in a
    /// pass of their own, so that their positions' reads overlap.
    fn read_and_select(
        &mut self,
        side: &mut LevSide,
        req: &AdlRequest,
        terms: LotTerms,
        sc: &mut LevScratch,
    ) -> i64 {
        sc.clear();
        let bankrupt = req.bankrupt;
        let mut after = None;
        let mut target = usize::try_from(req.needed)
            .unwrap_or(usize::MAX)
            .clamp(16, READ_MAX);
        let mut pos = 0;
        loop {
            let mut next = None;
            loop {
                if pos == sc.batch.len() {
                    sc.batch.clear();
                    pos = 0;
                    let want = (target + 1).saturating_sub(sc.read.len()).max(1);
                    after = side.order.read_after(
                        after,
                        want,
                        |k| k.account == bankrupt,
                        &mut sc.batch,
                    );
                    if sc.batch.is_empty() {
                        break;
                    }
                    self.adl_evaluations += sc.batch.len() as u64;
                    self.touch_lev_candidates(&side.key_of, &sc.batch);
                    sc.offers.clear();
                    sc.offers.extend(
                        sc.batch
                            .iter()
                            .map(|k| self.lev_offer(k, req.price, terms.loss_per_lot)),
                    );
                }
                let (k, offer) = (sc.batch[pos], sc.offers[pos]);
                pos += 1;
                match offer {
                    Err(reach) => sc.out.push((k, reach)),
                    Ok(0) => {}
                    Ok(o) if sc.read.len() < target => sc.read.push(k.as_candidate(o)),
                    Ok(o) => {
                        next = Some(k.as_candidate(o));
                        break;
                    }
                }
            }
            // Lots from the first `needed` read only (one each, and the few
            // later lots that come before the last one's first): the
            // selection over the whole side, whatever `next` is.
            if select_within_head(&sc.read, terms, req.needed, &mut sc.lots, &mut sc.select) {
                return req.needed;
            }
            let sum =
                select_lots_general(&sc.read, terms, req.needed, &mut sc.lots, &mut sc.select);
            match next {
                None => return sum,
                Some(n) if sum == req.needed && ends_before(&sc.read, terms, &sc.lots, &n) => {
                    return sum;
                }
                Some(n) => {
                    sc.read.push(n);
                    target = 2 * sc.read.len();
                }
            }
        }
    }

    /// Debug builds, small markets: the fills are those of the rule applied
    /// lot by lot to every candidate of a full scan of the market.
    #[cfg(debug_assertions)]
    pub(super) fn check_min_max_against_full_scan(
        &self,
        a: u32,
        slot: u32,
        needed: i64,
        price: i64,
        cands: &[AdlFillTarget],
        fills: &[(usize, i64)],
    ) {
        let p = self.ledger.positions[slot as usize];
        let mi = p.market as usize;
        let winners = -p.lots.signum();
        let m = &self.markets[mi];
        let mark = self.marks[mi];
        let terms = LotTerms {
            lot_value: m.value(1, mark).0,
            loss_per_lot: (m.value(-winners, price) - m.value(-winners, mark)).0,
        };
        let mut all: Vec<LevCandidate> = Vec::new();
        for &s in &self.ledger.market_slots[mi] {
            let q = self.ledger.positions[s as usize];
            if q.lots.signum() != winners || self.ledger.slot_owner(s) == a {
                continue;
            }
            if let Some(c) = self.adl_candidate(s, price, false) {
                all.push(LevCandidate {
                    account: c.account,
                    slot: s,
                    notional: m.value(q.lots.abs(), mark).0,
                    equity: self.equity(c.account).0,
                    offer: c.lots,
                });
            }
        }
        let want = crate::venue::adl_min_max::greedy_lots(&all, terms, needed);
        let mut want: Vec<(u32, i64)> = all
            .iter()
            .zip(&want)
            .filter(|(_, q)| **q > 0)
            .map(|(c, &q)| (c.slot, q))
            .collect();
        want.sort_unstable();
        let mut got: Vec<(u32, i64)> = fills.iter().map(|&(i, q)| (cands[i].slot, q)).collect();
        got.sort_unstable();
        assert_eq!(
            got, want,
            "Invariant: min_max_leverage from the leverage index fills as the lot-by-lot rule over a full scan"
        );
    }
}

/// `min(held, equity / loss)` (`held ≥ 0`, `loss > 0`): the lots of a
/// position of `held` whose loss of `loss` each its equity absorbs.
///
/// Without the division when the equity absorbs them all (`equity ≥
/// held × loss`, exact: a product past `i64` is above any equity), as most candidates' does: a division is
/// the dearest instruction of a candidate's read (docs/performance.md,
/// "`min_max_leverage` per-close work, round 22"). Exact: then `equity ≥ 0`
/// and `equity / loss ≥ held`; else `equity / loss < held` (for `equity ≥ 0`
/// its floor is below `held`, for `equity < 0` it is at most 0 ≤ `held`).
#[inline]
fn absorbed_lots(held: i64, equity: i64, loss: i64) -> i64 {
    debug_assert!(
        held >= 0 && loss > 0,
        "Invariant: a position's lots held and its loss per lot are positive"
    );
    // `held × loss` past `i64` is above every equity.
    if held.checked_mul(loss).is_some_and(|all| equity >= all) {
        held
    } else {
        equity / loss
    }
}

/// The key of candidate `c` after it gives `q` lots at a close of `terms`:
/// `Some(None)` if that closes its position, `Some(Some(k))` with `k`'s
/// equity possibly not positive (then it has no key), `None` if an amount
/// leaves `i64`.
fn key_after_fill(c: &LevCandidate, q: i64, terms: LotTerms) -> Option<Option<LevKey>> {
    let notional = c.notional.checked_sub(q.checked_mul(terms.lot_value)?)?;
    let equity = c.equity.checked_sub(q.checked_mul(terms.loss_per_lot)?)?;
    debug_assert!(
        notional >= 0,
        "Invariant: a winner gives at most the lots it holds"
    );
    Some((notional > 0).then(|| LevKey::new(notional, equity, c.account, c.slot)))
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::super::adl_lev_side::LevSide;
    use super::super::test_venue::{Change, Spec, apply, change};
    use super::LevKey;
    use crate::engine::Engine;

    /// A two-market venue of `accounts`, one margin tier.
    fn venue(accounts: &[Spec]) -> Engine {
        super::super::test_venue::venue(accounts, &[0])
    }

    /// A key's every field, its quotient's bits included.
    fn fields(k: &LevKey) -> (i64, i64, u32, u32, u64) {
        (k.notional, k.equity, k.account, k.slot, k.ratio().to_bits())
    }

    /// One account: small amounts (many equal quotients and equal keys but
    /// for account and slot), collateral around zero (equity ≤ 0: no key),
    /// flat slots and slots of either side in either market.
    fn account() -> impl Strategy<Value = Spec> {
        let slot =
            proptest::option::of((-3i64..=3, prop_oneof![Just(10_000i64), 5_000i64..15_000]));
        (
            prop_oneof![Just(0i64), -2_000_000i64..2_000_000, Just(1_000_000i64)],
            [slot.clone(), slot],
        )
    }

    /// `accounts` with one slot each at most (the first market's if any,
    /// else the second's): the accounts a build may keep its keys for.
    fn one_slot_accounts(accounts: &[Spec]) -> Vec<Spec> {
        accounts
            .iter()
            .map(|&(c, [a, b])| (c, if a.is_some() { [a, None] } else { [None, b] }))
            .collect()
    }

    /// Every slot's key (fields) and where it is, the order read whole,
    /// parked keys and the evaluations a build counted.
    type Side = (
        Vec<Option<((i64, i64, u32, u32, u64), Option<i64>)>>,
        Vec<(i64, i64, u32, u32, u64)>,
        usize,
        u64,
    );

    /// What `side` holds, the build's evaluations `evaluations`.
    fn side_of(e: &Engine, side: &LevSide, evaluations: u64) -> Side {
        let keys = (0..e.ledger.positions.len() as u32)
            .map(|s| side.key_of.get(s).map(|(k, r)| (fields(&k), r)))
            .collect();
        let order = side.order.to_vec().iter().map(fields).collect();
        (keys, order, side.parked.len(), evaluations)
    }

    /// Builds the kept `side` (side `winners` of market `mi`) and checks
    /// it against a build on a fresh side: every slot's key, the order,
    /// nothing parked, the evaluations.
    fn check_kept_build(
        e: &mut Engine,
        side: &mut LevSide,
        mi: usize,
        winners: i64,
    ) -> Result<(), TestCaseError> {
        let before = e.adl_evaluations;
        e.build_lev_side(side, mi, winners);
        let got = side_of(e, side, e.adl_evaluations - before);
        let mut fresh = LevSide::default();
        let before = e.adl_evaluations;
        e.build_lev_side(&mut fresh, mi, winners);
        let want = side_of(e, &fresh, e.adl_evaluations - before);
        prop_assert_eq!(got, want);
        Ok(())
    }

    /// Parks the first `n` keys of `side`'s order at reach `reach` (as a
    /// close that finds them not in profit does).
    fn park_top(side: &mut LevSide, n: usize, reach: i64) {
        let mut top = Vec::new();
        side.order.read_after(None, n, |_| false, &mut top);
        let out: Vec<(LevKey, i64)> = top.into_iter().take(n).map(|k| (k, reach)).collect();
        side.park(&out);
    }

    /// A side of one-slot accounts (the shorts'), its mark falling: the
    /// second build keeps its keys (one account filled between re-keyed
    /// from the ledger, one parked key back in the order), the third too
    /// after a step start; one that meets an on-side slot left out at
    /// equity ≤ 0 falls back to the full build.
    #[test]
    fn kept_build_is_taken() {
        let mut accounts: Vec<Spec> = (0..12)
            .map(|i| (2_000_000 + i * 10_000, [Some((-1 - i % 3, 10_000)), None]))
            .collect();
        let mut e = venue(&accounts);
        let mut side = LevSide::default();
        let check = |e: &mut Engine, side: &mut LevSide| {
            check_kept_build(e, side, 0, -1).expect("a kept build is a full one")
        };
        check(&mut e, &mut side);
        park_top(&mut side, 2, -5);
        e.marks[0] -= 40;
        apply(&mut e, &Change::Fill(3, -1));
        check(&mut e, &mut side);
        assert_eq!(side.kept, (1, 0));
        e.reset_step_outputs();
        e.marks[0] -= 7;
        apply(&mut e, &Change::Fill(5, 1));
        apply(&mut e, &Change::Funding(0, 20));
        check(&mut e, &mut side);
        assert_eq!(side.kept, (2, 0));
        // The mark against the winners: kept too.
        e.marks[0] += 3;
        check(&mut e, &mut side);
        assert_eq!(side.kept, (3, 0));
        // An on-side slot at equity ≤ 0 (no key): the full build.
        accounts.push((-5_000_000, [Some((-1, 10_000)), None]));
        let mut e = venue(&accounts);
        let mut side = LevSide::default();
        check(&mut e, &mut side);
        e.marks[0] -= 1;
        check(&mut e, &mut side);
        assert_eq!(side.kept, (0, 1));
    }

    proptest! {
        /// A side kept across builds (its keys shifted with the mark, the
        /// touched accounts keyed from the ledger) leaves what a full build
        /// on a fresh side leaves (every slot's key, the order, nothing
        /// parked, the evaluations) through random marks either way, fills,
        /// funding, step starts, syncs between builds and parked keys.
        #[test]
        fn kept_side_matches_a_fresh_build(
            accounts in proptest::collection::vec(account(), 0..40),
            one_slot in prop_oneof![3 => Just(true), 1 => Just(false)],
            rounds in proptest::collection::vec(
                (
                    proptest::collection::vec(change(), 0..5),
                    proptest::collection::vec(change(), 0..3),
                    0usize..4,
                    -3i64..3,
                ),
                1..10,
            ),
        ) {
            let accounts = if one_slot { one_slot_accounts(&accounts) } else { accounts };
            let mut e = venue(&accounts);
            let mut kept: Vec<LevSide> = vec![LevSide::default(); 4];
            let builds = rounds.len() as u64;
            for (changes, within, parks, reach) in rounds {
                e.reset_step_outputs();
                for c in &changes {
                    apply(&mut e, c);
                }
                for (i, side) in kept.iter_mut().enumerate() {
                    let (mi, winners) = (i / 2, if i % 2 == 0 { -1 } else { 1 });
                    check_kept_build(&mut e, side, mi, winners)?;
                    park_top(side, parks, reach);
                }
                // Changes within the step, each side synced after them.
                for c in within.iter().filter(|c| !matches!(c, Change::Mark(..))) {
                    apply(&mut e, c);
                }
                for (i, side) in kept.iter_mut().enumerate() {
                    let (mi, winners) = (i / 2, if i % 2 == 0 { -1 } else { 1 });
                    e.sync_lev_side(side, mi, winners);
                }
            }
            for side in &kept {
                prop_assert_eq!(side.kept.0 + side.kept.1, builds - 1);
                if e.ledger.max_slots() > 1 {
                    prop_assert_eq!(side.kept.0, 0);
                }
            }
        }

        /// The build's keys with the side tested inline
        /// (`Engine::build_lev_keys`, the fast path) are the keys, in the
        /// same order, and the evaluations counted, of `Engine::lev_key`
        /// called for every slot of the market (the plain build).
        #[test]
        fn build_keys_match_lev_key_of_every_slot(
            accounts in proptest::collection::vec(account(), 0..40),
        ) {
            let mut e = venue(&accounts);
            for mi in 0..2 {
                for winners in [-1i64, 1] {
                    let slots = e.ledger.market_slots[mi].clone();
                    let before = e.adl_evaluations;
                    let plain: Vec<LevKey> =
                        slots.iter().filter_map(|&s| e.lev_key(s, winners)).collect();
                    let plain_evaluations = e.adl_evaluations - before;
                    let mut fast = Vec::new();
                    let before = e.adl_evaluations;
                    e.build_lev_keys(&slots, winners, &mut fast);
                    prop_assert_eq!(e.adl_evaluations - before, plain_evaluations);
                    prop_assert_eq!(
                        fast.iter().map(fields).collect::<Vec<_>>(),
                        plain.iter().map(fields).collect::<Vec<_>>()
                    );
                }
            }
        }

        /// `absorbed_lots` (the fast path, no division when the equity
        /// absorbs every lot) is the plain `min(held, equity / loss)`: over
        /// equities of either sign, around `held × loss` (one below, at,
        /// one above), and at the ends of `i64`.
        #[test]
        fn absorbed_lots_match_the_plain_min(
            held in prop_oneof![0i64..50, Just(i64::MAX), 0i64..i64::MAX],
            loss in prop_oneof![1i64..1_000, Just(1i64), Just(i64::MAX), 1i64..i64::MAX],
            equity in prop_oneof![any::<i64>(), -1_000i64..1_000, Just(i64::MIN), Just(i64::MAX)],
            near in -1i64..=1,
        ) {
            let plain = |e: i64| held.min(e / loss);
            prop_assert_eq!(super::absorbed_lots(held, equity, loss), plain(equity));
            // Equities at `held × loss` and one either side, where they fit.
            if let Some(e) = held.checked_mul(loss).and_then(|x| x.checked_add(near)) {
                prop_assert_eq!(super::absorbed_lots(held, e, loss), plain(e));
            }
        }

        /// Each key's equity and notional (`Engine::equity_of_slot`'s one-slot
        /// path, the value reused) are the plain ones: `Engine::equity` of
        /// its account and the value of its lots' magnitude; and a slot gets
        /// a key exactly when it is on the side and that equity is positive.
        #[test]
        fn key_equity_and_notional_match_the_plain_ones(
            accounts in proptest::collection::vec(account(), 0..40),
        ) {
            let e = venue(&accounts);
            for s in 0..e.ledger.positions.len() as u32 {
                let p = e.ledger.positions[s as usize];
                let account = e.ledger.slot_owner(s);
                let equity = e.equity(account).0;
                let mi = p.market as usize;
                let notional = e.markets[mi].value(p.lots.abs(), e.marks[mi]).0;
                for winners in [-1i64, 1] {
                    let want = (p.lots.signum() == winners && equity > 0)
                        .then_some((notional, equity, account, s));
                    let got = e
                        .lev_key_uncounted(s, winners)
                        .map(|k| (k.notional, k.equity, k.account, k.slot));
                    prop_assert_eq!(got, want);
                }
            }
        }
    }
}
