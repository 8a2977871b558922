//! `backstop report`: render a results folder's report again from its saved
//! files, without re-simulating.

use std::path::Path;

use anyhow::Result;

/// Renders `report.html`, `report.md` and `charts/` of the results folder `dir`.
///
/// # Errors
/// The folder's files cannot be read or the report cannot be written.
pub fn report(dir: &Path) -> Result<()> {
    super::render_report(dir).map(|_| ())
}
