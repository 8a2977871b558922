//! Monte Carlo and historical price-path generators.
//!
//! Every generator is a [`PathModel`]: given the markets' start prices and the
//! path's random stream ([`crate::rng::stream`] with [`crate::rng::Purpose::Path`]),
//! it fills one price per market per step. Its parameters are plain data in the
//! scenario's `[path]` table (`kind = "gbm"`, ...; [`ModelConfig`] and the types
//! in [`crate::config::path`], validated there); each model's file here adds the
//! equations, the `build` that turns the parameters into a [`PathModel`], and
//! the generator:
//!
//! | `kind`      | config              | model                                                  |
//! |-------------|---------------------|--------------------------------------------------------|
//! | `gbm`       | `GbmConfig`       | geometric Brownian motion                              |
//! | `student_t` | `StudentTConfig`  | GBM with unit-variance Student-t innovations           |
//! | `garch`     | `GarchConfig`     | GARCH(1,1) with standardized t innovations             |
//! | `jump`      | `JumpConfig`      | Merton jump-diffusion, martingale-compensated          |
//! | `bridge`    | `BridgeConfig`    | Brownian bridge pinned to a crash level, then GBM      |
//! | `bootstrap` | `BootstrapConfig` | stationary block bootstrap of historical log-returns   |
//! | `overlay`   | `OverlayConfig`   | a historical window's log-returns from today's price   |
//!
//! # Units and conventions
//!
//! - Time is in years of **365 days**: a step of `step_seconds` is
//!   `dt = step_seconds / (365 × 86 400)` years ([`year_fraction`]).
//! - `drift` and `volatility` are **annualised**: the log-return of one step has
//!   standard deviation `volatility × √dt`; a GBM with drift μ has
//!   `E[S(t)] = S(0)·e^{μt}`.
//! - Prices are `f64` USD and stay **finite and positive**: every model moves the
//!   price by `exp(log-return)` (or pins it to a validated positive level); this is
//!   `debug_assert`ed at every step.
//! - Several markets: configs with a `correlation` (`CorrelationSpec`) draw a
//!   vector of independent innovations per step and multiply it by the Cholesky
//!   factor of the correlation matrix; without one, markets are independent.
//!   Files are listed in market order (the sorted keys of the `[market]` table).
//!
//! # Determinism and allocation
//!
//! A path depends only on its random stream and the model: draws happen in a fixed
//! order (step by step, market by market), with no global state. [`PathModel::fill`]
//! never allocates once `out` and the [`Scratch`] have been sized by a first path.

use std::path::Path;

use rand_chacha::ChaCha8Rng;

use super::error::{PathError, PathModelError};
use crate::config::field::FieldError;
use crate::config::path::ModelConfig;

pub mod bootstrap;
pub mod bridge;
pub mod calibrate;
pub mod correlation;
pub mod garch;
pub mod gbm;
pub mod jump;
mod optim;
pub mod overlay;
mod series;
pub mod student_t;

pub use calibrate::{Calibration, calibrate, calibrate_file};
pub use correlation::pearson_matrix;

/// Seconds in the 365-day year volatilities and intensities are quoted in.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Length of a step of `step_seconds`, in years of 365 days.
#[must_use]
pub fn year_fraction(step_seconds: u32) -> f64 {
    f64::from(step_seconds) / SECONDS_PER_YEAR
}

/// One path model: prices for every market at every step of one path.
///
/// Built once per run (from a config's `build`), shared by all worker threads
/// (`Send + Sync`, `fill` takes `&self`); each thread keeps its own `out` and
/// [`Scratch`] and reuses them for every path it runs.
pub trait PathModel: Send + Sync + std::fmt::Debug {
    /// Number of markets the model prices.
    fn markets(&self) -> usize;
    /// Number of steps of a path (`out[m].len()` after [`fill`](Self::fill)).
    fn steps(&self) -> usize;
    /// Writes one path: `out[m][0] = start[m]` and `out[m][t]` the price of market
    /// `m` at step `t`, for `t < steps()`.
    ///
    /// `start` and `out` have one entry per market (`markets()`); start prices must
    /// be finite and positive (the scenario validates them). `out[m]` is resized to
    /// `steps()`: no allocation once it has that capacity. `scratch` is working
    /// memory, sized on first use. All randomness comes from `rng`.
    fn fill(
        &self,
        start: &[f64],
        rng: &mut ChaCha8Rng,
        scratch: &mut Scratch,
        out: &mut [Vec<f64>],
    );

    /// Whether paths differ from one another (`false` for a model that draws
    /// nothing from its stream, like the overlay: every path is the same).
    fn is_random(&self) -> bool {
        true
    }

    /// An output buffer of the right shape for [`fill`](Self::fill).
    fn new_output(&self) -> Vec<Vec<f64>> {
        vec![Vec::with_capacity(self.steps()); self.markets()]
    }
}

/// Per-thread working memory of [`PathModel::fill`], reused across paths so that
/// filling a path allocates nothing after the first.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// One innovation per market.
    pub(crate) z: Vec<f64>,
    /// Per-market state (GARCH conditional variance).
    pub(crate) h: Vec<f64>,
}

