//! Parquet plumbing shared by the tick-history schemas: column specs,
//! metadata encoding, opening and type-checking a file, row-group pruning, a
//! batch-at-a-time row cursor, and the writer.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::parquet_io::RequiredColumn;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, ParquetMetaData, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::statistics::Statistics;

use super::{
    CONTRACT_METADATA_KEY, CONTRACT_SIZE_METADATA_KEY, Contract, HISTORY_KEYS, HistoryMetadata,
    HistorySchema, HistoryTable, SOURCE_METADATA_KEY, SYMBOL_METADATA_KEY,
    TOOL_VERSION_METADATA_KEY, TimeWindow, VENUE_METADATA_KEY, WriteOptions,
};
use crate::atomic::write_atomically;
use crate::metadata::{ARROW_SCHEMA_METADATA_KEY, build_key_value_metadata};
use crate::parquet_io::CREATED_BY;
use crate::{DataError, SCHEMA_METADATA_KEY};

/// Rows per record batch when streaming; with the few columns a replay
/// projects this is tens of kilobytes per source.
pub(crate) const BATCH_ROWS: usize = 4096;

/// Time zones accepted as UTC for the `ts` column.
const UTC_ALIASES: [&str; 4] = ["UTC", "Etc/UTC", "+00:00", "Z"];

/// The time zone written into `ts` columns.
pub(crate) const UTC: &str = "UTC";

/// The Arrow type a tick-history column must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Timestamp(Nanosecond, "UTC")` or an equivalent UTC zone name.
    TimestampNsUtc,
    /// `Float64`.
    F64,
    /// `Int8`.
    I8,
    /// `Int32`.
    I32,
    /// `Int64`.
    I64,
}

impl Kind {
    /// Human-readable accepted type, for error messages.
    const fn expected(self) -> &'static str {
        match self {
            Self::TimestampNsUtc => "Timestamp(ns, \"UTC\")",
            Self::F64 => "Float64",
            Self::I8 => "Int8",
            Self::I32 => "Int32",
            Self::I64 => "Int64",
        }
    }

    fn accepts(self, data_type: &DataType) -> bool {
        match self {
            Self::TimestampNsUtc => matches!(
                data_type,
                DataType::Timestamp(TimeUnit::Nanosecond, Some(tz)) if UTC_ALIASES.contains(&tz.as_ref())
            ),
            Self::F64 => *data_type == DataType::Float64,
            Self::I8 => *data_type == DataType::Int8,
            Self::I32 => *data_type == DataType::Int32,
            Self::I64 => *data_type == DataType::Int64,
        }
    }

    /// The type written.
    fn data_type(self) -> DataType {
        match self {
            Self::TimestampNsUtc => DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
            Self::F64 => DataType::Float64,
            Self::I8 => DataType::Int8,
            Self::I32 => DataType::Int32,
            Self::I64 => DataType::Int64,
        }
    }
}

/// One column of a tick-history schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) nullable: bool,
}

impl Col {
    pub(crate) const fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            nullable: false,
        }
    }

    pub(crate) const fn nullable(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            nullable: true,
        }
    }
}

