//! How each kind of [`Plot`] is drawn, with plotters, into SVG and PNG from the
//! same code ([`render`]). One file per kind of plot; [`parts`] holds what
//! several share (legends, thinned lines, shaded spans, bars).

mod bars;
mod columns;
mod fan;
mod heatmap;
mod histogram;
mod overlay;
mod panels;
pub(crate) mod parts;

use std::error::Error;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{Chart, Plot};
use super::style::{BACKGROUND, MUTED, WIDTH, font, register_font};
use crate::error::ReportError;
use parts::{Area, DResult, draw_message};

/// Draws `plot` into SVG and PNG.
pub(crate) fn render(
    name: impl Into<String>,
    title: String,
    subtitle: String,
    caption: String,
    height: u32,
    plot: &Plot,
) -> Result<Chart, ReportError> {
    let message = match plot {
        Plot::Message(text) => Some(text.clone()),
        _ => None,
    };
    let drawing = PlotDrawing {
        title: &title,
        subtitle: &subtitle,
        plot,
    };
    let name: String = name.into();
    let (svg, png) = render_both(&name, height, &drawing)?;
    Ok(Chart {
        name,
        title,
        caption,
        message,
        width: WIDTH,
        height,
        svg,
        png,
    })
}

/// A chart that draws its whole area itself (the charts of `backstop
/// size-fund` and `backstop adl-lab`, which are not a [`Plot`]), so that it is
/// rendered into SVG and PNG by the same code as the report's charts.
pub(crate) trait SelfDrawn {
    /// Draws the chart, its title included, on `root`.
    ///
    /// # Errors
    /// What plotters reports.
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DResult
    where
        DB::ErrorType: 'static;
}

/// A [`Plot`] under its title and subtitle.
struct PlotDrawing<'a> {
    title: &'a str,
    subtitle: &'a str,
    plot: &'a Plot,
}

impl SelfDrawn for PlotDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> DResult
    where
        DB::ErrorType: 'static,
    {
        draw_chart(root, self.title, self.subtitle, self.plot)
    }
}

/// Draws `drawing` into an SVG string and PNG bytes of `WIDTH` × `height`,
/// the SVG beside the bitmap and its PNG on the current rayon pool (a chart's
/// PNG is most of its time: the last chart of a report is then not drawn
/// whole on one thread, docs/performance.md, "Two threads, round 7"); errors
/// name the chart `name`, the SVG's first.
///
/// # Errors
/// [`ReportError::Chart`] if drawing fails, [`ReportError::Png`] if encoding does.
pub(crate) fn render_both(
    name: &str,
    height: u32,
    drawing: &(impl SelfDrawn + Sync),
) -> Result<(String, Vec<u8>), ReportError> {
    register_font()?;
    let (svg, png) = rayon::join(
        || render_svg(name, height, drawing),
        || render_png(name, height, drawing),
    );
    Ok((svg?, png?))
}

/// The error of drawing the chart `name`.
fn chart_error(name: &str, e: &dyn Error) -> ReportError {
    ReportError::Chart {
        chart: name.to_owned(),
        message: e.to_string(),
    }
}

/// Draws `drawing` into an SVG string of `WIDTH` × `height`.
///
/// # Errors
/// [`ReportError::Chart`] if drawing fails.
fn render_svg(name: &str, height: u32, drawing: &impl SelfDrawn) -> Result<String, ReportError> {
    let chart_err = |e: Box<dyn Error>| chart_error(name, e.as_ref());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        drawing.draw(&root).map_err(chart_err)?;
        root.present().map_err(|e| chart_error(name, &e))?;
    }
    Ok(svg)
}

/// Draws `drawing` into a bitmap of `WIDTH` × `height` and encodes it as PNG.
///
/// # Errors
/// [`ReportError::Chart`] if drawing fails, [`ReportError::Png`] if encoding does.
fn render_png(name: &str, height: u32, drawing: &impl SelfDrawn) -> Result<Vec<u8>, ReportError> {
    let chart_err = |e: Box<dyn Error>| chart_error(name, e.as_ref());
    let len = WIDTH as usize * height as usize * 3;
    let mut rgb = vec![0u8; len];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, height)).into_drawing_area();
        drawing.draw(&root).map_err(chart_err)?;
        root.present().map_err(|e| chart_error(name, &e))?;
    }
    encode_png(&rgb, WIDTH, height).map_err(|source| ReportError::Png {
        chart: name.to_owned(),
        source,
    })
}

