//! Price paths: the path price of every market at every step.
//!
//! A scenario's `[path]` becomes a [`PathPlan`], built once per run: fixed prices
//! (a linear shock, an explicit series), or a historical replay
//! ([`crate::replay`]). Each path is then walked by a [`PathCursor`] that fills a
//! reusable [`StepInput`] (time, prices, funding from history) step by step, so
//! the runner never allocates per step and a replay never holds its history in
//! memory.

use std::path::Path;

use crate::error::SimError;
use crate::money::Rate;
use crate::replay::{ReplayCursor, ReplayPlan};
use crate::scenario::{PathConfig, Scenario};

/// What the engine consumes at one step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInput {
    /// Time of the step, UTC ns.
    pub ts_ns: i64,
    /// Path price of each market, USD.
    pub prices: Vec<f64>,
    /// Funding rate to settle this step, per market (from history); `None` leaves
    /// the market's schedule alone.
    pub funding: Vec<Option<Rate>>,
}

impl StepInput {
    /// An input for `markets` markets.
    pub fn new(markets: usize) -> StepInput {
        StepInput {
            ts_ns: 0,
            prices: vec![0.0; markets],
            funding: vec![None; markets],
        }
    }
}

/// Walks one path step by step.
pub trait PathCursor {
    /// Fills `step` with the next step; `Ok(false)` when the path is over.
    ///
    /// # Errors
    /// A history file that cannot be read further.
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, SimError>;
}

/// Prices held in memory, market-major, on a fixed time grid.
#[derive(Debug)]
pub struct BufferCursor<'a> {
    prices: &'a [Vec<f64>],
    t: usize,
    start_ns: i64,
    step_ns: i64,
}

impl<'a> BufferCursor<'a> {
    /// A cursor over `prices[market][step]`; step `t` is at `start_ns + t × step_ns`.
    pub fn new(prices: &'a [Vec<f64>], start_ns: i64, step_ns: i64) -> BufferCursor<'a> {
        debug_assert!(
            prices.windows(2).all(|w| w[0].len() == w[1].len()),
            "Invariant: equal lengths"
        );
        BufferCursor {
            prices,
            t: 0,
            start_ns,
            step_ns,
        }
    }
}

impl PathCursor for BufferCursor<'_> {
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, SimError> {
        let len = self.prices.first().map_or(0, Vec::len);
        if self.t >= len {
            return Ok(false);
        }
        for (o, series) in step.prices.iter_mut().zip(self.prices) {
            *o = series[self.t];
        }
        step.funding.fill(None);
        step.ts_ns = self.start_ns + self.t as i64 * self.step_ns;
        self.t += 1;
        Ok(true)
    }
}

/// The cursor of one path, whatever its source.
pub enum Cursor<'a> {
    /// Prices in memory.
    Buffer(BufferCursor<'a>),
    /// History streamed from files.
    Replay(Box<ReplayCursor>),
}

impl PathCursor for Cursor<'_> {
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, SimError> {
        match self {
            Cursor::Buffer(c) => c.advance(step),
            Cursor::Replay(c) => c.advance(step),
        }
    }
}

/// Where a run's paths come from, prepared once per run.
pub enum PathPlan {
    /// The same prices on every path (`linear`, `series`), market-major.
    Fixed(Vec<Vec<f64>>),
    /// History replayed from files.
    Replay(ReplayPlan),
}

impl PathPlan {
    /// The plan of a validated scenario; files are relative to `base_dir`.
    ///
    /// # Errors
    /// A history file that is missing, of the wrong schema, or without a price at
    /// the window's start.
    pub fn from_scenario(s: &Scenario, base_dir: &Path) -> Result<PathPlan, SimError> {
        Ok(match &s.path {
            PathConfig::Linear {
                steps,
                shock_start_step,
                shock_steps,
                shock,
            } => PathPlan::Fixed(
                s.market
                    .values()
                    .map(|m| {
                        let start = m.price.unwrap_or(f64::NAN);
                        (0..*steps)
                            .map(|t| {
                                let progress = if t < *shock_start_step {
                                    0.0
                                } else if *shock_steps == 0 {
                                    1.0
                                } else {
                                    (f64::from(t - shock_start_step) / f64::from(*shock_steps))
                                        .min(1.0)
                                };
                                start * (1.0 + shock * progress)
                            })
                            .collect()
                    })
                    .collect(),
            ),
            PathConfig::Series { prices } => PathPlan::Fixed(
                s.market
                    .keys()
                    .map(|k| prices.get(k).cloned().unwrap_or_default())
                    .collect(),
            ),
            PathConfig::Replay(r) => PathPlan::Replay(ReplayPlan::new(s, r, base_dir)?),
        })
    }

    /// Path price of each market at step 0 (the population is built at these).
    pub fn start_prices(&self) -> Vec<f64> {
        match self {
            PathPlan::Fixed(p) => p
                .iter()
                .map(|s| s.first().copied().unwrap_or(f64::NAN))
                .collect(),
            PathPlan::Replay(r) => r.start_prices().to_vec(),
        }
    }

    /// A cursor over path `path_index`.
    ///
    /// # Errors
    /// A history file that cannot be opened.
    pub fn cursor(&self, start_ns: i64, step_ns: i64) -> Result<Cursor<'_>, SimError> {
        Ok(match self {
            PathPlan::Fixed(p) => Cursor::Buffer(BufferCursor::new(p, start_ns, step_ns)),
            PathPlan::Replay(r) => Cursor::Replay(Box::new(r.cursor()?)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_shock_shape() {
        let src = r#"
name = "t"
[market.btc]
price = 100.0
tick_size = 0.01
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.1, mmr = 0.05 }]
[path]
kind = "linear"
steps = 6
shock_start_step = 1
shock_steps = 4
shock = -0.4
[population]
kind = "generated"
accounts = 1
notional = { distribution = "constant", value = 1000.0 }
leverage = { distribution = "constant", value = 5.0 }
max_notional = 1e6
"#;
        let s = Scenario::from_toml_str(src, Path::new("t.toml")).unwrap();
        let plan = PathPlan::from_scenario(&s, Path::new(".")).unwrap();
        let mut cursor = plan.cursor(0, 60).unwrap();
        let mut step = StepInput::new(1);
        let mut got = Vec::new();
        while cursor.advance(&mut step).unwrap() {
            got.push(((step.prices[0] * 1e6).round() / 1e6, step.ts_ns));
        }
        assert_eq!(
            got,
            vec![
                (100.0, 0),
                (100.0, 60),
                (90.0, 120),
                (80.0, 180),
                (70.0, 240),
                (60.0, 300)
            ]
        );
    }
}
