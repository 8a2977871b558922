//! The look shared by every chart: sizes, colours and the bundled font.
//!
//! Text is laid out with the bundled DejaVu Sans (no system font lookup), so the
//! PNGs are identical on every machine; the SVGs name the same font family and
//! fall back to the viewer's sans-serif.

use std::sync::OnceLock;

use plotters::prelude::*;

use crate::error::ReportError;

/// Font family the charts use; the bundled font is registered under this name.
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// The bundled font (DejaVu Sans 2.37, see `fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// Width of every chart, pixels.
pub const WIDTH: u32 = 1100;

/// Height of a one-panel chart, pixels.
pub const HEIGHT: u32 = 620;

/// Height of a chart with stacked panels, pixels.
pub const TALL_HEIGHT: u32 = 820;

/// Background of every chart.
pub const BACKGROUND: RGBColor = WHITE;

pub(crate) const INK: RGBColor = RGBColor(33, 37, 41);
pub(crate) const MUTED: RGBColor = RGBColor(96, 102, 110);
pub(crate) const GRID: RGBColor = RGBColor(228, 230, 233);
pub(crate) const FUND: RGBColor = RGBColor(31, 100, 170);
pub(crate) const PRICE: RGBColor = RGBColor(60, 60, 60);
pub(crate) const LONG: RGBColor = RGBColor(214, 96, 77);
pub(crate) const SHORT: RGBColor = RGBColor(67, 147, 195);
pub(crate) const RISK: RGBColor = RGBColor(200, 30, 30);
pub(crate) const TAIL: RGBColor = RGBColor(120, 20, 60);
pub(crate) const HIST: RGBColor = RGBColor(90, 130, 180);

/// Colours of the runs of an overlay chart: A, B, then the further runs of a
/// comparison of more than two (cycled past eight).
pub(crate) const RUN_COLORS: [RGBColor; 8] = [
    RGBColor(230, 133, 0),
    RGBColor(31, 100, 170),
    RGBColor(40, 150, 80),
    RGBColor(200, 50, 120),
    RGBColor(120, 90, 190),
    RGBColor(110, 110, 110),
    RGBColor(0, 160, 170),
    RGBColor(150, 100, 40),
];

/// Fill of the breaker's pauses.
pub(crate) const PAUSE: RGBColor = RGBColor(240, 180, 60);

/// Margin multiplier line.
pub(crate) const MULT: RGBColor = RGBColor(120, 60, 150);

/// The chart font at `size` pixels, in ink colour.
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font()).color(&INK)
}

/// Registers the bundled font (once per process).
pub(crate) fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Also under plotters' default family, so no text can fall through to a
        // family that is not registered.
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
            && plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Chart {
            chart: "(all)".to_owned(),
            message: "the bundled font could not be loaded".to_owned(),
        })
    }
}
