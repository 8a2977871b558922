//! The overlay chart of `backstop compare`: several runs' insurance-fund
//! balances (and marks) on one time axis.

use crate::charts::draw::render;
use crate::charts::plot::{Chart, Overlay, OverlayLine, Plot};
use crate::charts::style::{HEIGHT, TALL_HEIGHT};
use crate::error::ReportError;

/// An overlay chart of several runs' insurance-fund balances (top) and marks
/// (bottom, when given), drawn for `backstop compare`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn overlay(
    name: &'static str,
    title: String,
    subtitle: String,
    caption: String,
    x_desc: String,
    fund_desc: String,
    runs: Vec<OverlayLine>,
    marks: Vec<OverlayLine>,
    mark_desc: String,
) -> Result<Chart, ReportError> {
    let height = if marks.is_empty() {
        HEIGHT
    } else {
        TALL_HEIGHT
    };
    render(
        name,
        title,
        subtitle,
        caption,
        height,
        &Plot::Overlay(Overlay {
            x_desc,
            fund_desc,
            runs,
            marks,
            mark_desc,
        }),
    )
}
