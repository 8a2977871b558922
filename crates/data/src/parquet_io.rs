//! Shared Parquet plumbing: deterministic writer settings, and a reader that
//! resolves, type-checks and projects the columns a schema needs.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::DataError;
use crate::atomic::write_atomically;
use crate::metadata::{build_key_value_metadata, check_schema_id};

/// Maximum number of rows per Parquet row group written by this crate.
pub const MAX_ROW_GROUP_ROWS: usize = 64 * 1024;

/// The fixed `created_by` string written into every file (no host, no time).
pub const CREATED_BY: &str = concat!("backstop-data ", env!("CARGO_PKG_VERSION"));

/// Time zones accepted as UTC for `Timestamp(Nanosecond, tz)` columns.
const UTC_ALIASES: [&str; 4] = ["UTC", "Etc/UTC", "+00:00", "Z"];

/// Writer settings shared by every file: snappy, page statistics, bounded
/// row groups, and nothing that varies between runs.
fn writer_properties(
    path: &Path,
    schema_id: &str,
    metadata: &[(String, String)],
) -> Result<WriterProperties, DataError> {
    let key_value_metadata = build_key_value_metadata(path, schema_id, metadata)?;
    Ok(WriterProperties::builder()
        .set_created_by(CREATED_BY.to_owned())
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_key_value_metadata(Some(key_value_metadata))
        .build())
}

/// Writes `batches` (each at most [`MAX_ROW_GROUP_ROWS`] rows, so each becomes
/// one row group) atomically to `path`.
pub(crate) fn write_parquet<I>(
    path: &Path,
    schema: &SchemaRef,
    schema_id: &str,
    metadata: &[(String, String)],
    batches: I,
) -> Result<(), DataError>
where
    I: IntoIterator<Item = Result<RecordBatch, DataError>>,
{
    let properties = writer_properties(path, schema_id, metadata)?;
    let parquet_err = |action| {
        move |source| DataError::Parquet {
            path: path.to_owned(),
            action,
            source,
        }
    };
    write_atomically(path, |file| {
        let mut writer = ArrowWriter::try_new(file, Arc::clone(schema), Some(properties))
            .map_err(parquet_err("failed to start Parquet writer"))?;
        for batch in batches {
            writer
                .write(&batch?)
                .map_err(parquet_err("failed to write Parquet data"))?;
        }
        writer
            .close()
            .map_err(parquet_err("failed to finish Parquet file"))?;
        Ok(())
    })
}

/// Builds a [`DataError::Arrow`] mapper for record-batch construction.
pub(crate) fn arrow_err(
    path: &Path,
    action: &'static str,
) -> impl FnOnce(arrow_schema::ArrowError) -> DataError {
    move |source| DataError::Arrow {
        path: path.to_owned(),
        action,
        source,
    }
}

/// The logical type a schema column is read as; each accepts a few physical
/// Arrow types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// `UInt64`, or `Int64` with non-negative values.
    U64,
    /// `UInt32`.
    U32,
    /// `Float64`.
    F64,
    /// `Boolean`.
    Bool,
    /// `Utf8`, `LargeUtf8`, `Utf8View`, or a dictionary of those.
    Str,
    /// `Timestamp(Nanosecond, "UTC")` (or an equivalent UTC zone name).
    TimestampNsUtc,
}

impl ColumnKind {
    /// Human-readable description of the accepted types, for error messages.
    fn expected(self) -> &'static str {
        match self {
            Self::U64 => "UInt64 (or non-negative Int64)",
            Self::U32 => "UInt32",
            Self::F64 => "Float64",
            Self::Bool => "Boolean",
            Self::Str => "Utf8 (or LargeUtf8, Utf8View, or a dictionary of them)",
            Self::TimestampNsUtc => "Timestamp(ns, \"UTC\")",
        }
    }

    fn accepts(self, data_type: &DataType) -> bool {
        fn is_string(data_type: &DataType) -> bool {
            matches!(
                data_type,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        match self {
            Self::U64 => matches!(data_type, DataType::UInt64 | DataType::Int64),
            Self::U32 => matches!(data_type, DataType::UInt32),
            Self::F64 => matches!(data_type, DataType::Float64),
            Self::Bool => matches!(data_type, DataType::Boolean),
            Self::Str => match data_type {
                DataType::Dictionary(key, value) => {
                    key.is_dictionary_key_type() && is_string(value)
                }
                other => is_string(other),
            },
            Self::TimestampNsUtc => match data_type {
                DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) => {
                    UTC_ALIASES.contains(&tz.as_ref())
                }
                _ => false,
            },
        }
    }
}

/// A column a schema requires: its name and how it is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnSpec {
    pub(crate) name: &'static str,
    pub(crate) kind: ColumnKind,
}

impl RequiredColumn for ColumnSpec {
    fn name(&self) -> &'static str {
        self.name
    }
    fn expected(&self) -> &'static str {
        self.kind.expected()
    }
    fn accepts(&self, found: &DataType) -> bool {
        self.kind.accepts(found)
    }
}

