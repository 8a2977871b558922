//! The import pipeline shared by every format (design A: polars does the ETL
//! *and* writes the Parquet file; this crate's arrow-rs reader verifies it).
//!
//! For each input file, a polars `LazyCsvReader` scans every column as text
//! (with a row index, for line numbers); the format's [`Importer`] adds typed
//! columns and a list of [`Check`]s, which become one `__reject` code per row
//! (the first failing check). Then:
//!
//! 1. per file, a streaming query counts the rows and the rejected rows and
//!    fetches the first rejected rows as examples (so every engine error can
//!    name its file);
//! 2. one streaming query over all files keeps the valid rows, drops exact
//!    duplicate records (`unique_stable`), expands records into output rows
//!    (one, or four per kline), sorts by the format's keys (stable) and
//!    sinks Parquet, with our key-value metadata and snappy compression, to
//!    a scratch file beside the output;
//!    with more valid records than the request's sort buffer, the
//!    external sort of `external` replaces this step (same rows, same
//!    order);
//! 3. the scratch file is read back with this crate's arrow-rs reader
//!    (schema id, metadata, exact column types, every row's values and time
//!    order), then fsynced and renamed over the output.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use polars::prelude::*;

use super::external;
use super::input::{Layout, PreparedInput};
use crate::DataError;
use crate::history::{
    HistoryMetadata, HistorySchema, HistorySource, ReplayEvent, TimeWindow, depth_schema,
    funding_schema, prices_schema, read_depth, read_history_metadata, trades_schema,
};
use crate::parquet_io::MAX_ROW_GROUP_ROWS;

/// 0-based data row within its file.
pub(crate) const ROW: &str = "__row";
/// 0-based index of the file in the request.
pub(crate) const FILE: &str = "__file";
/// Index of the first failing check, null for a valid row.
pub(crate) const REJECT: &str = "__reject";

/// How many rejected rows are quoted in the report.
pub(crate) const MAX_EXAMPLES: usize = 5;

/// One validation rule: rows for which `bad` is true are rejected with
/// `reason`, quoting the raw text of `column`.
pub(crate) struct Check {
    pub(crate) bad: Expr,
    pub(crate) column: &'static str,
    pub(crate) reason: &'static str,
}

impl Check {
    pub(crate) fn new(bad: Expr, column: &'static str, reason: &'static str) -> Self {
        Self {
            bad,
            column,
            reason,
        }
    }
}

/// A source format.
pub(crate) trait Importer {
    /// The schema the output holds.
    fn schema(&self) -> HistorySchema;

    /// Where the columns are in the input.
    fn layout(&self) -> &'static Layout;

    /// Adds typed columns to a frame of the layout's required columns (text,
    /// named as in the layout), and returns the checks, in order.
    fn parse(&self, frame: LazyFrame) -> (LazyFrame, Vec<Check>);

    /// The typed columns that make up a record; exact duplicates of these
    /// are dropped.
    fn record(&self) -> Vec<Expr>;

    /// Output rows per record (4 for klines, otherwise 1).
    fn rows_per_record(&self) -> usize {
        1
    }

    /// The output rows for the (deduplicated) records: the schema's columns,
    /// in order, with `ts` as Int64 ns.
    fn expand(&self, records: LazyFrame) -> Result<LazyFrame, PolarsError>;

    /// The sort keys of the output (stable sort, nulls last).
    fn sort_by(&self) -> &'static [&'static str];
}

/// What the pipeline counted.
#[derive(Debug)]
pub(crate) struct Counts {
    pub(crate) rows_read: usize,
    pub(crate) rejected: usize,
    pub(crate) examples: Vec<String>,
    pub(crate) rows_written: usize,
    pub(crate) duplicates_dropped: usize,
    pub(crate) index_rows_read: usize,
    pub(crate) index_rejected: usize,
    pub(crate) rows_with_index: usize,
    pub(crate) first_ts_ns: i64,
    pub(crate) last_ts_ns: i64,
}

