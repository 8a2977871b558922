//! The venue model of backstop.
//!
//! A simulated crypto-derivatives venue, stepped one mark at a time: perpetual
//! markets with tiered margin ([`market`]), cross and isolated accounts, the
//! liquidation engine with latency, partial liquidation and price impact
//! ([`engine`], [`impact`]), the insurance fund ([`insurance`]) and the loss
//! waterfall's last line: auto-deleveraging ([`adl`]), socialized loss, or recorded
//! insolvency. Money is integer micro-USD ([`money`]); the invariants of MODEL.md §6
//! hold exactly and are checkable at every step ([`Engine::check_invariants`]).
//!
//! [`scenario`] reads scenario files, [`population`] builds the accounts, [`path`]
//! the prices (with [`replay`] for history), [`run`] drives every path through
//! the engine in parallel, and [`aggregate`] computes the statistics across paths.

pub mod aggregate;
pub mod engine;
mod error;
pub mod metrics;
pub mod money;
pub mod path;
pub mod pathgen;
pub mod population;
pub mod replay;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod sweep;
mod validate;
pub mod venue;

pub use venue::{adl, controls, impact, insurance, market};

pub use engine::{AccountSpec, Engine, Event, VenueConfig};
pub use error::SimError;
pub use metrics::PathMetrics;
pub use money::{Micros, Rate};
pub use run::{PathOutput, Prepared, RunOutput};
pub use scenario::{Scenario, ScenarioError};
pub use validate::parse_utc;
