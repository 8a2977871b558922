//! `backstop validate`: check a scenario (syntax, keys, values, population)
//! without running it.

use std::path::Path;

use anyhow::Result;

/// Prepares the scenario as `run` would and prints what it holds.
///
/// # Errors
/// The scenario's first problem, naming the file and the line or key.
pub fn validate(file: &Path) -> Result<()> {
    let p = super::prepare(file, false)?;
    println!(
        "{}: ok ({} markets, {} steps, {} accounts)",
        file.display(),
        p.scenario.market.len(),
        p.scenario.steps(),
        p.population.len()
    );
    Ok(())
}
