//! The path plan of a run: where its paths come from, prepared once ([`PathPlan`]),
//! and the cursor of one path ([`Cursor`]).

use std::path::Path;

use super::cursor::{BufferCursor, PathCursor, StepInput};
use super::error::PathError;
use super::models::{PathModel, Scratch};
use super::replay::{ReplayCursor, ReplayPlan};
use crate::config::path::PathConfig;
use crate::config::scenario::Scenario;
use crate::rng::{self, Purpose};

/// The cursor of one path, whatever its source.
pub enum Cursor<'a> {
    /// Prices in memory.
    Buffer(BufferCursor<'a>),
    /// History streamed from files.
    Replay(Box<ReplayCursor>),
}

impl PathCursor for Cursor<'_> {
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, PathError> {
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
    /// A random (or resampled historical) model: path `i` is drawn from the
    /// stream (seed, path, i) and starts at the markets' prices.
    Model {
        /// The model.
        model: Box<dyn PathModel>,
        /// Start price of each market.
        start: Vec<f64>,
        /// Master seed.
        seed: u64,
    },
}

/// Per-path working memory of a [`PathPlan::Model`] path, reused across paths.
#[derive(Debug, Default)]
pub struct PathScratch {
    prices: Vec<Vec<f64>>,
    model: Scratch,
}

impl PathPlan {
    /// The plan of a validated scenario; files are relative to `base_dir`.
    ///
    /// # Errors
    /// A history file that is missing, of the wrong schema, or without a price at
    /// the window's start.
    pub fn from_scenario(s: &Scenario, base_dir: &Path) -> Result<PathPlan, PathError> {
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
                        linear(start, *steps, *shock_start_step, *shock_steps, *shock)
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
            other => match other.model() {
                Some(model) => PathPlan::Model {
                    model: model.build(base_dir, s.market.len(), s.step_seconds)?,
                    start: s
                        .market
                        .values()
                        .map(|m| m.price.unwrap_or(f64::NAN))
                        .collect(),
                    seed: s.seed,
                },
                None => PathPlan::Fixed(Vec::new()),
            },
        })
    }

    /// Whether every path of the plan has the same prices: fixed prices, a
    /// replay, or a model that draws nothing (the overlay).
    pub fn is_deterministic(&self) -> bool {
        match self {
            PathPlan::Fixed(_) | PathPlan::Replay(_) => true,
            PathPlan::Model { model, .. } => !model.is_random(),
        }
    }

    /// The highest price of each market known before the run: the whole path
    /// when it is fixed, else the start price (a model's paths are drawn at run
    /// time; the engine checks its range at every step).
    pub fn max_prices(&self) -> Vec<f64> {
        match self {
            PathPlan::Fixed(p) => p
                .iter()
                .map(|s| s.iter().copied().fold(f64::NAN, f64::max))
                .collect(),
            _ => self.start_prices(),
        }
    }

    /// Path price of each market at step 0 (the population is built at these).
    pub fn start_prices(&self) -> Vec<f64> {
        match self {
            PathPlan::Fixed(p) => p
                .iter()
                .map(|s| s.first().copied().unwrap_or(f64::NAN))
                .collect(),
            PathPlan::Replay(r) => r.start_prices().to_vec(),
            PathPlan::Model { start, .. } => start.clone(),
        }
    }

    /// A cursor over path `path_index`, steps `step_ns` apart from `start_ns`;
    /// a model path is drawn into `scratch`.
    ///
    /// # Errors
    /// A history file that cannot be opened.
    pub fn cursor<'a>(
        &'a self,
        path_index: u64,
        start_ns: i64,
        step_ns: i64,
        scratch: &'a mut PathScratch,
    ) -> Result<Cursor<'a>, PathError> {
        Ok(match self {
            PathPlan::Fixed(p) => Cursor::Buffer(BufferCursor::new(p, start_ns, step_ns)),
            PathPlan::Replay(r) => Cursor::Replay(Box::new(r.cursor()?)),
            PathPlan::Model { model, start, seed } => {
                if scratch.prices.len() != model.markets() {
                    scratch.prices = model.new_output();
                }
                let mut rng = rng::stream(*seed, Purpose::Path, path_index);
                model.fill(start, &mut rng, &mut scratch.model, &mut scratch.prices);
                Cursor::Buffer(BufferCursor::new(&scratch.prices, start_ns, step_ns))
            }
        })
    }
}

/// A linear path: flat at `start`, then a move of `shock` (relative) over
/// `shock_steps` from `shock_start_step`, then flat.
fn linear(start: f64, steps: u32, shock_start_step: u32, shock_steps: u32, shock: f64) -> Vec<f64> {
    (0..steps)
        .map(|t| {
            let progress = if t < shock_start_step {
                0.0
            } else if shock_steps == 0 {
                1.0
            } else {
                (f64::from(t - shock_start_step) / f64::from(shock_steps)).min(1.0)
            };
            start * (1.0 + shock * progress)
        })
        .collect()
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
        let mut scratch = PathScratch::default();
        let mut cursor = plan.cursor(0, 0, 60, &mut scratch).unwrap();
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
