// Over 600 lines: one scenario per engine behaviour, each a short test; the shared
// testkit (issue 15's last step) is to take the fixtures they repeat.
//! Behaviour of the venue engine on small hand-built venues, with the expected
//! numbers worked out in the comments (docs/model.md §3-§6).
//!
//! Unless said otherwise a market here has tick 0.01 USD and lot 1 unit, so one lot
//! moving one tick is `k = 0.01 USD = 10_000 µUSD` and a price of 100.00 USD is
//! 10_000 ticks; the value of `q` lots at `p` ticks is `q × p × 10_000` µUSD.
//! Every test that steps an engine itself checks [`Engine::check_invariants`] and
//! [`Engine::check_index_soundness`] after every step.

use std::path::Path;

use backstop_sim::engine::{
    AccountSpec, AdlScope, Engine, Event, LastLine, LiquidationMode, VenueConfig,
};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::adl::{AdlPolicy, BinanceRanking};
use backstop_sim::venue::impact::{ImpactModel, NoImpact, SquareRootImpact};
use backstop_sim::venue::market::{MarginSchedule, Market};
use backstop_sim::{PathOutput, Prepared, Scenario};

// ------------------------------------------------------------------ helpers

/// µUSD per lot per tick of the test markets.
const K: i64 = 10_000;

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap()
}
/// Ticks of a price in USD (tick 0.01).
fn ticks(price: f64) -> i64 {
    (price * 100.0).round() as i64
}

/// One-bracket market (`imr = 2 × mmr`), tick 0.01 × lot 1, no funding.
fn market(name: &str, mmr: f64, impact: Box<dyn ImpactModel>, permanent: f64) -> Market {
    let margin = MarginSchedule::new(&[(Micros::ZERO, rate(2.0 * mmr), rate(mmr))]);
    Market {
        impact,
        permanent_impact_fraction: permanent,
        // Half-life of 0.001 steps: the temporary impact is gone one step later.
        temporary_impact_decay: 0.5f64.powf(1.0 / 0.001),
        ..Market::plain(name, 0.01, 1.0, K, margin)
    }
}

fn plain_market(mmr: f64) -> Market {
    market("m", mmr, Box::new(NoImpact), 0.0)
}

fn config(mode: LiquidationMode, fee: f64, fund_usd: f64, last_line: LastLine) -> VenueConfig {
    VenueConfig {
        mode,
        fee: rate(fee),
        insurance_fund: usd(fund_usd),
        last_line,
        ..VenueConfig::plain()
    }
}

fn adl(scope: AdlScope) -> LastLine {
    LastLine::Adl {
        policy: AdlPolicy::Queue(Box::new(BinanceRanking)),
        scope,
    }
}

/// An account with one position in market 0: `lots` (signed) at `entry` USD.
fn account(id: u64, isolated: bool, lots: i64, entry: f64, collateral: f64) -> AccountSpec {
    AccountSpec {
        id,
        collateral: usd(collateral),
        isolated,
        positions: vec![(0, lots, ticks(entry))],
    }
}

fn engine(markets: Vec<Market>, start: &[f64], pop: &[AccountSpec], cfg: VenueConfig) -> Engine {
    let mut e = Engine::new(markets, start, pop, cfg, Engine::test_rng(1)).unwrap();
    e.set_record_events(true);
    e.check_invariants().unwrap();
    e
}

/// Steps through `prices` (one market), checking the invariants after every step;
/// returns each step's events.
fn run(e: &mut Engine, prices: &[f64]) -> Vec<Vec<Event>> {
    prices
        .iter()
        .map(|&p| {
            e.step(&[p]).expect("the step runs");
            let t = e.steps_run() - 1;
            e.check_invariants()
                .unwrap_or_else(|err| panic!("step {t}: {err}"));
            e.check_index_soundness()
                .unwrap_or_else(|err| panic!("step {t}: {err}"));
            e.events().to_vec()
        })
        .collect()
}

fn liquidations(events: &[Event]) -> Vec<(u32, i64, i64, Micros)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Liquidation {
                account,
                lots,
                price,
                fee,
                ..
            } => Some((account, lots, price, fee)),
            _ => None,
        })
        .collect()
}

fn bad_debts(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| matches!(e, Event::BadDebt { .. }))
        .copied()
        .collect()
}

fn lots_of(e: &Engine, account: u32) -> i64 {
    e.positions_of(account)[0].lots
}

// ------------------------------------------------------------------ (a) cascade

/// A ladder of 40 isolated longs of 100 lots entered at 100.00, MMR 0.5%, with
/// liquidation prices 90.05, 89.95, …, 86.15 (collateral `C = 100 × 100 − L × 100 ×
/// (1 − 0.005)`). The path falls to 90.00 and stays there: without impact only the
/// first rung is liquidated.
fn cascade_run(impact: Box<dyn ImpactModel>, permanent: f64) -> (u32, Micros, f64) {
    let pop: Vec<AccountSpec> = (0..40)
        .map(|i| {
            let liq_cents = 9_005 - 10 * i;
            // C = 10_000 USD − 0.995 × L_cents USD.
            let c = Micros(10_000_000_000 - 995_000 * liq_cents);
            AccountSpec {
                id: i as u64,
                collateral: c,
                isolated: true,
                positions: vec![(0, 100, 10_000)],
            }
        })
        .collect();
    let mut e = engine(
        vec![market("m", 0.005, impact, permanent)],
        &[100.0],
        &pop,
        config(LiquidationMode::Full, 0.0, 1_000_000.0, LastLine::None),
    );
    for i in 0..40u32 {
        let want = (9_005 - 10 * i as i64) as f64 / 100.0;
        let got = e.liquidation_price(i, 0).unwrap();
        assert!((got - want).abs() < 1e-9, "rung {i}: {got} vs {want}");
    }
    let mut prices = vec![100.0, 100.0, 98.0, 96.0, 94.0, 92.0];
    prices.extend(std::iter::repeat_n(90.0, 60));
    run(&mut e, &prices);
    (
        e.accounts_liquidated(),
        e.totals().liquidated_notional,
        e.mark_price(0),
    )
}

