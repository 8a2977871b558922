//! `backstop sweep`: parameter sweeps on one machine or as shards on many
//! (Slurm job arrays, Kubernetes Indexed Jobs), which `backstop merge`
//! (`merge.rs`) joins into the same files byte for byte.
//!
//! Layout of `<out>/<name>/` (see README, "Parameter sweeps"):
//!
//! - `work/set-SSSS-paths-AAAAAA-BBBBBB.parquet` (+ `.haircuts.parquet`): one
//!   finished chunk of work, written atomically, reused by a rerun (resume);
//!   removed once the run's own results are written;
//! - `shard-K-of-N/` (`--shard K/N`): `paths.parquet`, `haircuts.parquet` and
//!   `manifest.json` of the shard's work items;
//! - `sweep.parquet`, `paths.parquet`, `haircuts.parquet`, `summary.json` and
//!   the report, for a whole sweep or a merge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use backstop_data::results::folder::{ScratchFolder, remove_files};
use backstop_data::results::layout::{HAIRCUTS_FILE, MARKET_FUNDS_FILE, PATHS_FILE};
use backstop_data::{HaircutsTable, MarketFundRow, PathsTable};
use backstop_sim::run::results::{
    SCENARIO_HASH_KEY, SweepOutcome, append_tables, market_fund_rows, metadata, path_tables,
    write_sweep_then,
};
use backstop_sim::run::sweep::{Chunk, ShardSpec, SweepGrid, chunks, scenario_hash};
use backstop_sim::{PathMetrics, Prepared, Scenario};
use rayon::prelude::*;

use super::shard::{Manifest, ShardWork};

/// Environment variable (tests only): stop with an error after computing this
/// many chunks, as if the process had been killed.
pub const STOP_AFTER_ENV: &str = "BACKSTOP_SWEEP_STOP_AFTER_CHUNKS";

/// What `backstop sweep` was asked to do.
pub struct SweepArgs<'a> {
    /// Scenario file.
    pub file: &'a Path,
    /// Folder the results folder is created in.
    pub out: &'a Path,
    /// No progress bar, no headline.
    pub quiet: bool,
    /// Worker threads.
    pub threads: Option<usize>,
    /// Paths per set instead of the scenario's.
    pub paths: Option<u32>,
    /// `K/N`.
    pub shard: Option<&'a str>,
}

/// The base scenario (with `--paths` applied) and its grid.
fn load(file: &Path, paths: Option<u32>) -> Result<(Scenario, SweepGrid)> {
    let mut base = Scenario::load(file)?;
    let config = base.sweep.clone().ok_or_else(|| {
        anyhow!(
            "{}: no [sweep] table: `backstop sweep` needs [[sweep.parameter]] entries (use `backstop run` for one scenario)",
            file.display()
        )
    })?;
    if let Some(n) = paths {
        if n == 0 {
            bail!("--paths 0: at least one path is needed");
        }
        base.paths = n;
    }
    let grid = SweepGrid::new(&base, &config)
        .map_err(|e| anyhow!("{}: key `{}`: {}", file.display(), e.key, e.message))?;
    Ok((base, grid))
}

