//! The rows of issue 14's table ("Scale"), one criterion row each, so that
//! `docs/performance.md`'s before/after table can be reproduced by
//! `cargo bench --bench scale` (tens of minutes on 2 cores; compiled by clippy
//! in CI, never run there). A filter picks rows: `cargo bench --bench scale --
//! long_path`.
//!
//! | issue row | criterion row |
//! |---|---|
//! | `mc-garch-baseline`, 1 thread | `montecarlo_garch_1000_paths_1440_steps_10000_accounts/1_threads` (`benches/montecarlo.rs`) |
//! | linear crash into ADL, 25,000 / 50,000 / 100,000 / 1,000,000 accounts | `scale_adl_crash/adl/{25000,50000,100000,1000000}_accounts` |
//! | 1,000,000 accounts, no ADL, one path | `scale_adl_crash/no_adl/1000000_accounts` |
//! | the ADL crash under the dYdX walk, 1,000,000 accounts, with and without ADL | `scale_adl_dydx/{adl,no_adl}/1000000_accounts` |
//! | the ADL crash under `pro_rata`, 1,000,000 accounts, with and without ADL | `scale_adl_pro_rata/{adl,no_adl}/1000000_accounts` |
//! | the ADL crash under `min_max_leverage`, 1,000,000 accounts, with and without ADL | `scale_adl_min_max/{adl,no_adl}/1000000_accounts` |
//! | one path of 1,000,000 steps | `scale_long_path/1000000_steps` |
//!
//! The 10,000- and 100,000-account ADL rows with and without ADL are
//! `adl_crash/{adl,no_adl}/{10000,100000}_accounts` of `benches/engine.rs`.
//! Population generation is never timed; each ADL row times one
//! `Prepared::run_path(0)` (engine built, every step run, path 0's series and
//! the metrics recorded), not the writing of the results nor the report. The
//! long path times `Prepared::run_into` as `backstop run` does it: one
//! simulation of the path streaming its steps and bands to Parquet row group
//! by row group (so the writing of those two files is in the timing, and the
//! memory stays flat), not the other files nor the report.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use backstop_sim::{Prepared, Scenario};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Accounts of the ADL crash rows.
const ADL_SIZES: [u32; 4] = [25_000, 50_000, 100_000, 1_000_000];

/// Steps of the long path.
const LONG_STEPS: u32 = 1_000_000;

/// `benches/adl-crash.toml` with `accounts` accounts, an insurance fund of
/// `fund` USD and the ADL ranking `ranking`.
fn adl_crash(accounts: u32, fund: &str, ranking: &str) -> Prepared {
    adl_crash_with(accounts, fund, "queue", ranking)
}

/// [`adl_crash`] with the ADL policy `adl` (`"queue"`, `"pro_rata"`, ...).
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
    let mut g = c.benchmark_group("scale_adl_crash");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for n in ADL_SIZES {
        let mut cases = vec![("adl", "1.0")];
        if n == 1_000_000 {
            // 1e12 USD is above the engine's range (refused by validation).
            cases.push(("no_adl", "1e11"));
        }
        for (name, fund) in cases {
            // Built on first use: a filtered-out row builds no population.
            let p = std::cell::OnceCell::new();
            g.bench_function(BenchmarkId::new(name, format!("{n}_accounts")), |b| {
                let p = p.get_or_init(|| adl_crash(n, fund, "binance"));
                b.iter(|| black_box(p.run_path(black_box(0)).expect("runs")));
            });
        }
    }
    g.finish();
}

/// The 1,000,000-account crash under one ADL policy (`adl`, `ranking`), with
/// and without ADL, as the criterion group `group`.
fn bench_adl_policy(c: &mut Criterion, group: &str, adl: &str, ranking: &str) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, fund) in [("adl", "1.0"), ("no_adl", "1e11")] {
        // Built on first use: a filtered-out row builds no population.
        let p = std::cell::OnceCell::new();
        g.bench_function(BenchmarkId::new(name, "1000000_accounts"), |b| {
            let p = p.get_or_init(|| adl_crash_with(1_000_000, fund, adl, ranking));
            b.iter(|| black_box(p.run_path(black_box(0)).expect("runs")));
        });
    }
    g.finish();
}

/// The 1,000,000-account crash under the dYdX walk, with and without ADL.
fn bench_adl_dydx(c: &mut Criterion) {
    bench_adl_policy(c, "scale_adl_dydx", "queue", "dydx");
}

/// The 1,000,000-account crash under `pro_rata`, with and without ADL.
fn bench_adl_pro_rata(c: &mut Criterion) {
    bench_adl_policy(c, "scale_adl_pro_rata", "pro_rata", "binance");
}

/// The 1,000,000-account crash under `min_max_leverage`, with and without ADL.
fn bench_adl_min_max(c: &mut Criterion) {
    bench_adl_policy(c, "scale_adl_min_max", "min_max_leverage", "binance");
}

/// `scenarios/linear-crash.toml` (10,000 accounts, −35% over two hours) run
/// for [`LONG_STEPS`] one-minute steps.
fn long_path() -> Prepared {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/linear-crash.toml");
    let toml = std::fs::read_to_string(&file)
        .expect("the example scenario reads")
        .replace("steps = 1440", &format!("steps = {LONG_STEPS}"));
    let s = Scenario::from_toml_str(&toml, &file).expect("parses");
    Prepared::new(s, file.parent().expect("a folder")).expect("it prepares")
}

fn bench_long_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_long_path");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    let p = std::cell::OnceCell::new();
    let dir = tempfile::tempdir().expect("a temporary folder");
    g.bench_function(format!("{LONG_STEPS}_steps"), |b| {
        let p = p.get_or_init(long_path);
        b.iter(|| black_box(p.run_into(dir.path(), &|_| {}).expect("runs")));
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_adl_crash,
    bench_adl_dydx,
    bench_adl_pro_rata,
    bench_adl_min_max,
    bench_long_path
);
criterion_main!(benches);
