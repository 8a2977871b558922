//! `backstop compare`: two results folders side by side.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What `backstop compare` was asked to do.
pub struct CompareArgs<'a> {
    /// Results folder of run A.
    pub a: &'a Path,
    /// Results folder of run B; differences are B − A.
    pub b: &'a Path,
    /// Folder to write into (default `notebooks-out/compare-<A>-vs-<B>`).
    pub out: Option<&'a Path>,
    /// Name of run A in the documents.
    pub label_a: Option<&'a str>,
    /// Name of run B in the documents.
    pub label_b: Option<&'a str>,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// Writes `compare.html`, `compare.md` and `charts/`.
///
/// # Errors
/// Either folder cannot be read, or the documents cannot be written.
pub fn compare(c: &CompareArgs<'_>) -> Result<()> {
    let out = c.out.map_or_else(
        || {
            PathBuf::from("notebooks-out").join(format!(
                "compare-{}-vs-{}",
                folder_name(c.a),
                folder_name(c.b)
            ))
        },
        Path::to_path_buf,
    );
    let files = backstop_report::compare::compare(c.a, c.b, c.label_a, c.label_b, &out)
        .with_context(|| format!("cannot compare {} with {}", c.a.display(), c.b.display()))?;
    if !c.quiet {
        println!("compare       {}", files.markdown.display());
        println!("              {}", files.html.display());
    }
    Ok(())
}

/// Folder name of a results folder, for the default output folder.
fn folder_name(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .ok()
        .as_deref()
        .unwrap_or(dir)
        .file_name()
        .map_or_else(|| "run".to_owned(), |n| n.to_string_lossy().into_owned())
}
