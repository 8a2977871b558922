//! Engine benchmarks: whole paths, quiet steps, the crash window, funding and
//! engine construction, on the shape of `scenarios/linear-crash.toml` (one BTC
//! perpetual, flat for 60 one-minute steps, −35% over 120, then flat to 1,440;
//! `to_target` liquidation with latency 1, square-root impact with a permanent
//! share, funding every 480 steps, ADL queue as the last line).
//!
//! Population generation is never timed: every bench prepares its scenario first.
//!
//! - `prepare/{n}_accounts`: `Prepared::new` (scenario → generated population).
//! - `engine_build/{n}_accounts`: `Prepared::engine` (venue + full index build).
//! - `one_path/1440_steps/{n}_accounts`: `Prepared::run_path(0)`, which builds the
//!   engine, steps 1,440 times and records the per-step table.
//! - `quiet_step/{n}_accounts`: one step at a constant price once the start-up
//!   liquidations have settled. The scenario has funding off (`interval_steps = 0`)
//!   so that every measured step is quiet for as long as criterion runs: with
//!   funding on, each settlement is O(accounts) and changes the state, and the
//!   untimed funding steps would dominate the run. A quiet step must cost the same
//!   at 100,000 accounts as at 10,000.
//! - `crash_window/120_steps/{n}_accounts`: steps 60..180 (the shock) from an
//!   engine already at step 60.
//! - `funding_step/{n}_accounts`: step 480 (funding due: O(n) settlement and a
//!   full reindex) from an engine already at step 480, flat price.
//! - `adl_crash/{adl,no_adl}/{n}_accounts`: one path of `benches/adl-crash.toml`
//!   (−30% over 60 steps, 240 steps, Binance-ranked ADL) with its 1 USD fund (ADL
//!   fires) and with a 1e11 USD fund (it never does; 1e12 is above the
//!   engine's range and refused), at 10,000 and 100,000 accounts. The
//!   1,000,000-account row is a manual run:
//!   `SIZES=1000000 scripts/adl-scale.sh target/release/backstop`
//!   (docs/performance.md).
//! - `adl_dydx/{adl,no_adl}/{n}_accounts`: the same crash with the dYdX walk
//!   (`ranking = "dydx"`), same funds and sizes
//!   (`POLICY=dydx scripts/adl-scale.sh` for 1,000,000 accounts).
//! - `adl_pro_rata/{adl,no_adl}/{n}_accounts`: the same crash with `pro_rata`
//!   ADL (`adl = "pro_rata"`), same funds and sizes
//!   (`POLICY=pro_rata scripts/adl-scale.sh` for 1,000,000 accounts).
//! - `adl_min_max/{adl,no_adl}/{n}_accounts`: the same crash with
//!   `min_max_leverage` (`adl = "min_max_leverage"`), same funds and sizes
//!   (`POLICY=min_max_leverage scripts/adl-scale.sh` for 1,000,000 accounts).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use backstop_sim::{Engine, Prepared, Scenario};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [u32; 2] = [10_000, 100_000];
const STEPS: u32 = 1440;
const SHOCK_START: u32 = 60;
const SHOCK_STEPS: u32 = 120;
const FUNDING_INTERVAL: u32 = 480;

/// The linear-crash scenario with `accounts` accounts and the given funding
/// interval (0 = no funding).
fn scenario_toml(accounts: u32, funding_interval: u32) -> String {
    format!(
        r#"
name = "bench-linear-crash"
seed = 42
step_seconds = 60
start = "2025-10-10T20:00:00Z"

[market.btc]
price = 121000.0
tick_size = 0.1
lot_size = 0.001
tiers = [
  {{ notional_floor = 0, imr = 0.008, mmr = 0.004 }},
  {{ notional_floor = 50000, imr = 0.01, mmr = 0.005 }},
  {{ notional_floor = 250000, imr = 0.02, mmr = 0.01 }},
  {{ notional_floor = 1000000, imr = 0.05, mmr = 0.025 }},
  {{ notional_floor = 10000000, imr = 0.1, mmr = 0.05 }},
]
funding = {{ rate = 0.0001, interval_steps = {funding_interval} }}
impact = {{ model = "square_root", coefficient = 1.0, volatility = 0.02, volume_usd = 300000000.0, permanent_fraction = 0.3, half_life_steps = 5.0 }}

[path]
kind = "linear"
steps = {STEPS}
shock_start_step = {SHOCK_START}
shock_steps = {SHOCK_STEPS}
shock = -0.35

[population]
kind = "generated"
accounts = {accounts}
notional = {{ distribution = "pareto", scale = 2000.0, shape = 1.3 }}
max_notional = 20000000.0
leverage = {{ distribution = "lognormal", median = 8.0, sigma = 0.7 }}
long_fraction = 0.6
entry_dispersion = 0.03
isolated_fraction = 0.2

[liquidation]
mode = "to_target"
fee = 0.005
insurance_fund_share = 1.0
latency_steps = 1
target_buffer = 0.1

[insurance_fund]
initial = 2000000.0

[last_line]
kind = "adl"
adl = "queue"
ranking = "binance"
scope = "position"
"#
    )
}