/// A polars error as a [`DataError`] naming `path`.
pub(crate) fn engine_error(path: &Path, action: &'static str, error: &PolarsError) -> DataError {
    DataError::Import {
        path: path.to_owned(),
        action,
        reason: error.to_string(),
    }
}

/// Scans, counts and takes examples from `inputs` (file indices from
/// `first_file`): returns their frames, rows read and rows rejected.
fn scan_all(
    importer: &dyn Importer,
    inputs: &[PreparedInput],
    first_file: usize,
    examples: &mut Vec<String>,
) -> Result<(Vec<LazyFrame>, usize, usize), DataError> {
    let mut frames = Vec::with_capacity(inputs.len());
    let mut rows_read = 0;
    let mut rejected = 0;
    for (index, input) in inputs.iter().enumerate() {
        let (frame, checks) = scan(importer, input, first_file + index)?;
        let (rows, bad) = count(&frame, input)?;
        rows_read += rows;
        rejected += bad;
        if bad > 0 && examples.len() < MAX_EXAMPLES {
            let more = fetch_examples(&frame, input, &checks, MAX_EXAMPLES - examples.len())?;
            examples.extend(more);
        }
        frames.push(frame);
    }
    Ok((frames, rows_read, rejected))
}

/// The reason text for "no valid rows".
fn no_valid_rows(what: &str, rows_read: usize, rejected: usize, examples: &[String]) -> String {
    format!(
        "no valid {what} to import: {rows_read} read, {rejected} rejected{}",
        if examples.is_empty() {
            String::new()
        } else {
            format!("; first rejected: {}", examples.join("; "))
        }
    )
}

/// Where and how an import writes.
pub(crate) struct Target<'a> {
    /// The output path (replaced at the end).
    pub(crate) output: &'a Path,
    /// The scratch directory beside it.
    pub(crate) scratch: &'a Path,
    /// The metadata written.
    pub(crate) metadata: &'a HistoryMetadata,
    /// The same, as the key-value pairs polars writes.
    pub(crate) key_values: Vec<(String, String)>,
    /// Most records sorted in memory at once.
    pub(crate) sort_buffer_rows: usize,
}

/// Runs the pipeline over `inputs` (and, for klines, the index-price
/// `index_inputs`), writing `output` atomically.
pub(crate) fn run(
    importer: &dyn Importer,
    inputs: &[PreparedInput],
    index_inputs: &[PreparedInput],
    target: Target<'_>,
) -> Result<Counts, DataError> {
    let Target {
        output,
        scratch,
        metadata,
        key_values,
        sort_buffer_rows,
    } = target;
    let mut examples = Vec::new();
    let (frames, rows_read, rejected) = scan_all(importer, inputs, 0, &mut examples)?;
    let valid = rows_read - rejected;
    if valid == 0 {
        return Err(DataError::InvalidInput {
            what: "import",
            reason: no_valid_rows("rows", rows_read, rejected, &examples),
        });
    }
    let (index_frames, index_rows_read, index_rejected) =
        scan_all(importer, index_inputs, inputs.len(), &mut examples)?;
    let index = if index_inputs.is_empty() {
        None
    } else {
        if index_rows_read == index_rejected {
            return Err(DataError::InvalidInput {
                what: "import",
                reason: no_valid_rows("index rows", index_rows_read, index_rejected, &examples),
            });
        }
        let rows = expanded(importer, index_frames)
            .map_err(|e| engine_error(output, "failed to read the index inputs", &e))?;
        check_unique_ts(&rows, index_inputs)?;
        Some(rows)
    };

    let temp = scratch.join("output.parquet");
    // More valid records than the buffer: the external sort (see
    // `external`), whose result is the same as this in-memory one's.
    let external_dropped = if valid > sort_buffer_rows {
        let index = index.map(|rows| index_prices(rows, output)).transpose()?;
        let (_, dropped) = external::sink(
            importer,
            frames,
            index.as_ref(),
            &external::Paths {
                scratch,
                output,
                temp: &temp,
            },
            metadata,
            sort_buffer_rows,
        )?;
        Some(dropped)
    } else {
        sink(importer, frames, index, output, &temp, key_values)?;
        None
    };
    let written = verify(importer.schema(), &temp, metadata).map_err(|source| {
        DataError::ImportVerification {
            path: output.to_owned(),
            source: Box::new(source),
        }
    })?;
    let records = written.rows / importer.rows_per_record();
    let duplicates_dropped = valid
        .checked_sub(records)
        .ok_or_else(|| DataError::Import {
            path: output.to_owned(),
            action: "failed to account for the imported rows",
            reason: format!("{records} records written from {valid} valid input rows"),
        })?;
    if let Some(dropped) = external_dropped
        && dropped != duplicates_dropped
    {
        return Err(DataError::Import {
            path: output.to_owned(),
            action: "failed to account for the imported rows",
            reason: format!(
                "the external sort dropped {dropped} duplicates, but {records} records \
                 were written from {valid} valid input rows"
            ),
        });
    }
    publish(&temp, output)?;
    Ok(Counts {
        rows_read,
        rejected,
        examples,
        rows_written: written.rows,
        duplicates_dropped,
        index_rows_read,
        index_rejected,
        rows_with_index: written.with_index,
        first_ts_ns: written.first_ts_ns,
        last_ts_ns: written.last_ts_ns,
    })
}

