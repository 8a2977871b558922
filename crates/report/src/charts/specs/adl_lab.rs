//! The chart of `backstop adl-lab` (docs/model.md §6, "ADL waves"): per ADL
//! wave of path 0, the winners' PnL each ADL policy took, one bar per policy
//! side by side, with the notional each wave needed in the caption's terms.
//!
//! Self-contained (its own drawing, like the fund-sizing chart): the command
//! hands it the waves of each policy's run.

use plotters::prelude::*;

use crate::charts::draw::parts::{Area, DResult};
use crate::charts::draw::{SelfDrawn, render_both};
use crate::charts::plot::Chart;
use crate::charts::style::{
    BACKGROUND, GRID, HEIGHT, LONG, MULT, MUTED, RISK, RUN_COLORS, SHORT, TAIL, WIDTH, font,
};
use crate::error::ReportError;
use crate::format::usd;

/// What the ADL-lab chart draws.
#[derive(Debug, Clone, PartialEq)]
pub struct AdlLabChart {
    /// Scenario name, for the title.
    pub scenario: String,
    /// Per policy: its name and, per wave of path 0 in step order, the winners'
    /// PnL taken, USD.
    pub policies: Vec<(String, Vec<f64>)>,
}

/// Colours of the policies, in order (cycled).
const COLORS: [RGBColor; 7] = [RUN_COLORS[0], RUN_COLORS[1], LONG, SHORT, MULT, TAIL, RISK];

/// Draws the chart as SVG and PNG (`charts/adl_lab.svg`, `.png`). A lab
/// without ADL gets a chart with a message and nothing drawn.
///
/// # Errors
/// [`ReportError::Chart`] or [`ReportError::Png`] if drawing or encoding fails.
pub fn adl_lab_chart(spec: &AdlLabChart) -> Result<Chart, ReportError> {
    let name = "adl_lab";
    let title = format!(
        "{}: winners' PnL taken per ADL wave, by policy",
        spec.scenario
    );
    let waves = spec.policies.iter().map(|p| p.1.len()).max().unwrap_or(0);
    let caption = format!(
        "Per ADL wave of path 0 (a run of consecutive steps with ADL; {waves} wave(s)), the \
         unrealized PnL of the winners the ADL closed ({} policies side by side, same paths \
         and population): the PnL haircut each policy imposed for the same shortfall.",
        spec.policies.len()
    );
    if waves == 0 {
        return Ok(Chart {
            name: name.to_owned(),
            title,
            caption,
            message: Some("No ADL under any policy: nothing to compare.".to_owned()),
            width: WIDTH,
            height: HEIGHT,
            svg: String::new(),
            png: Vec::new(),
        });
    }
    let drawing = Drawing {
        title: &title,
        spec,
        waves,
    };
    let (svg, png) = render_both(name, HEIGHT, &drawing)?;
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
    spec: &'a AdlLabChart,
    waves: usize,
}

impl SelfDrawn for Drawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DResult
    where
        DB::ErrorType: 'static,
    {
        draw(root, self.title, self.spec, self.waves)
    }
}

fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    spec: &AdlLabChart,
    waves: usize,
) -> DResult
where
    DB::ErrorType: 'static,
{
    root.fill(&BACKGROUND)?;
    let top = spec
        .policies
        .iter()
        .flat_map(|p| p.1.iter().copied())
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    #[allow(clippy::cast_precision_loss)]
    let x_hi = waves as f64 + 0.5;
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(22))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(90)
        .build_cartesian_2d(0.5..x_hi, 0.0..top)?;
    chart
        .configure_mesh()
        .light_line_style(GRID.mix(0.5))
        .x_desc("ADL wave (path 0)")
        .y_desc("winners' PnL taken (USD)")
        .x_labels(waves.min(30))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| usd(*y))
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    #[allow(clippy::cast_precision_loss)]
    let width = 0.8 / spec.policies.len().max(1) as f64;
    for (k, (policy, pnl)) in spec.policies.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        #[allow(clippy::cast_precision_loss)]
        let offset = -0.4 + width * k as f64;
        chart
            .draw_series(pnl.iter().enumerate().map(|(w, &v)| {
                #[allow(clippy::cast_precision_loss)]
                let x = (w + 1) as f64 + offset;
                Rectangle::new([(x, 0.0), (x + width, v)], color.filled())
            }))?
            .label(policy.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
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
    fn draws_one_bar_per_policy_and_wave() {
        let spec = AdlLabChart {
            scenario: "test".to_owned(),
            policies: vec![
                ("queue:binance".to_owned(), vec![1_000.0, 250.0, 40.0]),
                ("min_pnl_haircut".to_owned(), vec![400.0, 90.0, 10.0]),
            ],
        };
        let c = adl_lab_chart(&spec).expect("a chart");
        assert_eq!(c.name, "adl_lab");
        assert!(c.message.is_none());
        assert!(c.svg.contains("min_pnl_haircut"));
        // Six bars and two legend swatches (plus the background and frame).
        assert!(
            c.svg.matches("<rect").count() >= 8,
            "{}",
            c.svg.matches("<rect").count()
        );
        assert!(c.png.starts_with(&[0x89, b'P', b'N', b'G']));
    }

    #[test]
    fn no_adl_is_a_message_not_empty_axes() {
        let spec = AdlLabChart {
            scenario: "test".to_owned(),
            policies: vec![("pro_rata".to_owned(), vec![])],
        };
        let c = adl_lab_chart(&spec).expect("a chart");
        assert!(c.message.is_some() && c.svg.is_empty());
    }
}
