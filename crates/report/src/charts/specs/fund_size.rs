//! The fund-sizing chart of `backstop size-fund` (docs/model.md §7c): the
//! probability that a fund of size x depletes, with its 95% band, on a log
//! axis; the scenario's fund and the target marked.
//!
//! Self-contained (its own drawing, next to the report's other charts): the
//! command hands it the curve it computed from the paths' uncensored needs.

use plotters::prelude::*;

use crate::charts::draw::parts::{Area, DResult};
use crate::charts::draw::{SelfDrawn, render_both};
use crate::charts::plot::Chart;
use crate::charts::style::{BACKGROUND, FUND, GRID, HEIGHT, MUTED, RISK, TAIL, WIDTH, font};
use crate::error::ReportError;
use crate::format::usd;

/// What the fund-sizing chart draws.
#[derive(Debug, Clone, PartialEq)]
pub struct FundSizeChart {
    /// Scenario name, for the title.
    pub scenario: String,
    /// Paths behind the curve.
    pub paths: u64,
    /// `(fund USD, P(depletion), lower 95%, upper 95%)`, fund ascending.
    pub curve: Vec<(f64, f64, f64, f64)>,
    /// The scenario's fund, USD.
    pub current_fund: f64,
    /// The target depletion probability and the fund it needs, USD.
    pub target: Option<(f64, f64)>,
}

/// The smallest probability drawn: the log axis's floor (a zero is drawn there).
fn y_floor(paths: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = paths.max(1) as f64;
    (0.2 / n).min(1e-3)
}

/// Draws the chart as SVG and PNG (`charts/fund_size.svg`, `.png`).
///
/// # Errors
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn fund_size_chart(spec: &FundSizeChart) -> Result<Chart, ReportError> {
    let name = "fund_size";
    let title = format!("{}: P(fund depletes) against fund size", spec.scenario);
    let caption = format!(
        "Share of {} paths on which a fund of size x depletes, from the paths' uncensored \
         fund needs (no sweep), with its Clopper–Pearson 95% band, log scale; the scenario's \
         fund ({}) dashed{}.",
        spec.paths,
        usd(spec.current_fund),
        spec.target.map_or(String::new(), |(p, f)| format!(
            ", the fund for P ≤ {} ({}) dotted",
            p,
            usd(f)
        ))
    );
    let (svg, png) = render_both(
        name,
        HEIGHT,
        &Drawing {
            title: &title,
            spec,
        },
    )?;
    Ok(Chart {
        name: name.to_owned(),
        title,
        caption,
        message: None,
        width: WIDTH,
        height: HEIGHT,
        svg,
        png,
    })
}

/// The chart with its title, for [`render_both`].
struct Drawing<'a> {
    title: &'a str,
    spec: &'a FundSizeChart,
}

impl SelfDrawn for Drawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DResult
    where
        DB::ErrorType: 'static,
    {
        draw(root, self.title, self.spec)
    }
}

fn draw<DB: DrawingBackend>(root: &Area<DB>, title: &str, spec: &FundSizeChart) -> DResult
where
    DB::ErrorType: 'static,
{
    root.fill(&BACKGROUND)?;
    let floor = y_floor(spec.paths);
    let clamp = |p: f64| p.max(floor);
    let mut xs: Vec<f64> = spec.curve.iter().map(|c| c.0).collect();
    xs.push(spec.current_fund);
    if let Some((_, f)) = spec.target {
        xs.push(f);
    }
    let x_hi = xs.iter().copied().fold(1.0, f64::max) * 1.05;
    let x_lo = xs.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(22))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(x_lo..x_hi, (floor..1.0).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .x_desc("insurance fund (USD)")
        .y_desc("P(depletion)")
        .x_label_formatter(&|x| usd(*x))
        .y_label_formatter(&|y| format!("{y:.1e}"))
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    // The curve is a step function: P holds from one need to the next.
    let mut line = Vec::new();
    let mut band = Vec::new();
    let mut upper = Vec::new();
    for w in spec.curve.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        line.extend([(a.0, clamp(a.1)), (b.0, clamp(a.1))]);
        band.extend([(a.0, clamp(a.2)), (b.0, clamp(a.2))]);
        upper.extend([(a.0, clamp(a.3)), (b.0, clamp(a.3))]);
    }
    if let Some(last) = spec.curve.last() {
        line.extend([(last.0, clamp(last.1)), (x_hi, clamp(last.1))]);
        band.extend([(last.0, clamp(last.2)), (x_hi, clamp(last.2))]);
        upper.extend([(last.0, clamp(last.3)), (x_hi, clamp(last.3))]);
    }
    let mut polygon = band.clone();
    polygon.extend(upper.iter().rev());
    chart.draw_series(std::iter::once(Polygon::new(polygon, FUND.mix(0.18))))?;
    chart
        .draw_series(LineSeries::new(line, FUND.stroke_width(2)))?
        .label("P(depletion)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], FUND.stroke_width(2)));
    chart
        .draw_series(DashedLineSeries::new(
            vec![(spec.current_fund, floor), (spec.current_fund, 1.0)],
            8,
            5,
            RISK.stroke_width(2),
        ))?
        .label(format!("scenario's fund {}", usd(spec.current_fund)))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RISK.stroke_width(2)));
    if let Some((p, f)) = spec.target {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x_lo, p), (x_hi, p)],
                2,
                4,
                TAIL.stroke_width(2),
            ))?
            .label(format!("target P ≤ {p}: fund {}", usd(f)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TAIL.stroke_width(2)));
        chart.draw_series(DashedLineSeries::new(
            vec![(f, floor), (f, 1.0)],
            2,
            4,
            TAIL.stroke_width(2),
        ))?;
    }
    chart
        .configure_series_labels()
        .background_style(BACKGROUND.mix(0.9))
        .border_style(MUTED)
        .label_font(font(13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_curve_the_fund_and_the_target() {
        let spec = FundSizeChart {
            scenario: "test".to_owned(),
            paths: 100,
            curve: vec![
                (0.0, 1.0, 0.96, 1.0),
                (1_000.0, 0.5, 0.4, 0.6),
                (5_000.0, 0.01, 0.0003, 0.05),
                (9_000.0, 0.0, 0.0, 0.036),
            ],
            current_fund: 2_000.0,
            target: Some((0.01, 5_000.0)),
        };
        let c = fund_size_chart(&spec).expect("a chart");
        assert_eq!(c.name, "fund_size");
        assert!(c.svg.contains("scenario&apos;s fund") || c.svg.contains("scenario's fund"));
        assert!(c.png.starts_with(&[0x89, b'P', b'N', b'G']));
    }
}
