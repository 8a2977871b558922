//! The liquidation index (docs/model.md §9): which accounts a move of the mark
//! can have made liquidatable, and the queue of liquidations due.
//!
//! Each account with open positions has, per position, a **trigger** in ticks: a
//! long is safe while the mark stays above its trigger, a short while it stays
//! below. Triggers sit in two heaps per market (max-heap for longs, min-heap for
//! shorts). A step compares the mark with the two heap tops: a quiet step is O(1)
//! per market (O(log n) to pop an entry when one is crossed), independent of the
//! number of accounts. A crossed trigger costs one exact evaluation of the account
//! (O(positions)). Triggers are the exact liquidation price for single-position
//! accounts (closed form per bracket, with a safety margin of a tick or two for
//! rounding), and conservative bands for multi-position cross accounts (the equity
//! buffer split across positions by notional, with worst-case slopes). Stale heap
//! entries are skipped by a version number and compacted when they pile up.
//!
//! Funding settlement touches every position (O(n)) but does not rebuild the
//! index: the payers' triggers move towards the mark by a bound on how far a
//! payment can move a single-position account's liquidation price (one offset
//! per market and side, O(1)); the receivers' triggers stay sound as they are;
//! only cross accounts with several positions are evaluated again (their bands
//! share the equity across markets).
//!
//! The heaps and the due queue are [`super::triggers::LiquidationIndex`]; this
//! file computes the triggers and detects breaches.

use std::cmp::Reverse;

use crate::money::Micros;

use super::Engine;
use super::ledger::WinnerFlags;
use super::margin::MaintenanceAt;

/// Deferred winners read ahead by [`Engine::touch_accounts`] before their
/// re-checks ([`Engine::index_deferred_winners`]).
const DEFERRED_TOUCH_AHEAD: usize = 32;

/// [`Engine::index_deferred_winners`] finds its winners by a scan of the
/// accounts' flag bytes when they are at least one in this many accounts
/// (a scan of 64 flags costs about what sorting one entry does), by
/// sorting its list otherwise.
const DEFERRED_SCAN_RATIO: usize = 256;

impl Engine {
    /// Breach detection (step stage 6): every account whose trigger the marks
    /// crossed is evaluated exactly, in account order.
    ///
    /// The crossed entries are popped first, every market's, then their
    /// accounts' records are read in one pass of independent loads
    /// ([`Engine::touch_popped`]) before any is tested: the accounts a step
    /// breaches are cold, and their cache misses overlap instead of coming
    /// one entry at a time (docs/performance.md, "Monte Carlo per core,
    /// round 8"). The entries are tested in the order they were popped, as
    /// before.
    pub(super) fn collect_breaches(&mut self) {
        debug_assert!(
            self.scratch.deferred_winners.is_empty(),
            "Invariant: no ADL winner's triggers wait past the step's executions"
        );
        let mut breached = std::mem::take(&mut self.scratch.breached);
        breached.clear();
        let mut popped = std::mem::take(&mut self.scratch.popped);
        popped.clear();
        for i in 0..self.markets.len() {
            let mark = self.marks[i];
            self.index
                .pop_crossed(i, mark, |a, version| popped.push((a, version)));
        }
        self.touch_popped(&popped);
        let ledger = &mut self.ledger;
        for &(a, version) in &popped {
            let pending = ledger.is_pending(a);
            let acc = &mut ledger.accounts[a as usize];
            if acc.version == version && !pending && !acc.queued {
                acc.queued = true;
                breached.push(a);
            }
        }
        self.scratch.popped = popped;
        breached.sort_unstable();
        for &a in &breached {
            self.ledger.mark_dirty(a);
            self.ledger.accounts[a as usize].queued = false;
            self.recheck(a);
        }
        self.scratch.breached = breached;
    }

    /// Reads what the breach test and the re-check of each popped entry's
    /// account read first (the account's record, its first position, the
    /// funding applied to it), in a loop whose loads do not wait on each
    /// other, so that their cache misses overlap. Reads only: no state
    /// changes.
    fn touch_popped(&self, popped: &[(u32, u32)]) {
        self.touch_accounts(popped.iter().map(|&(a, _)| a));
    }

