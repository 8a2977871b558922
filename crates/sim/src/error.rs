//! The crate's error type.

use crate::engine::EngineError;
use crate::scenario::ScenarioError;

/// Everything that can go wrong preparing or running a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario file.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Reading or writing data files.
    #[error(transparent)]
    Data(#[from] backstop_data::DataError),
    /// The population cannot be built.
    #[error("population: {0}")]
    Population(String),
    /// An input the scenario names (a file, a window) cannot be used.
    #[error("{0}")]
    Input(String),
    /// A path model cannot be built: bad parameters or unusable price history.
    #[error("path: {0}")]
    PathModel(String),
    /// The engine refused the population.
    #[error(transparent)]
    Engine(#[from] EngineError),
}
