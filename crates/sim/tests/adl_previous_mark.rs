//! Hyperliquid's ADL price (docs/venues.md, docs/model.md §6): "Those traders'
//! positions are closed at the previous mark price against the now underwater
//! user" (docs "Trading → Auto-deleveraging"). The same bankrupt long as
//! `engine_behaviour.rs`'s ADL case, closed at the bankruptcy price and at the
//! previous mark, to the micro-dollar; the invariants (conservation included)
//! are checked after every step.

use backstop_sim::engine::{
    AccountSpec, AdlScope, Engine, LastLine, LiquidationMode, Party, TransferReason, VenueConfig,
};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::adl::{AdlPolicy, HyperliquidRanking};
use backstop_sim::venue::adl_price::AdlPrice;
use backstop_sim::venue::market::{MarginSchedule, Market};

/// µUSD per lot per tick (tick 0.01 USD, lot 1).
const K: i64 = 10_000;

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}

fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap()
}

/// Tick 0.01 × lot 1, maintenance 1%, no impact, no funding.
fn market() -> Market {
    Market::plain(
        "m",
        0.01,
        1.0,
        K,
        MarginSchedule::new(&[(Micros::ZERO, rate(0.02), rate(0.01))]),
    )
}

/// No fund (Hyperliquid), whole positions, ADL of the whole bankrupt position.
fn config(latency_steps: u32) -> VenueConfig {
    VenueConfig {
        mode: LiquidationMode::Full,
        fee: Rate::ZERO,
        insurance_fund_share: Rate::ONE,
        latency_steps,
        insurance_fund: Micros::ZERO,
        insurance_fund_floor: Micros::ZERO,
        last_line: LastLine::Adl {
            policy: AdlPolicy::Queue(Box::new(HyperliquidRanking)),
            scope: AdlScope::Position,
        },
    }
}

/// Bankrupt: long 10 lots at 100.00 with 100.08 USD (isolated). Winner: short
/// 20 lots at 100.00 with 2,000 USD. Steps through `prices`, checking the
/// invariants after each.
fn run(price: AdlPrice, latency_steps: u32, prices: &[f64]) -> Engine {
    let spec = |id, isolated, lots, collateral| AccountSpec {
        id,
        collateral: usd(collateral),
        isolated,
        positions: vec![(0, lots, 10_000)],
    };
    let pop = [spec(0, true, 10, 100.08), spec(1, false, -20, 2_000.0)];
    let mut e = Engine::new(
        vec![market()],
        &[100.0],
        &pop,
        config(latency_steps),
        Engine::test_rng(1),
    )
    .unwrap();
    e.set_adl_price(price);
    e.set_record_events(true);
    for (t, &p) in prices.iter().enumerate() {
        e.step(&[p]).expect("the step runs");
        e.check_invariants()
            .unwrap_or_else(|err| panic!("step {t}: {err}"));
    }
    e
}

/// The gap transfers of the step just run: (from, to, amount).
fn gaps(e: &Engine) -> Vec<(Party, Party, Micros)> {
    e.transfers()
        .iter()
        .filter(|t| t.reason == TransferReason::AdlPriceGap)
        .map(|t| (t.from, t.to, t.amount))
        .collect()
}

/// 100 → 85: the long's equity is 100.08 − 150 = −49.92 USD; its bankruptcy
/// price is 85 + 49.92 / 10 = 89.992 → 90.00 (in its favour). At the
/// bankruptcy price the winner buys 10 lots at 90.00 (ADL cost 50 USD, the
/// long keeps 0.08 USD); at the previous mark, 100.00, it pays 10 × (100 −
/// 90) = 100 USD more, to the long, which ends with 100.08 USD: what it would
/// have had closing at 100. Bad debt (the deficit at the mark) is 50 USD
/// either way; the winners give up 150 USD at the previous mark.
#[test]
fn hyperliquid_adl_closes_at_the_previous_mark() {
    let at_bankruptcy = run(AdlPrice::Bankruptcy, 0, &[100.0, 85.0]);
    assert_eq!(at_bankruptcy.equity(0), Micros(80_000));
    assert_eq!(at_bankruptcy.equity(1), usd(2_250.0));
    assert!(gaps(&at_bankruptcy).is_empty());

    let e = run(AdlPrice::PreviousMark, 0, &[100.0, 85.0]);
    assert_eq!(e.adl_price(), AdlPrice::PreviousMark);
    assert_eq!(
        gaps(&e),
        vec![(Party::Account(1), Party::Account(0), usd(100.0))]
    );
    assert_eq!(
        e.equity(0),
        usd(100.08),
        "the long closed 10 lots at 100.00"
    );
    // Winner: 2,000 + 10 × (100 − 100) realized + 10 × (100 − 85) open.
    assert_eq!(e.equity(1), usd(2_150.0));
    assert_eq!(e.positions_of(0)[0].lots, 0);
    assert_eq!(e.positions_of(1)[0].lots, -10);
    let t = e.totals();
    assert_eq!(t.adl_events, 1);
    assert_eq!(t.adl_cost, usd(50.0), "the deficit at the mark");
    assert_eq!(t.bad_debt, usd(50.0));
    assert_eq!(t.insolvency, Micros::ZERO);
    // Money moved only between the two accounts: their sum is the same under
    // either price.
    assert_eq!(
        e.equity(0) + e.equity(1),
        at_bankruptcy.equity(0) + at_bankruptcy.equity(1)
    );
}

/// One step of latency: the breach at 89.00 (equity −9.92 USD, already under
/// water) executes at 85.00, bankruptcy price 90.00 as above. The previous
/// mark, 89.00, is beyond it: the long pays the winner 10 × (90 − 89) =
/// 10 USD, leaving it at 0.08 − 10 = −9.92 USD, which the venue covers (no
/// fund): bad debt 50 + 9.92 = ADL cost 50 + insolvency 9.92.
#[test]
fn a_previous_mark_beyond_bankruptcy_leaves_a_deficit_the_waterfall_covers() {
    let e = run(AdlPrice::PreviousMark, 1, &[100.0, 89.0, 85.0]);
    assert_eq!(
        gaps(&e),
        vec![(Party::Account(0), Party::Account(1), usd(10.0))]
    );
    assert_eq!(e.positions_of(0)[0].lots, 0);
    // Winner: 2,000 + 10 × (100 − 89) realized + 10 × (100 − 85) open.
    assert_eq!(e.equity(1), usd(2_260.0));
    let t = e.totals();
    assert_eq!(t.adl_cost, usd(50.0));
    assert_eq!(t.insolvency, usd(9.92));
    assert_eq!(t.bad_debt, usd(59.92));
    assert_eq!(
        t.bad_debt,
        t.covered_by_fund + t.adl_cost + t.socialized_loss + t.insolvency
    );
}
