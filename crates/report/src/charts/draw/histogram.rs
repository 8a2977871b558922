//! Histograms: of USD amounts, and of the insurance-fund loss with its
//! exceedance curve.

use plotters::prelude::*;

use super::parts::{Area, DResult};
use super::parts::{legend, line_legend};
use crate::charts::axis::{count_fmt, min_max, pct_fmt, usd_fmt};
use crate::charts::plot::{Histogram, LossDistribution};
use crate::charts::style::{FUND, GRID, HIST, MUTED, RISK, TAIL, font};
use crate::format::usd;

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

/// A histogram of USD amounts.
pub(crate) fn draw_histogram<DB: DrawingBackend>(area: &Area<DB>, spec: &Histogram) -> DResult
where
    DB::ErrorType: 'static,
{
    let Histogram {
        values,
        x_desc,
        y_desc,
    } = spec;
    let values = values.as_slice();
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

/// The insurance-fund loss per path: histogram (left) and the share of paths
/// losing at least x on a log scale (right), VaR and ES 99% marked.
pub(crate) fn draw_loss_distribution<DB: DrawingBackend>(
    area: &Area<DB>,
    spec: &LossDistribution,
) -> DResult
where
    DB::ErrorType: 'static,
{
    let LossDistribution {
        losses,
        var_99,
        es_99,
    } = spec;
    let (losses, var_99, es_99) = (losses.as_slice(), *var_99, *es_99);
    let (w, _) = area.dim_in_pixel();
    let (left, right) = area.split_horizontally(w / 2);
    let (lo, mut hi) = histogram_range(losses);
    hi = hi.max(es_99).max(var_99);
    let xhi = hi * 1.04;
    let markers = [(var_99, RISK, "VaR 99%"), (es_99, TAIL, "ES 99%")];
    loss_histogram(&left, losses, (lo, hi, xhi), markers)?;
    exceedance(&right, losses, (lo, xhi), markers)
}

/// A VaR or ES marker: value, colour, name.
type Marker = (f64, RGBColor, &'static str);

/// The left panel of the loss chart: the histogram of losses, VaR and ES
/// dashed.
fn loss_histogram<DB: DrawingBackend>(
    left: &Area<DB>,
    losses: &[f64],
    (lo, hi, xhi): (f64, f64, f64),
    markers: [Marker; 2],
) -> DResult
where
    DB::ErrorType: 'static,
{
    let bins = histogram(losses, lo, hi);
    let top = bins.iter().map(|b| b.2).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(left)
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
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// The right panel of the loss chart: the share of paths losing at least x,
/// log scale, VaR and ES dashed.
fn exceedance<DB: DrawingBackend>(
    right: &Area<DB>,
    losses: &[f64],
    (lo, xhi): (f64, f64),
    markers: [Marker; 2],
) -> DResult
where
    DB::ErrorType: 'static,
{
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
    let mut chart = ChartBuilder::on(right)
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
