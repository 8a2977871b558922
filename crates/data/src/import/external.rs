// Over 600 lines: one algorithm (runs, k-way merge, dedupe, output) whose phases share the record type.
//! The external (out-of-core) sort and dedupe, for imports whose valid
//! records outnumber [`ImportRequest::sort_buffer_rows`](super::ImportRequest::sort_buffer_rows).
//!
//! 1. polars' streaming engine sinks the valid typed records (the format's
//!    record columns, plus the input position `__file`, `__row`), unsorted,
//!    to `records.parquet` in the scratch directory;
//! 2. that file is read back (arrow-rs, in batches) in slices of at most
//!    `sort_buffer_rows` records; each slice is sorted by the format's keys,
//!    then by input position, exact duplicate records are dropped (the first
//!    in input order is kept) and the slice is written as a sorted *run*;
//! 3. runs are merged ([`FAN_IN`] at a time, in passes while there are more)
//!    by the same order, dropping the exact duplicates that meet across
//!    runs; the last merge expands records into output rows (klines: four
//!    per record) and writes them with the crate's arrow-rs writer.
//!
//! # Order and ties
//!
//! Records are ordered by the format's sort keys (nulls last), then by their
//! input position (file index in the request, then data row). That is
//! exactly the order of the in-memory path (a stable sort of the records
//! kept by `unique_stable`, which keeps the first occurrence), so records
//! with equal keys, in one run or across runs, come out in input order. Two
//! records are duplicates when every record column is equal (`-0.0` equals
//! `0.0`, as in polars); duplicates always have equal keys, so a merge
//! only has to remember the distinct records of the current key group
//! (normally one; memory grows only with records sharing one key).
//!
//! Klines are expanded after the merge: the four rows of each kline (at
//! its open and at ¼, ½ and ¾ of its interval) wait in a small heap ordered
//! by (time, quarter, input position), the in-memory path's order, until no
//! later kline can precede them (a row earlier than the next kline's open
//! time is final). Index prices (mark and index pairing) are looked up in
//! an in-memory map of the index klines' rows: index files are kline files,
//! four rows per kline (a year of 1-minute klines is about 2 M rows).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int8Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int8Array, Int32Array, Int64Array, RecordBatch, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use polars::prelude::*;

use super::importer::{FILE, Importer, REJECT, ROW, engine_error};
use super::sink::sink_parquet;
use crate::error::DataError;
use crate::history::{
    DepthRow, FundingRow, HistoryMetadata, HistorySchema, PriceRow, RowWriter, Side, TradeRow,
    kline_path,
};

/// Most runs merged at once; with more, merges run in passes.
pub(crate) const FAN_IN: usize = 64;
/// Most columns a record has (klines: time, interval, open, high, low, close).
const MAX_COLUMNS: usize = 6;
/// Records per batch read from a run (each open run holds one batch).
const READ_BATCH_ROWS: usize = 4096;
/// Rows per row group of the scratch files.
const SCRATCH_ROW_GROUP_ROWS: usize = 64 * 1024;
const ACTION: &str = "failed to sort the records (external sort)";

/// The type of one record column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    I64,
    F64,
    I8,
    I32,
}

impl Kind {
    const fn data_type(self) -> DataType {
        match self {
            Self::I64 => DataType::Int64,
            Self::F64 => DataType::Float64,
            Self::I8 => DataType::Int8,
            Self::I32 => DataType::Int32,
        }
    }
}

/// The record columns of a format (as its `Importer::record` selects them,
/// in order) and which of them are its sort keys.
struct Spec {
    kinds: &'static [Kind],
    keys: &'static [usize],
}

/// Trades: ts, price, size, side, trade_id; sorted by ts, trade_id.
static TRADES: Spec = Spec {
    kinds: &[Kind::I64, Kind::F64, Kind::F64, Kind::I8, Kind::I64],
    keys: &[0, 4],
};
/// Klines: open time, interval (both ns), open, high, low, close; by time.
static KLINES: Spec = Spec {
    kinds: &[
        Kind::I64,
        Kind::I64,
        Kind::F64,
        Kind::F64,
        Kind::F64,
        Kind::F64,
    ],
    keys: &[0],
};
/// Funding: ts, rate, interval_s; by ts.
static FUNDING: Spec = Spec {
    kinds: &[Kind::I64, Kind::F64, Kind::I32],
    keys: &[0],
};
/// Depth: ts, percentage, depth, notional; by ts, percentage.
static DEPTH: Spec = Spec {
    kinds: &[Kind::I64, Kind::F64, Kind::F64, Kind::F64],
    keys: &[0, 1],
};