impl Scratch {
    /// Empty scratch; the first path sizes it.
    #[must_use]
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// `z` and `h` of length `markets`, zeroed (allocates only when growing).
    pub(crate) fn prepare(&mut self, markets: usize) {
        self.z.clear();
        self.z.resize(markets, 0.0);
        self.h.clear();
        self.h.resize(markets, 0.0);
    }
}

impl ModelConfig {
    /// Validates and builds the model; files are relative to `base_dir` (the
    /// scenario's folder); `step_seconds` is the scenario's step.
    ///
    /// # Errors
    /// [`PathError::Model`] for bad parameters or unusable data,
    /// [`PathError::Data`] for unreadable files.
    pub fn build(
        &self,
        base_dir: &Path,
        markets: usize,
        step_seconds: u32,
    ) -> Result<Box<dyn PathModel>, PathError> {
        match self {
            ModelConfig::Gbm(c) => c.build(base_dir, markets, step_seconds),
            ModelConfig::StudentT(c) => c.build(base_dir, markets, step_seconds),
            ModelConfig::Garch(c) => c.build(base_dir, markets, step_seconds),
            ModelConfig::Jump(c) => c.build(base_dir, markets, step_seconds),
            ModelConfig::Bridge(c) => c.build(base_dir, markets, step_seconds),
            ModelConfig::Bootstrap(c) => c.build(base_dir, markets, step_seconds),
            ModelConfig::Overlay(c) => c.build(base_dir, markets, step_seconds),
        }
    }
}

/// Largest per-step log-return standard deviation `volatility·√dt` a model accepts:
/// beyond 100 % per step, `exp` of a path's log-price could overflow to ∞ or 0.
pub const MAX_STEP_VOLATILITY: f64 = 1.0;

/// Build-time check (needs the step) that `volatility` stays below
/// [`MAX_STEP_VOLATILITY`] per step.
pub(crate) fn check_step_volatility(
    key: &'static str,
    volatility: f64,
    step_seconds: u32,
) -> Result<(), PathModelError> {
    let per_step = volatility * year_fraction(step_seconds).sqrt();
    if per_step > MAX_STEP_VOLATILITY {
        return Err(PathModelError::StepVolatility {
            key,
            volatility,
            per_step,
            step_seconds,
            max: MAX_STEP_VOLATILITY,
        });
    }
    Ok(())
}

/// A parameter the validation refuses, as the error `build` returns.
pub(crate) fn invalid(e: FieldError) -> PathModelError {
    PathModelError::Parameter(e)
}

/// Debug check of the price invariant: finite and positive.
#[inline]
pub(crate) fn debug_check_price(p: f64) {
    debug_assert!(
        p.is_finite() && p > 0.0,
        "Invariant: path prices stay finite and positive, got {p}"
    );
}

