//! The crate's error type.

use std::path::{Path, PathBuf};

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

/// Everything that can go wrong reading or writing backstop data files.
///
/// Every message names the file it concerns; column-level errors also name
/// the column and the expected and found type, and row-level errors name the
/// 0-based row index and the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// An operating-system I/O operation failed.
    #[error("{}: {action}: {source}", .path.display())]
    Io {
        /// The file the operation concerned.
        path: PathBuf,
        /// What was being attempted, e.g. "failed to open file for reading".
        action: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The path cannot be used as given (for example it has no file name).
    #[error("{}: invalid path: {reason}", .path.display())]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
        /// Why it is unusable.
        reason: &'static str,
    },

    /// The file could not be opened as Parquet (bad magic, corrupt footer, empty file).
    #[error("{}: not a readable Parquet file: {source}", .path.display())]
    NotParquet {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader reported.
        #[source]
        source: ParquetError,
    },

    /// The Parquet library failed while encoding or decoding.
    #[error("{}: {action}: {source}", .path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What was being attempted.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: ParquetError,
    },

    /// The Arrow library failed while building or decoding record batches.
    #[error("{}: {action}: {source}", .path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// What was being attempted.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: ArrowError,
    },

    /// The file declares a different backstop schema (`backstop.schema` metadata)
    /// from the one being read.
    #[error(
        "{}: file holds schema {found:?} (metadata key `backstop.schema`), expected {expected:?}",
        .path.display()
    )]
    SchemaMismatch {
        /// The file.
        path: PathBuf,
        /// The schema identifier the reader understands.
        expected: String,
        /// The schema identifier stored in the file.
        found: String,
    },

    /// A required column is absent.
    #[error(
        "{}: missing required column `{column}` (expected type {expected_type})",
        .path.display()
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// The Arrow type the column should have.
        expected_type: String,
    },

    /// A required column has a type this crate cannot read.
    #[error("{}: column `{column}` has type {found}, expected {expected}", .path.display())]
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// The accepted Arrow type(s).
        expected: String,
        /// The Arrow type found in the file.
        found: String,
    },

    /// A required column name occurs more than once, so which to read is ambiguous.
    #[error("{}: column `{column}` appears more than once", .path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
    },

    /// A non-nullable column holds a null.
    #[error("{}: row {row}: column `{column}` is null", .path.display())]
    NullValue {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// 0-based row index within the file (or the slice being written).
        row: usize,
    },

    /// A value breaks the schema's rules (non-finite float, negative collateral, ...).
    #[error("{}: row {row}: column `{column}`: {reason}", .path.display())]
    InvalidValue {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// 0-based row index within the file (or the slice being written).
        row: usize,
        /// What is wrong with the value.
        reason: String,
    },

    /// The columns of a table ([`StepsTable`](crate::StepsTable), ...) have
    /// different lengths.
    #[error(
        "{}: column `{column}` has {found} values but {reference} has {expected}",
        display_opt_path(.path.as_deref())
    )]
    LengthMismatch {
        /// The file being written, or `None` when validating a table in memory.
        path: Option<PathBuf>,
        /// The column whose length differs.
        column: String,
        /// What sets the expected length, in words: "column `step`", "the
        /// metric table".
        reference: String,
        /// The expected length.
        expected: usize,
        /// The length of `column`.
        found: usize,
    },

    /// Caller-supplied metadata used a key this crate writes itself.
    #[error("{}: metadata key {key:?} is reserved", .path.display())]
    ReservedMetadataKey {
        /// The file being written.
        path: PathBuf,
        /// The reserved key.
        key: String,
    },

    /// Caller-supplied metadata gave the same key twice.
    #[error("{}: metadata key {key:?} given more than once", .path.display())]
    DuplicateMetadataKey {
        /// The file being written.
        path: PathBuf,
        /// The repeated key.
        key: String,
    },

    /// A required key-value metadata key is absent (tick-history files).
    #[error("{}: missing required metadata key {key:?}", .path.display())]
    MissingMetadata {
        /// The file.
        path: PathBuf,
        /// The absent key, e.g. `backstop.symbol`.
        key: String,
    },

    /// A key-value metadata entry has an unusable value (tick-history files).
    #[error("{}: metadata key {key:?} = {value:?}: {reason}", .path.display())]
    InvalidMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The value found (or about to be written).
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Timestamps go backwards within one file (tick-history files must have
    /// non-decreasing `ts`).
    #[error(
        "{}: row {row}: column `ts`: timestamp {ts_ns} ns is earlier than {previous_ts_ns} ns \
         at row {previous_row}; timestamps must be non-decreasing",
        .path.display()
    )]
    UnsortedTimestamps {
        /// The file (being read, or being written).
        path: PathBuf,
        /// 0-based row index of the offending row.
        row: usize,
        /// Its timestamp, ns since the Unix epoch.
        ts_ns: i64,
        /// 0-based row index of the row read just before it.
        previous_row: usize,
        /// That row's (later) timestamp, ns since the Unix epoch.
        previous_ts_ns: i64,
    },

    /// An argument not tied to a file is unusable (a time window, a step, an
    /// event stream out of order, ...).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What the argument is, e.g. "time window".
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// An importer's input file is empty, or holds a header but no data rows.
    #[error("{}: {what}", .path.display())]
    EmptyInput {
        /// The input file (the archive, for a compressed input).
        path: PathBuf,
        /// What is missing, e.g. "the file is empty".
        what: &'static str,
    },

    /// An importer's CSV input lacks a column its format requires.
    #[error("{}: missing required CSV column `{column}` ({found})", .path.display())]
    MissingCsvColumn {
        /// The input file (the archive, for a compressed input).
        path: PathBuf,
        /// The required column, by its name in the venue's published layout.
        column: String,
        /// What the file has instead, e.g. "header: a, b, c" or "no header, 5 columns".
        found: String,
    },

    /// `backstop import` without a format: neither the input's file name nor
    /// its header says which format it is.
    #[error("{}: cannot tell the import format from the file name or the header{}; {known} (or pass --format)", .path.display(), .header.as_deref().map(|h| format!(" (header: {h})")).unwrap_or_default())]
    UnrecognizedFormat {
        /// The input file.
        path: PathBuf,
        /// Its first line, when it has one that looks like a header.
        header: Option<String>,
        /// The formats and the file-name patterns and headers known.
        known: String,
    },

    /// An importer's compressed input (`.gz`, `.zip`) cannot be decompressed:
    /// truncated, corrupt, or not the expected archive layout.
    #[error("{}: cannot decompress {format} input: {reason}", .path.display())]
    Decompress {
        /// The compressed file.
        path: PathBuf,
        /// `gzip` or `zip`.
        format: &'static str,
        /// What went wrong, e.g. "truncated (unexpected end of the gzip stream)".
        reason: String,
    },

    /// The dataframe engine behind the importers failed (unreadable CSV, a
    /// ragged line, an I/O error while writing, ...).
    #[error("{}: {action}: {reason}", .path.display())]
    Import {
        /// The input file concerned, or the output file when writing.
        path: PathBuf,
        /// What was being attempted.
        action: &'static str,
        /// The engine's message.
        reason: String,
    },

    /// An inverse (COIN-M) symbol whose contract face value the importers do
    /// not know; pass it explicitly.
    #[error(
        "unknown contract size for inverse symbol {symbol:?}: pass contract_size_usd \
         (USD face value of one contract, e.g. 100 for BTCUSD_PERP, 10 for most others)"
    )]
    UnknownContractSize {
        /// The symbol.
        symbol: String,
    },

    /// A freshly imported file failed the check made by reading it back with
    /// this crate's own reader; nothing was written to the output path.
    #[error("{}: imported data failed verification: {source}", .path.display())]
    ImportVerification {
        /// The output path that was not written.
        path: PathBuf,
        /// What the reader reported.
        #[source]
        source: Box<DataError>,
    },

    /// A JSON file (`summary.json`) could not be written or read.
    #[error("{}: {action}: {source}", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What was being attempted, e.g. "failed to write JSON".
        action: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// Resampling was asked to start before the first price in the event stream.
    #[error(
        "cannot resample from {start_ns} ns: {}",
        display_first_price(*.first_price_ts_ns)
    )]
    NoPriceAtStart {
        /// The first step boundary, ns since the Unix epoch.
        start_ns: i64,
        /// Timestamp of the first price-bearing event, if there is one.
        first_price_ts_ns: Option<i64>,
    },
}

fn display_opt_path(path: Option<&Path>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "steps table (in memory)".to_owned(),
    }
}

fn display_first_price(first: Option<i64>) -> String {
    match first {
        Some(ts) => format!("the first price event is at {ts} ns, after the start"),
        None => "the event stream holds no price events".to_owned(),
    }
}

impl DataError {
    /// Builds an [`DataError::Io`] for `path`.
    pub(crate) fn io(path: &Path, action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            action: action.into(),
            source,
        }
    }

    /// Builds an [`DataError::InvalidValue`].
    pub(crate) fn invalid(
        path: &Path,
        row: usize,
        column: &str,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidValue {
            path: path.to_owned(),
            column: column.to_owned(),
            row,
            reason: reason.into(),
        }
    }
}
