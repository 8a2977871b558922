//! The overlay of several runs' insurance-fund balances (and their marks) on
//! one time axis, for `backstop compare`.

use plotters::prelude::*;

use super::panels::draw_price_panel;
use super::parts::{Area, DResult};
use super::parts::{Key, LEGEND_ROW, legend_row, segments};
use crate::charts::axis::{min_max, padded, time_fmt, usd_fmt};
use crate::charts::plot::Overlay;
use crate::charts::style::{GRID, INK, RISK, RUN_COLORS, font};
use crate::format::usd;

/// Each run's fund balance (top) and mark (bottom, when given), one colour
/// per run.
// Over 70 lines: one plotters chart built step by step (panels, axes, one line per run, legend).
pub(crate) fn draw_overlay<DB: DrawingBackend>(area: &Area<DB>, spec: &Overlay) -> DResult
where
    DB::ErrorType: 'static,
{
    let Overlay {
        x_desc,
        fund_desc,
        runs,
        marks,
        mark_desc,
    } = spec;
    let (runs, marks) = (runs.as_slice(), marks.as_slice());
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
