//! `backstop adl-lab FILE --policies queue:binance,pro_rata,...`: the same
//! scenario (same paths, same population) under each ADL allocation, one table
//! comparing them (docs/model.md §6).
//!
//! Each policy is a full run on the runner's worker pool; one table holds the
//! per-path ADL totals (mean over paths), another every ADL wave of path 0 and
//! its measures (docs/model.md §6, "ADL waves"), and a chart compares the
//! winners' PnL each policy took per wave. Writes
//! `<out>/<name>-adl-lab/adl_lab.md` and `charts/adl_lab.svg`/`.png`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use backstop_report::charts::{AdlLabChart, adl_lab_chart};
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
        None if spec == "min_pnl_haircut" => {
            (AdlAllocation::MinPnlHaircut, AdlRankingKind::Binance)
        }
        _ => bail!(
            "--policies: unknown policy `{spec}` (queue:<ranking>, pro_rata, min_max_leverage, \
             water_fill, capped_pro_rata, min_pnl_haircut)"
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
        "| policy | ADL closes | ADL notional | excess notional | winners' PnL taken | ADL cost | \
         accounts hit | waves | bad debt | fund payouts |\n\
         | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n",
    );
    let mut waves_table = String::from(
        "| policy | wave | steps | needed | taken | excess | multiple | winners' PnL taken | \
         max PnL share | top 1% share | Gini | accounts | winners' equity after |\n\
         | --- | --: | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n",
    );
    let mut chart = AdlLabChart {
        scenario: prepared.scenario.name.clone(),
        policies: Vec::new(),
    };
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
        let pnl_taken = |p: &backstop_sim::PathMetrics| -> f64 {
            p.adl_waves.iter().map(|w| w.pnl_taken).sum()
        };
        let _ = writeln!(
            table,
            "| {spec} | {:.0} | {} | {} | {} | {} | {:.0} | {:.1} | {} | {} |",
            mean(&|p| f64::from(p.adl_closes)),
            usd(mean(&|p| p.adl_notional)),
            usd(mean(&|p| p.adl_excess_notional)),
            usd(mean(&pnl_taken)),
            usd(mean(&|p| p.adl_cost)),
            mean(&|p| f64::from(p.adl_accounts_hit)),
            mean(&|p| p.adl_waves.len() as f64),
            usd(mean(&|p| p.bad_debt)),
            usd(mean(&|p| p.insurance_fund_payouts)),
        );
        let first = output.paths.first();
        let waves = first.map_or(&[][..], |p| &p.adl_waves[..]);
        for (i, w) in waves.iter().enumerate() {
            let _ = writeln!(
                waves_table,
                "| {spec} | {} | {}–{} | {} | {} | {} | {:.2}× | {} | {:.1}% | {:.1}% | {:.3} | {} | {} |",
                i + 1,
                w.first_step,
                w.last_step,
                usd(w.needed),
                usd(w.taken),
                usd(w.excess),
                w.multiple,
                usd(w.pnl_taken),
                100.0 * w.max_pnl_share,
                100.0 * w.top1_share,
                w.gini,
                w.accounts,
                usd(w.winners_equity_after),
            );
        }
        chart.policies.push((
            (*spec).to_owned(),
            waves.iter().map(|w| w.pnl_taken).collect(),
        ));
    }
    print!("{table}");
    let dir = a.out.join(format!("{}-adl-lab", prepared.scenario.name));
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts)
        .with_context(|| format!("cannot create {}", charts.display()))?;
    let drawn = adl_lab_chart(&chart).context("the ADL-lab chart")?;
    let figure = match &drawn.message {
        Some(message) => message.clone(),
        None => {
            std::fs::write(charts.join("adl_lab.svg"), &drawn.svg)
                .with_context(|| format!("{}: cannot write adl_lab.svg", charts.display()))?;
            std::fs::write(charts.join("adl_lab.png"), &drawn.png)
                .with_context(|| format!("{}: cannot write adl_lab.png", charts.display()))?;
            format!(
                "![{}](charts/adl_lab.svg)\n\n{}",
                drawn.title, drawn.caption
            )
        }
    };
    let md = format!(
        "# ADL lab: {}\n\nThe same paths and population under each ADL allocation \
         (docs/model.md §6); per-path totals, mean over {} path(s).\n\n{table}\n\
         ## Per ADL wave (path 0)\n\nA wave is a run of consecutive steps with ADL \
         (docs/model.md §6, \"ADL waves\"): the notional its closes needed and took, the \
         winners' PnL taken with it, the largest share of one winner's PnL, the share of the \
         top 1% of winners touched and the Gini coefficient of the per-winner notional.\n\n\
         {waves_table}\n{figure}\n",
        prepared.scenario.name, prepared.scenario.paths
    );
    std::fs::write(dir.join("adl_lab.md"), md)
        .with_context(|| format!("{}: cannot write adl_lab.md", dir.display()))?;
    Ok(())
}
