//! The price path as the scenario describes it (`[path]`): fixed prices, a
//! historical replay, or a path model and its parameters.
//!
//! Plain data; the models themselves (equations, generators) are in
//! `crate::paths::models`, one file per model, and each model's `build` is there.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;

/// The price path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PathConfig {
    /// Flat, then a linear move of `shock` (relative) over `shock_steps`, then flat.
    Linear {
        /// Steps in the run.
        steps: u32,
        /// Step at which the move starts.
        #[serde(default)]
        shock_start_step: u32,
        /// Steps the move lasts.
        shock_steps: u32,
        /// Total relative move (−0.35 = −35%), applied to every market.
        shock: f64,
    },
    /// Explicit prices per market key, one per step.
    Series {
        /// Prices by market key.
        prices: BTreeMap<String, Vec<f64>>,
    },
    /// Historical replay from tick-history files, from the scenario's `start` to
    /// `end`.
    Replay(ReplayConfig),
    /// Geometric Brownian motion.
    Gbm(GbmConfig),
    /// GBM with Student-t innovations scaled to the target volatility.
    StudentT(StudentTConfig),
    /// GARCH(1,1) with standardized t innovations.
    Garch(GarchConfig),
    /// Merton jump-diffusion.
    Jump(JumpConfig),
    /// Brownian bridge pinned to a crash level at a chosen step, then free.
    Bridge(BridgeConfig),
    /// Stationary block bootstrap of historical returns.
    Bootstrap(BootstrapConfig),
    /// A historical window's returns from today's prices, optionally scaled.
    Overlay(OverlayConfig),
}

/// How a replay turns events into engine steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStepping {
    /// One step per `step_seconds`, at the last price at or before each boundary.
    Resample,
    /// One step per distinct event time (every trade or mark update).
    Tick,
}

/// A historical replay: a UTC window and the files of each market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// End of the window (exclusive), UTC RFC 3339; it starts at the scenario's
    /// `start`.
    pub end: String,
    /// `resample` (fixed steps of `step_seconds`) or `tick`.
    #[serde(default = "ReplayConfig::d_stepping")]
    pub stepping: ReplayStepping,
    /// Files by market key.
    pub market: BTreeMap<String, ReplayFiles>,
}

impl ReplayConfig {
    /// The default stepping, `resample` (an enum's default lives beside the
    /// enum, not in `defaults.rs`, which would then import this file back).
    fn d_stepping() -> ReplayStepping {
        ReplayStepping::Resample
    }
}

/// The history of one market: one price source, optionally funding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFiles {
    /// A `prices/v1` file (the mark is the path price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<String>,
    /// A `trades/v1` file (the trade price is the path price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trades: Option<String>,
    /// A `funding/v1` file: the market settles these rates at their times instead
    /// of its `funding` table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<String>,
}

impl PathConfig {
    /// The path's kind as written in the scenario.
    pub fn kind(&self) -> &'static str {
        match self {
            PathConfig::Linear { .. } => "linear",
            PathConfig::Series { .. } => "series",
            PathConfig::Replay(_) => "replay",
            PathConfig::Gbm(_) => "gbm",
            PathConfig::StudentT(_) => "student_t",
            PathConfig::Garch(_) => "garch",
            PathConfig::Jump(_) => "jump",
            PathConfig::Bridge(_) => "bridge",
            PathConfig::Bootstrap(_) => "bootstrap",
            PathConfig::Overlay(_) => "overlay",
        }
    }

    /// The random or historical path model, for the kinds that are one.
    pub fn model(&self) -> Option<ModelConfig> {
        use ModelConfig as M;
        Some(match self {
            PathConfig::Gbm(c) => M::Gbm(c.clone()),
            PathConfig::StudentT(c) => M::StudentT(c.clone()),
            PathConfig::Garch(c) => M::Garch(c.clone()),
            PathConfig::Jump(c) => M::Jump(c.clone()),
            PathConfig::Bridge(c) => M::Bridge(c.clone()),
            PathConfig::Bootstrap(c) => M::Bootstrap(c.clone()),
            PathConfig::Overlay(c) => M::Overlay(c.clone()),
            PathConfig::Linear { .. } | PathConfig::Series { .. } | PathConfig::Replay(_) => {
                return None;
            }
        })
    }
}

/// Any path model, tagged by `kind` as in a scenario's `[path]` table (`kind =
/// "gbm"`, `"student_t"`, `"garch"`, `"jump"`, `"bridge"`, `"bootstrap"`,
/// `"overlay"`): the model kinds of [`PathConfig`] on their own, as
/// `backstop calibrate` prints them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Geometric Brownian motion.
    Gbm(GbmConfig),
    /// Student-t innovations.
    StudentT(StudentTConfig),
    /// GARCH(1,1) with t innovations.
    Garch(GarchConfig),
    /// Merton jump-diffusion.
    Jump(JumpConfig),
    /// Brownian bridge to a crash level.
    Bridge(BridgeConfig),
    /// Stationary block bootstrap of history.
    Bootstrap(BootstrapConfig),
    /// A historical crash window from today's price.
    Overlay(OverlayConfig),
}