/// The index prices by time, for the external sort (index inputs are
/// kline files, small enough to hold: four rows per kline).
fn index_prices(rows: LazyFrame, output: &Path) -> Result<HashMap<i64, f64>, DataError> {
    const ACTION: &str = "failed to read the index inputs";
    let df = collect(rows.select([col("ts"), col("mark")]), output, ACTION)?;
    let err = |e: PolarsError| engine_error(output, ACTION, &e);
    let ts = df
        .column("ts")
        .and_then(|c| c.i64().cloned())
        .map_err(err)?;
    let mark = df
        .column("mark")
        .and_then(|c| c.f64().cloned())
        .map_err(err)?;
    Ok(ts
        .iter()
        .zip(mark.iter())
        .filter_map(|(ts, mark)| Some((ts?, mark?)))
        .collect())
}

/// Fails if two index rows share a timestamp (two different index klines
/// with one open time): the join would duplicate mark rows.
fn check_unique_ts(rows: &LazyFrame, index_inputs: &[PreparedInput]) -> Result<(), DataError> {
    let files = index_inputs
        .iter()
        .map(|input| input.original.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let path = index_inputs
        .first()
        .map_or_else(PathBuf::new, |input| input.original.clone());
    let df = collect(
        rows.clone().select([
            len().cast(DataType::UInt64).alias("rows"),
            col("ts")
                .n_unique()
                .cast(DataType::UInt64)
                .alias("distinct"),
        ]),
        &path,
        "failed to read the index inputs",
    )?;
    let rows = get_u64(&df, "rows", 0).unwrap_or(0);
    let distinct = get_u64(&df, "distinct", 0).unwrap_or(0);
    if rows != distinct {
        return Err(DataError::InvalidInput {
            what: "index inputs",
            reason: format!(
                "{} index path points share a timestamp with a different index kline \
                 (two index klines with one open time); files: {files}",
                rows - distinct
            ),
        });
    }
    Ok(())
}

/// The lazy scan of one input: row index, file index, the required columns
/// (text, renamed to the layout's names), typed columns and the reject code.
fn scan(
    importer: &dyn Importer,
    input: &PreparedInput,
    index: usize,
) -> Result<(LazyFrame, Vec<Check>), DataError> {
    let csv = input.csv.to_str().ok_or_else(|| DataError::InvalidPath {
        path: input.original.clone(),
        reason: "is not valid UTF-8 (the CSV scanner needs UTF-8 paths)",
    })?;
    let file_index = u32::try_from(index).map_err(|_| DataError::InvalidInput {
        what: "import request",
        reason: format!("too many input files ({index})"),
    })?;
    let frame = LazyCsvReader::new(PlRefPath::new(csv))
        .with_has_header(input.has_header)
        // Every column as text: typing is done by expressions, so that a bad
        // value rejects its row instead of failing the scan.
        .with_infer_schema_length(Some(0))
        .with_row_index(Some(RowIndex {
            name: ROW.into(),
            offset: 0,
        }))
        .finish()
        .map_err(|e| engine_error(&input.original, "failed to scan CSV", &e))?;
    let layout = importer.layout();
    let mut columns = vec![col(ROW).cast(DataType::UInt64), lit(file_index).alias(FILE)];
    for (name, actual) in layout.required.iter().zip(&input.columns) {
        columns.push(col(actual.as_str()).alias(*name));
    }
    let (frame, checks) = importer.parse(frame.select(columns));
    let code = checks.iter().enumerate().rev().fold(
        lit(NULL).cast(DataType::UInt32),
        |otherwise, (i, check)| {
            when(check.bad.clone())
                .then(lit(i as u32))
                .otherwise(otherwise)
        },
    );
    Ok((frame.with_column(code.alias(REJECT)), checks))
}

/// Collects a small query with the streaming engine.
fn collect(frame: LazyFrame, path: &Path, action: &'static str) -> Result<DataFrame, DataError> {
    // A single plan (not `collect_all`) always yields a single result.
    frame
        .collect_with_engine(Engine::Streaming)
        .map(|result| result.unwrap_single())
        .map_err(|e| engine_error(path, action, &e))
}

/// Reads `name` of row 0 of `df` as an unsigned count.
fn get_u64(df: &DataFrame, name: &str, row: usize) -> Option<u64> {
    let column = df.column(name).ok()?.cast(&DataType::UInt64).ok()?;
    column.u64().ok()?.get(row)
}

/// Rows and rejected rows of one input.
fn count(frame: &LazyFrame, input: &PreparedInput) -> Result<(usize, usize), DataError> {
    const ACTION: &str = "failed to read CSV";
    let df = collect(
        frame.clone().select([
            len().cast(DataType::UInt64).alias("rows"),
            col(REJECT)
                .is_not_null()
                .cast(DataType::UInt64)
                .sum()
                .alias("rejected"),
        ]),
        &input.original,
        ACTION,
    )?;
    let rows = get_u64(&df, "rows", 0).unwrap_or(0);
    let rejected = get_u64(&df, "rejected", 0).unwrap_or(0);
    let as_usize = |n: u64| {
        usize::try_from(n).map_err(|_| DataError::Import {
            path: input.original.clone(),
            action: ACTION,
            reason: format!("{n} rows do not fit this platform's usize"),
        })
    };
    Ok((as_usize(rows)?, as_usize(rejected)?))
}

/// The first `n` rejected rows of one input, as "file:line: column `c`:
/// reason: "raw"" messages.
fn fetch_examples(
    frame: &LazyFrame,
    input: &PreparedInput,
    checks: &[Check],
    n: usize,
) -> Result<Vec<String>, DataError> {
    let mut columns: Vec<&'static str> = checks.iter().map(|check| check.column).collect();
    columns.sort_unstable();
    columns.dedup();
    let mut select = vec![col(ROW), col(REJECT)];
    select.extend(columns.iter().map(|&name| col(name)));
    let df = collect(
        frame
            .clone()
            .filter(col(REJECT).is_not_null())
            .select(select)
            .sort([ROW], SortMultipleOptions::default())
            .limit(n as IdxSize),
        &input.original,
        "failed to read CSV",
    )?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let row = get_u64(&df, ROW, i).unwrap_or(0);
        let Some(check) = get_u64(&df, REJECT, i)
            .and_then(|code| usize::try_from(code).ok())
            .and_then(|code| checks.get(code))
        else {
            continue;
        };
        let raw = df
            .column(check.column)
            .ok()
            .and_then(|c| c.str().ok().map(|s| s.get(i).map(str::to_owned)))
            .flatten();
        let raw = match raw {
            Some(text) => format!("{text:?}"),
            None => "missing".to_owned(),
        };
        out.push(format!(
            "{}:{}: column `{}`: {}: {raw}",
            input.original.display(),
            input.line(row),
            check.column,
            check.reason,
        ));
    }
    Ok(out)
}

