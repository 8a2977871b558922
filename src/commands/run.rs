//! `backstop run`: simulate a scenario and write its results folder
//! (`<out>/<scenario name>/`) and report.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use backstop_data::results::folder::ScratchFolder;
use backstop_report::format::{count, pct_interval};
use backstop_sim::run::aggregate::{Aggregates, Probability};
use backstop_sim::{PathMetrics, Prepared, RunOutput};

use super::usd;

/// What `backstop run` was asked to do.
pub struct RunArgs<'a> {
    /// Scenario file.
    pub file: &'a Path,
    /// Folder the results folder is created in.
    pub out: &'a Path,
    /// No progress bar, no headline.
    pub quiet: bool,
    /// Worker threads (one per core when `None`).
    pub threads: Option<usize>,
    /// Paths instead of the scenario's.
    pub paths: Option<u32>,
}

/// Runs the scenario, then writes its results and report.
///
/// # Errors
/// The scenario is invalid, the simulation fails, or a file cannot be written.
pub fn run(a: &RunArgs<'_>) -> Result<()> {
    let prepared = prepare(a.file, a.quiet, a.paths)?;
    // Everything is written into a scratch folder, swapped in whole once every
    // file is written (a failed run drops it): path 0's series (and a one-path
    // run's bands) stream into it as the path runs, so memory does not grow
    // with the steps.
    let dir: PathBuf = a.out.join(&prepared.scenario.name);
    let folder = ScratchFolder::create(&dir, &[])?;
    let output = execute(&prepared, a.file, a.quiet, a.threads, Some(folder.path()))?;
    // The results (the bands' quantiles are computed in parallel) and the
    // report (its charts are drawn in parallel) on a pool of `--threads`
    // workers, not on one per core.
    let pool = super::worker_pool(a.threads)?;
    let (paths, aggregates) = write_and_report(folder.path(), &prepared, output, &pool)?;
    // The report was written unsynced: every file and folder synced at
    // once but the results' files (synced as they were written), then the
    // folder published.
    super::sync_tree(folder.path(), &backstop_sim::run::results::SYNCED_FILES)?;
    folder.publish(&[])?;
    if !a.quiet {
        print_headline(&dir, &prepared, &paths, &aggregates);
    }
    Ok(())
}

/// Writes `output`'s results into `dir` and the report beside them; gives
/// back the per-path metrics and aggregates (the headline's).
///
/// The report is drawn as soon as every file but `bands.parquet` is in
/// place and every band row is computed, from those rows in memory, while
/// `bands.parquet` is encoded and synced to disk on a thread of its own
/// (`write_run_then`); then path 0's series and the bands are freed on the
/// writing thread, beside the report, not on the main thread after it
/// (docs/performance.md, "Two threads, rounds 6 and 7"). A one-path run's
/// bands (already on disk) and a failed write: the report after the files.
///
/// The report's files are not synced to disk one by one (each is still
/// renamed into place whole): `dir` is a scratch folder, synced whole by
/// [`super::sync_tree`] before it is published, so that each report file
/// does not wait for its own sync and then its folder's after the rename,
/// before the folder's sync (docs/performance.md, "Two threads, round
/// 11"). The results' files are synced as they are written, beside the
/// band rows: their data deferred to that last sync made it longer.
///
/// # Errors
/// A file cannot be written (the results' error first), or the report
/// cannot be rendered.
fn write_and_report(
    dir: &Path,
    prepared: &Prepared,
    output: RunOutput,
    pool: &rayon::ThreadPool,
) -> Result<(Vec<PathMetrics>, Aggregates)> {
    let reader = Mutex::new(backstop_report::BandsReader::default());
    let (tell, told) = std::sync::mpsc::channel::<bool>();
    let (written, early) = std::thread::scope(|scope| {
        let writing = scope.spawn(|| {
            // Dropped with this thread, even by a panic: never waited for in vain.
            let tell = tell;
            let written = backstop_sim::run::results::write_run_then(
                dir,
                prepared,
                &output,
                Some(pool),
                &mut |rows| lock(&reader).push(rows),
                &|complete| {
                    // Not heard: the report is then drawn after the files.
                    let _ = tell.send(complete);
                },
            );
            let RunOutput {
                paths, aggregates, ..
            } = output;
            (written, paths, aggregates)
        });
        // Told `false` (or not at all): the report waits for the files.
        let early = match told.recv() {
            Ok(true) => {
                let bands = std::mem::take(&mut *lock(&reader));
                Some(pool.install(|| render_unsynced(dir, Some(bands))))
            }
            _ => None,
        };
        let written = writing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (written, early)
    });
    let (written, paths, aggregates) = written;
    written?;
    match early {
        Some(report) => report?,
        None => pool.install(|| render_unsynced(dir, None))?,
    };
    Ok((paths, aggregates))
}