/// Permanent impact turns one liquidation into a cascade: the same shock liquidates
/// strictly more accounts and notional with a permanent share than with a purely
/// temporary impact, which in turn does more than no impact at all.
///
/// Square-root impact `1 × 5% × sqrt(Q / 1M USD)`: one rung sold at 90 ($9k) moves
/// the price 0.47%, four rungs 0.95%. With a temporary impact (half-life 0.001 steps)
/// the mark rebounds to 90 × (1 − impact of the last step's flow): the cascade stalls
/// after a few rungs at a fixed point near 89.15. With a permanent share every step's
/// impact accumulates and the cascade walks down the ladder.
#[test]
fn permanent_impact_makes_a_cascade() {
    let impact = || -> Box<dyn ImpactModel> {
        Box::new(SquareRootImpact {
            coefficient: 1.0,
            volatility: 0.05,
            volume_usd: 1e6,
        })
    };
    let (n_none, q_none, mark_none) = cascade_run(Box::new(NoImpact), 0.0);
    let (n_temp, q_temp, mark_temp) = cascade_run(impact(), 0.0);
    let (n_perm, q_perm, mark_perm) = cascade_run(impact(), 0.5);
    eprintln!(
        "no impact: {n_none} accounts {q_none} (mark {mark_none}); temporary: {n_temp} \
         {q_temp} ({mark_temp}); permanent 50%: {n_perm} {q_perm} ({mark_perm})"
    );
    // Without impact only the rung at 90.05 is above the bottom of 90.00.
    assert_eq!(n_none, 1);
    assert_eq!(q_none, Micros(100 * 9_000 * K));
    assert_eq!(mark_none, 90.0);
    assert!(n_temp > n_none && q_temp > q_none);
    assert!(
        n_perm > n_temp && q_perm > q_temp,
        "permanent impact: {n_perm} accounts / {q_perm} vs temporary only: {n_temp} / {q_temp}"
    );
    // The temporary impact is gone: the mark is back at the path price.
    assert_eq!(mark_temp, 90.0);
    assert!(mark_perm < 89.0);
}

// ------------------------------------------------------------------ (b) determinism

const DETERMINISM_TOML: &str = r#"
name = "determinism"
seed = 7
step_seconds = 60
start = "2025-10-10T20:00:00Z"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [
  { notional_floor = 0, imr = 0.01, mmr = 0.005 },
  { notional_floor = 50000, imr = 0.02, mmr = 0.01 },
  { notional_floor = 250000, imr = 0.05, mmr = 0.025 },
]
funding = { rate = 0.0001, interval_steps = 30 }
impact = { model = "square_root", coefficient = 1.0, volatility = 0.02, volume_usd = 20000000.0, permanent_fraction = 0.3, half_life_steps = 5.0 }

[market.eth]
price = 4000.0
tick_size = 0.01
lot_size = 0.01
tiers = [
  { notional_floor = 0, imr = 0.02, mmr = 0.01 },
  { notional_floor = 100000, imr = 0.04, mmr = 0.02 },
]
funding = { rate = -0.0002, interval_steps = 45 }
impact = { model = "square_root", coefficient = 1.5, volatility = 0.03, volume_usd = 5000000.0, permanent_fraction = 0.5, half_life_steps = 3.0 }

[path]
kind = "linear"
steps = 240
shock_start_step = 20
shock_steps = 60
shock = -0.3

[population]
kind = "generated"
accounts = 1500
notional = { distribution = "pareto", scale = 2000.0, shape = 1.3 }
max_notional = 2000000.0
leverage = { distribution = "lognormal", median = 10.0, sigma = 0.7 }
long_fraction = 0.6
entry_dispersion = 0.03
isolated_fraction = 0.3
multi_market_fraction = 0.2

[liquidation]
mode = "chunked"
fee = 0.005
insurance_fund_share = 0.5
latency_steps = 1
chunk_fraction = 0.2
chunk_min_usd = 1000.0
chunk_full_below_usd = 5000.0
cooldown_steps = 2

[insurance_fund]
initial = 20000.0

[last_line]
kind = "adl"
adl = "queue"
ranking = "dydx"
scope = "position"
"#;

fn prepared(seed: u64) -> Prepared {
    let src = DETERMINISM_TOML.replace("seed = 7", &format!("seed = {seed}"));
    let s = Scenario::from_toml_str(&src, Path::new("x.toml")).unwrap();
    Prepared::new(s, Path::new(".")).unwrap()
}

/// Every f64 of the output as bits, every other column as is.
fn assert_bitwise_equal(a: &PathOutput, b: &PathOutput) {
    assert_eq!(a.metrics, b.metrics);
    // Debug distinguishes what `==` on f64 does not (−0.0, NaN payloads aside).
    assert_eq!(format!("{:?}", a.metrics), format!("{:?}", b.metrics));
    let (x, y) = (&a.steps, &b.steps);
    let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<u64>>();
    assert_eq!(x.step, y.step);
    assert_eq!(x.ts_ns, y.ts_ns);
    assert_eq!(x.market, y.market);
    for (name, u, v) in [
        ("mark", &x.mark, &y.mark),
        ("insurance_fund", &x.insurance_fund, &y.insurance_fund),
        ("bad_debt", &x.bad_debt, &y.bad_debt),
        ("socialized_loss", &x.socialized_loss, &y.socialized_loss),
        ("insolvency", &x.insolvency, &y.insolvency),
        ("adl_notional", &x.adl_notional, &y.adl_notional),
        (
            "liquidated_long_notional",
            &x.liquidated_long_notional,
            &y.liquidated_long_notional,
        ),
        (
            "liquidated_short_notional",
            &x.liquidated_short_notional,
            &y.liquidated_short_notional,
        ),
        ("open_interest", &x.open_interest, &y.open_interest),
    ] {
        assert_eq!(bits(u), bits(v), "column {name}");
    }
    assert_eq!(x.adl_count, y.adl_count);
    assert_eq!(x.liquidations, y.liquidations);
    let fr = |v: &[Option<f64>]| v.iter().map(|f| f.map(f64::to_bits)).collect::<Vec<_>>();
    assert_eq!(fr(&x.funding_rate), fr(&y.funding_rate));
}

