//! Drawing parts several kinds of plot share: the drawing area and result
//! types, a framed message, legends, lines thinned for drawing, bars per step,
//! step lines, shaded spans.

use std::error::Error;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::charts::axis::min_max;
use crate::charts::style::{GRID, MUTED, PAUSE, font};

/// What a drawing step returns (plotters' errors, boxed).
pub(crate) type DResult = Result<(), Box<dyn Error>>;
/// A drawing area.
pub(crate) type Area<DB> = DrawingArea<DB, Shift>;

/// A framed area with `text` centred in it.
pub(crate) fn draw_message<DB: DrawingBackend>(area: &Area<DB>, text: &str) -> DResult
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

pub(crate) fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
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

pub(crate) fn line_legend(
    color: RGBColor,
    width: u32,
) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(width))
}

/// A legend entry's symbol.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// A filled swatch.
    Swatch(RGBAColor),
    /// A line of the given width.
    Line(RGBColor, u32),
    /// A thin dashed line.
    Dashed(RGBColor),
    /// An empty box outlined with a line of the given width (a heatmap cell
    /// that meets the target).
    Outline(RGBColor, u32),
}

/// Height of a legend row under a chart, pixels.
pub(crate) const LEGEND_ROW: u32 = 30;

/// A legend as one centred row (under the plot, where it hides no data).
pub(crate) fn legend_row<DB: DrawingBackend>(area: &Area<DB>, items: &[(Key, String)]) -> DResult
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
            Key::Outline(c, lw) => {
                area.draw(&Rectangle::new(
                    [(x, y - 9), (x + swatch, y + 9)],
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
pub(crate) const LINE_COLUMNS: usize = 1200;

/// The finite points of `(x, y)` in order, thinned for drawing: when there are
/// more than `2 × LINE_COLUMNS`, each of `LINE_COLUMNS` equal x columns keeps
/// its first, lowest, highest and last point, so spikes survive.
pub(crate) fn thin(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
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
pub(crate) fn segments(
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

pub(crate) fn band_polygon(x: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = x.iter().copied().zip(hi.iter().copied()).collect();
    points.extend(x.iter().copied().zip(lo.iter().copied()).rev());
    points
}

pub(crate) fn step_bars<'a, DB: DrawingBackend + 'a>(
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

/// Points of a step line: each value held until the next step's time.
pub(crate) fn step_line(x: &[f64], y: &[f64], x_end: f64) -> (Vec<f64>, Vec<f64>) {
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
pub(crate) fn shade<'a, DB: DrawingBackend + 'a>(
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
