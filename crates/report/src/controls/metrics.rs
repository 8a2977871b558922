//! The metrics of the controls (`breaker_*`, `margin_multiplier*`, `oracle_*`,
//! `collateral_*`): which a run has, their labels and units, and a run's value
//! of each.

use std::collections::BTreeMap;

use backstop_data::{MetricUnit, PATH_METRICS, find_metric};

use super::settings::title_case;
use crate::data::ReportData;
use crate::format::{count, pct, plain, usd};

/// Name prefixes of the per-path metrics the controls section shows.
pub const CONTROL_PREFIXES: [&str; 4] = ["breaker_", "margin_multiplier", "oracle_", "collateral_"];

/// Whether `metric` is a controls metric (starts with one of [`CONTROL_PREFIXES`]).
#[must_use]
pub fn is_control_metric(metric: &str) -> bool {
    CONTROL_PREFIXES.iter().any(|p| metric.starts_with(p))
}

/// The label and unit of a controls metric: the unit from the metric table
/// ([`backstop_data::METRICS`]); a name it does not list (a metric of a later
/// simulator) gets a label made from the name and a unit guessed from it
/// (`collateral_*` metrics are USD unless the name says they count something).
#[must_use]
pub fn metric_label(metric: &str) -> (String, MetricUnit) {
    let label = match metric {
        "breaker_trips" => Some("Circuit-breaker trips"),
        "breaker_steps_paused" => Some("Steps with liquidations paused"),
        "margin_multiplier_max" => Some("Largest margin multiplier"),
        "oracle_sources_dropped" => Some("Oracle readings dropped by the deviation guard"),
        "oracle_stale_ignored" => Some("Stale oracle readings ignored"),
        "collateral_converted" => Some("Collateral sold at liquidations (USD)"),
        "collateral_conversions" => Some("Accounts whose collateral was sold"),
        _ => None,
    };
    let unit = find_metric(metric).map_or_else(|| guess_unit(metric), |m| m.unit);
    if let Some(label) = label {
        return (label.to_owned(), unit);
    }
    let mut label = title_case(metric);
    if unit == MetricUnit::Usd {
        label.push_str(" (USD)");
    }
    (label, unit)
}

/// The unit of a metric the table does not list, guessed from its name.
fn guess_unit(metric: &str) -> MetricUnit {
    let counts = [
        "count", "events", "accounts", "trips", "steps", "readings", "assets",
    ];
    if metric.starts_with("margin_multiplier") {
        MetricUnit::Multiplier
    } else if counts.iter().any(|c| metric.contains(c)) {
        MetricUnit::Count
    } else if metric.starts_with("collateral_")
        || ["usd", "notional", "value", "loss", "converted", "haircut"]
            .iter()
            .any(|c| metric.contains(c))
    {
        MetricUnit::Usd
    } else {
        MetricUnit::Count
    }
}

/// `v` in `unit`: counts whole (a mean with one decimal), multipliers as
/// `2×`, shares as percentages, money in USD.
#[must_use]
pub fn metric_value(v: f64, unit: MetricUnit) -> String {
    match unit {
        MetricUnit::Count | MetricUnit::Step => {
            let tenths = (v * 10.0).round();
            if tenths % 10.0 == 0.0 {
                count(v)
            } else {
                // One decimal (a mean count), the whole part grouped: `5,807.3`.
                let whole = (tenths.abs() / 10.0).trunc();
                let sign = if v < 0.0 { "-" } else { "" };
                format!("{sign}{}.{}", count(whole), tenths.abs() % 10.0)
            }
        }
        MetricUnit::Multiplier => format!("{}×", plain((v * 1000.0).round() / 1000.0)),
        MetricUnit::Fraction => pct(v),
        MetricUnit::Usd => usd(v),
    }
}

/// The controls metrics present in the results, sorted by name: every aggregate
/// of `summary.json` and every `paths.parquet` column with a controls prefix.
#[must_use]
pub fn control_metric_names(data: &ReportData) -> Vec<String> {
    let mut names: Vec<String> = data
        .summary
        .aggregates
        .metrics
        .keys()
        .map(String::as_str)
        // Every metric column of `paths.parquet`, when the run has one.
        .chain(
            PATH_METRICS
                .iter()
                .copied()
                .filter(|_| !data.paths.is_empty()),
        )
        .filter(|k| is_control_metric(k))
        .map(str::to_owned)
        .collect();
    names.sort_by_key(|n| (metric_rank(n), n.clone()));
    names.dedup();
    names
}

/// Order of the known controls metrics (the rest follow, by name).
fn metric_rank(metric: &str) -> usize {
    const ORDER: [&str; 5] = [
        "breaker_trips",
        "breaker_steps_paused",
        "oracle_sources_dropped",
        "oracle_stale_ignored",
        "margin_multiplier_max",
    ];
    ORDER
        .iter()
        .position(|m| *m == metric)
        .unwrap_or(ORDER.len())
}

/// The control a metric belongs to (`breaker_trips` → `breaker`).
#[must_use]
pub fn metric_control(metric: &str) -> &'static str {
    if metric.starts_with("breaker_") {
        "breaker"
    } else if metric.starts_with("margin_multiplier") {
        "vol_margin"
    } else if metric.starts_with("oracle_") {
        "oracle"
    } else {
        "collateral"
    }
}

/// The value a controls metric has when its control is off: 1 for a margin
/// multiplier, else 0.
#[must_use]
pub fn metric_neutral(metric: &str) -> f64 {
    if metric.starts_with("margin_multiplier") {
        1.0
    } else {
        0.0
    }
}

/// The value of a controls metric for the run: the one path's value, or the mean
/// across paths; `None` when the run has no value for it.
#[must_use]
pub fn run_value(data: &ReportData, metric: &str) -> Option<f64> {
    if let Some(q) = data.summary.aggregates.metrics.get(metric) {
        return Some(q.mean);
    }
    let values = data.paths.values(metric, data.first_param_set());
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / n)
}

/// Metric names of two runs' controls metrics, union, sorted.
#[must_use]
pub fn metric_union(a: &ReportData, b: &ReportData) -> Vec<String> {
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    for n in control_metric_names(a)
        .into_iter()
        .chain(control_metric_names(b))
    {
        names.insert(n, ());
    }
    names.into_keys().collect()
}

/// `+$1,234` / `-$1,234` / `$0`.
#[must_use]
pub fn signed_usd(v: f64) -> String {
    if v > 0.0 && usd(v) != usd(0.0) {
        format!("+{}", usd(v))
    } else {
        usd(v)
    }
}