/// The same scenario gives bit-identical results, from the same preparation or a
/// fresh one; another seed gives another population (and other results).
#[test]
fn runs_are_deterministic_and_seeded() {
    let p = prepared(7);
    let a = p.run_path(0).unwrap();
    let b = p.run_path(0).unwrap();
    let c = prepared(7).run_path(0).unwrap();
    assert_bitwise_equal(&a, &b);
    assert_bitwise_equal(&a, &c);
    // The run is not trivial: it liquidates, funds and pays.
    assert!(a.metrics.liquidation_orders > 0, "{:?}", a.metrics);
    assert!(a.steps.funding_rate.iter().any(Option::is_some));
    assert_eq!(a.steps.step.len(), 2 * 240);

    let q = prepared(8);
    assert_eq!(q.population.len(), p.population.len());
    assert_ne!(q.population, p.population);
    let d = q.run_path(0).unwrap();
    assert_ne!(d.metrics, a.metrics);
}

// ------------------------------------------------------------------ (c) hand-checked cases

/// One isolated long, 10 lots at 100.00 with 100 USD (10×), MMR 1%.
/// Liquidation price (Binance's formula, cum 0):
/// `(C − s·e) / (|s|·mmr − s) = (100 − 1000) / (0.1 − 10) = 90.9090…`;
/// bankruptcy price `(1000 − 100) / 10 = 90.00`.
fn single_long(cfg: VenueConfig, collateral: f64) -> Engine {
    engine(
        vec![plain_market(0.01)],
        &[100.0],
        &[account(0, true, 10, 100.0, collateral)],
        cfg,
    )
}

/// Full liquidation without impact: closed at the mark, fee 0.5% of the executed
/// notional, one third of it to the fund (rounded down), the rest to the liquidator.
#[test]
fn full_liquidation_fee_and_split() {
    let mut cfg = config(LiquidationMode::Full, 0.005, 1_000.0, LastLine::None);
    cfg.insurance_fund_share = rate(1.0 / 3.0); // 333_333_333 ppb
    let mut e = single_long(cfg, 100.0);
    assert!((e.liquidation_price(0, 0).unwrap() - 900.0 / 9.9).abs() < 1e-9);
    assert!((e.bankruptcy_price(0, 0).unwrap() - 90.0).abs() < 1e-9);

    // 91.00: equity 100 + 10 × (91 − 100) = 10.00 ≥ maintenance 9.10: safe.
    // 90.90: equity 9.00 < maintenance 9.09: liquidated at once (latency 0).
    let ev = run(&mut e, &[100.0, 91.0, 90.9]);
    assert!(ev[0].is_empty() && ev[1].is_empty());
    // Executed notional 10 × 90.90 = 909.00 USD; fee ceil(909 × 0.5%) = 4.545 USD.
    assert_eq!(
        liquidations(&ev[2]),
        vec![(0, -10, 9_090, Micros(4_545_000))]
    );
    assert!(bad_debts(&ev[2]).is_empty());
    // Fund share floor(4_545_000 × 0.333333333) = 1_514_999; liquidator 3_030_001.
    assert_eq!(
        e.insurance_fund().balance(),
        Micros(1_000_000_000 + 1_514_999)
    );
    assert_eq!(e.insurance_fund().fees_received(), Micros(1_514_999));
    assert_eq!(e.totals().liquidator_fees, Micros(3_030_001));
    // Equity after: 9.00 − 4.545 = 4.455 USD, position flat.
    assert_eq!(e.equity(0), Micros(4_455_000));
    assert_eq!(lots_of(&e, 0), 0);
    assert_eq!(e.totals().liquidated_notional, Micros(909_000_000));
    assert_eq!(e.totals().liquidations, 1);
    assert_eq!(e.accounts_liquidated(), 1);

    // At a 1% fee, ceil(909 × 1%) = 9.09 USD is more than the 9.00 USD left: the fee
    // is capped at 9.00 and the account ends at exactly zero, with no bad debt.
    let mut e = single_long(
        config(LiquidationMode::Full, 0.01, 1_000.0, LastLine::None),
        100.0,
    );
    let ev = run(&mut e, &[100.0, 91.0, 90.9]);
    assert_eq!(liquidations(&ev[2]), vec![(0, -10, 9_090, usd(9.0))]);
    assert!(bad_debts(&ev[2]).is_empty());
    assert_eq!(e.equity(0), Micros::ZERO);
    assert_eq!(e.insurance_fund().balance(), usd(1_009.0));
    assert_eq!(e.totals().bad_debt, Micros::ZERO);
}