/// `backstop sweep`: computes this shard's (or the whole sweep's) work items
/// in resumable chunks, then writes the shard folder or the sweep's results.
///
/// # Errors
/// The scenario or its sweep is invalid, a set cannot be prepared or run, or a
/// file cannot be written.
pub fn sweep(a: &SweepArgs<'_>) -> Result<()> {
    let (base, grid) = load(a.file, a.paths)?;
    let shard = a.shard.map(ShardSpec::parse).transpose()?;
    let spec = shard.unwrap_or(ShardSpec::WHOLE);
    let hash = scenario_hash(&base)?;
    let paths = u64::from(base.paths);
    let items = u64::from(grid.sets) * paths;
    let (from, to) = spec.items(items);
    let work = chunks(paths, from, to);
    let pool = super::worker_pool(a.threads)?;
    let dir = a.out.join(&base.name);
    let work_dir = dir.join("work");
    // The folders (each waits for the disk) beside the sets' preparing.
    let (made, prepared) = std::thread::scope(|scope| {
        let making = scope.spawn(|| std::fs::create_dir_all(&work_dir));
        let prepared = prepare_sets(&pool, a.file, &base, &grid, &work);
        let made = making
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (made, prepared)
    });
    let prepared = prepared?;
    made.with_context(|| format!("cannot create {}", work_dir.display()))?;
    let meta = metadata(&base, Some(&hash));
    // The chunks are saved on threads of this scope (each joined whatever
    // happens), and the sweep's results are written beside the last saves:
    // they are waited for only before the results are published (a failed
    // save fails the sweep, as before) or a shard's folder written.
    std::thread::scope(|scope| {
        // Owned here, so that it can be freed beside the results.
        let prepared = prepared;
        let job = Job {
            grid: &grid,
            prepared: &prepared,
            hash: &hash,
            meta: &meta,
            work_dir: Some(&work_dir),
        };
        let (rows, saves) = job.compute(Some(scope), &work, &pool, a.quiet, to - from)?;
        match shard {
            Some(spec) => {
                saves.wait()?;
                let sdir = dir.join(format!("shard-{}-of-{}", spec.index, spec.count));
                std::fs::create_dir_all(&sdir)
                    .with_context(|| format!("cannot create {}", sdir.display()))?;
                backstop_data::write_paths(&sdir.join(PATHS_FILE), &rows.all, &meta)?;
                backstop_data::write_haircuts(&sdir.join(HAIRCUTS_FILE), &rows.cuts, &meta)?;
                if !rows.funds.is_empty() {
                    let f = sdir.join(MARKET_FUNDS_FILE);
                    backstop_data::write_market_funds(&f, &rows.funds, &meta)?;
                }
                Manifest::new(ShardWork {
                    scenario_hash: hash.clone(),
                    shard: spec.index,
                    shards: spec.count,
                    sets: grid.sets,
                    paths,
                    items: (from, to),
                    scenario: serde_json::to_value(&base)?,
                })
                .write(&sdir)?;
                clean_work(&work_dir, &work);
                if !a.quiet {
                    println!(
                        "shard {spec}: work items {from}..{to} of {items} ({} sets x {paths} paths) -> {}",
                        grid.sets,
                        sdir.display()
                    );
                }
                Ok(())
            }
            None => {
                // The results and the report on the sweep's pool
                // (`--threads`), the prepared sets (their populations,
                // engines) freed beside them on a thread of their own rather
                // than on the main thread after them (docs/performance.md,
                // "Two threads, round 6"); the chunks' files removed beside
                // the previous results folder's (round 8).
                std::thread::scope(|beside| {
                    beside.spawn(move || drop(prepared));
                    pool.install(|| {
                        finalize(
                            &dir,
                            (&base, &grid, hash.as_str()),
                            &rows,
                            a.quiet,
                            Publishing {
                                saved: Box::new(move || saves.wait()),
                                then: Box::new(|| clean_work(&work_dir, &work)),
                            },
                        )
                    })
                })
            }
        }
    })
}

/// Every parameter set of the scenario in `file` (with `paths` paths each
/// instead of the scenario's if given), as `backstop sweep` computes them on a
/// pool of `threads` workers, returned in memory: `summary.json`'s bytes and
/// the record batches of `sweep.parquet`, `paths.parquet` and
/// `haircuts.parquet`, built by the code that writes those files. Nothing is
/// written (no resumable chunks either).
///
/// # Errors
/// The scenario or its sweep is invalid, or a set cannot be prepared or run.
#[allow(
    dead_code,
    reason = "the Python package's (crates/python compiles src/commands by path)"
)]
pub fn sweep_in_memory(
    file: &Path,
    threads: Option<usize>,
    paths: Option<u32>,
) -> Result<backstop_sim::run::results::RunTables> {
    let (base, grid) = load(file, paths)?;
    let hash = scenario_hash(&base)?;
    let n = u64::from(base.paths);
    let (from, to) = ShardSpec::WHOLE.items(u64::from(grid.sets) * n);
    let work = chunks(n, from, to);
    let pool = super::worker_pool(threads)?;
    let prepared = prepare_sets(&pool, file, &base, &grid, &work)?;
    let meta = metadata(&base, Some(&hash));
    let job = Job {
        grid: &grid,
        prepared: &prepared,
        hash: &hash,
        meta: &meta,
        work_dir: None,
    };
    let (rows, _) = job.compute(None, &work, &pool, true, to - from)?;
    let (tables, _) = backstop_sim::run::results::sweep_tables(
        &base,
        &grid,
        &hash,
        &rows.all,
        &rows.cuts,
        &rows.funds,
    )
    .with_context(|| format!("{}: cannot build the results", file.display()))?;
    Ok(tables)
}

