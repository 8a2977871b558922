//! Liquidation and bankruptcy prices against the venues' published worked examples.
//!
//! Source: Binance Futures FAQ "Liquidation" (USDⓈ-M, cross margin, one-way mode),
//! quoted with all inputs in docs/venue-examples.md. One account holds a BTCUSDT
//! short and an ETHUSDT long; Binance computes each position's liquidation price
//! holding the other at its mark:
//!
//! `LP = (WB − TMM1 + UPNL1 + cum − side × size × EP) / (size × MMR − side × size)`
//!
//! Published answers: BTCUSDT 11,383.99 USDT, ETHUSDT 190.29 USDT.

use backstop_sim::engine::{AccountSpec, Engine, VenueConfig};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::market::{MarginSchedule, Market};

fn market(name: &str, tick: f64, lot: f64, mmr: f64) -> Market {
    let rate = |x: f64| Rate::from_fraction(x).unwrap();
    // One bracket: the example's positions are all in Binance's first bracket.
    let margin = MarginSchedule::new(&[(Micros(0), rate(2.0 * mmr), rate(mmr))]);
    Market::plain(name, tick, lot, (tick * lot * 1e6).round() as i64, margin)
}

fn config() -> VenueConfig {
    VenueConfig {
        insurance_fund: Micros(1_000_000_000),
        ..VenueConfig::plain()
    }
}

/// The Binance example account: WB 10.72; BTCUSDT short 0.005 @ 9,451.53 (MMR 0.4%);
/// ETHUSDT long 1 @ 199.53 (MMR 0.65%); marks 9,462.81 and 200.00.
fn binance_cross_example() -> Engine {
    // Index 0 = btc, 1 = eth. Tick 0.01 × lot 0.001 = 10 µUSD.
    let markets = vec![
        market("btc", 0.01, 0.001, 0.004),
        market("eth", 0.01, 0.001, 0.0065),
    ];
    let account = AccountSpec {
        id: 1,
        collateral: Micros::from_usd(10.72).unwrap(),
        isolated: false,
        positions: vec![(0, -5, 945_153), (1, 1_000, 19_953)],
    };
    Engine::new(
        markets,
        &[9_462.81, 200.00],
        &[account],
        config(),
        Engine::test_rng(1),
    )
    .unwrap()
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[test]
fn binance_cross_margin_btc_short_liquidation_price() {
    let e = binance_cross_example();
    // TMM1 = ETH maintenance 200 × 1 × 0.65% = 1.30; UPNL1 = ETH PnL 0.47.
    assert_eq!(e.maintenance(0), Micros::from_usd(1.3 + 0.189_257).unwrap());
    let lp = e.liquidation_price(0, 0).unwrap();
    assert_eq!(cents(lp), 11_383.99, "published 11,383.99 USDT, got {lp}");
}

#[test]
fn binance_cross_margin_eth_long_liquidation_price() {
    let e = binance_cross_example();
    // TMM1 = BTC maintenance 9,462.81 × 0.005 × 0.4% (0.19 in the example, which
    // rounds its intermediate values); UPNL1 = BTC PnL −0.0564 (−0.06 there).
    let lp = e.liquidation_price(0, 1).unwrap();
    assert_eq!(cents(lp), 190.29, "published 190.29 USDT, got {lp}");
}

#[test]
fn binance_formula_is_the_engines_line() {
    // The published formula, evaluated with the engine's exact inputs, agrees with
    // the engine's bracket-by-bracket solve to a fraction of a cent.
    let e = binance_cross_example();
    let (wb, tmm1, upnl1) = (10.72, 1.3, 0.47);
    let (side, size, ep, mmr) = (-1.0, 0.005, 9_451.53, 0.004);
    let formula = (wb - tmm1 + upnl1 - side * size * ep) / (size * mmr - side * size);
    let engine = e.liquidation_price(0, 0).unwrap();
    assert!(
        (formula - engine).abs() < 1e-3,
        "formula {formula}, engine {engine}"
    );
}

/// Isolated long, hand-derived: WB 1,000, 1 BTC @ 20,000, MMR 0.4%, cum 0.
/// LP = (1000 − 20000) / (0.004 − 1) = 19,076.31 (to the cent); bankruptcy price
/// = 20,000 − 1,000 = 19,000 exactly.
fn isolated_long() -> Engine {
    let markets = vec![market("btc", 0.01, 0.001, 0.004)];
    let account = AccountSpec {
        id: 7,
        collateral: Micros::from_usd(1_000.0).unwrap(),
        isolated: true,
        positions: vec![(0, 1_000, 2_000_000)],
    };
    Engine::new(
        markets,
        &[20_000.0],
        &[account],
        config(),
        Engine::test_rng(1),
    )
    .unwrap()
}

#[test]
fn isolated_long_liquidation_and_bankruptcy_prices() {
    let e = isolated_long();
    assert_eq!(cents(e.liquidation_price(0, 0).unwrap()), 19_076.31);
    assert!((e.bankruptcy_price(0, 0).unwrap() - 19_000.0).abs() < 1e-9);
}

#[test]
fn the_engine_liquidates_exactly_when_the_mark_crosses_the_liquidation_price() {
    // One tick above the liquidation price: safe. One tick below: liquidated.
    let mut e = isolated_long();
    e.step(&[19_076.32]).expect("the step runs");
    assert_eq!(e.totals().liquidations, 0);
    assert!(e.positions_of(0)[0].lots != 0);
    e.step(&[19_076.30]).expect("the step runs");
    assert_eq!(e.totals().liquidations, 1);
    assert_eq!(e.positions_of(0)[0].lots, 0);
}

#[test]
fn binance_brackets_maintenance_amounts() {
    // Binance BTCUSDT brackets (announcement of 18 March 2021): the maintenance
    // amount of level 3 is "250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT".
    let r = |x: f64| Rate::from_fraction(x).unwrap();
    let u = |x: f64| Micros::from_usd(x).unwrap();
    let s = MarginSchedule::new(&[
        (u(0.0), r(0.008), r(0.004)),
        (u(50_000.0), r(0.01), r(0.005)),
        (u(250_000.0), r(0.02), r(0.01)),
        (u(1_000_000.0), r(0.05), r(0.025)),
        (u(10_000_000.0), r(0.1), r(0.05)),
    ]);
    let cum: Vec<f64> = s
        .tiers()
        .iter()
        .map(|t| t.maintenance_amount_usd())
        .collect();
    assert_eq!(cum, vec![0.0, 50.0, 1_300.0, 16_300.0, 266_300.0]);
}
