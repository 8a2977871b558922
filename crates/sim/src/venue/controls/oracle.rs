//! Oracle aggregation: the mark the engine sees is built from `sources` price
//! sources instead of the path price directly.
//!
//! Source `k` of a market reports, when it updates, the path price of `lag_k` steps
//! ago times `exp(noise × z)` (`z` standard normal, from the path's own
//! [`Purpose::Oracle`](crate::rng::Purpose) stream), with `lag_k` drawn once per path
//! uniformly in `[0, lag_steps]`. Each step a source misses its update with
//! probability `outage_probability` (it then repeats its last value). A source whose
//! last update is more than `staleness_limit_steps` old is ignored; among the rest,
//! a source more than `deviation_guard` from their median is dropped (Binance drops
//! an index source 5% off), and the mark is the `median` or the `trimmed_mean` of
//! what is left. With no usable source (all stale, or an even number split across
//! the guard) the mark keeps its last oracle price.
//!
//! A scenario can make one source fail (`faulty_source`, from `fault_start_step`
//! for `fault_steps` steps): it reports `price × (1 + fault_wick)` (a wick, as one
//! source printed on 2025-10-10), or stops updating (`fault_stale = true`).
//!
//! O(markets × sources) per step, no allocation after construction.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;

/// Builds the mark the engine sees from the path prices.
pub trait MarkOracle: Send + Sync {
    /// Sees the path prices (USD, one per market) of step `step` (called once per
    /// step, in order) and writes the oracle price of each market into `out`.
    fn observe(&mut self, step: u32, path_prices: &[f64], out: &mut [f64]);
    /// Source readings dropped by the deviation guard so far (source × market × step).
    fn sources_dropped(&self) -> u32;
    /// Source readings ignored as stale so far.
    fn stale_ignored(&self) -> u32;
}

/// How the usable sources are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The median (the mean of the two middle values for an even count).
    Median,
    /// The mean after dropping `trim_fraction` of the sources at each end.
    TrimmedMean,
}

/// `[controls.oracle]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OracleConfig {
    /// Whether the mark comes from the oracle.
    pub enabled: bool,
    /// Number of price sources per market.
    pub sources: u32,
    /// Standard deviation of each reading's log-noise.
    pub noise: f64,
    /// Largest lag of a source, steps (each source's lag is drawn in `[0, lag_steps]`).
    pub lag_steps: u32,
    /// Probability that a source misses an update in a step.
    pub outage_probability: f64,
    /// `median` or `trimmed_mean`.
    pub aggregation: Aggregation,
    /// `trimmed_mean`: share of sources dropped at each end, below 0.5.
    pub trim_fraction: f64,
    /// A source not updated for more than this many steps is ignored.
    pub staleness_limit_steps: u32,
    /// A source more than this fraction from the median is dropped (above 0).
    pub deviation_guard: f64,
    /// The source that fails (0-based).
    pub faulty_source: u32,
    /// First step of the fault.
    pub fault_start_step: u32,
    /// Steps the fault lasts (0 = no fault).
    pub fault_steps: u32,
    /// Relative move of the faulty source's readings during the fault (−0.3 = a 30%
    /// wick down).
    pub fault_wick: f64,
    /// The faulty source stops updating during the fault instead.
    pub fault_stale: bool,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            enabled: false,
            sources: defaults::ORACLE_SOURCES,
            noise: defaults::ORACLE_NOISE,
            lag_steps: defaults::ORACLE_LAG_STEPS,
            outage_probability: defaults::ORACLE_OUTAGE_PROBABILITY,
            aggregation: Aggregation::Median,
            trim_fraction: defaults::ORACLE_TRIM_FRACTION,
            staleness_limit_steps: defaults::ORACLE_STALENESS_LIMIT_STEPS,
            deviation_guard: defaults::ORACLE_DEVIATION_GUARD,
            faulty_source: 0,
            fault_start_step: 0,
            fault_steps: 0,
            fault_wick: 0.0,
            fault_stale: false,
        }
    }
}