const fn spec(schema: HistorySchema) -> &'static Spec {
    match schema {
        HistorySchema::Trades => &TRADES,
        HistorySchema::Prices => &KLINES,
        HistorySchema::Funding => &FUNDING,
        HistorySchema::Depth => &DEPTH,
    }
}

/// One record: its column values (floats as their bits), which are null,
/// and its input position.
#[derive(Debug, Clone, Copy)]
struct Rec {
    values: [i64; MAX_COLUMNS],
    nulls: u8,
    file: u32,
    row: u64,
}

const fn bits_to_f64(bits: i64) -> f64 {
    f64::from_bits(u64::from_ne_bytes(bits.to_ne_bytes()))
}

const fn f64_to_bits(value: f64) -> i64 {
    i64::from_ne_bytes(value.to_bits().to_ne_bytes())
}

/// `value` with `-0.0` as `0.0` (and one NaN), for comparing and hashing.
fn canonical(value: f64) -> f64 {
    if value == 0.0 {
        0.0
    } else if value.is_nan() {
        f64::NAN
    } else {
        value
    }
}

impl Rec {
    const fn is_null(&self, i: usize) -> bool {
        self.nulls & (1 << i) != 0
    }

    const fn int(&self, i: usize) -> Option<i64> {
        if self.is_null(i) {
            None
        } else {
            Some(self.values[i])
        }
    }

    const fn float(&self, i: usize) -> Option<f64> {
        if self.is_null(i) {
            None
        } else {
            Some(bits_to_f64(self.values[i]))
        }
    }

    /// The values, with floats canonical: equal for exact duplicates.
    fn identity(&self, spec: &Spec) -> ([i64; MAX_COLUMNS], u8) {
        let mut values = [0; MAX_COLUMNS];
        for (i, kind) in spec.kinds.iter().enumerate() {
            values[i] = match (self.float(i), kind) {
                (Some(value), Kind::F64) => f64_to_bits(canonical(value)),
                _ if self.is_null(i) => 0,
                _ => self.values[i],
            };
        }
        (values, self.nulls)
    }
}

/// Column `i` of `a` against `b`: nulls last, floats with `-0.0 == 0.0`.
fn cmp_column(kind: Kind, a: &Rec, b: &Rec, i: usize) -> Ordering {
    match (a.is_null(i), b.is_null(i)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => match kind {
            Kind::F64 => {
                canonical(bits_to_f64(a.values[i])).total_cmp(&canonical(bits_to_f64(b.values[i])))
            }
            Kind::I64 | Kind::I8 | Kind::I32 => a.values[i].cmp(&b.values[i]),
        },
    }
}

fn cmp_keys(spec: &Spec, a: &Rec, b: &Rec) -> Ordering {
    spec.keys
        .iter()
        .map(|&i| cmp_column(spec.kinds[i], a, b, i))
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The order of the output: keys, then input position.
fn cmp_order(spec: &Spec, a: &Rec, b: &Rec) -> Ordering {
    cmp_keys(spec, a, b)
        .then(a.file.cmp(&b.file))
        .then(a.row.cmp(&b.row))
}

/// What makes two records exact duplicates.
type Identity = ([i64; MAX_COLUMNS], u8);

/// Distinct records of a key group up to which a list is searched; past
/// it, a hash set.
const SMALL_GROUP: usize = 16;

/// Drops exact duplicates from records that arrive in [`cmp_order`]: only
/// the distinct records of the current key group are remembered.
struct Dedupe {
    spec: &'static Spec,
    group: Option<Rec>,
    /// The group's distinct records while there are few (the usual case).
    small: Vec<Identity>,
    /// All of them once there are more.
    large: HashSet<Identity>,
    dropped: usize,
}

impl Dedupe {
    fn new(spec: &'static Spec) -> Self {
        Self {
            spec,
            group: None,
            small: Vec::with_capacity(SMALL_GROUP),
            large: HashSet::new(),
            dropped: 0,
        }
    }

    /// Whether `rec` is the first of its kind (else it is counted).
    fn keep(&mut self, rec: &Rec) -> bool {
        let same_group = self
            .group
            .is_some_and(|group| cmp_keys(self.spec, &group, rec).is_eq());
        if !same_group {
            self.small.clear();
            if !self.large.is_empty() {
                self.large = HashSet::new();
            }
            self.group = Some(*rec);
        }
        let identity = rec.identity(self.spec);
        let new = if self.large.is_empty() {
            let new = !self.small.contains(&identity);
            if new {
                self.small.push(identity);
                if self.small.len() > SMALL_GROUP {
                    self.large.extend(self.small.drain(..));
                }
            }
            new
        } else {
            self.large.insert(identity)
        };
        if !new {
            self.dropped += 1;
        }
        new
    }
}

/// The Arrow schema of the scratch files: record columns `c0`.. then the
/// input position.
fn scratch_schema(spec: &Spec) -> SchemaRef {
    let mut fields: Vec<Field> = spec
        .kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| Field::new(format!("c{i}"), kind.data_type(), true))
        .collect();
    fields.push(Field::new(FILE, DataType::UInt32, false));
    fields.push(Field::new(ROW, DataType::UInt64, false));
    Arc::new(Schema::new(fields))
}