/// A gap from 100 to 85 jumps past the bankruptcy price (90): equity at 85 is
/// 100 + 10 × (85 − 100) = −50 USD, the deficit the fund pays in full. No fee (nothing
/// left), and no ADL although ADL is the last line, since the fund can pay.
#[test]
fn gap_through_bankruptcy_is_paid_by_the_fund() {
    let mut e = single_long(
        config(
            LiquidationMode::Full,
            0.005,
            1_000.0,
            adl(AdlScope::Position),
        ),
        100.0,
    );
    let ev = run(&mut e, &[100.0, 85.0, 80.0]);
    assert_eq!(liquidations(&ev[1]), vec![(0, -10, 8_500, Micros::ZERO)]);
    assert_eq!(
        bad_debts(&ev[1]),
        vec![Event::BadDebt {
            account: 0,
            deficit: usd(50.0),
            insurance_fund: usd(50.0),
            socialized: Micros::ZERO,
            venue: Micros::ZERO,
        }]
    );
    assert_eq!(e.insurance_fund().balance(), usd(950.0));
    assert_eq!(e.insurance_fund().payouts(), usd(50.0));
    assert_eq!(e.equity(0), Micros::ZERO);
    assert_eq!(e.totals().bad_debt, usd(50.0));
    assert_eq!(e.totals().adl_events, 0);
    assert_eq!(e.totals().insolvency, Micros::ZERO);
}

/// The same gap with a fund of 1,000 USD and a floor of 970 USD: the fund pays only
/// the 30 USD above its floor; under `none` the other 20 USD stay as the account's
/// negative equity and as recorded insolvency.
#[test]
fn the_fund_never_pays_below_its_floor() {
    let mut cfg = config(LiquidationMode::Full, 0.0, 1_000.0, LastLine::None);
    cfg.insurance_fund_floor = usd(970.0);
    let mut e = single_long(cfg, 100.0);
    let ev = run(&mut e, &[100.0, 85.0, 70.0, 120.0]);
    assert_eq!(
        bad_debts(&ev[1]),
        vec![Event::BadDebt {
            account: 0,
            deficit: usd(50.0),
            insurance_fund: usd(30.0),
            socialized: Micros::ZERO,
            venue: Micros::ZERO,
        }]
    );
    assert_eq!(e.insurance_fund().balance(), usd(970.0));
    assert_eq!(e.insurance_fund().first_depletion_step(), Some(1));
    assert_eq!(e.equity(0), usd(-20.0));
    assert_eq!(e.totals().insolvency, usd(20.0));
    assert_eq!(e.totals().bad_debt, usd(50.0));
}

/// Bankrupt long (10 lots at 100 with 100.08 USD: bankruptcy price 89.992) and a
/// winner short 20 lots at 100 (1×, 2,000 USD). The mark gaps to 85.00: the
/// bankrupt's equity is 100.08 − 150 = −49.92 USD.
fn adl_case(cfg: VenueConfig) -> (Engine, Vec<Vec<Event>>) {
    let mut e = engine(
        vec![plain_market(0.01)],
        &[100.0],
        &[
            account(0, true, 10, 100.0, 100.08),
            account(1, false, -20, 100.0, 2_000.0),
        ],
        cfg,
    );
    let ev = run(&mut e, &[100.0, 85.0]);
    (e, ev)
}

/// Empty fund, ADL scope `position`: the whole position is closed against the winner
/// at the bankruptcy price of the close, `85 + 49.92 / 10 = 89.992`, rounded in the
/// bankrupt's favour to 90.00 (the nearest tick, 89.99, would leave it at −0.02 USD:
/// bad debt the ADL is there to avoid). The bankrupt keeps 100.08 + 10 × (90 − 100) =
/// 0.08 USD: ≥ 0 and less than one tick's worth (10 lots × 0.01 = 0.10 USD). The
/// winner buys 10 lots at 90.00 with the mark at 85.00: it gives up 10 × 5 = 50 USD
/// (the ADL cost).
#[test]
fn adl_position_scope_deleverages_everything_at_the_bankruptcy_price() {
    let (e, ev) = adl_case(config(
        LiquidationMode::Full,
        0.005,
        0.0,
        adl(AdlScope::Position),
    ));
    assert_eq!(
        ev[1],
        vec![Event::Adl {
            account: 0,
            market: 0,
            bankrupt_lots: 10,
            closed_lots: 10,
            minimum_lots: 10,
            price: 9_000,
        }]
    );
    assert_eq!(lots_of(&e, 0), 0);
    assert_eq!(lots_of(&e, 1), -10);
    let eq = e.equity(0);
    assert!(eq.0 >= 0 && eq.0 < 10 * K, "bankrupt keeps {eq}");
    assert_eq!(eq, Micros(80_000));
    // Winner: 2,000 + 10 × (100 − 90) realized + 10 × (100 − 85) open = 2,250.
    assert_eq!(e.equity(1), usd(2_250.0));
    let t = e.totals();
    assert_eq!(t.adl_events, 1);
    assert_eq!(t.adl_notional, Micros(10 * 8_500 * K));
    assert_eq!(t.adl_excess_notional, Micros::ZERO);
    assert_eq!(t.adl_cost, usd(50.0), "what the winner gave up vs the mark");
    // Bad debt counts the deficit the ADL counterparty carried (docs/model.md §6).
    assert_eq!(t.bad_debt, usd(50.0));
    assert_eq!(t.covered_by_fund, Micros::ZERO);
    assert_eq!(t.liquidations, 0, "no market order");
    assert_eq!(e.insurance_fund().balance(), Micros::ZERO);
    assert_eq!(e.accounts_adl_hit(), 1);
}

