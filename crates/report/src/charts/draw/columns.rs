//! Columns (one bar per category, each its own colour: the book by bucket, the
//! notional at risk per price move, a run's figures per market) and the
//! tornado of a sweep's sensitivity (one floating bar per parameter).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::parts::{Area, DResult, Key, LEGEND_ROW, legend_row};
use crate::charts::axis::{count_fmt, pct_fmt, usd_fmt};
use crate::charts::plot::{ColumnUnit, Columns, Tornado};
use crate::charts::style::{GRID, INK, MUTED, RISK, font};

/// The label of a segment's centre from `labels`, empty elsewhere.
fn label_of(labels: &[String], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// `area` with a legend row under it when there are `keys`.
fn with_legend<DB: DrawingBackend>(
    area: &Area<DB>,
    keys: &[(Key, String)],
) -> Result<Area<DB>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    if keys.is_empty() {
        return Ok(area.clone());
    }
    let (_, h) = area.dim_in_pixel();
    let (plot, legend) = area.split_vertically(h.saturating_sub(LEGEND_ROW));
    legend_row(&legend, keys)?;
    Ok(plot)
}

/// Columns: one bar per category, its value written above it.
pub(crate) fn draw_columns<DB: DrawingBackend>(area: &Area<DB>, spec: &Columns) -> DResult
where
    DB::ErrorType: 'static,
{
    let keys: Vec<(Key, String)> = spec
        .legend
        .iter()
        .map(|(c, label)| (Key::Swatch(c.to_rgba()), label.clone()))
        .collect();
    let area = with_legend(area, &keys)?;
    let n = i32::try_from(spec.categories.len()).unwrap_or(i32::MAX);
    let top = spec
        .values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let fmt = |v: &f64| match spec.unit {
        ColumnUnit::Usd => usd_fmt(v),
        ColumnUnit::Count => count_fmt(v),
    };
    let mut chart = ChartBuilder::on(&area)
        .margin(8)
        .x_label_area_size(60)
        .y_label_area_size(90)
        // Integer ranges are inclusive: `0..n-1` gives n segments.
        .build_cartesian_2d((0..(n - 1).max(0)).into_segmented(), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc(spec.x_desc.as_str())
        .y_desc(spec.y_desc.as_str())
        .x_labels(spec.categories.len())
        .x_label_formatter(&|v| label_of(&spec.categories, v))
        .y_label_formatter(&fmt)
        .axis_desc_style(font(16))
        .label_style(font(13))
        .draw()?;
    for (i, (v, color)) in spec.values.iter().zip(&spec.colors).enumerate() {
        let Ok(i) = i32::try_from(i) else { continue };
        if !v.is_finite() {
            continue;
        }
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *v),
            ],
            color.filled(),
        );
        bar.set_margin(0, 0, 4, 4);
        chart.draw_series(std::iter::once(bar))?;
        if *v > 0.0 {
            chart.draw_series(std::iter::once(Text::new(
                fmt(v),
                (SegmentValue::CenterOf(i), *v + top * 0.01),
                font(12)
                    .color(&MUTED)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))?;
        }
    }
    Ok(())
}

/// The tornado: per parameter (largest swing on top), a bar from the lowest
/// to the highest P(depletion) its values give with the others held at the
/// centre set, and the centre's P(depletion) as a vertical line.
pub(crate) fn draw_tornado<DB: DrawingBackend>(area: &Area<DB>, spec: &Tornado) -> DResult
where
    DB::ErrorType: 'static,
{
    let keys = [
        (
            Key::Swatch(spec.color.to_rgba()),
            "range of P(depletion) over the parameter's values".to_owned(),
        ),
        (
            Key::Line(RISK, 2),
            format!("centre set: {}", pct_fmt(&spec.centre)),
        ),
    ];
    let area = with_legend(area, &keys)?;
    let n = i32::try_from(spec.rows.len()).unwrap_or(i32::MAX);
    let top = spec.rows.iter().map(|r| r.high).fold(spec.centre, f64::max);
    let top = if top > 0.0 {
        (top * 1.7).min(1.0)
    } else {
        0.05
    };
    // Top row first: the segments count up from the bottom.
    let labels: Vec<String> = spec.rows.iter().rev().map(|r| r.label.clone()).collect();
    let mut chart = ChartBuilder::on(&area)
        .margin(8)
        .margin_right(24)
        .x_label_area_size(56)
        .y_label_area_size(260)
        .build_cartesian_2d(0.0..top, (0..(n - 1).max(0)).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(GRID.mix(0.5))
        .bold_line_style(GRID)
        .x_desc("probability of insurance-fund depletion")
        .y_labels(spec.rows.len())
        .x_label_formatter(&pct_fmt)
        .y_label_formatter(&|v| label_of(&labels, v))
        .axis_desc_style(font(16))
        .label_style(font(13))
        .draw()?;
    for (k, r) in spec.rows.iter().enumerate() {
        let Ok(i) = i32::try_from(spec.rows.len() - 1 - k) else {
            continue;
        };
        // A parameter that moves nothing still shows as a sliver.
        let high = r.high.max(r.low + top * 0.004);
        let mut bar = Rectangle::new(
            [
                (r.low, SegmentValue::Exact(i)),
                (high, SegmentValue::Exact(i + 1)),
            ],
            spec.color.filled(),
        );
        bar.set_margin(10, 10, 0, 0);
        chart.draw_series(std::iter::once(bar))?;
        chart.draw_series(std::iter::once(Text::new(
            r.text.clone(),
            (high + 0.005 * top, SegmentValue::CenterOf(i)),
            font(12).color(&INK).pos(Pos::new(HPos::Left, VPos::Center)),
        )))?;
    }
    chart.draw_series(std::iter::once(PathElement::new(
        vec![
            (spec.centre, SegmentValue::Exact(0)),
            (spec.centre, SegmentValue::Exact(n)),
        ],
        RISK.stroke_width(2),
    )))?;
    Ok(())
}