/// Sizes `out` to `steps` per market and writes the start prices.
pub(crate) fn start_output(start: &[f64], steps: usize, out: &mut [Vec<f64>]) {
    debug_assert_eq!(start.len(), out.len(), "one start price per market");
    for (series, &s) in out.iter_mut().zip(start) {
        debug_check_price(s);
        series.resize(steps, 0.0);
        if let Some(first) = series.first_mut() {
            *first = s;
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers shared by the module's tests.

    use std::path::{Path, PathBuf};

    use backstop_data::history::{Contract, HistoryMetadata, PriceRow, WriteOptions, write_prices};

    /// Log-returns of one series.
    pub fn log_returns(p: &[f64]) -> Vec<f64> {
        p.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    }

    /// Sample mean and (n-1) variance.
    pub fn mean_var(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
        (m, v)
    }

    /// Pearson correlation.
    pub fn corr(a: &[f64], b: &[f64]) -> f64 {
        let (ma, va) = mean_var(a);
        let (mb, vb) = mean_var(b);
        let c = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - ma) * (y - mb))
            .sum::<f64>()
            / (a.len() as f64 - 1.0);
        c / (va * vb).sqrt()
    }

    /// The shared BTCUSDT 1-minute crash-window CSV `name`: (open_time ms, close).
    pub fn crash_csv(name: &str) -> Vec<(i64, f64)> {
        let file = Path::new("/work/shared/data/binance_um_btcusdt_1m_crash_windows").join(name);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].parse().unwrap(), f[4].parse().unwrap())
            })
            .collect()
    }

    /// Writes a prices file of `(ts_ns, mark)` rows into `dir`.
    pub fn write_prices_file(dir: &Path, name: &str, rows: &[(i64, f64)]) -> PathBuf {
        let file = dir.join(name);
        let rows: Vec<PriceRow> = rows
            .iter()
            .map(|&(ts_ns, mark)| PriceRow {
                ts_ns,
                mark,
                index: None,
            })
            .collect();
        let meta = HistoryMetadata::new("BTCUSDT", "binance-usdm", "test", Contract::Linear);
        write_prices(&file, &rows, &meta, &WriteOptions::default()).unwrap();
        file
    }

    /// The 2020-03-12 crash window (1-minute closes at open_time) as a prices file.
    pub fn march_2020_file(dir: &Path) -> (PathBuf, Vec<(i64, f64)>) {
        let rows: Vec<(i64, f64)> = crash_csv("BTCUSDT-um-1m-2020-03-12_1022-1507.csv")
            .into_iter()
            .map(|(ms, p)| (ms * 1_000_000, p))
            .collect();
        (
            write_prices_file(dir, "btc-2020-03-12.parquet", &rows),
            rows,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::path::{GarchConfig, GbmConfig};
    use crate::rng::{Purpose, stream};

    const MODELS: &str = r#"
[gbm]
kind = "gbm"
steps = 300
volatility = 0.8
correlation = { matrix = [[1.0, 0.3], [0.3, 1.0]] }

[t]
kind = "student_t"
steps = 300
volatility = 0.8
dof = 3.0
correlation = { matrix = [[1.0, -0.3], [-0.3, 1.0]] }

[garch]
kind = "garch"
steps = 300
volatility = 0.8
alpha = 0.1
beta = 0.85
dof = 5.0

[jump]
kind = "jump"
steps = 300
volatility = 0.6
intensity = 50.0
jump_mean = -0.05
jump_stdev = 0.05

[bridge]
kind = "bridge"
steps = 300
pin_step = 100
crash = -0.35
volatility = 0.8
"#;

    fn models() -> Vec<(String, ModelConfig)> {
        let table: std::collections::BTreeMap<String, ModelConfig> =
            toml::from_str(MODELS).unwrap();
        table.into_iter().collect()
    }

    /// Every Monte Carlo model: the same stream gives the same path bit for bit,
    /// a different stream a different one; refilling reuses the buffers (same
    /// allocation); prices start at `start` and stay finite and positive.
    #[test]
    fn paths_are_deterministic_and_reuse_their_buffers() {
        for (name, cfg) in models() {
            cfg.validate(2).unwrap();
            let model = cfg.build(Path::new("."), 2, 60).unwrap();
            assert_eq!((model.markets(), model.steps()), (2, 300), "{name}");
            let start = [50_000.0, 2.5];
            let mut out = model.new_output();
            let mut scratch = Scratch::new();
            model.fill(
                &start,
                &mut stream(1, Purpose::Path, 7),
                &mut scratch,
                &mut out,
            );
            let first = out.clone();
            let ptrs: Vec<*const f64> = out.iter().map(|s| s.as_ptr()).collect();
            let z_ptr = scratch.z.as_ptr();
            model.fill(
                &start,
                &mut stream(1, Purpose::Path, 8),
                &mut scratch,
                &mut out,
            );
            assert_ne!(out, first, "{name}");
            model.fill(
                &start,
                &mut stream(1, Purpose::Path, 7),
                &mut scratch,
                &mut out,
            );
            assert_eq!(out, first, "{name}");
            assert_eq!(
                ptrs,
                out.iter().map(|s| s.as_ptr()).collect::<Vec<_>>(),
                "{name}"
            );
            assert_eq!(z_ptr, scratch.z.as_ptr(), "{name}");
            for (series, s0) in out.iter().zip(start) {
                assert_eq!(series.len(), 300);
                assert_eq!(series[0], s0);
                assert!(series.iter().all(|p| p.is_finite() && *p > 0.0), "{name}");
            }
        }
    }

    #[test]
    fn configs_round_trip_and_reject_unknown_keys_and_kinds() {
        for (name, cfg) in models() {
            let text = toml::to_string(&cfg).unwrap();
            assert_eq!(toml::from_str::<ModelConfig>(&text).unwrap(), cfg, "{name}");
        }
        let e = toml::from_str::<ModelConfig>("kind = \"levy\"\nsteps = 1\n").unwrap_err();
        assert!(e.to_string().contains("levy"), "{e}");
        let e = toml::from_str::<ModelConfig>(
            "kind = \"garch\"\nsteps = 1\nvolatility = 1.0\nalpha = 0.1\nbeta = 0.8\ndof = 5.0\nomega = 1.0\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("omega"), "{e}");
        let e = toml::from_str::<ModelConfig>(
            "kind = \"gbm\"\nsteps = 1\nvolatility = 1.0\ncorrelation = { cov = [[1.0]] }\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("cov"), "{e}");
        assert_eq!(
            ModelConfig::Gbm(GbmConfig {
                steps: 1,
                drift: 0.0,
                volatility: 1.0,
                correlation: None
            })
            .validate(0)
            .unwrap_err()
            .key,
            "path.kind"
        );
    }

    #[test]
    fn a_non_stationary_garch_is_refused_at_build() {
        let e = GarchConfig {
            steps: 1,
            drift: 0.0,
            volatility: 1.0,
            alpha: 0.6,
            beta: 0.45,
            dof: 5.0,
            correlation: None,
        }
        .build(Path::new("."), 1, 60)
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "path: `path.beta`: `path.alpha` + `path.beta` must be < 1 for a stationary GARCH, got 0.6 + 0.45"
        );
    }

    #[test]
    fn year_is_365_days() {
        assert_eq!(year_fraction(86_400), 1.0 / 365.0);
    }
}
