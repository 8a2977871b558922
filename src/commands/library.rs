//! `backstop library`: run every scenario of a folder (the historical crash
//! library, `scenarios/history/`) with its own (current) parameters and with
//! recommended ones, and write one table of what each crash did: the fund's
//! loss, bad debt, liquidations and ADL (docs/model.md §7b).
//!
//! The recommended parameters are given (`--set KEY=VALUE`) or found
//! (`--try KEY=V1,V2,...`): every combination of the tried values runs the whole
//! library, and the recommendation is the cheapest combination (lowest value of
//! the first tried key) under which the fund is depleted in at most
//! `--max-depleted` of the crashes (0 by default), ties to the least total bad
//! debt, then the first combination.

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
    /// Candidate values to recommend from, `key=v1,v2,...`; the first key is
    /// the cost (lower is cheaper).
    pub candidates: &'a [String],
    /// The target: the fund depleted in at most this many crashes.
    pub max_depleted: u32,
    /// Worker threads (one per core when `None`).
    pub threads: Option<usize>,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// One scenario's figures under one parameter set (the median path's, when a
/// scenario runs more than one path).
#[derive(Clone)]
struct Figures {
    fund_loss: f64,
    bad_debt: f64,
    liquidation_orders: f64,
    liquidated_notional: f64,
    adl_closes: f64,
    adl_notional: f64,
    depleted: bool,
}

/// Parses `key=value` pairs (`--set`) or `key=v1,v2,...` lists (`--try`,
/// `lists`) into a sweep of those values.
fn overrides(flag: &str, set: &[String], lists: bool) -> Result<Option<SweepConfig>> {
    if set.is_empty() {
        return Ok(None);
    }
    let mut parameter = Vec::new();
    for s in set {
        let Some((key, text)) = s.split_once('=') else {
            bail!(
                "{flag} {s}: expected KEY={}, e.g. {flag} insurance_fund.initial={}",
                if lists { "V1,V2,..." } else { "VALUE" },
                if lists { "1000000,5000000" } else { "5000000" }
            );
        };
        let mut values = Vec::new();
        for v in text.split(',') {
            let v = v.trim();
            values.push(
                v.parse::<f64>()
                    .with_context(|| format!("{flag} {s}: `{v}` is not a number"))?,
            );
            if !lists && values.len() > 1 {
                bail!("{flag} {s}: one value per key (use --try to compare several)");
            }
        }
        parameter.push(SweepParameter {
            key: key.trim().to_owned(),
            values: Some(values),
            range: None,
        });
    }
    Ok(Some(SweepConfig {
        venue: None,
        parameter,
        target: None,
    }))
}

/// Number of combinations of a sweep's values (its product, without the
/// current values `SweepGrid` adds).
fn combinations(config: &SweepConfig) -> u32 {
    config
        .parameter
        .iter()
        .map(|p| p.values.as_ref().map_or(1, Vec::len))
        .product::<usize>()
        .try_into()
        .unwrap_or(u32::MAX)
}

/// One candidate combination of `--try` values across the library.
struct Candidate {
    /// Its values, in `--try` order.
    values: Vec<f64>,
    /// Each scenario's figures under it, in file order.
    figures: Vec<Figures>,
}

impl Candidate {
    /// Crashes in which the fund was depleted.
    fn depleted(&self) -> u32 {
        u32::try_from(self.figures.iter().filter(|f| f.depleted).count()).unwrap_or(u32::MAX)
    }

    /// Total bad debt over the crashes.
    fn bad_debt(&self) -> f64 {
        self.figures.iter().map(|f| f.bad_debt).sum()
    }

    /// Total fund loss over the crashes.
    fn fund_loss(&self) -> f64 {
        self.figures.iter().map(|f| f.fund_loss).sum()
    }
}

