//! Margin: equity, the maintenance requirement, and the liquidation and
//! bankruptcy prices of a position (docs/model.md §3).
//!
//! The requirement itself is [`crate::venue::market::MarginSchedule`]'s; the
//! engine only scales it by the market's current margin multiplier.

use crate::money::{Micros, PPB, Rate};
use crate::venue::market::{MarginTier, MarketId};

use super::Engine;
use super::ledger::Position;

impl Engine {
    /// Equity of an account at the current marks: collateral, non-USD collateral
    /// at its weighted price, and unrealized PnL.
    pub fn equity(&self, account: u32) -> Micros {
        let mut e = self.ledger.collateral(account) + self.asset_value(account, 1.0);
        for p in self.ledger.positions_of(account) {
            let m = &self.markets[p.market as usize];
            e += m.value(p.lots, self.marks[p.market as usize]) - p.cost;
        }
        e
    }

    /// The equity and maintenance requirement of account `a` at the marks
    /// (as [`Engine::equity`] and [`Engine::maintenance`] give them) when it
    /// holds one position slot, open: read off that position in one pass
    /// (the deferred re-check of each ADL winner, once a step). `None`
    /// otherwise (several slots, or a flat one).
    pub(super) fn one_position_margin(&self, a: u32) -> Option<(Micros, Micros)> {
        let acc = &self.ledger.accounts[a as usize];
        if acc.slot_count != 1 {
            return None;
        }
        let p = &self.ledger.positions[acc.first_slot as usize];
        if p.lots == 0 {
            return None;
        }
        let mi = p.market as usize;
        let unrealized = self.markets[mi].value(p.lots, self.marks[mi]) - p.cost;
        let equity = self.ledger.collateral(a) + self.asset_value(a, 1.0) + unrealized;
        let margin = (equity, self.position_maintenance(p, p.lots));
        debug_assert_eq!(
            margin,
            (self.equity(a), self.maintenance(a)),
            "Invariant: a one-position account's margin is its position's"
        );
        Some(margin)
    }

    /// [`Engine::equity`] of `account`, which holds slot `s` whose position
    /// is worth `value` at the mark. An account of one slot (most of an ADL
    /// side's candidates) is read off that slot alone, the value reused:
    /// the call of `Engine::equity` (its slot loop, the value again) was
    /// ~70 instructions a key of a `min_max_leverage` build and is the
    /// equity of each entry of a `pro_rata` one (docs/performance.md,
    /// rounds 21b and 21c).
    #[inline(always)]
    pub(super) fn equity_of_slot(&self, account: u32, s: u32, value: Micros) -> Micros {
        let acc = &self.ledger.accounts[account as usize];
        if acc.slot_count != 1 {
            return self.equity(account);
        }
        debug_assert_eq!(acc.first_slot, s, "Invariant: slot s is its owner's");
        let cost = self.ledger.positions[s as usize].cost;
        let equity =
            self.ledger.collateral(account) + self.asset_value(account, 1.0) + (value - cost);
        debug_assert_eq!(
            equity,
            self.equity(account),
            "Invariant: a one-slot account's equity is its slot's"
        );
        equity
    }

    /// Maintenance requirement of an account at the current marks.
    pub fn maintenance(&self, account: u32) -> Micros {
        self.ledger
            .positions_of(account)
            .iter()
            .filter(|p| p.lots != 0)
            .map(|p| self.position_maintenance(p, p.lots))
            .sum()
    }

    /// Maintenance requirement of `lots` of the position `p`'s market at the mark,
    /// with the market's margin multiplier.
    ///
    /// Inlined at every call (the first-bracket path is a few instructions
    /// and an ADL fill's re-check runs it per fill); the schedule's search
    /// is not.
    #[inline(always)]
    pub(super) fn position_maintenance(&self, p: &Position, lots: i64) -> Micros {
        let mi = p.market as usize;
        let notional = self.markets[mi].value(lots.abs(), self.marks[mi]);
        self.notional_maintenance(mi, notional)
    }

