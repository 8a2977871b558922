//! Replay throughput against plain decoding, on a generated trades file.
//!
//! A `trades/v1` file of [`TRADES`] (10,000,000) trades is generated once, in a
//! temporary folder, from a fixed seed (`ChaCha8Rng`), through the data crate's
//! writer ([`write_trades`], row groups of 65,536 rows). Then:
//!
//! - `replay/trades_10m`: every event through [`Replay`] (one source, the
//!   whole file): projection of `ts, price, size, side`, per-row null, value
//!   and time-order checks, the merge heap.
//! - `decode/trades_10m`: the same four columns with a plain arrow-rs
//!   `ParquetRecordBatchReader` (same batch size, 4,096 rows), touching every
//!   value once: the floor any reader of this file pays.
//!
//! - `replay_engine/trades_10m_100k_accounts`: every event through [`Replay`]
//!   and, tick by tick, through the engine: each trade is one
//!   [`Engine::step`](backstop_sim::Engine::step) at its price (rounded to the
//!   market's 0.1 USD tick) and time, on a generated book of
//!   [`ENGINE_ACCOUNTS`] (100,000) accounts (Binance-like tiers, `to_target`
//!   liquidation, ADL queue; built outside the timing, funding off).
//!
//! - `replay_read_ahead/trades_10m` and
//!   `replay_engine/read_ahead/trades_10m_100k_accounts`: the same two with
//!   the file decoded on a reader thread ([`Replay::open_read_ahead`]), the
//!   merge and the engine on the bench's thread. Their wall time needs a
//!   second core free; the one-shot mode also prints the process's CPU time.
//!
//! - `replay_engine/runs/read_ahead/trades_10m_100k_accounts`: the same
//!   steps with the trades handed out a run at a time
//!   ([`Replay::next_run`]: slices of the decoded and checked columns,
//!   [`TradeSlice`](backstop_data::TradeSlice)) instead of a [`ReplayEvent`]
//!   each.
//!
//! Every `Engine::step` runs as a quiet step when it only moves the mark
//! (`engine/quiet.rs`); the one-shot mode also times the engine alone with
//! quiet steps off and counts the quiet steps.
//!
//! Criterion reports each as elements (events) per second; a summary line
//! after them gives the median of a few timed runs of each and their ratio.
//!
//! # One-shot mode
//!
//! `BACKSTOP_REPLAY_ONCE=<trades> cargo bench --bench replay` skips criterion
//! (ten 10M-event engine replays take minutes on a shared 2-core machine): it
//! generates a file of that many trades, then times decode and replay (median
//! of three), the engine alone (the same prices, on the tick grid, from
//! memory: the engine's share) and one replay through the engine, and prints
//! the rates by wall time and by the thread's CPU time
//! (`/proc/thread-self/schedstat`: on a loaded machine the wall time counts
//! other processes' time slices). Then the same rows for a quiet walk
//! (±0.0005 % a trade, about 0.9 % over 10M trades, no liquidation): the
//! bench's walk (±0.05 % a trade) liquidates 90% of the accounts, the quiet
//! one shows the per-step constant alone.
//!
//! # Profile mode
//!
//! `BACKSTOP_REPLAY_PROFILE=<row> BACKSTOP_REPLAY_DIR=<folder>` runs one row
//! (`setup`, `decode`, `replay`, `replay-ahead`, `engine`, `engine-ahead`,
//! `runs`, `runs-ahead`) once on a file kept in the folder (written there on
//! first use; `BACKSTOP_REPLAY_WALK=quiet` for the quiet walk,
//! `BACKSTOP_REPLAY_TRADES=<n>` for another length) and prints its wall
//! time, this thread's CPU time and the process's: with a reader thread, the
//! difference is the reader's. For profilers: `valgrind --tool=callgrind
//! --separate-threads=yes` counts each thread's instructions (`setup` is the
//! part every row shares: the book built, no replay).
//!
//! # Peak memory mode
//!
//! `BACKSTOP_REPLAY_RSS=<trades> cargo bench --bench replay` skips criterion:
//! it generates a file of that many trades, then runs this same binary again
//! as a child that only replays the file and prints its peak resident set
//! (`VmHWM` from `/proc/self/status`, Linux), so that generation's memory is
//! not counted. Peak RSS must not grow with the length of the file.
//!
//! # Recorded (2 shared cores, `cargo bench --bench replay`, release)
//!
//! | | 10 M trades (305 MiB file) |
//! |---|---|
//! | `replay/trades_10m` | 387 ms, 25.8 M events/s |
//! | `decode/trades_10m` | 259 ms, 38.5 M rows/s |
//! | summary (median of 5) | replay 24.6 M/s, decode 39.3 M/s, ratio 1.59 |
//!
//! Before the cursor fill/fast path, the in-place heap replacement and
//! `#[inline]` on the replay's per-event methods: replay 1.0 s (10 M/s),
//! ratio 4.6. Peak RSS of a replay-only child (`BACKSTOP_REPLAY_RSS`):
//! 1 M trades 9.7 MiB, 10 M 10.3 MiB, 20 M 10.5 MiB.

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, TimestampNanosecondType};
use backstop_data::history::{TradeRow, write_trades};
use backstop_data::{
    Contract, HistoryMetadata, Replay, ReplayEvent, ReplayRun, Side, TimeWindow, WriteOptions,
};
use backstop_sim::{Engine, Prepared, Scenario};
use criterion::{BatchSize, Criterion, Throughput};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Trades in the timed file.
const TRADES: usize = 10_000_000;
/// The generator's seed.
const SEED: u64 = 0x5EED_0010_2025;
/// Rows per decoded batch, as in the replay's reader.
const BATCH_ROWS: usize = 4096;
/// Child mode: replay this file and print peak RSS.
const RSS_FILE_ENV: &str = "BACKSTOP_REPLAY_RSS_FILE";
/// Parent mode: generate this many trades and measure a child's replay.
const RSS_ENV: &str = "BACKSTOP_REPLAY_RSS";
/// One-shot mode: generate this many trades and time decode, replay and the
/// replay through the engine once each.
const ONCE_ENV: &str = "BACKSTOP_REPLAY_ONCE";
/// Accounts of the engine the replay drives.
const ENGINE_ACCOUNTS: u32 = 100_000;
/// The market's tick, USD.
const TICK: f64 = 0.1;

