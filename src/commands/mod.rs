//! The subcommands, one file each, and what several of them share: loading a
//! scenario, the progress bar, the worker pool, USD for the terminal.

pub mod adl_lab;
pub mod calibrate;
pub mod compare;
#[cfg(feature = "import")]
pub mod import;
pub mod library;
pub mod liq_price;
pub mod merge;
pub mod report;
pub mod run;
pub mod schema;
mod shard;
pub mod size_fund;
pub mod sweep;
pub mod validate;

use std::path::Path;

use anyhow::{Context, Result};
use backstop_sim::{Prepared, Scenario};

/// The folder a scenario's relative file names are read from: its own.
fn scenario_dir(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new("."))
}

/// Loads, validates and prepares the scenario in `file`, and prints on stderr
/// (unless `quiet`) what preparing it changed that the user should know (the
/// positions the lot grid moved by more than 1%, counted: `Prepared::notes`).
fn prepare(file: &Path, quiet: bool) -> Result<Prepared> {
    let scenario = Scenario::load(file)?;
    let prepared = Prepared::new(scenario, scenario_dir(file))
        .with_context(|| format!("{}: cannot prepare the run", file.display()))?;
    for note in prepared.notes().iter().filter(|_| !quiet) {
        eprintln!("note: {}: {note}", file.display());
    }
    Ok(prepared)
}

/// A rayon pool of `threads` workers (one per core when `None`).
fn worker_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")
}

/// A hidden progress bar of `len` steps counting `what` (shown by the caller
/// when the run lasts and stderr is a terminal).
fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::hidden();
    bar.set_length(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{eta}} left)"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Renders the report of a results folder.
fn render_report(dir: &Path) -> Result<backstop_report::ReportFiles> {
    render_report_with(dir, None)
}

/// Renders the report of a results folder, its bands folded from `bands`
/// (every band row as written) when given rather than read back.
fn render_report_with(
    dir: &Path,
    bands: Option<backstop_report::BandsReader>,
) -> Result<backstop_report::ReportFiles> {
    backstop_report::render_with_bands(dir, bands)
        .with_context(|| format!("{}: cannot render the report", dir.display()))
}

/// Whole US dollars with thousands separators, for the terminal: `-1,234 USD`.
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
