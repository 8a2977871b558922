//! The circuit breaker's pauses of a one-path run, read from `steps.parquet`
//! and checked against the run's own counts, and what followed each pause;
//! and the series the margin-multiplier chart draws.

use std::fmt;

use super::metrics::run_value;
use super::settings::{enabled_controls, param_f64};
use crate::data::{PathSeries, ReportData};
use crate::format::count;

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
#[derive(Debug, Clone, PartialEq)]
pub enum NoPauses {
    /// The scenario has no circuit breaker.
    NoBreaker,
    /// The run has more than one path.
    NotOnePath {
        /// Its paths.
        paths: u64,
    },
    /// The run has no per-step series.
    NoSteps,
    /// `summary.json` does not state the breaker's pause.
    NoPauseLength,
    /// The paused steps of `steps.parquet` disagree with the run's totals.
    Mismatch {
        /// Pauses counted in `steps.parquet`.
        trips: f64,
        /// Paused steps counted in `steps.parquet`.
        steps: f64,
        /// The run's `breaker_trips`.
        recorded_trips: f64,
        /// The run's `breaker_steps_paused`.
        recorded_steps: f64,
    },
    /// The run does not record `breaker_trips` and `breaker_steps_paused`.
    NotRecorded,
    /// The run is longer than the report reads step by step (its series is
    /// downsampled for the charts).
    Downsampled {
        /// Steps of the run.
        steps: usize,
        /// Steps per point of the charts' series.
        steps_per_point: u32,
    },
}

impl fmt::Display for NoPauses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBreaker => f.write_str("the scenario has no circuit breaker"),
            #[allow(clippy::cast_precision_loss)]
            Self::NotOnePath { paths } => write!(
                f,
                "the steps of each pause are kept for one-path runs only (this run has {} paths)",
                count(*paths as f64)
            ),
            Self::NoSteps => f.write_str("the run has no steps.parquet"),
            Self::NoPauseLength => f.write_str("summary.json does not state the breaker's pause"),
            Self::Mismatch {
                trips,
                steps,
                recorded_trips,
                recorded_steps,
            } => write!(
                f,
                "the paused steps recorded in steps.parquet ({} trips, {} steps) do not match \
                 the run's totals ({} trips, {} steps)",
                count(*trips),
                count(*steps),
                count(*recorded_trips),
                count(*recorded_steps)
            ),
            Self::NotRecorded => {
                f.write_str("the run does not record breaker_trips and breaker_steps_paused")
            }
            #[allow(clippy::cast_precision_loss)]
            Self::Downsampled {
                steps,
                steps_per_point,
            } => write!(
                f,
                "the run's {} steps are read back {} steps to a point for the charts \
                 (docs/model.md, \"Charts of long runs\"), not step by step",
                count(*steps as f64),
                count(f64::from(*steps_per_point))
            ),
        }
    }
}

impl std::error::Error for NoPauses {}

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
        return Err(NoPauses::NoBreaker);
    }
    if !data.single_path() {
        return Err(NoPauses::NotOnePath { paths: s.paths });
    }
    let Some(series) = data.path0.as_ref().filter(|p| !p.is_empty()) else {
        return Err(NoPauses::NoSteps);
    };
    if series.steps_per_point > 1 {
        return Err(NoPauses::Downsampled {
            steps: series.steps_total,
            steps_per_point: series.steps_per_point,
        });
    }
    let Some(pause) = param_f64(s, "controls.breaker.pause_steps") else {
        return Err(NoPauses::NoPauseLength);
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
            return Err(NoPauses::Mismatch {
                trips: trips_f,
                steps: paused_f,
                recorded_trips: t,
                recorded_steps: p,
            });
        }
        _ => return Err(NoPauses::NotRecorded),
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

/// The step number of series index `i`.
pub(crate) fn series_step(data: &ReportData, i: usize) -> f64 {
    data.path0
        .as_ref()
        .and_then(|p| p.step.get(i))
        .map_or(0.0, |s| f64::from(*s))
}
