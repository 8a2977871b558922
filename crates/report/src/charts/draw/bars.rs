//! Bars over time: liquidated notional (long and short stacked, the price on
//! the right axis) and ADL (notional, fills, and the excess).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::parts::{Area, DResult, draw_message};
use super::parts::{Key, LEGEND_ROW, legend_row, segments, step_bars};
use crate::charts::axis::Bucketed;
use crate::charts::axis::{
    count_fmt, min_max, price_formatter, price_range, time_fmt, usd_fmt, x_range,
};
use crate::charts::plot::{Adl, Liquidations};
use crate::charts::style::{GRID, LONG, PRICE, RISK, SHORT, TAIL, font};
use crate::format::{pct, usd};

/// Liquidated notional per bar, longs and shorts stacked, with the mark price
/// on the right axis.
// Over 70 lines: one plotters chart built step by step (two axes, bars, price, legend).
pub(crate) fn draw_liquidations<DB: DrawingBackend>(area: &Area<DB>, spec: &Liquidations) -> DResult
where
    DB::ErrorType: 'static,
{
    let Liquidations {
        time,
        bars,
        y_desc,
        mark_x,
        mark,
        mark_label,
    } = spec;
    let (mark_x, mark) = (mark_x.as_slice(), mark.as_slice());
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

/// ADL notional per bar (top), ADL fills per bar of path 0 (middle), and the
/// notional beyond the minimum needed (bottom).
pub(crate) fn draw_adl<DB: DrawingBackend>(area: &Area<DB>, spec: &Adl) -> DResult
where
    DB::ErrorType: 'static,
{
    let (_, h) = area.dim_in_pixel();
    let (upper, lower) = area.split_vertically(h * 72 / 100);
    let (top, middle) = upper.split_vertically(h * 38 / 100);
    let bars = &spec.notional;
    let (mut xlo, mut xhi) = x_range(&bars.x, bars.dx);
    if let Some((c, _)) = &spec.counts
        && !c.x.is_empty()
    {
        let (clo, chi) = x_range(&c.x, c.dx);
        (xlo, xhi) = if bars.x.is_empty() {
            (clo, chi)
        } else {
            (xlo.min(clo), xhi.max(chi))
        };
    }
    adl_notional(&top, (xlo, xhi), bars, &spec.notional_desc)?;
    adl_fills(&middle, (xlo, xhi), &spec.time.label, spec.counts.as_ref())?;
    adl_totals(&lower, spec.total, spec.excess, &spec.totals_desc)
}

/// The top panel of the ADL chart: notional per bar.
fn adl_notional<DB: DrawingBackend>(
    top: &Area<DB>,
    (xlo, xhi): (f64, f64),
    bars: &Bucketed,
    notional_desc: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let (x, dx) = (bars.x.as_slice(), bars.dx);
    let empty = Vec::new();
    let notional = bars.series.first().unwrap_or(&empty);
    let ymax = notional.iter().copied().fold(0.0, f64::max);
    if ymax <= 0.0 {
        return draw_message(&top.margin(8, 8, 8, 8), "No ADL notional in these steps");
    }
    let mut chart = ChartBuilder::on(top)
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
    step_bars(&mut chart, x, notional, dx, TAIL)
}

/// The middle panel of the ADL chart: fills per bar of path 0.
fn adl_fills<DB: DrawingBackend>(
    middle: &Area<DB>,
    (xlo, xhi): (f64, f64),
    time_label: &str,
    counts: Option<&(Bucketed, String)>,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let Some((cb, desc)) = counts.filter(|(cb, _)| {
        cb.series
            .first()
            .is_some_and(|cv| cv.iter().any(|v| *v > 0.0))
    }) else {
        return draw_message(
            &middle.margin(8, 8, 8, 8),
            "Path 0 had no ADL fills (fills per step are kept for path 0 only)",
        );
    };
    let empty = Vec::new();
    let cv = cb.series.first().unwrap_or(&empty);
    let cmax = cv.iter().copied().fold(1.0, f64::max);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let cmax_labels = (cmax as usize).saturating_add(1);
    let mut chart = ChartBuilder::on(middle)
        .margin(8)
        .x_label_area_size(52)
        .y_label_area_size(96)
        .build_cartesian_2d(xlo..xhi, 0.0..cmax * 1.15)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(time_label)
        .y_desc(desc.as_str())
        .x_label_formatter(&time_fmt)
        .y_label_formatter(&count_fmt)
        .y_labels(5.min(cmax_labels))
        .axis_desc_style(font(15))
        .label_style(font(14))
        .draw()?;
    step_bars(&mut chart, &cb.x, cv, cb.dx, RGBColor(150, 90, 160))
}

/// The bottom panel of the ADL chart: total against beyond-minimum notional,
/// horizontal bars.
fn adl_totals<DB: DrawingBackend>(
    lower: &Area<DB>,
    total: f64,
    excess: f64,
    totals_desc: &str,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let xmax = total.max(excess).max(1.0) * 1.35;
    let mut chart = ChartBuilder::on(lower)
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
