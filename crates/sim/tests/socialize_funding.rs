//! Drift's last line (`last_line.kind = "socialize_funding"`, docs/model.md §6):
//! what the fund cannot pay is charged to every open position of the market,
//! both sides, pro-rata to size, each payer at most its equity.

use backstop_sim::engine::{AccountSpec, Engine, LastLine, VenueConfig};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::market::{MarginSchedule, Market};

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}

fn engine(pop: &[AccountSpec]) -> Engine {
    let r = |x: f64| Rate::from_fraction(x).unwrap();
    let m = Market::plain(
        "m",
        0.01,
        1.0,
        10_000,
        MarginSchedule::new(&[(Micros::ZERO, r(0.02), r(0.01))]),
    );
    let cfg = VenueConfig {
        last_line: LastLine::SocializeFunding,
        ..VenueConfig::plain()
    };
    let mut e = Engine::new(vec![m], &[100.0], pop, cfg, Engine::test_rng(1)).unwrap();
    e.set_record_events(true);
    e
}

fn account(id: u64, lots: i64, entry: f64, collateral: f64) -> AccountSpec {
    AccountSpec {
        id,
        collateral: usd(collateral),
        isolated: false,
        positions: vec![(0, lots, (entry * 100.0).round() as i64)],
    }
}

/// The bankrupt long (10 at 100, 100.05 of collateral) leaves 49.95 USD at 85.
/// A short of 3 and a long of 7 — a winner and a loser — pay 3/10 and 7/10 of
/// it: 14.985 and 34.965 USD.
#[test]
fn both_sides_pay_pro_rata_to_size() {
    let mut e = engine(&[
        account(0, 10, 100.0, 100.05),
        account(1, -3, 100.0, 300.0),
        account(2, 7, 100.0, 700.0),
    ]);
    e.step(&[100.0]).unwrap();
    e.step(&[85.0]).unwrap();
    e.check_invariants().unwrap();
    assert_eq!(e.totals().socialized_loss, Micros(49_950_000));
    assert_eq!(e.totals().insolvency, Micros::ZERO);
    let mut hc: Vec<(u64, Micros)> = e.haircuts().collect();
    hc.sort();
    assert_eq!(hc, vec![(1, Micros(14_985_000)), (2, Micros(34_965_000))]);
    // 300 + 45 − 14.985; 700 − 105 − 34.965.
    assert_eq!(e.equity(1), usd(345.0 - 14.985));
    assert_eq!(e.equity(2), usd(595.0 - 34.965));
}

/// A payer is charged at most its equity; the venue covers the rest.
#[test]
fn a_payer_is_charged_at_most_its_equity() {
    let mut e = engine(&[
        account(0, 10, 100.0, 100.05),
        account(1, -3, 100.0, 300.0),
        // Long 7 at 100 with 110 of collateral: equity 5 at 85, liquidated too.
        account(2, 7, 100.0, 110.0),
    ]);
    e.step(&[100.0]).unwrap();
    e.step(&[85.0]).unwrap();
    e.check_invariants().unwrap();
    let t = e.totals();
    assert!(t.socialized_loss + t.insolvency + t.covered_by_fund >= Micros(49_950_000));
    assert!(e.equity(2) >= Micros::ZERO);
}
