//! The fan chart: quantile bands of the insurance fund across paths, over time.

use plotters::prelude::*;

use super::parts::band_polygon;
use super::parts::{Area, DResult};
use super::parts::{Key, LEGEND_ROW, legend_row, segments};
use crate::charts::axis::{min_max, padded, time_fmt, usd_fmt, x_range};
use crate::charts::plot::Fan;
use crate::charts::style::{FUND, GRID, INK, RISK, font};
use crate::format::usd;

/// Quantile bands of the fund balance across paths over time: p1–p99, p5–p95
/// and p25–p75 shaded, the median, the starting balance and zero.
pub(crate) fn draw_fan<DB: DrawingBackend>(area: &Area<DB>, spec: &Fan) -> DResult
where
    DB::ErrorType: 'static,
{
    let Fan {
        time,
        x,
        bands,
        start,
        labels,
    } = spec;
    let (x, start) = (x.as_slice(), *start);
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
        .y_desc(labels.y)
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
    keys.push((Key::Line(RISK, 2), labels.zero.to_owned()));
    legend_row(&key, &keys)
}
