//! Multi-asset collateral: accounts hold part of their margin in assets other than
//! USD (BTC, ETH, a liquid-staking token, a synthetic dollar), each valued at its
//! price times its **asset weight** `1 − haircut` (Binance's "collateral ratio",
//! Hyperliquid's and dYdX's asset weights).
//!
//! ```toml
//! [controls.collateral]
//! enabled = true
//!
//! [controls.collateral.asset.usde]
//! haircut = 0.05        # counts 95% of its value
//! holders = 0.3         # 30% of the cross-margin accounts hold it...
//! share = 0.6           # ...as 60% of their margin
//! schedule = [          # its price in USD (no `market`): a depeg
//!   { at = "2025-10-10T21:35:00Z", price = 1.0 },
//!   { at = "2025-10-10T21:42:00Z", price = 0.66 },
//!   { at = "2025-10-10T22:10:00Z", price = 0.99 },
//! ]
//!
//! [controls.collateral.asset.btc]
//! haircut = 0.05
//! share = 0.2
//! market = "btc"        # its price is the btc market's mark: same path
//! ```
//!
//! **Price.** An asset's price at a step is the mark of `market` (USD) when given,
//! else 1 USD, times its `schedule` at the step (linear between points, flat before
//! the first and after the last; points keyed by `step` or by UTC time `at`, one
//! kind per schedule). Without `market` the schedule *is* the price; with it the
//! schedule is a multiplier (a liquid-staking token at a discount to its market).
//! Taking the price from a market's mark puts collateral on the same (correlated)
//! paths as positions, so a collateral crash and a position crash coincide. An
//! asset with neither has no price path and is refused.
//!
//! **Holdings.** Each cross-margin account (isolated margin holds USD only, as on
//! Binance) holds an asset with probability `holders`, drawn from the stream
//! `(seed, Purpose::Collateral, 0)` (the same holdings on every path, like the
//! population), and then keeps `share` of its margin in it: it posts `share ×
//! margin / weighted price` units (more market value than the margin they count
//! for: the haircut is over-collateralisation) and keeps the rest in USD. Every
//! account's margin at step 0 is therefore the USD-only venue's; what differs is
//! how it moves with the asset's price and what the collateral fetches when sold.
//! Shares of all assets sum to at most 1.
//!
//! **Conversion.** When a liquidation of the account starts, the engine first sells
//! all its non-USD collateral to the external counterparty at its market price
//! (the depegged price, if it depegged): the haircut's buffer turns into USD, the
//! account is evaluated again and only then are positions closed, if it is still
//! below maintenance. The rest of the waterfall is all in USD. Units are conserved
//! (account plus external counterparty), like USD.

use std::collections::BTreeMap;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Prices the collateral assets, step by step.
pub trait CollateralPricing: Send + Sync {
    /// Number of assets.
    fn assets(&self) -> usize;
    /// Asset names, in asset-index order.
    fn names(&self) -> &[String];
    /// Writes every asset's market price (USD per unit) at step `step` (UTC time
    /// `ts_ns`) into `market`, and the price margin counts, `market × (1 −
    /// haircut)`, into `weighted`, given the marks in USD (one per market).
    fn prices(
        &mut self,
        step: u32,
        ts_ns: i64,
        marks_usd: &[f64],
        market: &mut [f64],
        weighted: &mut [f64],
    );
}

/// `[controls.collateral]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CollateralConfig {
    /// Whether accounts hold non-USD collateral.
    pub enabled: bool,
    /// The assets by name (`[controls.collateral.asset.<name>]`), in name order.
    pub asset: BTreeMap<String, CollateralAssetConfig>,
}

