//! The venue controls of issue 7 (docs/model.md §10) on small hand-built venues and
//! through scenario files: circuit breaker, volatility-responsive margin, oracle
//! aggregation.
//!
//! A market here has tick 0.01 USD and lot 1 unit (`k = 10_000` µUSD per lot-tick),
//! no impact and no funding. Every step is followed by [`Engine::check_invariants`]
//! and [`Engine::check_index_soundness`].

use std::path::Path;

use backstop_sim::engine::{AccountSpec, Engine, Event, VenueConfig};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::rng::{self, Purpose};
use backstop_sim::venue::controls::{
    AggregatedOracle, BreakerConfig, CircuitBreaker, Controls, OracleConfig, VolMarginConfig,
    VolatilityMargin,
};
use backstop_sim::venue::market::{MarginSchedule, Market};
use backstop_sim::{Prepared, Scenario};

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap()
}

fn market(mmr: f64) -> Market {
    Market::plain(
        "m",
        0.01,
        1.0,
        10_000,
        MarginSchedule::new(&[(Micros::ZERO, rate(2.0 * mmr), rate(mmr))]),
    )
}

/// One isolated long of 10 lots entered at 100.00 with `collateral` USD, full
/// liquidation, no fee, a fund of 1,000 USD.
fn single_long(mmr: f64, collateral: f64, controls: Controls) -> Engine {
    let cfg = VenueConfig {
        insurance_fund: usd(1_000.0),
        ..VenueConfig::plain()
    };
    let pop = [AccountSpec {
        id: 1,
        collateral: usd(collateral),
        isolated: true,
        positions: vec![(0, 10, 10_000)],
    }];
    let mut e = Engine::new(vec![market(mmr)], &[100.0], &pop, cfg, Engine::test_rng(1)).unwrap();
    e.set_record_events(true);
    e.set_controls(controls);
    e.check_invariants().unwrap();
    e
}

/// Steps through `prices`; per step: (liquidation orders, paused, margin multiplier).
fn run(e: &mut Engine, prices: &[f64]) -> Vec<(usize, bool, f64)> {
    prices
        .iter()
        .enumerate()
        .map(|(t, &p)| {
            e.step(&[p]).expect("the step runs");
            e.check_invariants()
                .unwrap_or_else(|err| panic!("step {t}: {err}"));
            e.check_index_soundness()
                .unwrap_or_else(|err| panic!("step {t}: {err}"));
            let liqs = e
                .events()
                .iter()
                .filter(|ev| matches!(ev, Event::Liquidation { .. }))
                .count();
            (liqs, e.liquidations_paused(), e.margin_multiplier(0))
        })
        .collect()
}

fn breaker(threshold: f64, window_steps: u32, pause_steps: u32) -> Controls {
    Controls {
        breaker: Some(Box::new(CircuitBreaker::new(
            &BreakerConfig {
                enabled: true,
                threshold,
                window_steps,
                pause_steps,
            },
            1,
        ))),
        ..Controls::default()
    }
}

/// Collateral 20 USD on 1,000 USD notional, MMR 1%: liquidatable below
/// `(1000 − 20) / (10 × 0.99) = 98.99`. A fall to 98.00 (−2%) trips a 1.5% breaker:
/// liquidations wait three steps, the account is pending (negative equity is
/// allowed only then), and it is liquidated at the first step after the pause.
#[test]
fn the_breaker_pauses_liquidations_and_releases_them_after_the_pause() {
    let mut e = single_long(0.01, 20.0, breaker(0.015, 2, 3));
    let steps = run(&mut e, &[100.0, 98.0, 97.0, 97.0, 97.0, 97.0]);
    let liqs: Vec<usize> = steps.iter().map(|s| s.0).collect();
    let paused: Vec<bool> = steps.iter().map(|s| s.1).collect();
    assert_eq!(paused, [false, true, true, true, false, false]);
    assert_eq!(liqs, [0, 0, 0, 0, 1, 0]);
    let b = e.controls().breaker.as_ref().unwrap();
    assert_eq!((b.trips(), b.steps_paused()), (1, 3));
    assert_eq!(e.totals().liquidations, 1);
}

/// Without the breaker the same path liquidates at the fall.
#[test]
fn without_the_breaker_the_fall_liquidates_at_once() {
    let mut e = single_long(0.01, 20.0, Controls::default());
    let steps = run(&mut e, &[100.0, 98.0, 97.0, 97.0, 97.0, 97.0]);
    let liqs: Vec<usize> = steps.iter().map(|s| s.0).collect();
    assert_eq!(liqs, [0, 1, 0, 0, 0, 0]);
    assert!(steps.iter().all(|s| !s.1 && s.2 == 1.0));
}

