//! Charts of one path over its price: a value in the top panel (the fund
//! balance, the margin multiplier) and the mark price in the bottom panel.

use plotters::prelude::*;

use super::parts::{Area, DResult};
use super::parts::{Key, LEGEND_ROW, legend_row, segments};
use super::parts::{shade, step_line};
use crate::charts::axis::{
    min_max, padded, price_formatter, price_range, time_fmt, usd_fmt, x_range,
};
use crate::charts::plot::{BalanceOverPrice, MultiplierOverPrice};
use crate::charts::style::{FUND, GRID, INK, MULT, PAUSE, PRICE, RISK, font};
use crate::format::{plain, usd};

/// One path's fund balance (top) over its mark price (bottom).
// Over 70 lines: one plotters chart built step by step (panels, axes, series, legend).
pub(crate) fn draw_balance_over_price<DB: DrawingBackend>(
    area: &Area<DB>,
    spec: &BalanceOverPrice,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let BalanceOverPrice {
        time,
        x,
        fund,
        mark,
        market,
        start,
    } = spec;
    let (x, fund, mark, start) = (x.as_slice(), fund.as_slice(), mark.as_slice(), *start);
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
pub(crate) fn draw_price_panel<DB: DrawingBackend>(
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

/// One path's margin multiplier as a step line (top) over its mark price
/// (bottom), the breaker's pauses shaded in both.
// Over 70 lines: one plotters chart built step by step (panels, axes, series, legend).
pub(crate) fn draw_multiplier<DB: DrawingBackend>(
    area: &Area<DB>,
    spec: &MultiplierOverPrice,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let MultiplierOverPrice {
        time,
        x,
        multiplier,
        mark,
        market,
        cap,
        pauses,
    } = spec;
    let (x, multiplier, mark, pauses, cap) = (
        x.as_slice(),
        multiplier.as_slice(),
        mark.as_slice(),
        pauses.as_slice(),
        *cap,
    );
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
        .y_label_formatter(&|v: &f64| format!("{}×", plain((v * 100.0).round() / 100.0)))
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
        keys.push((Key::Dashed(INK), format!("cap {}×", plain(c))));
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