/// `ts` (Int64 ns) as `Datetime(ns, "UTC")`.
fn utc_timestamp(ts: Expr) -> Expr {
    let dtype = DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
    let out_dtype = dtype.clone();
    ts.map(
        |c: Column| {
            let ns = c.i64()?.clone();
            let dt = ns.into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
            Ok(Column::from(dt.into_series()))
        },
        move |_, field| Ok(Field::new(field.name().clone(), out_dtype.clone())),
    )
    .alias("ts")
}

/// The output rows of `frames`: valid rows of every input → dedupe →
/// expand (unsorted).
fn expanded(importer: &dyn Importer, frames: Vec<LazyFrame>) -> Result<LazyFrame, PolarsError> {
    let all = concat(
        frames,
        UnionArgs {
            maintain_order: true,
            ..UnionArgs::default()
        },
    )?;
    let records = all
        .filter(col(REJECT).is_null())
        .select(importer.record())
        .unique_stable(None, UniqueKeepStrategy::First);
    importer.expand(records)
}

/// Name of the joined index price before it becomes `index`.
const INDEX_PRICE: &str = "__index_price";

/// Step 2: valid rows of every input → dedupe → expand → (join the index
/// rows on `ts`) → sort → Parquet at `temp`.
fn sink(
    importer: &dyn Importer,
    frames: Vec<LazyFrame>,
    index: Option<LazyFrame>,
    output: &Path,
    temp: &Path,
    key_values: Vec<(String, String)>,
) -> Result<(), DataError> {
    const ACTION: &str = "failed to import";
    let err = |e: PolarsError| engine_error(output, ACTION, &e);
    let mut rows = expanded(importer, frames).map_err(err)?;
    if let Some(index) = index {
        // Mark rows keep their order (and their count: index `ts` values are
        // unique, checked before); `index` is the index path's price there.
        let mut args = JoinArgs::new(JoinType::Left);
        args.maintain_order = MaintainOrderJoin::Left;
        rows = rows
            .select([col("ts"), col("mark")])
            .join(
                index.select([col("ts"), col("mark").alias(INDEX_PRICE)]),
                [col("ts")],
                [col("ts")],
                args,
            )
            .select([col("ts"), col("mark"), col(INDEX_PRICE).alias("index")]);
    }
    let rows = rows.sort(
        importer.sort_by().to_vec(),
        SortMultipleOptions::default()
            .with_maintain_order(true)
            .with_nulls_last(true),
    );
    let schema = importer.schema();
    let mut outputs = vec![utc_timestamp(col("ts"))];
    outputs.extend(
        arrow_columns(schema)
            .into_iter()
            .skip(1)
            .map(|name| col(name.as_str())),
    );
    let options = ParquetWriteOptions {
        // arrow-rs here reads snappy (and uncompressed) only.
        compression: ParquetCompression::Snappy,
        statistics: StatisticsOptions::default(),
        row_group_size: Some(MAX_ROW_GROUP_ROWS),
        key_value_metadata: Some(KeyValueMetadata::from_static(key_values)),
        ..ParquetWriteOptions::default()
    };
    sink_parquet(rows.select(outputs), options, temp, output)
}

