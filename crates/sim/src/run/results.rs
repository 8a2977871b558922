//! A results folder's files, written from a run or a sweep: the one writer of
//! `summary.json`, the Parquet tables and their file metadata. Where each file
//! sits is [`backstop_data::results::layout`]; what each holds is docs/model.md §7.

use std::path::{Path, PathBuf};

use backstop_data::results::layout::{
    ADL_WAVES_FILE, BALANCES_FILE, BANDS_FILE, HAIRCUTS_FILE, MARKET_FUND_STEPS_FILE,
    MARKET_FUNDS_FILE, PATHS_FILE, POPULATION_FILE, STEPS_FILE, SUMMARY_FILE, SWEEP_FILE,
};
use backstop_data::{
    HaircutsTable, MarketFundRow, PathsTable, PopulationSummary, RankedSet, RunSummary, SetSummary,
    Summary, SweepProbability, SweepRow, SweepTable,
};

use super::aggregate::{Aggregates, Probability};
use super::metrics::PathMetrics;
use super::run::{Prepared, RunOutput};
use super::sweep::SweepGrid;
use crate::config::scenario::Scenario;
use crate::error::SimError;

pub use super::record::{SCENARIO_HASH_KEY, VERSION, metadata};

/// The files of a results folder that [`write_run`] and [`write_sweep`]
/// (and their `_then` forms) leave synced to disk when they return
/// (`write_beside`): a caller that syncs the folder before publishing it
/// need not sync these again (the binary's `sync_tree`). A file named here
/// must be written synced by every writer of this module that writes it.
pub const SYNCED_FILES: [&str; 11] = [
    SUMMARY_FILE,
    POPULATION_FILE,
    STEPS_FILE,
    PATHS_FILE,
    BANDS_FILE,
    HAIRCUTS_FILE,
    ADL_WAVES_FILE,
    BALANCES_FILE,
    MARKET_FUNDS_FILE,
    MARKET_FUND_STEPS_FILE,
    SWEEP_FILE,
];

/// Writes the results of one run into `dir` (which must exist):
/// `population.parquet`, `steps.parquet`, `paths.parquet`, `bands.parquet`,
/// `haircuts.parquet`, `balances.parquet`, `adl_waves.parquet`,
/// `market_funds.parquet` and `market_fund_steps.parquet` (with a market fund
/// of its own) and `summary.json`.
///
/// The files do not depend on each other: they are encoded and written one
/// after another on one thread, each synced to disk by a second thread as
/// soon as it is in place, while the calling thread writes `bands.parquet`
/// (its quantiles computed on the caller's rayon pool); every file is
/// synced when this returns (docs/performance.md, "Two threads, rounds 5
/// and 14").
///
/// # Errors
/// [`SimError::Data`] if a file cannot be written: the first such file in
/// the order above, `bands.parquet` last.
pub fn write_run(dir: &Path, prepared: &Prepared, output: &RunOutput) -> Result<(), SimError> {
    write_run_then(dir, prepared, output, None, &mut |_| {}, &|_| {})
}

