//! Price paths: the path price of every market at every step.
//!
//! A scenario's `[path]` becomes a [`PathPlan`] ([`plan`]), built once per run:
//! fixed prices (a linear shock, an explicit series), a historical replay
//! ([`replay`]), or a path model ([`models`]: Monte Carlo and historical
//! generators). Each path is then walked by a [`PathCursor`] ([`cursor`]) that
//! fills a reusable [`StepInput`] (time, prices, funding from history) step by
//! step, so the runner never allocates per step and a replay never holds its
//! history in memory.
//!
//! This layer reads the scenario (`crate::config`) and history files; it knows
//! nothing of the engine or the runner. Its errors are [`PathError`].

pub mod cursor;
pub mod error;
pub mod models;
pub mod plan;
pub mod replay;

pub use cursor::{BufferCursor, PathCursor, StepInput};
pub use error::{PathError, PathModelError, ReplayError};
pub use plan::{Cursor, PathPlan, PathScratch};
pub use replay::{ReplayCursor, ReplayPlan};
