//! What each chart of a report shows: one file per chart, each choosing the
//! data, the kind of plot ([`Plot`](super::plot::Plot)), the title and the
//! caption, then handing it to `draw` ([`all`] lists them in report order).
//! [`text`] holds the parts of every chart's text.

pub(crate) mod adl;
pub(crate) mod adl_lab;
pub(crate) mod book;
pub(crate) mod drawdown;
pub(crate) mod fund_size;
pub(crate) mod insurance_fund;
pub(crate) mod liquidations;
pub(crate) mod margin_multiplier;
pub(crate) mod market_funds;
pub(crate) mod overlay;
pub(crate) mod replay_marks;
pub(crate) mod socialized_loss;
pub(crate) mod sweep;
pub(crate) mod text;
pub(crate) mod vault;

use rayon::prelude::*;

use crate::charts::plot::Chart;
use crate::data::ReportData;
use crate::error::ReportError;

/// A chart of the report: drawn, or `None` where the run has nothing of its kind.
type ChartFn = fn(&ReportData) -> Result<Option<Chart>, ReportError>;

/// Every chart of the report, in report order.
///
/// The charts are drawn in parallel on the current rayon pool (each is
/// independent of the others, and drawing and PNG-encoding them is most of a
/// report's time); they are collected in report order, so the output is the
/// same for any number of threads.
///
/// # Errors
///
/// The first chart's error (in report order), as the chart functions.
pub fn all(data: &ReportData) -> Result<Vec<Chart>, ReportError> {
    const CHARTS: [ChartFn; 10] = [
        |d| insurance_fund::insurance_fund(d).map(Some),
        market_funds::market_funds,
        |d| drawdown::drawdown(d).map(Some),
        |d| socialized_loss::socialized_loss(d).map(Some),
        |d| liquidations::liquidations(d).map(Some),
        |d| adl::adl(d).map(Some),
        vault::vault_equity,
        margin_multiplier::margin_multiplier,
        replay_marks::replay_marks,
        |d| match &d.sweep {
            Some(grid) if d.paths.param_sets().len() > 1 => sweep::sweep_heatmap(d, grid).map(Some),
            _ => Ok(None),
        },
    ];
    let drawn: Vec<Result<Option<Chart>, ReportError>> = CHARTS
        .par_iter()
        .with_max_len(1)
        .map(|chart| chart(data))
        .collect();
    let mut charts = Vec::with_capacity(drawn.len());
    for chart in drawn {
        charts.extend(chart?);
    }
    // Each market fund's fan across paths, after its path-0 chart.
    let fans = market_funds::fans(data)?;
    let at = charts
        .iter()
        .position(|c| c.name == "market_funds")
        .map_or(charts.len(), |i| i + 1);
    charts.splice(at..at, fans);
    Ok(charts)
}
