//! The venue model of backstop.
//!
//! A simulated crypto-derivatives venue, stepped one mark at a time: perpetual
//! markets with tiered margin, cross and isolated accounts, the liquidation
//! engine with latency, partial liquidation and price impact, the insurance fund
//! and the loss waterfall's last line: auto-deleveraging, socialized loss, or
//! recorded insolvency. Money is integer micro-USD ([`money`]); the invariants of
//! docs/model.md §8 hold exactly and are checkable at every step
//! ([`Engine::check_invariants`]).
//!
//! Layers, bottom first (a file imports only its own layer's group or lower;
//! `scripts/check-module-cycles.py` checks it, docs/architecture.md
//! explains it):
//!
//! 1. [`money`], [`rng`], [`time`], [`cholesky`]: integer money, seeded random
//!    streams, UTC time, a correlation matrix's factor;
//! 2. [`venue`]: the venue's parts (margin schedule, insurance fund, impact, ADL
//!    allocation, controls);
//! 3. [`engine`] (the venue stepped one mark at a time) and, beside it,
//!    [`config`] (the scenario file as plain data, validated);
//! 4. [`paths`]: price paths from the scenario (fixed, replayed, generated);
//! 5. [`run`]: from the scenario to results: build, run in parallel, record,
//!    aggregate, sweep; its errors and every layer's meet in [`SimError`].

pub mod cholesky;
pub mod config;
pub mod engine;
mod error;
pub mod money;
pub mod paths;
pub mod rng;
pub mod run;
pub mod time;
pub mod venue;

pub use config::{Scenario, ScenarioError};
pub use engine::{AccountSpec, Engine, Event, VenueConfig};
pub use error::{InputError, PopulationError, ShardReason, SimError};
pub use money::{Micros, Rate};
pub use run::{PathMetrics, PathOutput, Prepared, RunOutput};
pub use time::parse_utc;
