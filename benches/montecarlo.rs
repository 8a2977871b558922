//! Monte Carlo throughput: `scenarios/mc-garch-baseline.toml` (GARCH(1,1)-t,
//! 10,000 accounts, to-target partial liquidations with latency and square-root
//! impact, ADL) run for 1,000 paths × 1,440 one-minute steps, on a rayon pool of
//! 1 and of 2 threads. Throughput is reported in paths; path-steps per second are
//! paths per second × 1,440.
//!
//! The sweep row (`sweep_36_sets_100_paths`) runs `benches/sweep-36.toml`, the
//! same scenario over 6 fund sizes x 6 liquidation fees, 100 paths each (3,600
//! (set, path) items), as `backstop sweep` computes them: every set prepared,
//! then the chunks of paths in parallel, each path's metrics kept (the files
//! and the report are outside the timing).
//!
//! `cargo bench --bench montecarlo` (minutes; not run in CI).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use backstop_sim::run::sweep::{Chunk, chunks};
use backstop_sim::{PathMetrics, Prepared, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

const PATHS: u32 = 1_000;

fn prepared() -> Prepared {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mc-garch-baseline.toml");
    let scenario = Scenario::load(&file).expect("the example scenario loads");
    let mut p = Prepared::new(scenario, file.parent().expect("a folder")).expect("it prepares");
    p.set_paths(PATHS).expect("paths");
    p
}

fn bench_paths(c: &mut Criterion) {
    let p = prepared();
    let mut g = c.benchmark_group("montecarlo_garch_1000_paths_1440_steps_10000_accounts");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.throughput(Throughput::Elements(u64::from(PATHS)));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| black_box(pool.install(|| p.run(&|_| {})).expect("runs")));
        });
    }
    g.finish();
}

/// Every set of `benches/sweep-36.toml` prepared, and its work in chunks.
fn sweep_sets() -> (Vec<Prepared>, Vec<Chunk>) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sweep-36.toml");
    let base = Scenario::load(&file).expect("the sweep scenario loads");
    let config = base.sweep.clone().expect("a [sweep]");
    let grid = backstop_sim::config::grid::SweepGrid::new(&base, &config).expect("a grid");
    assert_eq!(grid.sets, 36, "6 x 6 sets, the current values among them");
    let dir = file.parent().expect("a folder");
    let sets = (0..grid.sets)
        .map(|set| {
            let s = grid.apply(&base, set).expect("the set applies");
            let mut p = Prepared::new(s, dir).expect("it prepares");
            p.set_paths(base.paths).expect("paths");
            p
        })
        .collect();
    let paths = u64::from(base.paths);
    let work = chunks(paths, 0, u64::from(grid.sets) * paths);
    (sets, work)
}

fn bench_sweep(c: &mut Criterion) {
    let (sets, work) = sweep_sets();
    let items: u64 = work.iter().map(Chunk::len).sum();
    let mut g = c.benchmark_group("sweep_36_sets_100_paths");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.throughput(Throughput::Elements(items));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| {
                let metrics: Vec<Vec<PathMetrics>> = pool.install(|| {
                    work.par_iter()
                        .map(|c| {
                            (c.from..c.to)
                                .into_par_iter()
                                .map(|i| sets[c.set as usize].run_metrics(i))
                                .collect::<Result<_, _>>()
                                .expect("runs")
                        })
                        .collect()
                });
                black_box(metrics)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench_paths, bench_sweep);
criterion_main!(benches);