/// Runs `frame` with polars' streaming engine into the Parquet file `path`,
/// written with `options`; errors name `output`, the file being imported.
pub(crate) fn sink_parquet(
    frame: LazyFrame,
    options: ParquetWriteOptions,
    path: &Path,
    output: &Path,
) -> Result<(), DataError> {
    let err = |e: PolarsError| engine_error(output, "failed to import", &e);
    let target = path.to_str().ok_or_else(|| DataError::InvalidPath {
        path: output.to_owned(),
        reason: "is not valid UTF-8 (the Parquet sink needs UTF-8 paths)",
    })?;
    frame
        .sink(
            SinkDestination::File {
                target: SinkTarget::Path(PlRefPath::new(target)),
            },
            FileWriteFormat::Parquet(Arc::new(options)),
            UnifiedSinkArgs::default(),
        )
        .map_err(err)?
        .collect_with_engine(Engine::Streaming)
        .map_err(err)?;
    Ok(())
}

/// The column names of `schema`, in order.
fn arrow_columns(schema: HistorySchema) -> Vec<String> {
    expected_arrow_schema(schema)
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect()
}

fn expected_arrow_schema(schema: HistorySchema) -> arrow_schema::SchemaRef {
    match schema {
        HistorySchema::Trades => trades_schema(),
        HistorySchema::Prices => prices_schema(),
        HistorySchema::Funding => funding_schema(),
        HistorySchema::Depth => depth_schema(),
    }
}