/// [`write_run`], telling the caller as soon as every file but
/// `bands.parquet` is in place and every band row computed, while
/// `bands.parquet` is still being encoded and synced to disk: the band rows
/// go to `rows` in file order as they are computed (with `pool`: a few
/// hundred rows at a time, while the pool computes the next ones; else one
/// row group at a time), then `ready(complete)` is called once (`complete`: every band
/// row went to `rows`; not when a one-path run streamed its bands, or a file
/// failed first). So a report can be drawn from the rows in memory beside
/// the file's encoding and sync (docs/performance.md, "Two threads, round 7").
///
/// The band rows are computed on `pool` (the current rayon pool when
/// `None`) and encoded on a thread of their own, row group by row group as
/// they come; call this outside the pool, so that no worker of it waits for
/// the files.
///
/// # Errors
/// As [`write_run`].
pub fn write_run_then(
    dir: &Path,
    prepared: &Prepared,
    output: &RunOutput,
    pool: Option<&rayon::ThreadPool>,
    rows: &mut (dyn FnMut(&backstop_data::BandsTable) + Send),
    ready: &(dyn Fn(bool) + Sync),
) -> Result<(), SimError> {
    let meta = metadata(&prepared.scenario, None);
    let meta = meta.as_slice();
    let at = |file: &str| dir.join(file);
    let files: Vec<FileTask<'_>> = vec![
        (
            vec![at(POPULATION_FILE), at(SUMMARY_FILE)],
            Box::new(|| {
                // `summary.json` counts the population's rows.
                let rows = prepared.population_rows();
                backstop_data::write_positions(&at(POPULATION_FILE), &rows, meta)?;
                let summary = run_summary(prepared, output, rows.len());
                backstop_data::write_summary(&at(SUMMARY_FILE), &summary)
            }),
        ),
        (
            vec![at(STEPS_FILE)],
            Box::new(|| output.first_path.write(&at(STEPS_FILE), meta)),
        ),
        (
            vec![at(PATHS_FILE)],
            Box::new(|| backstop_data::write_paths(&at(PATHS_FILE), &output.paths_table(0), meta)),
        ),
        (
            vec![at(HAIRCUTS_FILE)],
            Box::new(|| {
                let cuts = output.haircuts_table(0);
                backstop_data::write_haircuts(&at(HAIRCUTS_FILE), &cuts, meta)
            }),
        ),
        (
            vec![at(BALANCES_FILE)],
            Box::new(|| match &output.first_path_balances_file {
                Some(streamed) => {
                    backstop_data::results::chunked::place(streamed, &at(BALANCES_FILE))
                }
                None => {
                    let rows = &output.first_path_balances;
                    backstop_data::write_balances(&at(BALANCES_FILE), rows, meta)
                }
            }),
        ),
        (
            vec![at(ADL_WAVES_FILE)],
            Box::new(|| {
                let waves = output.adl_wave_rows(0);
                backstop_data::write_adl_waves(&at(ADL_WAVES_FILE), &waves, meta)
            }),
        ),
        (
            vec![at(MARKET_FUNDS_FILE)],
            Box::new(|| {
                let funds = market_fund_rows(0, &output.paths);
                if funds.is_empty() {
                    return Ok(());
                }
                backstop_data::write_market_funds(&at(MARKET_FUNDS_FILE), &funds, meta)
            }),
        ),
        (
            vec![at(MARKET_FUND_STEPS_FILE)],
            Box::new(|| {
                let fund_steps = output.first_path.market_fund_steps();
                fund_steps.write(&at(MARKET_FUND_STEPS_FILE), meta)
            }),
        ),
    ];
    let countdown = Countdown::new(files.len() + 1, ready);
    let files = files
        .into_iter()
        .map(|(paths, f)| -> FileTask<'_> {
            let countdown = &countdown;
            (
                paths,
                Box::new(move || {
                    let written = f();
                    countdown.done(written.is_ok());
                    written
                }),
            )
        })
        .collect();
    write_beside(dir, files, || {
        let written = write_bands(&at(BANDS_FILE), meta, output, pool, rows, &countdown);
        // Once only: after the last chunk, or here when it never came.
        countdown.done_once(false);
        written
    })
}

