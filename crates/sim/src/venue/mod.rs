//! The venue's parts, each a small model the engine calls: the margin schedule
//! and market grid ([`market`]), the insurance fund ([`insurance`]), the price
//! impact of liquidation orders ([`impact`]), the allocation of auto-deleveraging
//! ([`adl`], the literature's policies in [`adl_policies`], the wave measures in
//! [`adl_waves`]) and the optional controls ([`controls`]: circuit breaker,
//! volatility margin, oracle, multi-asset collateral).
//!
//! Nothing here knows the engine, the scenario file or the runner: the parameter
//! types a scenario spells directly (the controls' tables, [`adl::AdlScope`],
//! [`adl_price::AdlPrice`],
//! [`controls::Aggregation`]) are defined here once, with their defaults, and the
//! scenario (`crate::config`) uses them.

pub mod adl;
pub mod adl_candidate;
pub mod adl_min_max;
pub mod adl_policies;
pub mod adl_price;
pub mod adl_waves;
pub mod controls;
pub mod impact;
pub mod insurance;
pub mod market;
pub mod rulebook;
