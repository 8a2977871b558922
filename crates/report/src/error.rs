//! The crate's one error type.

use std::path::PathBuf;

use backstop_data::DataError;

/// Everything that can go wrong while loading results or rendering a report.
///
/// Every variant names the file (or chart) it concerns, so a message printed by the
/// program is enough to find the problem.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading or writing a file failed.
    #[error("{}: {context}: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file is not valid JSON.
    #[error("{}: not valid JSON: {source}", path.display())]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A required field is absent.
    #[error("{}: missing field `{field}`", file.display())]
    MissingField {
        /// The file concerned.
        file: PathBuf,
        /// Dotted path of the field, e.g. `aggregates.cover_1`.
        field: String,
    },
    /// A field is present but has the wrong type or an impossible value.
    #[error("{}: field `{field}`: {reason}", file.display())]
    InvalidField {
        /// The file concerned.
        file: PathBuf,
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it, e.g. "expected a number from 0 to 1".
        reason: String,
    },
    /// A Parquet results file could not be read (the error names the file).
    #[error(transparent)]
    Data(#[from] DataError),
    /// Input that passed the readers but cannot be charted (e.g. a ragged sweep grid).
    #[error("{what}: {reason}")]
    Invalid {
        /// The input concerned.
        what: String,
        /// Why it was rejected.
        reason: String,
    },
    /// plotters failed to draw a chart.
    #[error("chart `{chart}`: drawing failed: {message}")]
    Chart {
        /// File stem of the chart.
        chart: String,
        /// plotters' message.
        message: String,
    },
    /// Encoding a chart as PNG failed.
    #[error("chart `{chart}`: PNG encoding failed: {source}")]
    Png {
        /// File stem of the chart.
        chart: String,
        /// The encoder's error.
        #[source]
        source: png::EncodingError,
    },
}