/// The recommended candidate: the cheapest (lowest first value) meeting the
/// target, ties to the least total bad debt, then the first; `None` if none
/// meets it.
fn recommend(candidates: &[Candidate], max_depleted: u32) -> Option<usize> {
    (0..candidates.len())
        .filter(|k| candidates[*k].depleted() <= max_depleted)
        .min_by(|a, b| {
            let (x, y) = (&candidates[*a], &candidates[*b]);
            x.values[0]
                .total_cmp(&y.values[0])
                .then(x.bad_debt().total_cmp(&y.bad_debt()))
                .then(a.cmp(b))
        })
}

/// The safest candidate: fewest crashes depleting the fund, then the least
/// total bad debt, then the first.
fn safest(candidates: &[Candidate]) -> Option<usize> {
    (0..candidates.len()).min_by(|a, b| {
        let (x, y) = (&candidates[*a], &candidates[*b]);
        x.depleted()
            .cmp(&y.depleted())
            .then(x.bad_debt().total_cmp(&y.bad_debt()))
            .then(a.cmp(b))
    })
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
    let fixed = overrides("--set", a.set, false)?;
    let search = overrides("--try", a.candidates, true)?;
    if fixed.is_some() && search.is_some() {
        bail!("give --set (the recommended values) or --try (values to recommend from), not both");
    }
    let pool = super::worker_pool(a.threads)?;
    let files = scenario_files(a.dir)?;
    let mut scenarios = Vec::new();
    for file in files {
        let base = Scenario::load(&file)?;
        scenarios.push((file, base));
    }
    // The scenario under set `set` of `config`, its keys checked against it.
    let apply = |file: &Path, base: &Scenario, config: &SweepConfig, set: u32| {
        let grid = SweepGrid::new(base, config)
            .with_context(|| format!("{}: {}", file.display(), config_flag(a)))?;
        let s = grid
            .apply(base, set)
            .with_context(|| format!("{}: {}", file.display(), config_flag(a)))?;
        anyhow::Ok(s)
    };
    let mut rows: Vec<(String, Figures, Option<Figures>)> = Vec::new();
    for (file, base) in &scenarios {
        let recommended = match &fixed {
            Some(c) => Some(figures(file, apply(file, base, c, 0)?, &pool)?),
            None => None,
        };
        let current = figures(file, base.clone(), &pool)?;
        if !a.quiet {
            eprintln!("ran {}", base.name);
        }
        rows.push((base.name.clone(), current, recommended));
    }
    let mut choice = None;
    if let Some(config) = &search {
        let mut candidates = Vec::new();
        for set in 0..combinations(config) {
            let mut figs = Vec::new();
            let mut values = Vec::new();
            for (file, base) in &scenarios {
                let s = apply(file, base, config, set)?;
                if values.is_empty() {
                    values = SweepGrid::new(base, config)?.values(set);
                }
                figs.push(figures(file, s, &pool)?);
            }
            if !a.quiet {
                eprintln!("ran candidate {set} of {}", combinations(config));
            }
            candidates.push(Candidate {
                values,
                figures: figs,
            });
        }
        let picked = recommend(&candidates, a.max_depleted);
        let shown = picked.or_else(|| safest(&candidates));
        if let Some(k) = shown {
            for (row, f) in rows.iter_mut().zip(&candidates[k].figures) {
                row.2 = Some(f.clone());
            }
        }
        choice = Some((config.clone(), candidates, picked, shown));
    }
    let dir = a.out.join("library");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    let md = markdown(a, &rows, choice.as_ref());
    backstop_data::write_bytes_atomically(&dir.join("library.md"), md.as_bytes())?;
    backstop_data::write_bytes_atomically(&dir.join("library.csv"), csv(&rows).as_bytes())?;
    if !a.quiet {
        print!("{md}");
        println!("results       {}", dir.display());
    }
    Ok(())
}

