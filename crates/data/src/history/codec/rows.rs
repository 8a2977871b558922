//! The tick-history row types' contract ([`Record`], [`Decode`]) and writing
//! them: validation, the writer settings every tick-history file shares, the
//! atomic whole-table writer [`write_rows`] and the streaming [`RowWriter`].

#[cfg(feature = "import")]
use std::fs::File;
use std::path::Path;
#[cfg(feature = "import")]
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use super::metadata::{HistoryMetadata, HistorySchema, metadata_pairs};
use crate::atomic::write_atomically;
use crate::error::DataError;
use crate::metadata::build_key_value_metadata;
use crate::parquet_io::{CREATED_BY, MAX_ROW_GROUP_ROWS};
use crate::rules::BadValue;
use crate::schema::Column;

/// Options for the tick-history writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Rows per Parquet row group (the last may be shorter), > 0. Smaller
    /// groups let a [`HistorySource`](crate::history::merge::HistorySource)
    /// skip more data outside its window, at
    /// some cost in file size. Default [`MAX_ROW_GROUP_ROWS`].
    pub max_row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            max_row_group_rows: MAX_ROW_GROUP_ROWS,
        }
    }
}

impl WriteOptions {
    /// These options with `max_row_group_rows` replaced.
    #[must_use]
    pub const fn with_max_row_group_rows(mut self, rows: usize) -> Self {
        self.max_row_group_rows = rows;
        self
    }
}

/// A whole tick-history file read into memory: its metadata and its rows in
/// file order.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryTable<R> {
    /// The file's key-value metadata.
    pub metadata: HistoryMetadata,
    /// The rows, in file (and therefore time) order.
    pub rows: Vec<R>,
}

/// A tick-history row type: its schema, validation and Arrow encoding.
pub(crate) trait Record: Copy {
    /// The schema files of this row type hold.
    const SCHEMA: HistorySchema;
    /// Every column, in the order written.
    const COLUMNS: &'static [Column];
    /// Decodes record batches into rows of this type.
    type Decoder: Decode<Row = Self>;

    /// The row's timestamp, ns since the Unix epoch.
    fn ts_ns(&self) -> i64;

    /// Checks the row's values, naming the offending column on failure.
    fn check(&self) -> Result<(), BadValue>;

    /// The Arrow schema written (a cached [`arrow_schema`] of `COLUMNS`).
    fn arrow_schema() -> SchemaRef;

    /// Arrow arrays, one per column of [`Self::COLUMNS`], for `rows`.
    fn arrays(rows: &[Self]) -> Vec<ArrayRef>;
}

/// Decodes the rows of one record batch, projected onto (at least) the
/// columns the row type needs, apart from optional ones.
///
/// The decoded columns stay as they are: a cursor checks a batch once
/// ([`Decode::all_valid`] over whole columns, or row by row to find the
/// first bad row), then hands out the checked rows straight from the columns
/// ([`Decode::checked_row`], or a slice of each column), with no copy into a
/// buffer of rows.
pub(crate) trait Decode: Sized {
    /// The row type produced.
    type Row: Record + Copy;

    /// Extracts the typed columns of `batch` (all of its length).
    fn from_batch(path: &Path, batch: &RecordBatch) -> Result<Self, DataError>;

    /// Rows in the batch.
    fn len(&self) -> usize;

    /// Timestamp of row `i` of the batch, `None` if null.
    fn ts(&self, i: usize) -> Option<i64>;

    /// Row `i` of the batch (file row `row`), failing on nulls in
    /// non-nullable columns; values are checked by the caller.
    fn row(&self, path: &Path, i: usize, row: usize) -> Result<Self::Row, DataError>;

    /// The whole `ts` column, if it has no nulls.
    fn ts_values(&self) -> Option<&[i64]>;

    /// The `ts` column's values buffer, nulls included (a null's slot holds
    /// an unspecified value): read only over checked rows.
    fn ts_raw(&self) -> &[i64];

    /// The fast path's check: whether every row of the batch is valid (no
    /// nulls where the schema has none, every value passing
    /// [`Record::check`]), column by column. `false` sends the caller row by
    /// row to find the bad one (a type may always answer `false`).
    fn all_valid(&self) -> bool {
        false
    }

    /// Row `i`, which the caller has checked (by [`Self::all_valid`], or by
    /// [`Self::row`] and [`Record::check`]): built from the columns without
    /// checking again.
    fn checked_row(&self, i: usize) -> Self::Row;
}

/// Checks every row (values, then timestamp order) in row order, so the error
/// names the first offending row.
fn validate_rows<R: Record>(path: &Path, rows: &[R]) -> Result<(), DataError> {
    let mut previous: Option<i64> = None;
    for (row, record) in rows.iter().enumerate() {
        record.check().map_err(|bad| bad.at(path, row))?;
        let ts = record.ts_ns();
        if let Some(previous_ts_ns) = previous
            && ts < previous_ts_ns
        {
            return Err(DataError::UnsortedTimestamps {
                path: path.to_owned(),
                row,
                ts_ns: ts,
                previous_row: row - 1,
                previous_ts_ns,
            });
        }
        previous = Some(ts);
    }
    Ok(())
}

