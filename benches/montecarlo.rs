//! Monte Carlo throughput: `scenarios/mc-garch-baseline.toml` (GARCH(1,1)-t,
//! 10,000 accounts, to-target partial liquidations with latency and square-root
//! impact, ADL) run for 1,000 paths × 1,440 one-minute steps, on a rayon pool of
//! 1 and of 2 threads. Throughput is reported in paths; path-steps per second are
//! paths per second × 1,440.
//!
//! `cargo bench --bench montecarlo` (minutes; not run in CI).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use backstop_sim::{Prepared, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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

criterion_group!(benches, bench_paths);
criterion_main!(benches);
