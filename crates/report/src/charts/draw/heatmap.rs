//! The heatmap of the probability of insurance-fund depletion over two swept
//! parameters.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::parts::{Area, DResult};
use crate::charts::axis::{axis_value, pct_fmt};
use crate::charts::style::{INK, font};
use crate::data::DepletionGrid;
use crate::format::{parameter_label, pct};

/// An axis description: the parameter's readable name and unit.
fn axis_desc(key: &str) -> String {
    match parameter_label(key) {
        (name, "") => name,
        (name, unit) => format!("{name} ({unit})"),
    }
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

/// The heatmap: one cell per combination of the two swept parameters, coloured
/// and labelled by its probability of depletion, with the colour scale.
// Over 70 lines: one plotters chart, its axes labelled by the swept values, one cell per set.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(area: &Area<DB>, grid: &DepletionGrid) -> DResult
where
    DB::ErrorType: 'static,
{
    let nx = i32::try_from(grid.x_values.len()).unwrap_or(i32::MAX);
    let ny = i32::try_from(grid.y_values.len()).unwrap_or(i32::MAX);
    let (w, _) = area.dim_in_pixel();
    let (plot, scale) = area.split_horizontally(w.saturating_sub(120));
    let top = grid.scale_max();
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
    let (x_desc, y_desc) = (axis_desc(&grid.x_name), axis_desc(&grid.y_name));
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
        .x_desc(x_desc.as_str())
        .y_desc(y_desc.as_str())
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
                Some(p) => (heat_color(*p / top), pct(*p)),
                None => (RGBColor(235, 235, 235), "not run".to_owned()),
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(xi), SegmentValue::Exact(yi)),
                    (SegmentValue::Exact(xi + 1), SegmentValue::Exact(yi + 1)),
                ],
                fill.filled(),
            )))?;
            // The target line: a set meeting the target is outlined.
            let meets = grid
                .meets
                .get(yi as usize)
                .and_then(|r| r.get(xi as usize))
                .copied()
                .flatten()
                == Some(true);
            if meets {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(xi), SegmentValue::Exact(yi)),
                        (SegmentValue::Exact(xi + 1), SegmentValue::Exact(yi + 1)),
                    ],
                    INK.stroke_width(4),
                )))?;
            }
            let ink = if p.is_some_and(|p| p / top > 0.35) {
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
    colour_scale(&scale, top)
}

/// The colour scale beside the heatmap: 0% to `top`.
fn colour_scale<DB: DrawingBackend>(scale: &Area<DB>, top: f64) -> DResult
where
    DB::ErrorType: 'static,
{
    let mut bar = ChartBuilder::on(scale)
        .margin(8)
        .margin_left(4)
        .x_label_area_size(56)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, 0.0..top)?;
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
            [(0.0, lo * top), (1.0, (lo + 0.01) * top)],
            heat_color(lo + 0.005).filled(),
        )
    }))?;
    Ok(())
}