/// Parameters of a GBM path (`kind = "gbm"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GbmConfig {
    /// Steps of a path.
    pub steps: u32,
    /// Annualised drift μ (`E[S(t)] = S(0)e^{μt}`); default 0 (martingale).
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility σ of log-returns, ≥ 0.
    pub volatility: f64,
    /// Correlation between markets; independent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
}

/// Parameters of a Student-t path (`kind = "student_t"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentTConfig {
    /// Steps of a path.
    pub steps: u32,
    /// Annualised drift μ; default 0.
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility σ of log-returns, ≥ 0.
    pub volatility: f64,
    /// Degrees of freedom ν of the innovations, > 2 (smaller = fatter tails).
    pub dof: f64,
    /// Correlation between markets; independent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
}

/// Parameters of a GARCH(1,1)-t path (`kind = "garch"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GarchConfig {
    /// Steps of a path.
    pub steps: u32,
    /// Annualised drift μ; default 0.
    #[serde(default)]
    pub drift: f64,
    /// Long-run annualised volatility σ (ω is derived from it), ≥ 0.
    pub volatility: f64,
    /// ARCH coefficient α ≥ 0: weight of the last squared shock.
    pub alpha: f64,
    /// GARCH coefficient β ≥ 0: weight of the last variance; α + β < 1.
    pub beta: f64,
    /// Degrees of freedom ν of the standardized t innovations, > 2.
    pub dof: f64,
    /// Correlation between markets' innovations; independent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
}

/// Parameters of a Merton jump-diffusion path (`kind = "jump"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JumpConfig {
    /// Steps of a path.
    pub steps: u32,
    /// Annualised drift μ of the price (`E[S(t)] = S(0)e^{μt}`); default 0.
    #[serde(default)]
    pub drift: f64,
    /// Annualised volatility σ of the diffusion part, ≥ 0.
    pub volatility: f64,
    /// Expected number of jumps per (365-day) year λ, ≥ 0.
    pub intensity: f64,
    /// Mean m of a jump's log-size (−0.1 ≈ a 9.5% drop).
    pub jump_mean: f64,
    /// Standard deviation s of a jump's log-size, ≥ 0.
    pub jump_stdev: f64,
    /// Correlation between markets' diffusions; independent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
}

/// Parameters of a pinned-crash bridge path (`kind = "bridge"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Steps of a path.
    pub steps: u32,
    /// Step at which every path is at the crash level, `1 ≤ pin_step < steps`.
    pub pin_step: u32,
    /// Relative move at the pin (−0.35 = −35 %), > −1.
    pub crash: f64,
    /// Annualised volatility σ, before and after the pin, ≥ 0.
    pub volatility: f64,
    /// Annualised drift μ after the pin; default 0.
    #[serde(default)]
    pub drift: f64,
    /// Correlation between markets' innovations; independent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationSpec>,
}

/// Parameters of a block-bootstrap path (`kind = "bootstrap"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Steps of a path.
    pub steps: u32,
    /// One prices file per market, in market order, relative to the scenario's
    /// folder.
    pub files: Vec<PathBuf>,
    /// Mean block length in steps, ≥ 1 (1 = i.i.d. resampling); default 60.
    #[serde(default = "d_mean_block")]
    pub mean_block_steps: f64,
}

/// Parameters of a crash overlay (`kind = "overlay"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverlayConfig {
    /// Prices files relative to the scenario's folder: one for every market, or one
    /// per market in market order.
    pub files: Vec<PathBuf>,
    /// First instant of the window, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub start: String,
    /// End of the window (exclusive), UTC; `end − start` a whole number of steps.
    pub end: String,
    /// Multiplier of every log-return, > 0; default 1.
    #[serde(default = "d_scale")]
    pub scale: f64,
}

/// Where a multi-market model's correlation comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CorrelationSpec {
    /// `matrix = [[…], …]`: the correlation matrix, one row per market, symmetric,
    /// unit diagonal, entries in [-1, 1], positive definite.
    Matrix(Vec<Vec<f64>>),
    /// `files = […]`: one prices file per market (relative to the scenario's
    /// folder); Pearson correlation of their log-returns at the scenario step on
    /// common timestamps.
    Files(Vec<PathBuf>),
}

fn d_mean_block() -> f64 {
    defaults::MEAN_BLOCK_STEPS
}

fn d_scale() -> f64 {
    defaults::OVERLAY_SCALE
}
