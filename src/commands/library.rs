//! `backstop library`: run every scenario of a folder (the historical crash
//! library, `scenarios/history/`) with its own (current) parameters and, when
//! given, with recommended ones, and write one table of what each crash did:
//! the fund's loss, bad debt, liquidations and ADL (docs/model.md §7b).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use backstop_report::format::{count, usd};
use backstop_sim::run::sweep::{SweepConfig, SweepGrid, SweepParameter};
use backstop_sim::{Prepared, Scenario};

/// What `backstop library` was asked to do.
pub struct LibraryArgs<'a> {
    /// Folder of scenario files (every `*.toml`, by name).
    pub dir: &'a Path,
    /// Folder the table is written into (`<out>/library/`).
    pub out: &'a Path,
    /// Recommended parameters, `key=value` (key paths as in `[sweep]`).
    pub set: &'a [String],
    /// Worker threads (one per core when `None`).
    pub threads: Option<usize>,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// One scenario's figures under one parameter set (the median path's, when a
/// scenario runs more than one path).
struct Figures {
    fund_loss: f64,
    bad_debt: f64,
    liquidation_orders: f64,
    liquidated_notional: f64,
    adl_closes: f64,
    adl_notional: f64,
    depleted: bool,
}

/// Parses `key=value` pairs into a one-set sweep of those values.
fn overrides(set: &[String]) -> Result<Option<SweepConfig>> {
    if set.is_empty() {
        return Ok(None);
    }
    let mut parameter = Vec::new();
    for s in set {
        let Some((key, value)) = s.split_once('=') else {
            bail!("--set {s}: expected KEY=VALUE, e.g. --set insurance_fund.initial=5000000");
        };
        let value: f64 = value
            .trim()
            .parse()
            .with_context(|| format!("--set {s}: `{}` is not a number", value.trim()))?;
        parameter.push(SweepParameter {
            key: key.trim().to_owned(),
            values: Some(vec![value]),
            range: None,
        });
    }
    Ok(Some(SweepConfig {
        parameter,
        target: None,
    }))
}

/// Runs `scenario` (read from `file`) and returns its figures.
fn figures(file: &Path, scenario: Scenario, pool: &rayon::ThreadPool) -> Result<Figures> {
    let prepared = Prepared::new(scenario, super::scenario_dir(file))
        .with_context(|| format!("{}: cannot prepare the run", file.display()))?;
    let output = pool
        .install(|| prepared.run(&|_| {}))
        .with_context(|| format!("{}: simulation failed", file.display()))?;
    let a = &output.aggregates;
    let median = |k: &str| a.metrics.get(k).map_or(0.0, |q| q.p50);
    Ok(Figures {
        fund_loss: median("insurance_fund_loss"),
        bad_debt: median("bad_debt"),
        liquidation_orders: median("liquidation_orders"),
        liquidated_notional: median("liquidated_notional"),
        adl_closes: median("adl_closes"),
        adl_notional: median("adl_notional"),
        depleted: 2 * a.insurance_fund_depletion.count > a.paths,
    })
}

/// The scenario files of `dir`, by name.
fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the folder", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no scenario files (*.toml)", dir.display());
    }
    Ok(files)
}

/// Runs the library and writes `<out>/library/library.md` and `library.csv`.
///
/// # Errors
/// A scenario is invalid or fails, an override names no numeric field of a
/// scenario, or a file cannot be written.
pub fn library(a: &LibraryArgs<'_>) -> Result<()> {
    let config = overrides(a.set)?;
    let pool = super::worker_pool(a.threads)?;
    let mut rows: Vec<(String, Figures, Option<Figures>)> = Vec::new();
    for file in scenario_files(a.dir)? {
        let base = Scenario::load(&file)?;
        let name = base.name.clone();
        let recommended = match &config {
            Some(c) => {
                let grid = SweepGrid::new(&base, c)
                    .with_context(|| format!("{}: --set", file.display()))?;
                let s = grid
                    .apply(&base, 0)
                    .with_context(|| format!("{}: --set", file.display()))?;
                Some(figures(&file, s, &pool)?)
            }
            None => None,
        };
        let current = figures(&file, base, &pool)?;
        if !a.quiet {
            eprintln!("ran {name}");
        }
        rows.push((name, current, recommended));
    }
    let dir = a.out.join("library");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    let md = markdown(a, &rows);
    backstop_data::write_bytes_atomically(&dir.join("library.md"), md.as_bytes())?;
    backstop_data::write_bytes_atomically(&dir.join("library.csv"), csv(&rows).as_bytes())?;
    if !a.quiet {
        print!("{md}");
        println!("results       {}", dir.display());
    }
    Ok(())
}