/// A column a reader requires: its name and the Arrow types it accepts. Shared by
/// the positions/steps readers and the tick-history readers, so columns are
/// resolved, and missing or mistyped ones reported, in one place.
pub(crate) trait RequiredColumn {
    /// Column name.
    fn name(&self) -> &'static str;
    /// The type expected, as shown in errors.
    fn expected(&self) -> &'static str;
    /// Whether a file's column type can be read as this column.
    fn accepts(&self, found: &DataType) -> bool;

    /// The error for a file without this column.
    fn missing(&self, path: &Path) -> DataError {
        DataError::MissingColumn {
            path: path.to_owned(),
            column: self.name().to_owned(),
            expected_type: self.expected().to_owned(),
        }
    }

    /// The error for a file whose column has another type.
    fn wrong_type(&self, path: &Path, found: &DataType) -> DataError {
        DataError::ColumnType {
            path: path.to_owned(),
            column: self.name().to_owned(),
            expected: self.expected().to_owned(),
            found: found.to_string(),
        }
    }
}

/// Resolves `columns` by name and type in the file and returns the projection
/// onto exactly those columns (extra columns in the file are ignored).
///
/// # Errors
/// A missing, duplicated or mistyped column, naming the file and the column.
pub(crate) fn projection<C: RequiredColumn>(
    path: &Path,
    builder: &ParquetRecordBatchReaderBuilder<File>,
    columns: &[C],
) -> Result<ProjectionMask, DataError> {
    let schema = builder.schema();
    let mut roots = Vec::with_capacity(columns.len());
    for col in columns {
        let mut matches = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| field.name() == col.name());
        let (index, field) = matches.next().ok_or_else(|| col.missing(path))?;
        if matches.next().is_some() {
            return Err(DataError::DuplicateColumn {
                path: path.to_owned(),
                column: col.name().to_owned(),
            });
        }
        if !col.accepts(field.data_type()) {
            return Err(col.wrong_type(path, field.data_type()));
        }
        // Top-level Arrow fields correspond one-to-one to Parquet root columns.
        roots.push(index);
    }
    Ok(ProjectionMask::roots(builder.parquet_schema(), roots))
}

/// Opens `path`, checks its `backstop.schema` tag (if any) against
/// `schema_id`, resolves every column in `specs` by name and type, and
/// returns a batch reader projected onto just those columns (extra columns in
/// the file are ignored).
pub(crate) fn open_projected(
    path: &Path,
    schema_id: &str,
    specs: &[ColumnSpec],
) -> Result<ParquetRecordBatchReader, DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| DataError::NotParquet {
            path: path.to_owned(),
            source,
        })?;
    check_schema_id(
        path,
        builder.metadata().file_metadata().key_value_metadata(),
        schema_id,
    )?;

    let mask = projection(path, &builder, specs)?;
    builder
        .with_projection(mask)
        .build()
        .map_err(|source| DataError::Parquet {
            path: path.to_owned(),
            action: "failed to set up Parquet reader",
            source,
        })
}

/// Iterates the record batches of `reader`, each paired with the file row
/// index of its first row.
pub(crate) fn batches(
    path: &Path,
    reader: ParquetRecordBatchReader,
) -> impl Iterator<Item = Result<(usize, RecordBatch), DataError>> {
    let mut offset = 0;
    reader.map(move |batch| {
        let batch = batch.map_err(arrow_err(path, "failed to decode Parquet data"))?;
        let start = offset;
        offset += batch.num_rows();
        Ok((start, batch))
    })
}

/// One column of one decoded batch, with what is needed to report errors
/// against the file: its path, the column name and the batch's row offset.
pub(crate) struct Column<'a> {
    path: &'a Path,
    spec: ColumnSpec,
    array: &'a ArrayRef,
    offset: usize,
}

impl<'a> Column<'a> {
    /// Looks up `spec`'s column in a batch produced by [`open_projected`].
    pub(crate) fn new(
        path: &'a Path,
        batch: &'a RecordBatch,
        spec: ColumnSpec,
        offset: usize,
    ) -> Result<Self, DataError> {
        let array = batch
            .column_by_name(spec.name)
            .ok_or_else(|| spec.missing(path))?;
        Ok(Self {
            path,
            spec,
            array,
            offset,
        })
    }

    fn type_error(&self) -> DataError {
        self.spec.wrong_type(self.path, self.array.data_type())
    }

    fn invalid(&self, index: usize, reason: impl Into<String>) -> DataError {
        DataError::invalid(self.path, self.offset + index, self.spec.name, reason)
    }

    /// Fails with [`DataError::NullValue`] naming the first null, if any.
    fn require_no_nulls(&self) -> Result<(), DataError> {
        if let Some(nulls) = self.array.logical_nulls()
            && let Some(index) = (0..nulls.len()).find(|&i| nulls.is_null(i))
        {
            return Err(DataError::NullValue {
                path: self.path.to_owned(),
                column: self.spec.name.to_owned(),
                row: self.offset + index,
            });
        }
        Ok(())
    }

