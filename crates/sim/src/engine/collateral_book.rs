//! The data of non-USD collateral: units per account and asset, the step's
//! prices, and what the index assumed of them. How the engine values, sells and
//! re-indexes them is [`super::collateral`].

use crate::venue::controls::CollateralPricing;

/// How far below its current weighted price a collateral asset's value is taken
/// when an account's triggers are computed: the triggers then stay valid until the
/// asset falls this much, so a collateral price that drifts down re-indexes its
/// holders once per 1% fall, not at every step.
pub(super) const COLLATERAL_INDEX_SLACK: f64 = 0.01;

/// Non-USD collateral held by accounts.
pub(super) struct CollateralBook {
    pub(super) pricing: Box<dyn CollateralPricing>,
    pub(super) assets: usize,
    /// `units[account × assets + asset]`, millionths of a unit.
    pub(super) units: Vec<i64>,
    /// Accounts holding each asset (fixed at the start).
    pub(super) holders: Vec<Vec<u32>>,
    /// Weighted prices (USD per unit × asset weight) of the current step.
    pub(super) prices: Vec<f64>,
    /// Market prices (USD per unit) of the current step: what a sale fetches.
    pub(super) market_prices: Vec<f64>,
    /// Per asset: the highest weighted price any live trigger assumed; the
    /// triggers of every holder stay valid while the price is at least this.
    pub(super) assumed: Vec<f64>,
    /// Units the external counterparty bought at conversions.
    pub(super) ext_units: Vec<i64>,
    /// Units held at the start (conservation check).
    pub(super) initial_units: Vec<i64>,
    /// Scratch: the marks in USD.
    pub(super) marks_usd: Vec<f64>,
}
