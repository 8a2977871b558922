//! The venue controls of a run (`[controls.*]`, docs/model.md §10): which are on,
//! their settings in words, their metrics, and for a one-path run with a circuit
//! breaker what happened right after each pause.
//!
//! Everything is read from the results files: the settings from the scenario in
//! `summary.json` (the flattened `controls.*` parameters), the metrics from every
//! aggregate whose name starts with one of [`CONTROL_PREFIXES`] (so metrics added
//! later, such as multi-asset collateral's `collateral_*`, appear without code
//! changes), and the breaker's pauses from `steps.parquet`.

use std::collections::BTreeMap;

use crate::data::{PathSeries, ReportData};
use crate::format::{count, pct, plain, usd};
use crate::summary::Summary;

/// Name prefixes of the per-path metrics the controls section shows.
pub const CONTROL_PREFIXES: [&str; 4] = ["breaker_", "margin_multiplier", "oracle_", "collateral_"];

/// Whether `metric` is a controls metric (starts with one of [`CONTROL_PREFIXES`]).
#[must_use]
pub fn is_control_metric(metric: &str) -> bool {
    CONTROL_PREFIXES.iter().any(|p| metric.starts_with(p))
}

/// A scenario parameter of `summary` (flattened key, e.g. `controls.breaker.threshold`).
fn param<'a>(s: &'a Summary, key: &str) -> Option<&'a str> {
    s.parameters
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn param_f64(s: &Summary, key: &str) -> Option<f64> {
    param(s, key)?.replace(',', "").parse().ok()
}

/// The controls the scenario enables (`controls.<name>.enabled = true`), by name,
/// in scenario-key order.
#[must_use]
pub fn enabled_controls(s: &Summary) -> Vec<String> {
    s.parameters
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("controls.")?.strip_suffix(".enabled")?;
            (v == "true" && !name.contains('.')).then(|| name.to_owned())
        })
        .collect()
}

/// The controls in force: enabled, and for the oracle more than one source (a
/// one-source oracle is the raw mark, not a control).
#[must_use]
pub fn controls_in_force(s: &Summary) -> Vec<String> {
    enabled_controls(s)
        .into_iter()
        .filter(|c| {
            c != "oracle" || param_f64(s, "controls.oracle.sources").is_none_or(|n| n > 1.0)
        })
        .collect()
}

/// The `controls.*` settings of `summary`, as `(key, value)`, for comparing runs.
#[must_use]
pub fn control_settings(s: &Summary) -> Vec<(String, String)> {
    s.parameters
        .iter()
        .filter(|(k, _)| k.starts_with("controls."))
        .cloned()
        .collect()
}

