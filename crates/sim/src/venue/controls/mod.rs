//! The levers protocol designers tune (docs/model.md §10): optional venue controls, each off
//! by default, each a small trait the engine calls at a fixed point of its step.
//!
//! - [`breaker`]: a circuit breaker that pauses liquidations after a large move
//!   ([`LiquidationPause`]);
//! - [`vol_margin`]: margin rates scaled by realised volatility ([`MarginScaling`]);
//! - [`oracle`]: the mark aggregated from several noisy, lagged, fallible price
//!   sources with staleness and deviation guards ([`MarkOracle`]);
//! - [`collateral`]: margin held in several assets, valued with haircuts and
//!   priced from the paths ([`CollateralPricing`]).
//!
//! Each control's parameters (`BreakerConfig`, ...) are the scenario's
//! `[controls.*]` tables as plain data, with their defaults in [`defaults`]; the
//! scenario's `[controls]` table (`crate::config::ControlsConfig`) turns them on
//! and `crate::run` builds the engine's [`Controls`] for one path. Every numeric
//! field is a plain scenario number, so a sweep can vary it.

pub mod breaker;
pub mod collateral;
pub mod defaults;
pub mod oracle;
pub mod vol_margin;

pub use breaker::{BreakerConfig, CircuitBreaker, LiquidationPause};
pub use collateral::{
    CollateralAsset, CollateralAssetConfig, CollateralConfig, CollateralHolding, CollateralPricing,
    ScheduledCollateral,
};
pub use oracle::{AggregatedOracle, Aggregation, MarkOracle, OracleConfig};
pub use vol_margin::{MarginScaling, VolMarginConfig, VolatilityMargin};

/// The controls an engine runs with (all `None`: the plain venue).
#[derive(Default)]
pub struct Controls {
    /// Pauses liquidations after large moves.
    pub breaker: Option<Box<dyn LiquidationPause>>,
    /// Scales margin rates.
    pub margin: Option<Box<dyn MarginScaling>>,
    /// Builds the mark from several sources.
    pub oracle: Option<Box<dyn MarkOracle>>,
}