/// The flag the recommended values came from, for error messages.
fn config_flag(a: &LibraryArgs<'_>) -> &'static str {
    if a.candidates.is_empty() {
        "--set"
    } else {
        "--try"
    }
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

/// What `--try` found: the tried values, every candidate, the recommended one
/// (if any meets the target) and the one shown (else the safest).
type Choice = (SweepConfig, Vec<Candidate>, Option<usize>, Option<usize>);

/// The recommendation section of `--try`: the target, every candidate with its
/// figures over the library, and the pick.
fn recommendation(a: &LibraryArgs<'_>, n: usize, choice: &Choice) -> String {
    let (config, candidates, picked, shown) = choice;
    let keys: Vec<&str> = config.parameter.iter().map(|p| p.key.as_str()).collect();
    let mut m = String::from("## Recommendation\n\n");
    let _ = writeln!(
        m,
        "Target: the insurance fund depleted in at most {} of the {} crashes. Candidates: \
         every combination of the `--try` values ({}), each run over the whole library; \
         the recommended one is the cheapest meeting the target (lowest `{}`), ties to the \
         least total bad debt.\n",
        count(f64::from(a.max_depleted)),
        count(n as f64),
        count(candidates.len() as f64),
        keys[0]
    );
    let _ = writeln!(
        m,
        "| candidate | {} | crashes depleting the fund | fund loss, total | bad debt, total | meets the target |",
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        m,
        "| --- |{} ---: | ---: | ---: | --- |",
        " ---: |".repeat(keys.len())
    );
    for (k, c) in candidates.iter().enumerate() {
        let mark = if Some(k) == *picked {
            " (recommended)"
        } else {
            ""
        };
        let _ = writeln!(
            m,
            "| {k}{mark} | {} | {} of {} | {} | {} | {} |",
            c.values
                .iter()
                .map(|v| backstop_report::format::plain(*v))
                .collect::<Vec<_>>()
                .join(" | "),
            count(f64::from(c.depleted())),
            count(n as f64),
            usd(c.fund_loss()),
            usd(c.bad_debt()),
            if c.depleted() <= a.max_depleted {
                "yes"
            } else {
                "no"
            }
        );
    }
    let describe = |k: usize| {
        keys.iter()
            .zip(&candidates[k].values)
            .map(|(key, v)| format!("`{key}` = {}", backstop_report::format::plain(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (picked, shown) {
        (Some(k), _) => {
            let _ = writeln!(
                m,
                "\nRecommended: candidate {k} ({}), the cheapest combination under which the \
                 fund survives the library as the target asks. The table below sets it against \
                 each scenario's own parameters.\n",
                describe(*k)
            );
        }
        (None, Some(k)) => {
            let _ = writeln!(
                m,
                "\nNo candidate meets the target. The safest, candidate {k} ({}), is set against \
                 each scenario's own parameters below; try safer values (a larger fund, higher \
                 margins).\n",
                describe(*k)
            );
        }
        (None, None) => {}
    }
    m
}

/// The table as Markdown (Discourse-safe: a plain pipe table).
fn markdown(
    a: &LibraryArgs<'_>,
    rows: &[(String, Figures, Option<Figures>)],
    choice: Option<&Choice>,
) -> String {
    let mut m = String::from("# The historical crash library\n\n");
    let _ = writeln!(
        m,
        "Every scenario of `{}`, run with its own parameters (current){}. Fund loss is the \
         insurance fund's largest drawdown from its start; bad debt every deficit, whoever \
         carried it; liquidations are orders (notional); ADL closes (notional at the mark). \
         One path per replay: these are what history did to this book, not probabilities.\n",
        display_dir(a.dir),
        if !a.set.is_empty() {
            format!(" and with the recommended `{}`", a.set.join("`, `"))
        } else if choice.is_some() {
            " and with the parameters recommended from the `--try` values below".to_owned()
        } else {
            String::new()
        }
    );
    if let Some(c) = choice {
        m.push_str(&recommendation(a, rows.len(), c));
        m.push_str("## Every crash\n\n");
    }
    let with = rows.iter().any(|r| r.2.is_some());
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
