//! The quiet step (`engine/quiet.rs`) is exact: an engine stepping with
//! quiet steps on is, after every step, the engine stepping every step in
//! full (quiet steps off), on walks that liquidate, settle funding, carry a
//! decaying impact and schedule liquidations with a latency.

use std::path::Path;

use backstop_sim::{Engine, Prepared, Scenario};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A venue of `accounts` generated accounts on `markets` BTC-like markets,
/// funding every `funding_steps` steps (0: never), liquidations
/// `latency` steps after detection.
fn scenario(accounts: u32, markets: usize, funding_steps: u32, latency: u32) -> Scenario {
    let mut toml = format!(
        r#"
name = "quiet-step"
seed = 11
step_seconds = 1
start = "2025-10-10T00:00:00Z"

[path]
kind = "linear"
steps = 10
shock_start_step = 1
shock_steps = 1
shock = 0.0

[population]
kind = "generated"
accounts = {accounts}
notional = {{ distribution = "pareto", scale = 2000.0, shape = 1.3 }}
max_notional = 5000000.0
leverage = {{ distribution = "lognormal", median = 8.0, sigma = 0.6 }}
long_fraction = 0.6
entry_dispersion = 0.01
isolated_fraction = 0.2

[liquidation]
mode = "to_target"
fee = 0.005
insurance_fund_share = 1.0
target_buffer = 0.1
latency_steps = {latency}

[insurance_fund]
initial = 200000.0

[last_line]
kind = "adl"
adl = "queue"
ranking = "binance"
scope = "position"
"#
    );
    for m in 0..markets {
        toml.push_str(&format!(
            r#"
[market.m{m}]
price = {price}
tick_size = 0.1
lot_size = 0.001
tiers = [
  {{ notional_floor = 0, imr = 0.008, mmr = 0.004 }},
  {{ notional_floor = 50000, imr = 0.01, mmr = 0.005 }},
  {{ notional_floor = 250000, imr = 0.02, mmr = 0.01 }},
]
funding = {{ rate = 0.0001, interval_steps = {funding_steps} }}
impact = {{ model = "square_root", coefficient = 1.0, volatility = 0.02, volume_usd = 50000000.0, permanent_fraction = 0.25, half_life_steps = 5.0 }}
"#,
            price = 60_000.0 + 10_000.0 * m as f64,
        ));
    }
    Scenario::from_toml_str(&toml, Path::new("quiet-step.toml")).expect("the scenario parses")
}

/// Steps two engines of `book`, quiet steps on and off, through `steps`
/// steps of a random walk of `step` a step (times 0..3 ms apart) and
/// compares them after every step; returns (quiet steps, liquidated).
fn compare(book: &Prepared, steps: usize, step: f64, seed: u64) -> (u64, u32) {
    let mut quiet = book.engine(0).expect("the engine builds");
    let mut full = book.engine(0).expect("the engine builds");
    quiet.set_record_events(false);
    full.set_record_events(false);
    full.set_quiet_steps(false);
    let n = quiet.markets().len();
    let mut prices: Vec<f64> = (0..n).map(|m| quiet.mark_price(m as u16)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ts = 1_760_054_400_000_000_000_i64;
    for t in 0..steps {
        ts += rng.random_range(0..3_000_000_i64);
        // Calm stretches and bursts: quiet runs, then crossings.
        let scale = if (t / 2_000) % 3 == 2 { 20.0 } else { 1.0 };
        for p in &mut prices {
            *p *= 1.0 + scale * rng.random_range(-step..step);
            *p = (*p * 10.0).round() / 10.0;
        }
        for engine in [&mut quiet, &mut full] {
            engine.set_time(ts);
            engine.step(&prices).expect("the step runs");
        }
        same(&quiet, &full, t);
    }
    assert_eq!(full.quiet_steps(), 0, "quiet steps off: none run");
    assert_eq!(
        quiet.accounts(),
        full.accounts(),
        "the accounts after the walk"
    );
    (quiet.quiet_steps(), quiet.accounts_liquidated())
}

/// The two engines' observable state after step `t`.
fn same(a: &Engine, b: &Engine, t: usize) {
    assert_eq!(a.steps_run(), b.steps_run(), "step {t}: steps");
    assert_eq!(a.marks(), b.marks(), "step {t}: marks");
    assert_eq!(a.market_flows(), b.market_flows(), "step {t}: flows");
    assert_eq!(a.venue_flows(), b.venue_flows(), "step {t}: venue flows");
    assert_eq!(a.totals(), b.totals(), "step {t}: totals");
    assert_eq!(a.events(), b.events(), "step {t}: events");
    assert_eq!(a.insurance_fund(), b.insurance_fund(), "step {t}: fund");
    assert_eq!(
        a.accounts_liquidated(),
        b.accounts_liquidated(),
        "step {t}: liquidated"
    );
    assert_eq!(
        a.liquidations_paused(),
        b.liquidations_paused(),
        "step {t}: paused"
    );
}

#[test]
fn quiet_steps_are_full_steps_one_market() {
    let book = Prepared::new(scenario(3_000, 1, 0, 0), Path::new(".")).expect("the book");
    let (quiet, liquidated) = compare(&book, 30_000, 0.0002, 1);
    assert!(quiet > 10_000, "most steps quiet: {quiet}");
    assert!(liquidated > 100, "the walk liquidates: {liquidated}");
}

#[test]
fn quiet_steps_are_full_steps_with_funding_and_latency() {
    let book = Prepared::new(scenario(2_000, 1, 700, 3), Path::new(".")).expect("the book");
    let (quiet, liquidated) = compare(&book, 20_000, 0.0002, 2);
    assert!(quiet > 5_000, "most steps quiet: {quiet}");
    assert!(liquidated > 50, "the walk liquidates: {liquidated}");
}

#[test]
fn quiet_steps_are_full_steps_three_markets() {
    let book = Prepared::new(scenario(2_000, 3, 500, 1), Path::new(".")).expect("the book");
    let (quiet, liquidated) = compare(&book, 20_000, 0.0002, 3);
    assert!(quiet > 2_000, "quiet steps run: {quiet}");
    assert!(liquidated > 50, "the walk liquidates: {liquidated}");
}