/// The engine's scenario: one BTC perpetual at the file's first price, a
/// generated book of `accounts` accounts (the path section only sets the
/// start; the replay sets every price).
fn engine_scenario(accounts: u32) -> Scenario {
    let toml = format!(
        r#"
name = "bench-replay-engine"
seed = 7
step_seconds = 1
start = "2025-10-10T00:00:00Z"

[market.btc]
price = 121000.0
tick_size = {TICK}
lot_size = 0.001
tiers = [
  {{ notional_floor = 0, imr = 0.008, mmr = 0.004 }},
  {{ notional_floor = 50000, imr = 0.01, mmr = 0.005 }},
  {{ notional_floor = 250000, imr = 0.02, mmr = 0.01 }},
  {{ notional_floor = 1000000, imr = 0.05, mmr = 0.025 }},
  {{ notional_floor = 10000000, imr = 0.1, mmr = 0.05 }},
]
funding = {{ rate = 0.0001, interval_steps = 0 }}

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
max_notional = 20000000.0
leverage = {{ distribution = "lognormal", median = 5.0, sigma = 0.5 }}
long_fraction = 0.6
entry_dispersion = 0.01
isolated_fraction = 0.2

[liquidation]
mode = "to_target"
fee = 0.005
insurance_fund_share = 1.0
target_buffer = 0.1

[insurance_fund]
initial = 2000000.0

[last_line]
kind = "adl"
adl = "queue"
ranking = "binance"
scope = "position"
"#
    );
    Scenario::from_toml_str(&toml, Path::new("bench-replay-engine.toml"))
        .expect("the bench scenario parses")
}

/// The prepared book (population generated once, outside every timing).
fn engine_book(accounts: u32) -> Prepared {
    Prepared::new(engine_scenario(accounts), Path::new(".")).expect("the bench book builds")
}

/// A fresh engine of `book`, recording no events.
fn fresh_engine(book: &Prepared) -> Engine {
    let mut engine = book.engine(0).expect("the engine builds");
    engine.set_record_events(false);
    engine
}