/// Writes `output`'s `bands.parquet` at `path` ([`super::record::Bands::write`]'s
/// bytes): the rows computed here (on `pool`), one row group at a time,
/// given to `rows` in pieces as they are computed
/// ([`super::record::BandSketches::table_rows_in_pieces`]) and each group
/// encoded on a thread of its own while the next is computed; `countdown` told once the last row is computed (every row went
/// to `rows`). Bands a one-path run streamed are moved into place.
fn write_bands(
    path: &Path,
    meta: &[(String, String)],
    output: &RunOutput,
    pool: Option<&rayon::ThreadPool>,
    rows: &mut (dyn FnMut(&backstop_data::BandsTable) + Send),
    countdown: &Countdown<'_>,
) -> Result<(), backstop_data::DataError> {
    let bands = &output.bands;
    if bands.written.is_some() {
        return bands.write(path, meta);
    }
    let names: Vec<&str> = bands.names.iter().map(String::as_str).collect();
    let total = bands.sketches.rows();
    // On `pool` (not from one of its workers), each task's rows go to
    // `rows` as they come, beside the computation of the next ones.
    let mut compute = |range: std::ops::Range<usize>| match pool {
        Some(p) if p.current_thread_index().is_none() => {
            let (layout, names) = (&bands.layout, &names);
            bands
                .sketches
                .table_rows_in_pieces(layout, names, range, p, &mut *rows)
        }
        _ => {
            let table = || bands.sketches.table_rows(&bands.layout, &names, range);
            let table = match pool {
                Some(p) => p.install(table),
                None => table(),
            };
            rows(&table);
            table
        }
    };
    std::thread::scope(|scope| {
        // Inside the scope: dropped before the scope waits for the encoder
        // (which then stops) if computing a chunk panics.
        let (send, receive) = std::sync::mpsc::sync_channel::<backstop_data::BandsTable>(1);
        let encoding = scope.spawn(move || {
            // The chunks in the order the writer asks for them; one that
            // never came (a panic computing it) is an empty one, which the
            // writer refuses.
            backstop_data::write_bands_chunked(path, total, meta, |_| {
                receive.recv().unwrap_or_default()
            })
        });
        let mut every_row = true;
        for range in row_groups(total) {
            let table = compute(range);
            // The writer stops at a bad row: the chunks after it are not needed.
            if send.send(table).is_err() {
                every_row = false;
                break;
            }
        }
        countdown.done_once(every_row);
        drop(send);
        encoding
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The row groups of a `bands/v1` file of `rows` rows, as
/// [`backstop_data::write_bands_chunked`] asks for them (one empty group
/// for an empty file).
fn row_groups(rows: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let max = backstop_data::MAX_ROW_GROUP_ROWS;
    (0..rows.max(1))
        .step_by(max)
        .map(move |start| start..(start + max).min(rows))
}

/// Counts down the files of a results folder (and the band rows) to the
/// moment `ready` is called, once; `complete` says whether every file
/// reported success and the band rows were all computed.
struct Countdown<'a> {
    left: std::sync::Mutex<(usize, bool)>,
    bands_told: std::sync::atomic::AtomicBool,
    ready: &'a (dyn Fn(bool) + Sync),
}

impl<'a> Countdown<'a> {
    /// A countdown of `parts` parts.
    fn new(parts: usize, ready: &'a (dyn Fn(bool) + Sync)) -> Self {
        Countdown {
            left: std::sync::Mutex::new((parts, true)),
            bands_told: std::sync::atomic::AtomicBool::new(false),
            ready,
        }
    }

    /// One part done (`ok`: successfully); the last calls `ready`.
    fn done(&self, ok: bool) {
        let fire = {
            let Ok(mut left) = self.left.lock() else {
                return;
            };
            left.0 = left.0.saturating_sub(1);
            left.1 &= ok;
            (left.0 == 0).then_some(left.1)
        };
        if let Some(complete) = fire {
            (self.ready)(complete);
        }
    }

    /// The bands' part done, the first time only.
    fn done_once(&self, ok: bool) {
        if !self
            .bands_told
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            self.done(ok);
        }
    }
}

/// Writing one file (or two, one after the other) of a results folder:
/// the files it may write (a file it leaves out is not there), then how.
type FileTask<'a> = (
    Vec<PathBuf>,
    Box<dyn FnOnce() -> Result<(), backstop_data::DataError> + Send + 'a>,
);

/// Writes `files` one after another on one thread, unsynced
/// ([`backstop_data::without_sync`]; each still replaced whole, by a
/// rename), each synced to disk as soon as it is in place by a second
/// thread (then `dir`, whose entries the renames changed), and runs `here`
/// on the calling thread meanwhile. The files are synced when this returns,
/// as when each was written synced, but the folder's files no longer take a
/// thread each (each a start, a stack and a fresh allocator arena whose
/// pages are faulted in anew), and no file's write waits for the disk: a
/// two-thread run paid for those threads' CPU beside the band rows
/// (docs/performance.md, "Two threads, round 14"). The first error of
/// `files` in their order (a file's write, then its sync), then the
/// folder's sync, then `here`'s. A panic in either thread is resumed on the
/// caller's.
fn write_beside(
    dir: &Path,
    files: Vec<FileTask<'_>>,
    here: impl FnOnce() -> Result<(), backstop_data::DataError>,
) -> Result<(), SimError> {
    let count = files.len();
    let (written, synced, here) = std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::channel::<(usize, Vec<PathBuf>)>();
        let syncing = scope.spawn(move || sync_as_written(dir, count, receive));
        let writing = scope.spawn(move || {
            let mut written = Vec::with_capacity(files.len());
            for (k, (paths, write)) in files.into_iter().enumerate() {
                let w = backstop_data::without_sync(write);
                // The syncing thread is gone only if it panicked (resumed below).
                if w.is_ok() {
                    let _ = send.send((k, paths));
                }
                written.push(w);
            }
            written
        });
        let here = here();
        (joined(writing), joined(syncing), here)
    });
    let (files_synced, dir_synced) = synced;
    for (w, s) in written.into_iter().zip(files_synced) {
        w?;
        s?;
    }
    dir_synced?;
    Ok(here?)
}