/// Fund of 20 USD, scope `shortfall`: only `ceil(10 × (49.92 − 20) / 49.92) = 6` lots
/// go to ADL (5 would leave 24.92 USD, more than the fund has). The other 4 lots sell
/// at the mark; the bankrupt is left at −49.92 + 6 × (90 − 85) = −19.92 USD, which the
/// fund pays. Under scope `position` the same case deleverages all 10 lots, 4 beyond
/// the minimum (excess 4 × 85 = 340 USD at the mark), and the fund pays nothing.
#[test]
fn adl_shortfall_scope_closes_only_the_minimum() {
    let (e, ev) = adl_case(config(
        LiquidationMode::Full,
        0.0,
        20.0,
        adl(AdlScope::Shortfall),
    ));
    assert_eq!(liquidations(&ev[1]), vec![(0, -4, 8_500, Micros::ZERO)]);
    // The market part is booked first: the position is 6 lots when the ADL starts.
    assert!(
        ev[1].contains(&Event::Adl {
            account: 0,
            market: 0,
            bankrupt_lots: 6,
            closed_lots: 6,
            minimum_lots: 6,
            price: 9_000,
        }),
        "{:?}",
        ev[1]
    );
    assert_eq!(
        bad_debts(&ev[1]),
        vec![Event::BadDebt {
            account: 0,
            deficit: Micros(19_920_000),
            insurance_fund: Micros(19_920_000),
            socialized: Micros::ZERO,
            venue: Micros::ZERO,
        }]
    );
    assert_eq!(lots_of(&e, 1), -14);
    assert_eq!(e.equity(0), Micros::ZERO);
    assert_eq!(e.insurance_fund().balance(), Micros(80_000));
    assert_eq!(e.totals().adl_excess_notional, Micros::ZERO);
    assert_eq!(e.totals().adl_cost, usd(30.0));
    // Every deficit, whoever carried it: the fund's 19.92 and the winner's 30.
    assert_eq!(e.totals().bad_debt, Micros(49_920_000));
    assert_eq!(e.totals().covered_by_fund, Micros(19_920_000));

    let (e, ev) = adl_case(config(
        LiquidationMode::Full,
        0.0,
        20.0,
        adl(AdlScope::Position),
    ));
    assert!(liquidations(&ev[1]).is_empty());
    assert!(bad_debts(&ev[1]).is_empty());
    assert_eq!(lots_of(&e, 1), -10);
    assert_eq!(e.insurance_fund().balance(), usd(20.0));
    assert_eq!(e.totals().adl_excess_notional, Micros(4 * 8_500 * K));
}

/// Socialized loss with an empty fund. The bankrupt long's deficit at 85 is 49.95 USD.
///
/// Rich winners: short 3 at 100 (PnL at 85: 45 USD) and short 7 at 95 (70 USD), 115 USD
/// in all. Pro-rata, rounded down: 49_950_000 × 45/115 = 19_545_652.17 → 19_545_652 and
/// × 70/115 = 30_404_347.83 → 30_404_347; the missing micro-USD goes to the largest PnL:
/// 30_404_348. The haircuts sum to the deficit exactly.
///
/// Poor winners: short 1 at 100 (15 USD) and short 1 at 95 (10 USD): each loses its
/// whole PnL, 25 USD; the other 24.95 USD are covered by the venue (insolvency).
#[test]
fn socialized_loss_is_the_deficit_capped_at_the_winners_pnl() {
    let socialize = |w: [(i64, f64, f64); 2]| {
        let mut e = engine(
            vec![plain_market(0.01)],
            &[100.0],
            &[
                account(0, true, 10, 100.0, 100.05),
                account(1, false, w[0].0, w[0].1, w[0].2),
                account(2, false, w[1].0, w[1].1, w[1].2),
            ],
            config(LiquidationMode::Full, 0.0, 0.0, LastLine::Socialize),
        );
        let ev = run(&mut e, &[100.0, 85.0]);
        let haircut = |a: u32| {
            ev[1].iter().find_map(|x| match *x {
                Event::Haircut {
                    account,
                    amount,
                    positive_pnl,
                } if account == a => Some((amount, positive_pnl)),
                _ => None,
            })
        };
        let h = [haircut(1).unwrap(), haircut(2).unwrap()];
        (e, ev, h)
    };

    let (e, ev, h) = socialize([(-3, 100.0, 300.0), (-7, 95.0, 665.0)]);
    assert_eq!(h[0], (Micros(19_545_652), usd(45.0)));
    assert_eq!(h[1], (Micros(30_404_348), usd(70.0)));
    assert_eq!(
        bad_debts(&ev[1]),
        vec![Event::BadDebt {
            account: 0,
            deficit: Micros(49_950_000),
            insurance_fund: Micros::ZERO,
            socialized: Micros(49_950_000),
            venue: Micros::ZERO,
        }]
    );
    assert_eq!(e.equity(0), Micros::ZERO);
    // 300 + 45 − 19.545652 and 665 + 70 − 30.404348.
    assert_eq!(e.equity(1), Micros(345_000_000 - 19_545_652));
    assert_eq!(e.equity(2), Micros(735_000_000 - 30_404_348));
    assert_eq!(e.totals().socialized_loss, Micros(49_950_000));
    assert_eq!(e.totals().insolvency, Micros::ZERO);
    let mut hc: Vec<(u64, Micros)> = e.haircuts().collect();
    hc.sort();
    assert_eq!(hc, vec![(1, Micros(19_545_652)), (2, Micros(30_404_348))]);

    let (e, ev, h) = socialize([(-1, 100.0, 100.0), (-1, 95.0, 95.0)]);
    assert_eq!(h[0], (usd(15.0), usd(15.0)));
    assert_eq!(h[1], (usd(10.0), usd(10.0)));
    assert_eq!(
        bad_debts(&ev[1]),
        vec![Event::BadDebt {
            account: 0,
            deficit: Micros(49_950_000),
            insurance_fund: Micros::ZERO,
            socialized: usd(25.0),
            venue: Micros(24_950_000),
        }]
    );
    assert_eq!(e.equity(1), usd(100.0));
    assert_eq!(e.equity(2), usd(95.0));
    assert_eq!(e.totals().insolvency, Micros(24_950_000));
    assert_eq!(e.equity(0), Micros::ZERO);
}

