//! Walking a path: what the engine consumes at one step ([`StepInput`]), the
//! [`PathCursor`] that fills it step by step, and the cursor over prices held in
//! memory ([`BufferCursor`]).

use crate::money::Rate;

use super::error::PathError;

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
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, PathError>;
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
    fn advance(&mut self, step: &mut StepInput) -> Result<bool, PathError> {
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
