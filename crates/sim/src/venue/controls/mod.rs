//! The levers protocol designers tune (issue 7): optional venue controls, each off
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
//! The scenario's `[controls]` table ([`ControlsConfig`]) turns them on; [`build`]
//! makes the engine's [`Controls`] for one path. Every numeric field is a plain
//! scenario number, so a sweep can vary it.

pub mod breaker;
pub mod collateral;
pub mod oracle;
pub mod vol_margin;

use serde::{Deserialize, Serialize};

pub use breaker::{BreakerConfig, CircuitBreaker, LiquidationPause};
pub use collateral::{
    CollateralAsset, CollateralAssetConfig, CollateralConfig, CollateralHolding, CollateralPricing,
    ScheduledCollateral,
};
pub use oracle::{AggregatedOracle, Aggregation, MarkOracle, OracleConfig};
pub use vol_margin::{MarginScaling, VolMarginConfig, VolatilityMargin};

/// The `[controls]` table of a scenario: every control, off unless `enabled`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlsConfig {
    /// `[controls.breaker]`: circuit breaker on liquidations.
    pub breaker: BreakerConfig,
    /// `[controls.vol_margin]`: volatility-responsive margin.
    pub vol_margin: VolMarginConfig,
    /// `[controls.oracle]`: oracle aggregation of the mark.
    pub oracle: OracleConfig,
    /// `[controls.collateral]`: non-USD collateral with haircuts.
    pub collateral: CollateralConfig,
}

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

/// The controls of path `path_index` of a scenario over `markets` markets; the
/// oracle draws from the path's own stream of `seed`.
///
/// The scenario is validated before this is called.
pub fn build(cfg: &ControlsConfig, markets: usize, seed: u64, path_index: u64) -> Controls {
    Controls {
        breaker: cfg.breaker.enabled.then(|| {
            Box::new(CircuitBreaker::new(&cfg.breaker, markets)) as Box<dyn LiquidationPause>
        }),
        margin: cfg.vol_margin.enabled.then(|| {
            Box::new(VolatilityMargin::new(&cfg.vol_margin, markets)) as Box<dyn MarginScaling>
        }),
        oracle: cfg.oracle.enabled.then(|| {
            let rng = crate::rng::stream(seed, crate::rng::Purpose::Oracle, path_index);
            Box::new(AggregatedOracle::new(&cfg.oracle, markets, rng)) as Box<dyn MarkOracle>
        }),
    }
}
