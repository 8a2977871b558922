//! `paths.parquet` (`paths/v1`): one row per (parameter set, path), one column
//! per per-path metric (docs/model.md §7), in the order of
//! [`METRICS`](super::metrics::METRICS).
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `param_set` | `UInt32` | parameter-set index (0 without a sweep) |
//! | `path` | `UInt64` | path index |
//! | one per [`PATH_METRICS`] name | `Float64`, nullable | the metric; null = not applicable (e.g. `insurance_fund_first_depletion_step` of a path that never depleted) |
//!
//! Every value must be finite. Writers are deterministic and atomic; readers
//! accept extra columns and name the file, row and column of any bad value.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::SchemaRef;

use super::metrics::PATH_METRICS;
use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::rules::{check_lengths, finite};
use crate::schema::{Column, ColumnType, arrow_schema};

/// `backstop.schema` of `paths.parquet`.
pub const PATHS_SCHEMA_ID: &str = "paths/v1";

/// The parameter-set column of the across-path result files.
pub(crate) const PARAM_SET: Column = Column::new("param_set", ColumnType::U32);
/// The path column of the across-path result files.
pub(crate) const PATH: Column = Column::new("path", ColumnType::U64);

/// The column of metric `name`.
const fn metric_column(name: &'static str) -> Column {
    Column::nullable(name, ColumnType::F64)
}

/// One row per (parameter set, path); `metrics[k]` is the column named
/// `PATH_METRICS[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathsTable {
    /// Parameter-set index.
    pub param_set: Vec<u32>,
    /// Path index.
    pub path: Vec<u64>,
    /// One column per [`PATH_METRICS`] entry, in that order.
    pub metrics: Vec<Vec<Option<f64>>>,
}

impl Default for PathsTable {
    fn default() -> Self {
        Self {
            param_set: Vec::new(),
            path: Vec::new(),
            metrics: vec![Vec::new(); PATH_METRICS.len()],
        }
    }
}

impl PathsTable {
    /// Appends one row; `values` in [`PATH_METRICS`] order.
    pub fn push(&mut self, param_set: u32, path: u64, values: &[Option<f64>; PATH_METRICS.len()]) {
        self.param_set.push(param_set);
        self.path.push(path);
        for (column, value) in self.metrics.iter_mut().zip(values) {
            column.push(*value);
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.path.len()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.path.is_empty()
    }

    /// The column of metric `name`, if it is one of [`PATH_METRICS`].
    #[must_use]
    pub fn metric(&self, name: &str) -> Option<&[Option<f64>]> {
        let k = super::metrics::metric_index(name)?;
        self.metrics.get(k).map(Vec::as_slice)
    }

    /// The finite, non-null values of metric `name` in parameter set
    /// `param_set`, in row order; empty if the metric is not one of
    /// [`PATH_METRICS`].
    #[must_use]
    pub fn values(&self, name: &str, param_set: u32) -> Vec<f64> {
        let Some(column) = self.metric(name) else {
            return Vec::new();
        };
        column
            .iter()
            .zip(&self.param_set)
            .filter(|(_, set)| **set == param_set)
            .filter_map(|(v, _)| *v)
            .filter(|v| v.is_finite())
            .collect()
    }

    /// The distinct parameter sets, ascending.
    #[must_use]
    pub fn param_sets(&self) -> Vec<u32> {
        let mut sets = self.param_set.clone();
        sets.sort_unstable();
        sets.dedup();
        sets
    }

    fn check(&self, path: &Path) -> Result<(), DataError> {
        let n = self.len();
        let mut lengths = vec![(PARAM_SET.name, self.param_set.len())];
        if self.metrics.len() != PATH_METRICS.len() {
            return Err(DataError::LengthMismatch {
                path: Some(path.to_owned()),
                column: "metrics".to_owned(),
                reference: "the metric table (results/metrics.rs)".to_owned(),
                expected: PATH_METRICS.len(),
                found: self.metrics.len(),
            });
        }
        lengths.extend(
            PATH_METRICS
                .iter()
                .zip(&self.metrics)
                .map(|(n, c)| (*n, c.len())),
        );
        check_lengths(path, (PATH.name, n), &lengths)?;
        for (name, column) in PATH_METRICS.iter().zip(&self.metrics) {
            for (row, value) in column.iter().enumerate() {
                if let Some(v) = value {
                    finite(*v).map_err(|broken| broken.at(path, row, name))?;
                }
            }
        }
        Ok(())
    }
}

/// Every column of `paths/v1`, in file order.
fn columns() -> Vec<Column> {
    let mut columns = vec![PARAM_SET, PATH];
    columns.extend(PATH_METRICS.iter().map(|name| metric_column(name)));
    columns
}

fn paths_schema() -> SchemaRef {
    arrow_schema(&columns())
}

/// Writes `table` atomically as `paths/v1`.
///
/// # Errors
/// Columns of different lengths or non-finite values (before anything is
/// written), bad metadata, and I/O or encoding errors.
pub fn write_paths(
    path: &Path,
    table: &PathsTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = paths_schema();
    let batches = row_batches(path, &schema, table)?;
    write_parquet(path, &schema, PATHS_SCHEMA_ID, metadata, batches)
}

/// Checks the rows, then yields their batches, one per row group.
fn row_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    table: &'a PathsTable,
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    table.check(path)?;
    let len = table.len();
    Ok((0..len.max(1))
        .step_by(MAX_ROW_GROUP_ROWS)
        .map(move |start| {
            let range = start..(start + MAX_ROW_GROUP_ROWS).min(len);
            let mut columns: Vec<ArrayRef> = vec![
                Arc::new(UInt32Array::from_iter_values(
                    table.param_set[range.clone()].iter().copied(),
                )),
                Arc::new(UInt64Array::from_iter_values(
                    table.path[range.clone()].iter().copied(),
                )),
            ];
            columns.extend(table.metrics.iter().map(|c| {
                Arc::new(c[range.clone()].iter().copied().collect::<Float64Array>()) as ArrayRef
            }));
            RecordBatch::try_new(Arc::clone(schema), columns)
                .map_err(arrow_err(path, "failed to build record batch"))
        }))
}

