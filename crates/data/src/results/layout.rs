//! The layout of a results folder (`<out>/<scenario name>/`): the name of every
//! file a run, a sweep or a report writes into it.
//!
//! | file | written by | what |
//! |---|---|---|
//! | [`SUMMARY_FILE`] | `backstop run`, `sweep`, `merge` | what ran and what it did ([`Summary`](super::summary::Summary)) |
//! | [`POPULATION_FILE`] | `backstop run` | the starting population, `positions/v1` |
//! | [`STEPS_FILE`] | `backstop run` | path 0, step by step, `steps/v1` |
//! | [`PATHS_FILE`] | `backstop run`, `sweep`, `merge` | one row per (parameter set, path), `paths/v1` |
//! | [`BANDS_FILE`] | `backstop run` | per-step quantile bands across paths, `bands/v1` |
//! | [`HAIRCUTS_FILE`] | `backstop run`, `sweep`, `merge` | socialized-loss haircuts, `haircuts/v1` |
//! | [`ADL_WAVES_FILE`] | `backstop run` | every path's ADL waves and their measures, `adl_waves/v1` |
//! | [`BALANCES_FILE`] | `backstop run` | every party's money at the opening and end of path 0, `balances/v1` |
//! | [`MARKET_FUNDS_FILE`] | `backstop run` with a `[market.<name>.insurance_fund]` | each market's own fund on each path, `market_funds/v1` |
//! | [`MARKET_FUND_STEPS_FILE`] | `backstop run` with a `[market.<name>.insurance_fund]` | those funds step by step on path 0, `market_fund_steps/v1` |
//! | [`SWEEP_FILE`] | `backstop sweep`, `merge` | one row per parameter set, `sweep/v1` |
//! | [`REPORT_HTML_FILE`], [`REPORT_MARKDOWN_FILE`] | the report | the report, two renderings |
//! | [`CHARTS_DIR`]`/` | the report | every chart, as `<name>.svg` and `<name>.png` |

/// What ran and what it did (JSON).
pub const SUMMARY_FILE: &str = "summary.json";
/// The starting population (`positions/v1`).
pub const POPULATION_FILE: &str = "population.parquet";
/// The per-step series of path 0 (`steps/v1`).
pub const STEPS_FILE: &str = "steps.parquet";
/// Per-path metrics (`paths/v1`).
pub const PATHS_FILE: &str = "paths.parquet";
/// Per-step quantile bands across paths (`bands/v1`).
pub const BANDS_FILE: &str = "bands.parquet";
/// Socialized-loss haircuts (`haircuts/v1`).
pub const HAIRCUTS_FILE: &str = "haircuts.parquet";
/// Every path's ADL waves and their measures (`adl_waves/v1`).
pub const ADL_WAVES_FILE: &str = "adl_waves.parquet";
/// Every party's money at the opening and the end of path 0 (`balances/v1`).
pub const BALANCES_FILE: &str = "balances.parquet";
/// Each market's own insurance fund on each path (`market_funds/v1`), in runs
/// with one.
pub const MARKET_FUNDS_FILE: &str = "market_funds.parquet";
/// Each market's own insurance fund step by step on path 0
/// (`market_fund_steps/v1`), in runs with one.
pub const MARKET_FUND_STEPS_FILE: &str = "market_fund_steps.parquet";
/// Per-parameter-set results of a sweep (`sweep/v1`).
pub const SWEEP_FILE: &str = "sweep.parquet";
/// The HTML report.
pub const REPORT_HTML_FILE: &str = "report.html";
/// The Markdown report.
pub const REPORT_MARKDOWN_FILE: &str = "report.md";
/// The folder of the report's charts.
pub const CHARTS_DIR: &str = "charts";
