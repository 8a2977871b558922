//! The charts, drawn with plotters into SVG and PNG from the same code.
//!
//! Text is laid out with the bundled DejaVu Sans (no system font lookup), so the
//! PNGs are identical on every machine; the SVGs name the same font family and
//! fall back to the viewer's sans-serif.

use std::error::Error;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;
use crate::data::{ReportData, SweepGrid};
use crate::format::{count, number_compact, pct, pct_interval, usd, usd_compact};

/// Font family the charts use; the bundled font is registered under this name.
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// The bundled font (DejaVu Sans 2.37, see `fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Width of every chart, pixels.
pub const WIDTH: u32 = 1100;
/// Height of a one-panel chart, pixels.
pub const HEIGHT: u32 = 620;
/// Height of a chart with stacked panels, pixels.
pub const TALL_HEIGHT: u32 = 820;

/// Background of every chart.
pub const BACKGROUND: RGBColor = WHITE;

const INK: RGBColor = RGBColor(33, 37, 41);
const MUTED: RGBColor = RGBColor(96, 102, 110);
const GRID: RGBColor = RGBColor(228, 230, 233);
const FUND: RGBColor = RGBColor(31, 100, 170);
const PRICE: RGBColor = RGBColor(60, 60, 60);
const LONG: RGBColor = RGBColor(214, 96, 77);
const SHORT: RGBColor = RGBColor(67, 147, 195);
const RISK: RGBColor = RGBColor(200, 30, 30);
const TAIL: RGBColor = RGBColor(120, 20, 60);
const HIST: RGBColor = RGBColor(90, 130, 180);

type DResult = Result<(), Box<dyn Error>>;
type Area<DB> = DrawingArea<DB, Shift>;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem (`insurance_fund`, ...): written as `charts/{name}.svg` and `.png`.
    pub name: &'static str,
    /// Title drawn on the chart; names the scenario.
    pub title: String,
    /// One-sentence description, used as alt text and caption.
    pub caption: String,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// The chart as an SVG document.
    pub svg: String,
    /// The chart as a PNG file.
    pub png: Vec<u8>,
}

/// Nanoseconds in a second.
const NS: f64 = 1e9;

/// How elapsed time is shown on x axes: positions are the recorded step times
/// (`ts_ns` of `steps.parquet` / `ts` of `bands.parquet`) relative to the first,
/// so a tick replay's irregular steps land at their real times.
#[derive(Debug, Clone)]
struct TimeAxis {
    /// Time at x = 0, ns since the Unix epoch.
    origin_ns: i64,
    /// Nanoseconds per axis unit (minute, hour or day).
    ns_per_unit: f64,
    /// Axis description, naming the origin and the unit.
    label: String,
}