/// An error of the external sort, naming the output and the scratch file.
fn scratch_error(output: &Path, scratch_file: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::Import {
        path: output.to_owned(),
        action: ACTION,
        reason: format!("scratch file {}: {reason}", scratch_file.display()),
    }
}

/// Reads records (record columns then `__file`, `__row`, by position) from a
/// scratch file, one batch at a time.
struct RunReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: Vec<Rec>,
    next: usize,
}

impl RunReader {
    fn open(path: &Path, output: &Path) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| scratch_error(output, path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|builder| builder.with_batch_size(READ_BATCH_ROWS).build())
            .map_err(|e| scratch_error(output, path, e))?;
        Ok(Self {
            path: path.to_owned(),
            reader,
            batch: Vec::new(),
            next: 0,
        })
    }

    /// The next batch of records, `None` at the end.
    fn next_batch(&mut self, spec: &Spec, output: &Path) -> Result<Option<Vec<Rec>>, DataError> {
        match self.reader.next() {
            None => Ok(None),
            Some(batch) => {
                let batch = batch.map_err(|e| scratch_error(output, &self.path, e))?;
                decode(spec, &batch)
                    .map(Some)
                    .map_err(|reason| scratch_error(output, &self.path, reason))
            }
        }
    }

    /// The next record, `None` at the end.
    fn next_rec(&mut self, spec: &Spec, output: &Path) -> Result<Option<Rec>, DataError> {
        while self.next == self.batch.len() {
            match self.next_batch(spec, output)? {
                None => return Ok(None),
                Some(batch) => {
                    self.batch = batch;
                    self.next = 0;
                }
            }
        }
        let rec = self.batch[self.next];
        self.next += 1;
        Ok(Some(rec))
    }
}

/// Why a batch of a scratch file cannot be decoded (a damaged scratch file).
#[derive(Debug)]
enum BadScratch {
    /// The batch has another number of columns.
    Width { found: usize, expected: usize },
    /// A column has another type.
    ColumnType {
        index: usize,
        found: DataType,
        expected: DataType,
    },
    /// `__file` or `__row` holds a null.
    NullPosition,
}

impl std::fmt::Display for BadScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Width { found, expected } => write!(f, "{found} columns, expected {expected}"),
            Self::ColumnType {
                index,
                found,
                expected,
            } => write!(f, "column {index} has type {found}, expected {expected}"),
            Self::NullPosition => f.write_str("null input position"),
        }
    }
}

