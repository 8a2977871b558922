//! The ADL chart: notional and closes over time, and the notional beyond the
//! minimum needed.

use super::text::{message_chart, subtitle, title};
use crate::charts::axis::{TimeAxis, bucket, regular_step, step_times};
use crate::charts::draw::render;
use crate::charts::plot::Adl;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::TALL_HEIGHT;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{pct, usd};

/// ADL events: notional and count over time, and the notional beyond the minimum
/// needed.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
// Over 70 lines: the two panels share one time axis, built from both of their series.
pub fn adl(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "adl";
    let set = data.first_param_set();
    let totals = data.paths.values("adl_notional", set);
    let excesses = data.paths.values("adl_excess_notional", set);
    let path0 = data.path0.as_ref().filter(|s| !s.is_empty());
    let path0_total: f64 = path0.map_or(0.0, |s| s.adl_notional.iter().sum());
    let any = totals.iter().any(|v| *v > 0.0) || path0_total > 0.0;
    let what = "auto-deleveraging (ADL)";
    if !any {
        return message_chart(data, name, what, "No ADL events in this run".to_owned());
    }
    let (total, excess, totals_desc) = totals_of(data, &totals, &excesses, path0_total);
    let band = if data.single_path() {
        None
    } else {
        sum_band(data, "adl_notional")
    };
    let (steps, ts_ns, notional, mean) = match (band, path0) {
        (Some((steps, ts_ns, mean)), _) => (steps, ts_ns, mean, true),
        (None, Some(s)) => (
            s.step.clone(),
            s.ts_ns.clone(),
            s.adl_notional.clone(),
            false,
        ),
        (None, None) => (Vec::new(), Vec::new(), Vec::new(), false),
    };
    let times = step_times(data, &steps, &ts_ns);
    let path0_times = path0.map(|s| step_times(data, &s.step, &s.ts_ns));
    // One axis for both panels: from the earliest to the latest time of either.
    let mut all_times: Vec<i64> = times
        .iter()
        .chain(path0_times.iter().flatten())
        .copied()
        .collect();
    all_times.sort_unstable();
    all_times.dedup();
    let time = TimeAxis::new(&all_times);
    let bars = bucket(&time, &times, regular_step(data), &[&notional]);
    let notional_desc = if mean {
        format!("Mean ADL notional per {} (USD)", bars.per)
    } else {
        format!("ADL notional per {} (USD)", bars.per)
    };
    let counts = path0.zip(path0_times.as_ref()).map(|(s, t)| {
        let b = bucket(&time, t, regular_step(data), &[&s.adl_count]);
        let desc = if data.single_path() {
            format!("ADL closes per {}", b.per)
        } else {
            format!("ADL closes per {}, path 0", b.per)
        };
        (b, desc)
    });
    let share = if total > 0.0 { excess / total } else { 0.0 };
    let caption = format!(
        "ADL notional per step (top), ADL closes per step (middle), and the ADL notional beyond the \
         minimum needed to cover the fund's shortfall (bottom): {} of {} ({}).",
        usd(excess),
        usd(total),
        pct(share)
    );
    render(
        name,
        title(data, what),
        subtitle(data),
        caption,
        TALL_HEIGHT,
        &Plot::Adl(Adl {
            time,
            notional: bars,
            notional_desc,
            counts,
            total,
            excess,
            totals_desc,
        }),
    )
}

/// The ADL notional over the run (one path) or its mean per path, and the part
/// beyond the minimum needed, with the axis description.
fn totals_of(
    data: &ReportData,
    totals: &[f64],
    excesses: &[f64],
    path0_total: f64,
) -> (f64, f64, String) {
    #[allow(clippy::cast_precision_loss)]
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    if data.single_path() {
        (
            totals.first().copied().unwrap_or(path0_total),
            excesses.first().copied().unwrap_or(0.0),
            "ADL notional over the run (USD)".to_owned(),
        )
    } else {
        (
            mean(totals),
            mean(excesses),
            "ADL notional per path, mean across paths (USD)".to_owned(),
        )
    }
}

/// Mean of `series` per step, summed over markets, with the steps and their
/// times.
fn sum_band(data: &ReportData, series: &str) -> Option<(Vec<u32>, Vec<i64>, Vec<f64>)> {
    let mut out: Option<(Vec<u32>, Vec<i64>, Vec<f64>)> = None;
    for ((market, s), band) in &data.bands {
        if s != series || market.is_empty() {
            continue;
        }
        match &mut out {
            None => out = Some((band.step.clone(), band.ts_ns.clone(), band.mean.clone())),
            Some((steps, _, values)) => {
                if *steps != band.step {
                    return None;
                }
                for (o, v) in values.iter_mut().zip(&band.mean) {
                    *o += v;
                }
            }
        }
    }
    out
}