/// The cells of one parameter set's figures.
fn cells(f: &Figures) -> [String; 4] {
    [
        format!(
            "{}{}",
            usd(f.fund_loss),
            if f.depleted { " (depleted)" } else { "" }
        ),
        usd(f.bad_debt),
        format!(
            "{} ({})",
            count(f.liquidation_orders),
            usd(f.liquidated_notional)
        ),
        format!("{} ({})", count(f.adl_closes), usd(f.adl_notional)),
    ]
}

/// The table as Markdown (Discourse-safe: a plain pipe table).
fn markdown(a: &LibraryArgs<'_>, rows: &[(String, Figures, Option<Figures>)]) -> String {
    let mut m = String::from("# The historical crash library\n\n");
    let _ = writeln!(
        m,
        "Every scenario of `{}`, run with its own parameters (current){}. Fund loss is the \
         insurance fund's largest drawdown from its start; bad debt every deficit, whoever \
         carried it; liquidations are orders (notional); ADL closes (notional at the mark). \
         One path per replay: these are what history did to this book, not probabilities.\n",
        display_dir(a.dir),
        if a.set.is_empty() {
            String::new()
        } else {
            format!(" and with the recommended `{}`", a.set.join("`, `"))
        }
    );
    let with = !a.set.is_empty();
    let head = if with {
        "| scenario | fund loss, current | fund loss, recommended | bad debt, current | bad debt, recommended | liquidations, current | liquidations, recommended | ADL, current | ADL, recommended |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    } else {
        "| scenario | fund loss | bad debt | liquidations | ADL |\n| --- | ---: | ---: | ---: | ---: |\n"
    };
    m.push_str(head);
    for (name, cur, rec) in rows {
        let c = cells(cur);
        match rec {
            Some(r) if with => {
                let r = cells(r);
                let _ = writeln!(
                    m,
                    "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    c[0], r[0], c[1], r[1], c[2], r[2], c[3], r[3]
                );
            }
            _ => {
                let _ = writeln!(m, "| {name} | {} | {} | {} | {} |", c[0], c[1], c[2], c[3]);
            }
        }
    }
    m.replace('$', "\\$")
}

/// The folder as given when relative, else its last two components: never an
/// absolute local path in a shared file.
fn display_dir(dir: &Path) -> String {
    if dir.is_relative() {
        return dir.display().to_string();
    }
    let parts: Vec<String> = dir
        .components()
        .rev()
        .take(2)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// The table as CSV, money in USD.
fn csv(rows: &[(String, Figures, Option<Figures>)]) -> String {
    let mut out = String::from(
        "scenario,parameters,fund_loss,depleted,bad_debt,liquidation_orders,liquidated_notional,adl_closes,adl_notional\n",
    );
    for (name, cur, rec) in rows {
        for (which, f) in [("current", Some(cur)), ("recommended", rec.as_ref())] {
            if let Some(f) = f {
                let _ = writeln!(
                    out,
                    "{name},{which},{:.2},{},{:.2},{},{:.2},{},{:.2}",
                    f.fund_loss,
                    f.depleted,
                    f.bad_debt,
                    f.liquidation_orders,
                    f.liquidated_notional,
                    f.adl_closes,
                    f.adl_notional
                );
            }
        }
    }
    out
}
