//! The liquidations chart: liquidated notional over time (mean across paths, or
//! one path), longs and shorts stacked, with the price.

use super::text::{message_chart, subtitle, title};
use crate::charts::axis::{TimeAxis, bucket, regular_step, step_times};
use crate::charts::draw::render;
use crate::charts::plot::Liquidations;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::HEIGHT;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::usd;

/// Liquidated notional per step, stacked long/short, with the mark price.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
// Over 70 lines: the choice of series (mean across paths or one path) and its words.
pub fn liquidations(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "liquidations";
    let mut what = "liquidations over time";
    // Across paths: mean notional per step (means add up, so they stack) and the
    // median mark; one path: that path.
    let multi = if data.single_path() {
        None
    } else {
        mean_liquidations(data)
    };
    let (steps, ts_ns, long, short, mark, market, source) = if let Some(m) = multi {
        what = "liquidations over time, mean across paths";
        m
    } else if let Some(series) = data.path0.as_ref().filter(|s| !s.is_empty()) {
        if !data.single_path() {
            what = "liquidations over time, path 0";
        }
        (
            series.step.clone(),
            series.ts_ns.clone(),
            series.liquidated_long.clone(),
            series.liquidated_short.clone(),
            series.mark.clone(),
            series.market.clone(),
            "mark price",
        )
    } else {
        return message_chart(
            data,
            name,
            "liquidations over time",
            "No per-step liquidation series in these results".to_owned(),
        );
    };
    let total: f64 = long.iter().chain(&short).sum();
    if total <= 0.0 {
        return message_chart(data, name, what, "No liquidations in this run".to_owned());
    }
    let times = step_times(data, &steps, &ts_ns);
    let time = TimeAxis::new(&times);
    let mark_x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    let bars = bucket(&time, &times, regular_step(data), &[&long, &short]);
    let per = bars.per.clone();
    let y_desc = if data.single_path() {
        format!("Liquidated notional per {per} (USD)")
    } else {
        format!("Mean liquidated notional per {per} (USD)")
    };
    let caption = format!(
        "Notional liquidated per {per} ({}), longs and shorts stacked, with the {} {source} on the right axis.",
        if data.single_path() {
            "this path"
        } else {
            "mean across paths"
        },
        market.to_uppercase()
    );
    render(
        name,
        title(data, what),
        format!("{}; {} liquidated in all", subtitle(data), usd(total)),
        caption,
        HEIGHT,
        &Plot::Liquidations(Liquidations {
            time,
            bars,
            y_desc,
            mark_x,
            mark,
            mark_label: format!("{} {source} (USD)", market.to_uppercase()),
        }),
    )
}

/// Steps, their times, long and short notional, mark, market, mark source.
type StepSeries = (
    Vec<u32>,
    Vec<i64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    String,
    &'static str,
);

/// Mean liquidated long/short notional per step over all markets, and the first
/// market's median mark, from the bands; `None` if the bands lack them.
fn mean_liquidations(data: &ReportData) -> Option<StepSeries> {
    let markets: Vec<&String> = data
        .bands
        .keys()
        .filter(|(m, s)| !m.is_empty() && s == "mark")
        .map(|(m, _)| m)
        .collect();
    let market = (*markets.first()?).clone();
    let mark_band = data.bands.get(&(market.clone(), "mark".to_owned()))?;
    let steps = mark_band.step.clone();
    let sum = |series: &str| -> Option<Vec<f64>> {
        let mut out = vec![0.0; steps.len()];
        let mut found = false;
        for m in &markets {
            if let Some(b) = data.bands.get(&((*m).clone(), series.to_owned())) {
                if b.step != steps {
                    return None;
                }
                found = true;
                for (o, v) in out.iter_mut().zip(&b.mean) {
                    *o += v;
                }
            }
        }
        found.then_some(out)
    };
    let long = sum("liquidated_long_notional")?;
    let short = sum("liquidated_short_notional")?;
    Some((
        steps,
        mark_band.ts_ns.clone(),
        long,
        short,
        mark_band.p50.clone(),
        market,
        "median mark price",
    ))
}
