//! `backstop size-fund`: the insurance fund a depletion target needs, from one
//! run with a fund that cannot run out (docs/model.md §7c), without a sweep over
//! fund sizes.
//!
//! Writes `<out>/<scenario name>-size-fund/`: the unlimited-fund run's results
//! and report (its `paths.parquet` holds every path's uncensored need), with
//! `size_fund.json`, a section in the report and `charts/fund_size.svg`/`.png`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use backstop_data::results::folder::ScratchFolder;
use backstop_report::charts::{FundSizeChart, fund_size_chart};
use backstop_sim::run::aggregate::fund_size::{DEFAULT_TARGETS, FundSizing, size_fund};

use super::usd;

/// A fund no simulated path can exhaust, USD: the unlimited fund of the sizing
/// run (a path that still depletes it is reported as an error).
pub const UNLIMITED_FUND_USD: f64 = 1e11;

/// What `backstop size-fund` was asked to do.
pub struct SizeFundArgs<'a> {
    /// Scenario file.
    pub file: &'a Path,
    /// Folder the results folder is created in.
    pub out: &'a Path,
    /// The depletion probability the one-line answer is for.
    pub target: f64,
    /// Paths instead of the scenario's.
    pub paths: Option<u32>,
    /// Worker threads (one per core when `None`).
    pub threads: Option<usize>,
    /// No output but the one line.
    pub quiet: bool,
}

/// Runs the scenario with an unlimited fund, sizes the fund, prints the answer
/// in one line and writes the results folder.
///
/// # Errors
/// A target outside (0, 1), an invalid scenario, a failed simulation, a path
/// that exhausts even the unlimited fund, or a file that cannot be written.
pub fn size_fund_command(a: &SizeFundArgs<'_>) -> Result<()> {
    if !(a.target > 0.0 && a.target < 1.0) {
        bail!(
            "--target {}: a depletion probability in (0, 1), e.g. 0.01",
            a.target
        );
    }
    let file = a.file;
    let mut prepared = super::prepare(file, a.quiet)?;
    if let Some(n) = a.paths {
        prepared
            .set_paths(n)
            .with_context(|| format!("{}: --paths {n}", file.display()))?;
    }
    let current = prepared.scenario.insurance_fund.initial;
    let floor = prepared.scenario.insurance_fund.floor;
    prepared.scenario.insurance_fund.initial = UNLIMITED_FUND_USD;
    let pool = super::worker_pool(a.threads)?;
    let output = pool
        .install(|| prepared.run(&|_| {}))
        .with_context(|| format!("{}: simulation failed", file.display()))?;
    if let Some(p) = output
        .paths
        .iter()
        .find(|p| p.insurance_fund_need_censored != 0)
    {
        bail!(
            "{}: path {} drew more than {} on the fund; its need is beyond what backstop sizes",
            file.display(),
            p.path,
            usd(UNLIMITED_FUND_USD)
        );
    }
    let needs: Vec<f64> = output.paths.iter().map(|p| p.insurance_fund_need).collect();
    let mut targets = DEFAULT_TARGETS.to_vec();
    if !targets.contains(&a.target) {
        targets.push(a.target);
    }
    let sizing = size_fund(&needs, floor, current, &targets);
    let name = format!("{}-size-fund", prepared.scenario.name);
    let dir: PathBuf = a.out.join(&name);
    let folder = ScratchFolder::create(&dir, &[])?;
    backstop_sim::run::results::write_run(folder.path(), &prepared, &output)?;
    super::render_report(folder.path())?;
    write_sizing(folder.path(), &prepared.scenario.name, &sizing, a.target)?;
    folder.publish(&[])?;
    println!("{}", one_line(&prepared.scenario.name, &sizing, a.target));
    if !a.quiet {
        for t in &sizing.targets {
            println!("  {}", target_line(&sizing, t.p));
        }
        println!("  results {}", dir.display());
    }
    Ok(())
}

/// The answer for `target` in one line.
pub fn one_line(scenario: &str, s: &FundSizing, target: f64) -> String {
    format!(
        "{scenario}: {}; P(depletion) at the scenario's fund {}: {:.2}% [{:.2}%, {:.2}%]",
        target_line(s, target),
        usd(s.current_fund),
        100.0 * s.current_depletion.probability,
        100.0 * s.current_depletion.ci95[0],
        100.0 * s.current_depletion.ci95[1],
    )
}

/// One target's fund, interval and support.
fn target_line(s: &FundSizing, p: f64) -> String {
    let Some(t) = s.targets.iter().find(|t| t.p == p) else {
        return String::new();
    };
    let bound = |b: Option<f64>| b.map_or_else(|| "unbounded".to_owned(), usd);
    let support = if t.supported {
        format!("{} paths", s.paths)
    } else {
        format!(
            "{} paths: too few to bound it, {} needed",
            s.paths, t.paths_needed
        )
    };
    format!(
        "fund for P(depletion) <= {}: {} (95% {} to {}; {support})",
        p,
        usd(t.fund),
        bound(t.ci95[0]),
        bound(t.ci95[1]),
    )
}

/// `size_fund.json`, the chart and the report's section.
fn write_sizing(dir: &Path, scenario: &str, s: &FundSizing, target: f64) -> Result<()> {
    let json = serde_json::to_string_pretty(s).context("size_fund.json")?;
    std::fs::write(dir.join("size_fund.json"), json)
        .with_context(|| format!("{}: cannot write size_fund.json", dir.display()))?;
    let chart = fund_size_chart(&FundSizeChart {
        scenario: scenario.to_owned(),
        paths: s.paths,
        curve: s
            .curve
            .iter()
            .map(|c| (c.fund, c.probability, c.ci95[0], c.ci95[1]))
            .collect(),
        current_fund: s.current_fund,
        target: s
            .targets
            .iter()
            .find(|t| t.p == target)
            .map(|t| (t.p, t.fund)),
    })?;
    let charts = dir.join(backstop_report::CHARTS_DIR);
    std::fs::create_dir_all(&charts)?;
    std::fs::write(charts.join("fund_size.svg"), &chart.svg)?;
    std::fs::write(charts.join("fund_size.png"), &chart.png)?;
    let mut md = String::from(
        "\n## Fund sizing (`backstop size-fund`)\n\nThis run's fund could not run out: each \
         path's `insurance_fund_need` is its uncensored need (docs/model.md §7c).\n\n\
         | P(depletion) ≤ | fund | 95% interval | paths |\n| --- | --- | --- | --- |\n",
    );
    for t in &s.targets {
        let b = |x: Option<f64>| x.map_or_else(|| "unbounded".to_owned(), usd);
        let _ = writeln!(
            md,
            "| {} | {} | {} to {} | {} ({} needed) |",
            t.p,
            usd(t.fund),
            b(t.ci95[0]),
            b(t.ci95[1]),
            s.paths,
            t.paths_needed
        );
    }
    let _ = writeln!(
        md,
        "\nAt the scenario's fund, {}: P(depletion) {:.2}% [{:.2}%, {:.2}%].\n\n\
         ![{}](charts/fund_size.svg)",
        usd(s.current_fund),
        100.0 * s.current_depletion.probability,
        100.0 * s.current_depletion.ci95[0],
        100.0 * s.current_depletion.ci95[1],
        chart.caption
    );
    let report = dir.join("report.md");
    if report.exists() {
        let mut text = std::fs::read_to_string(&report)?;
        text.push_str(&md);
        std::fs::write(&report, text)?;
    }
    Ok(())
}
