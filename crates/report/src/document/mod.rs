//! `report.html` and `report.md`: the same content (`content`), two renderings
//! (`html`, `markdown`).

mod book;
mod content;
mod html;
mod markdown;
mod recommend;

use content::Content;
pub use recommend::clean_paths_needed;

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

/// `text` ending with a full stop.
fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_owned()
    } else {
        format!("{t}.")
    }
}

/// Renders every chart and both documents from `data`; a chart with nothing to
/// show becomes one sentence of the Charts section instead.
///
/// # Errors
///
/// The first chart's error ([`ReportError::Chart`], [`ReportError::Png`] or
/// [`ReportError::Invalid`]).
pub fn build(data: &ReportData) -> Result<Report, ReportError> {
    let (charts, empty): (Vec<Chart>, Vec<Chart>) = specs::all(data)?
        .into_iter()
        .partition(|c| c.message.is_none());
    let mut content = Content::new(data);
    content.chart_notes = empty
        .iter()
        .filter_map(|c| c.message.as_ref().map(|m| sentence(m)))
        .collect();
    let html = html::html(&content, &charts);
    let markdown = markdown::markdown(&content, &charts);
    Ok(Report {
        charts,
        html,
        markdown,
    })
}
