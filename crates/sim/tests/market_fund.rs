//! A market's own insurance fund (dYdX v4's isolated market, issue 17;
//! docs/model.md §6): its liquidation fees go to it, its bad debt is paid from
//! it first, and when it cannot pay the last line runs without touching the
//! shared fund. Money is conserved over every party, the market funds included.
//!
//! Two markets `a` (index 0, with its own fund) and `b` (index 1, on the shared
//! fund), tick 0.01 USD × lot 1: `q` lots at `p` ticks are worth `q × p × 10_000`
//! µUSD. Every step checks [`Engine::check_invariants`].

use backstop_sim::engine::{AccountSpec, AdlScope, Engine, Event, LastLine, Party, VenueConfig};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::adl::{AdlPolicy, BinanceRanking};
use backstop_sim::venue::market::{MarginSchedule, Market};

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}

fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap()
}

/// One-bracket market, maintenance 1%, no funding, no impact.
fn market(name: &str) -> Market {
    Market {
        impact_moves_mark: false,
        ..Market::plain(
            name,
            0.01,
            1.0,
            10_000,
            MarginSchedule::new(&[(Micros::ZERO, rate(0.02), rate(0.01))]),
        )
    }
}

fn config(fee: f64, last_line: LastLine) -> VenueConfig {
    VenueConfig {
        fee: rate(fee),
        insurance_fund: usd(1_000.0),
        last_line,
        ..VenueConfig::plain()
    }
}

/// An isolated account: `lots` (signed) in `market` at 100.00 USD.
fn account(id: u64, market: u16, lots: i64, collateral: f64) -> AccountSpec {
    AccountSpec {
        id,
        collateral: usd(collateral),
        isolated: true,
        positions: vec![(market, lots, 10_000)],
    }
}

/// Two markets at 100.00, market `a` with a fund of `fund_a` USD.
fn engine(pop: &[AccountSpec], cfg: VenueConfig, fund_a: f64) -> Engine {
    let mut e = Engine::new(
        vec![market("a"), market("b")],
        &[100.0, 100.0],
        pop,
        cfg,
        Engine::test_rng(1),
    )
    .unwrap();
    e.set_market_fund(0, usd(fund_a), Micros::ZERO);
    e.set_record_events(true);
    e.check_invariants().unwrap();
    e
}

/// Steps through `prices` (both markets), checking the invariants; returns
/// the bad-debt events of every step.
fn run(e: &mut Engine, prices: &[[f64; 2]]) -> Vec<Event> {
    let mut bad = Vec::new();
    for p in prices {
        e.step(p).expect("the step runs");
        e.check_invariants()
            .unwrap_or_else(|err| panic!("step {}: {err}", e.steps_run() - 1));
        bad.extend(
            e.events()
                .iter()
                .filter(|ev| matches!(ev, Event::BadDebt { .. }))
                .copied(),
        );
    }
    bad
}

/// A liquidation in `a` pays its fee into `a`'s fund, one in `b` into the
/// shared fund. Both longs (10 lots, 100 USD of collateral) breach at 90.90:
/// equity 100 − 10 × 9.10 = 9.00 is below maintenance 9.09; closed at 90.90,
/// fee ceil(909 × 0.5%) = 4.545 USD, all of it to the fund.
#[test]
fn each_market_s_fee_goes_to_its_fund() {
    let pop = [account(0, 0, 10, 100.0), account(1, 1, 10, 100.0)];
    let mut e = engine(&pop, config(0.005, LastLine::None), 10.0);
    let bad = run(&mut e, &[[100.0, 100.0], [90.9, 90.9]]);
    assert!(bad.is_empty());
    let fund_a = e.market_fund(0).expect("a has its own fund");
    assert_eq!(fund_a.fees_received(), usd(4.545));
    assert_eq!(fund_a.balance(), usd(14.545));
    assert!(e.market_fund(1).is_none());
    assert_eq!(e.insurance_fund().fees_received(), usd(4.545));
    assert_eq!(e.insurance_fund().balance(), usd(1_004.545));
    assert_eq!(e.balance(Party::MarketFund(0)), usd(14.545));
    assert_eq!(e.balance(Party::MarketFund(1)), Micros::ZERO);
}