    /// [`Engine::touch_popped`] of the accounts `accounts`.
    fn touch_accounts(&self, accounts_touched: impl Iterator<Item = u32>) {
        let accounts = &self.ledger.accounts;
        let positions = &self.ledger.positions;
        let mut fold = 0u64;
        for a in accounts_touched {
            let acc = &accounts[a as usize];
            let first = acc.first_slot as usize;
            let lots = positions.get(first).map_or(0, |p| p.lots);
            fold = fold
                .wrapping_add(u64::from(acc.version))
                .wrapping_add(lots as u64)
                .wrapping_add(u64::from(self.ledger.funding_applied(acc.first_slot)));
        }
        std::hint::black_box(fold);
    }

    /// Evaluates an account now: schedules its liquidation if it is liquidatable,
    /// otherwise refreshes its triggers.
    ///
    /// The account's equity and maintenance requirement are computed once, for
    /// the test and for the triggers.
    pub(super) fn recheck(&mut self, a: u32) {
        self.recheck_known(a, None);
    }

    /// [`Engine::recheck`] of account `a` whose equity at the marks the caller
    /// may already hold (`equity`, as [`Engine::equity`] gives it).
    pub(super) fn recheck_known(&mut self, a: u32, equity: Option<Micros>) {
        self.recheck_inner(a, equity, None);
    }

    /// [`Engine::recheck`] of account `a` whose equity and maintenance
    /// requirement at the marks the caller may already hold (`margin`, as
    /// [`Engine::equity`] and [`Engine::maintenance`] give them).
    pub(super) fn recheck_margin(&mut self, a: u32, margin: Option<(Micros, Micros)>) {
        self.recheck_inner(a, margin.map(|m| m.0), margin.map(|m| m.1));
    }

    /// [`Engine::recheck`] with the equity and the requirement when known.
    fn recheck_inner(&mut self, a: u32, equity: Option<Micros>, maintenance: Option<Micros>) {
        if self.ledger.is_pending(a) {
            return;
        }
        debug_assert!(
            equity.is_none_or(|e| e == self.equity(a)),
            "Invariant: the equity given is the account's at the marks"
        );
        debug_assert!(
            maintenance.is_none_or(|m| m == self.maintenance(a)),
            "Invariant: the requirement given is the account's at the marks"
        );
        let margin = self.margin_now(a, equity, maintenance);
        // This re-check replaces any the account's ADL fills deferred.
        self.ledger.set_index_deferred(a, false);
        if let Some((equity, maintenance)) = margin
            && equity < maintenance
        {
            self.schedule_liquidation(a);
        } else {
            self.index_account(a, margin);
        }
    }

    /// The equity and maintenance requirement of account `a` at the marks
    /// (`None` without an open position), those given (`equity`,
    /// `maintenance`) reused: for an account of one slot, off that slot
    /// ([`Engine::one_position_margin`], or its position's requirement when
    /// the equity is given) instead of walks over its positions (a popped
    /// trigger's re-check, every account of a one-market population).
    fn margin_now(
        &self,
        a: u32,
        equity: Option<Micros>,
        maintenance: Option<Micros>,
    ) -> Option<(Micros, Micros)> {
        if !self.ledger.holds_one_slot(a) {
            return self.plain_margin(a, equity, maintenance);
        }
        let p = self.ledger.positions[self.ledger.accounts[a as usize].first_slot as usize];
        let margin = match (p.lots != 0, equity, maintenance) {
            (false, ..) => None,
            (true, Some(e), m) => Some((
                e,
                m.unwrap_or_else(|| self.position_maintenance(&p, p.lots)),
            )),
            (true, None, m) => self
                .one_position_margin(a)
                .map(|(e, own)| (e, m.unwrap_or(own))),
        };
        debug_assert_eq!(
            margin,
            self.plain_margin(a, equity, maintenance),
            "Invariant: a one-slot account's margin is its slot's"
        );
        margin
    }