/// Collateral 15 USD on 1,000 USD of notional at 100.00, MMR 1% (10 USD): safe at
/// a multiplier of 1, liquidatable at 3 (30 USD). The mark alternates 100/101
/// (σ ≈ 1% a step against σ_ref 0.2%): the multiplier jumps to the cap at the first
/// update (step 4), and the open position is liquidated at that very step.
#[test]
fn volatility_margin_re_evaluates_open_positions_at_the_update() {
    let controls = Controls {
        margin: Some(Box::new(VolatilityMargin::new(
            &VolMarginConfig {
                enabled: true,
                sigma_ref: 0.002,
                half_life_steps: 1.0,
                update_interval_steps: 4,
                cap: 3.0,
            },
            1,
        ))),
        ..Controls::default()
    };
    let mut e = single_long(0.01, 15.0, controls);
    let steps = run(&mut e, &[100.0, 101.0, 100.0, 101.0, 100.0, 101.0]);
    let liqs: Vec<usize> = steps.iter().map(|s| s.0).collect();
    let mult: Vec<f64> = steps.iter().map(|s| s.2).collect();
    assert_eq!(mult, [1.0, 1.0, 1.0, 1.0, 3.0, 3.0]);
    assert_eq!(liqs, [0, 0, 0, 0, 1, 0]);
    let m = e.controls().margin.as_ref().unwrap();
    assert_eq!(m.max_multiplier(), rate(3.0));
}

/// A maintenance requirement under a multiplier is `ceil(base × multiplier)`.
#[test]
fn the_multiplier_scales_the_requirement_exactly() {
    let controls = Controls {
        margin: Some(Box::new(VolatilityMargin::new(
            &VolMarginConfig {
                enabled: true,
                sigma_ref: 0.001,
                half_life_steps: 1.0,
                update_interval_steps: 1,
                cap: 2.5,
            },
            1,
        ))),
        ..Controls::default()
    };
    let mut e = single_long(0.01, 500.0, controls);
    assert_eq!(e.maintenance(0), usd(10.0));
    run(&mut e, &[100.0, 110.0]);
    assert_eq!(e.margin_multiplier(0), 2.5);
    // 10 lots at 110.00: 1,100 USD × 1% = 11 USD, × 2.5 = 27.5 USD.
    assert_eq!(e.maintenance(0), usd(27.5));
}

fn oracle(sources: u32) -> Controls {
    let cfg = OracleConfig {
        enabled: true,
        sources,
        noise: 0.0,
        fault_start_step: 2,
        fault_steps: 2,
        fault_wick: -0.3,
        ..OracleConfig::default()
    };
    Controls {
        oracle: Some(Box::new(AggregatedOracle::new(
            &cfg,
            1,
            rng::stream(1, Purpose::Oracle, 0),
        ))),
        ..Controls::default()
    }
}

/// One source wicks 30% down for two steps while the path stays at 100.00. As the
/// only source it is the mark and liquidates the long (liquidation price 98.99);
/// as one of three, the 5% deviation guard drops it and nothing happens.
#[test]
fn the_deviation_guard_keeps_a_lying_source_from_liquidating() {
    let mut raw = single_long(0.01, 20.0, oracle(1));
    let steps = run(&mut raw, &[100.0; 6]);
    assert_eq!(steps.iter().map(|s| s.0).sum::<usize>(), 1);
    assert_eq!(raw.totals().liquidations, 1);

    let mut guarded = single_long(0.01, 20.0, oracle(3));
    let steps = run(&mut guarded, &[100.0; 6]);
    assert_eq!(steps.iter().map(|s| s.0).sum::<usize>(), 0);
    assert_eq!(guarded.mark_price(0), 100.0);
    let o = guarded.controls().oracle.as_ref().unwrap();
    assert_eq!(o.sources_dropped(), 2);
}

// ------------------------------------------------------------------ scenario files

const BASE: &str = r#"name = "controls"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.02, mmr = 0.01 }]

[path]
kind = "linear"
steps = 30
shock_start_step = 5
shock_steps = 2
shock = -0.2

[population]
kind = "generated"
accounts = 300
notional = { distribution = "constant", value = 5000.0 }
leverage = { distribution = "uniform", min = 2.0, max = 40.0 }
max_notional = 100000.0
"#;