/// The report of the scratch folder `dir`, not synced to disk
/// ([`backstop_report::render_with_bands_unsynced`]), its bands folded from
/// `bands` when given.
fn render_unsynced(
    dir: &Path,
    bands: Option<backstop_report::BandsReader>,
) -> Result<backstop_report::ReportFiles> {
    backstop_report::render_with_bands_unsynced(dir, bands)
        .with_context(|| format!("{}: cannot render the report", dir.display()))
}

/// `m`'s value, even if a thread panicked holding it (that panic is resumed
/// where the thread is joined).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Loads, prepares and runs the scenario in `file` on a pool of `threads`
/// workers (one per core when `None`), with `paths` paths instead of the
/// scenario's if given: what `backstop run` computes before it writes anything
/// (the Python package's in-memory run shares it).
///
/// # Errors
/// The scenario is invalid or the simulation fails.
pub fn simulate(
    file: &Path,
    quiet: bool,
    threads: Option<usize>,
    paths: Option<u32>,
) -> Result<(Prepared, RunOutput)> {
    let prepared = prepare(file, quiet, paths)?;
    let output = execute(&prepared, file, quiet, threads, None)?;
    Ok((prepared, output))
}

/// Loads and prepares the scenario in `file`, with `paths` paths instead of
/// the scenario's if given.
fn prepare(file: &Path, quiet: bool, paths: Option<u32>) -> Result<Prepared> {
    let mut prepared = super::prepare(file, quiet)?;
    if prepared.scenario.sweep.is_some() && !quiet {
        eprintln!(
            "note: {} has a [sweep]; `backstop run` runs its base values only (use `backstop sweep` for every parameter set)",
            file.display()
        );
    }
    if let Some(n) = paths {
        prepared
            .set_paths(n)
            .with_context(|| format!("{}: --paths {n}", file.display()))?;
    }
    Ok(prepared)
}

/// Runs `prepared` (from `file`) on a pool of `threads` workers, streaming
/// path 0's series into `dir` when given ([`Prepared::run_into`]).
fn execute(
    prepared: &Prepared,
    file: &Path,
    quiet: bool,
    threads: Option<usize>,
    dir: Option<&Path>,
) -> Result<RunOutput> {
    let pool = super::worker_pool(threads)?;
    let bar = super::progress_bar(u64::from(prepared.scenario.paths), "paths");
    let started = std::time::Instant::now();
    let show = !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |done: u64| {
        // Only runs that last: a bar flashing for 50 ms is noise.
        if show && bar.is_hidden() && started.elapsed().as_secs_f64() > 1.0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        bar.set_position(done);
    };
    let output = pool
        .install(|| match dir {
            Some(d) => prepared.run_into(d, &progress),
            None => prepared.run(&progress),
        })
        .with_context(|| format!("{}: simulation failed", file.display()))?;
    bar.finish_and_clear();
    Ok(output)
}

/// Runs the scenario in `file` as `backstop run` does and returns its results
/// in memory (`summary.json`'s bytes and every table's record batches, built
/// by the code that writes the files) without writing anything.
///
/// # Errors
/// The scenario is invalid or the simulation fails.
#[allow(
    dead_code,
    reason = "the Python package's (crates/python compiles src/commands by path)"
)]
pub fn run_in_memory(
    file: &Path,
    threads: Option<usize>,
    paths: Option<u32>,
) -> Result<backstop_sim::run::results::RunTables> {
    let (prepared, output) = simulate(file, true, threads, paths)?;
    backstop_sim::run::results::run_tables(&prepared, &output)
        .with_context(|| format!("{}: cannot build the results", file.display()))
}