/// The prepared run of every parameter set some chunk of `work` needs,
/// prepared in parallel on `pool` (each set generates its own population: a
/// serial tail of a sweep of many sets otherwise); the first error in set
/// order.
fn prepare_sets(
    pool: &rayon::ThreadPool,
    file: &Path,
    base: &Scenario,
    grid: &SweepGrid,
    work: &[Chunk],
) -> Result<BTreeMap<u32, Prepared>> {
    let needed: Vec<u32> = work
        .iter()
        .map(|c| c.set)
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let sets: Vec<Result<(u32, Prepared)>> = pool.install(|| {
        needed
            .par_iter()
            .map(|&set| prepare_set(file, base, grid, set).map(|p| (set, p)))
            .collect()
    });
    let mut sets: BTreeMap<u32, Prepared> = sets.into_iter().collect::<Result<_>>()?;
    // One spare engine a worker for every set, not one a worker and set.
    let mut all = sets.values_mut();
    if let Some(first) = all.next() {
        for p in all {
            p.share_engines_with(first);
        }
    }
    Ok(sets)
}

/// The prepared run of parameter set `set`.
fn prepare_set(file: &Path, base: &Scenario, grid: &SweepGrid, set: u32) -> Result<Prepared> {
    let s = grid
        .apply(base, set)
        .map_err(|e| anyhow!("{}: key `{}`: {}", file.display(), e.key, e.message))?;
    let mut p = Prepared::new(s, super::scenario_dir(file)).with_context(|| {
        format!(
            "{}: parameter set {set} ({}): cannot prepare the run",
            file.display(),
            grid.describe(set)
        )
    })?;
    p.set_paths(base.paths)
        .with_context(|| format!("{}: --paths {}", file.display(), base.paths))?;
    Ok(p)
}

/// A sweep's per-path rows (of its chunks, a shard or the whole sweep), in
/// (set, path) order.
#[derive(Default, Clone)]
pub(super) struct Rows {
    /// `paths/v1` rows.
    pub(super) all: PathsTable,
    /// `haircuts/v1` rows.
    pub(super) cuts: HaircutsTable,
    /// `market_funds/v1` rows (none without a market fund of its own).
    pub(super) funds: Vec<MarketFundRow>,
}

impl Rows {
    /// Appends `other`'s rows after these.
    fn append(&mut self, other: Rows) {
        append_tables(&mut self.all, &mut self.cuts, other.all, other.cuts);
        self.funds.extend(other.funds);
    }
}

/// The chunks of one `backstop sweep` and what computing them needs.
struct Job<'a> {
    grid: &'a SweepGrid,
    prepared: &'a BTreeMap<u32, Prepared>,
    hash: &'a str,
    meta: &'a [(String, String)],
    /// Where finished chunks are saved and reused from (`None`: in memory only).
    work_dir: Option<&'a Path>,
}

