//! Scenario files: what a run simulates, in TOML.
//!
//! Every table rejects unknown keys. Every default lives in [`defaults`] and is
//! written back into `summary.json`, so a result always says exactly what ran.
//! Errors name the file, the line and the key (`market.btc.tiers[1].mmr`).
//!
//! ```toml
//! name = "linear-crash"
//! seed = 42
//!
//! [market.btc]
//! price = 100000.0
//! tick_size = 0.1
//! lot_size = 0.001
//! tiers = [
//!   { notional_floor = 0, imr = 0.008, mmr = 0.004 },
//!   { notional_floor = 50000, imr = 0.01, mmr = 0.005 },
//! ]
//!
//! [path]
//! kind = "linear"
//! steps = 1440
//! shock_start_step = 60
//! shock_steps = 120
//! shock = -0.35
//!
//! [population]
//! kind = "generated"
//! accounts = 10000
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::pathgen;
use serde::{Deserialize, Serialize};

/// Defaults of every optional scenario field, in one place.
pub mod defaults {
    /// Master seed.
    pub const SEED: u64 = 1;
    /// Price paths per run.
    pub const PATHS: u32 = 1;
    /// How a replay turns history into steps.
    pub const REPLAY_STEPPING: &str = "resample";
    /// One-minute steps.
    pub const STEP_SECONDS: u32 = 60;
    /// Start of the simulated clock (UTC, RFC 3339).
    pub const START: &str = "2025-01-01T00:00:00Z";
    /// Funding rate per interval: Binance's baseline 0.01% per 8 hours.
    pub const FUNDING_RATE: f64 = 0.0001;
    /// Funding interval: 8 hours of one-minute steps.
    pub const FUNDING_INTERVAL_STEPS: u32 = 480;
    /// Square-root-law prefactor `Y`.
    pub const IMPACT_COEFFICIENT: f64 = 1.0;
    /// Volatility over the impact horizon.
    pub const IMPACT_VOLATILITY: f64 = 0.02;
    /// Volume over the impact horizon, USD.
    pub const IMPACT_VOLUME_USD: f64 = 500_000_000.0;
    /// Share of impact that is permanent.
    pub const PERMANENT_IMPACT_FRACTION: f64 = 0.25;
    /// Half-life of temporary impact, steps.
    pub const IMPACT_HALF_LIFE_STEPS: f64 = 5.0;
    /// Liquidation fee on liquidated notional.
    pub const LIQUIDATION_FEE: f64 = 0.005;
    /// Share of the fee that goes to the insurance fund.
    pub const INSURANCE_FUND_SHARE: f64 = 1.0;
    /// Steps between breach and execution.
    pub const LATENCY_STEPS: u32 = 0;
    /// `to_target`: equity restored to maintenance × (1 + buffer).
    pub const TARGET_BUFFER: f64 = 0.0;
    /// `to_target`: search granularity (fraction of the position).
    pub const TARGET_STEP: f64 = 0.05;
    /// `chunked`: Hyperliquid closes 20% per chunk.
    pub const CHUNK_FRACTION: f64 = 0.2;
    /// `chunked`: dYdX closes at least $1,000.
    pub const CHUNK_MIN_USD: f64 = 1_000.0;
    /// `chunked`: Hyperliquid closes positions under $100k whole.
    pub const CHUNK_FULL_BELOW_USD: f64 = 100_000.0;
    /// `chunked`: steps between chunks (Hyperliquid waits 30 s).
    pub const COOLDOWN_STEPS: u32 = 1;
    /// Insurance fund at the start, USD.
    pub const INSURANCE_FUND_INITIAL: f64 = 1_000_000.0;
    /// Level below which the fund does not pay, USD.
    pub const INSURANCE_FUND_FLOOR: f64 = 0.0;
    /// Generated population: share of longs.
    pub const LONG_FRACTION: f64 = 0.5;
    /// Generated population: dispersion of entry prices (log sd) around the start.
    pub const ENTRY_DISPERSION: f64 = 0.02;
    /// Generated population: share of isolated accounts.
    pub const ISOLATED_FRACTION: f64 = 0.0;
    /// Generated population: share of cross accounts holding every market.
    pub const MULTI_MARKET_FRACTION: f64 = 0.0;
    /// Circuit breaker: a move of more than 10% trips it.
    pub const BREAKER_THRESHOLD: f64 = 0.1;
    /// Circuit breaker: the move is measured over the last 5 steps.
    pub const BREAKER_WINDOW_STEPS: u32 = 5;
    /// Circuit breaker: liquidations pause for 5 steps.
    pub const BREAKER_PAUSE_STEPS: u32 = 5;
    /// Volatility margin: reference σ per step (0.1%: about 38% a year at 1-minute
    /// steps), at which the multiplier is 1.
    pub const VOL_MARGIN_SIGMA_REF: f64 = 0.001;
    /// Volatility margin: EWMA half-life, steps.
    pub const VOL_MARGIN_HALF_LIFE_STEPS: f64 = 30.0;
    /// Volatility margin: steps between updates of the multiplier.
    pub const VOL_MARGIN_UPDATE_INTERVAL_STEPS: u32 = 15;
    /// Volatility margin: largest multiplier.
    pub const VOL_MARGIN_CAP: f64 = 3.0;
    /// Oracle: price sources per market.
    pub const ORACLE_SOURCES: u32 = 3;
    /// Oracle: log-noise of each reading (1 basis point).
    pub const ORACLE_NOISE: f64 = 0.0001;
    /// Oracle: largest lag of a source, steps.
    pub const ORACLE_LAG_STEPS: u32 = 0;
    /// Oracle: probability that a source misses an update in a step.
    pub const ORACLE_OUTAGE_PROBABILITY: f64 = 0.0;
    /// Oracle: `trimmed_mean` drops this share of sources at each end.
    pub const ORACLE_TRIM_FRACTION: f64 = 0.2;
    /// Oracle: a source older than this many steps is ignored.
    pub const ORACLE_STALENESS_LIMIT_STEPS: u32 = 3;
    /// Oracle: a source more than 5% from the median is dropped (Binance).
    pub const ORACLE_DEVIATION_GUARD: f64 = 0.05;
}

