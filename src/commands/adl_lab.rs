//! `backstop adl-lab FILE --policies queue:binance,pro_rata,...`: the same
//! scenario (same paths, same population) under each ADL allocation, one table
//! comparing them (docs/model.md §6).
//!
//! Each policy is a full run on the runner's worker pool; the table holds the
//! per-path ADL totals (mean over paths). Writes `<out>/<name>-adl-lab/adl_lab.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use backstop_sim::config::{AdlAllocation, AdlRankingKind, LastLineKind};

use super::usd;

/// What `backstop adl-lab` was asked to do.
pub struct AdlLabArgs<'a> {
    /// Scenario file.
    pub file: &'a Path,
    /// Folder the lab's folder is created in.
    pub out: &'a Path,
    /// Comma-separated policies: `queue:<ranking>`, `pro_rata`, ...
    pub policies: &'a str,
    /// Paths instead of the scenario's.
    pub paths: Option<u32>,
    /// Worker threads (one per core when `None`).
    pub threads: Option<usize>,
}

/// One policy as the command line names it.
fn parse_policy(spec: &str) -> Result<(AdlAllocation, AdlRankingKind)> {
    let ranking = |r: &str| -> Result<AdlRankingKind> {
        Ok(match r {
            "binance" => AdlRankingKind::Binance,
            "bitmex" => AdlRankingKind::Bitmex,
            "hyperliquid" => AdlRankingKind::Hyperliquid,
            "dydx" => AdlRankingKind::Dydx,
            other => bail!(
                "--policies: unknown queue ranking `{other}` (binance, bitmex, hyperliquid, dydx)"
            ),
        })
    };
    Ok(match spec.split_once(':') {
        Some(("queue", r)) => (AdlAllocation::Queue, ranking(r)?),
        None if spec == "queue" => (AdlAllocation::Queue, AdlRankingKind::Binance),
        None if spec == "pro_rata" => (AdlAllocation::ProRata, AdlRankingKind::Binance),
        None if spec == "min_max_leverage" => {
            (AdlAllocation::MinMaxLeverage, AdlRankingKind::Binance)
        }
        None if spec == "water_fill" || spec == "water_fill_pnl" => {
            (AdlAllocation::WaterFillPnl, AdlRankingKind::Binance)
        }
        None if spec == "capped_pro_rata" => {
            (AdlAllocation::CappedProRata, AdlRankingKind::Binance)
        }
        _ => bail!(
            "--policies: unknown policy `{spec}` (queue:<ranking>, pro_rata, min_max_leverage, \
             water_fill, capped_pro_rata)"
        ),
    })
}

/// Runs every policy and writes the table.
///
/// # Errors
/// An unknown policy, a scenario whose last line is not ADL, an invalid
/// scenario, a failed simulation, or a file that cannot be written.
pub fn adl_lab(a: &AdlLabArgs<'_>) -> Result<()> {
    let specs: Vec<&str> = a
        .policies
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let policies = specs
        .iter()
        .map(|s| parse_policy(s))
        .collect::<Result<Vec<_>>>()?;
    if policies.is_empty() {
        bail!("--policies: name at least one policy, e.g. queue:binance,pro_rata");
    }
    let mut prepared = super::prepare(a.file, false)?;
    if prepared.scenario.last_line.kind != LastLineKind::Adl {
        bail!(
            "{}: key `last_line.kind`: the ADL lab needs kind = \"adl\"",
            a.file.display()
        );
    }
    if let Some(n) = a.paths {
        prepared
            .set_paths(n)
            .with_context(|| format!("{}: --paths {n}", a.file.display()))?;
    }
    let pool = super::worker_pool(a.threads)?;
    let mut table = String::from(
        "| policy | ADL closes | ADL notional | excess notional | ADL cost | accounts hit | bad debt | fund payouts |\n\
         | --- | --: | --: | --: | --: | --: | --: | --: |\n",
    );
    for (spec, (allocation, ranking)) in specs.iter().zip(&policies) {
        prepared.scenario.last_line.adl = *allocation;
        prepared.scenario.last_line.ranking = *ranking;
        let output = pool
            .install(|| prepared.run(&|_| {}))
            .with_context(|| format!("{}: simulation under {spec} failed", a.file.display()))?;
        let n = output.paths.len().max(1) as f64;
        let mean = |f: &dyn Fn(&backstop_sim::PathMetrics) -> f64| {
            output.paths.iter().map(f).sum::<f64>() / n
        };
        let _ = writeln!(
            table,
            "| {spec} | {:.0} | {} | {} | {} | {:.0} | {} | {} |",
            mean(&|p| f64::from(p.adl_closes)),
            usd(mean(&|p| p.adl_notional)),
            usd(mean(&|p| p.adl_excess_notional)),
            usd(mean(&|p| p.adl_cost)),
            mean(&|p| f64::from(p.adl_accounts_hit)),
            usd(mean(&|p| p.bad_debt)),
            usd(mean(&|p| p.insurance_fund_payouts)),
        );
    }
    print!("{table}");
    let dir = a.out.join(format!("{}-adl-lab", prepared.scenario.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let md = format!(
        "# ADL lab: {}\n\nThe same paths and population under each ADL allocation \
         (docs/model.md §6); per-path totals, mean over {} path(s).\n\n{table}",
        prepared.scenario.name, prepared.scenario.paths
    );
    std::fs::write(dir.join("adl_lab.md"), md)
        .with_context(|| format!("{}: cannot write adl_lab.md", dir.display()))?;
    Ok(())
}
