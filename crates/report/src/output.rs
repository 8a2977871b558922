//! Writing a report: the documents and charts into a folder, each file
//! atomically, and [`render`], a results folder's report beside its results.

use std::path::{Path, PathBuf};

use backstop_data::results::layout::{CHARTS_DIR, REPORT_HTML_FILE, REPORT_MARKDOWN_FILE};

use crate::charts::Chart;
use crate::data::ReportData;
use crate::document::build;
use crate::error::ReportError;

/// The files a report (or a comparison) wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `report.html` (`compare.html`).
    pub html: PathBuf,
    /// `report.md` (`compare.md`).
    pub markdown: PathBuf,
    /// Every chart file, SVG and PNG, in report order.
    pub charts: Vec<PathBuf>,
}

/// Renders the report of `data` into `out_dir`: `report.html`, `report.md` and
/// `charts/*.svg`, `charts/*.png`, each written atomically.
///
/// # Errors
///
/// A chart's [`ReportError::Chart`] / [`ReportError::Png`], or
/// [`ReportError::Io`] / [`ReportError::Data`] if a file cannot be written.
pub fn write_report(data: &ReportData, out_dir: &Path) -> Result<ReportFiles, ReportError> {
    write_report_synced(data, out_dir, true)
}

/// [`write_report`] with no file synced to disk (each still written
/// atomically, by a rename, as [`backstop_data::without_sync`] writes):
/// for a scratch folder synced whole before it is published, where syncing
/// each file and then its folder made two rounds of waits for the disk
/// before the folder's own (docs/performance.md, "Two threads, round 11").
///
/// # Errors
///
/// As [`write_report`].
pub fn write_report_unsynced(
    data: &ReportData,
    out_dir: &Path,
) -> Result<ReportFiles, ReportError> {
    write_report_synced(data, out_dir, false)
}

/// [`write_report`], its files synced to disk if `synced`.
fn write_report_synced(
    data: &ReportData,
    out_dir: &Path,
    synced: bool,
) -> Result<ReportFiles, ReportError> {
    let report = build(data)?;
    write_documents(
        out_dir,
        &report.charts,
        (REPORT_MARKDOWN_FILE, &report.markdown),
        (REPORT_HTML_FILE, &report.html),
        synced,
    )
}

/// Writes `charts` into `out_dir/charts/` (SVG and PNG) and the two documents,
/// `(file name, text)`, into `out_dir`, each atomically (and synced to disk
/// if `synced`).
pub(crate) fn write_documents(
    out_dir: &Path,
    charts: &[Chart],
    (markdown_name, markdown_text): (&str, &str),
    (html_name, html_text): (&str, &str),
    synced: bool,
) -> Result<ReportFiles, ReportError> {
    let charts_dir = out_dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&charts_dir).map_err(|source| ReportError::Io {
        path: charts_dir.clone(),
        context: "cannot create the charts folder",
        source,
    })?;
    let mut files: Vec<(PathBuf, &[u8])> = Vec::with_capacity(charts.len() * 2 + 2);
    for chart in charts {
        let svg = charts_dir.join(format!("{}.svg", chart.name));
        files.push((svg, chart.svg.as_bytes()));
        let png = charts_dir.join(format!("{}.png", chart.name));
        files.push((png, &chart.png));
    }
    let chart_files = files.iter().map(|(path, _)| path.clone()).collect();
    let markdown = out_dir.join(markdown_name);
    files.push((markdown.clone(), markdown_text.as_bytes()));
    let html = out_dir.join(html_name);
    files.push((html.clone(), html_text.as_bytes()));
    write_files(&files, synced)?;
    Ok(ReportFiles {
        html,
        markdown,
        charts: chart_files,
    })
}

/// Writes each `(path, bytes)` atomically. Synced, all at once: one thread
/// per file, so that their syncs to disk (two a file: the file and its
/// folder) wait together rather than one after another (docs/performance.md,
/// "Two threads, round 5"). With `synced` false nothing is synced
/// ([`backstop_data::without_sync`]) and no write waits for the disk: the
/// files are written by the current rayon pool's workers instead, with no
/// thread started for each (round 13). The files are independent: their
/// bytes do not depend on the order they are written in.
///
/// # Errors
///
/// The first file's error, in the order of `files`.
pub(crate) fn write_files(files: &[(PathBuf, &[u8])], synced: bool) -> Result<(), ReportError> {
    // A path named twice holds its last bytes, as when written in order.
    let last = |i: usize| !files[i + 1..].iter().any(|(p, _)| *p == files[i].0);
    let kept: Vec<&(PathBuf, &[u8])> = (0..files.len())
        .filter(|&i| last(i))
        .map(|i| &files[i])
        .collect();
    let results: Vec<Result<(), ReportError>> = if synced {
        write_on_threads(&kept)
    } else {
        use rayon::prelude::*;
        kept.par_iter()
            .with_max_len(1)
            .map(|(path, bytes)| {
                backstop_data::without_sync(|| backstop_data::write_bytes_atomically(path, bytes))
                    .map_err(ReportError::from)
            })
            .collect()
    };
    results.into_iter().collect()
}

