//! Step 1 of the pipeline: scanning each input (every column as text, typed
//! by the format), counting its rows and rejected rows, and quoting the first
//! rejected rows; and the checks of the index-price inputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::importer::{Check, FILE, Importer, MAX_EXAMPLES, REJECT, ROW, engine_error};
use super::input::PreparedInput;
use crate::error::DataError;

/// Scans, counts and takes examples from `inputs` (file indices from
/// `first_file`): returns their frames, rows read and rows rejected.
pub(crate) fn scan_all(
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

/// The reason text for "no valid rows", naming the files read (an input
/// with a header and no data rows has no rejected row to name it).
pub(crate) fn no_valid_rows(
    what: &str,
    inputs: &[PreparedInput],
    rows_read: usize,
    rejected: usize,
    examples: &[String],
) -> String {
    let files: Vec<String> = inputs
        .iter()
        .map(|i| i.original.display().to_string())
        .collect();
    format!(
        "no valid {what} to import from {}: {rows_read} read, {rejected} rejected{}",
        files.join(", "),
        if examples.is_empty() {
            String::new()
        } else {
            format!("; first rejected: {}", examples.join("; "))
        }
    )
}

/// The index prices by time, for the external sort (index inputs are
/// kline files, small enough to hold: four rows per kline).
pub(crate) fn index_prices(rows: LazyFrame, output: &Path) -> Result<HashMap<i64, f64>, DataError> {
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
pub(crate) fn check_unique_ts(
    rows: &LazyFrame,
    index_inputs: &[PreparedInput],
) -> Result<(), DataError> {
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