    /// [`Engine::margin_now`] by the walks over the account's positions
    /// ([`Engine::equity`], [`Engine::maintenance`]).
    fn plain_margin(
        &self,
        a: u32,
        equity: Option<Micros>,
        maintenance: Option<Micros>,
    ) -> Option<(Micros, Micros)> {
        self.has_open_positions(a).then(|| {
            (
                equity.unwrap_or_else(|| self.equity(a)),
                maintenance.unwrap_or_else(|| self.maintenance(a)),
            )
        })
    }

    /// Schedules the liquidation of account `a`, found liquidatable now
    /// (due after the latency); its triggers go stale.
    fn schedule_liquidation(&mut self, a: u32) {
        self.ledger.mark_dirty(a);
        self.ledger.set_pending(a, true);
        self.ledger.set_index_deferred(a, false);
        let acc = &mut self.ledger.accounts[a as usize];
        acc.version = acc.version.wrapping_add(1);
        self.index.due.push(Reverse((
            self.step.saturating_add(self.cfg.latency_steps),
            a,
        )));
    }

    /// [`Engine::recheck_known`] of an ADL winner right after a fill, its
    /// triggers deferred: the liquidation test now (a winner the fill left
    /// liquidatable is scheduled at this fill, as before), the triggers of a
    /// safe one pushed once, by [`Engine::index_deferred_winners`] when the
    /// step's executions end, instead of after each of its fills (a winner
    /// of a venue-scale crash takes up to ~130 fills in one step, from
    /// different closes).
    ///
    /// Exact: nothing reads the triggers (or the versions) between the fills
    /// and the end of the step's executions (breaches are popped at stage 6,
    /// before them; compaction and the quiet step's test at the next step),
    /// and nothing but another fill changes a safe winner's lines in
    /// between (a liquidation needs it pending, and scheduling it cancels
    /// the deferral). The deferred re-check reads the lines of the last
    /// fill, so pushes the triggers the last per-fill re-check pushed. Only
    /// the count of stale heap entries is smaller (the compaction of the
    /// index comes later; it re-evaluates every account exactly, whenever
    /// it comes). Debug builds assert the deferred re-check reads the last
    /// fill's equity and requirement and finds the account safe.
    pub(super) fn recheck_winner(&mut self, a: u32, equity: Option<Micros>) {
        if self.ledger.is_pending(a) {
            return;
        }
        debug_assert!(
            equity.is_none_or(|e| e == self.equity(a)),
            "Invariant: the equity given is the account's at the marks"
        );
        let margin = self.has_open_positions(a).then(|| {
            (
                equity.unwrap_or_else(|| self.equity(a)),
                self.maintenance(a),
            )
        });
        self.settle_winner(a, margin);
    }

