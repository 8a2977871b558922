//! Defaults of the controls' optional parameters (`[controls.*]`), written back
//! into `summary.json` with the scenario like every other default
//! (`crate::config::defaults` holds the rest).

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