/// Encodes an RGB bitmap of `width` × `height` as PNG, with the `png` crate's
/// `Fast` preset (adaptive row filters, then `fdeflate`). Charts are large flat
/// areas and thin lines: against the `Balanced` preset (zlib level 6, which was
/// 8% of a one-thread Monte Carlo run) it encodes ~11x faster for files ~2.4x
/// larger (~90 KB a chart); the pixels are the same (docs/performance.md,
/// "PNG encoding, round 8").
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// The title, the subtitle, and `plot` in the body below them.
fn draw_chart<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    subtitle: &str,
    plot: &Plot,
) -> DResult
where
    DB::ErrorType: 'static,
{
    root.fill(&BACKGROUND)?;
    let (w, _) = root.dim_in_pixel();
    let centre = i32::try_from(w / 2).unwrap_or(0);
    let title_style = font(24).pos(Pos::new(HPos::Center, VPos::Top));
    root.draw_text(title, &title_style, (centre, 12))?;
    let sub_style = font(15)
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Top));
    root.draw_text(subtitle, &sub_style, (centre, 44))?;
    let body = root.margin(72, 12, 16, 24);
    match plot {
        Plot::Message(text) => draw_message(&body, text),
        Plot::Fan(spec) => fan::draw_fan(&body, spec),
        Plot::BalanceOverPrice(spec) => panels::draw_balance_over_price(&body, spec),
        Plot::LossDistribution(spec) => histogram::draw_loss_distribution(&body, spec),
        Plot::Histogram(spec) => histogram::draw_histogram(&body, spec),
        Plot::Liquidations(spec) => bars::draw_liquidations(&body, spec),
        Plot::Adl(spec) => bars::draw_adl(&body, spec),
        Plot::Heatmap(grid) => heatmap::draw_heatmap(&body, grid),
        Plot::MultiplierOverPrice(spec) => panels::draw_multiplier(&body, spec),
        Plot::Overlay(spec) => overlay::draw_overlay(&body, spec),
        Plot::Columns(spec) => columns::draw_columns(&body, spec),
        Plot::Tornado(spec) => columns::draw_tornado(&body, spec),
    }
}

#[cfg(test)]
mod tests {
    use super::encode_png;

    /// A bitmap like a chart's: a flat background, a few filled bands and
    /// lines, and a patch of noise (from a fixed LCG) that no filter predicts.
    fn chart_like(width: u32, height: u32) -> Vec<u8> {
        let (w, h) = (width as usize, height as usize);
        let mut rgb = vec![250u8; w * h * 3];
        let mut state: u32 = 0x1234_5678;
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                if y % 37 == 0 || x % 53 == 0 {
                    rgb[i..i + 3].copy_from_slice(&[40, 90, 160]);
                } else if (y / 20) % 3 == 1 && x > w / 4 {
                    rgb[i..i + 3].copy_from_slice(&[200, 220, 240]);
                } else if x < 64 && y < 64 {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    rgb[i..i + 3].copy_from_slice(&state.to_le_bytes()[1..4]);
                }
            }
        }
        rgb
    }

    #[test]
    fn encoded_png_decodes_to_the_same_pixels() {
        let (width, height) = (301, 157);
        let rgb = chart_like(width, height);
        let bytes = encode_png(&rgb, width, height).expect("encodes");
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().expect("PNG header");
        let mut back = vec![0; reader.output_buffer_size().expect("buffer size")];
        let info = reader.next_frame(&mut back).expect("PNG frame");
        assert_eq!((info.width, info.height), (width, height));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        back.truncate(info.buffer_size());
        assert!(back == rgb, "decoded pixels differ from the bitmap encoded");
        // Compressed, not stored: flat areas must shrink well below the raw size.
        assert!(
            bytes.len() * 4 < rgb.len(),
            "{} bytes for {} raw",
            bytes.len(),
            rgb.len()
        );
    }
}
