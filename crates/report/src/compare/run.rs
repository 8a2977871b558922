//! The two runs of a comparison: loading each results folder (refusing one that
//! lacks what the comparison needs), labelling them, and writing the result.

use std::path::Path;

use backstop_data::results::layout::{BANDS_FILE, PATHS_FILE, STEPS_FILE, SUMMARY_FILE};

use crate::charts::plot::Chart;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::count;
use crate::output::{ReportFiles, write_documents};

/// File name of the HTML comparison.
pub const COMPARE_HTML: &str = "compare.html";

/// File name of the Markdown comparison.
pub const COMPARE_MARKDOWN: &str = "compare.md";

/// The files a comparison wrote: `compare.html`, `compare.md` and the charts.
pub type CompareFiles = ReportFiles;

/// A rendered comparison, before it is written anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The charts.
    pub charts: Vec<Chart>,
    /// `compare.html`: self-contained, SVGs inline.
    pub html: String,
    /// `compare.md`: links `charts/{name}.png`.
    pub markdown: String,
}

/// One run of a comparison: its label and results.
#[derive(Debug, Clone, PartialEq)]
pub struct Run<'a> {
    /// How the documents name the run.
    pub label: String,
    /// Its results folder, as given.
    pub dir: &'a Path,
    /// Its results.
    pub data: &'a ReportData,
}

/// Loads a results folder for a comparison, refusing one that lacks what the
/// comparison needs: `summary.json`, `paths.parquet`, and the per-step series of
/// the chart (`steps.parquet` for a one-path run, `bands.parquet` otherwise).
///
/// # Errors
///
/// [`ReportError::Invalid`] naming the folder and the missing file, or the
/// errors of [`ReportData::load`].
pub fn load_run(dir: &Path) -> Result<ReportData, ReportError> {
    let refuse = |reason: String| ReportError::Invalid {
        what: dir.display().to_string(),
        reason,
    };
    if !dir.is_dir() {
        return Err(refuse(
            "not a folder (give a results folder written by `backstop run`)".to_owned(),
        ));
    }
    for name in [SUMMARY_FILE, PATHS_FILE] {
        if !dir.join(name).is_file() {
            return Err(refuse(format!(
                "no {name}: not a results folder written by `backstop run`"
            )));
        }
    }
    let data = ReportData::load(dir)?;
    if data.single_path() {
        if data.path0.as_ref().is_none_or(|p| p.is_empty()) {
            return Err(refuse(format!(
                "a one-path run without {} (or with an empty one): nothing to chart",
                STEPS_FILE
            )));
        }
    } else if data.venue_band("insurance_fund").is_none() {
        return Err(refuse(format!(
            "a {}-path run without the insurance-fund series of {}: nothing to chart",
            count(data.summary.paths as f64),
            BANDS_FILE
        )));
    }
    Ok(data)
}

/// The labels of two runs: the scenario names, else (equal names) the folder
/// names, else `A` and `B`.
#[must_use]
pub fn default_labels(
    a_dir: &Path,
    a: &ReportData,
    b_dir: &Path,
    b: &ReportData,
) -> (String, String) {
    if a.summary.name != b.summary.name {
        return (a.summary.name.clone(), b.summary.name.clone());
    }
    let folder = |d: &Path| {
        d.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (fa, fb) = (folder(a_dir), folder(b_dir));
    if !fa.is_empty() && !fb.is_empty() && fa != fb {
        (fa, fb)
    } else {
        ("A".to_owned(), "B".to_owned())
    }
}

/// Writes a rendered comparison into `out_dir`, each file atomically.
///
/// # Errors
///
/// [`ReportError::Io`] / [`ReportError::Data`] when a file cannot be written.
pub fn write(comparison: &Comparison, out_dir: &Path) -> Result<CompareFiles, ReportError> {
    write_documents(
        out_dir,
        &comparison.charts,
        (COMPARE_MARKDOWN, &comparison.markdown),
        (COMPARE_HTML, &comparison.html),
        true,
    )
}
