//! `[vault]`: the liquidity vault as the scenario states it (docs/model.md §6b,
//! docs/venues.md "The liquidity vault").
//!
//! ```toml
//! [vault]
//! capital = 5000000.0        # USD of its own
//! floor = 1000000.0          # no takeover that would leave it below this, USD
//! unwind_fraction = 0.05     # share of its inventory sold each step
//! takeover_below = 0.6667    # takes over accounts below 2/3 of maintenance
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;

fn d_floor() -> f64 {
    defaults::VAULT_FLOOR
}
fn d_unwind_fraction() -> f64 {
    defaults::VAULT_UNWIND_FRACTION
}
fn d_takeover_below() -> f64 {
    defaults::VAULT_TAKEOVER_BELOW
}

/// A liquidity vault that takes over accounts at backstop liquidation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// Its own capital at step 0, USD.
    pub capital: f64,
    /// A takeover that would leave its equity below this is refused (the
    /// account is then liquidated as without a vault: fund, last line), USD.
    #[serde(default = "d_floor")]
    pub floor: f64,
    /// Share of each market's inventory sold to the market per step, 0 to 1
    /// (at least one lot while it holds any; 0 holds to the end).
    #[serde(default = "d_unwind_fraction")]
    pub unwind_fraction: f64,
    /// An account whose equity is below this fraction of its maintenance
    /// requirement when its liquidation executes is taken over whole, at its
    /// bankruptcy price (Hyperliquid: 2/3), 0 to 1; 0 takes over only accounts
    /// at or below zero equity.
    #[serde(default = "d_takeover_below")]
    pub takeover_below: f64,
}
