//! The liquidity vault's chart (docs/model.md §6b): its equity across paths,
//! for runs with a `[vault]` (their `bands.parquet` holds `vault_equity`).

use super::text::{subtitle, title};
use crate::charts::axis::{TimeAxis, step_times};
use crate::charts::draw::render;
use crate::charts::plot::{Chart, Fan, FanLabels, Plot};
use crate::charts::style::HEIGHT;
use crate::data::ReportData;
use crate::error::ReportError;
use crate::format::{count, usd};

/// File stem of the chart.
const NAME: &str = "vault_equity";

/// The vault's equity (cash + inventory at the marks) at the end of each step:
/// a fan of its bands across paths (one line for one path), the dashed line
/// its capital. `None` for runs without a vault.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn vault_equity(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let Some(band) = data.venue_band("vault_equity") else {
        return Ok(None);
    };
    let set = data.first_param_set();
    let capital = data
        .paths
        .values("vault_capital", set)
        .first()
        .copied()
        .unwrap_or(0.0);
    let floor_hit = data.paths.values("vault_floor_step", set).len();
    let times = step_times(data, &band.step, &band.ts_ns);
    let time = TimeAxis::new(&times);
    let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    let paths = data.paths.values("vault_capital", set).len().max(1);
    let caption = format!(
        "Liquidity vault's equity (its {} of capital plus the positions it took over, at the \
         marks) at the end of each step across {} paths: median line, shaded p25–p75, p5–p95 \
         and p1–p99 bands; dashed line its capital. Its floor refused a takeover on {} of them.",
        usd(capital),
        count(paths as f64),
        count(floor_hit as f64),
    );
    let plot = Plot::Fan(Fan {
        time,
        x,
        bands: band.fan_quantiles(),
        start: Some(capital),
        labels: FanLabels {
            y: "Vault equity (USD)",
            zero: "zero (vault wiped out)",
        },
    });
    render(
        NAME,
        title(data, "liquidity vault equity across paths"),
        subtitle(data),
        caption,
        HEIGHT,
        &plot,
    )
    .map(Some)
}