fn d_seed() -> u64 {
    defaults::SEED
}
fn d_paths() -> u32 {
    defaults::PATHS
}
fn d_step_seconds() -> u32 {
    defaults::STEP_SECONDS
}
fn d_start() -> String {
    defaults::START.to_string()
}

/// A scenario: venue, path, population and rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name; the output folder is `notebooks-out/<name>/`.
    pub name: String,
    /// Free text for the report.
    #[serde(default)]
    pub description: String,
    /// Master seed: population, ADL walk and (later) paths derive from it.
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// Number of price paths (Monte Carlo); path `i` draws from its own stream of
    /// `seed`.
    #[serde(default = "d_paths")]
    pub paths: u32,
    /// Length of a step, seconds.
    #[serde(default = "d_step_seconds")]
    pub step_seconds: u32,
    /// UTC time of step 0 (RFC 3339, `Z`).
    #[serde(default = "d_start")]
    pub start: String,
    /// Markets by key (sorted: a market's index is its rank in this table).
    pub market: BTreeMap<String, MarketConfig>,
    /// The price path.
    pub path: PathConfig,
    /// The accounts.
    pub population: PopulationConfig,
    /// Liquidation rules.
    #[serde(default)]
    pub liquidation: LiquidationConfig,
    /// Insurance fund.
    #[serde(default)]
    pub insurance_fund: InsuranceFundConfig,
    /// What takes the loss the fund cannot pay.
    #[serde(default)]
    pub last_line: LastLineConfig,
    /// Optional venue controls (circuit breaker, volatility margin), all off by
    /// default.
    #[serde(default)]
    pub controls: crate::venue::controls::ControlsConfig,
    /// A parameter sweep (`backstop sweep`); `backstop run` runs the base values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::sweep::SweepConfig>,
}

