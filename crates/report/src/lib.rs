//! Charts and governance reports from backstop run results.
//!
//! A report is rendered from a run's saved results alone (never from the engine):
//! `summary.json` and the Parquet series are loaded into a [`ReportData`], every
//! chart is drawn with plotters as SVG and PNG ([`charts`]), and two documents are
//! written beside them: `report.html`, one self-contained file with the SVGs
//! inline, and `report.md`, the same content as Markdown for a governance forum
//! post, with the PNGs beside it.
//!
//! Output is deterministic: the same results give byte-identical files. Chart text
//! is laid out with a bundled font (DejaVu Sans, `fonts/`), never a system font.

#![warn(missing_docs)]

pub mod charts;
pub mod compare;
pub mod controls;
mod data;
mod document;
mod error;
pub mod format;
mod markup;
mod output;
mod pause_log;
mod sampler;
pub mod section;
mod summary;

/// Folder, inside the results folder, that receives the charts.
pub use backstop_data::results::layout::CHARTS_DIR;
/// File name of the HTML report.
pub use backstop_data::results::layout::REPORT_HTML_FILE as HTML_FILE;
/// File name of the Markdown report.
pub use backstop_data::results::layout::REPORT_MARKDOWN_FILE as MARKDOWN_FILE;
pub use charts::Chart;
pub use data::{Band, BandsReader, DepletionGrid, Haircut, PathSeries, ReportData, SweepSets};
pub use document::{Report, build, clean_paths_needed};
pub use error::ReportError;
pub use output::{
    ReportFiles, render, render_with_bands_unsynced, write_report, write_report_unsynced,
};
pub use summary::RunInfo;