    /// [`Engine::recheck_winner`] of winner `a` right after its fill of the
    /// position in `slot` was booked, its equity after the fill `equity`,
    /// its flags as the booking read them before the fill (`flags`,
    /// [`super::ledger::Ledger::trade_distinct_winner`]). When that
    /// position is the account's only one (every account of a
    /// single-market population), the account's requirement is the
    /// position's own, from the line the booking just wrote: no walk over
    /// the account's positions. Otherwise as [`Engine::recheck_winner`].
    ///
    /// The pending, one-slot and deferred flags come from the booking's
    /// read, not three more loads of the flag byte (each with its bounds
    /// check). Exact: the booking changes only the winner's dirty, hit and
    /// mark flags, which the re-check does not read (debug-asserted). The
    /// position's lots after the fill and the close's market schedule
    /// (`at`, [`Engine::maintenance_at`]) are given too: the booking holds
    /// them, so its requirement reads neither the position nor the market.
    #[inline(always)]
    pub(super) fn recheck_booked_winner(
        &mut self,
        a: u32,
        booked: BookedWinner,
        flags: WinnerFlags,
        at: &MaintenanceAt,
    ) {
        let BookedWinner { slot, lots, equity } = booked;
        debug_assert_eq!(
            (flags.pending(), flags.one_slot(), flags.index_deferred()),
            (
                self.ledger.is_pending(a),
                self.ledger.holds_one_slot(a),
                self.ledger.index_deferred(a)
            ),
            "Invariant: the booking changed none of the flags the re-check reads"
        );
        if flags.pending() {
            return;
        }
        if !flags.one_slot() {
            self.recheck_winner(a, Some(equity));
            return;
        }
        debug_assert_eq!(
            self.ledger.accounts[a as usize].first_slot, slot,
            "Invariant: a winner's filled position is in its own slots"
        );
        debug_assert_eq!(
            (lots, at.market()),
            (
                self.ledger.positions[slot as usize].lots,
                self.ledger.positions[slot as usize].market as usize
            ),
            "Invariant: the lots given are the position's after the fill, in the close's market"
        );
        let margin = (lots != 0).then(|| (equity, self.position_maintenance_at(at, lots)));
        debug_assert_eq!(
            margin,
            self.has_open_positions(a)
                .then(|| (self.equity(a), self.maintenance(a))),
            "Invariant: a one-position winner's margin is its position's"
        );
        self.settle_winner_known(a, margin, flags.index_deferred());
    }

    /// The end of a winner's re-check, given its equity and requirement
    /// (`None` without an open position): scheduled when liquidatable, else
    /// its triggers deferred ([`Engine::recheck_winner`]).
    fn settle_winner(&mut self, a: u32, margin: Option<(Micros, Micros)>) {
        self.settle_winner_known(a, margin, self.ledger.index_deferred(a));
    }

    /// [`Engine::settle_winner`] given whether the winner's triggers are
    /// deferred already (`deferred`, [`super::ledger::Ledger::index_deferred`]).
    #[inline(always)]
    fn settle_winner_known(&mut self, a: u32, margin: Option<(Micros, Micros)>, deferred: bool) {
        debug_assert_eq!(
            deferred,
            self.ledger.index_deferred(a),
            "Invariant: the deferred flag given is the account's"
        );
        if let Some((equity, maintenance)) = margin
            && equity < maintenance
        {
            self.schedule_liquidation(a);
            return;
        }
        #[cfg(debug_assertions)]
        self.scratch.deferred_margin.insert(a, margin);
        if !deferred {
            self.ledger.set_index_deferred(a, true);
            self.scratch.deferred_winners.push(a);
        }
    }

    /// Pushes the triggers of the ADL winners [`Engine::recheck_winner`]
    /// deferred (each once, in account order; those re-checked or scheduled
    /// since are skipped): at the end of the step's executions.
    ///
    /// In account order, not in order of first deferral, so that the
    /// winners' account and position lines are read at increasing
    /// addresses. Exact: each winner's re-check reads and writes only its
    /// own lines and flags (its version, its heap entries; it is dirty
    /// already, so the dirty list is unchanged) and the heaps' entries
    /// `(trigger, account, version)` are totally ordered, equal ones
    /// identical, so what a heap pops depends on the entries it holds, not
    /// on the order they were pushed (`triggers.rs`'s
    /// `pops_do_not_depend_on_the_push_order`). The collateral model's
    /// `assumed` prices are a maximum over the winners: the same in any
    /// order.
    pub(super) fn index_deferred_winners(&mut self) {
        let mut deferred = std::mem::take(&mut self.scratch.deferred_winners);
        self.order_deferred_winners(&mut deferred);
        // In chunks, each touched first: the winners were filled at any
        // close of the step, their lines mostly evicted since; their misses
        // overlap instead of coming one winner at a time.
        for chunk in deferred.chunks(DEFERRED_TOUCH_AHEAD) {
            self.touch_accounts(chunk.iter().copied());
            for &a in chunk {
                self.index_deferred_winner(a);
            }
        }
        deferred.clear();
        self.scratch.deferred_winners = deferred;
        #[cfg(debug_assertions)]
        self.scratch.deferred_margin.clear();
    }