    /// The requirement of a position of `notional` in market `mi` with the
    /// market's margin multiplier: [`Engine::position_maintenance`] at any
    /// mark (a kept trigger's test, `engine/index.rs`, reads it one tick
    /// inside the trigger). The first bracket in `i64`, else the schedule.
    #[inline(always)]
    pub(super) fn notional_maintenance(&self, mi: usize, notional: Micros) -> Micros {
        let m = &self.markets[mi];
        let mult = self.margin_mult[mi];
        // Most positions are in the first bracket (its maintenance amount is
        // 0): `ceil(notional × mmr)` in i64, as `maintenance_requirement`
        // computes it there (no bracket search, no 128-bit product).
        let tiers = m.margin.tiers();
        if mult == Rate::ONE
            && let [first, rest @ ..] = tiers
            && rest
                .first()
                .is_none_or(|next| notional < next.notional_floor)
            && let Some(product) = notional.0.checked_mul(first.mmr.0)
        {
            let (q, r) = (product / PPB, product % PPB);
            let requirement = Micros(q + i64::from(r > 0));
            debug_assert_eq!(
                requirement,
                m.margin.maintenance_requirement(notional, mult),
                "Invariant: the first-bracket fast path is the schedule's requirement"
            );
            return requirement;
        }
        self.schedule_maintenance(mi, notional)
    }

    /// What [`Engine::position_maintenance`] reads of market `mi` besides
    /// the position, read once for many positions at the same marks (an
    /// ADL close's winners, all in the close's market).
    pub(super) fn maintenance_at(&self, mi: usize) -> MaintenanceAt {
        let m = &self.markets[mi];
        let first = match m.margin.tiers() {
            [first, rest @ ..] if self.margin_mult[mi] == Rate::ONE => {
                Some((first.mmr.0, rest.first().map(|next| next.notional_floor)))
            }
            _ => None,
        };
        MaintenanceAt {
            mi,
            mark_k: i128::from(self.marks[mi]) * i128::from(m.micros_per_lot_tick),
            first,
            second: first.and_then(|_| SecondBracket::of(m.margin.tiers())),
        }
    }

    /// [`Engine::position_maintenance`] of `lots` in the market of `at`
    /// ([`Engine::maintenance_at`]): the same first-bracket path and the
    /// same schedule otherwise, without the market's, mark's and
    /// multiplier's reads (and their bounds checks) per position. Exact:
    /// the notional is `|lots| × (mark × k)`, the market's
    /// `|lots| × mark × k` regrouped (integer products are associative;
    /// `mark × k` fits in 128 bits), and the tests and the rounding are
    /// the same (debug-asserted against `position_maintenance`).
    #[inline(always)]
    pub(super) fn position_maintenance_at(&self, at: &MaintenanceAt, lots: i64) -> Micros {
        let notional = Micros((i128::from(lots.abs()) * at.mark_k) as i64);
        debug_assert_eq!(
            notional,
            self.markets[at.mi].value(lots.abs(), self.marks[at.mi]),
            "Invariant: the notional is the market's value at the mark"
        );
        if let Some((mmr, next_floor)) = at.first
            && next_floor.is_none_or(|floor| notional < floor)
            && let Some(product) = notional.0.checked_mul(mmr)
        {
            let (q, r) = (product / PPB, product % PPB);
            let requirement = Micros(q + i64::from(r > 0));
            self.debug_check_requirement(at, notional, requirement);
            return requirement;
        }
        if let Some(requirement) = at.second.and_then(|b| b.requirement(notional)) {
            self.debug_check_requirement(at, notional, requirement);
            return requirement;
        }
        self.schedule_maintenance(at.mi, notional)
    }

    /// Debug builds: `requirement`, from a fast path of
    /// [`Engine::position_maintenance_at`] (the first or the second
    /// bracket), is the schedule's for `notional` in `at`'s market.
    #[inline(always)]
    fn debug_check_requirement(&self, at: &MaintenanceAt, notional: Micros, requirement: Micros) {
        debug_assert_eq!(
            requirement,
            self.markets[at.mi]
                .margin
                .maintenance_requirement(notional, self.margin_mult[at.mi]),
            "Invariant: a bracket's fast path is the schedule's requirement"
        );
    }