fn scenario(extra: &str) -> Result<Scenario, backstop_sim::ScenarioError> {
    Scenario::from_toml_str(&format!("{BASE}\n{extra}"), Path::new("c.toml"))
}

#[track_caller]
fn refused(extra: &str, key: &str, words: &str) {
    let err = scenario(extra).expect_err("the scenario should be refused");
    assert_eq!(err.key(), Some(key), "{err}");
    assert!(err.to_string().contains(words), "{err}");
    assert!(err.line().is_some(), "{err}");
}

#[test]
fn bad_controls_are_refused_naming_the_key() {
    refused(
        "[controls.breaker]\nenabled = true\nwindow_steps = 31\n",
        "controls.breaker.window_steps",
        "longer than the run (30 steps)",
    );
    refused(
        "[controls.breaker]\nthreshold = 0.0\n",
        "controls.breaker.threshold",
        "positive",
    );
    refused(
        "[controls.breaker]\npause_steps = 0\n",
        "controls.breaker.pause_steps",
        "at least 1",
    );
    refused(
        "[controls.breaker]\nwindow = 3\n",
        "controls.breaker.window",
        "unknown field",
    );
    refused(
        "[controls.vol_margin]\ncap = 0.5\n",
        "controls.vol_margin.cap",
        "at least 1",
    );
    refused(
        "[controls.vol_margin]\nenabled = true\ncap = 60.0\n",
        "controls.vol_margin.cap",
        "100%",
    );
    refused(
        "[controls.vol_margin]\nsigma_ref = -1.0\n",
        "controls.vol_margin.sigma_ref",
        "positive",
    );
    refused(
        "[controls]\nbreakers = 1\n",
        "controls.breakers",
        "unknown field",
    );
    refused(
        "[controls.oracle]\ndeviation_guard = 0.0\n",
        "controls.oracle.deviation_guard",
        "must be above 0",
    );
    refused(
        "[controls.oracle]\nsources = 0\n",
        "controls.oracle.sources",
        "between 1 and 64",
    );
    refused(
        "[controls.oracle]\nsources = 3\nfault_steps = 2\nfaulty_source = 3\n",
        "controls.oracle.faulty_source",
        "does not exist",
    );
    refused(
        "[controls.oracle]\naggregation = \"mean\"\n",
        "controls.oracle.aggregation",
        "unknown variant",
    );
    refused(
        "[controls.oracle]\ntrim_fraction = 0.5\n",
        "controls.oracle.trim_fraction",
        "below 0.5",
    );
    // A window as long as the run is fine.
    scenario("[controls.breaker]\nenabled = true\nwindow_steps = 30\n").unwrap();
}

/// Through the runner: the breaker's pauses reach the path metrics, the margin
/// multiplier the steps table.
#[test]
fn controls_reach_the_metrics_and_the_steps_table() {
    let plain = Prepared::new(scenario("").unwrap(), Path::new("."))
        .unwrap()
        .run_path(0)
        .unwrap();
    assert_eq!(plain.metrics.breaker_trips, 0);
    let with = Prepared::new(
        scenario(
            "[controls.breaker]\nenabled = true\nthreshold = 0.05\nwindow_steps = 3\npause_steps = 4\n\
             [controls.vol_margin]\nenabled = true\nupdate_interval_steps = 2\n",
        )
        .unwrap(),
        Path::new("."),
    )
    .unwrap()
    .run_path(0)
    .unwrap();
    assert!(with.metrics.breaker_trips >= 1, "{:?}", with.metrics);
    assert!(with.metrics.breaker_steps_paused >= 4);
    assert!(with.metrics.margin_multiplier_max > 1.0);
    assert!(with.steps.margin_multiplier.iter().any(|&m| m > 1.0));
    assert!(plain.steps.margin_multiplier.iter().all(|&m| m == 1.0));
    assert!(plain.metrics.liquidation_orders > 0);
}

// ------------------------------------------------------------------ collateral

