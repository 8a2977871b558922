//! What can go wrong building or walking price paths.
//!
//! [`PathError`] is this layer's error; `crate::SimError` takes it over with the
//! same text (a [`PathModelError`] as `path: …`, a [`ReplayError`] as is).

use std::path::PathBuf;

use backstop_data::DataError;

use crate::cholesky::CorrelationMatrixError;
use crate::config::field::FieldError;
use crate::config::key_path::KeyPath;

/// Building or walking the paths of a run.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// Reading a history or prices file.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A path model that cannot be built.
    #[error("path: {0}")]
    Model(PathModelError),
    /// A replay's files cannot be used.
    #[error("{0}")]
    Replay(ReplayError),
}

impl From<PathModelError> for PathError {
    fn from(e: PathModelError) -> PathError {
        PathError::Model(e)
    }
}

impl From<ReplayError> for PathError {
    fn from(e: ReplayError) -> PathError {
        PathError::Replay(e)
    }
}

/// A replay whose files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A file's metadata cannot be read.
    #[error("{key}: {error}")]
    Metadata {
        /// The scenario key naming the file (`path.market.btc.prices`).
        key: KeyPath,
        /// What went wrong.
        error: Box<DataError>,
    },
    /// A file of the wrong schema for its key.
    #[error("{key}: {} is a {found} file, expected {expected}", file.display())]
    Schema {
        /// The scenario key naming the file.
        key: KeyPath,
        /// The file.
        file: PathBuf,
        /// Its schema.
        found: &'static str,
        /// The schema its key needs.
        expected: &'static str,
    },
    /// A recorded funding rate (or the sum of those settling at one step) of
    /// 100% or more in size: no venue settles such a rate, and the file is
    /// broken (the same bound as `market.<m>.funding.rate`).
    #[error(
        "{key}: the recorded funding settling at {time} is {rate} per interval; a funding rate must be below 100% in size"
    )]
    FundingRate {
        /// The market's funding file key (`path.market.btc.funding`).
        key: KeyPath,
        /// When it settles (UTC).
        time: String,
        /// The rate, as a fraction.
        rate: f64,
    },
    /// A market without a price in the look-back before `start`.
    #[error("{key}: no price in the 24 hours up to start ({start})")]
    NoOpeningPrice {
        /// The market's key (`path.market.btc`).
        key: KeyPath,
        /// The scenario's start.
        start: String,
    },
}