    /// The requirement of `notional` in market `mi` by its margin schedule,
    /// with the market's margin multiplier (off the first-bracket path of
    /// [`Engine::position_maintenance`]).
    #[inline(never)]
    fn schedule_maintenance(&self, mi: usize, notional: Micros) -> Micros {
        self.markets[mi]
            .margin
            .maintenance_requirement(notional, self.margin_mult[mi])
    }

    /// Liquidatable: equity strictly below the maintenance requirement.
    pub fn is_liquidatable(&self, account: u32) -> bool {
        self.has_open_positions(account) && self.equity(account) < self.maintenance(account)
    }

    pub(super) fn has_open_positions(&self, account: u32) -> bool {
        self.ledger
            .positions_of(account)
            .iter()
            .any(|p| p.lots != 0)
    }

    /// Liquidation price of the position in `slot` (index within the account),
    /// holding the other positions at their current marks, USD. `None` if the
    /// position is flat or cannot be liquidated at a positive price.
    ///
    /// Solves `equity(m) = maintenance(m)` bracket by bracket: Binance's one-way
    /// formula `(WB − TMM1 + UPNL1 + cum − side × size × EP) / (size × MMR − side ×
    /// size)` is the same line.
    pub fn liquidation_price(&self, account: u32, slot: usize) -> Option<f64> {
        let (ticks, market) = self.liquidation_ticks(account, slot, self.equity(account))?;
        Some(ticks * self.markets[market as usize].tick_size)
    }

    /// Bankruptcy price of the position in `slot` (others at their marks), USD:
    /// the mark at which the account's equity is zero.
    pub fn bankruptcy_price(&self, account: u32, slot: usize) -> Option<f64> {
        let p = *self.ledger.positions_of(account).get(slot)?;
        if p.lots == 0 {
            return None;
        }
        let m = &self.markets[p.market as usize];
        let rest = self.equity(account) - (m.value(p.lots, self.marks[p.market as usize]) - p.cost);
        let ticks = (p.cost.0 - rest.0) as f64 / (p.lots as f64 * m.micros_per_lot_tick as f64);
        (ticks > 0.0).then_some(ticks * m.tick_size)
    }

    /// Exact liquidation price in (fractional) ticks, given the account's equity
    /// at the current marks.
    pub(super) fn liquidation_ticks(
        &self,
        account: u32,
        slot: usize,
        equity: Micros,
    ) -> Option<(f64, MarketId)> {
        self.liquidation_ticks_with(account, slot, equity, self.maintenance(account))
    }

    /// [`Engine::liquidation_ticks`] given the account's maintenance requirement
    /// at the current marks too.
    pub(super) fn liquidation_ticks_with(
        &self,
        account: u32,
        slot: usize,
        equity: Micros,
        maintenance: Micros,
    ) -> Option<(f64, MarketId)> {
        let p = *self.ledger.positions_of(account).get(slot)?;
        if p.lots == 0 {
            return None;
        }
        self.liquidation_ticks_of(
            &p,
            equity,
            maintenance,
            self.position_maintenance(&p, p.lots),
        )
    }

