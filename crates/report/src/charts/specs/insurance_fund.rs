//! The insurance-fund chart: a fan of the bands across paths, or one path's
//! balance over its price.

use super::text::{message_chart, subtitle, title};
use crate::charts::axis::{TimeAxis, step_times};
use crate::charts::draw::render;
use crate::charts::plot::{BalanceOverPrice, Fan, FanLabels};
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::charts::style::TALL_HEIGHT;
use crate::data::{Band, PathSeries, ReportData};
use crate::error::ReportError;
use crate::format::count;

/// Insurance-fund balance over time: a fan chart of the across-path bands, or for a
/// single path the balance over the mark price.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn insurance_fund(data: &ReportData) -> Result<Chart, ReportError> {
    if !data.single_path()
        && let Some(band) = data.venue_band("insurance_fund")
    {
        return fan_chart(data, band);
    }
    match &data.path0 {
        Some(series) if !series.is_empty() => over_price_chart(data, series),
        _ => message_chart(
            data,
            NAME,
            "insurance-fund balance",
            "No per-step insurance-fund series in these results".to_owned(),
        ),
    }
}

/// File stem of the chart.
const NAME: &str = "insurance_fund";

/// Across paths: the fan of the balance's bands.
fn fan_chart(data: &ReportData, band: &Band) -> Result<Chart, ReportError> {
    let start = data.summary.insurance_fund_initial;
    let times = step_times(data, &band.step, &band.ts_ns);
    let time = TimeAxis::new(&times);
    let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    let caption = format!(
        "Insurance-fund balance at the end of each step across {} paths: median line, \
         shaded p25–p75, p5–p95 and p1–p99 bands; dashed line the starting balance, red line zero.",
        count(data.paths.len().max(1) as f64)
    );
    let plot = Plot::Fan(Fan {
        time,
        x,
        bands: band.fan_quantiles(),
        start,
        labels: FanLabels::FUND,
    });
    render(
        NAME,
        title(data, "insurance-fund balance across paths"),
        subtitle(data),
        caption,
        HEIGHT,
        &plot,
    )
}

/// One path (or path 0): the balance over the mark price.
fn over_price_chart(data: &ReportData, series: &PathSeries) -> Result<Chart, ReportError> {
    let start = data.summary.insurance_fund_initial;
    let times = step_times(data, &series.step, &series.ts_ns);
    let time = TimeAxis::new(&times);
    let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    let plot = Plot::BalanceOverPrice(BalanceOverPrice {
        time,
        x,
        fund: series.insurance_fund.clone(),
        mark: series.mark.clone(),
        market: series.market.clone(),
        start,
    });
    let what = if data.single_path() {
        "insurance-fund balance and price"
    } else {
        "insurance-fund balance and price, path 0"
    };
    render(
        NAME,
        title(data, what),
        subtitle(data),
        format!(
            "Insurance-fund balance at the end of each step (top) over the {} mark price (bottom).",
            series.market.to_uppercase()
        ),
        TALL_HEIGHT,
        &plot,
    )
}
