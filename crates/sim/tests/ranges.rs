//! Never a silently wrong number (issue 16): values past the engine's integer
//! range, rounding that changes the book, and settings that cannot take effect
//! are refused with the key, the value and the limit; inside the engine, a
//! quantity that leaves the range fails the step with the step, the party and
//! the quantity.
//!
//! Each scenario below is the issue's own input (or the smallest one showing
//! it), changed from one small valid scenario.

use std::path::Path;

use backstop_sim::engine::VenueConfig;
use backstop_sim::engine::{AccountSpec, Engine, EngineError};
use backstop_sim::money::{MAX_USD, Micros, Rate};
use backstop_sim::venue::market::{MarginSchedule, Market};
use backstop_sim::{Prepared, Scenario, SimError};

/// A small valid scenario; each test changes one line of it.
const BASE: &str = r#"name = "range"
seed = 7

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [
  { notional_floor = 0, imr = 0.008, mmr = 0.004 },
  { notional_floor = 50000, imr = 0.01, mmr = 0.005 },
]

[path]
kind = "linear"
steps = 100
shock_start_step = 10
shock_steps = 20
shock = -0.3

[population]
kind = "generated"
accounts = 100
notional = { distribution = "pareto", scale = 2000.0, shape = 1.3 }
leverage = { distribution = "lognormal", median = 8.0, sigma = 0.7 }
max_notional = 1000000.0

[liquidation]
mode = "chunked"
latency_steps = 1

[insurance_fund]
initial = 1000000.0
"#;

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} is not in the base scenario");
    BASE.replacen(from, to, 1)
}

/// Loads `text` and prepares it as `backstop validate` and `run` do.
fn prepare(text: &str) -> Result<Prepared, String> {
    let s = Scenario::from_toml_str(text, Path::new("range.toml")).map_err(|e| e.to_string())?;
    Prepared::new(s, Path::new(".")).map_err(|e| e.to_string())
}

/// `text` is refused before anything runs, with a message containing each of
/// `needles`.
#[track_caller]
fn assert_refused(text: &str, needles: &[&str]) -> String {
    let err = match prepare(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    };
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    err
}

#[test]
fn the_base_is_good_and_runs() {
    let p = prepare(BASE).unwrap();
    let out = p.run(&|_| {}).unwrap();
    assert_eq!(out.paths.len(), 1);
    // The generated notionals move by far less than 1% in total on a 100 USD lot.
    let r = p.lot_rounding.as_ref().unwrap();
    assert_eq!(r.positions, 100);
    assert!(r.moved_fraction() < 0.01, "{r:?}");
}

// ------------------------------------------------- values above the range

#[test]
fn an_insurance_fund_above_the_range_is_refused_not_zeroed() {
    for value in ["9e12", "1e13", "1e300"] {
        let err = assert_refused(
            &edit("initial = 1000000.0", &format!("initial = {value}")),
            &[
                "range.toml:",
                "key `insurance_fund.initial`",
                "above the largest amount the engine can hold",
                "5.765e11 USD",
            ],
        );
        let shown: f64 = value.parse().unwrap();
        assert!(err.contains(&format!("{shown:e} USD")), "{err}");
    }
}

#[test]
fn a_chunk_threshold_above_the_range_is_refused() {
    assert_refused(
        &edit(
            "latency_steps = 1",
            "latency_steps = 1\nchunk_full_below_usd = 1e13",
        ),
        &[
            "key `liquidation.chunk_full_below_usd`",
            "1e13 USD",
            "5.765e11",
        ],
    );
}

#[test]
fn a_tier_floor_above_the_range_is_refused() {
    assert_refused(
        &edit("notional_floor = 50000,", "notional_floor = 1e13,"),
        &[
            "key `market.btc.tiers[1].notional_floor`",
            "1e13 USD",
            "5.765e11",
        ],
    );
}

#[test]
fn a_max_notional_above_the_range_is_refused() {
    assert_refused(
        &edit("max_notional = 1000000.0", "max_notional = 1e13"),
        &["key `population.max_notional`", "1e13 USD"],
    );
}