/// A path model that cannot be built: bad parameters or unusable price history.
#[derive(Debug, thiserror::Error)]
pub enum PathModelError {
    /// A parameter the scenario's validation refuses.
    #[error("`{}`: {}", .0.key, .0.message)]
    Parameter(FieldError),
    /// A volatility that would overflow prices at this step.
    #[error(
        "`path.{key}` = {volatility} is {per_step:.3} per {step_seconds} s step, above {max}: prices would overflow"
    )]
    StepVolatility {
        /// Parameter name.
        key: &'static str,
        /// Its value (annualised).
        volatility: f64,
        /// Per step.
        per_step: f64,
        /// The scenario's step.
        step_seconds: u32,
        /// The largest per-step volatility accepted.
        max: f64,
    },
    /// A correlation matrix that is not one.
    #[error("`path.correlation.matrix`: {0}")]
    CorrelationMatrix(CorrelationMatrixError),
    /// The correlation estimated from files is not usable.
    #[error("the correlation estimated from `path.correlation.files`: {0}")]
    EstimatedCorrelation(CorrelationMatrixError),
    /// Too few common returns to estimate a correlation.
    #[error("`path.correlation.files`: fewer than 2 common log-returns at a {step_seconds} s step")]
    CorrelationReturns {
        /// The scenario's step.
        step_seconds: u32,
    },
    /// Student-t degrees of freedom `rand_distr` refuses.
    #[error("Student-t with dof {dof}: {error}")]
    StudentT {
        /// Degrees of freedom.
        dof: f64,
        /// Why.
        error: rand_distr::ChiSquaredError,
    },
    /// A jump rate per step `rand_distr` cannot sample.
    #[error("`path.intensity` {intensity} per year is {rate} jumps per step: {error}")]
    JumpRate {
        /// Jumps per year.
        intensity: f64,
        /// Jumps per step.
        rate: f64,
        /// Why.
        error: rand_distr::PoissonError,
    },
    /// A step of zero seconds.
    #[error("the step must be at least 1 s")]
    ZeroStep,
    /// A prices file with fewer than two prices.
    #[error("{}: has {count} price(s), at least 2 are needed for a return", file.display())]
    TooFewPrices {
        /// The file.
        file: PathBuf,
        /// Prices in it.
        count: usize,
    },
    /// A prices file whose prices all share one timestamp.
    #[error("{}: every price has the same timestamp, no return can be formed", file.display())]
    OneTimestamp {
        /// The file.
        file: PathBuf,
    },
    /// A file spacing that does not divide the step.
    #[error(
        "{}: prices are {native_s} s apart, which does not divide the scenario step of {step_s} s, so they cannot be resampled to it",
        file.display()
    )]
    NotResamplable {
        /// The file.
        file: PathBuf,
        /// Its spacing, seconds.
        native_s: f64,
        /// The step, seconds.
        step_s: f64,
    },
    /// Fewer common returns than a bootstrap block.
    #[error(
        "`path.files`: {returns} one-step log-returns at a {step_seconds} s step (common to every file), fewer than `path.mean_block_steps` = {mean_block_steps}"
    )]
    TooFewReturns {
        /// Common returns.
        returns: usize,
        /// The step.
        step_seconds: u32,
        /// Mean block length.
        mean_block_steps: f64,
    },
    /// An overlay window that is not a whole number of steps.
    #[error(
        "`path.end`: the window {start} – {end} is not a whole number of {step_seconds} s steps"
    )]
    WindowNotWhole {
        /// `path.start`.
        start: String,
        /// `path.end`.
        end: String,
        /// The step.
        step_seconds: u32,
    },
    /// An overlay window too long to count in steps.
    #[error("`path.end`: window too long")]
    WindowTooLong,
    /// No price inside an overlay window.
    #[error("{}: no price in the window [{start}, {end}) ns", file.display())]
    EmptyWindow {
        /// The file.
        file: PathBuf,
        /// Window start, ns.
        start: i64,
        /// Window end, ns.
        end: i64,
    },
    /// Data ending more than a step before the window's last step.
    #[error(
        "{}: the data ends at {last} ns, more than a step before the window's last step at {last_boundary} ns",
        file.display()
    )]
    DataEndsEarly {
        /// The file.
        file: PathBuf,
        /// Its last timestamp.
        last: i64,
        /// The window's last step.
        last_boundary: i64,
    },
    /// No price at or before the window's start.
    #[error("{}: window start: {error}", file.display())]
    WindowStart {
        /// The file.
        file: PathBuf,
        /// Why.
        error: Box<DataError>,
    },
    /// Calibration: a price that is not finite and positive.
    #[error("calibration: price {index} is {price}, prices must be finite and positive")]
    CalibrationPrice {
        /// Its index.
        index: usize,
        /// The price.
        price: f64,
    },
    /// Calibration: a file with fewer than 2 distinct timestamps.
    #[error("{}: fewer than 2 distinct timestamps, nothing to calibrate", file.display())]
    CalibrationTimestamps {
        /// The file.
        file: PathBuf,
    },
    /// Calibration: prices not a whole number of seconds apart.
    #[error("{}: prices are {spacing_s} s apart, not whole seconds: give a step", file.display())]
    CalibrationSpacing {
        /// The file.
        file: PathBuf,
        /// Spacing, seconds.
        spacing_s: f64,
    },
    /// Calibration: prices too far apart for a step in seconds.
    #[error("{}: prices too far apart", file.display())]
    CalibrationGap {
        /// The file.
        file: PathBuf,
    },
    /// Calibration: a zero step.
    #[error("calibration: the step must be at least 1 s")]
    CalibrationStep,
    /// Calibration: too few returns.
    #[error("calibration: {returns} log-returns, at least {min} are needed")]
    CalibrationReturns {
        /// Returns given.
        returns: usize,
        /// Returns needed.
        min: usize,
    },
    /// Calibration: constant prices.
    #[error("calibration: the prices never move, no volatility to fit")]
    CalibrationFlat,
}