/// One perpetual market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Mark price at step 0, USD: required, except for a replay (which starts at the
    /// history's price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Price increment, USD.
    pub tick_size: f64,
    /// Size increment, base units; `tick_size × lot_size` must be a whole number of
    /// micro-USD.
    pub lot_size: f64,
    /// Margin brackets, lowest notional first.
    pub tiers: Vec<TierConfig>,
    /// Funding.
    #[serde(default)]
    pub funding: FundingConfig,
    /// Price impact of liquidations.
    #[serde(default)]
    pub impact: ImpactConfig,
}

/// One margin bracket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// Lowest notional of the bracket, USD (the first is 0).
    pub notional_floor: f64,
    /// Initial margin rate (max leverage = 1 / imr).
    pub imr: f64,
    /// Maintenance margin rate.
    pub mmr: f64,
}

/// Funding settlement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingConfig {
    /// Rate per interval (longs pay shorts when positive).
    #[serde(default = "FundingConfig::d_rate")]
    pub rate: f64,
    /// Steps between settlements (0 = no funding).
    #[serde(default = "FundingConfig::d_interval")]
    pub interval_steps: u32,
}

impl FundingConfig {
    fn d_rate() -> f64 {
        defaults::FUNDING_RATE
    }
    fn d_interval() -> u32 {
        defaults::FUNDING_INTERVAL_STEPS
    }
}

impl Default for FundingConfig {
    fn default() -> Self {
        FundingConfig {
            rate: defaults::FUNDING_RATE,
            interval_steps: defaults::FUNDING_INTERVAL_STEPS,
        }
    }
}

/// Which impact model prices liquidation orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImpactModelKind {
    /// `Y σ sqrt(Q / V)`.
    SquareRoot,
    /// Execution at the mark.
    None,
    /// The order walks the recorded order book: impact = the distance from mid at
    /// which the cumulative depth of the side hit reaches the order's notional, from
    /// the `depth/v1` snapshot at or before the step (`file`).
    BookDepth,
}

/// Price impact of liquidation orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpactConfig {
    /// Model.
    pub model: ImpactModelKind,
    /// Prefactor `Y`.
    pub coefficient: f64,
    /// Volatility `σ` over the impact horizon.
    pub volatility: f64,
    /// Volume `V` over the impact horizon, USD.
    pub volume_usd: f64,
    /// Share of impact that moves the mark for good (cascades).
    pub permanent_fraction: f64,
    /// Half-life of the temporary share, steps.
    pub half_life_steps: f64,
    /// `book_depth`: a `depth/v1` file, relative to the scenario file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            model: ImpactModelKind::SquareRoot,
            coefficient: defaults::IMPACT_COEFFICIENT,
            volatility: defaults::IMPACT_VOLATILITY,
            volume_usd: defaults::IMPACT_VOLUME_USD,
            permanent_fraction: defaults::PERMANENT_IMPACT_FRACTION,
            half_life_steps: defaults::IMPACT_HALF_LIFE_STEPS,
            file: None,
        }
    }
}

/// The price path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    Gbm(pathgen::GbmConfig),
    /// GBM with Student-t innovations scaled to the target volatility.
    StudentT(pathgen::StudentTConfig),
    /// GARCH(1,1) with standardized t innovations.
    Garch(pathgen::GarchConfig),
    /// Merton jump-diffusion.
    Jump(pathgen::JumpConfig),
    /// Brownian bridge pinned to a crash level at a chosen step, then free.
    Bridge(pathgen::BridgeConfig),
    /// Stationary block bootstrap of historical returns.
    Bootstrap(pathgen::BootstrapConfig),
    /// A historical window's returns from today's prices, optionally scaled.
    Overlay(pathgen::OverlayConfig),
}

/// How a replay turns events into engine steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStepping {
    /// One step per `step_seconds`, at the last price at or before each boundary.
    Resample,
    /// One step per distinct event time (every trade or mark update).
    Tick,
}

