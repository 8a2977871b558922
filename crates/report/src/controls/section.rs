//! The controls section of a report: each enabled control's settings, the
//! controls metrics, and for a one-path run with a circuit breaker what
//! happened right after each pause.

use super::metrics::{
    control_metric_names, metric_control, metric_label, metric_neutral, metric_value, run_value,
    signed_usd,
};
use super::pauses::breaker_pauses;
use super::settings::{describe, enabled_controls};
use crate::data::ReportData;
use crate::format::{count, pct, plain, usd};
use crate::pause_log::PauseAnalysis;

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
    let (metrics_head, metrics) = metrics_table(data, &enabled, &names);
    let mut pauses_text = Vec::new();
    let mut pauses_table = (Vec::new(), Vec::new());
    if enabled.iter().any(|c| c == "breaker") {
        match breaker_pauses(data) {
            Ok(a) if a.pauses.is_empty() => {
                pauses_text.push("The circuit breaker never tripped in this run.".to_owned());
            }
            Ok(a) => {
                pauses_text = pause_words(&a);
                pauses_table = pause_table(&a, when);
            }
            Err(why) => {
                pauses_text.push(format!(
                    "What happened after each pause is not shown: {why}."
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

/// The metrics table: the metrics of the controls `enabled`, and any other that
/// is not at its neutral value; mean and quantiles across paths, or the one
/// path's value.
fn metrics_table(
    data: &ReportData,
    enabled: &[String],
    names: &[String],
) -> (Vec<String>, Vec<Vec<String>>) {
    let s = &data.summary;
    let multi = !data.single_path();
    let head: Vec<String> = if multi {
        ["metric", "mean", "p50", "p99", "max"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect()
    } else {
        vec!["metric".to_owned(), "value".to_owned()]
    };
    let rows = names
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
    (head, rows)
}

/// What the breaker's pauses did, in words (the run had some).
fn pause_words(a: &PauseAnalysis) -> Vec<String> {
    #[allow(clippy::cast_precision_loss)]
    let (after, steps, paused) = (a.after_steps as f64, a.steps as f64, a.steps_paused as f64);
    let per_step = |x: f64, n: f64| if n > 0.0 { x / n } else { 0.0 };
    let mut words = vec![
        format!(
            "The circuit breaker tripped {} times and paused liquidations for {} steps \
             ({} of the run), as recorded step by step in steps.parquet.",
            count(a.trips as f64),
            count(paused),
            share(paused, steps),
        ),
        format!(
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
        ),
    ];
    if a.trips > a.pauses.len() {
        words.push(format!(
            "The table lists the first {} of {} pauses.",
            count(a.pauses.len() as f64),
            count(a.trips as f64)
        ));
    }
    words.push(
        "\"After\" is the window of as many steps as a pause lasts, right after it \
         (steps paused again excluded, so a pause followed at once by another has \
         none); \"starts at\" is the time since the start of the run; the fund \
         change runs from the step before the pause to the end of that window."
            .to_owned(),
    );
    words
}

/// The per-pause table: the pauses kept, the first [`PAUSES_KEPT`](crate::pause_log::PAUSES_KEPT).
fn pause_table(a: &PauseAnalysis, when: &dyn Fn(f64) -> String) -> (Vec<String>, Vec<Vec<String>>) {
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
        .enumerate()
        .map(|(k, p)| {
            let step = f64::from(p.start_step);
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
    (head, rows)
}
