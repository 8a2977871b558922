//! The starting book is a live venue's book (docs/model.md §5a): no account is
//! below maintenance at the start mark, so nothing is liquidated until the price
//! moves. Checked on every example scenario (on a flat path of its length), on
//! random generated populations (property test), on `flash-crash-adl` (its fund
//! is untouched before the shock), and for loaded snapshots (refused, kept or
//! dropped as `population.below_maintenance` says).

use std::path::{Path, PathBuf};

use backstop_sim::config::population::{PopulationConfig, Resample};
use backstop_sim::run::population;
use backstop_sim::venue::market::{MarginSchedule, Market};
use backstop_sim::{Engine, Micros, Prepared, Rate, Scenario, SimError, VenueConfig};
use proptest::prelude::*;
use rand::SeedableRng;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `*.toml` files under `dir`, recursively, sorted.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs path 0's engine of `file` for the scenario's number of steps with every
/// price held at its start: no oracle fault (a wick is a price move), and the
/// clock held at the start (collateral schedules are price moves too).
fn flat_run(file: &Path) -> Engine {
    let mut scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    scenario.controls.oracle.fault_wick = 0.0;
    scenario.controls.oracle.fault_stale = false;
    scenario.paths = 1;
    let base = file.parent().unwrap();
    let prepared = Prepared::new(scenario, base).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = prepared.engine(0).unwrap();
    let prices = prepared.start_prices();
    for _ in 0..prepared.scenario.steps().max(1) {
        engine.step(&prices).expect("a step within range");
    }
    engine
}

#[test]
fn every_example_scenario_liquidates_nothing_on_a_flat_path() {
    let files = scenario_files(&repo().join("scenarios"));
    assert!(files.len() >= 10, "scenarios not found: {files:?}");
    for file in &files {
        let e = flat_run(file);
        let t = e.totals();
        let shown = file.display();
        assert!(e.steps_run() > 0, "{shown}");
        assert_eq!(
            t.liquidations, 0,
            "{shown}: liquidation orders on a flat path"
        );
        assert_eq!(t.adl_events, 0, "{shown}: ADL on a flat path");
        assert_eq!(t.bad_debt, Micros::ZERO, "{shown}: bad debt on a flat path");
        assert_eq!(e.accounts_liquidated(), 0, "{shown}");
        let fund = e.insurance_fund();
        assert_eq!(fund.balance(), fund.initial(), "{shown}: the fund moved");
    }
}

/// `flash-crash-adl`: flat at 120,000 until its shock at step 30. Before the
/// solvent book, the fund was emptied at step 2 by accounts that started below
/// maintenance; now it is untouched until the price moves.
#[test]
fn flash_crash_fund_is_untouched_before_the_shock() {
    let file = repo().join("scenarios/flash-crash-adl.toml");
    let scenario = Scenario::load(&file).unwrap();
    let prepared = Prepared::new(scenario, file.parent().unwrap()).unwrap();
    let out = prepared.run_path(0).unwrap();
    let steps = &out.steps;
    let mut touched = None;
    for (i, &fund) in steps.insurance_fund.iter().enumerate() {
        if fund != out.metrics.insurance_fund_initial {
            touched = Some(steps.step[i]);
            break;
        }
    }
    let first = touched.expect("the crash does reach the fund");
    assert!(
        first >= 30,
        "the fund moved at step {first}, before the shock"
    );
    assert!(
        steps
            .step
            .iter()
            .zip(&steps.liquidations)
            .all(|(&s, &n)| s >= 30 || n == 0),
        "liquidations before the shock"
    );
}

/// A one-market venue with two brackets (so a position may change bracket
/// between entry and start).
fn market() -> Market {
    let rows = [
        (
            Micros::ZERO,
            Rate::from_fraction(0.01).unwrap(),
            Rate::from_fraction(0.005).unwrap(),
        ),
        (
            Micros::from_usd(50_000.0).unwrap(),
            Rate::from_fraction(0.02).unwrap(),
            Rate::from_fraction(0.01).unwrap(),
        ),
        (
            Micros::from_usd(1_000_000.0).unwrap(),
            Rate::from_fraction(0.1).unwrap(),
            Rate::from_fraction(0.05).unwrap(),
        ),
    ];
    // Lots of 0.0001: fine enough that rounding to whole lots never moves a
    // drawn book by more than 1% (which generation refuses) at any start price
    // drawn here.
    Market::plain("btc", 0.1, 0.0001, 10, MarginSchedule::new(&rows))
}