    /// Puts the deferred winners `deferred` (in order of deferral, repeats
    /// possible) in increasing account order, each once that is still
    /// deferred: a scan of the flags when they are many, a sort of the
    /// list when few. No allocation (the scan finds at most the list's
    /// distinct accounts).
    fn order_deferred_winners(&self, deferred: &mut Vec<u32>) {
        if deferred.len() >= self.ledger.accounts.len() / DEFERRED_SCAN_RATIO {
            #[cfg(debug_assertions)]
            let mut listed = deferred.clone();
            #[cfg(debug_assertions)]
            listed.sort_unstable();
            self.ledger.index_deferred_accounts(deferred);
            #[cfg(debug_assertions)]
            assert!(
                deferred.iter().all(|a| listed.binary_search(a).is_ok()),
                "Invariant: every deferred account is in the deferred list"
            );
        } else {
            deferred.sort_unstable();
            deferred.dedup();
        }
    }

    /// The deferred re-check of winner `a` ([`Engine::index_deferred_winners`]).
    fn index_deferred_winner(&mut self, a: u32) {
        if !self.ledger.index_deferred(a) {
            return;
        }
        #[cfg(debug_assertions)]
        {
            let margin = self
                .has_open_positions(a)
                .then(|| (self.equity(a), self.maintenance(a)));
            assert_eq!(
                self.scratch.deferred_margin.get(&a),
                Some(&margin),
                "Invariant: a deferred winner's re-check reads its last fill's equity and requirement"
            );
            assert!(
                margin.is_none_or(|(e, m)| e >= m),
                "Invariant: a deferred winner is still safe"
            );
        }
        // `recheck_inner` reads a one-slot winner's margin off its slot.
        self.recheck_margin(a, None);
        debug_assert!(
            !self.ledger.is_pending(a),
            "Invariant: the deferred re-check indexes the account"
        );
    }

    /// After market `mi` settled funding at `rate` (a fraction; longs pay when
    /// positive): moves the payers' triggers towards the mark and evaluates the
    /// multi-position accounts of the market again.
    ///
    /// A payment of `|rate| × |size| × mark` (rounded half away from zero: at most
    /// half a µUSD more per position) lowers a single-position account's equity by
    /// that much; its liquidation price moves towards the mark by the payment over
    /// `|size| × k × (1 ∓ mmr)` per tick, so by at most
    /// `(|rate| × mark × k + 1) / (k × (1 − max mmr))` ticks (one lot or more, the
    /// highest bracket's rate with the margin multiplier). The payers' side moves
    /// by that, plus a tick; every trigger stays on the safe side of its exact
    /// price, so the breach detection of the step finds every account funding
    /// made liquidatable, as the full re-evaluation it replaces did.
    pub(super) fn shift_for_funding(&mut self, mi: usize, rate: f64) {
        if rate == 0.0 {
            return;
        }
        let m = &self.markets[mi];
        let k = m.micros_per_lot_tick as f64;
        let slope = 1.0
            - m.margin
                .max_maintenance_slope(self.margin_mult[mi].as_fraction());
        if slope <= 0.0 || !slope.is_finite() {
            self.reindex_all();
            return;
        }
        let ticks = (rate.abs() * self.marks[mi] as f64 * k + 1.0) / (k * slope);
        let ticks = ticks.ceil() as i64 + 1;
        if rate > 0.0 {
            self.index.shift_longs(mi, ticks);
        } else {
            self.index.shift_shorts(mi, ticks);
        }
        for i in 0..self.multi_position_accounts.len() {
            let a = self.multi_position_accounts[i];
            if self
                .ledger
                .positions_of(a)
                .iter()
                .any(|p| p.market as usize == mi && p.lots != 0)
            {
                self.recheck(a);
            }
        }
    }