    /// [`Engine::liquidation_ticks_with`] of the open position `p`, given its
    /// own maintenance requirement at the mark (`own_mm`, as
    /// [`Engine::position_maintenance`] gives it): the account's requirement
    /// itself when `p` is its only open position.
    pub(super) fn liquidation_ticks_of(
        &self,
        p: &Position,
        equity: Micros,
        maintenance: Micros,
        own_mm: Micros,
    ) -> Option<(f64, MarketId)> {
        debug_assert_eq!(
            own_mm,
            self.position_maintenance(p, p.lots),
            "Invariant: the position's own requirement given is its requirement at the mark"
        );
        let market = &self.markets[p.market as usize];
        let mark = self.marks[p.market as usize];
        let k = market.micros_per_lot_tick as f64;
        // Equity without this position's value, minus the others' maintenance.
        let own_value = market.value(p.lots, mark);
        let base = (equity - own_value).0 as f64 - (maintenance - own_mm).0 as f64;
        let s = p.lots as f64;
        let tiers = market.margin.tiers();
        let mult = self.margin_mult[p.market as usize].as_fraction();
        for t in 0..tiers.len() {
            let (mmr, cum) = market.margin.maintenance_line(t, mult);
            // base + s m k = |s| m k mmr − cum
            let denom = k * (s - s.abs() * mmr);
            let m = -(base + cum) / denom;
            if !m.is_finite() || m <= 0.0 {
                continue;
            }
            let notional = s.abs() * m * k;
            let lo = tiers[t].notional_floor.0 as f64;
            let hi = tiers
                .get(t + 1)
                .map_or(f64::INFINITY, |n| n.notional_floor.0 as f64);
            // A root on a bracket floor may land a rounding error outside both
            // brackets; the function is continuous there, so either root is right.
            let slack = 1e-9 * notional.max(1.0);
            if notional >= lo - slack && notional < hi + slack {
                return Some((m, p.market));
            }
        }
        None
    }
}

/// A market's maintenance schedule as [`Engine::position_maintenance`]
/// reads it, at the current mark and multiplier
/// ([`Engine::maintenance_at`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct MaintenanceAt {
    /// The market.
    mi: usize,
    /// One lot's value at the mark: the mark (ticks) times the market's
    /// µUSD per lot-tick.
    mark_k: i128,
    /// With the multiplier at one: the first bracket's maintenance rate
    /// (ppb) and the second bracket's floor (`None` with one bracket); else
    /// `None` (every requirement from the schedule).
    first: Option<(i64, Option<Micros>)>,
    /// With the multiplier at one and the brackets' floors increasing: the
    /// second bracket ([`SecondBracket`]); else `None`.
    second: Option<SecondBracket>,
}

/// The second bracket of a schedule whose floors increase, read once a
/// close ([`Engine::maintenance_at`]): an ADL crash's winners past the first
/// bracket's floor took the schedule's search, its 128-bit product and
/// `div_ceil_i128`'s range tests at each fill (~110 instructions a call).
#[derive(Clone, Copy, Debug)]
struct SecondBracket {
    /// Its floor (the lowest notional in it).
    floor: Micros,
    /// The third bracket's floor (`None` with two brackets).
    until: Option<Micros>,
    /// Its maintenance rate, ppb.
    mmr: i64,
    /// Its maintenance amount, µUSD × ppb.
    cum: i64,
}

impl SecondBracket {
    /// The second bracket of `tiers` when their floors increase (so that
    /// the schedule's search puts exactly `[floor, until)` in it) and its
    /// amount fits in `i64`.
    fn of(tiers: &[MarginTier]) -> Option<SecondBracket> {
        let increasing = tiers
            .windows(2)
            .all(|w| w[0].notional_floor < w[1].notional_floor);
        let t = tiers.get(1).filter(|_| increasing)?;
        Some(SecondBracket {
            floor: t.notional_floor,
            until: tiers.get(2).map(|n| n.notional_floor),
            mmr: t.mmr.0,
            cum: i64::try_from(t.maintenance_cum()).ok()?,
        })
    }

    /// The requirement of `notional` (multiplier one) when it lies in this
    /// bracket and `notional × mmr − cum` fits in `i64`, else `None`. Exact:
    /// the schedule finds this bracket for `[floor, until)` (floors
    /// increasing), forms the same value in 128 bits and, when it fits in
    /// `i64`, divides it rounding up by the same `i64` formula
    /// (`div_ceil_i128`).
    #[inline(always)]
    fn requirement(self, notional: Micros) -> Option<Micros> {
        if notional < self.floor || self.until.is_some_and(|u| notional >= u) {
            return None;
        }
        let x = notional.0.checked_mul(self.mmr)?.checked_sub(self.cum)?;
        let (q, r) = (x / PPB, x % PPB);
        Some(Micros(q + i64::from(r > 0)))
    }
}

