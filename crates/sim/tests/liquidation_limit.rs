//! dYdX v4's fillable price as the limit of a liquidation order
//! (docs/model.md §5, "The fillable price as a limit"; docs/venues.md, dYdX).
//!
//! The worked example is the help center's account ("Liquidations"): long 1
//! ETH at an oracle of 3,000 USD, maintenance fraction 5% (150 USD), 2% of
//! room before bankruptcy (60 USD of equity): `Q = 60 / 150 = 0.4`, `ABR =
//! 0.6`, the limit `3,000 × (1 − 0.6 × 1.5 × 5%) = 2,865.00`, 75 USD below
//! the bankruptcy price of 2,940.00. The help center's "maximum liquidation
//! spread of 7.5%" is the bound the formula reaches at zero equity.
//!
//! Markets here: tick 0.01 USD, lot 1 ETH, `k = 10,000 µUSD` per lot-tick.

use backstop_sim::engine::{
    AccountSpec, AdlScope, Engine, Event, LastLine, LiquidationLimit, LiquidationMode, VenueConfig,
    fillable_ticks,
};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::adl::AdlPolicy;
use backstop_sim::venue::impact::{ImpactModel, NoImpact, SquareRootImpact};
use backstop_sim::venue::market::{MarginSchedule, Market};
use backstop_sim::venue::rulebook::dydx;
use proptest::prelude::*;

const K: i64 = 10_000;

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap()
}
fn ticks(price: f64) -> i64 {
    (price * 100.0).round() as i64
}
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// dYdX mainnet: SMMR 1.5, BA 1.
fn dydx_limit() -> LiquidationLimit {
    LiquidationLimit {
        spread_to_maintenance: rate(dydx::SPREAD_TO_MAINTENANCE),
        bankruptcy_adjustment: rate(dydx::BANKRUPTCY_ADJUSTMENT),
    }
}

/// ETH, MMF 5% (IMF 10%), with `impact`; no permanent impact.
fn eth(impact: Box<dyn ImpactModel>) -> Market {
    Market {
        impact,
        ..Market::plain(
            "eth",
            0.01,
            1.0,
            K,
            MarginSchedule::new(&[(Micros::ZERO, rate(0.10), rate(0.05))]),
        )
    }
}

/// Square-root impact of `fraction` for a trade of `usd_at` USD.
fn sqrt_impact(fraction: f64, usd_at: f64) -> Box<dyn ImpactModel> {
    Box::new(SquareRootImpact {
        coefficient: 1.0,
        volatility: fraction,
        volume_usd: usd_at,
    })
}

/// dYdX's venue rules: chunks of 100% every step, 1.5% fee to the fund,
/// deleveraging (from a random start) as the last line.
fn config(fund_usd: f64) -> VenueConfig {
    VenueConfig {
        mode: LiquidationMode::Chunked {
            max_fraction: 1.0,
            min_chunk: Micros(1_000),
            full_below: Micros::ZERO,
            cooldown_steps: 1,
            then_whole: false,
        },
        fee: rate(dydx::MAX_LIQUIDATION_FEE),
        insurance_fund: usd(fund_usd),
        last_line: LastLine::Adl {
            policy: AdlPolicy::DydxWalk,
            scope: AdlScope::Position,
        },
        ..VenueConfig::plain()
    }
}

fn account(id: u64, lots: i64, entry: f64, collateral: f64) -> AccountSpec {
    AccountSpec {
        id,
        collateral: usd(collateral),
        isolated: false,
        positions: vec![(0, lots, ticks(entry))],
    }
}

/// The documented account: long 1 at 3,100 with 160 USD, so 60 USD of equity
/// at 3,000 (and a short on the other side, in profit as the price falls).
fn engine(impact: Box<dyn ImpactModel>, limit: Option<LiquidationLimit>) -> Engine {
    let pop = [
        account(0, 1, 3_100.0, 160.0),
        account(1, -1, 3_100.0, 10_000.0),
    ];
    let mut e = Engine::new(
        vec![eth(impact)],
        &[3_100.0],
        &pop,
        config(1_000_000.0),
        Engine::test_rng(1),
    )
    .unwrap();
    e.set_record_events(true);
    e.set_liquidation_limit(limit);
    e.check_invariants().unwrap();
    e
}

fn step(e: &mut Engine, price: f64) -> Vec<Event> {
    e.step(&[price]).unwrap();
    e.check_invariants().unwrap();
    e.check_index_soundness().unwrap();
    e.events().to_vec()
}

fn fills(events: &[Event]) -> Vec<(u32, i64, i64)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Liquidation {
                account,
                lots,
                price,
                ..
            } => Some((account, lots, price)),
            _ => None,
        })
        .collect()
}