    /// Evaluates every account and rebuilds the triggers: at the start, after a
    /// change of margin multipliers, and to compact.
    pub(super) fn reindex_all(&mut self) {
        self.index.clear_triggers();
        if let Some(c) = self.collateral.as_mut() {
            c.assumed.fill(0.0);
        }
        // Funding (or a population that starts underwater) can make accounts
        // liquidatable without any mark crossing a trigger: evaluate every account.
        for a in 0..self.ledger.accounts.len() as u32 {
            self.recheck(a);
        }
    }

    /// Recomputes the triggers of a safe account and pushes them (old entries go
    /// stale through the version number). `margin`: the account's equity and
    /// maintenance requirement now, `None` when it holds no open position.
    fn index_account(&mut self, a: u32, margin: Option<(Micros, Micros)>) {
        self.ledger.mark_dirty(a);
        let acc = &mut self.ledger.accounts[a as usize];
        acc.version = acc.version.wrapping_add(1);
        let version = acc.version;
        let (open, slot) = self.open_slots(a);
        let Some((equity, maintenance)) = margin.filter(|_| open > 0) else {
            return;
        };
        self.note_assumed_collateral(a);
        let equity = self.index_equity_from(a, equity);
        if open == 1 {
            self.index_single(a, version, slot, equity, maintenance);
        } else {
            self.index_multi(a, version, open, equity, maintenance);
        }
    }

    /// The number of open positions of account `a` and the slot of its first
    /// open one (its first slot when none is open): read off the slot for an
    /// account of one slot, counted over its slots otherwise.
    fn open_slots(&self, a: u32) -> (u32, u32) {
        let first = self.ledger.accounts[a as usize].first_slot;
        let open = if self.ledger.holds_one_slot(a) {
            (
                u32::from(self.ledger.positions[first as usize].lots != 0),
                first,
            )
        } else {
            self.plain_open_slots(a)
        };
        debug_assert_eq!(
            open,
            self.plain_open_slots(a),
            "Invariant: a one-slot account's open count is its slot's"
        );
        open
    }

    /// [`Engine::open_slots`] counted over the account's slots.
    fn plain_open_slots(&self, a: u32) -> (u32, u32) {
        let acc = &self.ledger.accounts[a as usize];
        let (first, count) = (acc.first_slot, acc.slot_count);
        let (mut open, mut slot) = (0, first);
        // Backwards, so that the last open slot seen is the first.
        for s in (first..first + count).rev() {
            if self.ledger.positions[s as usize].lots != 0 {
                (open, slot) = (open + 1, s);
            }
        }
        (open, slot)
    }

    /// The trigger of a single-position account, its open position in `slot`
    /// ([`Engine::open_slots`]): its exact liquidation price, a few ticks on
    /// the safe side to absorb rounding.
    /// `equity`: the index's equity of the account; `maintenance`: its requirement.
    fn index_single(
        &mut self,
        a: u32,
        version: u32,
        slot: u32,
        equity: Micros,
        maintenance: Micros,
    ) {
        debug_assert_eq!(
            self.open_slots(a),
            (1, slot),
            "Invariant: the slot given is the account's only open position"
        );
        let p = self.ledger.positions[slot as usize];
        let mi = p.market as usize;
        let mark = self.marks[mi];
        let m = &self.markets[mi];
        // Margin for rounding: enough ticks to cover a few micros of ceil error.
        let per_tick = (p.lots.abs() as f64) * m.micros_per_lot_tick as f64;
        let margin = rounding_margin(per_tick);
        // The account's only open position: its requirement is the
        // account's (the sum over open positions has one term).
        let liq = (p.lots != 0)
            .then(|| self.liquidation_ticks_of(&p, equity, maintenance, maintenance))
            .flatten()
            .map(|(t, _)| t);
        if p.lots > 0 {
            let trigger = match liq {
                Some(l) => (floor_i64(l) + margin).min(mark - 1),
                None => 0,
            };
            self.index.push_long(mi, trigger, a, version);
        } else {
            let trigger = match liq {
                Some(l) => (ceil_i64(l) - margin).max(mark + 1),
                None => mark + 1,
            };
            self.index.push_short(mi, trigger, a, version);
        }
    }