/// Last line `none`, empty fund: the account keeps its −49.95 USD and exactly that is
/// recorded as insolvency, through later steps as well.
#[test]
fn none_leaves_negative_equity_equal_to_recorded_insolvency() {
    let mut e = single_long(
        config(LiquidationMode::Full, 0.01, 0.0, LastLine::None),
        100.05,
    );
    let ev = run(&mut e, &[100.0, 85.0, 60.0, 130.0, 100.0]);
    assert_eq!(
        bad_debts(&ev[1]),
        vec![Event::BadDebt {
            account: 0,
            deficit: Micros(49_950_000),
            insurance_fund: Micros::ZERO,
            socialized: Micros::ZERO,
            venue: Micros::ZERO,
        }]
    );
    assert_eq!(e.equity(0), Micros(-49_950_000));
    assert_eq!(e.totals().insolvency, Micros(49_950_000));
    assert_eq!(e.totals().bad_debt, Micros(49_950_000));
    assert_eq!(
        e.venue_flows().insolvency,
        Micros::ZERO,
        "recorded once, at step 1"
    );
}

/// Latency `d`: the breach seen at step 1 (90.80: equity 8.00 < maintenance 9.08) is
/// executed at step 1 + d, not before.
#[test]
fn latency_delays_execution_by_d_steps() {
    for d in 0..=3u32 {
        let mut cfg = config(LiquidationMode::Full, 0.0, 1_000.0, LastLine::None);
        cfg.latency_steps = d;
        let mut e = single_long(cfg, 100.0);
        let ev = run(&mut e, &[100.0, 90.8, 90.8, 90.8, 90.8, 90.8]);
        for (t, events) in ev.iter().enumerate() {
            let l = liquidations(events);
            if t == 1 + d as usize {
                assert_eq!(l, vec![(0, -10, 9_080, Micros::ZERO)], "latency {d}");
            } else {
                assert!(l.is_empty(), "latency {d}: liquidation at step {t}");
            }
        }
        assert_eq!(e.equity(0), usd(8.0));
    }
}

/// The account can get worse during the latency: breached at 90.80 (step 1), executed
/// at step 3 after a fall to 86.00, where its equity is 100 − 140 = −40 USD: bad debt
/// the fund pays. With latency 0 the same path liquidates it at 90.80 with 8 USD left.
#[test]
fn latency_lets_the_account_get_worse() {
    let mut cfg = config(LiquidationMode::Full, 0.0, 1_000.0, LastLine::None);
    cfg.latency_steps = 2;
    let mut e = single_long(cfg, 100.0);
    let ev = run(&mut e, &[100.0, 90.8, 88.0]);
    assert!(ev.iter().all(Vec::is_empty));
    // Negative equity (100 − 120 = −20 USD at 88) inside the latency window: pending.
    assert!(e.is_pending(0));
    assert_eq!(e.equity(0), usd(-20.0));
    let ev = run(&mut e, &[86.0]);
    assert_eq!(liquidations(&ev[0]), vec![(0, -10, 8_600, Micros::ZERO)]);
    assert_eq!(
        bad_debts(&ev[0]),
        vec![Event::BadDebt {
            account: 0,
            deficit: usd(40.0),
            insurance_fund: usd(40.0),
            socialized: Micros::ZERO,
            venue: Micros::ZERO,
        }]
    );

    let mut e = single_long(
        config(LiquidationMode::Full, 0.0, 1_000.0, LastLine::None),
        100.0,
    );
    let ev = run(&mut e, &[100.0, 90.8, 88.0, 86.0]);
    assert_eq!(liquidations(&ev[1]), vec![(0, -10, 9_080, Micros::ZERO)]);
    assert_eq!(e.totals().bad_debt, Micros::ZERO);
}

/// Chunked, at most 50% per chunk, cooldown 2 steps. Long 100 lots at 100 with
/// 1,000 USD; at 90.30 its equity is 30 USD against a maintenance of 90.30 USD.
/// Step 1: 50 lots (maintenance left 45.15 > 30: still liquidatable, wait);
/// step 3: 25 lots (maintenance 22.575 ≤ 30: safe, done). Nothing at steps 2, 4, 5.
#[test]
fn chunked_closes_a_fraction_per_chunk_with_a_cooldown() {
    let chunked = |full_below: f64| LiquidationMode::Chunked {
        max_fraction: 0.5,
        min_chunk: Micros::ZERO,
        full_below: usd(full_below),
        cooldown_steps: 2,
        then_whole: false,
    };
    let pop = [account(0, true, 100, 100.0, 1_000.0)];
    let mut e = engine(
        vec![plain_market(0.01)],
        &[100.0],
        &pop,
        config(chunked(0.0), 0.0, 1_000.0, LastLine::None),
    );
    let prices = [100.0, 90.3, 90.3, 90.3, 90.3, 90.3];
    let mut chunks = Vec::new();
    for (t, &p) in prices.iter().enumerate() {
        let held = lots_of(&e, 0);
        let ev = run(&mut e, &[p]);
        for (_, lots, _, _) in liquidations(&ev[0]) {
            // At most max_fraction of the position held at the chunk.
            assert!(2 * lots.abs() <= held, "chunk {lots} of {held}");
            chunks.push((t, lots));
        }
        if t == 2 {
            assert!(e.is_pending(0), "waiting out the cooldown");
        }
    }
    assert_eq!(chunks, vec![(1, -50), (3, -25)]);
    assert_eq!(lots_of(&e, 0), 25);
    assert!(!e.is_pending(0));
    assert_eq!(e.equity(0), usd(30.0));
    assert!(e.equity(0) >= e.maintenance(0));

    // At or below `full_below` (9,030 USD ≤ 10,000) the position closes whole.
    let mut e = engine(
        vec![plain_market(0.01)],
        &[100.0],
        &pop,
        config(chunked(10_000.0), 0.0, 1_000.0, LastLine::None),
    );
    let ev = run(&mut e, &[100.0, 90.3]);
    assert_eq!(liquidations(&ev[1]), vec![(0, -100, 9_030, Micros::ZERO)]);
}

