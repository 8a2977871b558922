//! The shared parts of every chart's text: [`title`], [`subtitle`], and
//! [`message_chart`] for a chart that states a fact instead of drawing empty
//! axes.

use crate::charts::draw::render;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::count;

/// Fewest values a histogram is drawn for; fewer are stated as numbers.
pub(crate) const MIN_HISTOGRAM: usize = 3;

/// The subtitle of every chart of a run: path model, paths, steps, seed.
pub(crate) fn subtitle(data: &ReportData) -> String {
    let s = &data.summary;
    let paths = if s.paths == 1 {
        "1 path".to_owned()
    } else {
        #[allow(clippy::cast_precision_loss)]
        let p = s.paths as f64;
        format!("{} paths", count(p))
    };
    let seed = s
        .seed
        .as_deref()
        .map_or_else(String::new, |seed| format!(", seed {seed}"));
    format!(
        "{} path model, {paths}, {}{seed}",
        s.path_model,
        s.steps_text()
    )
}

/// The title of a chart of a run: the scenario name and `what`.
pub(crate) fn title(data: &ReportData, what: &str) -> String {
    format!("{}: {what}", data.summary.name)
}

/// A chart stating `text` in place of a plot.
pub(crate) fn message_chart(
    data: &ReportData,
    name: impl Into<String>,
    what: &str,
    text: String,
) -> Result<Chart, ReportError> {
    let caption = text.clone();
    render(
        name,
        title(data, what),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::Message(text),
    )
}
