//! `report.html` and `report.md`: the same content (`content`), two renderings
//! (`html`, `markdown`).

mod book;
mod content;
mod html;
mod markdown;
mod market_funds;
mod recommend;

use content::Content;
pub use recommend::clean_paths_needed;
use recommend::sentence;

use crate::charts::plot::Chart;
use crate::charts::specs;
use crate::data::ReportData;
use crate::error::ReportError;

/// A rendered report, before it is written anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The charts, in report order.
    pub charts: Vec<Chart>,
    /// `report.html`: self-contained, SVGs inline.
    pub html: String,
    /// `report.md`: links `charts/{name}.png`.
    pub markdown: String,
}

/// Renders every chart and both documents from `data`; a chart with nothing to
/// show becomes one sentence of the Charts section instead.
///
/// # Errors
///
/// The first chart's error ([`ReportError::Chart`], [`ReportError::Png`] or
/// [`ReportError::Invalid`]).
pub fn build(data: &ReportData) -> Result<Report, ReportError> {
    // The charts and the sections (with their own charts) are drawn side by
    // side on the current rayon pool; the first error is the charts'.
    let (charts, content) = rayon::join(|| specs::all(data), || Content::new(data));
    let (charts, empty): (Vec<Chart>, Vec<Chart>) =
        charts?.into_iter().partition(|c| c.message.is_none());
    let mut content = content?;
    content.chart_notes = empty
        .iter()
        .filter_map(|c| c.message.as_ref().map(|m| sentence(m)))
        .collect();
    let (html, markdown) = rayon::join(
        || html::html(&content, &charts),
        || markdown::markdown(&content, &charts),
    );
    // Every chart's files: the Charts section's and those under their sections.
    let mut all = charts;
    for section in content.front.iter().chain(&content.book) {
        all.extend(section.charts.iter().cloned());
    }
    Ok(Report {
        charts: all,
        html,
        markdown,
    })
}
