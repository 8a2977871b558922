//! Parameter sweeps as the scenario states them: a `[sweep]` table names numeric
//! scenario fields by their key path and lists the values each takes; the run is
//! the Cartesian product of them ([`SweepGrid`](super::grid::SweepGrid)).
//!
//! ```toml
//! [sweep]
//! venue = ["binance-usdm", "dydx-v4"]   # optional: rule books, the slowest axis
//!
//! [[sweep.parameter]]
//! path = "market.btc.tiers[0].mmr"
//! values = [0.004, 0.005, 0.006]
//!
//! [[sweep.parameter]]
//! path = "insurance_fund.initial"
//! range = { from = 1000000, to = 3000000, steps = 3 }
//!
//! [sweep.target]
//! max_depletion_probability = 0.01
//! capital_efficiency = "insurance_fund.initial"   # default: the first parameter
//! prefer = "lower"                                # default
//! ```
//!
//! **Venues.** `venue = [...]` runs the scenario under each rule book: set
//! `v` of that axis is the scenario file read with `venue = "<name>"` (the
//! file's own keys overriding the rule book, as in a scenario that names it),
//! then the numeric parameters applied. The axis is the grid's first
//! parameter, key `venue`, valued by [`venue_code`].
//!
//! **Order.** Parameter sets are numbered in row-major order over the parameters
//! as listed, the first parameter slowest: with parameters `a` (values `a0, a1`)
//! and `b` (`b0, b1, b2`), set 0 is `(a0, b0)`, set 1 `(a0, b1)`, set 3 `(a1, b0)`.
//!
//! **The current values.** When the scenario's own values of the swept keys
//! are not a combination of the listed values, they are run as one more set,
//! numbered after the product (`SweepGrid::current`), so a sweep always
//! measures the current parameters next to the ones it recommends.
//!
//! **Applying a set.** The base scenario (every default filled in) is turned into
//! a serde value, the value at each swept key is replaced, and the result is
//! deserialized and validated again, so a swept value out of range gets the same
//! message as in a scenario file, naming the key and the set. Integer fields
//! (`liquidation.latency_steps`) take whole values only.
//!
//! **Common random numbers.** Path `i` of every set draws from the streams keyed
//! by (seed, purpose, `i`) ([`crate::rng`]), so all sets see the same price paths
//! and the same population draws (unless the swept field shapes them, e.g. a
//! margin rate that caps leverage): differences between sets are the parameters'
//! effect, not sampling noise.
//!
//! **Work.** A sweep is `sets × paths` work items, item `w = set × paths + path`.
//! Shard `k` of `n` takes the contiguous items `[k·W/n, (k+1)·W/n)` (`W` items in
//! all); inside a shard, items are run in chunks that never cross a set and
//! never cross a multiple of `CHUNK_PATHS` paths (`crate::run::sweep`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::venue::rulebook::Venue;

/// The `[sweep]` table of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Venues whose rule books the sweep runs the scenario under (`venue =
    /// ["binance-usdm", "dydx-v4"]`): each is the scenario read with that
    /// `venue`, the file's own keys still overriding the rule book. The venue
    /// is the first (slowest) parameter of the grid, key `venue`, its value
    /// the venue's code ([`venue_code`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<Vec<String>>,
    /// The swept parameters, in order (the first varies slowest).
    #[serde(default)]
    pub parameter: Vec<SweepParameter>,
    /// What a set must achieve, and how sets meeting it are ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SweepTarget>,
}

/// The value of venue `name` in a venue sweep: its rank in
/// [`Venue::ALL`] (`binance-usdm` 0, `hyperliquid` 1, `dydx-v4` 2, `bitmex`
/// 3, `drift` 4), the number `sweep.parquet` and `summary.json` hold for the
/// `venue` parameter (the report prints the name).
pub fn venue_code(name: &str) -> Option<f64> {
    Venue::ALL
        .iter()
        .position(|v| v.name() == name)
        .map(|i| i as f64)
}

/// The venue name of a `venue` parameter value ([`venue_code`]).
pub fn venue_name(code: f64) -> Option<&'static str> {
    (code >= 0.0 && code.fract() == 0.0)
        .then(|| Venue::ALL.get(code as usize).map(|v| v.name()))
        .flatten()
}

/// The key of the venue axis of a sweep grid.
pub const VENUE_KEY: &str = "venue";

/// One swept parameter: a numeric scenario field and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepParameter {
    /// Key path of the field, as in error messages: `liquidation.fee`,
    /// `market.btc.tiers[0].mmr`, written `key = "…"` in the scenario ("path"
    /// means a price path; `path = "…"`, the spelling of earlier versions, is
    /// still read).
    #[serde(rename = "key", alias = "path")]
    pub key: String,
    /// The values, in order (or give `range`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// Evenly spaced values from `from` to `to` inclusive (or give `values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<SweepRange>,
}

/// `steps` evenly spaced values from `from` to `to`, both included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRange {
    /// First value.
    pub from: f64,
    /// Last value.
    pub to: f64,
    /// Number of values (1 gives `from` alone).
    pub steps: u32,
}

/// Whether lower or higher values of the capital-efficiency field are better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Prefer {
    /// Lower is better (a smaller fund, a lower margin rate).
    #[default]
    Lower,
    /// Higher is better.
    Higher,
}

/// `[sweep.target]`: the acceptance criterion and the ranking of accepted sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepTarget {
    /// A set meets the target when its probability of insurance-fund depletion
    /// is at most this (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depletion_probability: Option<f64>,
    /// Compare the upper end of the 95% Clopper–Pearson interval (the default:
    /// a set meets the target only if the paths run show it does, at 95%
    /// confidence); `false` compares the point estimate.
    #[serde(default = "upper_bound_by_default")]
    pub use_upper_bound: bool,
    /// The swept parameter that measures capital efficiency; default the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital_efficiency: Option<String>,
    /// Whether lower (default) or higher values of it are better.
    #[serde(default)]
    pub prefer: Prefer,
    /// Risk appetites the report sets side by side, each a stricter or looser
    /// `max_depletion_probability` (e.g. `{ conservative = 0.001, moderate =
    /// 0.01, aggressive = 0.05 }`), judged like the target; by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appetites: Option<std::collections::BTreeMap<String, f64>>,
}

impl Default for SweepTarget {
    fn default() -> Self {
        SweepTarget {
            max_depletion_probability: None,
            use_upper_bound: upper_bound_by_default(),
            capital_efficiency: None,
            prefer: Prefer::default(),
            appetites: None,
        }
    }
}

/// `[sweep.target] use_upper_bound` when absent: `true` (issue 13: "meets the
/// target" must not overstate what the paths run show).
fn upper_bound_by_default() -> bool {
    true
}
