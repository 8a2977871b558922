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

/// How elapsed time is shown on x axes.
#[derive(Debug, Clone)]
struct TimeAxis {
    seconds_per_unit: f64,
    label: String,
}

impl TimeAxis {
    fn new(data: &ReportData, steps: f64) -> Self {
        let step_seconds = data.summary.step_seconds;
        let total = steps * step_seconds;
        let (seconds_per_unit, unit) = if total <= 3.0 * 3600.0 {
            (60.0, "minutes")
        } else if total <= 72.0 * 3600.0 {
            (3600.0, "hours")
        } else {
            (86400.0, "days")
        };
        let since = data.summary.start.as_deref().map_or_else(
            || "start".to_owned(),
            |s| s.replace('T', " ").replace('Z', " UTC"),
        );
        Self {
            seconds_per_unit: seconds_per_unit / step_seconds,
            label: format!("Time since {} ({unit})", since.trim()),
        }
    }

    /// Position of `step` on the axis.
    fn x(&self, step: u32) -> f64 {
        f64::from(step) / self.seconds_per_unit
    }

    /// Width of one step on the axis.
    fn step_width(&self) -> f64 {
        1.0 / self.seconds_per_unit
    }
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
    /// Stacked long/short liquidated notional per step with the mark price.
    Liquidations {
        time: TimeAxis,
        x: Vec<f64>,
        long: Vec<f64>,
        short: Vec<f64>,
        mark: Vec<f64>,
        mark_label: String,
    },
    /// ADL notional and count over time, and the excess.
    Adl {
        time: TimeAxis,
        x: Vec<f64>,
        notional: Vec<f64>,
        notional_desc: String,
        counts: Option<(Vec<f64>, Vec<f64>, String)>,
        total: f64,
        excess: f64,
        totals_desc: String,
    },
    /// Depletion probability over two swept parameters.
    Heatmap(SweepGrid),
}

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
            x,
            long,
            short,
            mark,
            mark_label,
        } => draw_liquidations(&body, time, x, long, short, mark, mark_label),
        Plot::Adl {
            time,
            x,
            notional,
            notional_desc,
            counts,
            total,
            excess,
            totals_desc,
        } => draw_adl(
            &body,
            time,
            x,
            notional,
            notional_desc,
            counts.as_ref(),
            *total,
            *excess,
            totals_desc,
        ),
        Plot::Heatmap(grid) => draw_heatmap(&body, grid),
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
    area.draw(&Rectangle::new(
        [(w / 2 - 360, h / 2 - 40), (w / 2 + 360, h / 2 + 40)],
        RGBColor(245, 246, 248).filled(),
    ))?;
    let style = font(22)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
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

fn rect_legend(color: RGBAColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], color.filled())
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
    chart.draw_series(LineSeries::new(
        x.iter().copied().zip(p50.iter().copied()),
        FUND.stroke_width(3),
    ))?;
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
    chart.draw_series(LineSeries::new(
        x.iter().copied().zip(fund.iter().copied()),
        FUND.stroke_width(3),
    ))?;
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

    let (plo, phi) = min_max(mark);
    let (plo, phi) = padded(plo, phi);
    let mut chart = ChartBuilder::on(&bottom)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, plo..phi)?;
    let price_desc = format!("{} mark price (USD)", market.to_uppercase());
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(time.label.as_str())
        .y_desc(price_desc.as_str())
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&usd_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    chart.draw_series(LineSeries::new(
        x.iter()
            .copied()
            .zip(mark.iter().copied())
            .filter(|(_, y)| y.is_finite()),
        PRICE.stroke_width(2),
    ))?;
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

