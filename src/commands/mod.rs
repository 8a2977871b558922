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

/// At most this many syncs wait for the disk at once ([`sync_tree`]): a
/// run's scratch folder holds ~15-30 entries, so all of them.
const SYNC_THREADS: usize = 64;

/// Syncs every file and folder under `dir` (and `dir`) to disk, all at
/// once, one thread each (at most [`SYNC_THREADS`] at a time): a scratch
/// folder written unsynced ([`backstop_data::without_sync`]), before it is
/// published. Its syncs then wait for the disk together (one journal
/// commit, usually) instead of a file's, then its folder's after the
/// rename, file by file (docs/performance.md, "Two threads, round 11").
/// The files directly in `dir` named in `synced` are already synced (the
/// results' files, [`backstop_sim::run::results::SYNCED_FILES`]) and left out: no thread started
/// only to find them clean (round 14). The first error in listing order.
///
/// # Errors
/// A folder cannot be listed, a thread cannot be started, or an entry
/// cannot be opened or synced.
fn sync_tree(dir: &Path, synced: &[&str]) -> Result<()> {
    let mut entries = vec![dir.to_owned()];
    let mut k = 0;
    while k < entries.len() {
        if entries[k].is_dir() {
            let listed = std::fs::read_dir(&entries[k])
                .with_context(|| format!("cannot list {}", entries[k].display()))?;
            let mut names = listed
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<Vec<_>>>()
                .with_context(|| format!("cannot list {}", entries[k].display()))?;
            if k == 0 {
                names.retain(|p| !already_synced(p, synced));
            }
            names.sort();
            entries.extend(names);
        }
        k += 1;
    }
    for batch in entries.chunks(SYNC_THREADS) {
        let synced: Vec<std::io::Result<()>> = std::thread::scope(|scope| {
            let syncing: Vec<_> = batch
                .iter()
                .map(|e| {
                    std::thread::Builder::new()
                        .spawn_scoped(scope, move || std::fs::File::open(e)?.sync_all())
                })
                .collect();
            syncing
                .into_iter()
                .map(|s| {
                    s?.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        for (entry, s) in batch.iter().zip(synced) {
            s.with_context(|| format!("cannot sync {} to disk", entry.display()))?;
        }
    }
    Ok(())
}

/// Whether `path` is a file named in `synced` (a folder of that name is not).
fn already_synced(path: &Path, synced: &[&str]) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| synced.contains(&n))
        && path.is_file()
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
    backstop_report::render(dir)
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

#[cfg(test)]
mod tests {
    use backstop_sim::run::results::SYNCED_FILES;

    use super::*;

    /// Every folder of a tree is listed and every entry synced; a folder
    /// that is not there is an error naming it.
    #[test]
    fn sync_tree_syncs_a_tree_and_names_what_fails() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let charts = dir.path().join("charts");
        std::fs::create_dir(&charts).expect("charts folder");
        std::fs::write(dir.path().join("report.md"), b"# report").expect("written");
        std::fs::write(charts.join("a.svg"), b"<svg/>").expect("written");
        sync_tree(dir.path(), &SYNCED_FILES).expect("synced");
        let missing = dir.path().join("no such folder");
        let err = format!("{:#}", sync_tree(&missing, &[]).expect_err("missing"));
        assert!(err.contains("no such folder"), "{err}");
    }

    /// The results' files directly in the folder are left out, nothing else:
    /// not a folder of that name, not a file of that name deeper down.
    #[test]
    fn already_synced_files_are_the_named_ones_at_the_top() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let charts = dir.path().join("charts");
        std::fs::create_dir(&charts).expect("charts folder");
        let top = dir.path().join("summary.json");
        std::fs::write(&top, b"{}").expect("written");
        std::fs::write(charts.join("summary.json"), b"{}").expect("written");
        std::fs::create_dir(dir.path().join("bands.parquet")).expect("odd folder");
        assert!(already_synced(&top, &SYNCED_FILES));
        assert!(!already_synced(&top, &[]));
        assert!(!already_synced(
            &dir.path().join("report.md"),
            &SYNCED_FILES
        ));
        assert!(!already_synced(
            &dir.path().join("bands.parquet"),
            &SYNCED_FILES
        ));
        sync_tree(dir.path(), &SYNCED_FILES).expect("synced");
    }
}
