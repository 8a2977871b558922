//! `backstop`: backtest and stress-simulate the post-trade risk machinery of crypto
//! derivatives venues (margin, liquidation, insurance fund, ADL, socialized loss).
//!
//! ```text
//! backstop run scenarios/linear-crash.toml     # simulate, write notebooks-out/<name>/
//! backstop validate scenarios/linear-crash.toml  # check a scenario without running it
//! backstop sweep scenarios/sweep-margin-fee.toml # every parameter set of a [sweep]
//! backstop compare notebooks-out/a notebooks-out/b # two runs side by side
//! ```

mod sweep;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use backstop_sim::RunOutput;
use backstop_sim::{Prepared, Scenario};
use clap::{Parser, Subcommand};

#[cfg(feature = "import")]
mod import;

#[derive(Parser)]
#[command(
    name = "backstop",
    version,
    about = "Stress-simulate a derivatives venue's liquidation machinery"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results to <out>/<scenario name>/.
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Folder the results folder is created in.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Print nothing but errors (and no progress bar).
        #[arg(long, short)]
        quiet: bool,
        /// Worker threads (default: one per core). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Run this many paths instead of the scenario's `paths` (a quick look).
        #[arg(long)]
        paths: Option<u32>,
    },
    /// Render the report (report.html, report.md, charts/) of a results folder
    /// again from its saved files, without re-simulating.
    Report {
        /// A results folder written by `backstop run`.
        dir: PathBuf,
    },
    /// Fit the path models (volatility, Student-t, GARCH-t, jumps) to a prices
    /// file and print them as scenario `[path]` tables.
    Calibrate {
        /// A `prices/v1` Parquet file (e.g. from `backstop import`).
        file: PathBuf,
        /// Sample the prices every this many seconds (default: the file's own spacing).
        #[arg(long)]
        step_seconds: Option<u32>,
    },
    /// Run every parameter set of a scenario's [sweep] (or one shard of the work)
    /// and write sweep.parquet, paths.parquet, summary.json and the report.
    Sweep {
        /// Scenario file (TOML) with a [sweep] table.
        scenario: PathBuf,
        /// Folder the results folder is created in.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Worker threads (default: one per core). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Paths per parameter set instead of the scenario's `paths`.
        #[arg(long)]
        paths: Option<u32>,
        /// Compute only shard K (from 0) of N of the (set, path) work items and
        /// write <out>/<name>/shard-K-of-N/ for `backstop merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Print nothing but errors (and no progress bar).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Merge the shard folders of one sweep into the results of the whole sweep,
    /// byte for byte those of a single `backstop sweep`.
    Merge {
        /// The shard folders (<out>/<name>/shard-K-of-N), all N of them.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Folder the results folder is created in.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Compare two results folders side by side (e.g. a crash with and without
    /// the controls): write compare.html, compare.md and charts/ into --out.
    Compare {
        /// Results folder of run A (written by `backstop run`).
        a: PathBuf,
        /// Results folder of run B; differences are B − A.
        b: PathBuf,
        /// Folder to write into [default: notebooks-out/compare-<A>-vs-<B>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Name of run A in the documents [default: its scenario name].
        #[arg(long)]
        label_a: Option<String>,
        /// Name of run B in the documents [default: its scenario name].
        #[arg(long)]
        label_b: Option<String>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a scenario file (syntax, keys, values, population) without running it.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Import exchange/vendor files into a tick-history Parquet file.
    #[cfg(feature = "import")]
    Import(import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            out,
            quiet,
            threads,
            paths,
        } => run(&scenario, &out, quiet, threads, paths),
        Command::Calibrate { file, step_seconds } => calibrate(&file, step_seconds),
        Command::Report { dir } => report(&dir).map(|_| ()),
        Command::Validate { scenario } => validate(&scenario),
        #[cfg(feature = "import")]
        Command::Import(args) => import::run(&args),
        Command::Sweep {
            scenario,
            out,
            threads,
            paths,
            shard,
            quiet,
        } => sweep::sweep(&sweep::SweepArgs {
            file: &scenario,
            out: &out,
            quiet,
            threads,
            paths,
            shard: shard.as_deref(),
        }),
        Command::Merge { dirs, out, quiet } => sweep::merge(&dirs, &out, quiet),
        Command::Compare {
            a,
            b,
            out,
            label_a,
            label_b,
            quiet,
        } => compare(
            &a,
            &b,
            out.as_deref(),
            label_a.as_deref(),
            label_b.as_deref(),
            quiet,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, `: `-separated, skipping a cause whose
/// text an outer message already quotes (many errors here embed their source).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn scenario_dir(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new("."))
}

fn prepare(file: &Path) -> Result<Prepared> {
    let scenario = Scenario::load(file)?;
    let prepared = Prepared::new(scenario, scenario_dir(file))
        .with_context(|| format!("{}: cannot prepare the run", file.display()))?;
    Ok(prepared)
}

fn validate(file: &Path) -> Result<()> {
    let p = prepare(file)?;
    println!(
        "{}: ok ({} markets, {} steps, {} accounts)",
        file.display(),
        p.scenario.market.len(),
        p.scenario.steps(),
        p.population.len()
    );
    Ok(())
}

fn report(dir: &Path) -> Result<backstop_report::ReportFiles> {
    backstop_report::render(dir)
        .with_context(|| format!("{}: cannot render the report", dir.display()))
}

/// Folder name of a results folder, for the default output folder.
fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .as_deref()
        .unwrap_or(dir)
        .file_name()
        .map_or_else(|| "run".to_owned(), |n| n.to_string_lossy().into_owned())
}

fn compare(
    a: &Path,
    b: &Path,
    out: Option<&Path>,
    label_a: Option<&str>,
    label_b: Option<&str>,
    quiet: bool,
) -> Result<()> {
    let out = out.map_or_else(
        || {
            PathBuf::from("notebooks-out").join(format!(
                "compare-{}-vs-{}",
                folder_name(a),
                folder_name(b)
            ))
        },
        Path::to_path_buf,
    );
    let files = backstop_report::compare::compare(a, b, label_a, label_b, &out)
        .with_context(|| format!("cannot compare {} with {}", a.display(), b.display()))?;
    if !quiet {
        println!("compare       {}", files.markdown.display());
        println!("              {}", files.html.display());
    }
    Ok(())
}

fn calibrate(file: &Path, step_seconds: Option<u32>) -> Result<()> {
    let fit = backstop_sim::pathgen::calibrate_file(file, step_seconds)
        .with_context(|| format!("{}: cannot calibrate", file.display()))?;
    print!("{}", fit.to_toml_snippet());
    Ok(())
}

fn run(
    file: &Path,
    out: &Path,
    quiet: bool,
    threads: Option<usize>,
    paths: Option<u32>,
) -> Result<()> {
    let mut prepared = prepare(file)?;
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;
    let paths = u64::from(prepared.scenario.paths);
    let bar = indicatif::ProgressBar::hidden();
    bar.set_length(paths);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} paths ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
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
        .install(|| prepared.run(&progress))
        .with_context(|| format!("{}: simulation failed", file.display()))?;
    bar.finish_and_clear();
    // Only now, with results in hand, does anything touch the disk.
    let dir = out.join(&prepared.scenario.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_results(&dir, &prepared, &output)?;
    report(&dir)?;
    if !quiet {
        print_headline(&dir, &prepared, &output);
    }
    Ok(())
}

fn write_results(dir: &Path, prepared: &Prepared, output: &RunOutput) -> Result<()> {
    let meta = vec![
        (
            "backstop.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "backstop.scenario".to_string(),
            prepared.scenario.name.clone(),
        ),
        (
            "backstop.seed".to_string(),
            prepared.scenario.seed.to_string(),
        ),
    ];
    let rows = prepared.population_rows();
    backstop_data::write_positions(&dir.join("population.parquet"), &rows, &meta)?;
    backstop_data::write_steps(&dir.join("steps.parquet"), &output.first_path, &meta)?;
    backstop_data::write_paths(&dir.join("paths.parquet"), &output.paths_table(0), &meta)?;
    backstop_data::write_bands(&dir.join("bands.parquet"), &output.bands, &meta)?;
    backstop_data::write_haircuts(
        &dir.join("haircuts.parquet"),
        &output.haircuts_table(0),
        &meta,
    )?;
    let summary: backstop_data::Summary<&Scenario> = backstop_data::Summary {
        backstop_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: &prepared.scenario,
        scenario_hash: None,
        population: Some(backstop_data::PopulationSummary {
            accounts: prepared.population.len() as u64,
            positions: rows.len() as u64,
            collateral: prepared
                .population
                .iter()
                .map(|a| a.collateral.to_usd())
                .sum(),
        }),
        run: backstop_data::RunSummary {
            paths: output.aggregates.paths,
            steps: u64::from(output.paths.first().map_or(0, |p| p.steps)),
            path_model: Some(prepared.scenario.path.kind().to_owned()),
            sets: None,
            work_items: None,
        },
        sweep: None,
        sets: None,
        meeting_target: None,
        aggregates: summary_aggregates(&output.aggregates),
    };
    backstop_data::write_summary(
        &dir.join(backstop_data::results::layout::SUMMARY_FILE),
        &summary,
    )?;
    Ok(())
}

/// The simulator's aggregates as `summary.json` writes them
/// (`backstop_data::Aggregates`, the same fields).
pub(crate) fn summary_aggregates(
    a: &backstop_sim::aggregate::Aggregates,
) -> backstop_data::Aggregates {
    let probability = |p: &backstop_sim::aggregate::Probability| backstop_data::Probability {
        count: p.count,
        probability: p.probability,
        ci95: p.ci95,
    };
    backstop_data::Aggregates {
        paths: a.paths,
        insurance_fund_depletion: probability(&a.insurance_fund_depletion),
        socialized_loss_any: probability(&a.socialized_loss_any),
        adl_any: Some(probability(&a.adl_any)),
        insurance_fund_loss: backstop_data::TailRisk {
            var_95: a.insurance_fund_loss.var_95,
            es_95: a.insurance_fund_loss.es_95,
            var_99: a.insurance_fund_loss.var_99,
            es_99: a.insurance_fund_loss.es_99,
        },
        cover_1: a.cover_1,
        cover_2: a.cover_2,
        metrics: a
            .metrics
            .iter()
            .map(|(name, m)| {
                let summary = backstop_data::MetricSummary {
                    count: m.count,
                    mean: m.mean,
                    min: m.min,
                    p1: m.p1,
                    p5: m.p5,
                    p25: m.p25,
                    p50: m.p50,
                    p75: m.p75,
                    p95: m.p95,
                    p99: m.p99,
                    p99_9: m.p99_9,
                    max: m.max,
                };
                (name.clone(), summary)
            })
            .collect(),
    }
}

fn usd(x: f64) -> String {
    let whole = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out} USD", if x < 0.0 { "-" } else { "" })
}

fn print_headline(dir: &Path, prepared: &Prepared, output: &RunOutput) {
    println!("scenario      {}", prepared.scenario.name);
    println!("accounts      {}", prepared.population.len());
    let a = &output.aggregates;
    if let [m] = output.paths.as_slice() {
        println!("steps         {}", m.steps);
        println!(
            "liquidations  {} orders, {} accounts, {}",
            m.liquidations,
            m.accounts_liquidated,
            usd(m.liquidated_notional)
        );
        println!(
            "insurance     {} -> {} (min {}, max drawdown {:.1}%)",
            usd(m.insurance_fund_initial),
            usd(m.insurance_fund_final),
            usd(m.insurance_fund_min),
            100.0 * m.insurance_fund_max_drawdown_pct
        );
        println!(
            "bad debt      {}; socialized {}; insolvency {}",
            usd(m.bad_debt),
            usd(m.socialized_loss),
            usd(m.insolvency)
        );
        println!(
            "adl           {} events, {}",
            m.adl_events,
            usd(m.adl_notional)
        );
    } else {
        let pct = |p: &backstop_sim::aggregate::Probability| {
            format!(
                "{:.1}% [{:.1}%, {:.1}%] ({} paths)",
                100.0 * p.probability,
                100.0 * p.ci95[0],
                100.0 * p.ci95[1],
                p.count
            )
        };
        let q = |name: &str| a.metrics.get(name);
        println!(
            "paths         {} x {} steps",
            a.paths,
            prepared.scenario.steps()
        );
        println!("depletion     {}", pct(&a.insurance_fund_depletion));
        println!("socialized    {}", pct(&a.socialized_loss_any));
        println!("adl           {}", pct(&a.adl_any));
        println!(
            "fund loss     VaR99 {}, ES99 {}",
            usd(a.insurance_fund_loss.var_99),
            usd(a.insurance_fund_loss.es_99)
        );
        if let Some(b) = q("bad_debt") {
            println!(
                "bad debt      median {}, p99 {}, max {}",
                usd(b.p50),
                usd(b.p99),
                usd(b.max)
            );
        }
        println!("cover-1/2     {} / {}", usd(a.cover_1), usd(a.cover_2));
    }
    println!("results       {}", dir.display());
}
