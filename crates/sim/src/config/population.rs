//! Where the accounts come from: drawn from distributions, or a positions
//! snapshot (`[population]`).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults;

/// A distribution of a positive quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
        #[schemars(range(min = 0.0, max = 1.0))]
        long_fraction: f64,
        /// Log standard deviation of entry prices around the start price.
        #[serde(default = "d_entry_dispersion")]
        #[schemars(range(min = 0.0))]
        entry_dispersion: f64,
        /// Share of isolated-margin accounts.
        #[serde(default = "d_isolated_fraction")]
        #[schemars(range(min = 0.0, max = 1.0))]
        isolated_fraction: f64,
        /// Share of cross accounts holding a position in every market.
        #[serde(default = "d_multi_market_fraction")]
        #[schemars(range(min = 0.0, max = 1.0))]
        multi_market_fraction: f64,
        /// One book for every path (`fixed`) or a fresh draw per path (`per_path`).
        #[serde(default)]
        resample: Resample,
    },
    /// A positions snapshot (the schema of `population.parquet`).
    Parquet {
        /// The snapshot file, relative to the scenario file.
        file: PathBuf,
        /// What to do with accounts below maintenance at the start mark.
        #[serde(default)]
        below_maintenance: BelowMaintenance,
    },
}

/// Whether every path starts from the same generated book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resample {
    /// One population, drawn from `(seed, population, 0)`, for every path.
    #[default]
    Fixed,
    /// Path `i` draws its own population from `(seed, population, i)`: the
    /// uncertainty of the book, not only of the price (path 0 draws the fixed one).
    PerPath,
}

/// What a loaded population does with accounts already below maintenance at the
/// start mark (a live venue would have liquidated them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BelowMaintenance {
    /// Refuse the snapshot, naming how many accounts and the first few ids.
    #[default]
    Error,
    /// Keep them (they are liquidated at step 0); the results say how many.
    Keep,
    /// Remove them before the run; the results say how many.
    Drop,
}

impl PopulationConfig {
    /// Whether every path starts from the same population.
    pub fn is_fixed(&self) -> bool {
        !matches!(
            self,
            PopulationConfig::Generated {
                resample: Resample::PerPath,
                ..
            }
        )
    }
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
