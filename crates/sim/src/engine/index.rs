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

use crate::money::{MAX_MICROS, Micros, PPB, Rate, div_ceil_i128};

use super::Engine;
use super::ledger::{NO_SINGLE_TRIGGER, WinnerFlags, pack_single_trigger, unpack_single_trigger};
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
        // One load of the flag byte for the tests below.
        let flags = self.ledger.recheck_flags(a);
        if flags.pending() {
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
        let one_slot = flags.one_slot();
        // A deferred one-slot winner's entry is tested first, off its slot
        // and the entry alone: kept with the mark on its safe side, the
        // account is safe now too, and its margin is not needed.
        let keep = if flags.index_deferred() && one_slot {
            self.kept_trigger(a)
        } else {
            Keep::No
        };
        if keep == Keep::SafeNow {
            debug_assert!(
                self.margin_now(a, one_slot, equity, maintenance)
                    .is_some_and(|(e, m)| e >= m),
                "Invariant: a kept entry with the mark on its safe side leaves the account safe"
            );
            #[cfg(test)]
            property_tests::count_kept(a, self);
            self.ledger.take_index_deferred(a, flags);
            return;
        }
        let margin = self.margin_now(a, one_slot, equity, maintenance);
        // This re-check replaces any the account's ADL fills deferred.
        let deferred = self.ledger.take_index_deferred(a, flags);
        debug_assert_eq!(
            keep != Keep::No,
            deferred && one_slot && self.keeps_trigger(a, margin),
            "Invariant: the entry's test off the slot is the one off the margin"
        );
        if let Some((equity, maintenance)) = margin
            && equity < maintenance
        {
            self.schedule_liquidation(a);
        } else if keep == Keep::No {
            self.index_account(a, margin);
        } else {
            #[cfg(test)]
            property_tests::count_kept(a, self);
        }
    }

    /// [`Engine::keeps_trigger`] of deferred one-slot account `a`, off its
    /// slot and its entry alone (no equity or requirement at the mark):
    /// [`Keep::No`] where that test says no, else [`Keep::SafeNow`] when
    /// the mark is on the entry's safe side of its test mark (at or below
    /// a short's, at or above a long's), [`Keep::Kept`] otherwise.
    ///
    /// Exact. The equity at the test mark `at`, `equity + lots × k × (at −
    /// mark)` in [`Engine::safe_at`], is `collateral − cost + lots × k ×
    /// at` (the equity without a collateral model, regrouped in `i128`),
    /// and `lots × k × at` is the signed notional there; every other test
    /// is `keeps_trigger`'s, so the answer is its answer for the account's
    /// margin (`None` only for a flat slot, which both refuse). Safe at
    /// `at`, the account is safe at every mark on that side
    /// (`keeps_trigger`'s argument: a short's equity falls and its
    /// requirement rises in the mark, `k ≥ 1`; a long's equity less its
    /// requirement does not fall under [`Engine::long_keep_slack`]), so at
    /// the mark: the liquidation test the re-check skips would find it
    /// safe (debug-asserted).
    #[inline(always)]
    fn kept_trigger(&self, a: u32) -> Keep {
        #[cfg(test)]
        if property_tests::PLAIN_TRIGGERS.get() {
            return Keep::No;
        }
        let acc = &self.ledger.accounts[a as usize];
        let packed = acc.single_trigger;
        if packed == NO_SINGLE_TRIGGER || self.collateral.is_some() {
            return Keep::No;
        }
        let p = self.ledger.positions[acc.first_slot as usize];
        let (stored, long) = unpack_single_trigger(packed);
        if p.lots == 0 || long != (p.lots > 0) {
            return Keep::No;
        }
        let mi = p.market as usize;
        let (at, slack) = if long {
            let Some(slack) = self.long_keep_slack(mi, p.lots) else {
                return Keep::No;
            };
            (self.index.long_trigger(mi, stored).saturating_add(1), slack)
        } else {
            (self.index.short_trigger(mi, stored).saturating_sub(1), 0)
        };
        let k = self.markets[mi].micros_per_lot_tick;
        debug_assert!(
            k >= 1,
            "Invariant: a lot-tick is worth a whole µUSD or more"
        );
        if at <= 0 {
            return Keep::No;
        }
        let notional = notional_at(p.lots, at, k);
        if notional > i128::from(MAX_MICROS) {
            return Keep::No;
        }
        let value = if long { notional } else { -notional };
        let collateral = self.ledger.collateral_inlined(a);
        let equity_at = i128::from(collateral.0) - i128::from(p.cost.0) + value;
        let requirement = self.notional_maintenance(mi, Micros(notional as i64));
        if equity_at < i128::from(requirement.0) + i128::from(slack) {
            return Keep::No;
        }
        let mark = self.marks[mi];
        if (long && mark >= at) || (!long && mark <= at) {
            Keep::SafeNow
        } else {
            Keep::Kept
        }
    }

    /// Whether safe account `a`, an ADL winner whose triggers its fills
    /// deferred, keeps the heap entry it has (no new trigger computed, no
    /// push, no stale entry left): when that entry is a single-position
    /// one, the account holds that one position, open and on the entry's
    /// side, no collateral model is on, and the account in its state now
    /// (`margin`: its equity and requirement at the marks) is not
    /// liquidatable at the mark the entry lets pass nearest its trigger:
    /// one tick below a short's, one tick above a long's (a long also
    /// needs [`Engine::long_keep_slack`]: its bound, and that much room).
    /// The account's one slot is the caller's test (its flags are read).
    ///
    /// Exact. A short's equity at mark `m` is its equity now plus
    /// `lots × k × (m − mark)` (lots < 0: falling in `m`), its requirement
    /// non-decreasing in `m` (a schedule non-decreasing in the notional,
    /// rounded up), so safe one tick below the trigger means safe at every
    /// mark the entry lets pass; a long's equity less its requirement is
    /// non-decreasing in `m` under [`Engine::long_keep_slack`], so safe
    /// one tick above means safe at every mark above (with the slack, funding
    /// shifts it safely too: [`Engine::long_keep_slack`]). The entry is on the
    /// safe side, as every trigger is (docs/model.md §9), and funding moves
    /// it as it moves any other. Its version is the account's (nothing
    /// popped it: breaches are popped before the executions that deferred
    /// the winner, and a version bump clears
    /// [`super::ledger::Account::single_trigger`]). A trigger nearer the
    /// mark than the exact one only pops the account earlier, and a popped
    /// account is re-checked exactly (re-indexed when safe), so every
    /// liquidation is scheduled at the same step: what differs is only
    /// internal (versions, heap entries, the dirty list of a winner already
    /// dirty, the quiet steps' bands, the compaction's timing;
    /// docs/performance.md, round 24, `trigger30` and `trigger30b`).
    ///
    /// The plain form of [`Engine::kept_trigger`], which the re-check runs
    /// (debug builds compare the two).
    fn keeps_trigger(&self, a: u32, margin: Option<(Micros, Micros)>) -> bool {
        #[cfg(test)]
        if property_tests::PLAIN_TRIGGERS.get() {
            return false;
        }
        let acc = &self.ledger.accounts[a as usize];
        let packed = acc.single_trigger;
        let Some((equity, _)) = margin else {
            return false;
        };
        debug_assert!(
            self.ledger.holds_one_slot(a),
            "Invariant: only a one-slot account is tested (by the caller)"
        );
        if packed == NO_SINGLE_TRIGGER || self.collateral.is_some() {
            return false;
        }
        let p = self.ledger.positions[acc.first_slot as usize];
        let (stored, long) = unpack_single_trigger(packed);
        if p.lots == 0 || long != (p.lots > 0) {
            return false;
        }
        debug_assert!(
            self.ledger.is_dirty(a),
            "Invariant: a deferred winner is dirty already (its entry kept, nothing marks it)"
        );
        let mi = p.market as usize;
        // The mark the entry lets pass nearest its trigger.
        let inside = if long {
            self.index.long_trigger(mi, stored).saturating_add(1)
        } else {
            self.index.short_trigger(mi, stored).saturating_sub(1)
        };
        let slack = if long {
            match self.long_keep_slack(mi, p.lots) {
                Some(slack) => slack,
                None => return false,
            }
        } else {
            0
        };
        self.safe_at(&p, equity, inside, slack)
    }

    /// For a long of `lots` in market `mi`: the room (µUSD) its equity must
    /// keep over its requirement at the kept trigger's test mark, `None`
    /// where its equity less its requirement is not shown non-decreasing in
    /// the mark, tick by tick. Its equity rises by `lots × k` a tick,
    /// exactly; its notional by as much, so the schedule (continuous,
    /// piecewise linear, no slope above the highest bracket's rate `r`) by
    /// at most `r × lots × k`, its ceiling by at most `ceil(r × lots × k)`
    /// (`ceil(x + d) ≤ ceil(x) + ceil(d)`), and the requirement, that times
    /// the multiplier `μ` rounded up, by at most `ceil(μ × ceil(r × lots ×
    /// k))` (`μ = 1`: the ceiling itself): the bound, checked in integers
    /// (`None` for a rate or multiplier below zero). The room,
    /// `ceil(μ) + 1`, is the rounding a funding shift's `j` ticks lose
    /// (over `j` ticks the requirement rises by less than
    /// `μ × (r × lots × k × j + 1) + 1`; `shift_for_funding`'s extra tick
    /// and its `+ 1` cover the payment's half µUSD), so that a kept entry
    /// stays safe after funding moves it, as an exact one does.
    ///
    /// Without a multiplier (`μ = 1`, every venue but a volatility
    /// margin's) the answer depends on the market alone: the bound is
    /// `ceil(r × x) ≤ x` for `x = lots × k ≥ 0`, true for every `x` when
    /// `r ≤ 1` (`r × x ≤ x`, `x` whole) and only for `x = 0` otherwise, and
    /// the room is 2: no division (a kept long's test; the i128 form,
    /// [`Engine::long_keep_slack_scaled`], stays out of line).
    #[inline]
    fn long_keep_slack(&self, mi: usize, lots: i64) -> Option<i64> {
        debug_assert!(lots >= 0, "Invariant: a long's lots");
        let m = &self.markets[mi];
        let rate = m.margin.max_mmr();
        debug_assert!(
            m.margin.tiers().iter().all(|t| t.mmr <= rate),
            "Invariant: the highest bracket's rate is the schedule's steepest slope"
        );
        let k = m.micros_per_lot_tick;
        let answer = match (self.margin_mult[mi] == Rate::ONE, rate.0) {
            (true, 0..=PPB) if k >= 0 => Some(2),
            (true, r) if r > PPB && lots > 0 && k > 0 => None,
            _ => self.long_keep_slack_scaled(mi, lots),
        };
        debug_assert_eq!(
            answer,
            self.long_keep_slack_scaled(mi, lots),
            "Invariant: the market's answer is the per-account one"
        );
        answer
    }

    /// [`Engine::long_keep_slack`] by its per-account integers (`i128`
    /// divisions): any multiplier.
    #[inline(never)]
    fn long_keep_slack_scaled(&self, mi: usize, lots: i64) -> Option<i64> {
        let m = &self.markets[mi];
        let rate = m.margin.max_mmr();
        let mult = self.margin_mult[mi];
        if rate.0 < 0 || mult.0 < 0 {
            return None;
        }
        let per_tick = i128::from(lots) * i128::from(m.micros_per_lot_tick);
        let ppb = i128::from(PPB);
        let rise = div_ceil_i128(per_tick * i128::from(rate.0), ppb);
        let rise = if mult == Rate::ONE {
            rise
        } else {
            div_ceil_i128(rise * i128::from(mult.0), ppb)
        };
        let slack = div_ceil_i128(i128::from(mult.0), ppb) as i64 + 1;
        (per_tick >= rise).then_some(slack)
    }

    /// Whether the one-position account holding `p`, of equity `equity` at
    /// the mark, is not liquidatable at mark `at` (ticks) with `slack` µUSD
    /// to spare, in integers: `false` when `at` is not positive or the
    /// notional there passes the engine's range.
    fn safe_at(&self, p: &super::ledger::Position, equity: Micros, at: i64, slack: i64) -> bool {
        let mi = p.market as usize;
        let m = &self.markets[mi];
        let k = i128::from(m.micros_per_lot_tick);
        let notional = i128::from(p.lots.unsigned_abs()) * i128::from(at) * k;
        if at <= 0 || notional > i128::from(MAX_MICROS) {
            return false;
        }
        let moved = moved_equity(p.lots, m.micros_per_lot_tick, at, self.marks[mi]);
        let equity_at = i128::from(equity.0) + moved;
        let requirement = self.notional_maintenance(mi, Micros(notional as i64));
        equity_at >= i128::from(requirement.0) + i128::from(slack)
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
        one_slot: bool,
        equity: Option<Micros>,
        maintenance: Option<Micros>,
    ) -> Option<(Micros, Micros)> {
        debug_assert_eq!(
            one_slot,
            self.ledger.holds_one_slot(a),
            "Invariant: the one-slot flag given is the account's"
        );
        if !one_slot {
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
        acc.single_trigger = NO_SINGLE_TRIGGER;
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
        acc.single_trigger = NO_SINGLE_TRIGGER;
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
            let stored = self.index.push_long(mi, trigger, a, version);
            self.ledger.accounts[a as usize].single_trigger = pack_single_trigger(stored, true);
        } else {
            let trigger = match liq {
                Some(l) => (ceil_i64(l) - margin).max(mark + 1),
                None => mark + 1,
            };
            let stored = self.index.push_short(mi, trigger, a, version);
            self.ledger.accounts[a as usize].single_trigger = pack_single_trigger(stored, false);
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

/// What [`Engine::kept_trigger`] finds of a deferred winner's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keep {
    /// Not kept: the account is re-indexed (or scheduled).
    No,
    /// Kept if the account is safe at the mark (tested on its margin).
    Kept,
    /// Kept, and the account is safe at the mark.
    SafeNow,
}

/// `|lots| × at × k`: the notional of a position of `lots` (lot-tick value
/// `k`) at mark `at` ([`Engine::kept_trigger`]), exactly: in `i64` when no
/// step leaves it (every kept trigger's test), the `i128` product
/// otherwise.
#[inline]
fn notional_at(lots: i64, at: i64, k: i64) -> i128 {
    i64::try_from(lots.unsigned_abs())
        .ok()
        .and_then(|l| l.checked_mul(at))
        .and_then(|x| x.checked_mul(k))
        .map_or_else(
            || i128::from(lots.unsigned_abs()) * i128::from(at) * i128::from(k),
            i128::from,
        )
}

/// `lots × k × (at − mark)`: what a position of `lots` (lot-tick value `k`)
/// gains from mark `mark` to mark `at` ([`Engine::safe_at`]), exactly. In
/// `i64` when no step leaves it (every kept trigger's test: the position's
/// notional at both marks is within the engine's range), two multiplies
/// instead of `i128`'s; the `i128` product otherwise.
#[inline]
fn moved_equity(lots: i64, k: i64, at: i64, mark: i64) -> i128 {
    lots.checked_mul(k)
        .zip(at.checked_sub(mark))
        .and_then(|(per_tick, ticks)| per_tick.checked_mul(ticks))
        .map_or_else(
            || i128::from(lots) * i128::from(k) * (i128::from(at) - i128::from(mark)),
            i128::from,
        )
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

    use super::{ceil_i64, floor_i64, moved_equity, rounding_margin};

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

    /// `moved_equity` is the `i128` product for random lots, lot-tick
    /// values and marks: small (the `i64` form), and up to the bounds
    /// where a step leaves `i64` (the fallback), signs and zero included.
    #[test]
    fn moved_equity_is_the_i128_product() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let plain = |lots: i64, k: i64, at: i64, mark: i64| {
            i128::from(lots) * i128::from(k) * (i128::from(at) - i128::from(mark))
        };
        let edges = [0, 1, -1, i64::MAX, i64::MIN, 1 << 31, -(1 << 31), 1 << 40];
        for &lots in &edges {
            for &k in &[0i64, 1, 7, 1 << 20] {
                for &(at, mark) in &[(0i64, 0i64), (1, 0), (-(1 << 40), 1 << 40), (1 << 40, 3)] {
                    assert_eq!(moved_equity(lots, k, at, mark), plain(lots, k, at, mark));
                }
            }
        }
        for _ in 0..200_000 {
            let scale = rng.random_range(1..=62u32);
            let lots = rng.random_range(-(1i64 << scale)..=(1i64 << scale));
            let k_scale = rng.random_range(0..=20u32);
            let k = rng.random_range(0..=1i64 << k_scale);
            let at = rng.random_range(-(1i64 << 40)..=(1i64 << 40));
            let mark = rng.random_range(-(1i64 << 40)..=(1i64 << 40));
            assert_eq!(
                moved_equity(lots, k, at, mark),
                plain(lots, k, at, mark),
                "lots {lots} k {k} at {at} mark {mark}"
            );
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
    use std::cell::Cell;

    use proptest::prelude::*;

    thread_local! {
        /// Test-only switch: no deferred winner keeps its trigger
        /// (`Engine::keeps_trigger` answers `false`), the plain path
        /// the kept one is compared with.
        pub(super) static PLAIN_TRIGGERS: Cell<bool> = const { Cell::new(false) };
        /// Test-only count of the triggers the re-checks kept on this
        /// thread (`Engine::kept_trigger`).
        pub(super) static KEPT_TRIGGERS: Cell<u64> = const { Cell::new(0) };
        /// Test-only count of the long triggers among them.
        pub(super) static KEPT_LONG_TRIGGERS: Cell<u64> = const { Cell::new(0) };
    }

    /// Counts the trigger of account `a` of `e` that its re-check kept (a
    /// long's when its entry is a long's).
    pub(super) fn count_kept(a: u32, e: &Engine) {
        let (_, long) = super::unpack_single_trigger(e.ledger.accounts[a as usize].single_trigger);
        KEPT_TRIGGERS.set(KEPT_TRIGGERS.get() + 1);
        KEPT_LONG_TRIGGERS.set(KEPT_LONG_TRIGGERS.get() + u64::from(long));
    }

    use super::super::ledger::{Party, TransferReason};
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
                    let one_slot = e.ledger.holds_one_slot(a);
                    prop_assert_eq!(e.margin_now(a, one_slot, equity, maintenance), plain);
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

        /// A run with the deferred winners' triggers kept where safe
        /// (`Engine::keeps_trigger`) is the run without: the same
        /// events every step (liquidations, ADL fills, bad debt, in order),
        /// the same balances, positions, equity and pending flags at the
        /// end, and the index misses nothing after any step. Random books
        /// (one or two slots, either side, both brackets), random paths of
        /// crashes (down, or up when `up`: the moves negated, long winners),
        /// rebounds and funding, every ADL policy the engine keys by
        /// account, latency 0 to 2, full or partial liquidation.
        #[test]
        fn kept_triggers_change_no_run(
            book in proptest::collection::vec(book_account(), 4..40),
            path in proptest::collection::vec(move_bp(), 4..40),
            up in any::<bool>(),
            policy in 0usize..4,
            latency in 0u32..3,
            partial in any::<bool>(),
        ) {
            let path: Vec<_> = path
                .iter()
                .map(|&(bp, funding)| (if up { -bp } else { bp }, funding))
                .collect();
            PLAIN_TRIGGERS.set(true);
            let plain = run(&book, &path, policy, latency, partial);
            PLAIN_TRIGGERS.set(false);
            let kept = run(&book, &path, policy, latency, partial);
            prop_assert_eq!(plain, kept);
        }

        /// `Engine::long_keep_slack`'s bound holds: where it answers
        /// `true`, a long's requirement rises by at most its equity's rise
        /// (`lots × k`) from any mark to the next, for random schedules
        /// (one to four brackets, rates up to 100%), lot-tick values,
        /// sizes (one lot up), multipliers (none, or 0 to 3x) and marks,
        /// bracket floors and their neighbours included.
        #[test]
        fn long_keep_slack_bounds_each_tick(
            k in prop_oneof![1i64..=10, 1i64..=20_000],
            lots in prop_oneof![1i64..=5, 1i64..=100_000],
            rates in proptest::collection::vec(1i64..=1_000_000_000, 1..5),
            floors in proptest::collection::vec(1i64..=2_000_000_000, 3),
            mult in prop_oneof![Just(1_000_000_000i64), 0i64..=3_000_000_000],
            mark in prop_oneof![1i64..=2_000, 1i64..=1_000_000],
            at_floor in any::<bool>(),
        ) {
            let (e, lots, marks) = bound_case(k, lots, &rates, &floors, mult, mark, at_floor);
            if e.long_keep_slack(0, lots).is_some() {
                for m in marks {
                    let n = |m: i64| crate::money::Micros(lots * m * k);
                    let rise = e.notional_maintenance(0, n(m + 1)).0
                        - e.notional_maintenance(0, n(m)).0;
                    prop_assert!(rise <= lots * k, "rise {} at {} > {}", rise, m, lots * k);
                }
            }
        }
    }

    /// `long_keep_slack_bounds_each_tick`'s case: an engine of one market
    /// (lot-tick value `k`, brackets of non-decreasing `rates` from sorted
    /// `floors`, margin multiplier `mult`), the long's lots, and the marks
    /// to step from (`mark`, or the marks around a bracket floor when
    /// `at_floor`).
    fn bound_case(
        k: i64,
        lots: i64,
        rates: &[i64],
        floors: &[i64],
        mult: i64,
        mark: i64,
        at_floor: bool,
    ) -> (Engine, i64, Vec<i64>) {
        use crate::engine::VenueConfig;
        use crate::money::{Micros, Rate};
        use crate::venue::market::{MarginSchedule, Market};
        let mut rates = rates.to_vec();
        rates.sort_unstable();
        let mut floors: Vec<i64> = floors.iter().map(|f| f * 1_000).collect();
        floors.sort_unstable();
        floors.dedup();
        // Floors 0 then strictly increasing (sorted, deduplicated, positive).
        let tiers: Vec<(Micros, Rate, Rate)> = std::iter::once(0)
            .chain(floors.iter().copied())
            .zip(&rates)
            .map(|(floor, &r)| (Micros(floor), Rate(r), Rate(r)))
            .collect();
        let market = Market::plain("m", 0.01, 1.0, k, MarginSchedule::new(&tiers));
        let mut e = Engine::new(
            vec![market],
            &[1.0],
            &[],
            VenueConfig::plain(),
            Engine::test_rng(0),
        )
        .expect("an empty venue builds");
        e.margin_mult[0] = Rate(mult);
        let per_tick = lots * k;
        let marks = if at_floor {
            let f = tiers.last().map_or(0, |t| t.0.0) / per_tick;
            (f - 2..=f + 2).filter(|&m| m > 0).collect()
        } else {
            vec![mark]
        };
        (e, lots, marks)
    }

    /// A rate around the edges of `long_keep_slack`'s market answer: 0, 1
    /// (`PPB`) and their neighbours, below zero, and anywhere to 3.
    fn edge_rate() -> impl Strategy<Value = i64> {
        use crate::money::PPB;
        prop_oneof![
            Just(0i64),
            Just(PPB),
            Just(PPB - 1),
            Just(PPB + 1),
            -3i64..=3,
            0i64..=3 * PPB,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// `Engine::long_keep_slack`'s answer off the market (no division
        /// without a multiplier) is `long_keep_slack_scaled`'s per-account
        /// one, for random highest rates (0, 1 and their neighbours, below
        /// zero, above one), lot-tick values (zero included), lots (zero
        /// included) and multipliers (none, its neighbours, below zero,
        /// to 3x).
        #[test]
        fn long_keep_slack_is_the_scaled_one(
            k in prop_oneof![Just(0i64), 1i64..=10, 1i64..=20_000],
            lots in prop_oneof![Just(0i64), 1i64..=5, 1i64..=100_000],
            rate in edge_rate(),
            mult in prop_oneof![Just(crate::money::PPB), edge_rate()],
        ) {
            let (e, lots, _) = bound_case(k, lots, &[rate], &[1, 2, 3], mult, 1, false);
            prop_assert_eq!(e.long_keep_slack(0, lots), e.long_keep_slack_scaled(0, lots));
        }

        /// `Ledger::take_index_deferred` of the flags `recheck_flags` read
        /// is `index_deferred` then `set_index_deferred(false)`: the same
        /// answer and every flag after it the same, for random pending,
        /// dirty and deferred flags.
        #[test]
        fn take_index_deferred_is_the_read_and_clear(
            accounts in proptest::collection::vec(account(), 1..12),
            states in proptest::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 12),
        ) {
            let n = accounts.len() as u32;
            let flagged = || {
                let mut e = venue(&accounts);
                for (a, &(dirty, pending, deferred)) in (0..n).zip(&states) {
                    if dirty || pending || deferred {
                        e.ledger.mark_dirty(a);
                    }
                    if pending {
                        e.ledger.set_pending(a, true);
                    }
                    if deferred {
                        e.ledger.set_index_deferred(a, true);
                    }
                }
                e
            };
            let (mut e, mut plain) = (flagged(), flagged());
            let plain = &mut plain.ledger;
            let state = |l: &super::super::ledger::Ledger, a: u32| {
                (l.is_dirty(a), l.is_pending(a), l.index_deferred(a), l.holds_one_slot(a))
            };
            for a in 0..n {
                let flags = e.ledger.recheck_flags(a);
                prop_assert_eq!(
                    (flags.pending(), flags.one_slot(), flags.index_deferred()),
                    (plain.is_pending(a), plain.holds_one_slot(a), plain.index_deferred(a))
                );
                let took = e.ledger.take_index_deferred(a, flags);
                let read = plain.index_deferred(a);
                plain.set_index_deferred(a, false);
                prop_assert_eq!(took, read);
                for b in 0..n {
                    prop_assert_eq!(state(&e.ledger, b), state(plain, b));
                }
            }
        }
    }

    proptest! {
        /// `Engine::kept_trigger` (a deferred winner's entry tested off its
        /// slot, before any margin) is `Engine::keeps_trigger` on the
        /// account's margin (`Engine::margin_now`), and where it finds the
        /// mark on the entry's safe side the account is safe (the plain
        /// liquidation test); the re-check then does what the plain one
        /// does (scheduled, kept or re-indexed). One-slot accounts of
        /// either side in either market (both brackets), the entry the
        /// venue indexed, an ADL-like fill at any price (none, either
        /// way, a flip), the mark anywhere around the entry's test mark
        /// (on it and its neighbours), the collateral at random or within
        /// a few µUSD of the keep's boundary.
        #[test]
        fn kept_trigger_is_the_plain_keep(
            market in 0usize..2,
            lots in prop_oneof![1i64..=30, 1i64..=400, Just(10)]
                .prop_flat_map(|l| prop_oneof![Just(l), Just(-l)]),
            entry_pct in 60i64..=140,
            collateral in prop_oneof![0i64..=5_000_000, 0i64..=200_000_000],
            fill in prop_oneof![Just(0i64), -40i64..=40, -800i64..=800],
            fill_pct in 50i64..=150,
            shift in prop_oneof![Just(0i64), -2i64..=2, -3_000i64..=3_000],
            near in proptest::option::of(-3i64..=3),
        ) {
            let base = [10_000i64, 300][market];
            let mut slots = [None, None];
            slots[market] = Some((lots, base * entry_pct / 100));
            let mut e = venue(&[(collateral, slots)]);
            prop_assume!(!e.is_pending(0));
            let slot = e.ledger.accounts[0].first_slot;
            e.ledger.mark_dirty(0);
            if fill != 0 {
                let value = e.markets[market].value(fill, base * fill_pct / 100);
                e.ledger.trade_with_external(0, slot, fill, value);
            }
            e.ledger.set_index_deferred(0, true);
            PLAIN_TRIGGERS.set(false);
            let entry = single_trigger(&e, 0);
            let lots = e.ledger.positions[slot as usize].lots;
            if let Some((trigger, long)) = entry {
                let inside = if long { trigger + 1 } else { trigger - 1 };
                e.marks[market] = (inside + shift).max(1);
                // The collateral `d` µUSD from the test's boundary at `inside`.
                let k = e.markets[market].micros_per_lot_tick;
                if let Some(d) = near.filter(|_| inside > 0 && lots != 0) {
                    let slack = if long && lots > 0 {
                        e.long_keep_slack(market, lots).unwrap_or(0)
                    } else {
                        0
                    };
                    let notional = crate::money::Micros(lots.abs() * inside * k);
                    let need = e.notional_maintenance(market, notional).0 + slack;
                    let at_inside = e.equity(0).0 + lots * k * (inside - e.marks[market]);
                    let moved = crate::money::Micros(need + d - at_inside);
                    e.ledger.transfer(Party::External, Party::Account(0), moved, TransferReason::Funding);
                }
            } else {
                e.marks[market] = (base + shift).max(1);
            }
            let margin = e.margin_now(0, true, None, None);
            let plain = e.keeps_trigger(0, margin);
            let fast = e.kept_trigger(0);
            prop_assert_eq!(fast != super::Keep::No, plain, "entry {:?}, lots {}", entry, lots);
            let safe = margin.is_none_or(|(eq, mm)| eq >= mm);
            if fast == super::Keep::SafeNow {
                prop_assert!(safe, "kept with the mark on its safe side, but liquidatable");
            }
            let (version, packed) = (e.ledger.accounts[0].version, e.ledger.accounts[0].single_trigger);
            e.recheck(0);
            let kept = e.ledger.accounts[0].version == version
                && e.ledger.accounts[0].single_trigger == packed;
            prop_assert_eq!(e.is_pending(0), !safe);
            prop_assert_eq!(kept, safe && plain);
            prop_assert!(!e.ledger.index_deferred(0));
        }
    }

    /// One account of [`run`]'s book: `(collateral, [(lots, entry
    /// ticks)])` in the first market, the second market's slot optional.
    type BookAccount = (i64, (i64, i64), Option<(i64, i64)>);

    /// An account of [`run`]'s book: lots of either side (a few to a few
    /// hundred: both brackets), an entry around 100 USD (or anywhere from
    /// 60 to 140: some shorts open near their liquidation, their fills'
    /// losses then bring it inside their trigger) and leverage from
    /// 1.5x to 45x on its notional (highly levered shorts lose their margin
    /// to ADL fills at a bankrupt long's price), a slot in the second
    /// market for one in five.
    fn book_account() -> impl Strategy<Value = BookAccount> {
        let lots = prop_oneof![1i64..=30, 1i64..=400, Just(10)]
            .prop_flat_map(|l| prop_oneof![Just(l), Just(-l)]);
        (
            lots,
            prop_oneof![9_000i64..11_000, 6_000i64..14_000],
            prop_oneof![15i64..=100, 100i64..=450],
            proptest::option::weighted(0.2, (-50i64..=50, 250i64..350)),
        )
            .prop_map(|(lots, entry, lev_tenths, second)| {
                let collateral = lots.abs() * entry * 10_000 * 10 / lev_tenths;
                (collateral, (lots, entry), second)
            })
    }

    /// A step's move of the first market's price, basis points: crashes,
    /// calm steps and rebounds; a funding settlement on some.
    fn move_bp() -> impl Strategy<Value = (i64, Option<i64>)> {
        (
            prop_oneof![-3_000i64..=-300, -100i64..=100, 300i64..=1_500, Just(0)],
            proptest::option::weighted(0.2, -3_000i64..=3_000),
        )
    }

    /// What a run leaves: every step's events, then per account its
    /// collateral, equity, positions and pending flag, and the fund.
    type RunTrace = (
        Vec<Vec<crate::engine::Event>>,
        Vec<(i64, i64, Vec<i64>, bool)>,
        u32,
    );

    /// Runs `book` (1 USD of insurance fund: ADL fires) through `path`
    /// with ADL policy number `policy` (queue, `pro_rata`,
    /// `min_max_leverage`, dYdX's walk), checking the index after every
    /// step.
    fn run(
        book: &[BookAccount],
        path: &[(i64, Option<i64>)],
        policy: usize,
        latency: u32,
        partial: bool,
    ) -> RunTrace {
        use crate::engine::{AccountSpec, LastLine, LiquidationMode, VenueConfig};
        use crate::money::{Micros, Rate};
        use crate::venue::adl::{AdlPolicy, AdlScope, BinanceRanking};
        let policy = match policy {
            0 => AdlPolicy::Queue(Box::new(BinanceRanking)),
            1 => AdlPolicy::ProRata,
            2 => AdlPolicy::MinMaxLeverage,
            _ => AdlPolicy::DydxWalk,
        };
        let mode = if partial {
            LiquidationMode::ToTarget {
                buffer: Rate::from_fraction(0.1).expect("a rate"),
                step_fraction: 0.25,
            }
        } else {
            LiquidationMode::Full
        };
        let cfg = VenueConfig {
            mode,
            latency_steps: latency,
            insurance_fund: Micros(1_000_000),
            last_line: LastLine::Adl {
                policy,
                scope: AdlScope::Position,
            },
            ..VenueConfig::plain()
        };
        let pop: Vec<AccountSpec> = book
            .iter()
            .enumerate()
            .map(|(i, &(collateral, first, second))| AccountSpec {
                id: i as u64 + 1,
                collateral: Micros(collateral),
                isolated: false,
                positions: std::iter::once((0u16, first.0, first.1))
                    .chain(second.map(|(l, t)| (1u16, l, t)))
                    .collect(),
            })
            .collect();
        let floors = [0, 1_000_000_000];
        let markets = vec![
            super::super::test_venue::market(&floors),
            super::super::test_venue::market(&floors),
        ];
        let mut e = Engine::new(markets, &[100.0, 3.0], &pop, cfg, Engine::test_rng(7))
            .expect("the book opens");
        e.set_record_events(true);
        let mut price = 10_000i64;
        let mut events = Vec::new();
        for &(bp, funding) in path {
            price = (price + price * bp / 10_000).max(5);
            let rates: Vec<Option<Rate>> = vec![
                funding.map(|f| Rate::from_fraction(f as f64 * 1e-6).expect("a rate")),
                None,
            ];
            e.step_with_funding(&[price as f64 / 100.0, 3.0], &rates)
                .expect("the step runs");
            e.check_index_soundness().expect("the index misses nothing");
            assert_single_triggers_safe(&mut e);
            events.push(e.events().to_vec());
        }
        let accounts = (0..book.len() as u32)
            .map(|a| {
                let lots = e.positions_of(a).iter().map(|p| p.lots).collect();
                (e.collateral(a).0, e.equity(a).0, lots, e.is_pending(a))
            })
            .collect();
        (events, accounts, e.accounts_liquidated())
    }

    /// An ADL-like fill of account 0's first slot: `lots` traded at
    /// `price` ticks with an external side, the account dirty and its
    /// triggers deferred as a fill defers them, the keep switched on.
    fn deferred_fill(e: &mut Engine, lots: i64, price: i64) {
        e.ledger.mark_dirty(0);
        let value = e.markets[0].value(lots, price);
        e.ledger.trade_with_external(0, 0, lots, value);
        e.ledger.set_index_deferred(0, true);
        PLAIN_TRIGGERS.set(false);
    }

    /// The recorded single-position entry of account `a` of `e`: its
    /// trigger (ticks, the market's offset applied) and whether it is a
    /// long's; `None` without one.
    fn single_trigger(e: &Engine, a: u32) -> Option<(i64, bool)> {
        let packed = e.ledger.accounts[a as usize].single_trigger;
        if packed == super::NO_SINGLE_TRIGGER {
            return None;
        }
        let (stored, long) = super::unpack_single_trigger(packed);
        let slot = e.ledger.accounts[a as usize].first_slot as usize;
        let mi = e.ledger.positions[slot].market as usize;
        let trigger = if long {
            e.index.long_trigger(mi, stored)
        } else {
            e.index.short_trigger(mi, stored)
        };
        Some((trigger, long))
    }

    /// Every recorded single-position trigger (kept or pushed) is on the
    /// safe side: the account, not pending, is not liquidatable one tick
    /// inside it (below a short's, above a long's), nor a few ticks further
    /// nor at the mark, by the plain equity and requirement at that mark.
    fn assert_single_triggers_safe(e: &mut Engine) {
        for a in 0..e.ledger.accounts.len() as u32 {
            let Some((trigger, long)) = single_trigger(e, a) else {
                continue;
            };
            if e.is_pending(a) {
                continue;
            }
            let slot = e.ledger.accounts[a as usize].first_slot as usize;
            let mi = e.ledger.positions[slot].market as usize;
            let mark = e.marks[mi];
            let inside = |d: i64| if long { trigger + d } else { trigger - d };
            for at in [inside(1), inside(2), inside(7), inside(50), mark] {
                e.marks[mi] = at;
                let liquidatable = at > 0 && e.is_liquidatable(a);
                e.marks[mi] = mark;
                assert!(
                    !liquidatable,
                    "account {a} liquidatable at {at}, inside its trigger {trigger} (long: {long})"
                );
            }
        }
    }

    /// A deferred winner whose fill left it safer keeps its short's
    /// trigger (same version, no push), and the kept trigger is re-checked
    /// when the mark crosses it: popped and re-indexed while safe there,
    /// scheduled once the mark passes its liquidation price.
    #[test]
    fn kept_trigger_is_rechecked_when_crossed() {
        // A short of 10 lots at 100 USD with 50 USD: liquidated near
        // 100 × (1 + 50/1000) / 1.01 ≈ 103.96 USD.
        let mut e = venue(&[(50_000_000, [Some((-10, 10_000)), None])]);
        let stored = e.ledger.accounts[0].single_trigger;
        let (trigger, long) = single_trigger(&e, 0).expect("a short's trigger is recorded");
        assert!(!long);
        let version = e.ledger.accounts[0].version;
        // An ADL-like fill: 4 lots bought back at the mark, the triggers
        // deferred; the account is safer, so the entry stays.
        let mark = e.marks[0];
        deferred_fill(&mut e, 4, mark);
        let before = KEPT_TRIGGERS.get();
        e.recheck(0);
        assert_eq!(KEPT_TRIGGERS.get(), before + 1, "the trigger is kept");
        assert_eq!(e.ledger.accounts[0].version, version, "no new entry");
        assert_eq!(e.ledger.accounts[0].single_trigger, stored);
        assert!(!e.ledger.index_deferred(0));
        // The mark at the kept trigger: popped, safe, re-indexed further up.
        e.marks[0] = trigger;
        assert!(!e.is_liquidatable(0));
        e.collect_breaches();
        assert_ne!(e.ledger.accounts[0].version, version, "re-checked");
        assert!(!e.is_pending(0));
        let (moved, _) = single_trigger(&e, 0).expect("re-indexed");
        assert!(
            moved > trigger,
            "the new trigger {moved} is past the kept {trigger}"
        );
        // Past the liquidation price: the new entry pops, scheduled.
        e.marks[0] = moved + 2_000;
        assert!(e.is_liquidatable(0));
        e.collect_breaches();
        assert!(e.is_pending(0));
        assert_eq!(
            e.ledger.accounts[0].single_trigger,
            super::NO_SINGLE_TRIGGER
        );
    }

    /// A deferred winner whose fill (at a price far above the mark, as a
    /// bankrupt long's) brought its liquidation price inside its trigger
    /// does not keep it: a new entry, and a mark between the two prices
    /// schedules its liquidation.
    #[test]
    fn unsafe_trigger_is_not_kept() {
        let mut e = venue(&[(50_000_000, [Some((-10, 10_000)), None])]);
        let (trigger, _) = single_trigger(&e, 0).expect("a short's trigger");
        let version = e.ledger.accounts[0].version;
        // 2 lots bought back at 120 USD: 40 USD of the 50 lost.
        deferred_fill(&mut e, 2, 12_000);
        let before = KEPT_TRIGGERS.get();
        e.recheck(0);
        assert!(!e.is_pending(0), "still safe at the mark");
        assert_eq!(KEPT_TRIGGERS.get(), before, "the trigger is not kept");
        assert_ne!(e.ledger.accounts[0].version, version, "a new entry");
        // Liquidatable below the old trigger: caught there.
        let mark = (e.marks[0]..trigger)
            .find(|&m| {
                e.marks[0] = m;
                e.is_liquidatable(0)
            })
            .expect("the liquidation price moved inside the old trigger");
        e.marks[0] = mark;
        e.collect_breaches();
        assert!(
            e.is_pending(0),
            "scheduled at {mark}, below the old trigger {trigger}"
        );
    }

    /// A deferred long winner whose fill left it safer keeps its trigger
    /// (same version), and the mark at it pops and re-checks the account
    /// (re-indexed further down while safe).
    #[test]
    fn kept_long_trigger_is_rechecked_when_crossed() {
        // A long of 10 lots at 100 USD with 50 USD: liquidated near
        // 100 × (1 − 50/1000) / 0.99 ≈ 95.96 USD.
        let mut e = venue(&[(50_000_000, [Some((10, 10_000)), None])]);
        let stored = e.ledger.accounts[0].single_trigger;
        let (trigger, long) = single_trigger(&e, 0).expect("a long's trigger is recorded");
        assert!(long);
        let version = e.ledger.accounts[0].version;
        // An ADL-like fill: 4 lots sold at the mark, the triggers deferred.
        let mark = e.marks[0];
        deferred_fill(&mut e, -4, mark);
        let (before, before_long) = (KEPT_TRIGGERS.get(), KEPT_LONG_TRIGGERS.get());
        e.recheck(0);
        assert_eq!(KEPT_TRIGGERS.get(), before + 1, "the trigger is kept");
        assert_eq!(KEPT_LONG_TRIGGERS.get(), before_long + 1, "a long's");
        assert_eq!(e.ledger.accounts[0].version, version, "no new entry");
        assert_eq!(e.ledger.accounts[0].single_trigger, stored);
        // The mark at the kept trigger: popped, safe, re-indexed further down.
        e.marks[0] = trigger;
        assert!(!e.is_liquidatable(0));
        e.collect_breaches();
        assert_ne!(e.ledger.accounts[0].version, version, "re-checked");
        assert!(!e.is_pending(0));
        let (moved, _) = single_trigger(&e, 0).expect("re-indexed");
        assert!(
            moved < trigger,
            "the new trigger {moved} is below the kept {trigger}"
        );
    }

    /// A deferred long winner whose fill (at a price far below the mark, as
    /// a bankrupt short's in a rise) brought its liquidation price above
    /// its trigger does not keep it: a new entry, and a mark between the two
    /// prices schedules its liquidation.
    #[test]
    fn unsafe_long_trigger_is_not_kept() {
        let mut e = venue(&[(50_000_000, [Some((10, 10_000)), None])]);
        let (trigger, long) = single_trigger(&e, 0).expect("a long's trigger");
        assert!(long);
        let version = e.ledger.accounts[0].version;
        // 2 lots sold at 80 USD: 40 USD of the 50 lost.
        deferred_fill(&mut e, -2, 8_000);
        let before = KEPT_TRIGGERS.get();
        e.recheck(0);
        assert!(!e.is_pending(0), "still safe at the mark");
        assert_eq!(KEPT_TRIGGERS.get(), before, "the trigger is not kept");
        assert_ne!(e.ledger.accounts[0].version, version, "a new entry");
        // Liquidatable above the old trigger: caught there.
        let mark = (trigger + 1..e.marks[0])
            .rev()
            .find(|&m| {
                e.marks[0] = m;
                e.is_liquidatable(0)
            })
            .expect("the liquidation price moved above the old trigger");
        e.marks[0] = mark;
        e.collect_breaches();
        assert!(
            e.is_pending(0),
            "scheduled at {mark}, above the old trigger {trigger}"
        );
    }

    /// The engine-level comparison takes the kept long path: a rise whose
    /// ADL fills leave long winners safer keeps some of their triggers.
    #[test]
    fn kept_long_triggers_are_taken_in_a_rise() {
        let book: Vec<BookAccount> = (0..30)
            .map(|i| {
                if i % 2 == 0 {
                    (100_000_000, (-20 - i, 10_000), None)
                } else {
                    (2_000_000_000, (60 + i, 10_000 - i), None)
                }
            })
            .collect();
        let path = [
            (0, None),
            (800, None),
            (800, None),
            (500, None),
            (-300, None),
            (400, None),
        ];
        for policy in 0..4 {
            PLAIN_TRIGGERS.set(true);
            let plain = run(&book, &path, policy, 0, false);
            PLAIN_TRIGGERS.set(false);
            let before = KEPT_LONG_TRIGGERS.get();
            let kept = run(&book, &path, policy, 0, false);
            assert!(
                KEPT_LONG_TRIGGERS.get() > before,
                "policy {policy}: some long trigger kept"
            );
            assert_eq!(plain, kept, "policy {policy}");
        }
    }

    /// The engine-level comparison takes the kept path: a crash whose ADL
    /// fills leave short winners safer keeps some of their triggers.
    #[test]
    fn kept_triggers_are_taken_in_a_crash() {
        let book: Vec<BookAccount> = (0..30)
            .map(|i| {
                if i % 2 == 0 {
                    (100_000_000, (20 + i, 10_000), None)
                } else {
                    (2_000_000_000, (-60 - i, 10_000 + i), None)
                }
            })
            .collect();
        let path = [
            (0, None),
            (-800, None),
            (-800, None),
            (-500, None),
            (300, None),
            (-400, None),
        ];
        for policy in 0..4 {
            PLAIN_TRIGGERS.set(true);
            let plain = run(&book, &path, policy, 0, false);
            PLAIN_TRIGGERS.set(false);
            let before = KEPT_TRIGGERS.get();
            let kept = run(&book, &path, policy, 0, false);
            assert!(
                KEPT_TRIGGERS.get() > before,
                "policy {policy}: some trigger kept"
            );
            assert_eq!(plain, kept, "policy {policy}");
            assert!(
                plain
                    .0
                    .iter()
                    .flatten()
                    .any(|ev| matches!(ev, crate::engine::Event::Adl { .. }))
            );
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