/// A historical replay: a UTC window and the files of each market.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    fn d_stepping() -> ReplayStepping {
        ReplayStepping::Resample
    }
}

/// The history of one market: one price source, optionally funding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// A distribution of a positive quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Log-normal with this median and log standard deviation.
    Lognormal {
        /// Median.
        median: f64,
        /// Standard deviation of the log.
        sigma: f64,
    },
    /// Pareto (heavy tail) with this minimum and tail index.
    Pareto {
        /// Minimum value.
        scale: f64,
        /// Tail index (smaller = heavier).
        shape: f64,
    },
    /// Uniform on `[min, max]`.
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Always this value.
    Constant {
        /// The value.
        value: f64,
    },
}

/// Where the accounts come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PopulationConfig {
    /// Drawn from distributions with the scenario's seed.
    Generated {
        /// Number of accounts.
        accounts: u32,
        /// Position notional at entry, USD (heavy-tailed by default).
        notional: Distribution,
        /// Leverage at entry (capped by the bracket's max leverage).
        leverage: Distribution,
        /// Largest notional drawn, USD (draws above are capped).
        max_notional: f64,
        /// Share of long positions.
        #[serde(default = "d_long_fraction")]
        long_fraction: f64,
        /// Log standard deviation of entry prices around the start price.
        #[serde(default = "d_entry_dispersion")]
        entry_dispersion: f64,
        /// Share of isolated-margin accounts.
        #[serde(default = "d_isolated_fraction")]
        isolated_fraction: f64,
        /// Share of cross accounts holding a position in every market.
        #[serde(default = "d_multi_market_fraction")]
        multi_market_fraction: f64,
    },
    /// A positions snapshot (the schema of `population.parquet`).
    Parquet {
        /// Path, relative to the scenario file.
        file: PathBuf,
    },
}

fn d_long_fraction() -> f64 {
    defaults::LONG_FRACTION
}
fn d_entry_dispersion() -> f64 {
    defaults::ENTRY_DISPERSION
}
fn d_isolated_fraction() -> f64 {
    defaults::ISOLATED_FRACTION
}
fn d_multi_market_fraction() -> f64 {
    defaults::MULTI_MARKET_FRACTION
}

/// Liquidation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidationModeKind {
    /// Close whole positions.
    Full,
    /// Close just enough to restore the target (Binance, Drift).
    ToTarget,
    /// Fixed chunks with a cooldown (Hyperliquid, dYdX).
    Chunked,
}

/// Liquidation rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiquidationConfig {
    /// Mode.
    pub mode: LiquidationModeKind,
    /// Fee on liquidated notional.
    pub fee: f64,
    /// Share of the fee paid to the insurance fund.
    pub insurance_fund_share: f64,
    /// Steps between a breach and its execution.
    pub latency_steps: u32,
    /// `to_target`: buffer over maintenance.
    pub target_buffer: f64,
    /// `to_target`: search granularity.
    pub target_step: f64,
    /// `chunked`: max fraction per chunk.
    pub chunk_fraction: f64,
    /// `chunked`: minimum chunk, USD.
    pub chunk_min_usd: f64,
    /// `chunked`: close whole at or below this notional, USD.
    pub chunk_full_below_usd: f64,
    /// `chunked`: steps between chunks.
    pub cooldown_steps: u32,
}

impl Default for LiquidationConfig {
    fn default() -> Self {
        LiquidationConfig {
            mode: LiquidationModeKind::ToTarget,
            fee: defaults::LIQUIDATION_FEE,
            insurance_fund_share: defaults::INSURANCE_FUND_SHARE,
            latency_steps: defaults::LATENCY_STEPS,
            target_buffer: defaults::TARGET_BUFFER,
            target_step: defaults::TARGET_STEP,
            chunk_fraction: defaults::CHUNK_FRACTION,
            chunk_min_usd: defaults::CHUNK_MIN_USD,
            chunk_full_below_usd: defaults::CHUNK_FULL_BELOW_USD,
            cooldown_steps: defaults::COOLDOWN_STEPS,
        }
    }
}

