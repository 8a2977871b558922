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
    let report = build(data)?;
    write_documents(
        out_dir,
        &report.charts,
        (REPORT_MARKDOWN_FILE, &report.markdown),
        (REPORT_HTML_FILE, &report.html),
    )
}

/// Writes `charts` into `out_dir/charts/` (SVG and PNG) and the two documents,
/// `(file name, text)`, into `out_dir`, each atomically.
pub(crate) fn write_documents(
    out_dir: &Path,
    charts: &[Chart],
    (markdown_name, markdown_text): (&str, &str),
    (html_name, html_text): (&str, &str),
) -> Result<ReportFiles, ReportError> {
    let charts_dir = out_dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&charts_dir).map_err(|source| ReportError::Io {
        path: charts_dir.clone(),
        context: "cannot create the charts folder",
        source,
    })?;
    let mut chart_files = Vec::with_capacity(charts.len() * 2);
    for chart in charts {
        let svg = charts_dir.join(format!("{}.svg", chart.name));
        backstop_data::write_bytes_atomically(&svg, chart.svg.as_bytes())?;
        let png = charts_dir.join(format!("{}.png", chart.name));
        backstop_data::write_bytes_atomically(&png, &chart.png)?;
        chart_files.push(svg);
        chart_files.push(png);
    }
    let markdown = out_dir.join(markdown_name);
    backstop_data::write_bytes_atomically(&markdown, markdown_text.as_bytes())?;
    let html = out_dir.join(html_name);
    backstop_data::write_bytes_atomically(&html, html_text.as_bytes())?;
    Ok(ReportFiles {
        html,
        markdown,
        charts: chart_files,
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
