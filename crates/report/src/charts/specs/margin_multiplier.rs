//! The margin-multiplier chart: one path's multiplier over its price, with the
//! circuit breaker's pauses.

use super::text::{subtitle, title};
use crate::charts::axis::{TimeAxis, min_max, step_times};
use crate::charts::draw::render;
use crate::charts::plot::MultiplierOverPrice;
use crate::charts::plot::{Chart, Plot};
use crate::charts::style::TALL_HEIGHT;
use crate::controls::{breaker_pauses, multiplier_series};
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::plain;

/// The margin multiplier over the mark price, for a one-path run with the
/// volatility margin on (`None` otherwise); the circuit breaker's pauses are
/// shaded when the run has a breaker.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn margin_multiplier(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let Some(series) = multiplier_series(data) else {
        return Ok(None);
    };
    let times = step_times(data, &series.step, &series.ts_ns);
    let time = TimeAxis::new(&times);
    let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    // Shade each point whose step (or bucket of steps) had liquidations paused.
    let pauses: Vec<(f64, f64)> = if breaker_pauses(data).is_ok() {
        let end = x.last().copied().unwrap_or(0.0);
        series
            .liquidations_paused
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| (x[i], x.get(i + 1).copied().unwrap_or(end)))
            .collect()
    } else {
        Vec::new()
    };
    let cap = data.summary.parameter_f64("controls.vol_margin.cap");
    let (_, max) = min_max(&series.margin_multiplier);
    let market = series.market.to_uppercase();
    let mut caption = format!(
        "Multiplier of the {market} margin rates at each step (top; the volatility margin holds it \
         between updates), over the {market} mark price (bottom); largest {}×.",
        plain((max * 1000.0).round() / 1000.0)
    );
    if !pauses.is_empty() && series.steps_per_point > 1 {
        caption.push_str(&format!(
            " Shaded: buckets of {} steps in which the circuit breaker paused liquidations.",
            plain(f64::from(series.steps_per_point))
        ));
    } else if !pauses.is_empty() {
        caption.push_str(" Shaded: steps when the circuit breaker paused liquidations.");
    }
    render(
        "margin_multiplier",
        title(data, "margin multiplier and price"),
        subtitle(data),
        caption,
        TALL_HEIGHT,
        &Plot::MultiplierOverPrice(MultiplierOverPrice {
            time,
            x,
            multiplier: series.margin_multiplier.clone(),
            mark: series.mark.clone(),
            market: series.market.clone(),
            cap,
            pauses,
        }),
    )
    .map(Some)
}