/// The documented example to the cent, by the engine's integer function and
/// by the rule book's formula.
#[test]
fn documented_example_limit_is_2865() {
    let limit = fillable_ticks(
        &dydx_limit(),
        ticks(3_000.0),
        1,
        usd(150.0),
        usd(60.0),
        usd(150.0),
        K,
    );
    assert_eq!(limit, ticks(2_865.00));
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, 1.0, 1.5, 0.05, 1.0, 60.0, 150.0
        )),
        2_865.00
    );
    // The bankruptcy price, 2,940.00: the limit is 75 USD past it.
    assert_eq!(ticks(3_000.0 - 60.0) - limit, ticks(75.0));
    // A short in the same state: 3,135.00.
    let short = fillable_ticks(
        &dydx_limit(),
        ticks(3_000.0),
        -1,
        usd(150.0),
        usd(60.0),
        usd(150.0),
        K,
    );
    assert_eq!(short, ticks(3_135.00));
}

/// With no slippage the order fills whole at the oracle, the limit far away.
#[test]
fn without_slippage_the_order_fills_at_the_oracle() {
    let mut e = engine(Box::new(NoImpact), Some(dydx_limit()));
    assert_eq!(
        fills(&step(&mut e, 3_000.0)),
        vec![(0, -1, ticks(3_000.00))]
    );
    assert_eq!(e.positions_of(0)[0].lots, 0);
    assert_eq!(e.totals().liquidations, 1);
}

/// 5% of slippage for 3,000 USD: selling the documented account's 1 ETH at
/// the 3,000 oracle would fill at 2,850.00, below its 2,865.00 limit, so
/// nothing fills and, its equity positive, it waits; without the limit it
/// fills at 2,850.00 at once. At 2,950 (equity 10 USD, ABR 0.932, limit
/// 2,743.75) the same book fills it at 2,803.73.
#[test]
fn an_order_that_cannot_fill_at_the_limit_waits() {
    let mut free = engine(sqrt_impact(0.05, 3_000.0), None);
    assert_eq!(
        fills(&step(&mut free, 3_000.0)),
        vec![(0, -1, ticks(2_850.00))]
    );

    let mut e = engine(sqrt_impact(0.05, 3_000.0), Some(dydx_limit()));
    assert!(fills(&step(&mut e, 3_000.0)).is_empty());
    assert_eq!(e.positions_of(0)[0].lots, 1);
    assert!(e.is_pending(0), "still liquidatable, retried next step");
    assert!(fills(&step(&mut e, 3_000.0)).is_empty());
    assert_eq!(e.accounts_liquidated(), 0, "nothing filled: not counted");
    let limit = fillable_ticks(
        &dydx_limit(),
        ticks(2_950.0),
        1,
        e.markets()[0]
            .margin
            .maintenance_requirement(usd(2_950.0), Rate::ONE),
        usd(10.0),
        e.markets()[0]
            .margin
            .maintenance_requirement(usd(2_950.0), Rate::ONE),
        K,
    );
    assert_eq!(limit, ticks(2_743.75));
    let f = fills(&step(&mut e, 2_950.0));
    assert_eq!(f, vec![(0, -1, ticks(2_803.73))]);
    assert!(f[0].2 >= limit);
    assert_eq!(e.positions_of(0)[0].lots, 0);
    assert_eq!(e.accounts_liquidated(), 1);
}

/// An account below zero equity whose order fills nothing is deleveraged at
/// its bankruptcy price (dYdX's `CanDeleverageSubaccount`: negative TNC),
/// even with a fund that could pay.
#[test]
fn a_bankrupt_account_that_cannot_fill_is_deleveraged() {
    // 50% of slippage: nothing fills within 7.5%.
    let mut e = engine(sqrt_impact(0.5, 3_000.0), Some(dydx_limit()));
    let events = step(&mut e, 2_900.0);
    assert!(fills(&events).is_empty());
    let adl: Vec<_> = events
        .iter()
        .filter_map(|ev| match *ev {
            Event::Adl {
                account,
                closed_lots,
                ..
            } => Some((account, closed_lots)),
            _ => None,
        })
        .collect();
    assert_eq!(adl, vec![(0, 1)]);
    assert_eq!(e.positions_of(0)[0].lots, 0);
    assert_eq!(e.positions_of(1)[0].lots, 0);
    // Closed at the bankruptcy price 2,940 (equity −40 at 2,900): nothing
    // left, nothing from the fund.
    assert_eq!(e.equity(0), Micros::ZERO);
    assert_eq!(e.insurance_fund().balance(), usd(1_000_000.0));
}