#[test]
fn a_population_whose_open_interest_leaves_the_range_is_refused() {
    // 20 accounts of 5e11 USD each: 1e13 USD of open interest, each amount in
    // range but not their sum.
    let text = edit("accounts = 100", "accounts = 20")
        .replace(
            "notional = { distribution = \"pareto\", scale = 2000.0, shape = 1.3 }",
            "notional = { distribution = \"constant\", value = 5e11 }",
        )
        .replace("max_notional = 1000000.0", "max_notional = 5e11")
        .replace(
            "leverage = { distribution = \"lognormal\", median = 8.0, sigma = 0.7 }",
            "leverage = { distribution = \"constant\", value = 1.0 }",
        );
    assert_refused(
        &text,
        &[
            "key `population.max_notional`",
            "20 accounts",
            "gross open interest of 1",
            "5.765e11 USD",
        ],
    );
}

#[test]
fn a_latency_that_would_wrap_the_due_step_is_refused() {
    assert_refused(
        &edit("latency_steps = 1", "latency_steps = 4294967295"),
        &[
            "key `liquidation.latency_steps`",
            "4294967295 steps is not shorter than the run (100 steps)",
        ],
    );
}

// ------------------------------------------------- rounding that changes the book

#[test]
fn a_lot_that_rounds_most_positions_to_one_lot_is_refused_with_counts() {
    // A 1-BTC lot (100,000 USD) under notionals of a few thousand USD: nearly
    // every position would become exactly one lot.
    let text = edit("lot_size = 0.001", "lot_size = 1.0")
        .replace("tick_size = 0.1", "tick_size = 0.01")
        .replace("accounts = 100", "accounts = 2000");
    let err = assert_refused(
        &text,
        &[
            "key `population.notional`",
            "of 2000 positions by more than 1%",
            "market `btc`",
            "lot_size",
        ],
    );
    // The count is the issue's: almost all of them.
    let moved: u64 = err
        .split("the notional of ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no count in {err}"));
    assert!(moved > 1_900, "{err}");
}

#[test]
fn a_price_below_one_tick_is_refused() {
    assert_refused(
        &edit("price = 100000.0", "price = 0.05"),
        &["key `market.btc.price`", "below 50 ticks"],
    );
    // A crash to below 50 ticks (rounding would move it by more than 1%).
    assert_refused(
        &edit("price = 100000.0", "price = 10.0").replace("shock = -0.3", "shock = -0.9995"),
        &[
            "key `path.shock`",
            "takes market `btc` from 10 to",
            "below 50 ticks",
        ],
    );
}

#[test]
fn a_series_price_off_the_tick_grid_is_refused() {
    let text = edit(
        "kind = \"linear\"\nsteps = 100\nshock_start_step = 10\nshock_steps = 20\nshock = -0.3\n",
        "kind = \"series\"\nprices.btc = [100000.0, 99000.0, 0.3]\n",
    )
    .replace("latency_steps = 1", "latency_steps = 0");
    assert_refused(&text, &["key `path.prices.btc[2]`", "below 50 ticks"]);
}

#[test]
fn a_shock_after_the_last_step_is_refused() {
    assert_refused(
        &edit("shock_start_step = 10", "shock_start_step = 100"),
        &[
            "key `path.shock_start_step`",
            "after the run's last step (99)",
        ],
    );
}

// ------------------------------------------------- bounded before allocating

#[test]
fn sizes_past_the_limits_are_refused_before_allocating() {
    assert_refused(
        &edit("accounts = 100", "accounts = 4000000000"),
        &["key `population.accounts`", "more than the limit"],
    );
    assert_refused(
        &edit("seed = 7", "seed = 7\npaths = 4000000000"),
        &["key `paths`", "more than the limit"],
    );
    assert_refused(
        &edit("steps = 100", "steps = 4000000000"),
        &["key `path.steps`", "more than the limit"],
    );
}

// ------------------------------------------------- inside the engine

/// A market of tick 0.01 and lot 1 (k = 10,000 µUSD), one bracket of 1%/0.5%.
fn market() -> Market {
    Market::plain(
        "m",
        0.01,
        1.0,
        10_000,
        MarginSchedule::new(&[(
            Micros::ZERO,
            Rate::from_fraction(0.01).unwrap(),
            Rate::from_fraction(0.005).unwrap(),
        )]),
    )
}