/// What [`verify`] found in the written file.
struct Written {
    rows: usize,
    /// Rows with a non-null `index` (prices files).
    with_index: usize,
    first_ts_ns: i64,
    last_ts_ns: i64,
}

/// Step 3: reads `temp` back with the crate's own reader.
fn verify(
    schema: HistorySchema,
    temp: &Path,
    expected: &HistoryMetadata,
) -> Result<Written, DataError> {
    let (found, metadata) = read_history_metadata(temp)?;
    if found != schema {
        return Err(DataError::SchemaMismatch {
            path: temp.to_owned(),
            expected: schema.id().to_owned(),
            found: found.id().to_owned(),
        });
    }
    if metadata != *expected {
        return Err(DataError::InvalidMetadata {
            path: temp.to_owned(),
            key: "*".to_owned(),
            value: format!("{metadata:?}"),
            reason: format!("differs from what was written: {expected:?}"),
        });
    }
    check_arrow_types(schema, temp)?;
    let mut rows = 0_usize;
    let mut with_index = 0_usize;
    let mut first = None;
    let mut last = 0_i64;
    if schema == HistorySchema::Depth {
        for row in read_depth(temp)?.rows {
            rows += 1;
            first.get_or_insert(row.ts_ns);
            last = row.ts_ns;
        }
    } else {
        for event in HistorySource::open(temp, TimeWindow::ALL)? {
            let event = event?;
            if let ReplayEvent::Price { index: Some(_), .. } = event {
                with_index += 1;
            }
            let ts = event.ts_ns();
            rows += 1;
            first.get_or_insert(ts);
            last = ts;
        }
    }
    let first = first.ok_or_else(|| DataError::InvalidInput {
        what: "import",
        reason: "no rows were written".to_owned(),
    })?;
    Ok(Written {
        rows,
        with_index,
        first_ts_ns: first,
        last_ts_ns: last,
    })
}

