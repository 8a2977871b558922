//! Price paths: the path price of every market at every step.
//!
//! A path model sits behind [`PricePath`]; this issue provides the deterministic
//! paths a scenario can spell out (a linear shock, an explicit series). Monte Carlo
//! models and historical replay plug in behind the same trait.

use crate::scenario::{PathConfig, Scenario};

/// A source of path prices, one per market per step.
pub trait PricePath {
    /// Number of steps.
    fn steps(&self) -> usize;
    /// Writes the path prices of `step` (one per market, USD) into `out`.
    fn prices(&mut self, step: usize, out: &mut [f64]);
}

/// Prices held in memory, market-major.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesPath {
    prices: Vec<Vec<f64>>,
}

impl SeriesPath {
    /// A path from per-market series of equal length.
    pub fn new(prices: Vec<Vec<f64>>) -> SeriesPath {
        debug_assert!(
            prices.windows(2).all(|w| w[0].len() == w[1].len()),
            "Invariant: equal lengths"
        );
        SeriesPath { prices }
    }

    /// The path a scenario spells out.
    ///
    /// `linear`: flat at the market's start price until `shock_start_step`, then a
    /// straight line to `price × (1 + shock)` over `shock_steps`, then flat. A
    /// `shock_steps` of 0 is a jump.
    pub fn from_scenario(s: &Scenario) -> SeriesPath {
        match &s.path {
            PathConfig::Linear {
                steps,
                shock_start_step,
                shock_steps,
                shock,
            } => {
                let prices = s
                    .market
                    .values()
                    .map(|m| {
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
                                m.price * (1.0 + shock * progress)
                            })
                            .collect()
                    })
                    .collect();
                SeriesPath { prices }
            }
            PathConfig::Series { prices } => SeriesPath {
                prices: s
                    .market
                    .keys()
                    .map(|k| prices.get(k).cloned().unwrap_or_default())
                    .collect(),
            },
        }
    }

    /// Price of market `m` at step 0.
    pub fn first(&self, m: usize) -> f64 {
        self.prices[m].first().copied().unwrap_or(f64::NAN)
    }
}

impl PricePath for SeriesPath {
    fn steps(&self) -> usize {
        self.prices.first().map_or(0, Vec::len)
    }
    fn prices(&mut self, step: usize, out: &mut [f64]) {
        for (o, series) in out.iter_mut().zip(&self.prices) {
            *o = series[step];
        }
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
        let s = Scenario::from_toml_str(src, std::path::Path::new("t.toml")).unwrap();
        let mut p = SeriesPath::from_scenario(&s);
        let mut out = [0.0];
        let got: Vec<f64> = (0..6)
            .map(|t| {
                p.prices(t, &mut out);
                (out[0] * 1e6).round() / 1e6
            })
            .collect();
        assert_eq!(got, vec![100.0, 100.0, 90.0, 80.0, 70.0, 60.0]);
    }
}
