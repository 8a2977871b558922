//! The sweep heatmap: the probability of insurance-fund depletion over two
//! swept parameters.

use super::text::{subtitle, title};
use crate::charts::draw::render;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::data::DepletionGrid;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{parameter_label, parameter_value, pct};

/// Probability of insurance-fund depletion over two swept parameters.
///
/// # Errors
///
/// [`ReportError::Invalid`] if the grid is malformed; [`ReportError::Chart`] or
/// [`ReportError::Png`] if drawing or encoding fails.
pub fn sweep_heatmap(data: &ReportData, grid: &DepletionGrid) -> Result<Chart, ReportError> {
    grid.validate()?;
    let mut caption = format!(
        "Probability that the insurance fund is depleted, for each combination of {} (x) and {} (y).",
        parameter_label(&grid.x_name).0,
        parameter_label(&grid.y_name).0
    );
    if let Some(t) = grid.target {
        caption.push_str(&format!(
            " Outlined: the sets meeting the target (at most {}, judged as the report says).",
            pct(t)
        ));
    }
    if !grid.held.is_empty() {
        let held: Vec<String> = grid
            .held
            .iter()
            .map(|(k, v)| format!("{} = {}", parameter_label(k).0, parameter_value(k, *v)))
            .collect();
        caption.push_str(&format!(" Held fixed: {}.", held.join(", ")));
    }
    caption.push_str(&format!(" Colour scale 0% to {}.", pct(grid.scale_max())));
    render(
        "sweep_depletion",
        title(data, "probability of insurance-fund depletion"),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::Heatmap(grid.clone()),
    )
}