/// The records of one batch of a scratch file.
fn decode(spec: &Spec, batch: &RecordBatch) -> Result<Vec<Rec>, BadScratch> {
    let n = spec.kinds.len();
    if batch.num_columns() != n + 2 {
        return Err(BadScratch::Width {
            found: batch.num_columns(),
            expected: n + 2,
        });
    }
    let mut recs = vec![
        Rec {
            values: [0; MAX_COLUMNS],
            nulls: 0,
            file: 0,
            row: 0,
        };
        batch.num_rows()
    ];
    for (i, &kind) in spec.kinds.iter().enumerate() {
        decode_column(batch, i, kind, &mut recs)?;
    }
    let wrong = |index: usize, expected: DataType| BadScratch::ColumnType {
        index,
        found: batch.column(index).data_type().clone(),
        expected,
    };
    let files = batch
        .column(n)
        .as_primitive_opt::<UInt32Type>()
        .ok_or_else(|| wrong(n, DataType::UInt32))?;
    let rows = batch
        .column(n + 1)
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| wrong(n + 1, DataType::UInt64))?;
    if files.null_count() > 0 || rows.null_count() > 0 {
        return Err(BadScratch::NullPosition);
    }
    for ((rec, &file), &row) in recs.iter_mut().zip(files.values()).zip(rows.values()) {
        rec.file = file;
        rec.row = row;
    }
    Ok(recs)
}

/// Decodes record column `i` (of `kind`) of `batch` into `recs`.
fn decode_column(
    batch: &RecordBatch,
    i: usize,
    kind: Kind,
    recs: &mut [Rec],
) -> Result<(), BadScratch> {
    let column = batch.column(i);
    let wrong = || BadScratch::ColumnType {
        index: i,
        found: column.data_type().clone(),
        expected: kind.data_type(),
    };
    let nulls = column.logical_nulls();
    let set = |recs: &mut [Rec], values: &mut dyn Iterator<Item = i64>| {
        for (j, (rec, value)) in recs.iter_mut().zip(values).enumerate() {
            if nulls.as_ref().is_some_and(|nulls| nulls.is_null(j)) {
                rec.nulls |= 1 << i;
            } else {
                rec.values[i] = value;
            }
        }
    };
    match kind {
        Kind::I64 => {
            let array = column.as_primitive_opt::<Int64Type>().ok_or_else(wrong)?;
            set(recs, &mut array.values().iter().copied());
        }
        Kind::F64 => {
            let array = column.as_primitive_opt::<Float64Type>().ok_or_else(wrong)?;
            set(recs, &mut array.values().iter().map(|&v| f64_to_bits(v)));
        }
        Kind::I8 => {
            let array = column.as_primitive_opt::<Int8Type>().ok_or_else(wrong)?;
            set(recs, &mut array.values().iter().map(|&v| i64::from(v)));
        }
        Kind::I32 => {
            let array = column.as_primitive_opt::<Int32Type>().ok_or_else(wrong)?;
            set(recs, &mut array.values().iter().map(|&v| i64::from(v)));
        }
    }
    Ok(())
}

/// Writes records to a scratch (run) file.
struct RunWriter {
    path: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    buffer: Vec<Rec>,
}

impl RunWriter {
    fn create(spec: &Spec, path: PathBuf, output: &Path) -> Result<Self, DataError> {
        let schema = scratch_schema(spec);
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(SCRATCH_ROW_GROUP_ROWS))
            .build();
        let file = File::create(&path).map_err(|e| scratch_error(output, &path, e))?;
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
            .map_err(|e| scratch_error(output, &path, e))?;
        Ok(Self {
            path,
            schema,
            writer,
            buffer: Vec::with_capacity(READ_BATCH_ROWS),
        })
    }

    fn push(&mut self, spec: &Spec, rec: Rec, output: &Path) -> Result<(), DataError> {
        self.buffer.push(rec);
        if self.buffer.len() >= SCRATCH_ROW_GROUP_ROWS {
            self.flush(spec, output)?;
        }
        Ok(())
    }

    fn flush(&mut self, spec: &Spec, output: &Path) -> Result<(), DataError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let recs = &self.buffer;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(spec.kinds.len() + 2);
        for (i, kind) in spec.kinds.iter().enumerate() {
            let ints = recs.iter().map(|rec| rec.int(i));
            columns.push(match kind {
                Kind::I64 => Arc::new(ints.collect::<Int64Array>()),
                Kind::F64 => Arc::new(
                    recs.iter()
                        .map(|rec| rec.float(i))
                        .collect::<Float64Array>(),
                ),
                // Decoded from Int8 / Int32 columns, so the values fit.
                Kind::I8 => Arc::new(
                    ints.map(|v| v.and_then(|v| i8::try_from(v).ok()))
                        .collect::<Int8Array>(),
                ),
                Kind::I32 => Arc::new(
                    ints.map(|v| v.and_then(|v| i32::try_from(v).ok()))
                        .collect::<Int32Array>(),
                ),
            });
        }
        columns.push(Arc::new(UInt32Array::from_iter_values(
            recs.iter().map(|rec| rec.file),
        )));
        columns.push(Arc::new(UInt64Array::from_iter_values(
            recs.iter().map(|rec| rec.row),
        )));
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| scratch_error(output, &self.path, e))?;
        self.buffer.clear();
        self.writer
            .write(&batch)
            .map_err(|e| scratch_error(output, &self.path, e))
    }

    fn finish(mut self, spec: &Spec, output: &Path) -> Result<PathBuf, DataError> {
        self.flush(spec, output)?;
        self.writer
            .close()
            .map_err(|e| scratch_error(output, &self.path, e))?;
        Ok(self.path)
    }
}