/// `[controls.collateral.asset.<name>]`: one collateral asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollateralAssetConfig {
    /// Fraction of the value margin does not count, in `[0, 1)`.
    pub haircut: f64,
    /// Fraction of cross-margin accounts holding the asset (default all).
    #[serde(default = "all_accounts")]
    pub holders: f64,
    /// Fraction of a holder's margin held in the asset.
    pub share: f64,
    /// The market whose mark is the asset's price (else 1 USD times the schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
    /// The price (no `market`) or a multiplier of the market's mark, over time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Vec<SchedulePoint>>,
}

fn all_accounts() -> f64 {
    1.0
}

/// One point of a price schedule: at `step` or at UTC time `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePoint {
    /// Step index of the point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// UTC time of the point, `YYYY-MM-DDTHH:MM:SSZ`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Price (or multiplier) at the point.
    pub price: f64,
}

/// An asset the engine values: a validated [`CollateralAssetConfig`].
#[derive(Clone, Debug, PartialEq)]
pub struct CollateralAsset {
    /// Name, from the scenario.
    pub name: String,
    /// `1 − haircut`.
    pub weight: f64,
    /// Market index of the price, if any.
    pub market: Option<usize>,
    /// `(x, value)`, x in steps or UTC nanoseconds, strictly increasing.
    pub schedule: Vec<(f64, f64)>,
    /// Whether `x` is a UTC time (else a step).
    pub by_time: bool,
}

impl CollateralAsset {
    /// The schedule's value at `x` (1 without a schedule).
    fn schedule_at(&self, x: f64) -> f64 {
        let s = &self.schedule;
        match s.iter().position(|&(px, _)| px > x) {
            None => s.last().map_or(1.0, |&(_, v)| v),
            Some(0) => s[0].1,
            Some(i) => {
                let (x0, v0) = s[i - 1];
                let (x1, v1) = s[i];
                v0 + (v1 - v0) * (x - x0) / (x1 - x0)
            }
        }
    }

    /// Market price (USD per unit) at step `step`, time `ts_ns`.
    pub fn market_price(&self, step: u32, ts_ns: i64, marks_usd: &[f64]) -> f64 {
        let base = self.market.map_or(1.0, |m| marks_usd[m]);
        let x = if self.by_time {
            ts_ns as f64
        } else {
            f64::from(step)
        };
        base * self.schedule_at(x)
    }

    /// Weighted price (market price × weight) at step `step`, time `ts_ns`.
    pub fn weighted_price(&self, step: u32, ts_ns: i64, marks_usd: &[f64]) -> f64 {
        self.market_price(step, ts_ns, marks_usd) * self.weight
    }
}

/// Collateral priced from the paths' marks and the scenario's schedules.
///
/// O(assets × schedule points) per step, no allocation.
#[derive(Clone, Debug)]
pub struct ScheduledCollateral {
    assets: Vec<CollateralAsset>,
    names: Vec<String>,
}

impl ScheduledCollateral {
    /// Collateral pricing for `assets`.
    pub fn new(assets: Vec<CollateralAsset>) -> ScheduledCollateral {
        let names = assets.iter().map(|a| a.name.clone()).collect();
        ScheduledCollateral { assets, names }
    }
}

impl CollateralPricing for ScheduledCollateral {
    fn assets(&self) -> usize {
        self.assets.len()
    }
    fn names(&self) -> &[String] {
        &self.names
    }
    fn prices(
        &mut self,
        step: u32,
        ts_ns: i64,
        marks_usd: &[f64],
        market: &mut [f64],
        weighted: &mut [f64],
    ) {
        for ((m, w), a) in market.iter_mut().zip(weighted.iter_mut()).zip(&self.assets) {
            *m = a.market_price(step, ts_ns, marks_usd);
            *w = *m * a.weight;
        }
    }
}

/// Units (millionths of an asset) an account holds in one asset, and the USD
/// it paid for them out of its deposit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollateralHolding {
    /// Account index in the engine (population order).
    pub account: u32,
    /// Asset index.
    pub asset: u16,
    /// Millionths of one unit of the asset; value in micro-USD is `units × USD price`.
    pub units: i64,
    /// Micro-USD taken from the account's USD balance for the units (the margin
    /// they replace, when drawn by [`allocate`]).
    pub cost: i64,
}