/// The oracle of one path.
pub struct AggregatedOracle {
    cfg: OracleConfig,
    markets: usize,
    sources: usize,
    rng: ChaCha8Rng,
    /// Per source, lag in steps.
    lags: Vec<usize>,
    /// Path prices of the last `max lag + 1` steps: `history[slot × markets + m]`.
    history: Vec<f64>,
    depth: usize,
    /// Per (market, source): last reading and the step of its update.
    reading: Vec<f64>,
    updated: Vec<Option<u32>>,
    last_out: Vec<f64>,
    scratch: Vec<f64>,
    dropped: u32,
    stale: u32,
}

impl AggregatedOracle {
    /// The oracle for `markets` markets, drawing from `rng` (the path's oracle
    /// stream). The config is validated.
    pub fn new(cfg: &OracleConfig, markets: usize, mut rng: ChaCha8Rng) -> AggregatedOracle {
        let sources = cfg.sources.max(1) as usize;
        let lags: Vec<usize> = (0..sources)
            .map(|_| rng.random_range(0..=cfg.lag_steps) as usize)
            .collect();
        let depth = cfg.lag_steps as usize + 1;
        AggregatedOracle {
            cfg: cfg.clone(),
            markets,
            sources,
            rng,
            lags,
            history: vec![0.0; depth * markets],
            depth,
            reading: vec![0.0; markets * sources],
            updated: vec![None; markets * sources],
            last_out: vec![0.0; markets],
            scratch: Vec::with_capacity(sources),
            dropped: 0,
            stale: 0,
        }
    }

    fn in_fault(&self, step: u32, source: usize) -> bool {
        source == self.cfg.faulty_source as usize
            && step >= self.cfg.fault_start_step
            && step - self.cfg.fault_start_step < self.cfg.fault_steps
    }
}

impl AggregatedOracle {
    /// The last oracle price of market `m` (the path price before the first one).
    fn hold(&mut self, m: usize, path_price: f64) -> f64 {
        let v = if self.last_out[m] > 0.0 {
            self.last_out[m]
        } else {
            path_price
        };
        self.last_out[m] = v;
        v
    }
}

/// Median of a sorted, non-empty slice.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

impl MarkOracle for AggregatedOracle {
    fn observe(&mut self, step: u32, path_prices: &[f64], out: &mut [f64]) {
        let t = step as usize;
        let slot = t % self.depth;
        let row = &mut self.history[slot * self.markets..(slot + 1) * self.markets];
        row.copy_from_slice(&path_prices[..self.markets]);
        for m in 0..self.markets {
            // Readings: every draw is made whether or not it is used, so the stream
            // does not depend on the fault settings.
            for k in 0..self.sources {
                let z: f64 = StandardNormal.sample(&mut self.rng);
                let missed = self.rng.random::<f64>() < self.cfg.outage_probability;
                let fault = self.in_fault(step, k);
                let i = m * self.sources + k;
                if missed || (fault && self.cfg.fault_stale) {
                    continue;
                }
                let lag = self.lags[k].min(t);
                let past = self.history[((t - lag) % self.depth) * self.markets + m];
                let mut v = past * (self.cfg.noise * z).exp();
                if fault {
                    v *= 1.0 + self.cfg.fault_wick;
                }
                self.reading[i] = v;
                self.updated[i] = Some(step);
            }
            // Fresh sources, their median, the guard, the aggregate.
            self.scratch.clear();
            for k in 0..self.sources {
                let i = m * self.sources + k;
                match self.updated[i] {
                    Some(u) if step - u <= self.cfg.staleness_limit_steps => {
                        self.scratch.push(self.reading[i]);
                    }
                    Some(_) => self.stale += 1,
                    None => {}
                }
            }
            if self.scratch.is_empty() {
                out[m] = self.hold(m, path_prices[m]);
                continue;
            }
            self.scratch.sort_unstable_by(f64::total_cmp);
            let mid = median(&self.scratch);
            let guard = self.cfg.deviation_guard;
            let before = self.scratch.len();
            self.scratch.retain(|&v| (v - mid).abs() <= guard * mid);
            self.dropped += (before - self.scratch.len()) as u32;
            if self.scratch.is_empty() {
                // An even number of sources split on both sides of the guard: no
                // majority to trust, the mark holds.
                out[m] = self.hold(m, path_prices[m]);
                continue;
            }
            let value = match self.cfg.aggregation {
                Aggregation::Median => median(&self.scratch),
                Aggregation::TrimmedMean => {
                    let n = self.scratch.len();
                    let cut =
                        ((n as f64 * self.cfg.trim_fraction).floor() as usize).min((n - 1) / 2);
                    let kept = &self.scratch[cut..n - cut];
                    kept.iter().sum::<f64>() / kept.len() as f64
                }
            };
            out[m] = value;
            self.last_out[m] = value;
        }
    }

