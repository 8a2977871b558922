//! `backstop calibrate`: fit the path models to a prices file and print them as
//! scenario `[path]` tables.

use std::path::Path;

use anyhow::{Context, Result};

/// Fits every path model to the `prices/v1` file and prints the TOML.
///
/// # Errors
/// The file cannot be read or holds too few prices to fit.
pub fn calibrate(file: &Path, step_seconds: Option<u32>) -> Result<()> {
    let fit = backstop_sim::paths::models::calibrate_file(file, step_seconds)
        .with_context(|| format!("{}: cannot calibrate", file.display()))?;
    print!("{}", fit.to_toml_snippet());
    Ok(())
}
