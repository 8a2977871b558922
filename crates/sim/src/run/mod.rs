//! Running a scenario, the top layer: build the venue from the scenario
//! ([`build`], with [`population`]), step every path through the engine in
//! parallel ([`run`](mod@run)), keep what each step and path did (`record.rs`,
//! `fund_steps.rs`, [`metrics`]), reduce across paths ([`aggregate`]), run sweeps in shards ([`sweep`]),
//! and write a results folder's files ([`results`]).

mod adl_waves;
pub mod aggregate;
pub mod balances;
pub mod build;
mod fund_steps;
pub mod limits;
pub mod liq_price;
pub mod metrics;
mod ordered;
mod packed;
pub mod population;
mod record;
pub mod results;
// `run::run`: the file the layer is named after (the runner itself).
#[allow(clippy::module_inception)]
pub mod run;
pub mod sweep;
pub mod sweep_fund;

pub use fund_steps::FundSteps;
pub use limits::CHUNK_PATHS;
pub use metrics::{Haircut, PathMetrics};
pub use record::{Bands, StepSeries};
pub use run::{PathOutput, Prepared, RunOutput};
