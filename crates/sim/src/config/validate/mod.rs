//! Range and consistency checks of a parsed scenario, each naming its key path.
//!
//! [`Scenario::validate`] checks every field ([`scenario::fields`]) and then
//! every parameter set of a sweep ([`super::grid`]), each as a scenario of its
//! own. One file per part of the scenario: [`scenario`] (the top-level fields,
//! and the order of the checks), [`market`], [`path`] (the path models'
//! parameters included), [`population`], [`venue`] (liquidation, fund,
//! controls).

mod market;
mod path;
mod population;
mod scenario;
mod venue;

pub use population::MAX_ACCOUNTS;
pub(crate) use scenario::fields;
pub use scenario::{MAX_PATHS, MAX_STEPS};
pub(crate) use venue::collateral_assets;

use super::field::Check;
use super::grid;
use super::scenario::Scenario;

impl Scenario {
    /// Checks every value for range and consistency, then every parameter set of
    /// its sweep.
    ///
    /// # Errors
    /// The first [`FieldError`](super::field::FieldError) found, in file order.
    pub fn validate(&self) -> Check {
        fields(self)?;
        match &self.sweep {
            Some(config) => grid::check_every_set(self, config),
            None => Ok(()),
        }
    }
}