/// What the thread `t` gave back; its panic resumed here.
fn joined<T>(t: std::thread::ScopedJoinHandle<'_, T>) -> T {
    t.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Syncs to disk each file `written` names as it comes (`(task, paths)`: a
/// path that is not there was not written), then `dir`: each of `tasks`
/// tasks' outcome (its first failed sync), and the folder's.
fn sync_as_written(
    dir: &Path,
    tasks: usize,
    written: std::sync::mpsc::Receiver<(usize, Vec<PathBuf>)>,
) -> (
    Vec<Result<(), backstop_data::DataError>>,
    Result<(), backstop_data::DataError>,
) {
    let mut synced: Vec<Result<(), backstop_data::DataError>> =
        (0..tasks).map(|_| Ok(())).collect();
    for (k, paths) in written {
        debug_assert!(k < tasks, "Invariant: a task's index is below the count");
        for path in &paths {
            let outcome = match std::fs::File::open(path) {
                Ok(file) => file.sync_all(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            };
            if let (Err(source), Some(slot @ Ok(()))) = (outcome, synced.get_mut(k)) {
                *slot = Err(sync_error(path, source));
            }
        }
    }
    (synced, sync_folder(dir))
}

/// Syncs the folder `dir` (its entries) to disk: Unix only, as
/// [`backstop_data::write_atomically`] does.
fn sync_folder(dir: &Path) -> Result<(), backstop_data::DataError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| sync_error(dir, source))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// A failed sync of `path` to disk.
fn sync_error(path: &Path, source: std::io::Error) -> backstop_data::DataError {
    backstop_data::DataError::Io {
        path: path.to_owned(),
        action: "cannot sync to disk".to_owned(),
        source,
    }
}

/// The results of one run in memory: what [`write_run`] writes, built by the
/// same code (the writers' own record batches and summary), without a file.
#[derive(Debug, Clone)]
pub struct RunTables {
    /// `summary.json`'s bytes.
    pub summary_json: Vec<u8>,
    /// Every table, by file name (`steps.parquet`, ...), in [`write_run`]'s order.
    pub tables: Vec<(&'static str, backstop_data::TableBatches)>,
}

/// The results of one run in memory: byte for byte `summary.json` and, table
/// by table, the record batches [`write_run`] encodes into each Parquet file.
///
/// # Errors
/// [`SimError::Data`] if a row breaks its schema's rules (as writing would).
pub fn run_tables(prepared: &Prepared, output: &RunOutput) -> Result<RunTables, SimError> {
    let meta = metadata(&prepared.scenario, None);
    let rows = prepared.population_rows();
    let at = Path::new;
    let mut tables = vec![
        (
            POPULATION_FILE,
            backstop_data::positions_batches(at(POPULATION_FILE), &rows, &meta)?,
        ),
        (
            STEPS_FILE,
            output.first_path.batches(at(STEPS_FILE), &meta)?,
        ),
        (
            PATHS_FILE,
            backstop_data::paths_batches(at(PATHS_FILE), &output.paths_table(0), &meta)?,
        ),
        (BANDS_FILE, output.bands.batches(at(BANDS_FILE), &meta)?),
        (
            HAIRCUTS_FILE,
            backstop_data::haircuts_batches(at(HAIRCUTS_FILE), &output.haircuts_table(0), &meta)?,
        ),
        (
            BALANCES_FILE,
            backstop_data::balances_batches(
                at(BALANCES_FILE),
                &first_path_balances(output)?,
                &meta,
            )?,
        ),
        (
            ADL_WAVES_FILE,
            backstop_data::adl_waves_batches(at(ADL_WAVES_FILE), &output.adl_wave_rows(0), &meta)?,
        ),
    ];
    let funds = market_fund_rows(0, &output.paths);
    if !funds.is_empty() {
        tables.push((
            MARKET_FUNDS_FILE,
            backstop_data::market_funds_batches(at(MARKET_FUNDS_FILE), &funds, &meta)?,
        ));
    }
    let fund_steps = output.first_path.market_fund_steps();
    if let Some(b) = fund_steps.batches(at(MARKET_FUND_STEPS_FILE), &meta)? {
        tables.push((MARKET_FUND_STEPS_FILE, b));
    }
    let summary_json =
        backstop_data::summary_json(at(SUMMARY_FILE), &run_summary(prepared, output, rows.len()))?;
    Ok(RunTables {
        summary_json,
        tables,
    })
}

/// Path 0's balance rows: held, or read back from the file they were
/// streamed to.
fn first_path_balances(
    output: &RunOutput,
) -> Result<std::borrow::Cow<'_, [backstop_data::BalanceRow]>, SimError> {
    Ok(match &output.first_path_balances_file {
        Some(file) => std::borrow::Cow::Owned(backstop_data::read_balances(file)?),
        None => std::borrow::Cow::Borrowed(&output.first_path_balances),
    })
}

/// The `summary.json` of one run (`positions`: the population's rows).
fn run_summary<'a>(
    prepared: &'a Prepared,
    output: &RunOutput,
    positions: usize,
) -> Summary<&'a Scenario, ()> {
    Summary {
        backstop_version: VERSION.to_owned(),
        scenario: &prepared.scenario,
        scenario_hash: None,
        population: Some(PopulationSummary {
            accounts: prepared.population.len() as u64,
            positions: positions as u64,
            collateral: prepared
                .population
                .iter()
                .map(|a| a.collateral.to_usd())
                .sum(),
            below_maintenance_kept: (prepared.below_maintenance
                > prepared.below_maintenance_dropped)
                .then_some(prepared.below_maintenance - prepared.below_maintenance_dropped),
            below_maintenance_dropped: (prepared.below_maintenance_dropped > 0)
                .then_some(prepared.below_maintenance_dropped),
        }),
        run: RunSummary {
            paths: output.aggregates.paths,
            steps: u64::from(output.paths.first().map_or(0, |p| p.steps)),
            path_model: Some(prepared.scenario.path.kind().to_owned()),
            // One path is one outcome (docs/model.md §7): its aggregates are that
            // path's figures, not a distribution.
            outcome: Some(
                if output.paths.len() == 1 {
                    "one"
                } else {
                    "distribution"
                }
                .to_owned(),
            ),
            sets: None,
            work_items: None,
            bands_relative_error: Some(output.bands_relative_error),
        },
        sweep: None,
        sets: None,
        meeting_target: None,
        aggregates: if output.paths.len() == 1 {
            one_outcome(&output.aggregates)
        } else {
            output.aggregates.clone()
        },
    }
}