/// Insurance fund.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsuranceFundConfig {
    /// Balance at step 0, USD.
    pub initial: f64,
    /// The fund does not pay below this, USD.
    pub floor: f64,
}

impl Default for InsuranceFundConfig {
    fn default() -> Self {
        InsuranceFundConfig {
            initial: defaults::INSURANCE_FUND_INITIAL,
            floor: defaults::INSURANCE_FUND_FLOOR,
        }
    }
}

/// The waterfall's last line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastLineKind {
    /// Auto-deleveraging.
    Adl,
    /// Haircut of winners' positive PnL.
    Socialize,
    /// Recorded insolvency.
    None,
}

/// ADL allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdlAllocation {
    /// Ranked queue (see `ranking`).
    Queue,
    /// Same fraction from every candidate.
    ProRata,
    /// Water-filling on leverage.
    MinMaxLeverage,
}

/// Queue ranking rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdlRankingKind {
    /// BitMEX.
    Bitmex,
    /// Binance.
    Binance,
    /// Hyperliquid.
    Hyperliquid,
    /// dYdX v4 (seeded walk, no ranking).
    Dydx,
}

/// ADL scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdlScopeKind {
    /// The whole bankrupt position (venue practice).
    Position,
    /// Only what the fund cannot pay.
    Shortfall,
}

/// The waterfall's last line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LastLineConfig {
    /// Kind.
    pub kind: LastLineKind,
    /// ADL allocation (kind = "adl").
    pub adl: AdlAllocation,
    /// Queue ranking (adl = "queue").
    pub ranking: AdlRankingKind,
    /// ADL scope.
    pub scope: AdlScopeKind,
}

impl Default for LastLineConfig {
    fn default() -> Self {
        LastLineConfig {
            kind: LastLineKind::Adl,
            adl: AdlAllocation::Queue,
            ranking: AdlRankingKind::Binance,
            scope: AdlScopeKind::Position,
        }
    }
}

// --------------------------------------------------------------------- errors

/// A scenario that cannot be used, located in its file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read scenario: {source}")]
    Io {
        /// File.
        file: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, a wrong type, an unknown or missing key, or a value out of
    /// range.
    #[error("{}", Located { file, line: *line, key, message })]
    Invalid {
        /// File.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Dotted key path (`market.btc.tiers[1].mmr`), empty for syntax errors.
        key: String,
        /// What is wrong.
        message: String,
    },
}

struct Located<'a> {
    file: &'a Path,
    line: Option<usize>,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ScenarioError {
    /// The key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { key, .. } if !key.is_empty() => Some(key),
            _ => None,
        }
    }
    /// The 1-based line, if known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ScenarioError::Invalid { line, .. } => *line,
            ScenarioError::Io { .. } => None,
        }
    }
}

