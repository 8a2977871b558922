//! `backstop`: backtest and stress-simulate the post-trade risk machinery of crypto
//! derivatives venues (margin, liquidation, insurance fund, ADL, socialized loss).
//!
//! ```text
//! backstop run scenarios/linear-crash.toml     # simulate, write notebooks-out/<name>/
//! backstop validate scenarios/linear-crash.toml  # check a scenario without running it
//! backstop sweep scenarios/sweep-margin-fee.toml # every parameter set of a [sweep]
//! backstop compare notebooks-out/a notebooks-out/b # two runs side by side (or more)
//! ```

// clap prints these doc comments as the help text, where `<out>` is a
// placeholder and `[sweep]` a scenario table the user reads, not HTML or a
// link; rustdoc would read them as such.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// the controls), or more than two in one table across runs (e.g. the same
    /// crash under each venue's rule book): write compare.html, compare.md and
    /// charts/ into --out.
    Compare {
        /// Results folders (written by `backstop run`): A B, or more; with two,
        /// differences are B − A.
        #[arg(required = true, num_args = 2.., value_name = "DIR")]
        runs: Vec<PathBuf>,
        /// Folder to write into [default: notebooks-out/compare-<A>-vs-<B>[-vs-<C>...]].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Name of run A in the documents [default: its scenario name] (two runs).
        #[arg(long)]
        label_a: Option<String>,
        /// Name of run B in the documents [default: its scenario name] (two runs).
        #[arg(long)]
        label_b: Option<String>,
        /// Names of the runs in the documents, one per folder in order
        /// (repeat it) [default: the scenario names without their shared prefix].
        #[arg(long = "label", value_name = "LABEL")]
        labels: Vec<String>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run every scenario of a folder (the historical crash library) with its
    /// own parameters and with recommended ones: given (--set), or the
    /// cheapest combination of --try values under which the fund survives the
    /// crashes; write one table (<out>/library/library.md and library.csv).
    Library {
        /// Folder of scenario files.
        #[arg(default_value = "scenarios/history")]
        dir: PathBuf,
        /// A recommended parameter, KEY=VALUE (key paths as in [sweep]); repeat.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Values to recommend from, KEY=V1,V2,... (repeat for more keys):
        /// every combination runs the library; the first key is the cost
        /// (lower is cheaper).
        #[arg(long = "try", value_name = "KEY=V1,V2,...")]
        candidates: Vec<String>,
        /// The target of --try: the fund depleted in at most this many crashes.
        #[arg(long, default_value_t = 0)]
        max_depleted: u32,
        /// Folder the table is written into.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Worker threads (default: one per core). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Size the insurance fund: run the scenario once with a fund that cannot run
    /// out and print the fund a depletion target needs (with its 95% interval),
    /// from the paths' uncensored needs; writes <out>/<name>-size-fund/.
    SizeFund {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// The target: P(depletion) at most this.
        #[arg(long, default_value_t = 0.01)]
        target: f64,
        /// Folder the results folder is created in.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Run this many paths instead of the scenario's `paths`.
        #[arg(long)]
        paths: Option<u32>,
        /// Worker threads (default: one per core). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Print the one-line answer only.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a scenario under each ADL allocation (same paths, same population) and
    /// print one table comparing them; writes <out>/<name>-adl-lab/adl_lab.md.
    AdlLab {
        /// Scenario file (TOML) with `last_line.kind = "adl"`.
        scenario: PathBuf,
        /// Comma-separated: queue:<binance|bitmex|hyperliquid|dydx>, pro_rata,
        /// min_max_leverage, water_fill, capped_pro_rata, min_pnl_haircut.
        #[arg(
            long,
            default_value = "queue:binance,queue:hyperliquid,pro_rata,min_max_leverage,water_fill,capped_pro_rata,min_pnl_haircut"
        )]
        policies: String,
        /// Folder the lab's folder is created in.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Run this many paths instead of the scenario's `paths`.
        #[arg(long)]
        paths: Option<u32>,
        /// Worker threads (default: one per core). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Check a scenario file (syntax, keys, values, population) without running it.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Print the JSON Schema of scenario files (draft-07), for editors: see the
    /// README's "Scenario files".
    Schema,
    /// Liquidation and bankruptcy prices of an account's positions under a venue's
    /// rule book (the engine's own computation): distance from the mark, bracket.
    LiqPrice {
        /// Account file (TOML): venue, collateral, [market.<name>] marks, [[position]].
        account: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Import exchange/vendor files into a tick-history Parquet file.
    #[cfg(feature = "import")]
    Import(commands::import::ImportArgs),
}

/// How much free memory glibc's `malloc` may keep at the top of a heap
/// before it gives it back to the kernel ([`keep_freed_heap`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 256 << 20;

/// Lets glibc's `malloc` keep the memory a sweep frees (up to
/// [`TRIM_THRESHOLD`] a heap) instead of returning it to the kernel at each
/// free: a sweep saves each chunk of results on a short-lived thread whose
/// Parquet encoders (their dictionaries) allocate and free ~1 MB, and with
/// the default threshold (128 KB) the thread's heap was trimmed after each
/// save and faulted in again (and zeroed) by the next: 59k page faults of a
/// 36 x 100 sweep, ~29k with the heaps kept, for ~3 MB more peak memory
/// (docs/performance.md, "Two threads, round 11"). Not for `run`: setting
/// the threshold also fixes glibc's mmap threshold at 128 KB, and a Monte
/// Carlo run then maps and faults in its larger per-path buffers each time
/// (+3k faults). A threshold set in the environment
/// (`MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`) is left as it is.
fn keep_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: `mallopt` sets one of glibc's allocator parameters, which
        // it reads under the arena locks; it touches no memory of ours. The
        // return value (0 on a refused parameter) needs no handling: the
        // default threshold is then kept, as before.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
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
        } => commands::run::run(&commands::run::RunArgs {
            file: &scenario,
            out: &out,
            quiet,
            threads,
            paths,
        }),
        Command::Calibrate { file, step_seconds } => {
            commands::calibrate::calibrate(&file, step_seconds)
        }
        Command::Report { dir } => commands::report::report(&dir),
        Command::SizeFund {
            scenario,
            target,
            out,
            paths,
            threads,
            quiet,
        } => commands::size_fund::size_fund_command(&commands::size_fund::SizeFundArgs {
            file: &scenario,
            out: &out,
            target,
            paths,
            threads,
            quiet,
        }),
        Command::AdlLab {
            scenario,
            policies,
            out,
            paths,
            threads,
        } => commands::adl_lab::adl_lab(&commands::adl_lab::AdlLabArgs {
            file: &scenario,
            out: &out,
            policies: &policies,
            paths,
            threads,
        }),
        Command::Validate { scenario } => commands::validate::validate(&scenario),
        Command::Schema => commands::schema::schema(),
        Command::LiqPrice { account, json } => commands::liq_price::liq_price(&account, json),
        #[cfg(feature = "import")]
        Command::Import(args) => commands::import::run(&args),
        Command::Sweep {
            scenario,
            out,
            threads,
            paths,
            shard,
            quiet,
        } => {
            keep_freed_heap();
            commands::sweep::sweep(&commands::sweep::SweepArgs {
                file: &scenario,
                out: &out,
                quiet,
                threads,
                paths,
                shard: shard.as_deref(),
            })
        }
        Command::Merge { dirs, out, quiet } => commands::merge::merge(&dirs, &out, quiet),
        Command::Library {
            dir,
            set,
            candidates,
            max_depleted,
            out,
            threads,
            quiet,
        } => commands::library::library(&commands::library::LibraryArgs {
            dir: &dir,
            out: &out,
            set: &set,
            candidates: &candidates,
            max_depleted,
            threads,
            quiet,
        }),
        Command::Compare {
            runs,
            out,
            label_a,
            label_b,
            labels,
            quiet,
        } => commands::compare::compare(&commands::compare::CompareArgs {
            runs: &runs,
            out: out.as_deref(),
            label_a: label_a.as_deref(),
            label_b: label_b.as_deref(),
            labels: &labels,
            quiet,
        }),
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