fn histogram_range(values: &[f64]) -> (f64, f64) {
    let (lo, hi) = min_max(values);
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
    x: &[f64],
    long: &[f64],
    short: &[f64],
    mark: &[f64],
    mark_label: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let dx = time.step_width();
    let (xlo, xhi) = x_range(x, dx);
    let top = long
        .iter()
        .zip(short)
        .map(|(l, s)| l + s)
        .fold(0.0, f64::max);
    let (plo, phi) = min_max(mark);
    let (plo, phi) = padded(plo, phi);
    let mut chart = ChartBuilder::on(area)
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
        .y_desc("Liquidated notional per step (USD)")
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&usd_fmt)
        .axis_desc_style(font(16))
        .label_style(font(14))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc(mark_label)
        .y_label_formatter(&usd_fmt)
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
    chart
        .draw_series(bars(&zeros, long, LONG))?
        .label("longs liquidated")
        .legend(rect_legend(LONG.mix(1.0)));
    chart
        .draw_series(bars(long, short, SHORT))?
        .label("shorts liquidated")
        .legend(rect_legend(SHORT.mix(1.0)));
    chart
        .draw_secondary_series(LineSeries::new(
            x.iter()
                .copied()
                .zip(mark.iter().copied())
                .filter(|(_, y)| y.is_finite()),
            PRICE.stroke_width(2),
        ))?
        .label("mark price (right axis)")
        .legend(line_legend(PRICE, 2));
    legend(&mut chart, SeriesLabelPosition::UpperRight)
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
    x: &[f64],
    notional: &[f64],
    notional_desc: &str,
    counts: Option<&(Vec<f64>, Vec<f64>, String)>,
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
    let dx = time.step_width();
    let (xlo, xhi) = x_range(x, dx);

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
        Some((cx, cv, desc)) if cv.iter().any(|v| *v > 0.0) => {
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
            step_bars(&mut chart, cx, cv, dx, RGBColor(150, 90, 160))?;
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
        "{} path model, {paths}, {} steps of {}s{seed}",
        s.path_model, s.steps, s.step_seconds
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
        #[allow(clippy::cast_precision_loss)]
        let time = TimeAxis::new(data, data.summary.steps as f64);
        let x: Vec<f64> = band.step.iter().map(|s| time.x(*s)).collect();
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
            #[allow(clippy::cast_precision_loss)]
            let time = TimeAxis::new(data, series.len() as f64);
            let x: Vec<f64> = series.step.iter().map(|s| time.x(*s)).collect();
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
    if losses.len() <= 1 {
        let dd = data
            .paths
            .values("insurance_fund_max_drawdown", data.first_param_set());
        let text = match (losses.first(), dd.first()) {
            (Some(l), Some(d)) => format!(
                "One path: insurance-fund loss {}, max drawdown {}",
                usd(*l),
                usd(*d)
            ),
            _ => "No per-path insurance-fund losses in these results".to_owned(),
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
    let (steps, long, short, mark, market, source) = if let Some(m) = multi {
        what = "liquidations over time, mean across paths";
        m
    } else if let Some(series) = data.path0.as_ref().filter(|s| !s.is_empty()) {
        if !data.single_path() {
            what = "liquidations over time, path 0";
        }
        (
            series.step.clone(),
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
    #[allow(clippy::cast_precision_loss)]
    let time = TimeAxis::new(data, data.summary.steps.max(steps.len() as u64) as f64);
    let x: Vec<f64> = steps.iter().map(|s| time.x(*s)).collect();
    let caption = format!(
        "Notional liquidated per step ({}), longs and shorts stacked, with the {} {source} on the right axis.",
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
            x,
            long,
            short,
            mark,
            mark_label: format!("{} {source} (USD)", market.to_uppercase()),
        },
    )
}

type StepSeries = (Vec<u32>, Vec<f64>, Vec<f64>, Vec<f64>, String, &'static str);

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
    let (steps, notional, notional_desc) = match (band, path0) {
        (Some((steps, mean)), _) => (steps, mean, "Mean ADL notional per step (USD)".to_owned()),
        (None, Some(s)) => (
            s.step.clone(),
            s.adl_notional.clone(),
            "ADL notional per step (USD)".to_owned(),
        ),
        (None, None) => (Vec::new(), Vec::new(), String::new()),
    };
    #[allow(clippy::cast_precision_loss)]
    let time = TimeAxis::new(data, data.summary.steps.max(steps.len() as u64) as f64);
    let x: Vec<f64> = steps.iter().map(|s| time.x(*s)).collect();
    let counts = path0.map(|s| {
        let desc = if data.single_path() {
            "ADL fills per step"
        } else {
            "ADL fills per step, path 0"
        };
        (
            s.step.iter().map(|st| time.x(*st)).collect(),
            s.adl_count.clone(),
            desc.to_owned(),
        )
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
            x,
            notional,
            notional_desc,
            counts,
            total,
            excess,
            totals_desc,
        },
    )
}

/// Mean of `series` per step, summed over markets.
fn sum_band(data: &ReportData, series: &str) -> Option<(Vec<u32>, Vec<f64>)> {
    let mut out: Option<(Vec<u32>, Vec<f64>)> = None;
    for ((market, s), band) in &data.bands {
        if s != series || market.is_empty() {
            continue;
        }
        match &mut out {
            None => out = Some((band.step.clone(), band.mean.clone())),
            Some((steps, values)) => {
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
    if data.paths.param_sets().len() > 1
        && let Some(grid) = &data.sweep
    {
        charts.push(sweep_heatmap(data, grid)?);
    }
    Ok(charts)
}
