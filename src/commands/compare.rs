//! `backstop compare`: two results folders side by side, or more than two in
//! one table across runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What `backstop compare` was asked to do.
pub struct CompareArgs<'a> {
    /// Results folders, in order: two (A, B; differences are B − A) or more.
    pub runs: &'a [PathBuf],
    /// Folder to write into (default `notebooks-out/compare-<A>-vs-<B>…`).
    pub out: Option<&'a Path>,
    /// Name of run A in the documents (two runs).
    pub label_a: Option<&'a str>,
    /// Name of run B in the documents (two runs).
    pub label_b: Option<&'a str>,
    /// Names of the runs, one per folder (`--label`, repeated).
    pub labels: &'a [String],
    /// Print nothing but errors.
    pub quiet: bool,
}

/// Writes `compare.html`, `compare.md` and `charts/`.
///
/// # Errors
/// Fewer than two folders, labels that do not fit the folders (`--label-a` /
/// `--label-b` with more than two runs, or a `--label` count other than the
/// folder count), a folder that cannot be read, or documents that cannot be
/// written.
pub fn compare(c: &CompareArgs<'_>) -> Result<()> {
    let out = c.out.map_or_else(
        || {
            let names: Vec<String> = c.runs.iter().map(|d| folder_name(d)).collect();
            PathBuf::from("notebooks-out").join(format!("compare-{}", names.join("-vs-")))
        },
        Path::to_path_buf,
    );
    if !c.labels.is_empty() && c.labels.len() != c.runs.len() {
        bail!(
            "{} --label for {} results folders: give one per folder, in order",
            c.labels.len(),
            c.runs.len()
        );
    }
    let files = match c.runs {
        [a, b] => {
            let la = c.label_a.or_else(|| c.labels.first().map(String::as_str));
            let lb = c.label_b.or_else(|| c.labels.get(1).map(String::as_str));
            backstop_report::compare::compare(a, b, la, lb, &out)
                .with_context(|| format!("cannot compare {} with {}", a.display(), b.display()))?
        }
        [_, _, _, ..] => {
            if c.label_a.is_some() || c.label_b.is_some() {
                bail!(
                    "--label-a and --label-b name the runs of a two-run comparison; with {} \
                     folders give one --label per folder",
                    c.runs.len()
                );
            }
            let dirs: Vec<&Path> = c.runs.iter().map(PathBuf::as_path).collect();
            backstop_report::compare::compare_many(&dirs, c.labels, &out).with_context(|| {
                let names: Vec<String> = c.runs.iter().map(|d| d.display().to_string()).collect();
                format!("cannot compare {}", names.join(", "))
            })?
        }
        _ => bail!(
            "compare takes at least two results folders, got {}",
            c.runs.len()
        ),
    };
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