/// How the replay decodes: on the caller's thread, or on a reader thread
/// ([`Replay::open_read_ahead`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Decode on the engine's (the caller's) thread.
    Inline,
    /// Decode on a reader thread per file, the merge on the caller's.
    ReadAhead,
}

/// Opens `path` for a replay read as `reading` says.
fn open_replay(path: &Path, reading: Reading) -> Replay {
    match reading {
        Reading::Inline => Replay::open(&[path], TimeWindow::ALL),
        Reading::ReadAhead => Replay::open_read_ahead(&[path], TimeWindow::ALL),
    }
    .expect("open replay")
}

/// `x` rounded half away from zero, as [`f64::round`] (the same number,
/// though `-0.0` comes out `+0.0`), without its libm call (the baseline
/// x86-64 target has no SSE4.1 `roundsd`) and without a branch on the
/// fraction: the integer part by a cast (exact below 2^52), the fraction
/// `x - trunc(x)` exact, the carry added as 0 or 1.
#[inline]
fn round_half_away(x: f64) -> f64 {
    // 2^52: from there on every f64 is an integer.
    if x.is_nan() || x.abs() >= 4_503_599_627_370_496.0 {
        return x;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let whole = x as i64 as f64;
    let fraction = x - whole;
    whole + f64::from(u8::from(fraction >= 0.5)) - f64::from(u8::from(fraction <= -0.5))
}

/// A trade's price on the market's tick grid.
#[inline]
fn on_tick(price: f64) -> f64 {
    round_half_away(price / TICK) * TICK
}

/// Every event through [`Replay`] (read as `reading` says) and each trade,
/// tick by tick, through `engine` (one step at the trade's price and time);
/// returns (events, the insurance fund's balance after the last step, USD).
fn replay_engine(path: &Path, engine: &mut Engine, reading: Reading) -> (usize, f64) {
    let replay = open_replay(path, reading);
    let mut events = 0;
    for event in replay {
        if let ReplayEvent::Trade { ts_ns, price, .. } = event.expect("replay event") {
            step_trade(engine, ts_ns, price);
        }
        events += 1;
    }
    let fund = engine.insurance_fund().balance().to_usd();
    (events, fund)
}

/// [`replay_engine`] with the replay handed out a run at a time
/// ([`Replay::next_run`]: the trades of one source between merge
/// boundaries as a slice of the decoded rows; with one source the rest of
/// each batch) instead of a [`ReplayEvent`] per trade. The same events in
/// the same order, the same steps: only the per-event hand-out differs.
fn replay_engine_runs(path: &Path, engine: &mut Engine, reading: Reading) -> (usize, f64) {
    let mut replay = open_replay(path, reading);
    let mut events = 0;
    while let Some(run) = replay.next_run() {
        match run.expect("replay run") {
            ReplayRun::Trades { trades, .. } => {
                for (&ts_ns, &price) in trades.ts_ns().iter().zip(trades.prices()) {
                    step_trade(engine, ts_ns, price);
                }
                events += trades.len();
            }
            ReplayRun::Event { event, .. } => {
                if let ReplayEvent::Trade { ts_ns, price, .. } = event {
                    step_trade(engine, ts_ns, price);
                }
                events += 1;
            }
        }
    }
    let fund = engine.insurance_fund().balance().to_usd();
    (events, fund)
}

/// One trade through the engine: its price to the tick, the clock, a step.
#[inline]
fn step_trade(engine: &mut Engine, ts_ns: i64, price: f64) {
    engine.set_time(ts_ns);
    engine.step(&[on_tick(price)]).expect("the step runs");
}

/// The bench's walk: each trade moves the price by up to ±0.05 %.
const WALK_STEP: f64 = 0.0005;
/// The quiet walk (one-shot mode only, a second row): ±0.0005 % a trade,
/// about 0.9 % over 10M trades, a calm day of BTC trades.
const QUIET_STEP: f64 = 0.000_005;

/// `n` trades of a random walk from 2025-10-10 00:00 UTC: inter-arrival
/// 0..200 µs (often 0: several fills of one order), price ×(1 ± `step`) per
/// trade, size log-uniform in [0.001, 10), sides at random.
fn generate(n: usize, step: f64) -> Vec<TradeRow> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut ts_ns = 1_760_054_400_000_000_000_i64;
    let mut price = 121_000.0_f64;
    (0..n)
        .map(|i| {
            if rng.random_bool(0.7) {
                ts_ns += rng.random_range(0..200_000_i64);
            }
            price *= 1.0 + rng.random_range(-step..step);
            let size = 10f64.powf(rng.random_range(-3.0..1.0));
            let side = if rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            TradeRow {
                ts_ns,
                price,
                size,
                side,
                trade_id: i64::try_from(i).ok(),
            }
        })
        .collect()
}