/// A cross-margin long of 10 lots at 100.00 (1,000 USD notional, MMR 1%: 10 USD
/// maintenance) with a deposit of 20 USD, of which `cost` USD bought `units`
/// millionths of a collateral asset priced by `schedule` (`(step, USD)`), with
/// `haircut`.
fn collateral_long(haircut: f64, schedule: &[(f64, f64)], units: i64, cost: f64) -> Engine {
    use backstop_sim::venue::controls::{CollateralAsset, CollateralHolding, ScheduledCollateral};
    let cfg = VenueConfig {
        insurance_fund: usd(1_000.0),
        ..VenueConfig::plain()
    };
    let pop = [AccountSpec {
        id: 1,
        collateral: usd(20.0),
        isolated: false,
        positions: vec![(0, 10, 10_000)],
    }];
    let mut e = Engine::new(vec![market(0.01)], &[100.0], &pop, cfg, Engine::test_rng(1)).unwrap();
    e.set_record_events(true);
    let asset = CollateralAsset {
        name: "usde".into(),
        weight: 1.0 - haircut,
        market: None,
        schedule: schedule.to_vec(),
        by_time: false,
    };
    e.set_collateral(
        Box::new(ScheduledCollateral::new(vec![asset])),
        &[CollateralHolding {
            account: 0,
            asset: 0,
            units,
            cost: usd(cost).0,
        }],
    )
    .unwrap();
    e.check_invariants().unwrap();
    e
}

/// 16 units of an asset bought at 1 USD out of a 20 USD deposit: with a 20% haircut
/// they count 12.80 USD of margin, 3.20 USD less than with none, exactly
/// `units × price × haircut`; at 0.50 USD the difference is 1.60 USD.
#[test]
fn a_haircut_lowers_margin_by_units_times_price_times_haircut() {
    let schedule = [(0.0, 1.0), (1.0, 0.5)];
    let mut full = collateral_long(0.0, &schedule, 16_000_000, 16.0);
    let mut cut = collateral_long(0.2, &schedule, 16_000_000, 16.0);
    assert_eq!(full.collateral(0), usd(4.0));
    assert_eq!(cut.collateral(0), usd(4.0));
    assert_eq!(full.collateral_value(0), usd(16.0));
    assert_eq!(cut.collateral_value(0), usd(12.8));
    assert_eq!(full.equity(0), usd(20.0));
    assert_eq!(cut.equity(0), usd(16.8));
    assert_eq!(full.equity(0) - cut.equity(0), usd(16.0 * 1.0 * 0.2));
    run(&mut full, &[100.0, 100.0]);
    run(&mut cut, &[100.0, 100.0]);
    assert_eq!(full.collateral_value(0), usd(8.0));
    assert_eq!(cut.collateral_value(0), usd(6.4));
    assert_eq!(full.equity(0) - cut.equity(0), usd(16.0 * 0.5 * 0.2));
    // The cut account's equity, 4 + 6.4 = 10.4 USD, is still above
    // the 10 USD maintenance, so neither is liquidated.
    assert_eq!(full.totals().liquidations + cut.totals().liquidations, 0);
}

/// 16 USD of the 20 USD deposit in a stablecoin that depegs to 0.50 and then 0.25:
/// equity 4 + 8 = 12 USD stays above the 10 USD maintenance, then 4 + 4 = 8 USD
/// falls below it with the mark unchanged: the index catches it at that step, the
/// liquidation sells the asset for 4 USD first, and nothing is lost.
#[test]
fn a_depeg_liquidates_exactly_when_collateral_falls_below_maintenance() {
    let schedule = [(0.0, 1.0), (1.0, 1.0), (2.0, 0.5), (3.0, 0.25)];
    let mut e = collateral_long(0.0, &schedule, 16_000_000, 16.0);
    let steps = run(&mut e, &[100.0, 100.0, 100.0, 100.0, 100.0]);
    let liqs: Vec<usize> = steps.iter().map(|s| s.0).collect();
    assert_eq!(liqs, [0, 0, 0, 1, 0]);
    assert_eq!(e.totals().collateral_converted, usd(4.0));
    assert_eq!(e.totals().collateral_conversions, 1);
    assert_eq!(e.collateral_units(0, 0), 0);
    assert_eq!(e.equity(0), usd(8.0));
    assert_eq!(e.totals().bad_debt, Micros::ZERO);
    // Without the depeg the same account is never liquidated.
    let mut pegged = collateral_long(0.0, &[(0.0, 1.0)], 16_000_000, 16.0);
    let steps = run(&mut pegged, &[100.0, 100.0, 100.0, 100.0, 100.0]);
    assert!(steps.iter().all(|s| s.0 == 0));
}