impl Job<'_> {
    /// Every chunk of `work`, reused from an earlier run's files where whole,
    /// else computed (in parallel) and saved on a thread of `scope` (not
    /// saved without one); the rows in chunk order, and the saves, still
    /// running.
    fn compute<'scope>(
        &self,
        scope: Option<&'scope std::thread::Scope<'scope, '_>>,
        work: &[Chunk],
        pool: &rayon::ThreadPool,
        quiet: bool,
        items: u64,
    ) -> Result<(Rows, Saves<'scope>)> {
        let bar = super::progress_bar(items, "(set, path) items");
        if !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        let stop_after: Option<u64> = std::env::var(STOP_AFTER_ENV)
            .ok()
            .and_then(|v| v.parse().ok());
        let computed = AtomicU64::new(0);
        // A computed chunk is saved on a thread of its own (its files synced to
        // disk there), so that the pool's worker goes on to the next chunk
        // rather than wait for the disk (docs/performance.md, "Two threads,
        // round 5"); its rows go on meanwhile (a copy is saved), so that the
        // results are not held back by the last saves (round 8).
        let results: Vec<Result<(Rows, Option<Saving<'scope>>)>> = pool.install(|| {
            work.par_iter()
                .map(|c| {
                    let file = self.work_dir.map(|d| d.join(c.file_name()));
                    let funds = self.prepared.get(&c.set).is_some_and(has_market_funds);
                    if let Some(done) = file
                        .as_deref()
                        .and_then(|f| load_chunk(f, self.hash, c, funds))
                    {
                        bar.inc(c.len());
                        return Ok((done, None));
                    }
                    if let Some(k) = stop_after
                        && computed.fetch_add(1, Ordering::SeqCst) >= k
                    {
                        bail!("stopped after {k} chunks ({STOP_AFTER_ENV})");
                    }
                    let done = self.run_chunk(c)?;
                    bar.inc(c.len());
                    let saving = match (file, scope) {
                        (Some(f), Some(scope)) => {
                            let (copy, meta) = (done.clone(), self.meta.to_vec());
                            Some(scope.spawn(move || save(&f, &copy, &meta)))
                        }
                        _ => None,
                    };
                    Ok((done, saving))
                })
                .collect()
        });
        bar.finish_and_clear();
        let mut rows = Rows::default();
        let mut saves = Saves(Vec::with_capacity(results.len()));
        for r in results {
            let (done, saving) = r?;
            rows.append(done);
            saves.0.extend(saving);
        }
        Ok((rows, saves))
    }

    /// Runs the paths of chunk `c`.
    fn run_chunk(&self, c: &Chunk) -> Result<Rows> {
        let p = self
            .prepared
            .get(&c.set)
            .ok_or_else(|| anyhow!("parameter set {} was not prepared", c.set))?;
        let metrics: Vec<PathMetrics> = (c.from..c.to)
            .into_par_iter()
            .map(|i| p.run_metrics(i))
            .collect::<Result<_, _>>()
            .with_context(|| {
                format!(
                    "parameter set {} ({}): simulation failed",
                    c.set,
                    self.grid.describe(c.set)
                )
            })?;
        let (all, cuts) = path_tables(c.set, &metrics);
        let funds = market_fund_rows(c.set, &metrics);
        Ok(Rows { all, cuts, funds })
    }
}

/// Saves a chunk's rows to `file` (and the haircuts and market funds beside
/// it, before it), each written atomically, with the file metadata `meta`.
///
/// Not synced to disk ([`backstop_data::without_sync`]): a chunk is a cache
/// that [`load_chunk`] checks whole before reusing it, and once the results
/// are published it is removed; synced, each chunk reached the disk and its
/// removal waited for the disk, the sweep's tail (docs/performance.md, "Two
/// threads, round 9"). A power loss loses chunks, to be computed again.
fn save(file: &Path, rows: &Rows, meta: &[(String, String)]) -> Result<()> {
    backstop_data::without_sync(|| {
        if !rows.funds.is_empty() {
            backstop_data::write_market_funds(&funds_file(file), &rows.funds, meta)?;
        }
        backstop_data::write_haircuts(&haircuts_file(file), &rows.cuts, meta)?;
        backstop_data::write_paths(file, &rows.all, meta)?;
        Ok(())
    })
}

/// Whether the paths of `p` have market-fund rows (a market with a fund of
/// its own): then a chunk's market-funds file must be there to reuse it.
fn has_market_funds(p: &Prepared) -> bool {
    p.scenario
        .market
        .values()
        .any(|m| m.insurance_fund.is_some())
}

/// A chunk being saved.
type Saving<'scope> = std::thread::ScopedJoinHandle<'scope, Result<()>>;

/// The chunks being saved, in chunk order.
struct Saves<'scope>(Vec<Saving<'scope>>);