/// The writer settings of every tick-history file: snappy, page statistics,
/// row groups of `group_rows` rows, sorted by `ts`, and `meta` as key-value
/// metadata.
fn history_writer_properties<R: Record>(
    path: &Path,
    meta: &HistoryMetadata,
    group_rows: usize,
) -> Result<WriterProperties, DataError> {
    let pairs = metadata_pairs(path, meta)?;
    let key_value_metadata = build_key_value_metadata(path, R::SCHEMA.id(), &pairs)?;
    Ok(WriterProperties::builder()
        .set_created_by(CREATED_BY.to_owned())
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(group_rows))
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]))
        .set_key_value_metadata(Some(key_value_metadata))
        .build())
}

/// Writes rows of `R` one at a time into a new file, with the column names,
/// types, metadata and writer settings of [`write_rows`] (row groups of
/// [`MAX_ROW_GROUP_ROWS`](MAX_ROW_GROUP_ROWS) rows), holding at most
/// one row group in memory: for outputs larger than memory. Each row is
/// checked (values, then time order) as it comes. Not atomic: the importer
/// writes into its scratch directory and renames the finished file.
///
/// Every column is written OPTIONAL (nullable), as polars writes the
/// importer's in-memory output: an import writes the same Parquet schema
/// whichever sort it takes (the non-nullable columns hold no nulls either
/// way, and the reader checks every row).
#[cfg(feature = "import")]
pub(crate) struct RowWriter<R: Record> {
    path: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    buffer: Vec<R>,
    rows: usize,
    last_ts_ns: Option<i64>,
}

#[cfg(feature = "import")]
impl<R: Record> RowWriter<R> {
    /// Creates (or truncates) `path`.
    pub(crate) fn create(path: &Path, meta: &HistoryMetadata) -> Result<Self, DataError> {
        let group_rows = MAX_ROW_GROUP_ROWS;
        let properties = history_writer_properties::<R>(path, meta, group_rows)?;
        let file = File::create(path)
            .map_err(|source| DataError::io(path, "failed to create file", source))?;
        let schema = all_nullable(&R::arrow_schema());
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties)).map_err(
            |source| DataError::Parquet {
                path: path.to_owned(),
                action: "failed to start Parquet writer",
                source,
            },
        )?;
        Ok(Self {
            path: path.to_owned(),
            schema,
            writer,
            buffer: Vec::with_capacity(group_rows),
            rows: 0,
            last_ts_ns: None,
        })
    }

    /// Appends one row (written when a row group is full).
    pub(crate) fn push(&mut self, row: R) -> Result<(), DataError> {
        let index = self.rows;
        row.check().map_err(|bad| bad.at(&self.path, index))?;
        let ts = row.ts_ns();
        if let Some(previous_ts_ns) = self.last_ts_ns
            && ts < previous_ts_ns
        {
            return Err(DataError::UnsortedTimestamps {
                path: self.path.clone(),
                row: index,
                ts_ns: ts,
                previous_row: index - 1,
                previous_ts_ns,
            });
        }
        self.last_ts_ns = Some(ts);
        self.rows += 1;
        self.buffer.push(row);
        if self.buffer.len() >= MAX_ROW_GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DataError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), R::arrays(&self.buffer))
            .map_err(|source| DataError::Arrow {
                path: self.path.clone(),
                action: "failed to build record batch",
                source,
            })?;
        self.buffer.clear();
        self.writer
            .write(&batch)
            .and_then(|()| self.writer.flush())
            .map_err(|source| DataError::Parquet {
                path: self.path.clone(),
                action: "failed to write Parquet data",
                source,
            })
    }

    /// Writes the last row group and the footer; returns the rows written.
    pub(crate) fn finish(mut self) -> Result<usize, DataError> {
        self.flush()?;
        self.writer.close().map_err(|source| DataError::Parquet {
            path: self.path.clone(),
            action: "failed to finish Parquet file",
            source,
        })?;
        Ok(self.rows)
    }
}

/// `schema` with every field nullable (metadata kept).
#[cfg(feature = "import")]
fn all_nullable(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<arrow_schema::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
        .collect();
    Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// Validates `rows` and writes them atomically to `path` as a file of `R`'s
/// schema, deterministic and with the crate's usual writer settings, in row
/// groups of `options.max_row_group_rows` rows.
pub(crate) fn write_rows<R: Record>(
    path: &Path,
    rows: &[R],
    meta: &HistoryMetadata,
    options: &WriteOptions,
) -> Result<(), DataError> {
    let group_rows = options.max_row_group_rows;
    if group_rows == 0 {
        return Err(DataError::InvalidInput {
            what: "write options",
            reason: "max_row_group_rows must be > 0".to_owned(),
        });
    }
    validate_rows(path, rows)?;
    let properties = history_writer_properties::<R>(path, meta, group_rows)?;
    let schema = R::arrow_schema();
    let parquet_err = |action| {
        move |source| DataError::Parquet {
            path: path.to_owned(),
            action,
            source,
        }
    };
    write_atomically(path, |file| {
        let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
            .map_err(parquet_err("failed to start Parquet writer"))?;
        for chunk in rows.chunks(group_rows) {
            let batch =
                RecordBatch::try_new(Arc::clone(&schema), R::arrays(chunk)).map_err(|source| {
                    DataError::Arrow {
                        path: path.to_owned(),
                        action: "failed to build record batch",
                        source,
                    }
                })?;
            writer
                .write(&batch)
                .map_err(parquet_err("failed to write Parquet data"))?;
        }
        writer
            .close()
            .map_err(parquet_err("failed to finish Parquet file"))?;
        Ok(())
    })
}