fn scenario(accounts: u32, funding_interval: u32) -> Scenario {
    Scenario::from_toml_str(
        &scenario_toml(accounts, funding_interval),
        Path::new("bench.toml"),
    )
    .expect("the bench scenario parses")
}

fn prepared(accounts: u32, funding_interval: u32) -> Prepared {
    Prepared::new(scenario(accounts, funding_interval), Path::new("."))
        .expect("the bench population builds")
}

fn label(n: u32) -> String {
    format!("{n}_accounts")
}

/// A fresh engine stepped through the path's first `steps` steps (untimed setup).
fn engine_at(p: &Prepared, steps: u32) -> (Engine, Vec<Vec<f64>>) {
    use backstop_sim::paths::{PathCursor as _, PathScratch, StepInput};
    let mut engine = p.engine(0).expect("the engine builds");
    let mut scratch = PathScratch::default();
    let mut cursor = p
        .plan()
        .cursor(0, 0, 60, &mut scratch)
        .expect("the path opens");
    let mut input = StepInput::new(engine.markets().len());
    let mut prices = Vec::new();
    while cursor.advance(&mut input).expect("the path advances") {
        prices.push(input.prices.clone());
    }
    for row in &prices[..steps as usize] {
        engine.step(row).expect("the step runs");
    }
    (engine, prices)
}

fn bench_prepare(c: &mut Criterion) {
    let mut g = c.benchmark_group("prepare");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let s = scenario(n, FUNDING_INTERVAL);
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(label(n), |b| {
            b.iter_batched(
                || s.clone(),
                |s| Prepared::new(s, Path::new(".")).expect("builds"),
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

fn bench_engine_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_build");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let p = prepared(n, FUNDING_INTERVAL);
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(label(n), |b| {
            b.iter(|| black_box(p.engine(0).expect("builds")));
        });
    }
    g.finish();
}

fn bench_one_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_path");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let p = prepared(n, FUNDING_INTERVAL);
        let out = p.run_path(0).expect("runs");
        let m = &out.metrics;
        eprintln!(
            "one_path {n} accounts: {} steps, {} liquidations, bad debt {:.0} USD, \
             {} ADL events, fund min {:.0} USD",
            m.steps, m.liquidation_orders, m.bad_debt, m.adl_closes, m.insurance_fund_min
        );
        g.throughput(Throughput::Elements(u64::from(STEPS)));
        g.bench_with_input(
            BenchmarkId::new(format!("{STEPS}_steps"), label(n)),
            &p,
            |b, p| b.iter(|| black_box(p.run_path(black_box(0)).expect("runs"))),
        );
    }
    g.finish();
}

/// Steps until the start-up liquidations (accounts generated beyond their
/// maintenance by the entry dispersion) and their impact have settled.
const QUIET_WARMUP: u32 = 2000;

fn bench_quiet_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("quiet_step");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let p = prepared(n, 0);
        let (mut engine, prices) = engine_at(&p, 1);
        let flat = prices[0].clone();
        for _ in 1..QUIET_WARMUP {
            engine.step(&flat).expect("the step runs");
        }
        let liquidations = engine.totals().liquidations;
        let marks = engine.marks().to_vec();
        let pending = (0..n).filter(|&a| engine.is_pending(a)).count();
        assert_eq!(pending, 0, "no liquidation in flight after the warm-up");
        g.bench_function(label(n), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    engine.step(black_box(&flat)).expect("the step runs");
                }
                start.elapsed()
            });
        });
        assert_eq!(
            engine.totals().liquidations,
            liquidations,
            "every measured step was quiet"
        );
        assert_eq!(engine.marks(), &marks[..], "the mark stayed flat");
        eprintln!(
            "quiet_step {n} accounts: {liquidations} start-up liquidations before the \
             measured steps, {} steps run",
            engine.steps_run()
        );
    }
    g.finish();
}