/// The record batches [`write_paths`] writes to `path` (one per row group), in
/// memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_paths`], but nothing is written.
pub fn paths_batches(
    path: &Path,
    table: &PathsTable,
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = paths_schema();
    let batches = row_batches(path, &schema, table)?;
    TableBatches::collect(path, &schema, PATHS_SCHEMA_ID, metadata, batches)
}

/// Reads a `paths/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a non-finite value (naming row and column).
pub fn read_paths(path: &Path) -> Result<PathsTable, DataError> {
    let reader = open_projected(path, PATHS_SCHEMA_ID, &columns())?;
    let mut t = PathsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        BatchColumn::new(path, &batch, PARAM_SET, offset)?.push_u32(&mut t.param_set)?;
        BatchColumn::new(path, &batch, PATH, offset)?.push_u64(&mut t.path)?;
        for (name, column) in PATH_METRICS.iter().zip(&mut t.metrics) {
            BatchColumn::new(path, &batch, metric_column(name), offset)?.push_opt_f64(column)?;
        }
    }
    t.check(path)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_with_nulls_and_reject_nan() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paths.parquet");
        let mut t = PathsTable::default();
        for i in 0..3u64 {
            let mut row = [Some(1.5); PATH_METRICS.len()];
            row[0] = Some(i as f64);
            row[8] = if i == 1 { None } else { Some(7.0) };
            t.push(u32::from(i == 2), i, &row);
        }
        write_paths(&file, &t, &[]).unwrap();
        let back = read_paths(&file).unwrap();
        assert_eq!(back, t);
        assert_eq!(
            back.metric("insurance_fund_first_depletion_step").unwrap()[1],
            None
        );
        assert_eq!(back.values("steps", 0), [0.0, 1.0]);
        assert_eq!(back.values("insurance_fund_first_depletion_step", 0), [7.0]);
        assert_eq!(back.param_sets(), [0, 1]);
        t.metrics[3][2] = Some(f64::NAN);
        let other = dir.path().join("bad.parquet");
        let err = write_paths(&other, &t, &[]).unwrap_err().to_string();
        assert!(err.contains("insurance_fund_final"), "{err}");
        assert!(!other.exists());
    }
}