/// The settings of control `name` in words.
#[must_use]
pub fn describe(s: &Summary, name: &str) -> String {
    let p = |field: &str| param(s, &format!("controls.{name}.{field}"));
    let f = |field: &str| param_f64(s, &format!("controls.{name}.{field}"));
    let steps = |n: Option<f64>| match n {
        Some(n) if (n - 1.0).abs() < f64::EPSILON => "1 step".to_owned(),
        Some(n) => format!("{} steps", plain(n)),
        None => "(not stated) steps".to_owned(),
    };
    let frac = |v: Option<f64>| v.map_or_else(|| "(not stated)".to_owned(), pct);
    match name {
        "breaker" => format!(
            "Circuit breaker: a mark move of more than {} within {} pauses liquidations for {} \
             (the tripping step included); breaches found meanwhile execute after the pause.",
            frac(f("threshold")),
            steps(f("window_steps")),
            steps(f("pause_steps")),
        ),
        "vol_margin" => format!(
            "Volatility margin: margin rates are multiplied by realised volatility over {} per \
             step (EWMA half-life {}), between 1× and {}×, republished every {}.",
            frac(f("sigma_ref")),
            steps(f("half_life_steps")),
            f("cap").map_or_else(|| "(not stated)".to_owned(), plain),
            steps(f("update_interval_steps")),
        ),
        "oracle" => {
            let sources = f("sources").unwrap_or(1.0);
            let mut text = if sources > 1.0 {
                format!(
                    "Oracle: the mark is the {} of {} price sources; a source more than {} from \
                     their median is dropped (deviation guard), one not updated for more than {} \
                     is ignored.",
                    p("aggregation").unwrap_or("median").replace('_', " "),
                    plain(sources),
                    frac(f("deviation_guard")),
                    steps(f("staleness_limit_steps")),
                )
            } else {
                "Oracle: one price source; the mark is that raw source, errors included (no \
                 guard is possible with one source)."
                    .to_owned()
            };
            if f("fault_steps").is_some_and(|n| n > 0.0) {
                let what = if p("fault_stale") == Some("true") {
                    "stops updating".to_owned()
                } else {
                    let wick = f("fault_wick").unwrap_or(0.0);
                    format!(
                        "reports a price {} {}",
                        pct(wick.abs()),
                        if wick < 0.0 { "too low" } else { "too high" }
                    )
                };
                text.push_str(&format!(
                    " Injected fault: source {} {what} for {} from step {}.",
                    f("faulty_source").map_or_else(|| "0".to_owned(), plain),
                    steps(f("fault_steps")),
                    f("fault_start_step").map_or_else(|| "0".to_owned(), plain),
                ));
            }
            text
        }
        "collateral" => describe_collateral(s),
        other => {
            let settings: Vec<String> = s
                .parameters
                .iter()
                .filter_map(|(k, v)| {
                    let field = k.strip_prefix(&format!("controls.{other}."))?;
                    (field != "enabled").then(|| format!("{field} {v}"))
                })
                .collect();
            if settings.is_empty() {
                format!("{}: enabled.", title_case(other))
            } else {
                format!("{}: {}.", title_case(other), settings.join(", "))
            }
        }
    }
}

/// `[controls.collateral]` in words: per asset, who holds it, its weight and
/// where its price comes from (with the schedule's lowest point).
fn describe_collateral(s: &Summary) -> String {
    const PREFIX: &str = "controls.collateral.asset.";
    let mut names: Vec<&str> = s
        .parameters
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(PREFIX)?.strip_suffix(".haircut"))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return "Collateral: enabled, no asset.".to_owned();
    }
    let assets: Vec<String> = names
        .iter()
        .map(|name| {
            let f = |field: &str| param_f64(s, &format!("{PREFIX}{name}.{field}"));
            let market = param(s, &format!("{PREFIX}{name}.market"));
            let mut lowest: Option<(f64, String)> = None;
            for i in 0.. {
                let Some(price) = f(&format!("schedule.{i}.price")) else {
                    break;
                };
                let at = param(s, &format!("{PREFIX}{name}.schedule.{i}.at"))
                    .map(str::to_owned)
                    .or_else(|| {
                        f(&format!("schedule.{i}.step")).map(|n| format!("step {}", plain(n)))
                    })
                    .unwrap_or_default();
                if lowest.as_ref().is_none_or(|(p, _)| price < *p) {
                    lowest = Some((price, at));
                }
            }
            let price = match (market, &lowest) {
                (Some(m), None) => format!("priced at the `{m}` mark"),
                (Some(m), Some((p, at))) => {
                    format!(
                        "priced at the `{m}` mark times a schedule (lowest {}× at {at})",
                        plain(*p)
                    )
                }
                (None, Some((p, at))) => {
                    format!("priced by a schedule, lowest {} USD at {at}", plain(*p))
                }
                (None, None) => "with no price path".to_owned(),
            };
            format!(
                "`{name}` held by {} of cross-margin accounts as {} of their margin, counted at {} \
                 of its value, {price}",
                f("holders").map_or_else(|| "(not stated)".to_owned(), pct),
                f("share").map_or_else(|| "(not stated)".to_owned(), pct),
                f("haircut").map_or_else(|| "(not stated)".to_owned(), |h| pct(1.0 - h)),
            )
        })
        .collect();
    format!(
        "Collateral: {}. Holders start with the same margin as with USD alone (they posted \
         more value than it counts for); a liquidation first sells the account's assets at \
         market, and closes positions only if that does not restore it.",
        assets.join("; ")
    )
}

