//! What each chart of a report shows: one file per chart, each choosing the
//! data, the kind of plot ([`Plot`](super::plot::Plot)), the title and the
//! caption, then handing it to `draw` ([`all`] lists them in report order).
//! [`text`] holds the parts of every chart's text.

pub(crate) mod adl;
pub(crate) mod drawdown;
pub(crate) mod fund_size;
pub(crate) mod insurance_fund;
pub(crate) mod liquidations;
pub(crate) mod margin_multiplier;
pub(crate) mod overlay;
pub(crate) mod replay_marks;
pub(crate) mod socialized_loss;
pub(crate) mod sweep;
pub(crate) mod text;

use crate::charts::plot::Chart;
use crate::data::ReportData;
use crate::error::ReportError;

/// Every chart of the report, in report order.
///
/// # Errors
///
/// The first chart's error, as the chart functions.
pub fn all(data: &ReportData) -> Result<Vec<Chart>, ReportError> {
    let mut charts = vec![
        insurance_fund::insurance_fund(data)?,
        drawdown::drawdown(data)?,
        socialized_loss::socialized_loss(data)?,
        liquidations::liquidations(data)?,
        adl::adl(data)?,
    ];
    if let Some(chart) = margin_multiplier::margin_multiplier(data)? {
        charts.push(chart);
    }
    if let Some(chart) = replay_marks::replay_marks(data)? {
        charts.push(chart);
    }
    if data.paths.param_sets().len() > 1
        && let Some(grid) = &data.sweep
    {
        charts.push(sweep::sweep_heatmap(data, grid)?);
    }
    Ok(charts)
}