/// Hyperliquid's order after a partial liquidation (`then_whole`): the same
/// account as above, 50% at step 1, then after the 2-step cooldown the whole
/// remaining 50 lots at step 3 (not 25), and nothing more. A liquidation that
/// ends clears the flag: the next one starts with a chunk again.
#[test]
fn chunked_then_whole_closes_the_rest_after_the_first_chunk() {
    let mode = LiquidationMode::Chunked {
        max_fraction: 0.5,
        min_chunk: Micros::ZERO,
        full_below: Micros::ZERO,
        cooldown_steps: 2,
        then_whole: true,
    };
    let pop = [account(0, true, 100, 100.0, 1_000.0)];
    let mut e = engine(
        vec![plain_market(0.01)],
        &[100.0],
        &pop,
        config(mode, 0.0, 1_000.0, LastLine::None),
    );
    let mut chunks = Vec::new();
    for (t, p) in [100.0, 90.3, 90.3, 90.3, 90.3].into_iter().enumerate() {
        for (_, lots, _, _) in liquidations(&run(&mut e, &[p])[0]) {
            chunks.push((t, lots));
        }
    }
    assert_eq!(chunks, vec![(1, -50), (3, -50)]);
    assert_eq!(lots_of(&e, 0), 0);
    assert!(!e.is_pending(0));

    // A liquidation that ends after its first chunk (safe again) clears the
    // flag: the account's next liquidation, later, starts with a chunk.
    let pop = [account(0, true, 100, 100.0, 1_000.0)];
    let mut e = engine(
        vec![plain_market(0.01)],
        &[100.0],
        &pop,
        config(mode, 0.0, 1_000.0, LastLine::None),
    );
    // 90.3: chunk of 50; back up to 95 during the cooldown: safe, the
    // liquidation ends; down to 90 (equity 15 USD, maintenance 45 USD): a new
    // one, 50% of the 50 left.
    let mut chunks = Vec::new();
    for (t, p) in [100.0, 90.3, 95.0, 95.0, 95.0, 90.0]
        .into_iter()
        .enumerate()
    {
        for (_, lots, _, _) in liquidations(&run(&mut e, &[p])[0]) {
            chunks.push((t, lots));
        }
    }
    assert_eq!(chunks, vec![(1, -50), (5, -25)]);
}

/// To target, buffer 50%, steps of 10%, fee 0.5%. Long 100 lots at 100 with 1,000 USD;
/// at 90.80 its equity is 80 USD against a maintenance of 90.80 USD. Closing q lots
/// costs the fee 0.454 × q USD and leaves maintenance 0.908 × (100 − q):
/// - q = 60: equity 80 − 27.24 = 52.76 < 1.5 × 36.32 = 54.48 — not enough;
/// - q = 70: equity 80 − 31.78 = 48.22 ≥ 1.5 × 27.24 = 40.86 — the smallest multiple.
#[test]
fn to_target_restores_the_buffer_without_closing_everything() {
    let mode = LiquidationMode::ToTarget {
        buffer: rate(0.5),
        step_fraction: 0.1,
    };
    let mut e = engine(
        vec![plain_market(0.01)],
        &[100.0],
        &[account(0, true, 100, 100.0, 1_000.0)],
        config(mode, 0.005, 1_000.0, LastLine::None),
    );
    let ev = run(&mut e, &[100.0, 90.8]);
    assert_eq!(
        liquidations(&ev[1]),
        vec![(0, -70, 9_080, Micros(31_780_000))]
    );
    assert_eq!(lots_of(&e, 0), 30);
    assert_eq!(e.equity(0), Micros(48_220_000));
    assert_eq!(e.maintenance(0), Micros(27_240_000));
    let m = e.maintenance(0);
    assert!(e.equity(0) >= m + rate(0.5).apply_ceil(m));
    // And it stays put while the mark does.
    let ev = run(&mut e, &[90.8, 90.8]);
    assert!(ev.iter().all(Vec::is_empty));
}

/// A liquidation never executes at a better price than the mark for the liquidated
/// account (docs/model.md §5: mark ∓ slippage), even when a larger opposite liquidation
/// earlier in the same step makes the net flow push the price its way.
///
/// Both accounts start liquidatable at 100.00: a short of 100 lots entered at 95
/// (equity 20 < maintenance 100) and a long of 10 lots entered at 110 (equity 1 <
/// maintenance 10). The short (account 0) is executed first and buys 10,000 USD; the
/// long then sells 1,000 USD into a net buy flow of 9,000 USD.
#[test]
fn a_liquidation_never_executes_better_than_the_mark() {
    let impact = Box::new(SquareRootImpact {
        coefficient: 1.0,
        volatility: 0.05,
        volume_usd: 1e5,
    });
    let mut e = engine(
        vec![market("m", 0.01, impact, 0.0)],
        &[100.0],
        &[
            account(0, true, -100, 95.0, 520.0),
            account(1, true, 10, 110.0, 101.0),
        ],
        config(LiquidationMode::Full, 0.0, 1_000.0, LastLine::None),
    );
    let ev = run(&mut e, &[100.0]);
    let l = liquidations(&ev[0]);
    assert_eq!(l.len(), 2, "{l:?}");
    // The short buys above the mark: 100 × (1 + 0.05 × sqrt(0.1)) = 101.58.
    assert_eq!((l[0].0, l[0].1), (0, 100));
    assert!(l[0].2 > 10_000);
    // The long sells at the mark, not above it.
    assert_eq!((l[1].0, l[1].1, l[1].2), (1, -10, 10_000));
    assert_eq!(e.equity(1), usd(1.0));
}