/// The run's headline on the terminal: one path's figures, or the statistics
/// across paths.
fn print_headline(dir: &Path, prepared: &Prepared, paths: &[PathMetrics], a: &Aggregates) {
    println!("scenario      {}", prepared.scenario.name);
    println!("accounts      {}", count(prepared.population.len() as f64));
    if prepared.below_maintenance > 0 {
        let dropped = prepared.below_maintenance_dropped;
        println!(
            "start book    {} accounts were below maintenance at the start mark: {}",
            prepared.below_maintenance,
            if dropped > 0 {
                "dropped"
            } else {
                "kept (liquidated at step 0)"
            }
        );
    }
    if let [m] = paths {
        println!("steps         {}", count(f64::from(m.steps)));
        println!(
            "insurance     {} -> {} (min {}, max drawdown {:.1}%)",
            usd(m.insurance_fund_initial),
            usd(m.insurance_fund_final),
            usd(m.insurance_fund_min),
            100.0 * m.insurance_fund_max_drawdown_pct
        );
        let vault = prepared.scenario.vault.is_some();
        println!(
            "bad debt      {} = fund {} + ADL {} + socialized {} + insolvency {}{}",
            usd(m.bad_debt),
            usd(m.insurance_fund_payouts),
            usd(m.adl_cost),
            usd(m.socialized_loss),
            usd(m.insolvency),
            if vault {
                format!(" + vault {}", usd(m.vault_bad_debt))
            } else {
                String::new()
            }
        );
        println!(
            "liq. orders   {} ({} accounts, {})",
            count(f64::from(m.liquidation_orders)),
            count(f64::from(m.accounts_liquidated)),
            usd(m.liquidated_notional)
        );
        println!(
            "ADL closes    {} ({} at the mark)",
            count(f64::from(m.adl_closes)),
            usd(m.adl_notional)
        );
        if vault {
            println!(
                "vault         {} -> {} (min {}, {} takeovers, {} taken over, floor {})",
                usd(m.vault_capital),
                usd(m.vault_equity_final),
                usd(m.vault_equity_min),
                count(f64::from(m.vault_takeovers)),
                usd(m.vault_takeover_notional),
                m.vault_floor_step
                    .map_or_else(|| "never hit".to_owned(), |s| format!("hit at step {s}"))
            );
        }
    } else {
        print_across_paths(prepared, a);
    }
    println!("results       {}", dir.display());
}

/// The headline of a run of many paths: probabilities with their intervals,
/// the fund's tail loss, bad debt's quantiles, Cover-1/2.
fn print_across_paths(prepared: &Prepared, a: &Aggregates) {
    let pct = |p: &Probability| {
        format!(
            "{} ({} of {} paths)",
            pct_interval(p.probability, p.ci95[0], p.ci95[1]),
            count(p.count as f64),
            count(a.paths as f64)
        )
    };
    println!(
        "paths         {} x {} steps",
        count(a.paths as f64),
        count(prepared.scenario.steps() as f64)
    );
    println!("depletion     {}", pct(&a.insurance_fund_depletion));
    println!("socialized    {}", pct(&a.socialized_loss_any));
    if let Some(adl) = &a.adl_any {
        println!("adl           {}", pct(adl));
    }
    println!(
        "fund loss     VaR99 {}, ES99 {}",
        usd(a.insurance_fund_loss.var_99),
        usd(a.insurance_fund_loss.es_99)
    );
    if let Some(b) = a.metrics.get("bad_debt") {
        println!(
            "bad debt      median {}, p99 {}, max {}",
            usd(b.p50),
            usd(b.p99),
            usd(b.max)
        );
    }
    for (label, name) in [
        ("liq. orders ", "liquidation_orders"),
        ("ADL closes  ", "adl_closes"),
    ] {
        if let Some(q) = a.metrics.get(name) {
            println!(
                "{label}  median {}, p99 {}, max {}",
                count(q.p50),
                count(q.p99),
                count(q.max)
            );
        }
    }
    if let Some(v) = &a.vault_loss {
        println!(
            "vault loss    VaR99 {}, ES99 {}",
            usd(v.var_99),
            usd(v.es_99)
        );
    }
    println!("cover-1/2     {} / {}", usd(a.cover_1), usd(a.cover_2));
}