/// A validation failure: the key path and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted key path.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    ///
    /// # Errors
    /// [`ScenarioError`] naming the file, line and key.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let src = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml_str(&src, path)
    }

    /// Parses and validates scenario text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] naming `origin`, the line and the key.
    pub fn from_toml_str(src: &str, origin: &Path) -> Result<Scenario, ScenarioError> {
        let invalid = |line, key: String, message: String| ScenarioError::Invalid {
            file: origin.to_path_buf(),
            line,
            key,
            message,
        };
        let table = toml::de::DeTable::parse(src).map_err(|e| {
            let mut message = e.message().to_string();
            // "duplicate key" alone does not say which: the span is the key.
            if let Some(k) = e.span().and_then(|s| src.get(s)).map(str::trim)
                && message == "duplicate key"
                && !k.is_empty()
            {
                message = format!("duplicate key `{k}`");
            }
            invalid(
                e.span().map(|s| line_of(src, s.start)),
                String::new(),
                message,
            )
        })?;
        let doc = table.clone();
        let de = toml::de::Deserializer::from(table);
        let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            let inner = e.inner();
            let message = inner.message().to_string();
            // Inside the internally tagged tables (`path`, `population`, the
            // distributions) serde loses the path and the span at the table: find
            // the key the message is about.
            if let Some((key, at)) = refine(doc.get_ref(), &key, &message) {
                return invalid(Some(line_of(src, at)), key, message);
            }
            let line = inner
                .span()
                .filter(|s| s.start > 0 || s.end > 0)
                .map(|s| line_of(src, s.start))
                .or_else(|| locate(doc.get_ref(), &key).map(|at| line_of(src, at)));
            invalid(line, key, message)
        })?;
        scenario.validate().map_err(|e| {
            let line = locate(doc.get_ref(), &e.key).map(|at| line_of(src, at));
            invalid(line, e.key, e.message)
        })?;
        Ok(scenario)
    }

    /// Markets in index order (the table is sorted by key).
    pub fn market_names(&self) -> Vec<&str> {
        self.market.keys().map(String::as_str).collect()
    }

    /// Number of steps of the path.
    pub fn steps(&self) -> usize {
        match &self.path {
            PathConfig::Linear { steps, .. } => *steps as usize,
            PathConfig::Series { prices } => prices.values().next().map_or(0, Vec::len),
            PathConfig::Replay(r) => {
                let (Some(a), Some(b)) = (
                    crate::validate::parse_utc(&self.start),
                    crate::validate::parse_utc(&r.end),
                ) else {
                    return 0;
                };
                let step_ns = i64::from(self.step_seconds.max(1)) * 1_000_000_000;
                usize::try_from((b - a).max(0) / step_ns).unwrap_or(0)
            }
            PathConfig::Gbm(c) => c.steps as usize,
            PathConfig::StudentT(c) => c.steps as usize,
            PathConfig::Garch(c) => c.steps as usize,
            PathConfig::Jump(c) => c.steps as usize,
            PathConfig::Bridge(c) => c.steps as usize,
            PathConfig::Bootstrap(c) => c.steps as usize,
            PathConfig::Overlay(c) => {
                let (Some(a), Some(b)) = (
                    crate::validate::parse_utc(&c.start),
                    crate::validate::parse_utc(&c.end),
                ) else {
                    return 0;
                };
                let step_ns = i64::from(self.step_seconds.max(1)) * 1_000_000_000;
                usize::try_from((b - a).max(0) / step_ns).unwrap_or(0)
            }
        }
    }

    /// Checks every value for range and consistency.
    ///
    /// # Errors
    /// The first [`FieldError`] found, in file order.
    pub fn validate(&self) -> Result<(), FieldError> {
        crate::validate::scenario(self)?;
        crate::sweep::validate(self)
    }
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
    pub fn model(&self) -> Option<pathgen::ModelConfig> {
        use pathgen::ModelConfig as M;
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

/// 1-based line of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Byte offset of the deepest part of `key` (`a.b[2].c`) found in the document.
fn locate(root: &toml::de::DeTable<'_>, key: &str) -> Option<usize> {
    use toml::de::DeValue;
    let mut table = root;
    let mut found: Option<usize> = None;
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    for segment in key_segments(key) {
        match segment {
            Segment::Key(k) => {
                let t = match value.map(|v| v.get_ref()) {
                    None => table,
                    Some(DeValue::Table(t)) => t,
                    _ => break,
                };
                let Some((k, v)) = t.get_key_value(k) else {
                    break;
                };
                found = Some(k.span().start);
                value = Some(v);
                table = t;
            }
            Segment::Index(i) => match value.map(|v| v.get_ref()) {
                Some(DeValue::Array(a)) => {
                    let Some(v) = a.get(i) else { break };
                    found = Some(v.span().start);
                    value = Some(v);
                }
                _ => break,
            },
        }
    }
    found
}

/// The value at `key` (`a.b[2].c`), if every part of it is in the document.
fn value_at<'d, 'i>(
    root: &'d toml::de::DeTable<'i>,
    key: &str,
) -> Option<&'d toml::Spanned<toml::de::DeValue<'i>>> {
    use toml::de::DeValue;
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    for segment in key_segments(key) {
        value = Some(match (segment, value.map(|v| v.get_ref())) {
            (Segment::Key(k), None) => root.get(k)?,
            (Segment::Key(k), Some(DeValue::Table(t))) => t.get(k)?,
            (Segment::Index(i), Some(DeValue::Array(a))) => a.get(i)?,
            _ => return None,
        });
    }
    value
}

/// For an error serde reported at a table (`key`), the one key below it that the
/// message is about: the unknown field it names, or the only value equal to the
/// one it rejects. Returns the full key and the byte offset to report.
fn refine(root: &toml::de::DeTable<'_>, key: &str, message: &str) -> Option<(String, usize)> {
    use toml::de::DeValue;
    let table = match value_at(root, key)?.get_ref() {
        DeValue::Table(t) => t,
        _ => return None,
    };
    let mut found = Vec::new();
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        walk_table(table, key, &mut |k, key_at, _| {
            if k.rsplit('.').next() == Some(field) {
                found.push((k.to_string(), key_at));
            }
        });
    } else if let Some(unexpected) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|rest| rest.split(", expected").next())
    {
        walk_table(table, key, &mut |k, _, v| {
            if describes(unexpected, v.get_ref()) {
                found.push((k.to_string(), v.span().start));
            }
        });
    }
    match found.as_slice() {
        [(k, at)] => Some((k.clone(), *at)),
        _ => None,
    }
}

