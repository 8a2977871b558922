//! The circuit breaker's pauses of a one-path run, folded from `steps.parquet`
//! as it was read (`crate::pause_log`) and checked against the run's own
//! counts; and the series the margin-multiplier chart draws.

use std::fmt;

use super::metrics::run_value;
use super::settings::enabled_controls;
use crate::data::{PathSeries, ReportData};
use crate::format::count;
use crate::pause_log::PauseAnalysis;

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
    /// `steps.parquet`'s step numbers do not increase from step to step.
    Unordered {
        /// The first step number not above the one before it.
        step: u32,
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
            Self::Unordered { step } => write!(
                f,
                "the step numbers of steps.parquet do not increase at step {step}"
            ),
        }
    }
}

impl std::error::Error for NoPauses {}

/// The breaker's pauses of a one-path run, folded over every step of
/// `steps.parquet`'s `liquidations_paused` column as it was read (also when the
/// charts' series is downsampled), checked against the run's `breaker_trips`
/// and `breaker_steps_paused`; a mismatch is refused rather than reported.
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
    let Some(folded) = &series.breaker_pauses else {
        return Err(NoPauses::NoPauseLength);
    };
    let a = folded
        .clone()
        .map_err(|step| NoPauses::Unordered { step })?;
    let recorded = |m: &str| run_value(data, m);
    #[allow(clippy::cast_precision_loss)]
    let (trips, paused) = (a.trips as f64, a.steps_paused as f64);
    match (recorded("breaker_trips"), recorded("breaker_steps_paused")) {
        (Some(t), Some(p)) if t == trips && p == paused => Ok(a),
        (Some(t), Some(p)) => Err(NoPauses::Mismatch {
            trips,
            steps: paused,
            recorded_trips: t,
            recorded_steps: p,
        }),
        _ => Err(NoPauses::NotRecorded),
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