/// Writes `n` generated trades of the walk `step` to `dir/trades.parquet`.
fn write_file(dir: &Path, n: usize, step: f64) -> PathBuf {
    let path = dir.join(format!("trades-{step}.parquet"));
    let rows = generate(n, step);
    let metadata = HistoryMetadata::new("BTCUSDT", "bench", "generated", Contract::Linear);
    write_trades(&path, &rows, &metadata, &WriteOptions::default()).expect("write trades");
    path
}

/// Every event through [`Replay`] (read as `reading` says); returns
/// (events, checksum).
fn replay(path: &Path, reading: Reading) -> (usize, f64) {
    let replay = open_replay(path, reading);
    let mut events = 0;
    let mut sum = 0.0;
    for event in replay {
        if let ReplayEvent::Trade { price, size, .. } = event.expect("replay event") {
            sum += price * size;
        }
        events += 1;
    }
    (events, sum)
}

/// The same four columns with a plain arrow-rs reader, touching each value.
fn decode(path: &Path) -> (usize, f64) {
    let file = File::open(path).expect("open file");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet footer");
    let mask = ProjectionMask::roots(builder.parquet_schema(), [0, 1, 2, 3]);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .expect("reader");
    let mut rows = 0;
    let mut sum = 0.0;
    for batch in reader {
        let batch = batch.expect("batch");
        let ts = batch.column(0).as_primitive::<TimestampNanosecondType>();
        let price = batch.column(1).as_primitive::<Float64Type>();
        let size = batch.column(2).as_primitive::<Float64Type>();
        let side = batch.column(3).as_primitive::<Int8Type>();
        for i in 0..batch.num_rows() {
            black_box((ts.value(i), side.value(i)));
            sum += price.value(i) * size.value(i);
        }
        rows += batch.num_rows();
    }
    (rows, sum)
}

/// Median wall time of `runs` calls of `f`.
fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Peak resident set of this process in KiB (`VmHWM`), if the OS says.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_child(path: &Path) {
    let before = peak_rss_kib();
    let start = Instant::now();
    let (events, sum) = replay(path, Reading::Inline);
    let elapsed = start.elapsed();
    let file_mib = std::fs::metadata(path).map_or(0, |m| m.len()) >> 20;
    println!(
        "replayed {events} events ({file_mib} MiB file) in {elapsed:.2?}; peak RSS {} KiB \
         (after opening, before replay: {} KiB); checksum {sum:.3e}",
        peak_rss_kib().map_or_else(|| "n/a".to_owned(), |k| k.to_string()),
        before.map_or_else(|| "n/a".to_owned(), |k| k.to_string()),
    );
}

fn rss_parent(trades: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), trades, WALK_STEP);
    let exe = std::env::current_exe().expect("current exe");
    let status = Command::new(exe)
        .env(RSS_FILE_ENV, &path)
        .env_remove(RSS_ENV)
        .status()
        .expect("run child");
    assert!(status.success(), "replay child failed: {status}");
}