    /// The triggers of a multi-position cross account: the equity buffer split
    /// over positions by notional, with worst-case slopes (long: `|s|·k` per tick
    /// down; short: `|s|·k·(1 + max mmr × multiplier)`).
    /// `equity`: the index's equity of the account; `maintenance`: its requirement.
    fn index_multi(
        &mut self,
        a: u32,
        version: u32,
        open: u32,
        equity: Micros,
        maintenance: Micros,
    ) {
        let acc = &self.ledger.accounts[a as usize];
        let (first, count) = (acc.first_slot, acc.slot_count);
        let buffer = (equity - maintenance).0 - open as i64;
        let buffer = buffer.max(0) as f64;
        let total_notional: f64 = (first..first + count)
            .map(|s| {
                let p = self.ledger.positions[s as usize];
                let m = &self.markets[p.market as usize];
                m.value(p.lots.abs(), self.marks[p.market as usize]).0 as f64
            })
            .sum();
        for s in first..first + count {
            let p = self.ledger.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            let mi = p.market as usize;
            let m = &self.markets[mi];
            let mark = self.marks[mi];
            let notional = m.value(p.lots.abs(), mark).0 as f64;
            let share = buffer * notional / total_notional.max(1.0);
            let per_tick = p.lots.abs() as f64 * m.micros_per_lot_tick as f64;
            if p.lots > 0 {
                let room = floor_i64(share / per_tick);
                let trigger = mark.saturating_sub(room).saturating_sub(1);
                self.index.push_long(mi, trigger, a, version);
            } else {
                let mult = self.margin_mult[mi].as_fraction();
                let slope = per_tick * (1.0 + m.margin.max_maintenance_slope(mult));
                let room = floor_i64(share / slope);
                let trigger = mark.saturating_add(room).saturating_add(1);
                self.index.push_short(mi, trigger, a, version);
            }
        }
    }
}

/// The ticks a single-position trigger keeps on the safe side of its exact
/// price, `1 + ceil(4 / per_tick)` (a few micros of rounding; `per_tick`: the
/// position's value per tick, µUSD). A position worth 4 µUSD a tick or more
/// (nearly all: one lot is `micros_per_lot_tick`) has `4 / per_tick` in
/// (0, 1], so 2, without the division (a long latency on the deferred
/// re-check's chain of each ADL winner).
#[inline]
fn rounding_margin(per_tick: f64) -> i64 {
    if per_tick >= 4.0 {
        2
    } else {
        1 + ceil_i64(4.0 / per_tick)
    }
}

