//! `backstop compare`: two runs side by side (`compare.html`, `compare.md` and
//! their charts), typically the same scenario with and without a control; or
//! more than two in one table across runs (`many`), typically the same crash
//! under each venue's rule book.
//!
//! Each run is read from its results folder alone, as a report is. The headline
//! table shows each run's value (one path: the path's; several: the mean across
//! paths, with the 99th percentile for the fund drawdown and bad debt), the
//! difference B − A, and plain-words lines; the chart overlays the two
//! insurance-fund balances (one path: the path; several: the median).
//!
//! `run` loads and labels the runs, `values` shows and compares values,
//! `table`, `notes`, `chart` and `doc` make the parts of the comparison.

mod chart;
mod doc;
mod many;
mod notes;
mod run;
mod table;
mod values;

use std::path::Path;

pub use run::{
    COMPARE_HTML, COMPARE_MARKDOWN, CompareFiles, Comparison, Run, default_labels, load_run, write,
};

pub use many::{build_many, compare_many, default_labels_many};

use chart::fund_chart;
use doc::Doc;
use notes::{notes, run_text, settings};
use table::{controls_side, table};
use values::multi_any;

use crate::controls::controls_in_force;
use crate::error::ReportError;

/// Loads the two results folders, labels them (`None`: [`default_labels`]) and
/// writes `compare.html`, `compare.md` and `charts/*` into `out_dir`, each file
/// atomically.
///
/// # Errors
///
/// As [`load_run`] (naming the folder), [`build`], and [`ReportError::Io`] /
/// [`ReportError::Data`] when a file cannot be written.
pub fn compare(
    a_dir: &Path,
    b_dir: &Path,
    label_a: Option<&str>,
    label_b: Option<&str>,
    out_dir: &Path,
) -> Result<CompareFiles, ReportError> {
    let a = load_run(a_dir)?;
    let b = load_run(b_dir)?;
    let (da, db) = default_labels(a_dir, &a, b_dir, &b);
    let label_a = label_a.map_or(da, str::to_owned);
    let label_b = label_b.map_or(db, str::to_owned);
    if label_a == label_b {
        return Err(ReportError::Invalid {
            what: "labels".to_owned(),
            reason: format!("both runs are labelled `{label_a}`; give two different labels"),
        });
    }
    let comparison = build(
        &Run {
            label: label_a,
            dir: a_dir,
            data: &a,
        },
        &Run {
            label: label_b,
            dir: b_dir,
            data: &b,
        },
    )?;
    write(&comparison, out_dir)
}

/// Renders the comparison of `a` and `b`: the headline table with the
/// difference B − A, plain-words lines, each run's controls, and the overlaid
/// insurance-fund chart.
///
/// # Errors
///
/// The chart's [`ReportError::Chart`] / [`ReportError::Png`].
pub fn build(a: &Run, b: &Run) -> Result<Comparison, ReportError> {
    let in_a = controls_in_force(&a.data.summary);
    let in_b = controls_in_force(&b.data.summary);
    let controls_side = controls_side(a, b, &in_a, &in_b);
    let side = controls_side.as_ref().map(|(m, w)| (*m, w.as_str()));
    let table = table(a, b, side);
    let doc = Doc {
        title: format!("Comparison: {} vs {}", a.label, b.label),
        runs: vec![run_text(a, &in_a), run_text(b, &in_b)],
        head: table.head,
        rows: table.rows,
        lines_title: "What changed",
        lines: table.lines,
        notes: notes(a, b, multi_any(a, b)),
        settings: vec![
            (a.label.clone(), settings(a)),
            (b.label.clone(), settings(b)),
        ],
    };
    let charts = vec![fund_chart(a, b)?];
    let html = doc.html(&charts);
    let markdown = doc.markdown(&charts);
    Ok(Comparison {
        charts,
        html,
        markdown,
    })
}