impl MaintenanceAt {
    /// The market it reads.
    pub(super) fn market(&self) -> usize {
        self.mi
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use crate::money::Rate;

    proptest! {
        /// `Engine::position_maintenance_at` (the market read once) is
        /// `Engine::position_maintenance` for any lots (zero, ±1, either
        /// side, notionals on both sides of and on the second bracket's
        /// floor), at any mark, with one or two brackets, the multiplier at
        /// one or not.
        #[test]
        fn maintenance_at_is_the_positions_requirement(
            lots in proptest::collection::vec(
                prop_oneof![Just(0i64), Just(1), Just(-1), Just(10), Just(-10), -5_000i64..=5_000],
                1..20,
            ),
            mark in prop_oneof![Just(1i64), Just(10_000), 1i64..=1_000_000],
            two_brackets in any::<bool>(),
            mult in prop_oneof![Just(Rate::ONE), (1i64..=3_000_000_000).prop_map(Rate)],
        ) {
            let floors: &[i64] = if two_brackets { &[0, 1_000_000_000] } else { &[0] };
            let accounts: Vec<_> = lots
                .iter()
                .map(|&l| (1_000_000i64, [Some((l, 10_000i64)), Some((-l, 10_000))]))
                .collect();
            let mut e = super::super::test_venue::venue(&accounts, floors);
            for mi in 0..2 {
                e.marks[mi] = mark;
                e.margin_mult[mi] = mult;
                let at = e.maintenance_at(mi);
                prop_assert_eq!(at.market(), mi);
                for p in &e.ledger.positions {
                    if p.market as usize == mi {
                        prop_assert_eq!(
                            e.position_maintenance_at(&at, p.lots),
                            e.position_maintenance(p, p.lots)
                        );
                    }
                }
            }
        }

        /// The second-bracket path of `Engine::position_maintenance_at` is
        /// the schedule's requirement: one to four brackets whose floors
        /// fall on a position's notional exactly (`k` lots at the mark), just
        /// past it or anywhere; lots zero, ±1, either side; the multiplier
        /// at one or not.
        #[test]
        fn second_bracket_is_the_schedules_requirement(
            lots in proptest::collection::vec(
                prop_oneof![Just(0i64), Just(1), Just(-1), -400i64..=400, -5_000i64..=5_000],
                1..24,
            ),
            mark in prop_oneof![Just(1i64), Just(10_000), 1i64..=100_000],
            cuts in proptest::collection::vec(
                prop_oneof![
                    (1i64..=400).prop_map(|k| (k, 0i64)),
                    (1i64..=400).prop_map(|k| (k, 1i64)),
                    (1i64..=1_000_000_000_000).prop_map(|f| (0, f)),
                ],
                0..4,
            ),
            mult in prop_oneof![4 => Just(Rate::ONE), 1 => (1i64..=3_000_000_000).prop_map(Rate)],
        ) {
            // A floor at `k` lots' notional at the mark (plus `extra` µUSD),
            // or at `extra` alone when `k` is zero.
            let mut floors: Vec<i64> = cuts
                .iter()
                .map(|&(k, extra)| k * mark * 10_000 + extra)
                .collect();
            floors.push(0);
            floors.sort_unstable();
            floors.dedup();
            let accounts: Vec<_> = lots
                .iter()
                .map(|&l| (1_000_000i64, [Some((l, 10_000i64)), Some((-l, 10_000))]))
                .collect();
            let mut e = super::super::test_venue::venue(&accounts, &floors);
            for mi in 0..2 {
                e.marks[mi] = mark;
                e.margin_mult[mi] = mult;
                let at = e.maintenance_at(mi);
                for p in &e.ledger.positions {
                    if p.market as usize == mi {
                        let notional = e.markets[mi].value(p.lots.abs(), mark);
                        prop_assert_eq!(
                            e.position_maintenance_at(&at, p.lots),
                            e.markets[mi].margin.maintenance_requirement(notional, mult)
                        );
                    }
                }
            }
        }
    }
}