/// Draws which accounts hold which asset, and how much, at the step-0 weighted
/// prices `prices` (one per asset). `deposits[i]` is account `i`'s starting margin
/// in micro-USD, `isolated[i]` whether it is isolated (isolated accounts hold USD
/// only). A holding's `cost` is the weighted value of its units: the USD margin it
/// replaces. One uniform draw per (account, asset), used or not.
pub fn allocate(
    cfg: &CollateralConfig,
    prices: &[f64],
    deposits: &[i64],
    isolated: &[bool],
    rng: &mut ChaCha8Rng,
) -> Vec<CollateralHolding> {
    let mut out = Vec::new();
    for (i, (&deposit, &iso)) in deposits.iter().zip(isolated).enumerate() {
        for (k, (a, &price)) in cfg.asset.values().zip(prices).enumerate() {
            let u: f64 = rng.random();
            if iso || u >= a.holders || a.share <= 0.0 || price <= 0.0 || deposit <= 0 {
                continue;
            }
            let units = (a.share * deposit as f64 / price).floor() as i64;
            if units > 0 {
                out.push(CollateralHolding {
                    account: i as u32,
                    asset: k as u16,
                    units,
                    cost: (units as f64 * price).floor() as i64,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(schedule: Vec<(f64, f64)>, market: Option<usize>) -> CollateralAsset {
        CollateralAsset {
            name: "x".into(),
            weight: 0.9,
            market,
            schedule,
            by_time: false,
        }
    }

    #[test]
    fn schedule_is_linear_between_points_and_flat_outside() {
        let a = asset(vec![(10.0, 1.0), (20.0, 0.5), (30.0, 1.0)], None);
        assert_eq!(a.weighted_price(0, 0, &[]), 0.9);
        assert_eq!(a.weighted_price(10, 0, &[]), 0.9);
        assert!((a.weighted_price(15, 0, &[]) - 0.9 * 0.75).abs() < 1e-15);
        assert!((a.weighted_price(20, 0, &[]) - 0.45).abs() < 1e-15);
        assert_eq!(a.weighted_price(99, 0, &[]), 0.9);
    }

    #[test]
    fn market_priced_asset_follows_the_mark_times_the_schedule() {
        let a = asset(vec![], Some(1));
        assert!((a.weighted_price(3, 0, &[5.0, 100.0]) - 90.0).abs() < 1e-12);
        let lst = asset(vec![(0.0, 0.95)], Some(0));
        assert!((lst.weighted_price(3, 0, &[2000.0]) - 2000.0 * 0.95 * 0.9).abs() < 1e-9);
    }

    fn cfg(toml_text: &str) -> CollateralConfig {
        toml::from_str(toml_text).expect("test config parses")
    }

    #[test]
    fn allocation_replaces_the_share_of_margin_and_skips_isolated_accounts() {
        let c = cfg(
            "[asset.usde]\nhaircut = 0.2\nshare = 0.5\nschedule = [{ step = 0, price = 1.0 }]\n",
        );
        let mut rng = crate::rng::stream(1, crate::rng::Purpose::Collateral, 0);
        let held = allocate(
            &c,
            &[0.8],
            &[1_000_000, 2_000_000, 3_000_000],
            &[false, true, false],
            &mut rng,
        );
        assert_eq!(held.len(), 2);
        assert_eq!(held[0].account, 0);
        // 0.5 × 1 USD / 0.8 USD per weighted unit = 0.625 units = 625,000
        // millionths, replacing 0.5 USD of margin (market value 0.625 USD).
        assert_eq!(held[0].units, 625_000);
        assert_eq!(held[0].cost, 500_000);
        assert_eq!(held[1].account, 2);
        assert_eq!(held[1].units, 1_875_000);
        assert_eq!(held[1].cost, 1_500_000);
    }
}