fn bench(c: &mut Criterion, path: &Path) {
    let (events, replay_sum) = replay(path, Reading::Inline);
    let (rows, decode_sum) = decode(path);
    assert_eq!(events, TRADES);
    assert_eq!(rows, TRADES);
    assert!((replay_sum - decode_sum).abs() <= 1e-9 * decode_sum.abs());
    assert_eq!(replay(path, Reading::ReadAhead), (events, replay_sum));

    let mut group = c.benchmark_group("replay_vs_decode");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(TRADES as u64));
    group.bench_function("replay/trades_10m", |b| {
        b.iter(|| black_box(replay(path, Reading::Inline)));
    });
    group.bench_function("replay_read_ahead/trades_10m", |b| {
        b.iter(|| black_box(replay(path, Reading::ReadAhead)));
    });
    group.bench_function("decode/trades_10m", |b| b.iter(|| black_box(decode(path))));
    group.finish();

    let book = engine_book(ENGINE_ACCOUNTS);
    let mut group = c.benchmark_group("replay_engine");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(TRADES as u64));
    group.bench_function("trades_10m_100k_accounts", |b| {
        b.iter_batched(
            || fresh_engine(&book),
            |mut engine| black_box(replay_engine(path, &mut engine, Reading::Inline)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("read_ahead/trades_10m_100k_accounts", |b| {
        b.iter_batched(
            || fresh_engine(&book),
            |mut engine| black_box(replay_engine(path, &mut engine, Reading::ReadAhead)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("runs/read_ahead/trades_10m_100k_accounts", |b| {
        b.iter_batched(
            || fresh_engine(&book),
            |mut engine| black_box(replay_engine_runs(path, &mut engine, Reading::ReadAhead)),
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let replay_time = median_time(5, || {
        black_box(replay(path, Reading::Inline));
    });
    let decode_time = median_time(5, || {
        black_box(decode(path));
    });
    let rate = |t: Duration| TRADES as f64 / t.as_secs_f64() / 1e6;
    println!(
        "summary: replay {:.1} M events/s ({replay_time:.2?}), decode {:.1} M rows/s \
         ({decode_time:.2?}), replay/decode time ratio {:.2}",
        rate(replay_time),
        rate(decode_time),
        replay_time.as_secs_f64() / decode_time.as_secs_f64()
    );
}

/// The trades of `path` as (time, price on the tick grid), read once.
fn steps_of(path: &Path) -> Vec<(i64, f64)> {
    Replay::open(&[path], TimeWindow::ALL)
        .expect("open replay")
        .map(|event| match event.expect("replay event") {
            ReplayEvent::Trade { ts_ns, price, .. } => {
                let ticked = on_tick(price);
                assert_eq!(
                    ticked,
                    (price / TICK).round() * TICK,
                    "on_tick is f64::round's"
                );
                (ts_ns, ticked)
            }
            other => panic!("a trades file yields trades, got {other:?}"),
        })
        .collect()
}

/// The engine alone: `steps` from memory, one [`Engine::step`] each (the
/// engine's share of a replay through the engine).
fn engine_alone(steps: &[(i64, f64)], engine: &mut Engine) {
    let mut prices = [0.0];
    for &(ts_ns, price) in steps {
        prices[0] = price;
        engine.set_time(ts_ns);
        engine.step(&prices).expect("the step runs");
    }
}

/// CPU time of this thread so far (`/proc/thread-self/schedstat`, Linux;
/// zero elsewhere): on a shared machine wall time counts the other
/// processes' time slices, CPU time does not.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// CPU time of the whole process so far, every thread's (utime + stime of
/// `/proc/self/stat`, in clock ticks of 10 ms; Linux, zero elsewhere): with
/// a reader thread, the decode's CPU time too.
fn process_cpu() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces): state is
            // field 3, utime and stime fields 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let mut fields = rest.split_whitespace().skip(11);
            let utime: u64 = fields.next()?.parse().ok()?;
            let stime: u64 = fields.next()?.parse().ok()?;
            Some(Duration::from_millis((utime + stime) * 10))
        })
        .unwrap_or(Duration::ZERO)
}

/// Wall, this thread's CPU and the process's CPU time of one run.
#[derive(Debug, Clone, Copy)]
struct Times {
    wall: Duration,
    cpu: Duration,
    process: Duration,
}

/// The [`Times`] of one call of `f`.
fn timed(f: impl FnOnce()) -> Times {
    let (wall, cpu, process) = (Instant::now(), thread_cpu(), process_cpu());
    f();
    Times {
        wall: wall.elapsed(),
        cpu: thread_cpu().saturating_sub(cpu),
        process: process_cpu().saturating_sub(process),
    }
}

/// The run of median CPU time of `runs` calls of `f`.
fn median_timed(runs: usize, mut f: impl FnMut()) -> Times {
    let mut times: Vec<Times> = (0..runs).map(|_| timed(&mut f)).collect();
    times.sort_by_key(|times| times.cpu);
    times[runs / 2]
}

/// One-shot rows of one walk: decode and replay (median of three; the
/// replay also read ahead), the engine alone on the same prices from
/// memory (and again with quiet steps off: every step in full), and one
/// replay through a 100,000-account engine, inline and read ahead, an event
/// at a time ([`replay_engine`]) and a run at a time
/// ([`replay_engine_runs`]), with their rates by wall time, by the thread's
/// CPU time and (read ahead) the process's CPU time.
fn once_walk(dir: &Path, trades: usize, step: f64, book: &Prepared) {
    let path = write_file(dir, trades, step);
    let decode = median_timed(3, || {
        black_box(decode(&path));
    });
    let replay_inline = median_timed(3, || {
        black_box(replay(&path, Reading::Inline));
    });
    let replay_ahead = median_timed(3, || {
        black_box(replay(&path, Reading::ReadAhead));
    });
    let steps = steps_of(&path);
    let mut engine = fresh_engine(book);
    let alone = timed(|| engine_alone(&steps, &mut engine));
    let quiet_steps = engine.quiet_steps();
    let mut engine = fresh_engine(book);
    engine.set_quiet_steps(false);
    let alone_full = timed(|| engine_alone(&steps, &mut engine));
    drop(steps);
    let mut through = Vec::new();
    let mut results = Vec::new();
    for (runs, reading) in [
        (false, Reading::Inline),
        (false, Reading::ReadAhead),
        (true, Reading::Inline),
        (true, Reading::ReadAhead),
    ] {
        let mut engine = fresh_engine(book);
        let mut result = (0, 0.0);
        through.push(timed(|| {
            result = if runs {
                replay_engine_runs(&path, &mut engine, reading)
            } else {
                replay_engine(&path, &mut engine, reading)
            };
        }));
        results.push((result, engine.steps_run(), engine.accounts_liquidated()));
    }
    assert!(
        results.iter().all(|r| *r == results[0]),
        "read ahead, by runs: the same run"
    );
    let ((events, fund), steps_run, liquidated) = results[0];
    assert_eq!(events, trades);
    let rate = |t: Times| {
        let per_s = |t: Duration| trades as f64 / t.as_secs_f64() / 1e6;
        format!(
            "{:.2} M/s ({:.2?}; CPU {:.2} M/s, {:.2?}; process CPU {:.2?})",
            per_s(t.wall),
            t.wall,
            per_s(t.cpu),
            t.cpu,
            t.process
        )
    };
    let ratio = |t: Times| {
        format!(
            "{:.3} (CPU of the engine's thread {:.3})",
            decode.wall.as_secs_f64() / t.wall.as_secs_f64(),
            decode.cpu.as_secs_f64() / t.cpu.as_secs_f64()
        )
    };
    println!(
        "walk ±{:.4}% a trade, {trades} trades, {ENGINE_ACCOUNTS} accounts ({steps_run} steps, \
         {quiet_steps} of them quiet, {liquidated} accounts liquidated, fund {fund:.0} USD):\n  \
         decode {}\n  replay {}\n  replay read ahead {}\n  engine alone {}\n  engine alone, \
         quiet steps off {}\n  replay through the engine {}\n  replay read ahead through the \
         engine {}\n  replay runs through the engine {}\n  replay runs read ahead through the \
         engine {}\n  rate through the engine / decode rate: inline {}; read ahead {}; runs \
         inline {}; runs read ahead {}",
        step * 100.0,
        rate(decode),
        rate(replay_inline),
        rate(replay_ahead),
        rate(alone),
        rate(alone_full),
        rate(through[0]),
        rate(through[1]),
        rate(through[2]),
        rate(through[3]),
        ratio(through[0]),
        ratio(through[1]),
        ratio(through[2]),
        ratio(through[3]),
    );
}

/// One-shot: the rows of [`once_walk`] for the bench's walk, then for the
/// quiet walk.
fn once(trades: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let book = engine_book(ENGINE_ACCOUNTS);
    once_walk(dir.path(), trades, WALK_STEP, &book);
    once_walk(dir.path(), trades, QUIET_STEP, &book);
}

/// Profile mode: run one row of the one-shot mode on a file kept in
/// [`PROFILE_DIR_ENV`] (written there first if absent), for a profiler
/// (`perf record`, `valgrind --tool=callgrind --separate-threads=yes`).
const PROFILE_ENV: &str = "BACKSTOP_REPLAY_PROFILE";
/// Profile mode: the folder of the kept files.
const PROFILE_DIR_ENV: &str = "BACKSTOP_REPLAY_DIR";
/// Profile mode: `bench` (the default) or `quiet`, the walk.
const PROFILE_WALK_ENV: &str = "BACKSTOP_REPLAY_WALK";
/// Profile mode: the number of trades (default [`TRADES`]).
const PROFILE_TRADES_ENV: &str = "BACKSTOP_REPLAY_TRADES";

/// Profile mode: one row, `row` one of `setup` (the file and the book, no
/// replay: what the other rows' totals include), `decode`, `replay`,
/// `replay-ahead`, `engine` (an event at a time), `engine-ahead`, `runs`,
/// `runs-ahead`; prints its events, wall time, this thread's CPU time and
/// the process's (every thread's, the reader's included).
fn profile(row: &str) {
    let dir = std::env::var_os(PROFILE_DIR_ENV).expect("BACKSTOP_REPLAY_DIR: a folder");
    let dir = Path::new(&dir);
    let walk = std::env::var(PROFILE_WALK_ENV).unwrap_or_else(|_| "bench".to_owned());
    let step = match walk.as_str() {
        "bench" => WALK_STEP,
        "quiet" => QUIET_STEP,
        other => panic!("BACKSTOP_REPLAY_WALK: bench or quiet, not {other}"),
    };
    let trades: usize = std::env::var(PROFILE_TRADES_ENV).map_or(TRADES, |n| {
        n.parse().expect("BACKSTOP_REPLAY_TRADES: a number")
    });
    let path = dir.join(format!("trades-{trades}-{step}.parquet"));
    if !path.exists() {
        let written = write_file(dir, trades, step);
        std::fs::rename(&written, &path).expect("keep the file");
    }
    let book = engine_book(ENGINE_ACCOUNTS);
    let mut engine = fresh_engine(&book);
    let mut events = 0;
    let times = timed(|| {
        events = match row {
            "setup" => 0,
            "decode" => black_box(decode(&path)).0,
            "replay" => black_box(replay(&path, Reading::Inline)).0,
            "replay-ahead" => black_box(replay(&path, Reading::ReadAhead)).0,
            "engine" => replay_engine(&path, &mut engine, Reading::Inline).0,
            "engine-ahead" => replay_engine(&path, &mut engine, Reading::ReadAhead).0,
            "runs" => replay_engine_runs(&path, &mut engine, Reading::Inline).0,
            "runs-ahead" => replay_engine_runs(&path, &mut engine, Reading::ReadAhead).0,
            other => panic!("BACKSTOP_REPLAY_PROFILE: no row {other}"),
        };
    });
    println!(
        "{row} ({walk} walk): {events} events, wall {:.2?}, this thread's CPU {:.2?}, \
         process CPU {:.2?}, the other threads' {:.2?}; {} accounts liquidated",
        times.wall,
        times.cpu,
        times.process,
        times.process.saturating_sub(times.cpu),
        engine.accounts_liquidated()
    );
}

fn main() {
    if let Ok(row) = std::env::var(PROFILE_ENV) {
        profile(&row);
        return;
    }
    if let Ok(trades) = std::env::var(ONCE_ENV) {
        once(
            trades
                .parse()
                .expect("BACKSTOP_REPLAY_ONCE: a number of trades"),
        );
        return;
    }
    if let Some(path) = std::env::var_os(RSS_FILE_ENV) {
        rss_child(Path::new(&path));
        return;
    }
    if let Ok(trades) = std::env::var(RSS_ENV) {
        let trades = trades
            .parse()
            .expect("BACKSTOP_REPLAY_RSS: a number of trades");
        rss_parent(trades);
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let start = Instant::now();
    let path = write_file(dir.path(), TRADES, WALK_STEP);
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "generated {TRADES} trades, {} MiB, in {:.1?}",
        size >> 20,
        start.elapsed()
    );
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &path);
    c.final_summary();
}