fn generated(dispersion: f64, median_leverage: f64, isolated: f64) -> PopulationConfig {
    use backstop_sim::config::population::Distribution;
    PopulationConfig::Generated {
        accounts: 300,
        notional: Distribution::Pareto {
            scale: 500.0,
            shape: 1.2,
        },
        leverage: Distribution::Lognormal {
            median: median_leverage,
            sigma: 1.0,
        },
        max_notional: 5_000_000.0,
        long_fraction: 0.5,
        entry_dispersion: dispersion,
        isolated_fraction: isolated,
        multi_market_fraction: 0.0,
        resample: Resample::Fixed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the dispersion of entries and the leverage drawn, no generated
    /// account is below maintenance at the start mark (checked by the engine
    /// itself), and each was at or above initial margin at its entry.
    #[test]
    fn generated_books_are_solvent_at_the_start_mark(
        seed in any::<u64>(),
        dispersion in 0.0f64..0.6,
        median_leverage in 1.0f64..200.0,
        isolated in 0.0f64..1.0,
        start in 1_000.0f64..200_000.0,
    ) {
        let cfg = generated(dispersion, median_leverage, isolated);
        let m = [market()];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (accounts, _) = population::generate(&cfg, &m, &[start], &mut rng).unwrap();
        prop_assert!(population::below_maintenance(&accounts, &m, &[start]).is_empty());
        for a in &accounts {
            let at_entry: Micros = a
                .positions
                .iter()
                .map(|&(_, lots, entry)| m[0].margin.initial_margin(m[0].value(lots.abs(), entry)))
                .sum();
            prop_assert!(a.collateral >= at_entry, "account {} below initial margin at entry", a.id);
        }
        let mut e = Engine::new(
            vec![market()],
            &[start],
            &accounts,
            VenueConfig {
                fee: Rate::from_fraction(0.005).unwrap(),
                insurance_fund: Micros::from_usd(1_000.0).unwrap(),
                ..VenueConfig::plain()
            },
            Engine::test_rng(0),
        )
        .unwrap();
        for i in 0..e.accounts().len() as u32 {
            prop_assert!(!e.is_liquidatable(i), "account {i} liquidatable at the start mark");
        }
        e.step(&[start]).expect("a step within range");
        prop_assert_eq!(e.totals().liquidations, 0);
        prop_assert_eq!(e.totals().bad_debt, Micros::ZERO);
    }
}

/// A snapshot with accounts below maintenance at the start mark: an error by
/// default naming how many and the first ids; `keep` keeps them (counted);
/// `drop` removes them (counted).
#[test]
fn loaded_books_below_maintenance_are_refused_kept_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("positions.parquet");
    // At 100: account 1 (long 10 at 100, 5 USD of collateral) is below its 5 USD
    // maintenance? 10 × 100 × 0.005 = 5: at equality it is safe. Account 2 (long
    // 10 at 110, 60 USD) has 60 − 100 = −40: below. Account 3 (short 10 at 90,
    // 50 USD) has 50 − 100 = −50: below. Account 4 is comfortable.
    let rows = [
        (1, 10.0, 100.0, 5.0),
        (2, 10.0, 110.0, 60.0),
        (3, -10.0, 90.0, 50.0),
        (4, 1.0, 100.0, 50.0),
    ]
    .map(|(id, size, entry, collateral)| backstop_data::PositionRow {
        account_id: id,
        market: "btc".into(),
        size,
        entry_price: entry,
        collateral,
        isolated: false,
    });
    backstop_data::write_positions(&file, &rows, &[]).unwrap();
    let scenario = |action: &str| {
        let src = format!(
            r#"
name = "t"
[market.btc]
price = 100.0
tick_size = 0.1
lot_size = 0.001
tiers = [{{ notional_floor = 0, imr = 0.01, mmr = 0.005 }}]
[path]
kind = "series"
prices.btc = [100.0, 100.0, 100.0]
[population]
kind = "parquet"
file = "positions.parquet"
{action}
"#
        );
        Scenario::from_toml_str(&src, &dir.path().join("t.toml")).unwrap()
    };
    let err = Prepared::new(scenario(""), dir.path())
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(matches!(err, SimError::Population(_)), "{text}");
    assert!(
        text.contains("2 of 4 accounts are below maintenance"),
        "{text}"
    );
    assert!(text.contains("first account ids: 2, 3"), "{text}");
    assert!(text.contains("population.below_maintenance"), "{text}");

    let kept = Prepared::new(scenario(r#"below_maintenance = "keep""#), dir.path()).unwrap();
    assert_eq!(kept.population.len(), 4);
    assert_eq!(
        (kept.below_maintenance, kept.below_maintenance_dropped),
        (2, 0)
    );
    let out = kept.run_path(0).unwrap();
    assert!(
        out.metrics.liquidation_orders > 0,
        "kept accounts are liquidated at step 0"
    );

    let dropped = Prepared::new(scenario(r#"below_maintenance = "drop""#), dir.path()).unwrap();
    let ids: Vec<u64> = dropped.population.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![1, 4]);
    assert_eq!(
        (dropped.below_maintenance, dropped.below_maintenance_dropped),
        (2, 2)
    );
    assert_eq!(dropped.run_path(0).unwrap().metrics.liquidation_orders, 0);
}
