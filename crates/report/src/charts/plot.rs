//! What a chart is: the [`Plot`] a spec asks for (which kind of plot, over
//! which data; `specs` decide it) and the rendered [`Chart`] (`draw` makes it).
//! Each kind of plot has one struct here and one drawing function in `draw`.

use super::axis::{Bucketed, TimeAxis};
use crate::data::DepletionGrid;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem (`insurance_fund`, ...): written as `charts/{name}.svg` and `.png`.
    pub name: &'static str,
    /// Title drawn on the chart; names the scenario.
    pub title: String,
    /// One-sentence description, used as alt text and caption.
    pub caption: String,
    /// The sentence of a chart with nothing to show (`None` for a drawn
    /// chart): documents print it in place of the chart, never an empty box.
    pub message: Option<String>,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// The chart as an SVG document.
    pub svg: String,
    /// The chart as a PNG file.
    pub png: Vec<u8>,
}

/// What one chart draws: one variant per kind of plot.
pub(crate) enum Plot {
    /// A centred message instead of empty axes.
    Message(String),
    /// Fan of quantile bands over time.
    Fan(Fan),
    /// Fund balance over the mark price, one path.
    BalanceOverPrice(BalanceOverPrice),
    /// Histogram plus exceedance curve of insurance-fund losses.
    LossDistribution(LossDistribution),
    /// Histogram of USD amounts.
    Histogram(Histogram),
    /// Stacked long/short liquidated notional per step or time bucket, with
    /// the mark price.
    Liquidations(Liquidations),
    /// ADL notional and count over time, and the excess.
    Adl(Adl),
    /// Depletion probability over two swept parameters.
    Heatmap(DepletionGrid),
    /// Margin multiplier (step line) over the mark price, one path, with the
    /// breaker's pauses shaded.
    MultiplierOverPrice(MultiplierOverPrice),
    /// Insurance-fund balance of several runs on one time axis, and their marks.
    Overlay(Overlay),
}

/// Fan of the insurance-fund quantile bands over time.
pub(crate) struct Fan {
    pub(crate) time: TimeAxis,
    pub(crate) x: Vec<f64>,
    /// p1, p5, p25, p50, p75, p95, p99.
    pub(crate) bands: [Vec<f64>; 7],
    /// The starting balance, drawn dashed.
    pub(crate) start: Option<f64>,
}

/// One path's fund balance (top panel) over its mark price (bottom panel).
pub(crate) struct BalanceOverPrice {
    pub(crate) time: TimeAxis,
    pub(crate) x: Vec<f64>,
    pub(crate) fund: Vec<f64>,
    pub(crate) mark: Vec<f64>,
    pub(crate) market: String,
    /// The starting balance, drawn dashed.
    pub(crate) start: Option<f64>,
}

/// Histogram and exceedance curve of the insurance-fund loss per path.
pub(crate) struct LossDistribution {
    pub(crate) losses: Vec<f64>,
    pub(crate) var_99: f64,
    pub(crate) es_99: f64,
}

/// Histogram of USD amounts.
pub(crate) struct Histogram {
    pub(crate) values: Vec<f64>,
    pub(crate) x_desc: String,
    pub(crate) y_desc: String,
}

/// Liquidated notional per bar (`bars.series` = `[long, short]`), stacked,
/// with the mark price on the right axis.
pub(crate) struct Liquidations {
    pub(crate) time: TimeAxis,
    pub(crate) bars: Bucketed,
    pub(crate) y_desc: String,
    pub(crate) mark_x: Vec<f64>,
    pub(crate) mark: Vec<f64>,
    pub(crate) mark_label: String,
}

/// ADL notional per bar (top), fills per bar (middle) and the notional beyond
/// the minimum needed (bottom).
pub(crate) struct Adl {
    pub(crate) time: TimeAxis,
    pub(crate) notional: Bucketed,
    pub(crate) notional_desc: String,
    /// Fills per bar of path 0, and the axis description.
    pub(crate) counts: Option<(Bucketed, String)>,
    pub(crate) total: f64,
    pub(crate) excess: f64,
    pub(crate) totals_desc: String,
}

/// One path's margin multiplier (top panel) over its mark price (bottom panel).
pub(crate) struct MultiplierOverPrice {
    pub(crate) time: TimeAxis,
    pub(crate) x: Vec<f64>,
    pub(crate) multiplier: Vec<f64>,
    pub(crate) mark: Vec<f64>,
    pub(crate) market: String,
    /// The volatility margin's cap, drawn dashed.
    pub(crate) cap: Option<f64>,
    /// The breaker's pauses on the time axis, `[from, to)`, shaded.
    pub(crate) pauses: Vec<(f64, f64)>,
}

/// Several runs' fund balances on one time axis (top), and their marks
/// (bottom, when given).
pub(crate) struct Overlay {
    pub(crate) x_desc: String,
    pub(crate) fund_desc: String,
    pub(crate) runs: Vec<OverlayLine>,
    pub(crate) marks: Vec<OverlayLine>,
    pub(crate) mark_desc: String,
}

/// One run's line in an overlay chart.
#[derive(Debug, Clone)]
pub(crate) struct OverlayLine {
    /// Legend text.
    pub label: String,
    /// Positions on the time axis.
    pub x: Vec<f64>,
    /// Values.
    pub y: Vec<f64>,
    /// Line colour (index into the run colours).
    pub color: usize,
    /// Starting balance, drawn dashed.
    pub start: Option<f64>,
}