/// A gap from 100 to 85 leaves each long 50 USD below zero (bankruptcy at
/// 90). Under `none`: `a`'s fund (20 USD) pays 20 and the other 30 stay as
/// insolvency, the shared fund paying nothing for `a`; `b`'s 50 USD are paid
/// by the shared fund in full.
#[test]
fn a_market_fund_pays_its_market_s_bad_debt_and_no_other() {
    let pop = [account(0, 0, 10, 100.0), account(1, 1, 10, 100.0)];
    let mut e = engine(&pop, config(0.0, LastLine::None), 20.0);
    let bad = run(&mut e, &[[100.0, 100.0], [85.0, 85.0]]);
    let paid: Vec<(u32, Micros, Micros)> = bad
        .iter()
        .filter_map(|ev| match *ev {
            Event::BadDebt {
                account,
                deficit,
                insurance_fund,
                ..
            } => Some((account, deficit, insurance_fund)),
            _ => None,
        })
        .collect();
    assert_eq!(
        paid,
        vec![(0, usd(50.0), usd(20.0)), (1, usd(50.0), usd(50.0))]
    );
    let fund_a = e.market_fund(0).unwrap();
    assert_eq!(fund_a.balance(), Micros::ZERO);
    assert_eq!(fund_a.payouts(), usd(20.0));
    assert_eq!(fund_a.first_depletion_step(), Some(1));
    assert_eq!(e.insurance_fund().balance(), usd(950.0));
    assert_eq!(e.insurance_fund().first_depletion_step(), None);
    assert_eq!(e.totals().insolvency, usd(30.0));
    assert_eq!(e.totals().covered_by_fund, usd(70.0));
}

/// With ADL as the last line, a deficit `a`'s fund cannot pay is deleveraged
/// against `a`'s short at the bankruptcy price (90), although the shared fund
/// could have paid it: the shared fund is untouched.
#[test]
fn when_the_market_fund_cannot_pay_the_last_line_runs() {
    let pop = [account(0, 0, 10, 100.0), account(1, 0, -10, 1_000.0)];
    let adl = LastLine::Adl {
        policy: AdlPolicy::Queue(Box::new(BinanceRanking)),
        scope: AdlScope::Position,
    };
    let mut e = engine(&pop, config(0.0, adl), 20.0);
    run(&mut e, &[[100.0, 100.0], [85.0, 100.0]]);
    assert_eq!(e.totals().adl_events, 1);
    assert_eq!(e.positions_of(0)[0].lots, 0);
    assert_eq!(e.positions_of(1)[0].lots, 0);
    // The short closed at 90 rather than 85: it gave up 10 × 5 = 50 USD.
    assert_eq!(e.totals().adl_cost, usd(50.0));
    assert_eq!(e.market_fund(0).unwrap().balance(), usd(20.0));
    assert_eq!(e.market_fund(0).unwrap().first_depletion_step(), Some(1));
    assert_eq!(e.insurance_fund().balance(), usd(1_000.0));
    assert_eq!(e.insurance_fund().first_depletion_step(), None);
}

/// The same book without a market fund: the shared fund pays, no ADL (the
/// behaviour of every scenario without `[market.<name>.insurance_fund]`).
#[test]
fn without_a_market_fund_the_shared_fund_pays() {
    let pop = [account(0, 0, 10, 100.0), account(1, 0, -10, 1_000.0)];
    let adl = LastLine::Adl {
        policy: AdlPolicy::Queue(Box::new(BinanceRanking)),
        scope: AdlScope::Position,
    };
    let mut e = Engine::new(
        vec![market("a"), market("b")],
        &[100.0, 100.0],
        &pop,
        config(0.0, adl),
        Engine::test_rng(1),
    )
    .unwrap();
    run(&mut e, &[[100.0, 100.0], [85.0, 100.0]]);
    assert_eq!(e.totals().adl_events, 0);
    assert_eq!(e.insurance_fund().balance(), usd(950.0));
    assert!(e.market_fund(0).is_none());
}