/// A collateral asset that follows a market: a long backed by the same coin loses
/// twice when the coin falls (the wrong-way risk multi-asset margin adds).
#[test]
fn collateral_priced_by_a_market_falls_with_it() {
    let plain_scenario = scenario("").unwrap();
    let with_btc = scenario(
        "[controls.collateral]\nenabled = true\n\
         [controls.collateral.asset.coin]\nhaircut = 0.1\nshare = 0.8\nmarket = \"btc\"\n",
    )
    .unwrap();
    let plain = Prepared::new(plain_scenario, Path::new("."))
        .unwrap()
        .run_path(0)
        .unwrap();
    let with = Prepared::new(with_btc, Path::new("."))
        .unwrap()
        .run_path(0)
        .unwrap();
    assert!(
        with.metrics.collateral_conversions > 0,
        "{:?}",
        with.metrics
    );
    assert!(with.metrics.collateral_converted > 0.0);
    assert_eq!(plain.metrics.collateral_conversions, 0);
    assert!(
        with.metrics.accounts_liquidated >= plain.metrics.accounts_liquidated,
        "with {} plain {}",
        with.metrics.accounts_liquidated,
        plain.metrics.accounts_liquidated
    );
}

#[test]
fn bad_collateral_is_refused_naming_the_key() {
    let asset = "[controls.collateral]\nenabled = true\n[controls.collateral.asset.usde]\n";
    refused(
        &format!("{asset}haircut = 1.5\nshare = 0.5\nschedule = [{{ step = 0, price = 1.0 }}]\n"),
        "controls.collateral.asset.usde.haircut",
        "[0, 1)",
    );
    refused(
        &format!("{asset}haircut = -0.1\nshare = 0.5\nschedule = [{{ step = 0, price = 1.0 }}]\n"),
        "controls.collateral.asset.usde.haircut",
        "[0, 1)",
    );
    refused(
        &format!("{asset}haircut = 0.1\nshare = 0.5\n"),
        "controls.collateral.asset.usde",
        "no price path",
    );
    refused(
        &format!("{asset}haircut = 0.1\nshare = 0.5\nmarket = \"eth\"\n"),
        "controls.collateral.asset.usde.market",
        "does not define",
    );
    refused(
        &format!("{asset}haircut = 0.1\nshare = 1.5\nmarket = \"btc\"\n"),
        "controls.collateral.asset.usde.share",
        "[0, 1]",
    );
    refused(
        &format!(
            "{asset}haircut = 0.1\nshare = 0.5\nschedule = [{{ step = 0, price = 1.0 }}, {{ step = 3, price = -1.0 }}]\n"
        ),
        "controls.collateral.asset.usde.schedule[1].price",
        "positive",
    );
    refused(
        "[controls.collateral]\nenabled = true\n\
         [controls.collateral.asset.a]\nhaircut = 0.1\nshare = 0.6\nmarket = \"btc\"\n\
         [controls.collateral.asset.b]\nhaircut = 0.1\nshare = 0.6\nmarket = \"btc\"\n",
        "controls.collateral.asset",
        "sum to",
    );
}

/// The haircut is a buffer: 32 units at 1 USD with a 50% haircut count 16 USD (20
/// USD equity with 4 USD cash). At 0.25 USD they count 4 USD, equity 8 USD falls
/// below the 10 USD maintenance, and the liquidation starts by selling them at
/// market for 8 USD: equity 12 USD is above maintenance again and no position is
/// closed.
#[test]
fn selling_collateral_at_market_can_end_a_liquidation_before_any_close() {
    let mut e = collateral_long(0.5, &[(0.0, 1.0), (1.0, 0.25)], 32_000_000, 16.0);
    assert_eq!(e.equity(0), usd(20.0));
    let steps = run(&mut e, &[100.0, 100.0, 100.0]);
    assert!(steps.iter().all(|s| s.0 == 0), "{steps:?}");
    assert_eq!(e.totals().collateral_conversions, 1);
    assert_eq!(e.totals().collateral_converted, usd(8.0));
    assert_eq!(e.equity(0), usd(12.0));
    assert_eq!(e.collateral(0), usd(12.0));
    assert_eq!(e.positions_of(0)[0].lots, 10);
    // With no haircut the same fall would have been caught the same way, but
    // 16 units at 0.25 fetch 4 USD: equity 8, and the position is closed.
    let mut bare = collateral_long(0.0, &[(0.0, 1.0), (1.0, 0.25)], 16_000_000, 16.0);
    let steps = run(&mut bare, &[100.0, 100.0, 100.0]);
    assert_eq!(steps.iter().map(|s| s.0).sum::<usize>(), 1);
}