fn title_case(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How a controls metric is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricUnit {
    /// A whole number.
    Count,
    /// A multiplier (`2.0×`).
    Multiplier,
    /// US dollars.
    Usd,
}

/// The label and unit of a controls metric; unknown names get a label made from
/// the name, and a unit guessed from it (`collateral_*` metrics are USD unless
/// the name says they count something).
#[must_use]
pub fn metric_label(metric: &str) -> (String, MetricUnit) {
    let known = match metric {
        "breaker_trips" => Some(("Circuit-breaker trips", MetricUnit::Count)),
        "breaker_steps_paused" => Some(("Steps with liquidations paused", MetricUnit::Count)),
        "margin_multiplier_max" => Some(("Largest margin multiplier", MetricUnit::Multiplier)),
        "oracle_sources_dropped" => Some((
            "Oracle readings dropped by the deviation guard",
            MetricUnit::Count,
        )),
        "oracle_stale_ignored" => Some(("Stale oracle readings ignored", MetricUnit::Count)),
        "collateral_converted" => Some(("Collateral sold at liquidations (USD)", MetricUnit::Usd)),
        "collateral_conversions" => Some(("Accounts whose collateral was sold", MetricUnit::Count)),
        _ => None,
    };
    if let Some((label, unit)) = known {
        return (label.to_owned(), unit);
    }
    let counts = [
        "count", "events", "accounts", "trips", "steps", "readings", "assets",
    ];
    let unit = if metric.starts_with("margin_multiplier") {
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
    };
    let mut label = title_case(metric);
    if unit == MetricUnit::Usd {
        label.push_str(" (USD)");
    }
    (label, unit)
}

/// `v` in `unit`.
#[must_use]
pub fn metric_value(v: f64, unit: MetricUnit) -> String {
    match unit {
        MetricUnit::Count => {
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
        .chain(data.paths.columns.keys())
        .filter(|k| is_control_metric(k))
        .cloned()
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

/// One circuit-breaker pause, reconstructed from the marks.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    /// Index (into the path series) of the step that tripped the breaker.
    pub start: usize,
    /// Steps paused (the tripping step included; fewer at the end of the run).
    pub steps: usize,
    /// Liquidations during the pause (none execute while paused).
    pub liquidations_during: f64,
    /// Steps of the window after the pause (up to `pause_steps`, not paused).
    pub after_steps: usize,
    /// Liquidations in the window after the pause.
    pub liquidations_after: f64,
    /// Notional liquidated in the window after the pause, USD.
    pub notional_after: f64,
    /// Bad debt incurred in the window after the pause, USD.
    pub bad_debt_after: f64,
    /// Change of the insurance fund from before the pause to the end of the
    /// window after it, USD.
    pub fund_change: f64,
}

/// The breaker's pauses of a one-path run and what followed them.
#[derive(Debug, Clone, PartialEq)]
pub struct PauseAnalysis {
    /// Whether each step of the path series was paused.
    pub paused: Vec<bool>,
    /// Every pause, in time order.
    pub pauses: Vec<Pause>,
    /// Steps in the run.
    pub steps: usize,
    /// Steps in the windows after the pauses (each counted once).
    pub after_steps: usize,
    /// Liquidations in those windows.
    pub liquidations_after: f64,
    /// Notional liquidated in those windows, USD.
    pub notional_after: f64,
    /// Bad debt in those windows, USD.
    pub bad_debt_after: f64,
    /// Liquidations in the whole run.
    pub liquidations_total: f64,
    /// Notional liquidated in the whole run, USD.
    pub notional_total: f64,
    /// Bad debt in the whole run, USD.
    pub bad_debt_total: f64,
}

/// Why the pauses of a run could not be reconstructed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoPauses(pub String);

/// The breaker's pauses of a one-path run, read from `steps.parquet`'s
/// `liquidations_paused` column, checked against the run's `breaker_trips` and
/// `breaker_steps_paused`; a mismatch is refused rather than reported.
///
/// # Errors
///
/// [`NoPauses`] with the reason when the run is not a one-path run with a
/// breaker, has no per-step series, or the series disagrees with the run's own
/// counts.
pub fn breaker_pauses(data: &ReportData) -> Result<PauseAnalysis, NoPauses> {
    let s = &data.summary;
    if !enabled_controls(s).iter().any(|c| c == "breaker") {
        return Err(NoPauses("the scenario has no circuit breaker".to_owned()));
    }
    if !data.single_path() {
        return Err(NoPauses(format!(
            "the steps of each pause are kept for one-path runs only (this run has {} paths)",
            count(s.paths as f64)
        )));
    }
    let Some(series) = data.path0.as_ref().filter(|p| !p.is_empty()) else {
        return Err(NoPauses("the run has no steps.parquet".to_owned()));
    };
    let Some(pause) = param_f64(s, "controls.breaker.pause_steps") else {
        return Err(NoPauses(
            "summary.json does not state the breaker's pause".to_owned(),
        ));
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let pause = pause.max(1.0) as usize;
    let paused = series.liquidations_paused.clone();
    let trips = paused
        .iter()
        .enumerate()
        .filter(|(i, p)| **p && (*i == 0 || !paused[i - 1] || is_trip(&paused, *i, pause)))
        .count();
    let steps_paused = paused.iter().filter(|p| **p).count();
    let recorded = |m: &str| run_value(data, m);
    #[allow(clippy::cast_precision_loss)]
    let (trips_f, paused_f) = (trips as f64, steps_paused as f64);
    match (recorded("breaker_trips"), recorded("breaker_steps_paused")) {
        (Some(t), Some(p)) if t == trips_f && p == paused_f => {}
        (Some(t), Some(p)) => {
            return Err(NoPauses(format!(
                "the paused steps recorded in steps.parquet ({} trips, {} steps) do not match \
                 the run's totals ({} trips, {} steps)",
                count(trips_f),
                count(paused_f),
                count(t),
                count(p)
            )));
        }
        _ => {
            return Err(NoPauses(
                "the run does not record breaker_trips and breaker_steps_paused".to_owned(),
            ));
        }
    }
    Ok(analyse(series, paused, pause))
}

/// Whether step `i`, paused like step `i − 1`, starts a new pause: the previous
/// pause (started `pause` steps earlier at the latest) is over.
fn is_trip(paused: &[bool], i: usize, pause: usize) -> bool {
    // Walk back to the start of the run of paused steps, counting whole pauses.
    let mut start = i;
    while start > 0 && paused[start - 1] {
        start -= 1;
    }
    (i - start).is_multiple_of(pause)
}

fn analyse(series: &PathSeries, paused: Vec<bool>, pause: usize) -> PauseAnalysis {
    let n = series.len();
    let notional = |i: usize| series.liquidated_long[i] + series.liquidated_short[i];
    let mut pauses = Vec::new();
    let mut in_after = vec![false; n];
    let mut i = 0;
    while i < n {
        if !paused[i] || (i > 0 && paused[i - 1] && !is_trip(&paused, i, pause)) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = start;
        while end < n && end - start < pause && paused[end] {
            end += 1;
        }
        let after: Vec<usize> = (end..(end + pause).min(n))
            .filter(|k| !paused[*k])
            .collect();
        for k in &after {
            in_after[*k] = true;
        }
        let before = if start > 0 {
            series.insurance_fund[start - 1]
        } else {
            series.insurance_fund[start]
        };
        let last = after
            .last()
            .copied()
            .unwrap_or(end.saturating_sub(1).max(start));
        pauses.push(Pause {
            start,
            steps: end - start,
            liquidations_during: (start..end).map(|k| series.liquidations[k]).sum(),
            after_steps: after.len(),
            liquidations_after: after.iter().map(|k| series.liquidations[*k]).sum(),
            notional_after: after.iter().map(|k| notional(*k)).sum(),
            bad_debt_after: after.iter().map(|k| series.bad_debt[*k]).sum(),
            fund_change: series.insurance_fund[last] - before,
        });
        i = end;
    }
    let sum_where =
        |f: &dyn Fn(usize) -> f64| -> f64 { (0..n).filter(|k| in_after[*k]).map(f).sum() };
    PauseAnalysis {
        after_steps: in_after.iter().filter(|b| **b).count(),
        liquidations_after: sum_where(&|k| series.liquidations[k]),
        notional_after: sum_where(&notional),
        bad_debt_after: sum_where(&|k| series.bad_debt[k]),
        liquidations_total: series.liquidations.iter().sum(),
        notional_total: (0..n).map(notional).sum(),
        bad_debt_total: series.bad_debt.iter().sum(),
        steps: n,
        paused,
        pauses,
    }
}

/// Share `part / whole` as a percentage, `n/a` for an empty whole.
fn share(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        pct(part / whole)
    } else {
        "n/a".to_owned()
    }
}

/// The controls section of a report, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlsSection {
    /// Each enabled control's settings, in words.
    pub settings: Vec<String>,
    /// Column headings of the metrics table.
    pub metrics_head: Vec<String>,
    /// The metrics table: label, then values.
    pub metrics: Vec<Vec<String>>,
    /// What happened after the breaker's pauses, in words (or why it is not shown).
    pub pauses_text: Vec<String>,
    /// The per-pause table: headings and rows (empty without pauses).
    pub pauses_table: (Vec<String>, Vec<Vec<String>>),
}

/// Most pauses listed one by one.
const MAX_PAUSE_ROWS: usize = 20;

/// The controls section of `data`, `None` when the scenario enables no control
/// and no `collateral_*` metric is non-zero. `when` gives the time from the
/// start of the run to a step, for the pause table.
#[must_use]
pub fn section(data: &ReportData, when: &dyn Fn(f64) -> String) -> Option<ControlsSection> {
    let s = &data.summary;
    let enabled = enabled_controls(s);
    let names = control_metric_names(data);
    let collateral_used = names
        .iter()
        .filter(|m| m.starts_with("collateral_"))
        .any(|m| run_value(data, m).is_some_and(|v| v != 0.0));
    if enabled.is_empty() && !collateral_used {
        return None;
    }
    let settings: Vec<String> = enabled.iter().map(|c| describe(s, c)).collect();
    let multi = !data.single_path();
    let metrics_head: Vec<String> = if multi {
        ["metric", "mean", "p50", "p99", "max"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect()
    } else {
        vec!["metric".to_owned(), "value".to_owned()]
    };
    // The metrics of the controls enabled, and any other that is not zero.
    let metrics: Vec<Vec<String>> = names
        .iter()
        .filter(|m| {
            enabled.iter().any(|c| c == metric_control(m))
                || run_value(data, m).is_some_and(|v| v != metric_neutral(m))
        })
        .filter_map(|m| {
            let (label, unit) = metric_label(m);
            let mut row = vec![label];
            match (multi, s.aggregates.metrics.get(m)) {
                (true, Some(q)) => {
                    row.extend([q.mean, q.p50, q.p99, q.max].map(|v| metric_value(v, unit)));
                }
                _ => row.push(metric_value(run_value(data, m)?, unit)),
            }
            Some(row)
        })
        .collect();
    let mut pauses_text = Vec::new();
    let mut pauses_table = (Vec::new(), Vec::new());
    if enabled.iter().any(|c| c == "breaker") {
        match breaker_pauses(data) {
            Ok(a) if a.pauses.is_empty() => {
                pauses_text.push("The circuit breaker never tripped in this run.".to_owned());
            }
            Ok(a) => {
                #[allow(clippy::cast_precision_loss)]
                let (after, steps, paused) = (
                    a.after_steps as f64,
                    a.steps as f64,
                    a.paused.iter().filter(|p| **p).count() as f64,
                );
                let per_step = |x: f64, n: f64| if n > 0.0 { x / n } else { 0.0 };
                pauses_text.push(format!(
                    "The circuit breaker tripped {} times and paused liquidations for {} steps \
                     ({} of the run), as recorded step by step in steps.parquet.",
                    count(a.pauses.len() as f64),
                    count(paused),
                    share(paused, steps),
                ));
                pauses_text.push(format!(
                    "After the pauses: in the {} steps right after them ({} of the run) came {} \
                     liquidations ({} of the run's {}), {} of notional ({} of the run's) and {} \
                     of bad debt ({} of the run's {}). That is {} liquidations per step against \
                     {} per step over the whole run.",
                    count(after),
                    share(after, steps),
                    count(a.liquidations_after),
                    share(a.liquidations_after, a.liquidations_total),
                    count(a.liquidations_total),
                    usd(a.notional_after),
                    share(a.notional_after, a.notional_total),
                    usd(a.bad_debt_after),
                    share(a.bad_debt_after, a.bad_debt_total),
                    usd(a.bad_debt_total),
                    plain((per_step(a.liquidations_after, after) * 10.0).round() / 10.0),
                    plain((per_step(a.liquidations_total, steps) * 10.0).round() / 10.0),
                ));
                let head = [
                    "pause",
                    "starts at",
                    "steps paused",
                    "liquidations during",
                    "steps after",
                    "liquidations after",
                    "notional after",
                    "bad debt after",
                    "fund change",
                ]
                .iter()
                .map(|h| (*h).to_owned())
                .collect();
                let rows = a
                    .pauses
                    .iter()
                    .take(MAX_PAUSE_ROWS)
                    .enumerate()
                    .map(|(k, p)| {
                        let step = series_step(data, p.start);
                        #[allow(clippy::cast_precision_loss)]
                        let cells = vec![
                            (k + 1).to_string(),
                            when(step),
                            count(p.steps as f64),
                            count(p.liquidations_during),
                            count(p.after_steps as f64),
                            count(p.liquidations_after),
                            usd(p.notional_after),
                            usd(p.bad_debt_after),
                            signed_usd(p.fund_change),
                        ];
                        cells
                    })
                    .collect();
                if a.pauses.len() > MAX_PAUSE_ROWS {
                    pauses_text.push(format!(
                        "The table lists the first {MAX_PAUSE_ROWS} of {} pauses.",
                        a.pauses.len()
                    ));
                }
                pauses_text.push(
                    "\"After\" is the window of as many steps as a pause lasts, right after it \
                     (steps paused again excluded, so a pause followed at once by another has \
                     none); \"starts at\" is the time since the start of the run; the fund \
                     change runs from the step before the pause to the end of that window."
                        .to_owned(),
                );
                pauses_table = (head, rows);
            }
            Err(NoPauses(reason)) => {
                pauses_text.push(format!(
                    "What happened after each pause is not shown: {reason}."
                ));
            }
        }
    }
    Some(ControlsSection {
        settings,
        metrics_head,
        metrics,
        pauses_text,
        pauses_table,
    })
}

/// The step number of series index `i`.
fn series_step(data: &ReportData, i: usize) -> f64 {
    data.path0
        .as_ref()
        .and_then(|p| p.step.get(i))
        .map_or(0.0, |s| f64::from(*s))
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

/// The series the margin-multiplier chart draws, `None` unless the run is one
/// path with the volatility margin on and a per-step series.
#[must_use]
pub fn multiplier_series(data: &ReportData) -> Option<&PathSeries> {
    if !enabled_controls(&data.summary)
        .iter()
        .any(|c| c == "vol_margin")
    {
        return None;
    }
    data.path0
        .as_ref()
        .filter(|p| !p.is_empty() && p.margin_multiplier.iter().any(|m| m.is_finite()))
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