/// Checks that every column has exactly the name and Arrow type (including
/// the `ts` zone spelling `"UTC"`) of the schema, in order. Nullability is
/// not compared: polars writes every column as nullable (OPTIONAL); the
/// row-by-row read in [`verify`] rejects a null where the schema has none.
fn check_arrow_types(schema: HistorySchema, temp: &Path) -> Result<(), DataError> {
    let file = File::open(temp)
        .map_err(|source| DataError::io(temp, "failed to open file for reading", source))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| DataError::NotParquet {
            path: temp.to_owned(),
            source,
        })?;
    let found = builder.schema();
    let expected = expected_arrow_schema(schema);
    for (i, field) in expected.fields().iter().enumerate() {
        let Some(got) = found.fields().get(i) else {
            return Err(DataError::MissingColumn {
                path: temp.to_owned(),
                column: field.name().clone(),
                expected_type: field.data_type().to_string(),
            });
        };
        if got.name() != field.name() || got.data_type() != field.data_type() {
            return Err(DataError::ColumnType {
                path: temp.to_owned(),
                column: field.name().clone(),
                expected: field.data_type().to_string(),
                found: format!("`{}` {}", got.name(), got.data_type()),
            });
        }
    }
    if found.fields().len() != expected.fields().len() {
        return Err(DataError::InvalidInput {
            what: "import",
            reason: format!(
                "{} columns written, the schema has {}",
                found.fields().len(),
                expected.fields().len()
            ),
        });
    }
    Ok(())
}

/// fsyncs `temp` and renames it over `output`, then fsyncs the directory.
fn publish(temp: &Path, output: &Path) -> Result<(), DataError> {
    File::open(temp)
        .and_then(|file| file.sync_all())
        .map_err(|source| DataError::io(output, "failed to sync the imported file", source))?;
    std::fs::rename(temp, output).map_err(|source| {
        DataError::io(
            output,
            format!(
                "failed to rename the imported file {} into place",
                temp.display()
            ),
            source,
        )
    })?;
    #[cfg(unix)]
    {
        let dir = match output.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| {
                DataError::io(
                    output,
                    "imported file is in place, but syncing its directory failed",
                    source,
                )
            })?;
    }
    Ok(())
}

/// Epoch timestamps in ms, µs or ns (Binance public data switched some
/// series from ms to µs in 2025) as ns. Values below 9e12 are ms (until
/// 2255), below 9e15 µs, anything larger ns; the thresholds keep the
/// multiplication inside i64.
pub(crate) fn epoch_unit_factor(raw: Expr) -> Expr {
    when(raw.clone().lt(lit(9_000_000_000_000_i64)))
        .then(lit(1_000_000_i64))
        .otherwise(
            when(raw.lt(lit(9_000_000_000_000_000_i64)))
                .then(lit(1_000_i64))
                .otherwise(lit(1_i64)),
        )
}

/// A text column parsed as Int64 (null if unparseable).
pub(crate) fn int(raw: &str) -> Expr {
    col(raw).cast(DataType::Int64)
}

/// A text column parsed as Float64 (null if unparseable; `NaN` parses).
pub(crate) fn float(raw: &str) -> Expr {
    col(raw).cast(DataType::Float64)
}

/// Rejects rows where typed column `typed` is null (missing or unparseable).
pub(crate) fn unparseable(typed: &str, raw: &'static str, what: &'static str) -> Check {
    Check::new(col(typed).is_null(), raw, what)
}

/// Rejects rows where float column `typed` is not finite or not > 0.
pub(crate) fn not_positive(typed: &str, raw: &'static str) -> Check {
    Check::new(
        col(typed).is_finite().not().or(col(typed).lt_eq(lit(0.0))),
        raw,
        "must be finite and > 0",
    )
}

/// Rejects rows where float column `typed` is not finite or < 0.
pub(crate) fn negative(typed: &str, raw: &'static str) -> Check {
    Check::new(
        col(typed).is_finite().not().or(col(typed).lt(lit(0.0))),
        raw,
        "must be finite and >= 0",
    )
}

/// Rejects rows where float column `typed` is not finite.
pub(crate) fn not_finite(typed: &str, raw: &'static str) -> Check {
    Check::new(col(typed).is_finite().not(), raw, "must be finite")
}

/// Whether text column `raw` is one of `values`.
pub(crate) fn text_is(raw: &str, values: &[&str]) -> Expr {
    values
        .iter()
        .map(|&value| col(raw).eq(lit(value)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}