    fn sources_dropped(&self) -> u32 {
        self.dropped
    }

    fn stale_ignored(&self) -> u32 {
        self.stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Purpose};

    fn oracle(cfg: OracleConfig) -> AggregatedOracle {
        AggregatedOracle::new(&cfg, 1, rng::stream(1, Purpose::Oracle, 0))
    }

    fn run(o: &mut AggregatedOracle, prices: &[f64]) -> Vec<f64> {
        let mut out = [0.0];
        prices
            .iter()
            .enumerate()
            .map(|(t, &p)| {
                o.observe(t as u32, &[p], &mut out);
                out[0]
            })
            .collect()
    }

    #[test]
    fn the_guard_drops_a_lying_source() {
        let cfg = OracleConfig {
            enabled: true,
            sources: 3,
            noise: 0.0,
            fault_start_step: 2,
            fault_steps: 3,
            fault_wick: -0.3,
            ..OracleConfig::default()
        };
        let mut o = oracle(cfg.clone());
        assert_eq!(run(&mut o, &[100.0; 8]), [100.0; 8]);
        assert_eq!(o.sources_dropped(), 3);
        // With a single source the lie is the mark.
        let mut single = oracle(OracleConfig { sources: 1, ..cfg });
        let marks = run(&mut single, &[100.0; 8]);
        assert_eq!(marks[1], 100.0);
        assert!((marks[2] - 70.0).abs() < 1e-9 && (marks[4] - 70.0).abs() < 1e-9);
        assert_eq!(marks[5], 100.0);
        assert_eq!(single.sources_dropped(), 0);
    }

    #[test]
    fn a_trimmed_mean_without_the_guard_is_pulled_by_the_lie() {
        let mut o = oracle(OracleConfig {
            enabled: true,
            sources: 4,
            noise: 0.0,
            aggregation: Aggregation::TrimmedMean,
            trim_fraction: 0.0,
            deviation_guard: 1.0,
            fault_steps: 1,
            fault_wick: -0.4,
            ..OracleConfig::default()
        });
        let marks = run(&mut o, &[100.0, 100.0]);
        assert!((marks[0] - 90.0).abs() < 1e-9, "{marks:?}");
        assert_eq!(marks[1], 100.0);
    }

    #[test]
    fn a_stale_source_is_ignored_after_the_limit() {
        let mut o = oracle(OracleConfig {
            enabled: true,
            sources: 3,
            noise: 0.0,
            aggregation: Aggregation::TrimmedMean,
            trim_fraction: 0.0,
            deviation_guard: 1.0,
            staleness_limit_steps: 2,
            fault_start_step: 1,
            fault_steps: 10,
            fault_stale: true,
            ..OracleConfig::default()
        });
        let marks = run(&mut o, &[100.0, 110.0, 110.0, 110.0, 110.0]);
        let mean = (100.0 + 110.0 + 110.0) / 3.0;
        assert!((marks[1] - mean).abs() < 1e-9, "{marks:?}");
        assert!((marks[2] - mean).abs() < 1e-9, "{marks:?}");
        assert_eq!(&marks[3..], [110.0, 110.0]);
        assert_eq!(o.stale_ignored(), 2);
    }

    #[test]
    fn lagged_sources_report_old_prices_and_noise_is_seeded() {
        let cfg = OracleConfig {
            enabled: true,
            sources: 5,
            noise: 0.001,
            lag_steps: 3,
            outage_probability: 0.2,
            ..OracleConfig::default()
        };
        let prices: Vec<f64> = (0..50).map(|t| 100.0 + t as f64).collect();
        let a = run(&mut oracle(cfg.clone()), &prices);
        let b = run(&mut oracle(cfg), &prices);
        assert_eq!(a, b);
        // Lags pull the mark below a rising path, never above its current price by
        // more than the noise.
        assert!(a.iter().zip(&prices).all(|(m, p)| *m < p * 1.01));
        assert!(a.iter().zip(&prices).any(|(m, p)| *m < p - 0.5));
    }
}