    pub(crate) fn push_u64(&self, out: &mut Vec<u64>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        if let Some(array) = self.array.as_primitive_opt::<UInt64Type>() {
            out.extend_from_slice(array.values());
            return Ok(());
        }
        let array = self
            .array
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| self.type_error())?;
        for (index, &value) in array.values().iter().enumerate() {
            let value = u64::try_from(value)
                .map_err(|_| self.invalid(index, format!("must be non-negative, got {value}")))?;
            out.push(value);
        }
        Ok(())
    }

    pub(crate) fn push_u32(&self, out: &mut Vec<u32>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        let array = self
            .array
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| self.type_error())?;
        out.extend_from_slice(array.values());
        Ok(())
    }

    pub(crate) fn push_f64(&self, out: &mut Vec<f64>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        let array = self
            .array
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| self.type_error())?;
        out.extend_from_slice(array.values());
        Ok(())
    }

    /// Like [`Self::push_f64`] but nulls are allowed and become `None`.
    pub(crate) fn push_opt_f64(&self, out: &mut Vec<Option<f64>>) -> Result<(), DataError> {
        let array = self
            .array
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| self.type_error())?;
        out.extend(array.iter());
        Ok(())
    }

    pub(crate) fn push_bool(&self, out: &mut Vec<bool>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        let array = self
            .array
            .as_boolean_opt()
            .ok_or_else(|| self.type_error())?;
        out.extend(array.values().iter());
        Ok(())
    }

    pub(crate) fn push_timestamp_ns(&self, out: &mut Vec<i64>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        let array = self
            .array
            .as_primitive_opt::<TimestampNanosecondType>()
            .ok_or_else(|| self.type_error())?;
        out.extend_from_slice(array.values());
        Ok(())
    }

    pub(crate) fn push_string(&self, out: &mut Vec<String>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        if let Some(dictionary) = self.array.as_any_dictionary_opt() {
            if dictionary.is_empty() {
                return Ok(());
            }
            let values = string_values(dictionary.values()).ok_or_else(|| self.type_error())?;
            if values.is_empty() {
                return Err(self.invalid(0, "dictionary has keys but no values"));
            }
            // Keys are non-null (checked above) and clamped into range.
            for key in dictionary.normalized_keys() {
                let value = values.get(key).copied().flatten().unwrap_or_default();
                out.push(value.to_owned());
            }
            return Ok(());
        }
        let values = string_values(self.array).ok_or_else(|| self.type_error())?;
        out.extend(values.into_iter().map(|v| v.unwrap_or_default().to_owned()));
        Ok(())
    }
}

/// The values of a plain string array of any offset/view layout.
fn string_values(array: &ArrayRef) -> Option<Vec<Option<&str>>> {
    if let Some(array) = array.as_string_opt::<i32>() {
        Some(array.iter().collect())
    } else if let Some(array) = array.as_string_opt::<i64>() {
        Some(array.iter().collect())
    } else {
        array
            .as_string_view_opt()
            .map(|array| array.iter().collect())
    }
}

/// Checks a float is finite.
pub(crate) fn check_finite(value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("must be finite, got {value}"))
    }
}

/// Checks a float is finite and strictly positive.
#[inline]
pub(crate) fn check_positive(value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!("must be finite and > 0, got {value}"))
    }
}

/// Checks a float is finite and not negative.
#[inline]
pub(crate) fn check_non_negative(value: f64) -> Result<(), String> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(format!("must be finite and >= 0, got {value}"))
    }
}

/// Checks a string is not empty.
pub(crate) fn check_non_empty(value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_accept_their_alternatives_only() {
        let utc = |tz: &str| DataType::Timestamp(TimeUnit::Nanosecond, Some(tz.into()));
        assert!(ColumnKind::TimestampNsUtc.accepts(&utc("UTC")));
        assert!(ColumnKind::TimestampNsUtc.accepts(&utc("+00:00")));
        assert!(!ColumnKind::TimestampNsUtc.accepts(&utc("Europe/London")));
        assert!(
            !ColumnKind::TimestampNsUtc.accepts(&DataType::Timestamp(TimeUnit::Nanosecond, None))
        );
        assert!(!ColumnKind::TimestampNsUtc.accepts(&DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into())
        )));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert!(ColumnKind::Str.accepts(&dict));
        assert!(ColumnKind::Str.accepts(&DataType::Utf8View));
        assert!(!ColumnKind::Str.accepts(&DataType::Binary));
        assert!(ColumnKind::U64.accepts(&DataType::Int64));
        assert!(!ColumnKind::U64.accepts(&DataType::UInt32));
        assert!(!ColumnKind::F64.accepts(&DataType::Float32));
    }

    #[test]
    fn float_checks() {
        assert!(check_finite(-1.0).is_ok());
        assert!(check_finite(f64::INFINITY).is_err());
        assert!(check_positive(0.0).is_err());
        assert!(check_positive(f64::NAN).unwrap_err().contains("NaN"));
        assert!(check_non_negative(0.0).is_ok());
        assert!(check_non_negative(-0.5).unwrap_err().contains("-0.5"));
        assert!(check_non_empty("").is_err());
    }
}