impl Saves<'_> {
    /// Once every save is done: the first save's error in chunk order; a
    /// save's panic resumed here.
    fn wait(self) -> Result<()> {
        let done: Vec<Result<()>> = self
            .0
            .into_iter()
            .map(|saving| {
                saving
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        done.into_iter().collect()
    }
}

fn haircuts_file(chunk: &Path) -> PathBuf {
    chunk.with_extension("haircuts.parquet")
}

/// The market funds' rows of a chunk, beside it (only with a market fund).
fn funds_file(chunk: &Path) -> PathBuf {
    chunk.with_extension("market_funds.parquet")
}

/// A finished chunk of this scenario, if its files are there and whole
/// (`funds`: its paths have market-fund rows, so their file must be there).
fn load_chunk(file: &Path, hash: &str, c: &Chunk, funds: bool) -> Option<Rows> {
    if !file.is_file() {
        return None;
    }
    let meta = backstop_data::read_metadata(file).ok()?;
    if !meta
        .iter()
        .any(|(k, v)| k == SCENARIO_HASH_KEY && v == hash)
    {
        return None;
    }
    let t = backstop_data::read_paths(file).ok()?;
    let expected: Vec<u64> = (c.from..c.to).collect();
    if t.path != expected || t.param_set.iter().any(|s| *s != c.set) {
        return None;
    }
    let h = backstop_data::read_haircuts(&haircuts_file(file)).ok()?;
    // Written before the paths, but not synced (`save`): after a power loss
    // the paths may be there without it, so whether it must be there is the
    // scenario's (a scenario without a market fund has none).
    let funds = if funds {
        let rows = backstop_data::read_market_funds(&funds_file(file)).ok()?;
        let expected: BTreeSet<u64> = (c.from..c.to).collect();
        let seen: BTreeSet<u64> = rows.iter().map(|r| r.path).collect();
        if seen != expected || rows.iter().any(|r| r.param_set != c.set) {
            return None;
        }
        rows
    } else {
        Vec::new()
    };
    Some(Rows {
        all: t,
        cuts: h,
        funds,
    })
}

/// Removes the files of the chunks of `work` from `work_dir`, then the
/// folder if that leaves it empty. The files are removed several at once
/// ([`remove_files`]): one after another they were most of a sweep's tail on
/// a busy disk (a 36 x 100 sweep's 144 files: ~0.5 s under load,
/// docs/performance.md, "Two threads, round 7"). Best effort, as before.
fn clean_work(work_dir: &Path, work: &[Chunk]) {
    let files: Vec<PathBuf> = work
        .iter()
        .flat_map(|c| {
            let f = work_dir.join(c.file_name());
            [haircuts_file(&f), funds_file(&f), f]
        })
        .collect();
    // Best effort: a file that cannot be removed stays, and so does the folder.
    let _ = remove_files(&files);
    // Only if empty: other shards may still be writing theirs.
    let _ = std::fs::remove_dir(work_dir);
}

/// Entries of a sweep's results folder that are not its results: the
/// resumable chunks and the shard folders (`shard-K-of-N`), carried over when
/// new results replace the folder.
const NOT_RESULTS: [&str; 2] = ["work", "shard"];

/// What the end of a sweep waits for before it publishes its results, and
/// does once they are in place.
pub(super) struct Publishing<'a> {
    /// Waited for before the results are published (the chunks' saves); its
    /// error stops the sweep with nothing published.
    pub(super) saved: Box<dyn FnOnce() -> Result<()> + Send + 'a>,
    /// Run once the results are in place, beside the removal of the
    /// previous results folder (the chunks' files removed).
    pub(super) then: Box<dyn FnOnce() + Send + 'a>,
}