/// Writes each `(path, bytes)` atomically and synced, one thread per file;
/// each file's outcome in the order of `files`.
fn write_on_threads(files: &[&(PathBuf, &[u8])]) -> Vec<Result<(), ReportError>> {
    std::thread::scope(|scope| {
        let writers: Vec<_> = files
            .iter()
            .map(|(path, bytes)| {
                scope.spawn(move || backstop_data::write_bytes_atomically(path, bytes))
            })
            .collect();
        writers
            .into_iter()
            .map(|w| match w.join() {
                Ok(written) => written.map_err(ReportError::from),
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Loads the results in `results_dir` ([`ReportData::load`]) and writes the report
/// beside them ([`write_report`]): `report.html`, `report.md`, `charts/*.svg` and
/// `charts/*.png`.
///
/// # Errors
///
/// As [`ReportData::load`] and [`write_report`].
pub fn render(results_dir: &Path) -> Result<ReportFiles, ReportError> {
    let data = ReportData::load(results_dir)?;
    write_report(&data, results_dir)
}

/// [`render`], the bands folded from `bands` (every row of `bands.parquet`,
/// as it was written: [`ReportData::load_with_bands`]) when given, and the
/// files not synced to disk ([`write_report_unsynced`]): for a scratch
/// folder synced whole before it is published (`backstop run`).
///
/// # Errors
///
/// As [`render`].
pub fn render_with_bands_unsynced(
    results_dir: &Path,
    bands: Option<crate::data::BandsReader>,
) -> Result<ReportFiles, ReportError> {
    let data = ReportData::load_with_bands(results_dir, bands)?;
    write_report_unsynced(&data, results_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files written side by side hold what one-after-another writing left:
    /// a path named twice its last bytes; the first error in list order.
    #[test]
    fn files_side_by_side_are_those_written_in_order() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let files: Vec<(PathBuf, &[u8])> = vec![
            (a.clone(), b"first".as_slice()),
            (b.clone(), b"b".as_slice()),
            (a.clone(), b"last".as_slice()),
        ];
        write_files(&files, true).expect("written");
        assert_eq!(std::fs::read(&a).expect("a"), b"last");
        assert_eq!(std::fs::read(&b).expect("b"), b"b");
        let missing = |name: &str| dir.path().join("no such folder").join(name);
        let (x, y) = (missing("x.txt"), missing("y.txt"));
        let bad: Vec<(PathBuf, &[u8])> = vec![
            (a.clone(), b"again".as_slice()),
            (x, b"x".as_slice()),
            (y, b"y".as_slice()),
        ];
        for synced in [true, false] {
            let err = write_files(&bad, synced)
                .expect_err("no folder")
                .to_string();
            assert!(err.contains("x.txt") && !err.contains("y.txt"), "{err}");
            assert_eq!(std::fs::read(&a).expect("a"), b"again");
        }
    }

    /// Written unsynced (for a scratch folder synced whole), the files are
    /// those written synced: the same names and bytes, no temporary file
    /// left behind.
    #[test]
    fn unsynced_files_are_those_written_synced() {
        let listing = |dir: &Path| {
            let mut files: Vec<(std::ffi::OsString, Vec<u8>)> = std::fs::read_dir(dir)
                .expect("listed")
                .map(|e| {
                    let e = e.expect("entry");
                    (e.file_name(), std::fs::read(e.path()).expect("read"))
                })
                .collect();
            files.sort();
            files
        };
        let (synced, unsynced) = (
            tempfile::tempdir().expect("temporary folder"),
            tempfile::tempdir().expect("temporary folder"),
        );
        for (dir, sync) in [(synced.path(), true), (unsynced.path(), false)] {
            let files: Vec<(PathBuf, &[u8])> = vec![
                (dir.join("a.svg"), b"<svg/>".as_slice()),
                (dir.join("b.png"), b"\x89PNG".as_slice()),
                (dir.join("a.svg"), b"<svg>last</svg>".as_slice()),
            ];
            write_files(&files, sync).expect("written");
        }
        let written = listing(synced.path());
        assert_eq!(written.len(), 2, "{written:?}");
        assert_eq!(written, listing(unsynced.path()));
    }
}