fn bench_crash_window(c: &mut Criterion) {
    let mut g = c.benchmark_group("crash_window");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let p = prepared(n, FUNDING_INTERVAL);
        g.throughput(Throughput::Elements(u64::from(SHOCK_STEPS)));
        g.bench_function(
            BenchmarkId::new(format!("{SHOCK_STEPS}_steps"), label(n)),
            |b| {
                b.iter_batched(
                    || engine_at(&p, SHOCK_START),
                    |(mut engine, prices)| {
                        let window = SHOCK_START as usize..(SHOCK_START + SHOCK_STEPS) as usize;
                        for row in &prices[window] {
                            engine.step(row).expect("the step runs");
                        }
                        (engine, prices)
                    },
                    BatchSize::PerIteration,
                );
            },
        );
    }
    g.finish();
}

fn bench_funding_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("funding_step");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for n in SIZES {
        // Flat at the start price, so the step measured is funding and nothing else
        // (the start-up liquidations are long over by step 480).
        let p = prepared(n, FUNDING_INTERVAL);
        let setup = || {
            let (mut engine, prices) = engine_at(&p, 1);
            let flat = prices[0].clone();
            for _ in 1..FUNDING_INTERVAL {
                engine.step(&flat).expect("the step runs");
            }
            (engine, flat)
        };
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_function(label(n), |b| {
            b.iter_batched(
                setup,
                |(mut engine, flat)| {
                    engine.step(&flat).expect("the step runs");
                    debug_assert!(engine.market_flows()[0].funding_rate.is_some());
                    (engine, flat)
                },
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

/// `benches/adl-crash.toml` with `accounts` accounts, an insurance fund of
/// `fund` USD, the ADL policy `adl` (`"queue"`, `"pro_rata"`, ...) and the
/// ranking `ranking` (`"binance"`, `"dydx"`, ...).
fn adl_crash_with(accounts: u32, fund: &str, adl: &str, ranking: &str) -> Prepared {
    let toml = include_str!("adl-crash.toml")
        .replace("accounts = 100000", &format!("accounts = {accounts}"))
        .replace("initial = 1.0", &format!("initial = {fund}"))
        .replace("adl = \"queue\"", &format!("adl = \"{adl}\""))
        .replace("ranking = \"binance\"", &format!("ranking = \"{ranking}\""));
    let s = Scenario::from_toml_str(&toml, Path::new("adl-crash.toml")).expect("parses");
    Prepared::new(s, Path::new(".")).expect("the bench population builds")
}

fn bench_adl_crash(c: &mut Criterion) {
    bench_adl_policy(c, "adl_crash", "binance");
}

fn bench_adl_dydx(c: &mut Criterion) {
    bench_adl_policy(c, "adl_dydx", "dydx");
}

fn bench_adl_pro_rata(c: &mut Criterion) {
    bench_adl_policy_with(c, "adl_pro_rata", "pro_rata", "binance");
}

/// The crash with and without ADL under `ranking`, as group `group`.
fn bench_adl_policy(c: &mut Criterion, group: &str, ranking: &str) {
    bench_adl_policy_with(c, group, "queue", ranking);
}

/// The crash with and without ADL under policy `adl` and `ranking`, as group
/// `group`.
fn bench_adl_policy_with(c: &mut Criterion, group: &str, adl: &str, ranking: &str) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        for (name, fund) in [("adl", "1.0"), ("no_adl", "1e11")] {
            let p = adl_crash_with(n, fund, adl, ranking);
            let m = p.run_path(0).expect("runs").metrics;
            eprintln!(
                "{group} {name} {n} accounts: {} liquidation orders, {} ADL closes",
                m.liquidation_orders, m.adl_closes
            );
            assert_eq!(
                m.adl_closes > 0,
                name == "adl",
                "ADL fires only with the small fund"
            );
            g.bench_with_input(BenchmarkId::new(name, label(n)), &p, |b, p| {
                b.iter(|| black_box(p.run_path(black_box(0)).expect("runs")))
            });
        }
    }
    g.finish();
}

/// The crash with and without ADL under `min_max_leverage`.
fn bench_adl_min_max(c: &mut Criterion) {
    bench_adl_policy_with(c, "adl_min_max", "min_max_leverage", "binance");
}

criterion_group!(
    benches,
    bench_prepare,
    bench_engine_build,
    bench_one_path,
    bench_quiet_step,
    bench_crash_window,
    bench_funding_step,
    bench_adl_crash,
    bench_adl_dydx,
    bench_adl_pro_rata,
    bench_adl_min_max
);
criterion_main!(benches);
