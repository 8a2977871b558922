//! The scenario: what a run simulates, as plain data read from TOML.
//!
//! Every table rejects unknown keys. Every default lives in
//! [`defaults`] and is written back into `summary.json`, so a
//! result always says exactly what ran. [`Scenario::load`](super::load) reads a
//! file; errors name the file, the line and the key (`market.btc.tiers[1].mmr`).
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

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;
use super::market::MarketConfig;
use super::path::PathConfig;
use super::population::PopulationConfig;
use super::sweep::SweepConfig;
use super::vault::VaultConfig;
use super::venue::{ControlsConfig, InsuranceFundConfig, LastLineConfig, LiquidationConfig};
use crate::time::{NS_PER_SECOND, parse_utc};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// A venue's rule book laid under this file's keys (`binance-usdm`,
    /// `hyperliquid`, `dydx-v4`, `bitmex`, `drift`; docs/venues.md): any key
    /// the file sets wins. After loading, the scenario holds the merged values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
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
    /// Optional venue controls (circuit breaker, volatility margin, oracle,
    /// collateral), all off by default.
    #[serde(default)]
    pub controls: ControlsConfig,
    /// A liquidity vault taking over accounts at backstop liquidation (none
    /// without the table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultConfig>,
    /// A parameter sweep (`backstop sweep`); `backstop run` runs the base values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepConfig>,
    /// A venue sweep's scenarios (`[sweep] venue = [...]`): the file read
    /// under each listed venue in turn, in the list's order, without its
    /// `[sweep]`. Filled when the file is read (`Scenario::from_toml_str`),
    /// where the file's own keys are still apart from the rule book's; not
    /// serialized (a scenario read back from JSON has none).
    #[serde(skip)]
    #[schemars(skip)]
    pub venue_scenarios: Vec<Scenario>,
}

impl Scenario {
    /// Markets in index order (the table is sorted by key).
    pub fn market_names(&self) -> Vec<&str> {
        self.market.keys().map(String::as_str).collect()
    }

    /// Number of steps of the path.
    pub fn steps(&self) -> usize {
        match &self.path {
            PathConfig::Linear { steps, .. } => *steps as usize,
            PathConfig::Series { prices } => prices.values().next().map_or(0, Vec::len),
            PathConfig::Replay(r) => self.window_steps(&self.start, &r.end),
            PathConfig::Gbm(c) => c.steps as usize,
            PathConfig::StudentT(c) => c.steps as usize,
            PathConfig::Garch(c) => c.steps as usize,
            PathConfig::Jump(c) => c.steps as usize,
            PathConfig::Bridge(c) => c.steps as usize,
            PathConfig::Bootstrap(c) => c.steps as usize,
            PathConfig::Overlay(c) => self.window_steps(&c.start, &c.end),
        }
    }

    /// Whole steps in the UTC window `[start, end)` (0 if either is not a time).
    fn window_steps(&self, start: &str, end: &str) -> usize {
        let (Some(a), Some(b)) = (parse_utc(start), parse_utc(end)) else {
            return 0;
        };
        let step_ns = i64::from(self.step_seconds.max(1)) * NS_PER_SECOND;
        usize::try_from((b - a).max(0) / step_ns).unwrap_or(0)
    }
}