/// Recorded times of `steps` when usable (one per step, non-decreasing), else
/// `step × step_seconds` after `summary.start` (or the epoch when absent).
fn step_times(data: &ReportData, steps: &[u32], ts_ns: &[i64]) -> Vec<i64> {
    let recorded = ts_ns.len() == steps.len()
        && !ts_ns.is_empty()
        && ts_ns.windows(2).all(|w| w[0] <= w[1])
        && ts_ns.first() != ts_ns.last();
    if recorded || (ts_ns.len() == 1 && steps.len() == 1) {
        return ts_ns.to_vec();
    }
    let origin = data
        .summary
        .start
        .as_deref()
        .and_then(parse_utc)
        .unwrap_or(0);
    steps
        .iter()
        .map(|s| {
            #[allow(clippy::cast_possible_truncation)]
            let offset = (f64::from(*s) * data.summary.step_seconds * NS) as i64;
            origin.saturating_add(offset)
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS[.f]Z` (or `+00:00`) as ns since the epoch; `None` if it
/// is not that.
fn parse_utc(text: &str) -> Option<i64> {
    let t = text.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix("+00:00"))
        .unwrap_or(t);
    let (date, time) = t.split_once(['T', ' '])?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let time = time.split('.').next()?;
    let mut c = time.split(':');
    let (hh, mm): (i64, i64) = (c.next()?.parse().ok()?, c.next()?.parse().ok()?);
    let ss: i64 = c.next().map_or(Some(0), |s| s.parse().ok())?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss;
    secs.checked_mul(1_000_000_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `ns` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn format_utc(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Inverse of `days_from_civil`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl TimeAxis {
    /// An axis over the step times `times` (ns since the epoch, ascending): origin
    /// the first, unit chosen from the span.
    fn new(times: &[i64]) -> Self {
        let origin_ns = times.first().copied().unwrap_or(0);
        let last = times.last().copied().unwrap_or(origin_ns);
        #[allow(clippy::cast_precision_loss)]
        let total = last.saturating_sub(origin_ns) as f64 / NS;
        let (seconds_per_unit, unit) = time_unit(total);
        Self {
            origin_ns,
            ns_per_unit: seconds_per_unit * NS,
            label: format!("Time since {} ({unit})", format_utc(origin_ns)),
        }
    }

    /// Position of the time `ts_ns` on the axis.
    fn x(&self, ts_ns: i64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let dt = ts_ns.saturating_sub(self.origin_ns) as f64;
        dt / self.ns_per_unit
    }

    /// Length of `seconds` on the axis.
    fn width(&self, seconds: f64) -> f64 {
        seconds * NS / self.ns_per_unit
    }
}

/// Fewest values a histogram is drawn for; fewer are stated as numbers.
const MIN_HISTOGRAM: usize = 3;

/// Most bars a time-bar chart draws before steps are summed into time buckets.
pub const MAX_BARS: usize = 240;

/// Buckets a time-bar chart aims for when it sums steps.
const TARGET_BUCKETS: f64 = 200.0;

/// Per-step values summed into equal time buckets for a bar chart.
#[derive(Debug, Clone, PartialEq)]
struct Bucketed {
    /// Left edge of each bar on the time axis.
    x: Vec<f64>,
    /// Width of a bar on the time axis.
    dx: f64,
    /// What one bar covers, for axis labels: `step` or `5 min`.
    per: String,
    /// The summed series, in input order, one value per bar.
    series: Vec<Vec<f64>>,
}

/// Bucket widths offered, seconds, with their labels.
const BUCKET_WIDTHS: [(f64, &str); 20] = [
    (1.0, "1 s"),
    (5.0, "5 s"),
    (10.0, "10 s"),
    (15.0, "15 s"),
    (30.0, "30 s"),
    (60.0, "1 min"),
    (120.0, "2 min"),
    (300.0, "5 min"),
    (600.0, "10 min"),
    (900.0, "15 min"),
    (1800.0, "30 min"),
    (3600.0, "1 h"),
    (7200.0, "2 h"),
    (10800.0, "3 h"),
    (21600.0, "6 h"),
    (43200.0, "12 h"),
    (86400.0, "1 day"),
    (172_800.0, "2 days"),
    (604_800.0, "7 days"),
    (2_592_000.0, "30 days"),
];

/// Bars for `series` (one value per step at `times`): one bar per step when the
/// steps are regular and few (at most [`MAX_BARS`]), else the sums over equal
/// time buckets of a round width giving about 200 bars. Non-finite values count
/// as zero.
fn bucket(
    time: &TimeAxis,
    times: &[i64],
    regular_step_seconds: Option<f64>,
    series: &[&[f64]],
) -> Bucketed {
    let n = times.len();
    if let Some(step) = regular_step_seconds.filter(|_| n <= MAX_BARS) {
        return Bucketed {
            x: times.iter().map(|t| time.x(*t)).collect(),
            dx: time.width(step),
            per: "step".to_owned(),
            series: series
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|v| if v.is_finite() { *v } else { 0.0 })
                        .collect()
                })
                .collect(),
        };
    }
    let first = times.first().copied().unwrap_or(0);
    let last = times.last().copied().unwrap_or(first);
    #[allow(clippy::cast_precision_loss)]
    let span = last.saturating_sub(first) as f64 / NS;
    let min_width = (span / TARGET_BUCKETS).max(regular_step_seconds.unwrap_or(0.0));
    let (width, label) = BUCKET_WIDTHS
        .iter()
        .copied()
        .find(|(w, _)| *w >= min_width)
        .unwrap_or(BUCKET_WIDTHS[BUCKET_WIDTHS.len() - 1]);
    #[allow(clippy::cast_possible_truncation)]
    let width_ns = ((width * NS) as i64).max(1);
    let count = usize::try_from(last.saturating_sub(first) / width_ns)
        .unwrap_or(0)
        .saturating_add(1)
        .min(100_000);
    let mut sums = vec![vec![0.0; count]; series.len()];
    for (i, t) in times.iter().enumerate() {
        let b = usize::try_from(t.saturating_sub(first) / width_ns)
            .unwrap_or(0)
            .min(count - 1);
        for (out, s) in sums.iter_mut().zip(series) {
            if let Some(v) = s.get(i).filter(|v| v.is_finite()) {
                out[b] += v;
            }
        }
    }
    let x = (0..count)
        .map(|b| {
            let offset = i64::try_from(b).unwrap_or(0).saturating_mul(width_ns);
            time.x(first.saturating_add(offset))
        })
        .collect();
    Bucketed {
        x,
        dx: time.width(width),
        per: label.to_owned(),
        series: sums,
    }
}

/// The step length when the run steps regularly (not a tick replay).
fn regular_step(data: &ReportData) -> Option<f64> {
    (!data.summary.is_tick()).then_some(data.summary.step_seconds)
}

/// What one chart draws.
enum Plot {
    /// A centred message instead of empty axes.
    Message { text: String },
    /// Fan of quantile bands over time.
    Fan {
        time: TimeAxis,
        x: Vec<f64>,
        bands: [Vec<f64>; 7],
        start: Option<f64>,
    },
    /// Fund balance over the mark price, one path.
    BalanceOverPrice {
        time: TimeAxis,
        x: Vec<f64>,
        fund: Vec<f64>,
        mark: Vec<f64>,
        market: String,
        start: Option<f64>,
    },
    /// Histogram plus exceedance curve of insurance-fund losses.
    LossDistribution {
        losses: Vec<f64>,
        var_99: f64,
        es_99: f64,
    },
    /// Histogram of USD amounts.
    Histogram {
        values: Vec<f64>,
        x_desc: String,
        y_desc: String,
    },
    /// Stacked long/short liquidated notional per step or time bucket
    /// (`bars.series` = `[long, short]`) with the mark price.
    Liquidations {
        time: TimeAxis,
        bars: Bucketed,
        y_desc: String,
        mark_x: Vec<f64>,
        mark: Vec<f64>,
        mark_label: String,
    },
    /// ADL notional and count over time, and the excess.
    Adl {
        time: TimeAxis,
        notional: Bucketed,
        notional_desc: String,
        counts: Option<(Bucketed, String)>,
        total: f64,
        excess: f64,
        totals_desc: String,
    },
    /// Depletion probability over two swept parameters.
    Heatmap(SweepGrid),
    /// Margin multiplier (step line) over the mark price, one path, with the
    /// breaker's pauses shaded.
    MultiplierOverPrice {
        time: TimeAxis,
        x: Vec<f64>,
        multiplier: Vec<f64>,
        mark: Vec<f64>,
        market: String,
        cap: Option<f64>,
        pauses: Vec<(f64, f64)>,
    },
    /// Insurance-fund balance of several runs on one time axis, and their marks.
    Overlay {
        x_desc: String,
        fund_desc: String,
        runs: Vec<OverlayLine>,
        marks: Vec<OverlayLine>,
        mark_desc: String,
    },
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
    /// Line colour (index into [`RUN_COLORS`]).
    pub color: usize,
    /// Starting balance, drawn dashed.
    pub start: Option<f64>,
}

/// Colours of the runs of an overlay chart: A, B.
const RUN_COLORS: [RGBColor; 2] = [RGBColor(230, 133, 0), RGBColor(31, 100, 170)];

/// Fill of the breaker's pauses.
const PAUSE: RGBColor = RGBColor(240, 180, 60);
/// Margin multiplier line.
const MULT: RGBColor = RGBColor(120, 60, 150);

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font()).color(&INK)
}

fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Also under plotters' default family, so no text can fall through to a
        // family that is not registered.
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
            && plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Chart {
            chart: "(all)".to_owned(),
            message: "the bundled font could not be loaded".to_owned(),
        })
    }
}

/// Draws `plot` into SVG and PNG.
fn render(
    name: &'static str,
    title: String,
    subtitle: String,
    caption: String,
    height: u32,
    plot: &Plot,
) -> Result<Chart, ReportError> {
    register_font()?;
    let chart_err = |e: Box<dyn Error>| ReportError::Chart {
        chart: name.to_owned(),
        message: e.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw_chart(&root, &title, &subtitle, plot).map_err(chart_err)?;
        root.present().map_err(|e| chart_err(Box::new(e)))?;
    }
    let len = WIDTH as usize * height as usize * 3;
    let mut rgb = vec![0u8; len];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, height)).into_drawing_area();
        draw_chart(&root, &title, &subtitle, plot).map_err(chart_err)?;
        root.present().map_err(|e| chart_err(Box::new(e)))?;
    }
    let png = encode_png(&rgb, WIDTH, height).map_err(|source| ReportError::Png {
        chart: name.to_owned(),
        source,
    })?;
    Ok(Chart {
        name,
        title,
        caption,
        width: WIDTH,
        height,
        svg,
        png,
    })
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

fn draw_chart<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    subtitle: &str,
    plot: &Plot,
) -> DResult
where
    DB::ErrorType: 'static,
{
    root.fill(&BACKGROUND)?;
    let (w, _) = root.dim_in_pixel();
    let centre = i32::try_from(w / 2).unwrap_or(0);
    let title_style = font(24).pos(Pos::new(HPos::Center, VPos::Top));
    root.draw_text(title, &title_style, (centre, 12))?;
    let sub_style = font(15)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Top));
    root.draw_text(subtitle, &sub_style, (centre, 44))?;
    let body = root.margin(72, 12, 16, 24);
    match plot {
        Plot::Message { text } => draw_message(&body, text),
        Plot::Fan {
            time,
            x,
            bands,
            start,
        } => draw_fan(&body, time, x, bands, *start),
        Plot::BalanceOverPrice {
            time,
            x,
            fund,
            mark,
            market,
            start,
        } => draw_balance_over_price(&body, time, x, fund, mark, market, *start),
        Plot::LossDistribution {
            losses,
            var_99,
            es_99,
        } => draw_loss_distribution(&body, losses, *var_99, *es_99),
        Plot::Histogram {
            values,
            x_desc,
            y_desc,
        } => draw_histogram(&body, values, x_desc, y_desc),
        Plot::Liquidations {
            time,
            bars,
            y_desc,
            mark_x,
            mark,
            mark_label,
        } => draw_liquidations(&body, time, bars, y_desc, mark_x, mark, mark_label),
        Plot::Adl {
            time,
            notional,
            notional_desc,
            counts,
            total,
            excess,
            totals_desc,
        } => draw_adl(
            &body,
            time,
            notional,
            notional_desc,
            counts.as_ref(),
            *total,
            *excess,
            totals_desc,
        ),
        Plot::Heatmap(grid) => draw_heatmap(&body, grid),
        Plot::MultiplierOverPrice {
            time,
            x,
            multiplier,
            mark,
            market,
            cap,
            pauses,
        } => draw_multiplier(&body, time, x, multiplier, mark, market, *cap, pauses),
        Plot::Overlay {
            x_desc,
            fund_desc,
            runs,
            marks,
            mark_desc,
        } => draw_overlay(&body, x_desc, fund_desc, runs, marks, mark_desc),
    }
}

/// A framed area with `text` centred in it.
fn draw_message<DB: DrawingBackend>(area: &Area<DB>, text: &str) -> DResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (i32::try_from(w).unwrap_or(0), i32::try_from(h).unwrap_or(0));
    area.draw(&Rectangle::new(
        [(0, 0), (w - 1, h - 1)],
        ShapeStyle::from(&GRID).stroke_width(2),
    ))?;
    let style = font(22)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    // The panel fits the text (a long message must not run past it).
    let (tw, _) = area.estimate_text_size(text, &style)?;
    let half = (i32::try_from(tw).unwrap_or(0) / 2 + 40)
        .max(360)
        .min((w / 2 - 4).max(0));
    area.draw(&Rectangle::new(
        [(w / 2 - half, h / 2 - 40), (w / 2 + half, h / 2 + 40)],
        RGBColor(245, 246, 248).filled(),
    ))?;
    area.draw_text(text, &style, (w / 2, h / 2))?;
    Ok(())
}

/// `[lo, hi]` with a margin, never empty.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.05).max(1.0);
        return (lo - pad, hi + pad);
    }
    (lo - span * 0.05, hi + span * 0.05)
}

/// A price axis over `[lo, hi]` spanning at least [`MIN_PRICE_SPAN`] of the
/// price level, so a move of a fraction of a percent does not fill the panel
/// like a crash would.
fn price_range(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return padded(lo, hi);
    }
    let mid = (lo + hi) / 2.0;
    let min_span = mid.abs() * MIN_PRICE_SPAN;
    if hi - lo >= min_span {
        return padded(lo, hi);
    }
    let (lo2, hi2) = (mid - min_span / 2.0, mid + min_span / 2.0);
    // Prices are positive: never push the axis below zero for that.
    if lo >= 0.0 && lo2 < 0.0 {
        (0.0, hi2 - lo2)
    } else {
        (lo2, hi2)
    }
}

/// Least span of a price axis, as a fraction of the price.
const MIN_PRICE_SPAN: f64 = 0.1;

fn min_max<'a>(values: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

fn x_range(x: &[f64], extra: f64) -> (f64, f64) {
    let (lo, hi) = min_max(x);
    if lo.is_finite() && hi > lo {
        (lo, hi + extra)
    } else {
        (0.0, 1.0)
    }
}

fn time_fmt(v: &f64) -> String {
    number_compact(*v)
}

/// Percentages on axes: `10%`, `1%`, `0.1%` (no trailing zeros).
fn pct_fmt(v: &f64) -> String {
    let text = pct(*v);
    match text.strip_suffix('%') {
        Some(num) if num.contains('.') => {
            format!("{}%", num.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => text,
    }
}

fn usd_fmt(v: &f64) -> String {
    usd_compact(*v)
}

/// Counts on axes: whole numbers only (no `0.5` fills).
fn count_fmt(v: &f64) -> String {
    if (v - v.round()).abs() > 1e-9 {
        String::new()
    } else {
        number_compact(*v)
    }
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .label_font(font(14))
        .draw()?;
    Ok(())
}

fn line_legend(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(width))
}

/// A legend entry's symbol.
#[derive(Clone, Copy)]
enum Key {
    /// A filled swatch.
    Swatch(RGBAColor),
    /// A line of the given width.
    Line(RGBColor, u32),
    /// A thin dashed line.
    Dashed(RGBColor),
}

/// Height of a legend row under a chart, pixels.
const LEGEND_ROW: u32 = 30;

/// A legend as one centred row (under the plot, where it hides no data).
fn legend_row<DB: DrawingBackend>(area: &Area<DB>, items: &[(Key, String)]) -> DResult
where
    DB::ErrorType: 'static,
{
    let style = font(14).pos(Pos::new(HPos::Left, VPos::Center));
    let (w, h) = area.dim_in_pixel();
    let (swatch, gap, pad) = (22_i32, 8_i32, 26_i32);
    let mut widths = Vec::with_capacity(items.len());
    for (_, label) in items {
        let (tw, _) = area.estimate_text_size(label, &style)?;
        widths.push(swatch + gap + i32::try_from(tw).unwrap_or(0));
    }
    let total: i32 =
        widths.iter().sum::<i32>() + pad * (i32::try_from(items.len()).unwrap_or(1) - 1).max(0);
    let mut x = (i32::try_from(w).unwrap_or(0) - total).max(0) / 2;
    let y = i32::try_from(h / 2).unwrap_or(0);
    for ((key, label), width) in items.iter().zip(widths) {
        match key {
            Key::Swatch(c) => {
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + swatch, y + 7)],
                    c.filled(),
                ))?;
            }
            Key::Line(c, lw) => {
                area.draw(&PathElement::new(
                    [(x, y), (x + swatch, y)],
                    c.stroke_width(*lw),
                ))?;
            }
            Key::Dashed(c) => {
                for k in 0..3 {
                    let x0 = x + k * 8;
                    area.draw(&PathElement::new([(x0, y), (x0 + 5, y)], c.stroke_width(1)))?;
                }
            }
        }
        area.draw_text(label, &style, (x + swatch + gap, y))?;
        x += width + pad;
    }
    Ok(())
}

/// Columns a line is thinned to: far more points than this cannot be told apart
/// in a 1100-pixel chart.
const LINE_COLUMNS: usize = 1200;

/// The finite points of `(x, y)` in order, thinned for drawing: when there are
/// more than `2 × LINE_COLUMNS`, each of `LINE_COLUMNS` equal x columns keeps
/// its first, lowest, highest and last point, so spikes survive.
fn thin(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let points: Vec<(f64, f64)> = x
        .iter()
        .copied()
        .zip(y.iter().copied())
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    if points.len() <= 2 * LINE_COLUMNS {
        return points;
    }
    let (lo, hi) = min_max(points.iter().map(|p| &p.0));
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    #[allow(clippy::cast_precision_loss)]
    let columns = LINE_COLUMNS as f64;
    let column = |x: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let c = (((x - lo) / span) * columns).floor().max(0.0) as usize;
        c.min(LINE_COLUMNS - 1)
    };
    let mut out = Vec::with_capacity(4 * LINE_COLUMNS);
    let mut i = 0;
    while i < points.len() {
        let c = column(points[i].0);
        let mut j = i;
        while j + 1 < points.len() && column(points[j + 1].0) == c {
            j += 1;
        }
        let run = &points[i..=j];
        let (mut lo_i, mut hi_i) = (0, 0);
        for (k, p) in run.iter().enumerate() {
            if p.1 < run[lo_i].1 {
                lo_i = k;
            }
            if p.1 > run[hi_i].1 {
                hi_i = k;
            }
        }
        let mut keep = [0, lo_i.min(hi_i), lo_i.max(hi_i), run.len() - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(run[k]);
                last = k;
            }
        }
        i = j + 1;
    }
    out
}

/// A line through `(x, y)` drawn as separate two-point segments (thinned with
/// [`thin`]): a wide polyline through a jagged series draws long miter spikes
/// outside the plot in the bitmap backend; lone segments have no joins.
fn segments(
    x: &[f64],
    y: &[f64],
    color: RGBColor,
    width: u32,
) -> impl Iterator<Item = PathElement<(f64, f64)>> {
    let points = thin(x, y);
    let style = color.stroke_width(width);
    let single = (points.len() == 1).then(|| PathElement::new(vec![points[0], points[0]], style));
    (0..points.len().saturating_sub(1))
        .map(move |i| PathElement::new(vec![points[i], points[i + 1]], style))
        .chain(single)
}

/// Price labels precise enough to tell the ticks of `[lo, hi]` apart: compact
/// (`$115k`) for a wide range, whole dollars with separators (`$100,250`) or
/// cents for a narrow one.
fn price_formatter(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let span = (hi - lo).abs();
    let magnitude = lo.abs().max(hi.abs());
    // Roughly ten ticks: the tick spacing decides the decimals.
    let step = span / 10.0;
    #[allow(clippy::cast_possible_truncation)]
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        0
    };
    let compact_ok = span >= magnitude * 0.2 || magnitude < 1000.0 && decimals == 0;
    move |v: &f64| {
        if compact_ok && decimals == 0 {
            usd_compact(*v)
        } else if decimals == 0 {
            usd(*v)
        } else if !v.is_finite() {
            "n/a".to_owned()
        } else {
            let sign = if *v < 0.0 { "-" } else { "" };
            format!("{sign}${:.*}", decimals, v.abs())
        }
    }
}

fn band_polygon(x: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = x.iter().copied().zip(hi.iter().copied()).collect();
    points.extend(x.iter().copied().zip(lo.iter().copied()).rev());
    points
}

fn draw_fan<DB: DrawingBackend>(
    area: &Area<DB>,
    time: &TimeAxis,
    x: &[f64],
    bands: &[Vec<f64>; 7],
    start: Option<f64>,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let [p1, p5, p25, p50, p75, p95, p99] = bands;
    let (_, h) = area.dim_in_pixel();
    let (plot, key) = area.split_vertically(h.saturating_sub(LEGEND_ROW));
    let (mut lo, mut hi) = min_max(p1.iter().chain(p99.iter()));
    if let Some(s) = start {
        hi = hi.max(s);
    }
    lo = lo.min(0.0);
    let (ylo, yhi) = padded(lo, hi);
    let (xlo, xhi) = x_range(x, 0.0);
    let mut chart = ChartBuilder::on(&plot)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(time.label.as_str())
        .y_desc("Insurance-fund balance (USD)")
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&usd_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    let mut keys = Vec::new();
    for (lo, hi, alpha, label) in [
        (p1, p99, 0.15, "p1–p99"),
        (p5, p95, 0.25, "p5–p95"),
        (p25, p75, 0.4, "p25–p75"),
    ] {
        let color = FUND.mix(alpha);
        chart.draw_series(std::iter::once(Polygon::new(
            band_polygon(x, lo, hi),
            color.filled(),
        )))?;
        keys.push((Key::Swatch(color), label.to_owned()));
    }
    chart.draw_series(segments(x, p50, FUND, 3))?;
    keys.push((Key::Line(FUND, 3), "median".to_owned()));
    if let Some(s) = start {
        chart.draw_series(DashedLineSeries::new(
            [(xlo, s), (xhi, s)],
            8,
            6,
            INK.stroke_width(1),
        ))?;
        keys.push((Key::Dashed(INK), format!("starting balance {}", usd(s))));
    }
    chart.draw_series(LineSeries::new(
        [(xlo, 0.0), (xhi, 0.0)],
        RISK.stroke_width(2),
    ))?;
    keys.push((Key::Line(RISK, 2), "zero (fund depleted)".to_owned()));
    legend_row(&key, &keys)
}

#[allow(clippy::too_many_arguments)]
fn draw_balance_over_price<DB: DrawingBackend>(
    area: &Area<DB>,
    time: &TimeAxis,
    x: &[f64],
    fund: &[f64],
    mark: &[f64],
    market: &str,
    start: Option<f64>,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let (panels, key) = area.split_vertically(h.saturating_sub(LEGEND_ROW));
    let (top, bottom) = panels.split_vertically(h * 52 / 100);
    let (xlo, xhi) = x_range(x, 0.0);
    let (mut lo, mut hi) = min_max(fund);
    if let Some(s) = start {
        hi = hi.max(s);
    }
    lo = lo.min(0.0);
    let (ylo, yhi) = padded(lo, hi);
    let mut chart = ChartBuilder::on(&top)
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .y_desc("Insurance fund (USD)")
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&usd_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    chart.draw_series(segments(x, fund, FUND, 3))?;
    let mut keys = vec![(Key::Line(FUND, 3), "insurance-fund balance".to_owned())];
    if let Some(s) = start {
        chart.draw_series(DashedLineSeries::new(
            [(xlo, s), (xhi, s)],
            8,
            6,
            INK.stroke_width(1),
        ))?;
        keys.push((Key::Dashed(INK), format!("starting balance {}", usd(s))));
    }
    chart.draw_series(LineSeries::new(
        [(xlo, 0.0), (xhi, 0.0)],
        RISK.stroke_width(2),
    ))?;
    keys.push((Key::Line(RISK, 2), "zero (fund depleted)".to_owned()));
    keys.push((
        Key::Line(PRICE, 2),
        format!("{} mark price (lower panel)", market.to_uppercase()),
    ));
    legend_row(&key, &keys)?;
    draw_price_panel(
        &bottom,
        (xlo, xhi),
        time.label.as_str(),
        &format!("{} mark price (USD)", market.to_uppercase()),
        &[(x, mark, PRICE)],
        &[],
    )
}

/// The lower panel of the charts drawn over the price: mark prices on the time
/// axis `xlo..xhi`, one line per `(x, mark, colour)`, over shaded `spans` (the
/// circuit breaker's pauses).
fn draw_price_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    (xlo, xhi): (f64, f64),
    x_desc: &str,
    y_desc: &str,
    lines: &[(&[f64], &[f64], RGBColor)],
    spans: &[(f64, f64)],
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (plo, phi) = min_max(lines.iter().flat_map(|(_, y, _)| y.iter()));
    let (plo, phi) = price_range(plo, phi);
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, plo..phi)?;
    let price_fmt = price_formatter(plo, phi);
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&price_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    shade(&mut chart, spans, plo, phi)?;
    for (x, y, color) in lines {
        chart.draw_series(segments(x, y, *color, 2))?;
    }
    Ok(())
}

/// Equal-width bins over `[lo, hi]`: `(left edge, width, count)`.
fn histogram(values: &[f64], lo: f64, hi: f64) -> Vec<(f64, f64, f64)> {
    let n = values.len().max(1);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let bins = ((n as f64).sqrt().ceil() as usize).clamp(10, 40);
    #[allow(clippy::cast_precision_loss)]
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0.0; bins];
    for v in values {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[i] += 1.0;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            #[allow(clippy::cast_precision_loss)]
            let left = lo + width * i as f64;
            (left, width, c)
        })
        .collect()
}

/// The x range of a histogram: from zero, unless the values cluster far from it
/// (spread under half their level), when zero would squeeze them into one bar.
fn histogram_range(values: &[f64]) -> (f64, f64) {
    let (lo, hi) = min_max(values);
    if lo > 0.0 && hi - lo < 0.5 * hi {
        let pad = ((hi - lo) * 0.05).max(hi * 0.005);
        return (lo - pad, hi + pad);
    }
    let lo = lo.min(0.0);
    if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + hi.abs().max(1.0))
    }
}

fn draw_histogram<DB: DrawingBackend>(
    area: &Area<DB>,
    values: &[f64],
    x_desc: &str,
    y_desc: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (lo, hi) = histogram_range(values);
    let bins = histogram(values, lo, hi);
    let top = bins.iter().map(|b| b.2).fold(1.0, f64::max);
    // Headroom so the last bar does not sit on the frame.
    let xhi = hi + (hi - lo) * 0.03;
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(lo..xhi, 0.0..top * 1.1)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&usd_fmt)
        .y_label_formatter(&count_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    chart.draw_series(
        bins.iter()
            .filter(|b| b.2 > 0.0)
            .map(|&(left, w, c)| Rectangle::new([(left, 0.0), (left + w, c)], HIST.filled())),
    )?;
    chart.draw_series(bins.iter().filter(|b| b.2 > 0.0).map(|&(left, w, c)| {
        Rectangle::new([(left, 0.0), (left + w, c)], WHITE.stroke_width(1))
    }))?;
    Ok(())
}

fn marker_label(name: &str, value: f64) -> String {
    format!("{name} {}", usd(value))
}

fn draw_loss_distribution<DB: DrawingBackend>(
    area: &Area<DB>,
    losses: &[f64],
    var_99: f64,
    es_99: f64,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (w, _) = area.dim_in_pixel();
    let (left, right) = area.split_horizontally(w / 2);
    let (lo, mut hi) = histogram_range(losses);
    hi = hi.max(es_99).max(var_99);
    let xhi = hi * 1.04;
    let bins = histogram(losses, lo, hi);
    let top = bins.iter().map(|b| b.2).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(&left)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(lo..xhi, 0.0..top * 1.12)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc("Insurance-fund loss per path (USD)")
        .y_desc("Paths")
        .x_labels(6)
        .x_label_formatter(&usd_fmt)
        .y_label_formatter(&count_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    chart.draw_series(
        bins.iter()
            .filter(|b| b.2 > 0.0)
            .map(|&(left, w, c)| Rectangle::new([(left, 0.0), (left + w, c)], HIST.filled())),
    )?;
    let markers = [(var_99, RISK, "VaR 99%"), (es_99, TAIL, "ES 99%")];
    for (value, color, name) in markers {
        chart
            .draw_series(DashedLineSeries::new(
                [(value, 0.0), (value, top * 1.12)],
                8,
                5,
                color.stroke_width(2),
            ))?
            .label(marker_label(name, value))
            .legend(line_legend(color, 2));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;

    // Exceedance: share of paths whose loss is at least x, log scale.
    let mut sorted: Vec<f64> = losses.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let n = sorted.len().max(1) as f64;
    let floor = (0.5 / n).min(0.01);
    let mut points = Vec::with_capacity(sorted.len() * 2);
    for (i, v) in sorted.iter().enumerate() {
        // Ties: the share at a value counts every path at or above it.
        if i > 0 && sorted[i - 1] == *v {
            continue;
        }
        #[allow(clippy::cast_precision_loss)]
        let above = (n - i as f64) / n;
        points.push((*v, above));
    }
    let mut chart = ChartBuilder::on(&right)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(72)
        .build_cartesian_2d(lo..xhi, (floor..1.0).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc("Insurance-fund loss (USD)")
        .y_desc("Share of paths with loss ≥ x (log)")
        .x_labels(6)
        .x_label_formatter(&usd_fmt)
        .y_label_formatter(&pct_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            FUND.stroke_width(2),
        ))?
        .label("exceedance")
        .legend(line_legend(FUND, 2));
    for (value, color, _) in markers {
        chart.draw_series(DashedLineSeries::new(
            [(value, floor), (value, 1.0)],
            8,
            5,
            color.stroke_width(2),
        ))?;
    }
    chart
        .draw_series(LineSeries::new(
            [(lo, 0.01), (xhi, 0.01)],
            MUTED.mix(0.6).stroke_width(1),
        ))?
        .label("1% of paths")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], MUTED.stroke_width(1)));
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[allow(clippy::too_many_arguments)]
fn draw_liquidations<DB: DrawingBackend>(
    area: &Area<DB>,
    time: &TimeAxis,
    bars: &Bucketed,
    y_desc: &str,
    mark_x: &[f64],
    mark: &[f64],
    mark_label: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (x, dx) = (bars.x.as_slice(), bars.dx);
    let empty = Vec::new();
    let long = bars.series.first().unwrap_or(&empty);
    let short = bars.series.get(1).unwrap_or(&empty);
    let (xlo, xhi) = x_range(x, dx);
    let (mlo, mhi) = min_max(mark_x);
    let (xlo, xhi) = (xlo.min(mlo), xhi.max(mhi));
    let top = long
        .iter()
        .zip(short)
        .map(|(l, s)| l + s)
        .fold(0.0, f64::max);
    let (plo, phi) = min_max(mark);
    let (plo, phi) = price_range(plo, phi);
    // The legend goes under the plot, where it hides no bar and no price.
    let (_, h) = area.dim_in_pixel();
    let (plot, key) = area.split_vertically(h.saturating_sub(LEGEND_ROW));
    let mut chart = ChartBuilder::on(&plot)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(96)
        .right_y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, 0.0..top.max(1.0) * 1.1)?
        .set_secondary_coord(xlo..xhi, plo..phi);
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(time.label.as_str())
        .y_desc(y_desc)
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&usd_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    let price_fmt = price_formatter(plo, phi);
    chart
        .configure_secondary_axes()
        .y_desc(mark_label)
        .y_label_formatter(&price_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    let bars = |base: &[f64], value: &[f64], color: RGBColor| -> Vec<Rectangle<(f64, f64)>> {
        x.iter()
            .zip(base.iter().zip(value))
            .filter(|(_, (_, v))| **v > 0.0)
            .map(|(x, (b, v))| Rectangle::new([(*x, *b), (*x + dx, b + v)], color.filled()))
            .collect()
    };
    let zeros = vec![0.0; long.len()];
    chart.draw_series(bars(&zeros, long, LONG))?;
    chart.draw_series(bars(long, short, SHORT))?;
    chart.draw_secondary_series(segments(mark_x, mark, PRICE, 1))?;
    legend_row(
        &key,
        &[
            (Key::Swatch(LONG.mix(1.0)), "longs liquidated".to_owned()),
            (Key::Swatch(SHORT.mix(1.0)), "shorts liquidated".to_owned()),
            (Key::Line(PRICE, 2), "mark price (right axis)".to_owned()),
        ],
    )
}

fn step_bars<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x: &[f64],
    values: &[f64],
    dx: f64,
    color: RGBColor,
) -> DResult
where
    DB::ErrorType: 'static,
{
    chart.draw_series(
        x.iter()
            .zip(values)
            .filter(|(_, v)| **v > 0.0)
            .map(|(x, v)| Rectangle::new([(*x, 0.0), (*x + dx, *v)], color.filled())),
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_adl<DB: DrawingBackend>(
    area: &Area<DB>,
    time: &TimeAxis,
    bars: &Bucketed,
    notional_desc: &str,
    counts: Option<&(Bucketed, String)>,
    total: f64,
    excess: f64,
    totals_desc: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(h * 72 / 100);
    let (top, middle) = upper.split_vertically(h * 38 / 100);
    let (x, dx) = (bars.x.as_slice(), bars.dx);
    let empty = Vec::new();
    let notional = bars.series.first().unwrap_or(&empty);
    let (mut xlo, mut xhi) = x_range(x, dx);
    if let Some((c, _)) = counts
        && !c.x.is_empty()
    {
        let (clo, chi) = x_range(&c.x, c.dx);
        (xlo, xhi) = if x.is_empty() {
            (clo, chi)
        } else {
            (xlo.min(clo), xhi.max(chi))
        };
    }

    let ymax = notional.iter().copied().fold(0.0, f64::max);
    if ymax > 0.0 {
        let mut chart = ChartBuilder::on(&top)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(96)
            .build_cartesian_2d(xlo..xhi, 0.0..ymax * 1.1)?;
        chart
            .configure_mesh()
            .light_line_style(GRID.mix(0.5))
            .bold_line_style(GRID)
            .y_desc(notional_desc)
            .x_label_formatter(&time_fmt)
            .y_label_formatter(&usd_fmt)
            .axis_desc_style(font(15))
            .label_style(font(14))
            .draw()?;
        step_bars(&mut chart, x, notional, dx, TAIL)?;
    } else {
        draw_message(&top.margin(8, 8, 8, 8), "No ADL notional in these steps")?;
    }

    match counts {
        Some((cb, desc))
            if cb
                .series
                .first()
                .is_some_and(|cv| cv.iter().any(|v| *v > 0.0)) =>
        {
            let cx = &cb.x;
            let cv = cb.series.first().unwrap_or(&empty);
            let cmax = cv.iter().copied().fold(1.0, f64::max);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let cmax_labels = (cmax as usize).saturating_add(1);
            let mut chart = ChartBuilder::on(&middle)
                .margin(8)
                .x_label_area_size(52)
                .y_label_area_size(96)
                .build_cartesian_2d(xlo..xhi, 0.0..cmax * 1.15)?;
            chart
                .configure_mesh()
                .light_line_style(GRID.mix(0.5))
                .bold_line_style(GRID)
                .x_desc(time.label.as_str())
                .y_desc(desc.as_str())
                .x_label_formatter(&time_fmt)
                .y_label_formatter(&count_fmt)
                .y_labels(5.min(cmax_labels))
                .axis_desc_style(font(15))
                .label_style(font(14))
                .draw()?;
            step_bars(&mut chart, cx, cv, cb.dx, RGBColor(150, 90, 160))?;
        }
        _ => draw_message(
            &middle.margin(8, 8, 8, 8),
            "Path 0 had no ADL fills (fills per step are kept for path 0 only)",
        )?,
    }

    // Total vs beyond-minimum notional, horizontal bars.
    let xmax = total.max(excess).max(1.0) * 1.35;
    let mut chart = ChartBuilder::on(&lower)
        .margin(8)
        .margin_top(16)
        .x_label_area_size(44)
        .y_label_area_size(230)
        .build_cartesian_2d(0.0..xmax, (0..1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc(totals_desc)
        .x_label_formatter(&usd_fmt)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(0) => "beyond minimum (excess)".to_owned(),
            SegmentValue::CenterOf(1) => "ADL notional".to_owned(),
            _ => String::new(),
        })
        .axis_desc_style(font(15))
        .label_style(font(14))
        .draw()?;
    let share = if total > 0.0 { excess / total } else { 0.0 };
    for (row, value, color, text) in [
        (1, total, TAIL, usd(total)),
        (
            0,
            excess,
            RISK,
            format!("{} ({} of ADL)", usd(excess), pct(share)),
        ),
    ] {
        chart.draw_series(std::iter::once(Rectangle::new(
            [
                (0.0, SegmentValue::Exact(row)),
                (value, SegmentValue::Exact(row + 1)),
            ],
            color.mix(0.85).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            text,
            (value + xmax * 0.01, SegmentValue::CenterOf(row)),
            font(14).pos(Pos::new(HPos::Left, VPos::Center)),
        )))?;
    }
    Ok(())
}

/// White to dark red.
fn heat_color(p: f64) -> RGBColor {
    let t = p.clamp(0.0, 1.0).sqrt();
    let lerp = |a: f64, b: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let v = (a + (b - a) * t).round().clamp(0.0, 255.0) as u8;
        v
    };
    RGBColor(lerp(255.0, 165.0), lerp(247.0, 15.0), lerp(236.0, 21.0))
}

fn draw_heatmap<DB: DrawingBackend>(area: &Area<DB>, grid: &SweepGrid) -> DResult
where
    DB::ErrorType: 'static,
{
    let nx = i32::try_from(grid.x_values.len()).unwrap_or(i32::MAX);
    let ny = i32::try_from(grid.y_values.len()).unwrap_or(i32::MAX);
    let (w, _) = area.dim_in_pixel();
    let (plot, scale) = area.split_horizontally(w.saturating_sub(120));
    let x_labels: Vec<String> = grid
        .x_values
        .iter()
        .map(|v| axis_value(&grid.x_name, *v))
        .collect();
    let y_labels: Vec<String> = grid
        .y_values
        .iter()
        .map(|v| axis_value(&grid.y_name, *v))
        .collect();
    let label_of = |labels: &[String], v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut chart = ChartBuilder::on(&plot)
        .margin(8)
        .x_label_area_size(56)
        .y_label_area_size(110)
        // Integer ranges are inclusive: `0..n-1` gives n segments.
        .build_cartesian_2d(
            (0..(nx - 1).max(0)).into_segmented(),
            (0..(ny - 1).max(0)).into_segmented(),
        )?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(grid.x_name.as_str())
        .y_desc(grid.y_name.as_str())
        .x_labels(grid.x_values.len())
        .y_labels(grid.y_values.len())
        .x_label_formatter(&|v| label_of(&x_labels, v))
        .y_label_formatter(&|v| label_of(&y_labels, v))
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    for (yi, row) in grid.probability.iter().enumerate() {
        for (xi, p) in row.iter().enumerate() {
            let (Ok(xi), Ok(yi)) = (i32::try_from(xi), i32::try_from(yi)) else {
                continue;
            };
            let (fill, text) = match p {
                Some(p) => (heat_color(*p), pct(*p)),
                None => (RGBColor(235, 235, 235), "not run".to_owned()),
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(xi), SegmentValue::Exact(yi)),
                    (SegmentValue::Exact(xi + 1), SegmentValue::Exact(yi + 1)),
                ],
                fill.filled(),
            )))?;
            let ink = if p.is_some_and(|p| p > 0.35) {
                WHITE
            } else {
                INK
            };
            chart.draw_series(std::iter::once(Text::new(
                text,
                (SegmentValue::CenterOf(xi), SegmentValue::CenterOf(yi)),
                font(15)
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))?;
        }
    }
    // Colour scale.
    let mut bar = ChartBuilder::on(&scale)
        .margin(8)
        .margin_left(4)
        .x_label_area_size(56)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc("P(depletion)")
        .y_label_formatter(&pct_fmt)
        .y_labels(6)
        .axis_desc_style(font(14))
        .label_style(font(13))
        .draw()?;
    bar.draw_series((0..100).map(|i| {
        let lo = f64::from(i) / 100.0;
        Rectangle::new(
            [(0.0, lo), (1.0, lo + 0.01)],
            heat_color(lo + 0.005).filled(),
        )
    }))?;
    Ok(())
}

/// A swept value as an axis label: USD for money-like names, else plain.
fn axis_value(name: &str, v: f64) -> String {
    let money = ["initial", "floor", "usd", "notional", "collateral", "price"];
    if money.iter().any(|m| name.contains(m)) {
        usd_compact(v)
    } else {
        crate::format::plain(v)
    }
}

// ---------------------------------------------------------------------------
// The charts of a report.
// ---------------------------------------------------------------------------

fn subtitle(data: &ReportData) -> String {
    let s = &data.summary;
    let paths = if s.paths == 1 {
        "1 path".to_owned()
    } else {
        #[allow(clippy::cast_precision_loss)]
        let p = s.paths as f64;
        format!("{} paths", count(p))
    };
    let seed = s
        .seed
        .as_deref()
        .map_or_else(String::new, |seed| format!(", seed {seed}"));
    format!(
        "{} path model, {paths}, {}{seed}",
        s.path_model,
        s.steps_text()
    )
}

fn title(data: &ReportData, what: &str) -> String {
    format!("{}: {what}", data.summary.name)
}

fn message_chart(
    data: &ReportData,
    name: &'static str,
    what: &str,
    text: String,
) -> Result<Chart, ReportError> {
    let caption = text.clone();
    render(
        name,
        title(data, what),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::Message { text },
    )
}

/// Insurance-fund balance over time: a fan chart of the across-path bands, or for a
/// single path the balance over the mark price.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn insurance_fund(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "insurance_fund";
    let start = data.summary.insurance_fund_initial;
    if !data.single_path()
        && let Some(band) = data.venue_band("insurance_fund")
    {
        let times = step_times(data, &band.step, &band.ts_ns);
        let time = TimeAxis::new(&times);
        let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
        let caption = format!(
            "Insurance-fund balance at the end of each step across {} paths: median line, \
             shaded p25–p75, p5–p95 and p1–p99 bands; dashed line the starting balance, red line zero.",
            count(data.paths.len().max(1) as f64)
        );
        let plot = Plot::Fan {
            time,
            x,
            bands: [
                band.p1.clone(),
                band.p5.clone(),
                band.p25.clone(),
                band.p50.clone(),
                band.p75.clone(),
                band.p95.clone(),
                band.p99.clone(),
            ],
            start,
        };
        return render(
            name,
            title(data, "insurance-fund balance across paths"),
            subtitle(data),
            caption,
            HEIGHT,
            &plot,
        );
    }
    match &data.path0 {
        Some(series) if !series.is_empty() => {
            let times = step_times(data, &series.step, &series.ts_ns);
            let time = TimeAxis::new(&times);
            let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
            let plot = Plot::BalanceOverPrice {
                time,
                x,
                fund: series.insurance_fund.clone(),
                mark: series.mark.clone(),
                market: series.market.clone(),
                start,
            };
            let what = if data.single_path() {
                "insurance-fund balance and price"
            } else {
                "insurance-fund balance and price, path 0"
            };
            render(
                name,
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
        _ => message_chart(
            data,
            name,
            "insurance-fund balance",
            "No per-step insurance-fund series in these results".to_owned(),
        ),
    }
}

/// Distribution of the insurance-fund loss across paths: histogram and exceedance
/// curve with VaR and ES 99% marked.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn drawdown(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "drawdown";
    let what = "insurance-fund loss across paths";
    let losses = data
        .paths
        .values("insurance_fund_loss", data.first_param_set());
    let tail = &data.summary.aggregates.insurance_fund_loss;
    if losses.len() < MIN_HISTOGRAM {
        let dd = data
            .paths
            .values("insurance_fund_max_drawdown", data.first_param_set());
        let text = match (losses.as_slice(), dd.first()) {
            ([l], Some(d)) => format!(
                "One path: insurance-fund loss {}, max drawdown {}",
                usd(*l),
                usd(*d)
            ),
            ([], _) => "No per-path insurance-fund losses in these results".to_owned(),
            (ls, _) => {
                let list: Vec<String> = ls.iter().map(|l| usd(*l)).collect();
                format!("Insurance-fund loss per path: {}", list.join(" and "))
            }
        };
        return message_chart(data, name, what, text);
    }
    if losses.iter().all(|l| *l <= 0.0) {
        return message_chart(
            data,
            name,
            what,
            format!(
                "The insurance fund never lost money in any of the {} paths",
                count(losses.len() as f64)
            ),
        );
    }
    let caption = format!(
        "Insurance-fund loss per path (left, histogram) and the share of paths losing at least x \
         (right, log scale); VaR 99% {} and ES 99% {} dashed.",
        usd(tail.var_99),
        usd(tail.es_99)
    );
    render(
        name,
        title(data, what),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::LossDistribution {
            losses,
            var_99: tail.var_99,
            es_99: tail.es_99,
        },
    )
}

/// Socialized loss: across paths, its distribution and the share of paths with any;
/// for one path, the haircut per account.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn socialized_loss(data: &ReportData) -> Result<Chart, ReportError> {
    let name = "socialized_loss";
    if data.single_path() {
        let what = "socialized-loss haircut per account";
        let amounts: Vec<f64> = data
            .haircuts
            .iter()
            .map(|h| h.amount)
            .filter(|a| a.is_finite() && *a > 0.0)
            .collect();
        if amounts.is_empty() {
            return message_chart(
                data,
                name,
                what,
                "No socialized loss in this run: no account was haircut".to_owned(),
            );
        }
        let total: f64 = amounts.iter().sum();
        if amounts.len() < MIN_HISTOGRAM {
            // A histogram of one or two values says less than the values.
            let list: Vec<String> = amounts.iter().map(|a| usd(*a)).collect();
            return message_chart(
                data,
                name,
                what,
                format!(
                    "{} haircut: {}",
                    if amounts.len() == 1 {
                        "One account"
                    } else {
                        "Two accounts"
                    },
                    list.join(" and ")
                ),
            );
        }
        let caption = format!(
            "Haircut charged per account: {} accounts, {} in total, largest {}.",
            count(amounts.len() as f64),
            usd(total),
            usd(amounts.iter().copied().fold(0.0, f64::max))
        );
        return render(
            name,
            title(data, what),
            format!(
                "{}; {} accounts haircut, {} in total",
                subtitle(data),
                count(amounts.len() as f64),
                usd(total)
            ),
            caption,
            HEIGHT,
            &Plot::Histogram {
                values: amounts,
                x_desc: "Haircut per account (USD)".to_owned(),
                y_desc: "Accounts".to_owned(),
            },
        );
    }
    let what = "socialized loss across paths";
    let values = data.paths.values("socialized_loss", data.first_param_set());
    let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
    let any = &data.summary.aggregates.socialized_loss_any;
    if positive.is_empty() {
        return message_chart(
            data,
            name,
            what,
            format!(
                "No socialized loss in any of the {} paths",
                count(values.len().max(1) as f64)
            ),
        );
    }
    let share = pct_interval(any.probability, any.ci95[0], any.ci95[1]);
    if positive.len() < MIN_HISTOGRAM {
        let list: Vec<String> = positive.iter().map(|a| usd(*a)).collect();
        return message_chart(
            data,
            name,
            what,
            format!(
                "Socialized loss on {} of {} paths: {}",
                count(positive.len() as f64),
                count(values.len().max(1) as f64),
                list.join(" and ")
            ),
        );
    }
    let caption = format!(
        "Socialized loss per path, for the {} paths with any; share of paths with any: {share} (95% CI).",
        count(positive.len() as f64)
    );
    render(
        name,
        title(data, what),
        format!("{}; paths with any: {share}", subtitle(data)),
        caption,
        HEIGHT,
        &Plot::Histogram {
            values: positive,
            x_desc: "Socialized loss per path, paths with any (USD)".to_owned(),
            y_desc: "Paths".to_owned(),
        },
    )
}

/// Liquidated notional per step, stacked long/short, with the mark price.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
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
        &Plot::Liquidations {
            time,
            bars,
            y_desc,
            mark_x,
            mark,
            mark_label: format!("{} {source} (USD)", market.to_uppercase()),
        },
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

/// ADL events: notional and count over time, and the notional beyond the minimum
/// needed.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
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
    #[allow(clippy::cast_precision_loss)]
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let (total, excess, totals_desc) = if data.single_path() {
        (
            totals.first().copied().unwrap_or(path0_total),
            excesses.first().copied().unwrap_or(0.0),
            "ADL notional over the run (USD)".to_owned(),
        )
    } else {
        (
            mean(&totals),
            mean(&excesses),
            "ADL notional per path, mean across paths (USD)".to_owned(),
        )
    };
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
            format!("ADL fills per {}", b.per)
        } else {
            format!("ADL fills per {}, path 0", b.per)
        };
        (b, desc)
    });
    let share = if total > 0.0 { excess / total } else { 0.0 };
    let caption = format!(
        "ADL notional per step (top), ADL fills per step (middle), and the ADL notional beyond the \
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
        &Plot::Adl {
            time,
            notional: bars,
            notional_desc,
            counts,
            total,
            excess,
            totals_desc,
        },
    )
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

/// Probability of insurance-fund depletion over two swept parameters.
///
/// # Errors
///
/// [`ReportError::Invalid`] if the grid is malformed; [`ReportError::Chart`] or
/// [`ReportError::Png`] if drawing or encoding fails.
pub fn sweep_heatmap(data: &ReportData, grid: &SweepGrid) -> Result<Chart, ReportError> {
    grid.validate()?;
    let caption = format!(
        "Probability that the insurance fund is depleted, for each combination of {} (x) and {} (y).",
        grid.x_name, grid.y_name
    );
    render(
        "sweep_depletion",
        title(data, "probability of insurance-fund depletion"),
        subtitle(data),
        caption,
        HEIGHT,
        &Plot::Heatmap(grid.clone()),
    )
}

/// Every chart of the report, in report order.
///
/// # Errors
///
/// The first chart's error, as the chart functions.
pub fn all(data: &ReportData) -> Result<Vec<Chart>, ReportError> {
    let mut charts = vec![
        insurance_fund(data)?,
        drawdown(data)?,
        socialized_loss(data)?,
        liquidations(data)?,
        adl(data)?,
    ];
    if let Some(chart) = margin_multiplier(data)? {
        charts.push(chart);
    }
    if data.paths.param_sets().len() > 1
        && let Some(grid) = &data.sweep
    {
        charts.push(sweep_heatmap(data, grid)?);
    }
    Ok(charts)
}

/// Points of a step line: each value held until the next step's time.
fn step_line(x: &[f64], y: &[f64], x_end: f64) -> (Vec<f64>, Vec<f64>) {
    let mut xs = Vec::with_capacity(x.len() * 2);
    let mut ys = Vec::with_capacity(y.len() * 2);
    for (i, (xi, yi)) in x.iter().zip(y).enumerate() {
        let next = x.get(i + 1).copied().unwrap_or(x_end);
        xs.extend([*xi, next]);
        ys.extend([*yi, *yi]);
    }
    (xs, ys)
}

/// Shaded spans `[from, to)` on the time axis, full height.
fn shade<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    spans: &[(f64, f64)],
    lo: f64,
    hi: f64,
) -> DResult
where
    DB::ErrorType: 'static,
{
    chart.draw_series(
        spans
            .iter()
            .map(|(a, b)| Rectangle::new([(*a, lo), (*b, hi)], PAUSE.mix(0.35).filled())),
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_multiplier<DB: DrawingBackend>(
    area: &Area<DB>,
    time: &TimeAxis,
    x: &[f64],
    multiplier: &[f64],
    mark: &[f64],
    market: &str,
    cap: Option<f64>,
    pauses: &[(f64, f64)],
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let (panels, key) = area.split_vertically(h.saturating_sub(LEGEND_ROW));
    let (top, bottom) = panels.split_vertically(h * 46 / 100);
    let (xlo, xhi) = x_range(x, 0.0);
    let (mut lo, mut hi) = min_max(multiplier);
    lo = lo.min(1.0);
    if let Some(c) = cap {
        hi = hi.max(c);
    }
    let (ylo, yhi) = padded(lo, hi);
    let mut chart = ChartBuilder::on(&top)
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .y_desc("Margin multiplier (×)")
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&|v: &f64| {
            format!("{}×", crate::format::plain((v * 100.0).round() / 100.0))
        })
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    shade(&mut chart, pauses, ylo, yhi)?;
    let (sx, sy) = step_line(x, multiplier, xhi);
    chart.draw_series(segments(&sx, &sy, MULT, 3))?;
    let mut keys = vec![(
        Key::Line(MULT, 3),
        format!("{} margin multiplier", market.to_uppercase()),
    )];
    if let Some(c) = cap {
        chart.draw_series(DashedLineSeries::new(
            [(xlo, c), (xhi, c)],
            8,
            6,
            INK.stroke_width(1),
        ))?;
        keys.push((
            Key::Dashed(INK),
            format!("cap {}×", crate::format::plain(c)),
        ));
    }
    if !pauses.is_empty() {
        keys.push((
            Key::Swatch(PAUSE.mix(0.6)),
            "liquidations paused (circuit breaker)".to_owned(),
        ));
    }
    keys.push((
        Key::Line(PRICE, 2),
        format!("{} mark price (lower panel)", market.to_uppercase()),
    ));
    legend_row(&key, &keys)?;
    draw_price_panel(
        &bottom,
        (xlo, xhi),
        time.label.as_str(),
        &format!("{} mark price (USD)", market.to_uppercase()),
        &[(x, mark, PRICE)],
        pauses,
    )
}

fn draw_overlay<DB: DrawingBackend>(
    area: &Area<DB>,
    x_desc: &str,
    fund_desc: &str,
    runs: &[OverlayLine],
    marks: &[OverlayLine],
    mark_desc: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let (panels, key) = area.split_vertically(h.saturating_sub(LEGEND_ROW));
    let (top, bottom) = if marks.is_empty() {
        (panels.clone(), None)
    } else {
        let (t, b) = panels.split_vertically(h * 55 / 100);
        (t, Some(b))
    };
    let all_x = || runs.iter().chain(marks).flat_map(|r| r.x.iter());
    let (xlo, xhi) = min_max(all_x());
    let (xlo, xhi) = if xlo.is_finite() && xhi > xlo {
        (xlo, xhi)
    } else {
        (0.0, 1.0)
    };
    let (mut lo, mut hi) = min_max(runs.iter().flat_map(|r| r.y.iter()));
    for r in runs {
        if let Some(s) = r.start {
            hi = hi.max(s);
        }
    }
    lo = lo.min(0.0);
    let (ylo, yhi) = padded(lo, hi);
    let mut chart = ChartBuilder::on(&top)
        .margin(8)
        .x_label_area_size(if bottom.is_some() { 30 } else { 52 })
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .y_desc(fund_desc)
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&usd_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14));
    if bottom.is_none() {
        mesh.x_desc(x_desc);
    }
    mesh.draw()?;
    // Zero first, thin: a run whose fund sits at zero must stay visible on it.
    chart.draw_series(LineSeries::new(
        [(xlo, 0.0), (xhi, 0.0)],
        RISK.stroke_width(1),
    ))?;
    let mut keys = Vec::new();
    let mut starts: Vec<f64> = Vec::new();
    for r in runs {
        let color = RUN_COLORS[r.color % RUN_COLORS.len()];
        if let Some(s) = r.start
            && !starts.contains(&s)
        {
            starts.push(s);
            chart.draw_series(DashedLineSeries::new(
                [(xlo, s), (xhi, s)],
                8,
                6,
                INK.stroke_width(1),
            ))?;
        }
        chart.draw_series(segments(&r.x, &r.y, color, 3))?;
        keys.push((Key::Line(color, 3), r.label.clone()));
    }
    if let [s] = starts.as_slice() {
        keys.push((Key::Dashed(INK), format!("starting balance {}", usd(*s))));
    } else if !starts.is_empty() {
        keys.push((Key::Dashed(INK), "starting balances".to_owned()));
    }
    keys.push((Key::Line(RISK, 1), "zero (fund depleted)".to_owned()));
    legend_row(&key, &keys)?;

    if let Some(bottom) = bottom {
        let lines: Vec<(&[f64], &[f64], RGBColor)> = marks
            .iter()
            .map(|r| {
                let color = RUN_COLORS[r.color % RUN_COLORS.len()];
                (r.x.as_slice(), r.y.as_slice(), color)
            })
            .collect();
        draw_price_panel(&bottom, (xlo, xhi), x_desc, mark_desc, &lines, &[])?;
    }
    Ok(())
}

/// The margin multiplier over the mark price, for a one-path run with the
/// volatility margin on (`None` otherwise); the circuit breaker's pauses are
/// shaded when the run has a breaker.
///
/// # Errors
///
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn margin_multiplier(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let Some(series) = crate::controls::multiplier_series(data) else {
        return Ok(None);
    };
    let times = step_times(data, &series.step, &series.ts_ns);
    let time = TimeAxis::new(&times);
    let x: Vec<f64> = times.iter().map(|t| time.x(*t)).collect();
    let pauses: Vec<(f64, f64)> = match crate::controls::breaker_pauses(data) {
        Ok(a) => {
            let end = x.last().copied().unwrap_or(0.0);
            a.paused
                .iter()
                .enumerate()
                .filter(|(_, p)| **p)
                .map(|(i, _)| (x[i], x.get(i + 1).copied().unwrap_or(end)))
                .collect()
        }
        Err(_) => Vec::new(),
    };
    let cap = data
        .summary
        .parameters
        .iter()
        .find(|(k, _)| k == "controls.vol_margin.cap")
        .and_then(|(_, v)| v.replace(',', "").parse::<f64>().ok());
    let (_, max) = min_max(&series.margin_multiplier);
    let market = series.market.to_uppercase();
    let mut caption = format!(
        "Multiplier of the {market} margin rates at each step (top; the volatility margin holds it \
         between updates), over the {market} mark price (bottom); largest {}×.",
        crate::format::plain((max * 1000.0).round() / 1000.0)
    );
    if !pauses.is_empty() {
        caption.push_str(" Shaded: steps when the circuit breaker paused liquidations.");
    }
    render(
        "margin_multiplier",
        title(data, "margin multiplier and price"),
        subtitle(data),
        caption,
        TALL_HEIGHT,
        &Plot::MultiplierOverPrice {
            time,
            x,
            multiplier: series.margin_multiplier.clone(),
            mark: series.mark.clone(),
            market: series.market.clone(),
            cap,
            pauses,
        },
    )
    .map(Some)
}

/// An overlay chart of several runs' insurance-fund balances (top) and marks
/// (bottom, when given), drawn for `backstop compare`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn overlay(
    name: &'static str,
    title: String,
    subtitle: String,
    caption: String,
    x_desc: String,
    fund_desc: String,
    runs: Vec<OverlayLine>,
    marks: Vec<OverlayLine>,
    mark_desc: String,
) -> Result<Chart, ReportError> {
    let height = if marks.is_empty() {
        HEIGHT
    } else {
        TALL_HEIGHT
    };
    render(
        name,
        title,
        subtitle,
        caption,
        height,
        &Plot::Overlay {
            x_desc,
            fund_desc,
            runs,
            marks,
            mark_desc,
        },
    )
}

/// Recorded times of `steps` as [`step_times`] does, for `backstop compare`.
pub(crate) fn times_of(data: &ReportData, steps: &[u32], ts_ns: &[i64]) -> Vec<i64> {
    step_times(data, steps, ts_ns)
}

/// Time-axis unit for a span of `seconds`: (seconds per unit, unit name).
pub(crate) fn time_unit(seconds: f64) -> (f64, &'static str) {
    if seconds <= 3.0 * 3600.0 {
        (60.0, "minutes")
    } else if seconds <= 72.0 * 3600.0 {
        (3600.0, "hours")
    } else {
        (86400.0, "days")
    }
}

/// `ns` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`, for `backstop compare`.
pub(crate) fn utc(ns: i64) -> String {
    format_utc(ns)
}