/// `x.floor() as i64`, for every `x` (NaN: 0; beyond the range: saturated),
/// without a call: the target has no rounding instruction (SSE4.1) in its
/// baseline, so `f64::floor` is a libm call on every trigger computed. The
/// truncating conversion is the floor but for a negative non-integer, one
/// above.
#[inline]
fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    if (t as f64) > x {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// `x.ceil() as i64`, for every `x`, without a call ([`floor_i64`]): the
/// truncation but for a positive non-integer, one below.
#[inline]
fn ceil_i64(x: f64) -> i64 {
    let t = x as i64;
    if (t as f64) < x {
        t.saturating_add(1)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{ceil_i64, floor_i64, rounding_margin};

    /// `rounding_margin` is `1 + ceil(4 / per_tick)` for every value a
    /// position's value per tick takes (a positive whole number of µUSD
    /// below 2^63 times a lot count), around 4 and at random scales.
    #[test]
    fn rounding_margin_is_the_division() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let simple = |x: f64| 1 + (4.0 / x).ceil() as i64;
        for x in [
            1.0,
            2.0,
            3.0,
            3.999_999_999,
            4.0,
            4.000_000_001,
            5.0,
            1e18,
            8.5e37,
        ] {
            assert_eq!(rounding_margin(x), simple(x), "per tick {x:e}");
        }
        for _ in 0..100_000 {
            let lots = rng.random_range(1..=1_000_000_000i64) as f64;
            let k = rng.random_range(1..=1_000_000i64) as f64;
            let x = lots * k / f64::from(rng.random_range(1..=4u32));
            assert_eq!(rounding_margin(x), simple(x), "per tick {x:e}");
        }
    }

    fn check(x: f64) {
        assert_eq!(floor_i64(x), x.floor() as i64, "floor of {x:e}");
        assert_eq!(ceil_i64(x), x.ceil() as i64, "ceil of {x:e}");
    }

    #[test]
    fn rounding_without_a_call_is_the_libm_rounding() {
        let two63 = 9_223_372_036_854_775_808.0_f64;
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            1.5,
            -1.5,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::EPSILON,
            1.0 - f64::EPSILON,
            -1.0 + f64::EPSILON,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            two63,
            -two63,
            two63 * 2.0,
            -two63 * 2.0,
            f64::from_bits(two63.to_bits() - 1),
            -f64::from_bits(two63.to_bits() - 1),
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            check(x);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for _ in 0..200_000 {
            // Every magnitude, fractions and integers alike.
            let bits: u64 = rng.random();
            check(f64::from_bits(bits));
            let scale = 10f64.powi(rng.random_range(-6..20));
            let x = (rng.random::<f64>() - 0.5) * scale;
            check(x);
            check(x.round());
            check(x.round() + 0.5);
        }
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::super::test_venue::Spec;
    use crate::engine::Engine;

    /// A two-market venue of `accounts` (none, one or two slots each),
    /// two margin brackets (the second from 1,000 USD of notional:
    /// positions on both sides of it).
    fn venue(accounts: &[Spec]) -> Engine {
        super::super::test_venue::venue(accounts, &[0, 1_000_000_000])
    }

    /// One account: flat slots, either side, notionals around the second
    /// bracket's floor (ties on it), collateral around zero.
    fn account() -> impl Strategy<Value = Spec> {
        let lots = prop_oneof![
            Just(0i64),
            -20i64..=20,
            Just(10),
            Just(-10),
            -2_000i64..=2_000
        ];
        let slot = proptest::option::of((lots, prop_oneof![Just(10_000i64), 5_000i64..15_000]));
        (
            prop_oneof![Just(0i64), -5_000_000i64..5_000_000, Just(1_000_000i64)],
            [slot.clone(), slot],
        )
    }

    proptest! {
        /// `Engine::margin_now` (a one-slot account's margin off its slot)
        /// is the plain margin (`Engine::equity`, `Engine::maintenance`,
        /// `None` without an open position) whichever parts are given, and
        /// `Engine::open_slots` is the count and first open slot over the
        /// account's slots.
        #[test]
        fn one_slot_margin_and_open_slots_match_the_plain_ones(
            accounts in proptest::collection::vec(account(), 0..30),
        ) {
            let e = venue(&accounts);
            for a in 0..accounts.len() as u32 {
                let plain = e.has_open_positions(a).then(|| (e.equity(a), e.maintenance(a)));
                let (eq, mm) = (plain.map(|m| m.0), plain.map(|m| m.1));
                for (equity, maintenance) in [(None, None), (eq, None), (None, mm), (eq, mm)] {
                    prop_assert_eq!(e.margin_now(a, equity, maintenance), plain);
                }
                let positions = e.ledger.positions_of(a);
                let first = e.ledger.accounts[a as usize].first_slot;
                let open = positions.iter().filter(|p| p.lots != 0).count() as u32;
                let slot = positions
                    .iter()
                    .position(|p| p.lots != 0)
                    .map_or(first, |i| first + i as u32);
                prop_assert_eq!(e.open_slots(a), (open, slot));
                prop_assert_eq!(e.plain_open_slots(a), (open, slot));
            }
        }
    }
}

/// What the booking of an ADL fill knows of its winner after the fill
/// ([`Engine::recheck_booked_winner`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct BookedWinner {
    /// The slot of the position filled.
    pub(super) slot: u32,
    /// That position's lots after the fill.
    pub(super) lots: i64,
    /// The account's equity at the marks after the fill.
    pub(super) equity: Micros,
}
