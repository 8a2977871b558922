//! `backstop`: backtest and stress-simulate the post-trade risk machinery of crypto
//! derivatives venues (margin, liquidation, insurance fund, ADL, socialized loss).
//!
//! ```text
//! backstop run scenarios/linear-crash.toml     # simulate, write notebooks-out/<name>/
//! backstop validate scenarios/linear-crash.toml  # check a scenario without running it
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use backstop_sim::run::PathOutput;
use backstop_sim::{Prepared, Scenario};
use clap::{Parser, Subcommand};
use serde::Serialize;

#[cfg(feature = "import")]
mod import;

#[derive(Parser)]
#[command(
    name = "backstop",
    version,
    about = "Stress-simulate a derivatives venue's liquidation machinery"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its results to <out>/<scenario name>/.
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Folder the results folder is created in.
        #[arg(long, default_value = "notebooks-out")]
        out: PathBuf,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a scenario file (syntax, keys, values, population) without running it.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Import exchange/vendor files into a tick-history Parquet file.
    #[cfg(feature = "import")]
    Import(import::ImportArgs),
}

/// `summary.json`: what ran and what it did.
#[derive(Serialize)]
struct Summary<'a> {
    backstop_version: &'static str,
    scenario: &'a Scenario,
    population: PopulationSummary,
    paths: Vec<&'a backstop_sim::PathMetrics>,
}

#[derive(Serialize)]
struct PopulationSummary {
    accounts: usize,
    positions: usize,
    collateral: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            out,
            quiet,
        } => run(&scenario, &out, quiet),
        Command::Validate { scenario } => validate(&scenario),
        #[cfg(feature = "import")]
        Command::Import(args) => import::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, `: `-separated, skipping a cause whose
/// text an outer message already quotes (many errors here embed their source).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn scenario_dir(file: &Path) -> &Path {
    file.parent().unwrap_or(Path::new("."))
}

fn prepare(file: &Path) -> Result<Prepared> {
    let scenario = Scenario::load(file)?;
    let prepared = Prepared::new(scenario, scenario_dir(file))
        .with_context(|| format!("{}: cannot build the population", file.display()))?;
    Ok(prepared)
}

fn validate(file: &Path) -> Result<()> {
    let p = prepare(file)?;
    println!(
        "{}: ok ({} markets, {} steps, {} accounts)",
        file.display(),
        p.scenario.market.len(),
        p.scenario.steps(),
        p.population.len()
    );
    Ok(())
}

fn run(file: &Path, out: &Path, quiet: bool) -> Result<()> {
    let prepared = prepare(file)?;
    let output = prepared
        .run_path(0)
        .with_context(|| format!("{}: simulation failed", file.display()))?;
    // Only now, with results in hand, does anything touch the disk.
    let dir = out.join(&prepared.scenario.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_results(&dir, &prepared, &output)?;
    if !quiet {
        print_headline(&dir, &prepared, &output);
    }
    Ok(())
}

fn write_results(dir: &Path, prepared: &Prepared, output: &PathOutput) -> Result<()> {
    let meta = vec![
        (
            "backstop.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "backstop.scenario".to_string(),
            prepared.scenario.name.clone(),
        ),
        (
            "backstop.seed".to_string(),
            prepared.scenario.seed.to_string(),
        ),
    ];
    let rows = prepared.population_rows();
    backstop_data::write_positions(&dir.join("population.parquet"), &rows, &meta)?;
    backstop_data::write_steps(&dir.join("steps.parquet"), &output.steps, &meta)?;
    let summary = Summary {
        backstop_version: env!("CARGO_PKG_VERSION"),
        scenario: &prepared.scenario,
        population: PopulationSummary {
            accounts: prepared.population.len(),
            positions: rows.len(),
            collateral: prepared
                .population
                .iter()
                .map(|a| a.collateral.to_usd())
                .sum(),
        },
        paths: vec![&output.metrics],
    };
    let mut json = serde_json::to_vec_pretty(&summary)?;
    json.push(b'\n');
    backstop_data::write_bytes_atomically(&dir.join("summary.json"), &json)?;
    Ok(())
}

fn print_headline(dir: &Path, prepared: &Prepared, output: &PathOutput) {
    let m = &output.metrics;
    println!("scenario      {}", prepared.scenario.name);
    println!("accounts      {}", prepared.population.len());
    println!("steps         {}", m.steps);
    println!(
        "liquidations  {} orders, {} accounts, {:.0} USD",
        m.liquidations, m.accounts_liquidated, m.liquidated_notional
    );
    println!(
        "insurance     {:.0} -> {:.0} USD (min {:.0}, max drawdown {:.1}%)",
        m.insurance_fund_initial,
        m.insurance_fund_final,
        m.insurance_fund_min,
        100.0 * m.insurance_fund_max_drawdown_pct
    );
    println!(
        "bad debt      {:.0} USD; socialized {:.0} USD; insolvency {:.0} USD",
        m.bad_debt, m.socialized_loss, m.insolvency
    );
    println!(
        "adl           {} events, {:.0} USD",
        m.adl_events, m.adl_notional
    );
    println!("results       {}", dir.display());
}
