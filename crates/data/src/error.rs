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

    /// The columns of a [`StepsTable`](crate::StepsTable) have different lengths.
    #[error(
        "{}: column `{column}` has {found} values but column `step` has {expected}",
        display_opt_path(.path.as_deref())
    )]
    LengthMismatch {
        /// The file being written, or `None` when validating a table in memory.
        path: Option<PathBuf>,
        /// The column whose length differs.
        column: String,
        /// The length of the `step` column.
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
}

fn display_opt_path(path: Option<&Path>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "steps table (in memory)".to_owned(),
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
