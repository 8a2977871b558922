//! The sweep heatmap: the probability of insurance-fund depletion over two
//! swept parameters.

use super::text::{subtitle, title};
use crate::charts::draw::render;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::data::DepletionGrid;
use crate::data::ReportData;
use crate::error::ReportError;

/// Probability of insurance-fund depletion over two swept parameters.
///
/// # Errors
///
/// [`ReportError::Invalid`] if the grid is malformed; [`ReportError::Chart`] or
/// [`ReportError::Png`] if drawing or encoding fails.
pub fn sweep_heatmap(data: &ReportData, grid: &DepletionGrid) -> Result<Chart, ReportError> {
    grid.validate()?;
    let caption = format!(
        "Probability that the insurance fund is depleted, for each combination of {} (x) and {} (y).",
        grid.x_name, grid.y_name
    );
    render(
        "sweep_depletion",
        title(data, "probability of insurance-fund depletion"),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::Heatmap(grid.clone()),
    )
}