/// A min-heap entry: the next record of run `run`.
struct Head {
    spec: &'static Spec,
    rec: Rec,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed, so that [`BinaryHeap`] pops the smallest record.
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_order(self.spec, &other.rec, &self.rec).then(other.run.cmp(&self.run))
    }
}

/// A k-way merge of sorted runs, without exact duplicates.
struct Merge {
    spec: &'static Spec,
    runs: Vec<RunReader>,
    heap: BinaryHeap<Head>,
    dedupe: Dedupe,
}

impl Merge {
    fn open(spec: &'static Spec, paths: &[PathBuf], output: &Path) -> Result<Self, DataError> {
        let mut runs = Vec::with_capacity(paths.len());
        let mut heap = BinaryHeap::with_capacity(paths.len());
        for (run, path) in paths.iter().enumerate() {
            let mut reader = RunReader::open(path, output)?;
            if let Some(rec) = reader.next_rec(spec, output)? {
                heap.push(Head { spec, rec, run });
            }
            runs.push(reader);
        }
        Ok(Self {
            spec,
            runs,
            heap,
            dedupe: Dedupe::new(spec),
        })
    }

    /// The next record in order, duplicates skipped (and counted).
    fn next_rec(&mut self, output: &Path) -> Result<Option<Rec>, DataError> {
        while let Some(Head { rec, run, .. }) = self.heap.pop() {
            if let Some(reader) = self.runs.get_mut(run)
                && let Some(next) = reader.next_rec(self.spec, output)?
            {
                self.heap.push(Head {
                    spec: self.spec,
                    rec: next,
                    run,
                });
            }
            if self.dedupe.keep(&rec) {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }
}

/// Removes a scratch file that is no longer needed (the scratch directory
/// goes anyway; this only frees the disk early).
fn remove(path: &Path, output: &Path) -> Result<(), DataError> {
    std::fs::remove_file(path).map_err(|e| scratch_error(output, path, e))
}

/// Step 1: the valid records of every input, unsorted, with their input
/// position, to `path` (polars' streaming engine).
fn sink_records(
    importer: &dyn Importer,
    frames: Vec<LazyFrame>,
    output: &Path,
    path: &Path,
) -> Result<(), DataError> {
    let err = |e: PolarsError| engine_error(output, "failed to import", &e);
    let all = concat(frames, UnionArgs::default()).map_err(err)?;
    let mut columns: Vec<Expr> = importer
        .record()
        .into_iter()
        .enumerate()
        .map(|(i, column)| column.alias(format!("c{i}")))
        .collect();
    columns.push(col(FILE).cast(polars::prelude::DataType::UInt32));
    columns.push(col(ROW).cast(polars::prelude::DataType::UInt64));
    let options = ParquetWriteOptions {
        compression: ParquetCompression::Snappy,
        row_group_size: Some(SCRATCH_ROW_GROUP_ROWS),
        ..ParquetWriteOptions::default()
    };
    sink_parquet(
        all.filter(col(REJECT).is_null()).select(columns),
        options,
        path,
        output,
    )
}

/// Step 2: sorted, deduplicated runs of at most `buffer` records each.
/// Returns the run files and the duplicates dropped within runs.
fn make_runs(
    spec: &'static Spec,
    records: &Path,
    scratch: &Path,
    buffer: usize,
    output: &Path,
) -> Result<(Vec<PathBuf>, usize), DataError> {
    let mut reader = RunReader::open(records, output)?;
    let mut runs = Vec::new();
    let mut dropped = 0;
    // External sorting only runs with more records than `buffer`.
    let mut chunk: Vec<Rec> = Vec::with_capacity(buffer);
    let mut pending: Vec<Rec> = Vec::new();
    loop {
        // Fill the chunk up to `buffer` records (a batch may straddle two).
        while chunk.len() < buffer {
            if pending.is_empty() {
                match reader.next_batch(spec, output)? {
                    Some(batch) => pending = batch,
                    None => break,
                }
            }
            let take = pending.len().min(buffer - chunk.len());
            chunk.extend(pending.drain(..take));
        }
        if chunk.is_empty() {
            break;
        }
        chunk.sort_unstable_by(|a, b| cmp_order(spec, a, b));
        let mut dedupe = Dedupe::new(spec);
        let path = scratch.join(format!("run-0-{}.parquet", runs.len()));
        let mut writer = RunWriter::create(spec, path, output)?;
        for rec in chunk.drain(..) {
            if dedupe.keep(&rec) {
                writer.push(spec, rec, output)?;
            }
        }
        dropped += dedupe.dropped;
        runs.push(writer.finish(spec, output)?);
    }
    Ok((runs, dropped))
}

/// Step 3a: merges runs [`FAN_IN`] at a time until at most [`FAN_IN`] are
/// left. Returns the runs and the duplicates dropped.
fn merge_passes(
    spec: &'static Spec,
    mut runs: Vec<PathBuf>,
    scratch: &Path,
    output: &Path,
) -> Result<(Vec<PathBuf>, usize), DataError> {
    let mut dropped = 0;
    let mut pass = 0;
    while runs.len() > FAN_IN {
        pass += 1;
        let mut merged = Vec::with_capacity(runs.len().div_ceil(FAN_IN));
        for group in runs.chunks(FAN_IN) {
            let path = scratch.join(format!("run-{pass}-{}.parquet", merged.len()));
            let mut merge = Merge::open(spec, group, output)?;
            let mut writer = RunWriter::create(spec, path, output)?;
            while let Some(rec) = merge.next_rec(output)? {
                writer.push(spec, rec, output)?;
            }
            dropped += merge.dedupe.dropped;
            merged.push(writer.finish(spec, output)?);
            for path in group {
                remove(path, output)?;
            }
        }
        runs = merged;
    }
    Ok((runs, dropped))
}

/// A record column that must not be null.
fn need<T>(value: Option<T>, column: &str, output: &Path) -> Result<T, DataError> {
    value.ok_or_else(|| DataError::Import {
        path: output.to_owned(),
        action: ACTION,
        reason: format!("null record column `{column}`"),
    })
}

/// Step 3b: the last merge, writing the output rows to `temp`.
fn write_output(
    schema: HistorySchema,
    mut merge: Merge,
    index: Option<&HashMap<i64, f64>>,
    output: &Path,
    temp: &Path,
    metadata: &HistoryMetadata,
) -> Result<(usize, Merge), DataError> {
    let rows = match schema {
        HistorySchema::Trades => {
            let mut writer = RowWriter::<TradeRow>::create(temp, metadata)?;
            while let Some(rec) = merge.next_rec(output)? {
                let raw_side = need(rec.int(3), "side", output)?;
                let side = i8::try_from(raw_side)
                    .ok()
                    .and_then(Side::from_i8)
                    .ok_or_else(|| DataError::Import {
                        path: output.to_owned(),
                        action: ACTION,
                        reason: format!("side {raw_side} is not -1, 0 or +1"),
                    })?;
                writer.push(TradeRow {
                    ts_ns: need(rec.int(0), "ts", output)?,
                    price: need(rec.float(1), "price", output)?,
                    size: need(rec.float(2), "size", output)?,
                    side,
                    trade_id: rec.int(4),
                })?;
            }
            writer.finish()?
        }
        HistorySchema::Funding => {
            let mut writer = RowWriter::<FundingRow>::create(temp, metadata)?;
            while let Some(rec) = merge.next_rec(output)? {
                let interval = need(rec.int(2), "interval_s", output)?;
                writer.push(FundingRow {
                    ts_ns: need(rec.int(0), "ts", output)?,
                    rate: need(rec.float(1), "rate", output)?,
                    interval_s: i32::try_from(interval).map_err(|_| DataError::Import {
                        path: output.to_owned(),
                        action: ACTION,
                        reason: format!("interval_s {interval} does not fit Int32"),
                    })?,
                })?;
            }
            writer.finish()?
        }
        HistorySchema::Depth => {
            let mut writer = RowWriter::<DepthRow>::create(temp, metadata)?;
            while let Some(rec) = merge.next_rec(output)? {
                writer.push(DepthRow {
                    ts_ns: need(rec.int(0), "ts", output)?,
                    percentage: need(rec.float(1), "percentage", output)?,
                    depth: need(rec.float(2), "depth", output)?,
                    notional: need(rec.float(3), "notional", output)?,
                })?;
            }
            writer.finish()?
        }
        HistorySchema::Prices => write_klines(&mut merge, index, output, temp, metadata)?,
    };
    Ok((rows, merge))
}

/// A kline path point waiting to be written: (ts, quarter, file, row,
/// price bits); ordered as the in-memory path orders equal times.
type Point = (i64, u8, u32, u64, i64);

/// Expands merged kline records into their four path rows, in time order.
fn write_klines(
    merge: &mut Merge,
    index: Option<&HashMap<i64, f64>>,
    output: &Path,
    temp: &Path,
    metadata: &HistoryMetadata,
) -> Result<usize, DataError> {
    let mut writer = RowWriter::<PriceRow>::create(temp, metadata)?;
    let mut pending: BinaryHeap<Reverse<Point>> = BinaryHeap::new();
    let emit = |writer: &mut RowWriter<PriceRow>, (ts, _, _, _, bits): Point| {
        writer.push(PriceRow {
            ts_ns: ts,
            mark: bits_to_f64(bits),
            index: index.and_then(|index| index.get(&ts).copied()),
        })
    };
    while let Some(rec) = merge.next_rec(output)? {
        let open_ts = need(rec.int(0), "open_time", output)?;
        // Every later kline opens at or after `open_ts`, and each of its rows
        // is at or after its open: earlier rows are final.
        while let Some(&Reverse(point)) = pending.peek()
            && point.0 < open_ts
        {
            pending.pop();
            emit(&mut writer, point)?;
        }
        let path = kline_path(
            need(rec.float(2), "open", output)?,
            need(rec.float(3), "high", output)?,
            need(rec.float(4), "low", output)?,
            need(rec.float(5), "close", output)?,
            open_ts,
            need(rec.int(1), "interval", output)?,
        );
        for (quarter, (ts, price)) in (0_u8..).zip(path) {
            pending.push(Reverse((
                ts,
                quarter,
                rec.file,
                rec.row,
                f64_to_bits(price),
            )));
        }
    }
    while let Some(Reverse(point)) = pending.pop() {
        emit(&mut writer, point)?;
    }
    writer.finish()
}

/// The files of an external sort.
pub(crate) struct Paths<'a> {
    /// The scratch directory (records and runs are written there).
    pub(crate) scratch: &'a Path,
    /// The output (named in errors).
    pub(crate) output: &'a Path,
    /// Where the output is written, to be verified and published.
    pub(crate) temp: &'a Path,
}

/// Runs the external sort: valid records of `frames` → sorted runs → merge →
/// output rows (paired with `index` prices for klines) at `temp`. Returns
/// the rows written and the exact duplicate records dropped.
pub(crate) fn sink(
    importer: &dyn Importer,
    frames: Vec<LazyFrame>,
    index: Option<&HashMap<i64, f64>>,
    paths: &Paths<'_>,
    metadata: &HistoryMetadata,
    buffer: usize,
) -> Result<(usize, usize), DataError> {
    let &Paths {
        scratch,
        output,
        temp,
    } = paths;
    let schema = importer.schema();
    let spec = spec(schema);
    let records = scratch.join("records.parquet");
    sink_records(importer, frames, output, &records)?;
    let (runs, in_runs) = make_runs(spec, &records, scratch, buffer.max(1), output)?;
    remove(&records, output)?;
    let (runs, in_passes) = merge_passes(spec, runs, scratch, output)?;
    let merge = Merge::open(spec, &runs, output)?;
    let (rows, merge) = write_output(schema, merge, index, output, temp, metadata)?;
    let dropped = in_runs + in_passes + merge.dedupe.dropped;
    drop(merge);
    for run in &runs {
        remove(run, output)?;
    }
    Ok((rows, dropped))
}
