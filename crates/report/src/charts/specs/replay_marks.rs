//! A replay's recorded mark beside the simulated one (issue 12): on a replay
//! the recorded price already holds that day's real liquidations, so the report
//! shows how far the simulated book moved the mark from history, if at all.

use backstop_data::time::format_utc_label;

use super::overlay::overlay;
use super::text::{subtitle, title};
use crate::charts::plot::{Chart, OverlayLine};
use crate::data::ReportData;
use crate::error::ReportError;

/// Seconds per hour, the chart's time unit.
const HOUR: f64 = 3600.0;

/// The insurance fund (top) and, per market of path 0, the recorded price and
/// the simulated mark (bottom) of a replay; `None` for any other path model or
/// without path 0's steps.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn replay_marks(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    if data.summary.path_model != "replay" {
        return Ok(None);
    }
    let Some(p) = data.path0.as_ref() else {
        return Ok(None);
    };
    let Some(&origin) = p.ts_ns.first() else {
        return Ok(None);
    };
    #[allow(clippy::cast_precision_loss)]
    let x: Vec<f64> = p
        .ts_ns
        .iter()
        .map(|t| t.saturating_sub(origin) as f64 / 1e9 / HOUR)
        .collect();
    let fund = vec![OverlayLine {
        label: "insurance fund".to_owned(),
        x: x.clone(),
        y: p.insurance_fund.clone(),
        color: 0,
        start: data.summary.insurance_fund_initial,
    }];
    let mut marks = Vec::new();
    for (market, simulated) in &p.marks {
        let Some(recorded) = p.path_prices.get(market) else {
            continue;
        };
        let name = market.to_uppercase();
        // The simulated mark first, the recorded price over it: where they
        // coincide (the default, `on_replay = "none"`) only the recorded shows.
        marks.push(OverlayLine {
            label: format!("{name} simulated mark"),
            x: x.clone(),
            y: simulated.clone(),
            color: 0,
            start: None,
        });
        marks.push(OverlayLine {
            label: format!("{name} recorded"),
            x: x.clone(),
            y: recorded.clone(),
            color: 1,
            start: None,
        });
    }
    if marks.is_empty() {
        return Ok(None);
    }
    let caption = "Path 0 of the replay: the insurance fund (top), and each market's \
                   recorded price (blue) drawn over the mark the simulated book made \
                   (orange, bottom). Where only blue shows they coincide (the default, \
                   market.<m>.impact.on_replay = \"none\"); orange shows where the \
                   simulated liquidations moved the mark beyond what history shows \
                   (\"excess\"). The text gives the lows and the largest gap."
        .to_owned();
    overlay(
        "replay_marks",
        title(data, "recorded and simulated mark"),
        subtitle(data),
        caption,
        format!("Time since {} (hours)", format_utc_label(origin)),
        "Insurance fund (USD)".to_owned(),
        fund,
        marks,
        "Price (USD)".to_owned(),
    )
    .map(Some)
}