/// What `summary.json` says of a one-path run (docs/model.md §7, "One
/// outcome"): that path's figures, marked as such, with no sampling interval
/// (each `ci95` is the 0 or 1 that happened, not a Clopper–Pearson interval of
/// one draw).
pub fn one_outcome(a: &Aggregates) -> Aggregates {
    let fixed = |p: &Probability| Probability {
        count: p.count,
        probability: p.probability,
        ci95: [p.probability, p.probability],
    };
    Aggregates {
        insurance_fund_depletion: fixed(&a.insurance_fund_depletion),
        socialized_loss_any: fixed(&a.socialized_loss_any),
        adl_any: a.adl_any.as_ref().map(fixed),
        outcome: Some(ONE_OUTCOME.to_owned()),
        ..a.clone()
    }
}

/// The sentence marking a one-outcome run's aggregates in `summary.json`.
pub const ONE_OUTCOME: &str = "one path: these are that path's figures, not a distribution \
     (each probability is 0 or 1, what happened, and its ci95 is that value, not a sampling \
     interval; every quantile is the path's value)";

/// The `market_funds/v1` rows of some paths of parameter set `set` (none
/// without a market fund of its own).
pub fn market_fund_rows(set: u32, metrics: &[PathMetrics]) -> Vec<MarketFundRow> {
    metrics
        .iter()
        .flat_map(|m| m.market_funds.iter().map(|f| f.row(set, m.path)))
        .collect()
}

