//! Defaults of every optional scenario field, in one place, written back into
//! `summary.json` with the scenario (a result always says exactly what ran).
//!
//! The defaults of the venue's controls (`[controls.*]`) live with each
//! control's parameters in `crate::venue::controls`, below this layer: a lower
//! layer cannot read them from here.

/// Master seed.
pub const SEED: u64 = 1;
/// Price paths per run.
pub const PATHS: u32 = 1;
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
/// `chunked`: every order after the first chunk is another chunk (Hyperliquid
/// sends the whole position; `chunk_then_whole = true`).
pub const CHUNK_THEN_WHOLE: bool = false;
/// `[liquidation.limit]`: SMMR, the largest liquidation spread as a multiple
/// of the maintenance fraction (dYdX mainnet genesis: 1,500,000 ppm).
pub const SPREAD_TO_MAINTENANCE: f64 = 1.5;
/// `[liquidation.limit]`: BA, the bankruptcy adjustment (dYdX mainnet
/// genesis: 1,000,000 ppm).
pub const BANKRUPTCY_ADJUSTMENT: f64 = 1.0;
/// `[liquidation.blocks]`: seconds per block (dYdX's docs: a block "every
/// ~1 second").
pub const BLOCK_SECONDS: f64 = 1.0;
/// `[liquidation.blocks]`: share of a position per block (dYdX mainnet
/// genesis `max_position_portion_liquidated_ppm` = 100,000).
pub const BLOCK_POSITION_PORTION: f64 = 0.1;
/// `[liquidation.blocks]`: smallest notional per block, USD (mainnet
/// `min_position_notional_liquidated` = 1,000,000,000 quantums).
pub const BLOCK_MIN_POSITION_USD: f64 = 1_000.0;
/// `[liquidation.blocks]`: largest notional per account per block, USD
/// (mainnet `max_notional_liquidated` = 100,000,000,000 quantums).
pub const BLOCK_MAX_ACCOUNT_USD: f64 = 100_000.0;
/// Insurance fund at the start, USD.
pub const INSURANCE_FUND_INITIAL: f64 = 1_000_000.0;
/// Level below which the fund does not pay, USD.
pub const INSURANCE_FUND_FLOOR: f64 = 0.0;
/// `[vault]`: the floor below which it takes nothing over, USD.
pub const VAULT_FLOOR: f64 = 0.0;
/// `[vault]`: share of its inventory sold each step.
pub const VAULT_UNWIND_FRACTION: f64 = 0.05;
/// `[vault]`: takeover below this fraction of maintenance (Hyperliquid's 2/3).
pub const VAULT_TAKEOVER_BELOW: f64 = 2.0 / 3.0;
/// Generated population: share of longs.
pub const LONG_FRACTION: f64 = 0.5;
/// Generated population: dispersion of entry prices (log sd) around the start.
pub const ENTRY_DISPERSION: f64 = 0.02;
/// Generated population: share of isolated accounts.
pub const ISOLATED_FRACTION: f64 = 0.0;
/// Generated population: share of cross accounts holding every market.
pub const MULTI_MARKET_FRACTION: f64 = 0.0;
/// Bootstrap: mean block length, steps.
pub const MEAN_BLOCK_STEPS: f64 = 60.0;
/// Overlay: multiplier of the window's log-returns.
pub const OVERLAY_SCALE: f64 = 1.0;