/// A value in the parsed document.
type Node<'d, 'i> = &'d toml::Spanned<toml::de::DeValue<'i>>;

/// Calls `f(key, key offset, value)` for every entry below `table`, depth first;
/// array elements get the array key's offset and their own value.
fn walk_table<'d, 'i>(
    table: &'d toml::de::DeTable<'i>,
    prefix: &str,
    f: &mut dyn FnMut(&str, usize, Node<'d, 'i>),
) {
    for (k, v) in table {
        let key = format!("{prefix}.{}", k.get_ref());
        f(&key, k.span().start, v);
        walk_value(v, &key, k.span().start, f);
    }
}

fn walk_value<'d, 'i>(
    value: Node<'d, 'i>,
    key: &str,
    key_at: usize,
    f: &mut dyn FnMut(&str, usize, Node<'d, 'i>),
) {
    use toml::de::DeValue;
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, key, f),
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let k = format!("{key}[{i}]");
                f(&k, key_at, v);
                walk_value(v, &k, key_at, f);
            }
        }
        _ => {}
    }
}

/// Whether serde's description of an unexpected value (`integer `-5``,
/// `string "x"`, `floating point `1.5``, `boolean `true``) is this TOML value.
fn describes(unexpected: &str, value: &toml::de::DeValue<'_>) -> bool {
    use toml::de::DeValue;
    let quoted = |prefix: &str| {
        unexpected
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('`'))
            .and_then(|r| r.strip_suffix('`'))
            .map(str::to_string)
    };
    match value {
        DeValue::String(s) => unexpected.strip_prefix("string ") == Some(&format!("{s:?}")),
        DeValue::Integer(i) => {
            let v = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix());
            quoted("integer ").is_some_and(|q| v.is_ok_and(|v| q == v.to_string()))
        }
        DeValue::Float(x) => {
            let v = x.as_str().replace('_', "").parse::<f64>();
            quoted("floating point ").is_some_and(|q| {
                v.is_ok_and(|v| {
                    q.parse::<f64>()
                        .is_ok_and(|q| q == v || (q.is_nan() && v.is_nan()))
                })
            })
        }
        DeValue::Boolean(b) => quoted("boolean ") == Some(b.to_string()),
        _ => false,
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn key_segments(key: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}
