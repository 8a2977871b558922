//! The charts of a report, drawn with plotters into SVG and PNG from the same
//! code.
//!
//! - `specs`: what each chart shows (data, kind of plot, title, caption),
//!   one file per chart;
//! - `plot`: the kinds of plot, as data (`Plot`), and the
//!   rendered [`Chart`];
//! - `draw`: how each kind of plot is drawn;
//! - `axis`: the time axis, time buckets, ranges and tick labels;
//! - `style`: sizes, colours and the bundled font.
//!
//! Layers point one way: `style` ← `axis` ← `plot` ← `draw` ← `specs`. A new
//! chart is a new file in `specs` (and a line in [`all`]); a new kind of plot
//! is a variant of `Plot` and a file in `draw`.

pub(crate) mod axis;
pub(crate) mod draw;
pub(crate) mod plot;
pub(crate) mod specs;
pub(crate) mod style;

pub use axis::MAX_BARS;
pub use plot::Chart;
pub use specs::adl::adl;
pub use specs::all;
pub use specs::drawdown::drawdown;
pub use specs::fund_size::{FundSizeChart, fund_size_chart};
pub use specs::insurance_fund::insurance_fund;
pub use specs::liquidations::liquidations;
pub use specs::margin_multiplier::margin_multiplier;
pub use specs::socialized_loss::socialized_loss;
pub use specs::sweep::sweep_heatmap;
pub use style::{BACKGROUND, FONT_FAMILY, HEIGHT, TALL_HEIGHT, WIDTH};
