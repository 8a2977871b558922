//! Shared Parquet plumbing of the whole-file schemas (positions, steps and the
//! across-path results): deterministic writer settings, and a reader that
//! resolves, type-checks and projects the columns a schema needs
//! ([`Column`](crate::schema::Column)) and decodes them batch by batch
//! ([`BatchColumn`]).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::atomic::write_atomically;
use crate::error::DataError;
use crate::metadata::{build_key_value_metadata, check_schema_id};
use crate::schema::{Column, projection};

/// Maximum number of rows per Parquet row group written by this crate.
pub const MAX_ROW_GROUP_ROWS: usize = 64 * 1024;

/// The fixed `created_by` string written into every file (no host, no time).
pub const CREATED_BY: &str = concat!("backstop-data ", env!("CARGO_PKG_VERSION"));

/// Writer settings shared by every file: snappy, page statistics, bounded
/// row groups, and nothing that varies between runs.
pub(crate) fn writer_properties(
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

/// Checks that every column chunk of a footer lies inside the file: a
/// corrupt footer with a negative offset or size would make the Parquet
/// library panic when the chunk is read (found by `tests/fuzz.rs`).
///
/// # Errors
/// [`DataError::NotParquet`] naming the file, the row group and the column.
pub(crate) fn check_chunk_ranges(
    path: &Path,
    metadata: &parquet::file::metadata::ParquetMetaData,
) -> Result<(), DataError> {
    let len = std::fs::metadata(path).map_or(u64::MAX, |m| m.len());
    for (g, group) in metadata.row_groups().iter().enumerate() {
        for (c, chunk) in group.columns().iter().enumerate() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or_else(|| chunk.data_page_offset());
            let size = chunk.compressed_size();
            let inside = start >= 0
                && size >= 0
                && (start as u64)
                    .checked_add(size as u64)
                    .is_some_and(|end| end <= len);
            if !inside {
                return Err(DataError::NotParquet {
                    path: path.to_owned(),
                    source: parquet::errors::ParquetError::General(format!(
                        "corrupt footer: row group {g}, column {c} claims bytes {start}..+{size} \
                         of a {len}-byte file"
                    )),
                });
            }
        }
    }
    Ok(())
}

/// Opens `path`, checks its `backstop.schema` tag (if any) against
/// `schema_id`, resolves every column in `specs` by name and type, and
/// returns a batch reader projected onto just those columns (extra columns in
/// the file are ignored).
pub(crate) fn open_projected(
    path: &Path,
    schema_id: &str,
    specs: &[Column],
) -> Result<ParquetRecordBatchReader, DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| DataError::NotParquet {
            path: path.to_owned(),
            source,
        })?;
    check_chunk_ranges(path, builder.metadata())?;
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

/// The next batch of `reader`, with a panic of the Parquet library turned into
/// an error naming the file.
///
/// The library panics on some corrupt pages (a dictionary-encoded page with
/// no dictionary, found by `tests/fuzz.rs`) instead of returning an error; a
/// damaged file must be refused, not crash the program. After such a panic
/// the reader is not used again.
pub(crate) fn next_batch(
    path: &Path,
    reader: &mut ParquetRecordBatchReader,
) -> Option<Result<RecordBatch, DataError>> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next())) {
        Ok(batch) => batch.map(|b| b.map_err(arrow_err(path, "failed to decode Parquet data"))),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a corrupt page");
            Some(Err(DataError::Parquet {
                path: path.to_owned(),
                action: "failed to decode Parquet data (corrupt file)",
                source: parquet::errors::ParquetError::General(why.to_owned()),
            }))
        }
    }
}

/// Iterates the record batches of `reader`, each paired with the file row
/// index of its first row; stops after the first error.
pub(crate) fn batches(
    path: &Path,
    mut reader: ParquetRecordBatchReader,
) -> impl Iterator<Item = Result<(usize, RecordBatch), DataError>> {
    let mut offset = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match next_batch(path, &mut reader)? {
            Ok(batch) => {
                let start = offset;
                offset += batch.num_rows();
                Some(Ok((start, batch)))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// One column of one decoded batch, with what is needed to report errors
/// against the file: its path, the column and the batch's row offset.
pub(crate) struct BatchColumn<'a> {
    path: &'a Path,
    spec: Column,
    array: &'a ArrayRef,
    offset: usize,
}

impl<'a> BatchColumn<'a> {
    /// Looks up `spec`'s column in a batch produced by [`open_projected`].
    pub(crate) fn new(
        path: &'a Path,
        batch: &'a RecordBatch,
        spec: Column,
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

    /// Like [`Self::push_u64`] (`UInt64` only) but nulls are allowed and become `None`.
    pub(crate) fn push_opt_u64(&self, out: &mut Vec<Option<u64>>) -> Result<(), DataError> {
        let array = self
            .array
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| self.type_error())?;
        out.extend(array.iter());
        Ok(())
    }

    pub(crate) fn push_i64(&self, out: &mut Vec<i64>) -> Result<(), DataError> {
        self.require_no_nulls()?;
        let array = self
            .array
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| self.type_error())?;
        out.extend_from_slice(array.values());
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

    /// Like [`Self::push_string`] (plain string arrays only) but nulls are
    /// allowed and become `None`.
    pub(crate) fn push_opt_string(&self, out: &mut Vec<Option<String>>) -> Result<(), DataError> {
        let values = string_values(self.array).ok_or_else(|| self.type_error())?;
        out.extend(values.into_iter().map(|v| v.map(str::to_owned)));
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