/// Writes the results of a whole sweep (`base`, `grid`, `hash`) from all
/// its per-path rows, in (set, path) order, and its report into a scratch
/// folder swapped in whole once written and `publishing.saved`; prints its
/// table.
///
/// The report is drawn from the rows in memory, the sets' table and
/// `summary.json` as written, while the files are encoded and synced to
/// disk (`write_sweep_then`): the same report as one read back from them
/// (docs/performance.md, "Two threads, round 8"). The report's files are
/// not synced one by one: the scratch folder is synced whole
/// ([`super::sync_tree`]) before it is published (round 11).
pub(super) fn finalize(
    dir: &Path,
    (base, grid, hash): (&Scenario, &SweepGrid, &str),
    rows: &Rows,
    quiet: bool,
    publishing: Publishing<'_>,
) -> Result<()> {
    let folder = ScratchFolder::create(dir, &NOT_RESULTS)?;
    let at = folder.path();
    let (outcome, report) = write_sweep_then(
        at,
        base,
        grid,
        hash,
        &rows.all,
        &rows.cuts,
        &rows.funds,
        |table, summary| -> Result<()> {
            let rendered = std::str::from_utf8(summary)
                .map_err(anyhow::Error::from)
                .and_then(|summary| {
                    let data = backstop_report::ReportData::from_sweep(
                        at,
                        summary,
                        table,
                        &rows.all,
                        &rows.cuts,
                        &rows.funds,
                    )?;
                    Ok(backstop_report::write_report_unsynced(&data, at)?)
                });
            rendered
                .map(drop)
                .with_context(|| format!("{}: cannot render the report", at.display()))
        },
    );
    // The results' error first.
    let outcome = outcome?;
    report.unwrap_or(Ok(()))?;
    // The report was written unsynced: every file and folder synced at
    // once but the results' files (synced as they were written).
    super::sync_tree(at, &backstop_sim::run::results::SYNCED_FILES)?;
    (publishing.saved)()?;
    folder.publish_then(&NOT_RESULTS, publishing.then)?;
    if !quiet {
        print_table(dir, grid, &outcome, &rows.funds);
    }
    Ok(())
}

/// A set's market funds on the terminal ("" without one): per fund, on how
/// many of the set's paths it depleted.
fn fund_cells(funds: &[MarketFundRow], set: u32) -> String {
    let mut out = BTreeMap::<&str, (u64, u64)>::new();
    for f in funds.iter().filter(|f| f.param_set == set) {
        let e = out.entry(f.market.as_str()).or_default();
        e.0 += u64::from(f.first_depletion_step.is_some());
        e.1 += 1;
    }
    out.iter()
        .map(|(m, (d, n))| format!("  {m} fund depleted on {d} of {n} paths"))
        .collect()
}

/// The sweep's table on the terminal: every set's depletion probability (and
/// its market funds' depletions), and the best set meeting the target.
fn print_table(dir: &Path, grid: &SweepGrid, outcome: &SweepOutcome, funds: &[MarketFundRow]) {
    let SweepOutcome {
        aggregates,
        meets,
        ranked,
    } = outcome;
    let names: Vec<&str> = grid.parameters.iter().map(|p| p.key.as_str()).collect();
    println!("set  {}  depletion [95% CI]", names.join("  "));
    for (set, a) in aggregates.iter().enumerate() {
        let d = &a.insurance_fund_depletion;
        let mark = match meets[set] {
            Some(true) => "  meets target",
            _ => "",
        };
        println!(
            "{set:<4} {}  {:.2}% [{:.2}%, {:.2}%]{mark}{}",
            grid.values(set as u32)
                .iter()
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join("  "),
            100.0 * d.probability,
            100.0 * d.ci95[0],
            100.0 * d.ci95[1],
            fund_cells(funds, set as u32)
        );
    }
    if let Some(max) = grid.max_depletion_probability {
        match ranked.first() {
            Some(best) => println!(
                "best          set {best} ({}) keeps depletion <= {:.2}%",
                grid.describe(*best),
                100.0 * max
            ),
            None => {
                println!(
                    "best          no set keeps depletion <= {:.2}% ({})",
                    100.0 * max,
                    if grid.use_upper_bound {
                        "upper end of the 95% interval"
                    } else {
                        "point estimate"
                    }
                );
                if let Some(n) = backstop_report::clean_paths_needed(max) {
                    println!(
                        "              showing <= {:.2}% at 95% confidence takes at least {} paths with no depletion",
                        100.0 * max,
                        backstop_report::format::count(n as f64)
                    );
                }
            }
        }
    }
    println!("results       {}", dir.display());
}