/// ADL never makes a winner bankrupt. The winner is a cross account short 10 lots of
/// market 0 (at 100) and long 100 lots of market 1 (at 100, MMR 0.1%) with 30 USD.
/// Market 0 gaps to 85 and market 1 falls to 98.40: the winner's equity is
/// 30 + 150 − 160 = 20 USD (maintenance 8.50 + 9.84 = 18.34: safe). The isolated long
/// (100.05 USD on 10 lots at 100) is bankrupt at −49.95 USD; with an empty fund it is
/// deleveraged at 90.00, 5 USD per lot above the mark for the winner, who can absorb
/// 20 / 5 = 4 lots and no more. The other 6 lots go to the market and the venue covers
/// what is left: −49.95 + 4 × 5 = −29.95 USD.
#[test]
fn adl_never_makes_a_winner_bankrupt() {
    let markets = vec![
        plain_market(0.01),
        market("n", 0.001, Box::new(NoImpact), 0.0),
    ];
    let pop = [
        account(0, true, 10, 100.0, 100.05),
        AccountSpec {
            id: 1,
            collateral: usd(30.0),
            isolated: false,
            positions: vec![(0, -10, 10_000), (1, 100, 10_000)],
        },
    ];
    let mut e = engine(
        markets,
        &[100.0, 100.0],
        &pop,
        config(LiquidationMode::Full, 0.0, 0.0, adl(AdlScope::Position)),
    );
    for p in [[100.0, 100.0], [85.0, 98.4]] {
        e.step(&p).expect("the step runs");
        e.check_invariants().unwrap();
        e.check_index_soundness().unwrap();
    }
    let ev = e.events().to_vec();
    assert!(ev.contains(&Event::Adl {
        account: 0,
        market: 0,
        bankrupt_lots: 10,
        closed_lots: 4,
        minimum_lots: 10,
        price: 9_000,
    }));
    for x in &ev {
        if let Event::BadDebt { account, .. } = x {
            assert_eq!(*account, 0, "ADL made the winner bankrupt: {ev:?}");
        }
    }
    // The winner is left with 20 − 4 × 5 = 0 USD: not bankrupt, but liquidatable, so
    // it is taken over (both positions close at their marks, no deficit).
    assert_eq!(e.equity(1), Micros::ZERO);
    assert!(liquidations(&ev).iter().any(|l| l.0 == 1));
    assert_eq!(e.totals().adl_cost, usd(20.0));
    assert_eq!(e.totals().insolvency, Micros(29_950_000));
    // The 20 USD the winner carried by ADL plus the 29.95 the venue covered.
    assert_eq!(e.totals().bad_debt, Micros(49_950_000));
}

// ------------------------------------------------------------------ (d) funding

/// Funding every 5 steps at the mark 100.01: a long of 3 lots pays
/// 3 × 100.01 × rate and a short of 1 lot receives 1 × 100.01 × rate, each rounded
/// half away from zero; the external counterparty (short 2 lots) takes the exact
/// opposite of the sum. At rate 0.015%: 45.0045 → 45_005 µUSD... precisely
/// 300_030_000 × 0.00015 = 45_004.5 → 45_005 paid, 100_010_000 × 0.00015 = 15_001.5 →
/// 15_002 received; the external counterparty nets 30_003 (= 2 × 100.01 × 0.015%),
/// which conservation (checked every step) accounts for. A negative rate reverses it.
#[test]
fn funding_longs_pay_shorts_and_the_external_counterparty_nets_it() {
    for (r, long_pays, short_gets) in [(0.00015, 45_005, 15_002), (-0.0001, -30_003, -10_001)] {
        let mut m = plain_market(0.01);
        m.funding_interval_steps = 5;
        m.funding_rate = rate(r);
        let mut e = engine(
            vec![m],
            &[100.01],
            &[
                account(0, false, 3, 100.01, 100.0),
                account(1, false, -1, 100.01, 100.0),
            ],
            config(LiquidationMode::Full, 0.0, 0.0, LastLine::None),
        );
        for t in 0..=10u32 {
            let ev = run(&mut e, &[100.01]);
            assert!(ev[0].is_empty());
            let settled = (t / 5) as i64; // settlements at steps 5 and 10, not 0
            assert_eq!(
                e.market_flows()[0].funding_rate,
                (t > 0 && t % 5 == 0).then_some(rate(r).as_fraction())
            );
            assert_eq!(
                e.collateral(0),
                Micros(100_000_000 - settled * long_pays),
                "rate {r}, step {t}"
            );
            assert_eq!(
                e.collateral(1),
                Micros(100_000_000 + settled * short_gets),
                "rate {r}, step {t}"
            );
            assert_eq!(e.insurance_fund().balance(), Micros::ZERO);
        }
    }
}

/// The initial margin the book locks: per position `notional × imr` of its
/// bracket at the mark, rounded up, summed.
#[test]
fn initial_margin_locked_sums_every_open_position_at_the_mark() {
    // imr = 2%: a long of 10 lots and a short of 3 at a mark of 100.00 lock
    // 2% of 1,000 + 2% of 300 = 26 USD, whatever their entries.
    let pop = [
        account(1, true, 10, 95.0, 500.0),
        account(2, false, -3, 101.0, 500.0),
    ];
    let cfg = config(LiquidationMode::Full, 0.0, 1_000.0, LastLine::None);
    let mut e = engine(vec![plain_market(0.01)], &[100.0], &pop, cfg);
    assert_eq!(e.initial_margin_locked(), usd(26.0));
    // At 110.00: 2% of 1,100 + 2% of 330 = 28.60 USD.
    run(&mut e, &[110.0]);
    assert_eq!(e.initial_margin_locked(), usd(28.6));
}
