//! The import pipeline shared by every format (design A: polars does the ETL
//! *and* writes the Parquet file; this crate's arrow-rs reader verifies it).
//!
//! For each input file, a polars `LazyCsvReader` scans every column as text
//! (with a row index, for line numbers); the format's
//! [`Importer`](super::importer::Importer) adds typed columns and a list of
//! [`Check`](super::importer::Check)s, which become one `__reject` code per row
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

use std::path::Path;

use polars::prelude::LazyFrame;

use super::external;
use super::importer::{Importer, engine_error};
use super::input::PreparedInput;
use super::scan::{check_unique_ts, index_prices, no_valid_rows, scan_all};
use super::sink::{expanded, sink};
use super::verify::{publish, verify};
use crate::error::DataError;
use crate::history::HistoryMetadata;

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
// Over 70 lines: the three steps of the pipeline, in order, with their accounting.
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
            reason: no_valid_rows("rows", inputs, rows_read, rejected, &examples),
        });
    }
    let (index, index_rows_read, index_rejected) =
        scan_index(importer, index_inputs, inputs.len(), output, &mut examples)?;
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
    let duplicates_dropped = duplicates_dropped(
        output,
        valid,
        written.rows / importer.rows_per_record(),
        external_dropped,
    )?;
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

/// Scans the index-price inputs (file indices from `first_file`): their
/// expanded rows (`None` without index inputs), rows read and rows rejected.
fn scan_index(
    importer: &dyn Importer,
    index_inputs: &[PreparedInput],
    first_file: usize,
    output: &Path,
    examples: &mut Vec<String>,
) -> Result<(Option<LazyFrame>, usize, usize), DataError> {
    let (index_frames, index_rows_read, index_rejected) =
        scan_all(importer, index_inputs, first_file, examples)?;
    if index_inputs.is_empty() {
        return Ok((None, index_rows_read, index_rejected));
    }
    if index_rows_read == index_rejected {
        return Err(DataError::InvalidInput {
            what: "import",
            reason: no_valid_rows(
                "index rows",
                index_inputs,
                index_rows_read,
                index_rejected,
                examples,
            ),
        });
    }
    let rows = expanded(importer, index_frames)
        .map_err(|e| engine_error(output, "failed to read the index inputs", &e))?;
    check_unique_ts(&rows, index_inputs)?;
    Ok((Some(rows), index_rows_read, index_rejected))
}

/// The exact duplicates dropped: `valid` input records less the `records`
/// written, which must agree with what the external sort counted (if it ran).
fn duplicates_dropped(
    output: &Path,
    valid: usize,
    records: usize,
    external_dropped: Option<usize>,
) -> Result<usize, DataError> {
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
    Ok(duplicates_dropped)
}
