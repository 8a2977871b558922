//! `report.html` and `report.md`: the same content (`content`), two renderings
//! (`html`, `markdown`).

mod content;
mod html;
mod markdown;

use content::Content;

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

/// Renders every chart and both documents from `data`.
///
/// # Errors
///
/// The first chart's error ([`ReportError::Chart`], [`ReportError::Png`] or
/// [`ReportError::Invalid`]).
pub fn build(data: &ReportData) -> Result<Report, ReportError> {
    let charts = specs::all(data)?;
    let content = Content::new(data);
    let html = html::html(&content, &charts);
    let markdown = markdown::markdown(&content, &charts);
    Ok(Report {
        charts,
        html,
        markdown,
    })
}