/// The `paths/v1` and `haircuts/v1` rows of some paths of parameter set `set`.
pub fn path_tables(set: u32, metrics: &[PathMetrics]) -> (PathsTable, HaircutsTable) {
    let mut t = PathsTable::default();
    let mut h = HaircutsTable::default();
    for m in metrics {
        t.push(set, m.path, &m.to_row());
        for c in &m.haircuts {
            h.param_set.push(set);
            h.path.push(m.path);
            h.account_id.push(c.account_id);
            h.amount.push(c.amount);
        }
    }
    (t, h)
}

/// Appends the rows of `t` and `h` to `all` and `cuts`.
pub fn append_tables(
    all: &mut PathsTable,
    cuts: &mut HaircutsTable,
    t: PathsTable,
    h: HaircutsTable,
) {
    all.param_set.extend(t.param_set);
    all.path.extend(t.path);
    for (a, b) in all.metrics.iter_mut().zip(t.metrics) {
        a.extend(b);
    }
    cuts.param_set.extend(h.param_set);
    cuts.path.extend(h.path);
    cuts.account_id.extend(h.account_id);
    cuts.amount.extend(h.amount);
}

/// What a whole sweep found, set by set: what `backstop sweep` prints.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// Every set's aggregates, in set order.
    pub aggregates: Vec<Aggregates>,
    /// Whether each set meets the target (`None` without one).
    pub meets: Vec<Option<bool>>,
    /// The sets meeting the target, best capital efficiency first.
    pub ranked: Vec<u32>,
}

/// Writes the results of a whole sweep into `dir` (created if needed) from all
/// its per-path rows in (set, path) order: `sweep.parquet`, `paths.parquet`,
/// `haircuts.parquet`, `market_funds.parquet` (`funds`, when a market has a
/// fund of its own) and `summary.json`. The same bytes however the rows were
/// computed (one process, shards, a resumed run).
///
/// # Errors
/// [`SimError::Input`] if the rows are not those of the whole sweep,
/// [`SimError::Data`] if a file cannot be written (the first in the order
/// above, `summary.json` last).
pub fn write_sweep(
    dir: &Path,
    base: &Scenario,
    grid: &SweepGrid,
    hash: &str,
    paths: &PathsTable,
    haircuts: &HaircutsTable,
    funds: &[MarketFundRow],
) -> Result<SweepOutcome, SimError> {
    let (written, _) = write_sweep_then(dir, base, grid, hash, paths, haircuts, funds, |_, _| ());
    written
}

/// [`write_sweep`], calling `beside(table, summary)` on the calling thread
/// while the files are encoded and synced to disk on two threads of their own:
/// `table` is the `sweep/v1` table and `summary` the bytes of
/// `summary.json` about to be written, so that the sweep's report can be
/// drawn from them in memory rather than read back from the files once
/// written (docs/performance.md, "Two threads, round 8"). `beside` is not
/// called if the rows are not those of the whole sweep, the folder cannot
/// be created or `summary.json` cannot be encoded; what it gives back is
/// `None` then.
///
/// # Errors
/// As [`write_sweep`].
#[allow(clippy::too_many_arguments)]
pub fn write_sweep_then<R>(
    dir: &Path,
    base: &Scenario,
    grid: &SweepGrid,
    hash: &str,
    paths: &PathsTable,
    haircuts: &HaircutsTable,
    funds: &[MarketFundRow],
    beside: impl FnOnce(&SweepTable, &[u8]) -> R,
) -> (Result<SweepOutcome, SimError>, Option<R>) {
    let mut gave = None;
    let written = write_sweep_files(dir, base, grid, hash, (paths, haircuts, funds), |t, s| {
        gave = Some(beside(t, s));
    });
    (written, gave)
}