/// A larger position fills only the lots within the limit; the rest waits.
#[test]
fn a_large_order_fills_in_part_within_the_limit() {
    // Long 10 at 3,100 with 1,600 USD: at 3,000 equity 600, maintenance 1,500,
    // ABR 0.6, limit 2,865.00. Slippage 5% at 30,000 USD: 1 lot (3,000 USD)
    // costs 1.58%, 8 lots 4.47%, 9 lots 4.74%: 8 lots fill.
    let pop = [
        account(0, 10, 3_100.0, 1_600.0),
        account(1, -10, 3_100.0, 100_000.0),
    ];
    let mut e = Engine::new(
        vec![eth(sqrt_impact(0.05, 30_000.0))],
        &[3_100.0],
        &pop,
        config(1_000_000.0),
        Engine::test_rng(1),
    )
    .unwrap();
    e.set_record_events(true);
    e.set_liquidation_limit(Some(dydx_limit()));
    let f = fills(&step(&mut e, 3_000.0));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1, -8);
    assert!(f[0].2 >= ticks(2_865.00));
    assert_eq!(e.positions_of(0)[0].lots, 2);
    assert!(e.is_pending(0));
}

proptest! {
    /// The limit lies between the oracle and the largest spread `SMMR × MMF`
    /// away from it, on the side that costs the liquidated account; it is the
    /// oracle at or above maintenance and the largest spread at zero equity
    /// or below; lower equity never moves it toward the oracle.
    #[test]
    fn the_limit_is_between_the_oracle_and_the_largest_spread(
        mark in 100i64..10_000_000,
        lots in 1i64..1_000,
        long in any::<bool>(),
        mmf_bp in 10i64..2_000,
        q_permille in -2_000i64..2_000,
        smmr_pct in 1i64..500,
        ba_pct in 100i64..400,
    ) {
        let lots = if long { lots } else { -lots };
        let limit = LiquidationLimit {
            spread_to_maintenance: Rate(smmr_pct * 10_000_000),
            bankruptcy_adjustment: Rate(ba_pct * 10_000_000),
        };
        let notional = lots.abs() as i128 * mark as i128 * K as i128;
        let pmmr = Micros((notional * mmf_bp as i128 / 10_000) as i64);
        let equity = Micros((pmmr.0 as i128 * q_permille as i128 / 1_000) as i64);
        let l = fillable_ticks(&limit, mark, lots, pmmr, equity, pmmr, K);
        let widest = mark as f64 * smmr_pct as f64 / 100.0 * mmf_bp as f64 / 10_000.0;
        let gap = (mark - l) * lots.signum();
        prop_assert!(gap >= 0, "on the costly side of the oracle");
        prop_assert!(gap as f64 <= widest.floor() + 1e-9 || l == 1, "within the largest spread");
        if q_permille >= 1_000 {
            prop_assert_eq!(l, mark);
        }
        if q_permille <= 0 {
            let w = (mark as f64 - lots.signum() as f64 * widest).max(1.0);
            prop_assert!((l as f64 - w).abs() <= 1.0 + 1e-9 * mark as f64);
        }
        let poorer = Micros(equity.0 - pmmr.0 / 10);
        let l2 = fillable_ticks(&limit, mark, lots, pmmr, poorer, pmmr, K);
        prop_assert!((mark - l2) * lots.signum() >= gap);
    }

    /// In an engine under the limit, a fill is never worse than the limit of
    /// the account's state just before it (one account, one step to a random
    /// price, random slippage and size): and an order the limit stops leaves
    /// the position open unless the account is below zero (then deleveraged).
    #[test]
    fn a_fill_is_never_worse_than_the_limit(
        lots in 1i64..50,
        long in any::<bool>(),
        margin_pct in 6i64..40,
        move_pct in -30i64..30,
        slip_bp in 1i64..3_000,
    ) {
        let side = if long { 1 } else { -1 };
        let entry = 3_000.0;
        let collateral = lots as f64 * entry * margin_pct as f64 / 100.0;
        let pop = [
            account(0, side * lots, entry, collateral),
            account(1, -side * lots, entry, 10_000_000.0),
        ];
        let depth = lots as f64 * entry;
        let mut e = Engine::new(
            vec![eth(sqrt_impact(slip_bp as f64 / 10_000.0, depth))],
            &[entry],
            &pop,
            config(1_000_000.0),
            Engine::test_rng(3),
        )
        .unwrap();
        e.set_record_events(true);
        e.set_liquidation_limit(Some(dydx_limit()));
        let price = entry * (1.0 + move_pct as f64 / 100.0);
        let mark = ticks(price);
        let equity = usd(collateral) + Micros(side * lots * (mark - ticks(entry)) * K);
        let pmmr = e.markets()[0]
            .margin
            .maintenance_requirement(Micros(lots * mark * K), Rate::ONE);
        let limit = fillable_ticks(&dydx_limit(), mark, side * lots, pmmr, equity, pmmr, K);
        let events = step(&mut e, price);
        for (account, _, p) in fills(&events) {
            if account == 0 {
                prop_assert!((p - limit) * side >= 0, "fill {p} vs limit {limit}");
            }
        }
        if equity < pmmr && fills(&events).is_empty() {
            let open = e.positions_of(0)[0].lots != 0;
            prop_assert_eq!(open, equity.0 >= 0);
        }
    }
}
