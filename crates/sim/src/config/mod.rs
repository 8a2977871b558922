//! The scenario: what a run simulates, as plain data, read from TOML and
//! validated.
//!
//! - [`scenario`]: [`Scenario`], the whole file;
//! - [`market`], [`path`], [`population`], [`venue`], [`vault`], [`sweep`]: its
//!   tables;
//! - [`defaults`]: every default (the controls' own are in
//!   [`crate::venue::controls::defaults`]);
//! - [`key_path`] and [`field`]: where a value sits (`market.btc.tiers[1].mmr`,
//!   one dialect everywhere) and what is wrong with it;
//! - [`load`]: reading a file, every error located by line and key;
//! - `validate/`: range and consistency checks, one file per table;
//! - [`grid`]: a sweep's parameter sets and the scenario of each.
//!
//! This layer knows nothing of the engine, the price paths or the runner; it uses
//! the venue layer's parameter types where a scenario spells them exactly as the
//! venue needs them ([`crate::venue::adl::AdlScope`], the controls' tables), so
//! each is defined once.

pub mod defaults;
pub mod field;
pub mod grid;
pub mod key_path;
pub mod load;
pub mod market;
pub mod path;
pub mod population;
pub mod rule_book;
pub mod scenario;
pub mod schema;
pub mod sweep;
pub(crate) mod validate;
pub mod vault;
pub mod venue;

pub use field::FieldError;
pub use grid::{GridParameter, ORDER, SweepGrid};
pub use key_path::{KeyPath, KeySegment};
pub use load::ScenarioError;
pub use market::{FundingConfig, ImpactConfig, ImpactModelKind, MarketConfig, TierConfig};
pub use path::{
    BootstrapConfig, BridgeConfig, CorrelationSpec, GarchConfig, GbmConfig, JumpConfig,
    ModelConfig, OverlayConfig, PathConfig, ReplayConfig, ReplayFiles, ReplayStepping,
    StudentTConfig,
};
pub use population::{Distribution, PopulationConfig};
pub use scenario::Scenario;
pub use schema::{scenario_schema, scenario_schema_json};
pub use sweep::{Prefer, SweepConfig, SweepParameter, SweepRange, SweepTarget};
pub use validate::{MAX_ACCOUNTS, MAX_PATHS, MAX_STEPS};
pub use vault::VaultConfig;
pub use venue::{
    AdlAllocation, AdlRankingKind, BlockLimitsConfig, ControlsConfig, InsuranceFundConfig,
    LastLineConfig, LastLineKind, LiquidationConfig, LiquidationModeKind,
};