/// [`write_sweep_then`]'s work.
fn write_sweep_files(
    dir: &Path,
    base: &Scenario,
    grid: &SweepGrid,
    hash: &str,
    (paths, haircuts, funds): (&PathsTable, &HaircutsTable, &[MarketFundRow]),
    beside: impl FnOnce(&SweepTable, &[u8]),
) -> Result<SweepOutcome, SimError> {
    let parts = sweep_parts(base, grid, hash, paths)?;
    let meta = metadata(base, Some(hash));
    std::fs::create_dir_all(dir).map_err(|source| backstop_data::DataError::Io {
        path: dir.to_owned(),
        action: "cannot create the folder".to_owned(),
        source,
    })?;
    // One thread writing the files, one syncing them, as in `write_run`.
    let (meta, at) = (meta.as_slice(), |file: &str| dir.join(file));
    let summary = backstop_data::summary_json(&at(SUMMARY_FILE), &parts.summary)?;
    let files: Vec<FileTask<'_>> = vec![
        (
            vec![at(SWEEP_FILE)],
            Box::new(|| backstop_data::write_sweep(&at(SWEEP_FILE), &parts.table, meta)),
        ),
        (
            vec![at(PATHS_FILE)],
            Box::new(|| backstop_data::write_paths(&at(PATHS_FILE), paths, meta)),
        ),
        (
            vec![at(HAIRCUTS_FILE)],
            Box::new(|| backstop_data::write_haircuts(&at(HAIRCUTS_FILE), haircuts, meta)),
        ),
        (
            vec![at(MARKET_FUNDS_FILE)],
            Box::new(|| {
                if funds.is_empty() {
                    return Ok(());
                }
                backstop_data::write_market_funds(&at(MARKET_FUNDS_FILE), funds, meta)
            }),
        ),
    ];
    let written = std::thread::scope(|scope| {
        let writing = scope.spawn(|| {
            write_beside(dir, files, || {
                backstop_data::write_bytes_atomically(&at(SUMMARY_FILE), &summary)
            })
        });
        beside(&parts.table, &summary);
        writing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    written?;
    Ok(parts.outcome)
}

/// The results of a whole sweep in memory: what [`write_sweep`] writes, built
/// by the same code (the writers' own record batches and summary), without a
/// file; and what the sweep found.
///
/// # Errors
/// As [`write_sweep`], but nothing is written.
pub fn sweep_tables(
    base: &Scenario,
    grid: &SweepGrid,
    hash: &str,
    paths: &PathsTable,
    haircuts: &HaircutsTable,
    funds: &[MarketFundRow],
) -> Result<(RunTables, SweepOutcome), SimError> {
    let parts = sweep_parts(base, grid, hash, paths)?;
    let meta = metadata(base, Some(hash));
    let at = Path::new;
    let mut tables = vec![
        (
            SWEEP_FILE,
            backstop_data::sweep_batches(at(SWEEP_FILE), &parts.table, &meta)?,
        ),
        (
            PATHS_FILE,
            backstop_data::paths_batches(at(PATHS_FILE), paths, &meta)?,
        ),
        (
            HAIRCUTS_FILE,
            backstop_data::haircuts_batches(at(HAIRCUTS_FILE), haircuts, &meta)?,
        ),
    ];
    if !funds.is_empty() {
        tables.push((
            MARKET_FUNDS_FILE,
            backstop_data::market_funds_batches(at(MARKET_FUNDS_FILE), funds, &meta)?,
        ));
    }
    let summary_json = backstop_data::summary_json(at(SUMMARY_FILE), &parts.summary)?;
    Ok((
        RunTables {
            summary_json,
            tables,
        },
        parts.outcome,
    ))
}

/// What a whole sweep's files hold, before any is written.
struct SweepParts<'a> {
    outcome: SweepOutcome,
    table: SweepTable,
    summary: Summary<&'a Scenario, &'a SweepGrid>,
}

/// Every set's aggregates, the `sweep/v1` table and `summary.json` of a whole
/// sweep from all its per-path rows in (set, path) order.
fn sweep_parts<'a>(
    base: &'a Scenario,
    grid: &'a SweepGrid,
    hash: &str,
    paths: &PathsTable,
) -> Result<SweepParts<'a>, SimError> {
    let n = u64::from(base.paths);
    let aggregates = super::sweep::set_aggregates(paths, grid.sets, n)?;
    let meets: Vec<Option<bool>> = aggregates.iter().map(|a| grid.meets_target(a)).collect();
    let ranked = grid.ranked(&meets);
    let table = sweep_table(grid, &aggregates, &meets);
    let steps = paths
        .metric("steps")
        .and_then(|c| c.first().copied().flatten())
        .map_or(0, |s| s as u32);
    let summary = Summary {
        backstop_version: VERSION.to_owned(),
        scenario: base,
        scenario_hash: Some(hash.to_owned()),
        population: None,
        run: RunSummary {
            paths: n,
            steps: u64::from(steps),
            path_model: Some(base.path.kind().to_owned()),
            outcome: None,
            sets: Some(grid.sets),
            work_items: Some(u64::from(grid.sets) * n),
            bands_relative_error: None,
        },
        sweep: Some(grid),
        sets: Some(set_summaries(
            grid,
            &aggregates,
            &meets,
            paths,
            base.insurance_fund.floor,
        )),
        meeting_target: Some(ranked_sets(grid, &aggregates, &ranked)),
        // A grid has at least one set (`SweepGrid::new`).
        aggregates: aggregates
            .first()
            .cloned()
            .unwrap_or_else(|| super::aggregate::aggregates(&[])),
    };
    Ok(SweepParts {
        outcome: SweepOutcome {
            aggregates,
            meets,
            ranked,
        },
        table,
        summary,
    })
}