fn venue() -> VenueConfig {
    VenueConfig::plain()
}

/// A long and a short of `lots` lots at 100 USD, well collateralized.
fn pair(lots: i64) -> Vec<AccountSpec> {
    let collateral = Micros::from_usd(lots as f64 * 100.0).unwrap();
    [(0, lots), (1, -lots)]
        .into_iter()
        .map(|(id, l)| AccountSpec {
            id,
            collateral,
            isolated: false,
            positions: vec![(0, l, 10_000)],
        })
        .collect()
}

#[test]
fn a_path_price_below_one_tick_fails_the_step_instead_of_holding_one_tick() {
    let mut e = Engine::new(
        vec![market()],
        &[100.0],
        &pair(10),
        venue(),
        Engine::test_rng(1),
    )
    .unwrap();
    e.step(&[100.0]).unwrap();
    let err = e.step(&[0.004]).unwrap_err();
    assert!(
        matches!(err, EngineError::OffGrid { step: 1, ref market, .. } if market == "m"),
        "{err:?}"
    );
    assert!(err.to_string().contains("step 1: market `m`"), "{err}");
}

#[test]
fn open_interest_past_the_range_fails_the_step_with_step_and_market() {
    // 1e9 lots a side at 100 USD: 2e11 USD of gross open interest, in range;
    // at 1,000 USD it would be 2e12 USD, past the 5.8e11 USD limit.
    let mut e = Engine::new(
        vec![market()],
        &[100.0],
        &pair(1_000_000_000),
        venue(),
        Engine::test_rng(1),
    )
    .unwrap();
    e.step(&[100.0]).unwrap();
    e.step(&[250.0]).unwrap();
    let err = e.step(&[1_000.0]).unwrap_err();
    match &err {
        EngineError::OutOfRange {
            step,
            party,
            value_usd,
            limit_usd,
            ..
        } => {
            assert_eq!(*step, 2);
            assert_eq!(party, "market `m`");
            assert_eq!(*value_usd, 2e12);
            assert_eq!(*limit_usd, MAX_USD);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("open interest"), "{err}");
}

#[test]
fn a_balance_past_the_range_fails_the_step_with_the_account() {
    // Funding of 90% every step on 4e10 USD a side: the short's balance grows
    // past 5.8e11 USD within a few dozen steps, and the step that takes it
    // there fails naming the account; nothing wraps.
    let mut m = market();
    m.funding_interval_steps = 1;
    m.funding_rate = Rate::from_fraction(0.9).unwrap();
    let mut e = Engine::new(
        vec![m],
        &[100.0],
        &pair(400_000_000),
        venue(),
        Engine::test_rng(1),
    )
    .unwrap();
    let mut failed = None;
    for t in 0..100 {
        if let Err(err) = e.step(&[100.0]) {
            failed = Some((t, err));
            break;
        }
    }
    let (t, err) = failed.expect("the balances leave the range");
    match &err {
        EngineError::OutOfRange {
            step,
            party,
            quantity,
            value_usd,
            ..
        } => {
            assert_eq!(*step, t);
            assert!(
                party.starts_with("account ") || party.contains("external"),
                "{party}"
            );
            assert_eq!(*quantity, "balance");
            assert!(value_usd.abs() > MAX_USD, "{value_usd}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_run_reports_the_path_of_a_failed_step() {
    // A GBM so volatile that the price falls below one tick within the run.
    let text = edit(
        "kind = \"linear\"\nsteps = 100\nshock_start_step = 10\nshock_steps = 20\nshock = -0.3\n",
        "kind = \"gbm\"\nsteps = 1440\nvolatility = 200.0\n",
    );
    let p = prepare(&text).unwrap();
    let err = p.run(&|_| {}).unwrap_err();
    assert!(matches!(err, SimError::Step { path: 0, .. }), "{err:?}");
    assert!(err.to_string().starts_with("path 0: step "), "{err}");
}