impl RequiredColumn for Col {
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

/// The `ts` column every tick-history schema starts with.
pub(crate) const TS: Col = Col::new("ts", Kind::TimestampNsUtc);

/// The Arrow schema written for `columns`.
pub(crate) fn arrow_schema(columns: &[Col]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|col| Field::new(col.name, col.kind.data_type(), col.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// A tick-history row type: its schema, validation and Arrow encoding.
pub(crate) trait Record: Copy {
    /// The schema files of this row type hold.
    const SCHEMA: HistorySchema;
    /// Every column, in the order written.
    const COLUMNS: &'static [Col];
    /// Decodes record batches into rows of this type.
    type Decoder: Decode<Row = Self>;

    /// The row's timestamp, ns since the Unix epoch.
    fn ts_ns(&self) -> i64;

    /// Checks the row's values, naming the offending column on failure.
    fn check(&self) -> Result<(), (&'static str, String)>;

    /// The Arrow schema written (a cached [`arrow_schema`] of `COLUMNS`).
    fn arrow_schema() -> SchemaRef;

    /// Arrow arrays, one per column of [`Self::COLUMNS`], for `rows`.
    fn arrays(rows: &[Self]) -> Vec<ArrayRef>;
}

/// Decodes the rows of one record batch, projected onto (at least) the
/// columns the row type needs, apart from optional ones.
pub(crate) trait Decode: Sized {
    /// The row type produced.
    type Row: Record + Copy;

    /// Extracts the typed columns of `batch`.
    fn from_batch(path: &Path, batch: &RecordBatch) -> Result<Self, DataError>;

    /// Timestamp of row `i` of the batch, `None` if null.
    fn ts(&self, i: usize) -> Option<i64>;

    /// Row `i` of the batch (file row `row`), failing on nulls in
    /// non-nullable columns; values are checked by the caller.
    fn row(&self, path: &Path, i: usize, row: usize) -> Result<Self::Row, DataError>;

    /// The whole `ts` column, if it has no nulls.
    fn ts_values(&self) -> Option<&[i64]>;

    /// The fast path: if every row of the batch is valid (no nulls where the
    /// schema has none, every value passing [`Record::check`]), appends them
    /// all to `out` and returns `true`; otherwise appends nothing and returns
    /// `false`, and the caller decodes row by row to find the bad one.
    fn all_rows(&self, _out: &mut Vec<Self::Row>) -> bool {
        false
    }
}

/// Column `col` of `batch` as a primitive array of type `T`.
pub(crate) fn column<T: ArrowPrimitiveType>(
    path: &Path,
    batch: &RecordBatch,
    col: &Col,
) -> Result<PrimitiveArray<T>, DataError> {
    optional_column(path, batch, col)?.ok_or_else(|| col.missing(path))
}

/// Like [`column`], but `None` when the batch has no such column (it was not
/// projected).
pub(crate) fn optional_column<T: ArrowPrimitiveType>(
    path: &Path,
    batch: &RecordBatch,
    col: &Col,
) -> Result<Option<PrimitiveArray<T>>, DataError> {
    let Some(array) = batch.column_by_name(col.name) else {
        return Ok(None);
    };
    if !col.kind.accepts(array.data_type()) {
        return Err(col.wrong_type(path, array.data_type()));
    }
    array
        .as_primitive_opt::<T>()
        .cloned()
        .map(Some)
        .ok_or_else(|| col.wrong_type(path, array.data_type()))
}

/// Value `i` of a non-nullable column, as file row `row`.
#[inline]
pub(crate) fn value<T: ArrowPrimitiveType>(
    path: &Path,
    array: &PrimitiveArray<T>,
    col: &Col,
    i: usize,
    row: usize,
) -> Result<T::Native, DataError> {
    match optional_value(path, array, i)? {
        Some(value) => Ok(value),
        None => Err(DataError::NullValue {
            path: path.to_owned(),
            column: col.name.to_owned(),
            row,
        }),
    }
}

/// Value `i` of a nullable column, `None` if null.
#[inline]
pub(crate) fn optional_value<T: ArrowPrimitiveType>(
    path: &Path,
    array: &PrimitiveArray<T>,
    i: usize,
) -> Result<Option<T::Native>, DataError> {
    if array.is_null(i) {
        return Ok(None);
    }
    // A record batch's columns all have its length, so this cannot miss.
    array
        .values()
        .get(i)
        .copied()
        .map(Some)
        .ok_or_else(|| DataError::Parquet {
            path: path.to_owned(),
            action: "failed to decode Parquet data",
            source: ParquetError::General(format!(
                "column shorter than its batch (index {i} of {})",
                array.len()
            )),
        })
}

/// Value `i` of a timestamp column, `None` if null (or out of range).
#[inline]
pub(crate) fn ts_value<T: ArrowPrimitiveType<Native = i64>>(
    array: &PrimitiveArray<T>,
    i: usize,
) -> Option<i64> {
    if array.is_null(i) {
        None
    } else {
        array.values().get(i).copied()
    }
}

// ---------------------------------------------------------------------------
// Metadata

/// The key-value pairs (apart from `backstop.schema`) written for `meta`.
fn metadata_pairs(path: &Path, meta: &HistoryMetadata) -> Result<Vec<(String, String)>, DataError> {
    let invalid = |key: &str, value: &str, reason: &str| DataError::InvalidMetadata {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let mut pairs = Vec::with_capacity(6 + meta.extra.len());
    for (key, value) in [
        (SYMBOL_METADATA_KEY, &meta.symbol),
        (VENUE_METADATA_KEY, &meta.venue),
        (SOURCE_METADATA_KEY, &meta.source),
    ] {
        if value.is_empty() {
            return Err(invalid(key, value, "must not be empty"));
        }
        pairs.push((key.to_owned(), value.clone()));
    }
    match meta.contract {
        Contract::Linear => pairs.push((CONTRACT_METADATA_KEY.to_owned(), "linear".to_owned())),
        Contract::Inverse { contract_size_usd } => {
            let value = contract_size_usd.to_string();
            if !(contract_size_usd.is_finite() && contract_size_usd > 0.0) {
                return Err(invalid(
                    CONTRACT_SIZE_METADATA_KEY,
                    &value,
                    "must be finite and > 0",
                ));
            }
            pairs.push((CONTRACT_METADATA_KEY.to_owned(), "inverse".to_owned()));
            pairs.push((CONTRACT_SIZE_METADATA_KEY.to_owned(), value));
        }
    }
    if let Some(version) = &meta.tool_version {
        pairs.push((TOOL_VERSION_METADATA_KEY.to_owned(), version.clone()));
    }
    for (key, value) in &meta.extra {
        if HISTORY_KEYS.contains(&key.as_str()) {
            return Err(DataError::ReservedMetadataKey {
                path: path.to_owned(),
                key: key.clone(),
            });
        }
        pairs.push((key.clone(), value.clone()));
    }
    Ok(pairs)
}

/// Parses the schema and [`HistoryMetadata`] out of a file's key-value
/// metadata, accepting only the schemas in `accept`.
fn parse_metadata(
    path: &Path,
    key_values: Option<&Vec<KeyValue>>,
    accept: &[HistorySchema],
) -> Result<(HistorySchema, HistoryMetadata), DataError> {
    let mut known: BTreeMap<&str, &str> = BTreeMap::new();
    let mut extra = Vec::new();
    for kv in key_values.into_iter().flatten() {
        let value = kv.value.as_deref().unwrap_or_default();
        let key = kv.key.as_str();
        if key == SCHEMA_METADATA_KEY || HISTORY_KEYS.contains(&key) {
            if known.insert(key, value).is_some() {
                return Err(DataError::InvalidMetadata {
                    path: path.to_owned(),
                    key: key.to_owned(),
                    value: value.to_owned(),
                    reason: "key appears more than once".to_owned(),
                });
            }
        } else if key != ARROW_SCHEMA_METADATA_KEY {
            extra.push((key.to_owned(), value.to_owned()));
        }
    }
    extra.sort();
    let required = |key: &str| -> Result<&str, DataError> {
        known
            .get(key)
            .copied()
            .ok_or_else(|| DataError::MissingMetadata {
                path: path.to_owned(),
                key: key.to_owned(),
            })
    };
    let invalid = |key: &str, value: &str, reason: &str| DataError::InvalidMetadata {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let non_empty = |key: &str| -> Result<String, DataError> {
        let value = required(key)?;
        if value.is_empty() {
            return Err(invalid(key, value, "must not be empty"));
        }
        Ok(value.to_owned())
    };

    let id = required(SCHEMA_METADATA_KEY)?;
    let schema = HistorySchema::from_id(id)
        .filter(|schema| accept.contains(schema))
        .ok_or_else(|| DataError::SchemaMismatch {
            path: path.to_owned(),
            expected: accept
                .iter()
                .map(|schema| schema.id())
                .collect::<Vec<_>>()
                .join(" or "),
            found: id.to_owned(),
        })?;

    let symbol = non_empty(SYMBOL_METADATA_KEY)?;
    let venue = non_empty(VENUE_METADATA_KEY)?;
    let source = non_empty(SOURCE_METADATA_KEY)?;
    let contract_size = known.get(CONTRACT_SIZE_METADATA_KEY).copied();
    let contract = match required(CONTRACT_METADATA_KEY)? {
        "linear" => {
            if let Some(size) = contract_size {
                return Err(invalid(
                    CONTRACT_SIZE_METADATA_KEY,
                    size,
                    "only inverse contracts have a contract size",
                ));
            }
            Contract::Linear
        }
        "inverse" => {
            let text = required(CONTRACT_SIZE_METADATA_KEY)?;
            let contract_size_usd = text
                .parse::<f64>()
                .ok()
                .filter(|size| size.is_finite() && *size > 0.0)
                .ok_or_else(|| {
                    invalid(
                        CONTRACT_SIZE_METADATA_KEY,
                        text,
                        "must be a finite number > 0",
                    )
                })?;
            Contract::Inverse { contract_size_usd }
        }
        other => {
            return Err(invalid(
                CONTRACT_METADATA_KEY,
                other,
                "must be \"linear\" or \"inverse\"",
            ));
        }
    };
    let tool_version = known
        .get(TOOL_VERSION_METADATA_KEY)
        .map(|&version| version.to_owned());
    Ok((
        schema,
        HistoryMetadata {
            symbol,
            venue,
            source,
            contract,
            tool_version,
            extra,
        },
    ))
}

// ---------------------------------------------------------------------------
// Reading

/// A tick-history file opened for reading: its footer has been parsed and its
/// metadata checked.
pub(crate) struct Opened {
    pub(crate) builder: ParquetRecordBatchReaderBuilder<File>,
    pub(crate) schema: HistorySchema,
    pub(crate) metadata: HistoryMetadata,
}

/// Opens `path`, parses its footer and its metadata, accepting only the
/// schemas in `accept`.
pub(crate) fn open(path: &Path, accept: &[HistorySchema]) -> Result<Opened, DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| DataError::NotParquet {
            path: path.to_owned(),
            source,
        })?;
    let (schema, metadata) = parse_metadata(
        path,
        builder.metadata().file_metadata().key_value_metadata(),
        accept,
    )?;
    Ok(Opened {
        builder,
        schema,
        metadata,
    })
}

/// A row group the cursor reads: where it starts in the file and how long it is.
#[derive(Debug, Clone, Copy)]
struct Group {
    first_row: usize,
    rows: usize,
}

/// The row groups to read: all non-empty groups when `window` is `None`,
/// otherwise those whose `ts` min/max statistics overlap it. Groups without
/// usable statistics are kept. When the statistics show the groups out of
/// time order (the file is unsorted), nothing is pruned, so that reading
/// reports the exact unsorted row instead of silently missing rows.
fn plan_row_groups(
    path: &Path,
    metadata: &ParquetMetaData,
    window: Option<TimeWindow>,
) -> Result<(Vec<usize>, Vec<Group>), DataError> {
    let ts_leaf = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|column| matches!(column.path().parts(), [name] if name == TS.name));
    let mut all = Vec::with_capacity(metadata.num_row_groups());
    let mut first_row = 0usize;
    for row_group in metadata.row_groups() {
        let rows = usize::try_from(row_group.num_rows()).map_err(|_| DataError::Parquet {
            path: path.to_owned(),
            action: "failed to read Parquet footer",
            source: ParquetError::General(format!("row group has {} rows", row_group.num_rows())),
        })?;
        let range = ts_leaf
            .filter(|&leaf| leaf < row_group.num_columns())
            .and_then(|leaf| match row_group.column(leaf).statistics() {
                Some(Statistics::Int64(stats)) => Some((*stats.min_opt()?, *stats.max_opt()?)),
                _ => None,
            });
        all.push((Group { first_row, rows }, range));
        first_row = first_row.saturating_add(rows);
    }

    let in_order = all
        .iter()
        .filter_map(|(_, range)| *range)
        .try_fold(i64::MIN, |previous_max, (min, max)| {
            (min >= previous_max && min <= max).then_some(max)
        })
        .is_some();
    let keep = |range: Option<(i64, i64)>| match (window, range) {
        (Some(window), Some((min, max))) if in_order => window.overlaps(min, max),
        _ => true,
    };
    Ok(all
        .into_iter()
        .enumerate()
        .filter(|(_, (group, range))| group.rows > 0 && keep(*range))
        .map(|(index, (group, _))| (index, group))
        .unzip())
}

/// Streams the rows of one file, batch by batch, inside an optional time
/// window, checking that timestamps never decrease and validating every row
/// returned.
///
/// Each record batch is decoded and checked in one tight loop into a buffer
/// of rows (reused from batch to batch), which [`Cursor::next_row`] then
/// hands out one by one: the per-row cost of the stream is a copy, not a
/// trip through the decoder. An error found while filling the buffer is kept
/// and returned after the rows before it, so callers still see every valid
/// row up to the offending one, then the error.
pub(crate) struct Cursor<D: Decode> {
    path: PathBuf,
    reader: Option<ParquetRecordBatchReader>,
    /// Checked rows of the current batch inside the window.
    rows: Vec<D::Row>,
    /// The next row of `rows` to return.
    position: usize,
    /// The error that ended the current batch, returned after `rows`.
    pending: Option<DataError>,
    groups: Vec<Group>,
    group: usize,
    row_in_group: usize,
    groups_read: usize,
    groups_total: usize,
    window: Option<TimeWindow>,
    previous: Option<(usize, i64)>,
}

impl<D: Decode> Cursor<D> {
    /// A cursor over `columns` of an opened file, reading only the row groups
    /// that can hold timestamps in `window` (`None`: every row).
    pub(crate) fn new(
        path: &Path,
        builder: ParquetRecordBatchReaderBuilder<File>,
        columns: &[Col],
        window: Option<TimeWindow>,
    ) -> Result<Self, DataError> {
        let mask = crate::parquet_io::projection(path, &builder, columns)?;
        let groups_total = builder.metadata().num_row_groups();
        let (indices, groups) = plan_row_groups(path, builder.metadata(), window)?;
        let reader = builder
            .with_projection(mask)
            .with_row_groups(indices)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|source| DataError::Parquet {
                path: path.to_owned(),
                action: "failed to set up Parquet reader",
                source,
            })?;
        Ok(Self {
            path: path.to_owned(),
            reader: Some(reader),
            rows: Vec::new(),
            position: 0,
            pending: None,
            groups,
            group: 0,
            row_in_group: 0,
            groups_read: 0,
            groups_total,
            window,
            previous: None,
        })
    }

    /// The file being read.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Row groups in the file.
    pub(crate) fn row_groups_total(&self) -> usize {
        self.groups_total
    }

    /// Row groups selected for reading after pruning by the window.
    pub(crate) fn row_groups_selected(&self) -> usize {
        self.groups.len()
    }

    /// Row groups from which at least one row has been decoded so far.
    pub(crate) fn row_groups_read(&self) -> usize {
        self.groups_read
    }

    /// The next row inside the window, `Ok(None)` at the end of the file.
    /// After an error the cursor is exhausted.
    #[inline]
    pub(crate) fn next_row(&mut self) -> Result<Option<D::Row>, DataError> {
        if let Some(row) = self.rows.get(self.position) {
            self.position += 1;
            return Ok(Some(*row));
        }
        self.refill()
    }

    /// The buffer is used up: returns the pending error, or decodes batches
    /// until one yields a row (or the file ends).
    #[cold]
    fn refill(&mut self) -> Result<Option<D::Row>, DataError> {
        loop {
            if let Some(err) = self.pending.take() {
                self.close();
                return Err(err);
            }
            let Some(reader) = self.reader.as_mut() else {
                return Ok(None);
            };
            let batch = match reader.next() {
                None => {
                    self.close();
                    return Ok(None);
                }
                Some(Err(source)) => {
                    self.close();
                    return Err(DataError::Arrow {
                        path: self.path.clone(),
                        action: "failed to decode Parquet data",
                        source,
                    });
                }
                Some(Ok(batch)) => batch,
            };
            self.rows.clear();
            self.position = 0;
            if let Err(err) = self.fill(&batch) {
                self.pending = Some(err);
            }
            if let Some(row) = self.rows.first() {
                self.position = 1;
                return Ok(Some(*row));
            }
        }
    }

    /// Exhausts the cursor, releasing the reader and the buffer.
    fn close(&mut self) {
        self.reader = None;
        self.rows = Vec::new();
        self.position = 0;
    }

    /// Decodes and checks `batch` into `self.rows` (rows inside the window),
    /// stopping at the first bad row.
    fn fill(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let columns = D::from_batch(&self.path, batch)?;
        let n = batch.num_rows();
        self.rows.reserve(n);
        // Fast path: a batch wholly inside the window, in time order and
        // valid is checked column by column and copied out in one go.
        if let Some(ts) = columns.ts_values()
            && let (Some(&first), Some(&last)) = (ts.first(), ts.last())
            && self.previous.is_none_or(|(_, previous)| previous <= first)
            && self
                .window
                .is_none_or(|window| window.contains(first) && window.contains(last))
            && ts.windows(2).all(|pair| pair[0] <= pair[1])
            && columns.all_rows(&mut self.rows)
        {
            let last_row = self.skip_rows(n)?;
            self.previous = Some((last_row, last));
            return Ok(());
        }
        for i in 0..n {
            let row = self.file_row()?;
            let ts = columns.ts(i).ok_or_else(|| DataError::NullValue {
                path: self.path.clone(),
                column: TS.name.to_owned(),
                row,
            })?;
            if let Some((previous_row, previous_ts_ns)) = self.previous
                && ts < previous_ts_ns
            {
                return Err(DataError::UnsortedTimestamps {
                    path: self.path.clone(),
                    row,
                    ts_ns: ts,
                    previous_row,
                    previous_ts_ns,
                });
            }
            self.previous = Some((row, ts));
            if self.window.is_some_and(|window| !window.contains(ts)) {
                continue;
            }
            let record = columns.row(&self.path, i, row)?;
            record
                .check()
                .map_err(|(column, reason)| DataError::invalid(&self.path, row, column, reason))?;
            self.rows.push(record);
        }
        Ok(())
    }

    /// Moves past `n > 0` decoded rows, as `n` calls of [`Self::file_row`];
    /// returns the file row index of the last.
    fn skip_rows(&mut self, mut n: usize) -> Result<usize, DataError> {
        let mut last = 0;
        while n > 0 {
            while self
                .groups
                .get(self.group)
                .is_some_and(|group| self.row_in_group >= group.rows)
            {
                self.group += 1;
                self.row_in_group = 0;
            }
            let group = self.groups.get(self.group).ok_or_else(|| self.overrun())?;
            if self.row_in_group == 0 {
                self.groups_read += 1;
            }
            let take = n.min(group.rows - self.row_in_group);
            last = group.first_row + self.row_in_group + take - 1;
            self.row_in_group += take;
            n -= take;
        }
        Ok(last)
    }

    /// The error for a reader that yields more rows than the footer declares.
    fn overrun(&self) -> DataError {
        DataError::Parquet {
            path: self.path.clone(),
            action: "failed to decode Parquet data",
            source: ParquetError::General("more rows decoded than the footer declares".to_owned()),
        }
    }

    /// The file row index of the next decoded row, moving through the
    /// selected row groups (batches may span several).
    fn file_row(&mut self) -> Result<usize, DataError> {
        self.skip_rows(1)
    }
}

/// Reads a whole file of row type `R`, validating every row.
pub(crate) fn read_rows<R: Record>(path: &Path) -> Result<HistoryTable<R>, DataError> {
    let opened = open(path, &[R::SCHEMA])?;
    let mut cursor = Cursor::<R::Decoder>::new(path, opened.builder, R::COLUMNS, None)?;
    let mut rows = Vec::new();
    while let Some(row) = cursor.next_row()? {
        rows.push(row);
    }
    Ok(HistoryTable {
        metadata: opened.metadata,
        rows,
    })
}

// ---------------------------------------------------------------------------
// Writing

/// Checks every row (values, then timestamp order) in row order, so the error
/// names the first offending row.
fn validate_rows<R: Record>(path: &Path, rows: &[R]) -> Result<(), DataError> {
    let mut previous: Option<i64> = None;
    for (row, record) in rows.iter().enumerate() {
        record
            .check()
            .map_err(|(column, reason)| DataError::invalid(path, row, column, reason))?;
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

/// Writes rows of `R` one at a time into a new file, with the same schema,
/// metadata and writer settings as [`write_rows`] (row groups of
/// [`MAX_ROW_GROUP_ROWS`](crate::MAX_ROW_GROUP_ROWS) rows), holding at most
/// one row group in memory: for outputs larger than memory. Each row is
/// checked (values, then time order) as it comes. Not atomic: the importer
/// writes into its scratch directory and renames the finished file.
#[cfg(feature = "import")]
pub(crate) struct RowWriter<R: Record> {
    path: PathBuf,
    writer: ArrowWriter<File>,
    buffer: Vec<R>,
    rows: usize,
    last_ts_ns: Option<i64>,
}

#[cfg(feature = "import")]
impl<R: Record> RowWriter<R> {
    /// Creates (or truncates) `path`.
    pub(crate) fn create(path: &Path, meta: &HistoryMetadata) -> Result<Self, DataError> {
        let group_rows = crate::MAX_ROW_GROUP_ROWS;
        let properties = history_writer_properties::<R>(path, meta, group_rows)?;
        let file = File::create(path)
            .map_err(|source| DataError::io(path, "failed to create file", source))?;
        let writer =
            ArrowWriter::try_new(file, R::arrow_schema(), Some(properties)).map_err(|source| {
                DataError::Parquet {
                    path: path.to_owned(),
                    action: "failed to start Parquet writer",
                    source,
                }
            })?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            buffer: Vec::with_capacity(group_rows),
            rows: 0,
            last_ts_ns: None,
        })
    }

    /// Appends one row (written when a row group is full).
    pub(crate) fn push(&mut self, row: R) -> Result<(), DataError> {
        let index = self.rows;
        row.check()
            .map_err(|(column, reason)| DataError::invalid(&self.path, index, column, reason))?;
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
        if self.buffer.len() >= crate::MAX_ROW_GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DataError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch =
            RecordBatch::try_new(R::arrow_schema(), R::arrays(&self.buffer)).map_err(|source| {
                DataError::Arrow {
                    path: self.path.clone(),
                    action: "failed to build record batch",
                    source,
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
        pairs
            .iter()
            .map(|(k, v)| KeyValue::new((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const BASE: [(&str, &str); 5] = [
        ("backstop.schema", "funding/v1"),
        ("backstop.symbol", "BTCUSD_PERP"),
        ("backstop.venue", "binance-coinm"),
        ("backstop.source", "test"),
        ("backstop.contract", "linear"),
    ];

    fn parse(pairs: &[(&str, &str)]) -> Result<(HistorySchema, HistoryMetadata), DataError> {
        parse_metadata(
            Path::new("f.parquet"),
            Some(&kv(pairs)),
            &HistorySchema::ALL,
        )
    }

    fn with<'a>(replace: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut pairs: Vec<(&str, &str)> = BASE.to_vec();
        for &(key, value) in replace {
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, value));
        }
        pairs
    }

    #[test]
    fn metadata_round_trips_through_pairs() {
        let mut meta = HistoryMetadata::new(
            "BTCUSD_PERP",
            "binance-coinm",
            "tardis",
            Contract::Inverse {
                contract_size_usd: 0.1,
            },
        );
        meta.tool_version = Some("0.1.0".to_owned());
        meta.extra = vec![
            ("a".to_owned(), String::new()),
            ("z".to_owned(), "1".to_owned()),
        ];
        let path = Path::new("f.parquet");
        let stored =
            build_key_value_metadata(path, "trades/v1", &metadata_pairs(path, &meta).unwrap())
                .unwrap();
        let mut with_arrow = stored;
        with_arrow.push(KeyValue::new(
            ARROW_SCHEMA_METADATA_KEY.to_owned(),
            "xyz".to_owned(),
        ));
        let (schema, parsed) =
            parse_metadata(path, Some(&with_arrow), &HistorySchema::ALL).unwrap();
        assert_eq!(schema, HistorySchema::Trades);
        assert_eq!(parsed, meta);
    }

    #[test]
    fn bad_metadata_is_named() {
        let err = parse(&with(&[("backstop.contract", "quanto")])).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, ref value, .. }
                if key == "backstop.contract" && value == "quanto"),
            "{err:?}"
        );
        let err = parse(&with(&[("backstop.contract_size_usd", "100")])).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.contract_size_usd"),
            "{err:?}"
        );
        for size in ["-1", "NaN", "inf", "ten"] {
            let err = parse(&with(&[
                ("backstop.contract", "inverse"),
                ("backstop.contract_size_usd", size),
            ]))
            .unwrap_err();
            assert!(
                matches!(err, DataError::InvalidMetadata { .. }),
                "{size}: {err:?}"
            );
        }
        let err = parse(&with(&[("backstop.venue", "")])).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.venue"),
            "{err:?}"
        );
        let mut duplicated = BASE.to_vec();
        duplicated.push(("backstop.symbol", "ETHUSD_PERP"));
        let err = parse(&duplicated).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.symbol"),
            "{err:?}"
        );
        let mut no_schema = BASE.to_vec();
        no_schema.remove(0);
        let err = parse(&no_schema).unwrap_err();
        assert!(
            matches!(err, DataError::MissingMetadata { ref key, .. } if key == "backstop.schema"),
            "{err:?}"
        );
        let err = parse(&with(&[("backstop.schema", "steps/v1")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("steps/v1")
                && msg.contains("trades/v1 or prices/v1 or funding/v1 or depth/v1"),
            "{msg}"
        );
        let err = parse_metadata(Path::new("f"), None, &HistorySchema::ALL).unwrap_err();
        assert!(matches!(err, DataError::MissingMetadata { .. }), "{err:?}");
    }

    #[test]
    fn column_kinds_accept_only_their_type() {
        let utc = |tz: &str| DataType::Timestamp(TimeUnit::Nanosecond, Some(tz.into()));
        assert!(Kind::TimestampNsUtc.accepts(&utc("Etc/UTC")));
        assert!(!Kind::TimestampNsUtc.accepts(&utc("Asia/Tokyo")));
        assert!(!Kind::TimestampNsUtc.accepts(&DataType::Int64));
        assert!(Kind::I8.accepts(&DataType::Int8));
        assert!(!Kind::I8.accepts(&DataType::Int16));
        assert!(!Kind::I32.accepts(&DataType::Int64));
        assert!(!Kind::F64.accepts(&DataType::Float32));
        for kind in [
            Kind::TimestampNsUtc,
            Kind::F64,
            Kind::I8,
            Kind::I32,
            Kind::I64,
        ] {
            assert!(kind.accepts(&kind.data_type()), "{kind:?}");
        }
    }
}