/// One `sweep/v1` row per set.
fn sweep_table(grid: &SweepGrid, aggregates: &[Aggregates], meets: &[Option<bool>]) -> SweepTable {
    let probability = |p: &Probability| SweepProbability {
        count: p.count,
        probability: p.probability,
        ci95_lower: p.ci95[0],
        ci95_upper: p.ci95[1],
    };
    // The simulator always states `adl_any` (it is optional only for reading
    // older files): "not known" if it ever were absent, never "no ADL".
    let unknown = Probability {
        count: 0,
        probability: f64::NAN,
        ci95: [f64::NAN, f64::NAN],
    };
    let adl = |a: &Aggregates| probability(a.adl_any.as_ref().unwrap_or(&unknown));
    SweepTable {
        parameters: grid.parameters.iter().map(|p| p.key.clone()).collect(),
        rows: aggregates
            .iter()
            .zip(meets)
            .enumerate()
            .map(|(set, (a, m))| {
                let set = set as u32;
                let bad_debt = a.metrics.get("bad_debt");
                SweepRow {
                    param_set: set,
                    values: grid.values(set),
                    paths: a.paths,
                    depletion: probability(&a.insurance_fund_depletion),
                    socialized: probability(&a.socialized_loss_any),
                    adl: adl(a),
                    insurance_fund_loss_var_95: a.insurance_fund_loss.var_95,
                    insurance_fund_loss_es_95: a.insurance_fund_loss.es_95,
                    insurance_fund_loss_var_99: a.insurance_fund_loss.var_99,
                    insurance_fund_loss_es_99: a.insurance_fund_loss.es_99,
                    cover_1: a.cover_1,
                    cover_2: a.cover_2,
                    bad_debt_p50: bad_debt.map_or(0.0, |b| b.p50),
                    bad_debt_p99: bad_debt.map_or(0.0, |b| b.p99),
                    meets_target: *m,
                }
            })
            .collect(),
    }
}

/// Every set's values, aggregates and the fund it needs for the target (or
/// 1%), for `summary.json`.
fn set_summaries(
    grid: &SweepGrid,
    aggregates: &[Aggregates],
    meets: &[Option<bool>],
    paths: &PathsTable,
    floor: f64,
) -> Vec<SetSummary> {
    let p = grid
        .max_depletion_probability
        .unwrap_or(super::sweep_fund::DEFAULT_SWEEP_FUND_TARGET);
    aggregates
        .iter()
        .zip(meets)
        .enumerate()
        .map(|(set, (a, m))| SetSummary {
            param_set: set as u32,
            values: grid.values(set as u32),
            meets_target: *m,
            aggregates: a.clone(),
            fund_needed: Some(super::sweep_fund::set_fund_needed(
                paths, set as u32, floor, p,
            )),
        })
        .collect()
}

/// The sets meeting the target, best first, for `summary.json`.
fn ranked_sets(grid: &SweepGrid, aggregates: &[Aggregates], ranked: &[u32]) -> Vec<RankedSet> {
    let k = grid.efficiency_index();
    ranked
        .iter()
        .map(|&set| {
            let d = &aggregates[set as usize].insurance_fund_depletion;
            let values = grid.values(set);
            RankedSet {
                param_set: set,
                capital_efficiency: values[k],
                values,
                depletion_probability: d.probability,
                depletion_ci95: d.ci95,
            }
        })
        .collect()
}
