//! `haircuts.parquet` (`haircuts/v1`): one row per account charged a
//! socialized-loss haircut on a path.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `param_set` | `UInt32` | parameter-set index (0 without a sweep) |
//! | `path` | `UInt64` | path index |
//! | `account_id` | `UInt64` | the account charged |
//! | `amount` | `Float64` | USD charged on the path, finite and > 0 |

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::SchemaRef;

use super::paths::{PARAM_SET, PATH};
use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::rules::{check_lengths, positive};
use crate::schema::{Column, ColumnType, arrow_schema};

/// `backstop.schema` of `haircuts.parquet`.
pub const HAIRCUTS_SCHEMA_ID: &str = "haircuts/v1";

/// Socialized-loss haircuts, one row per (parameter set, path, account).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HaircutsTable {
    /// Parameter-set index.
    pub param_set: Vec<u32>,
    /// Path index.
    pub path: Vec<u64>,
    /// Account charged.
    pub account_id: Vec<u64>,
    /// Amount charged on the path, USD.
    pub amount: Vec<f64>,
}

impl HaircutsTable {
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

    fn check(&self, path: &Path) -> Result<(), DataError> {
        check_lengths(
            path,
            (PATH.name, self.len()),
            &[
                (PARAM_SET.name, self.param_set.len()),
                (ACCOUNT_ID.name, self.account_id.len()),
                (AMOUNT.name, self.amount.len()),
            ],
        )?;
        for (row, a) in self.amount.iter().enumerate() {
            positive(*a).map_err(|broken| broken.at(path, row, AMOUNT.name))?;
        }
        Ok(())
    }
}

const ACCOUNT_ID: Column = Column::new("account_id", ColumnType::U64);
const AMOUNT: Column = Column::new("amount", ColumnType::F64);
const COLUMNS: [Column; 4] = [PARAM_SET, PATH, ACCOUNT_ID, AMOUNT];

/// Writes `table` atomically as `haircuts/v1`.
///
/// # Errors
/// Columns of different lengths or an amount that is not finite and positive
/// (before anything is written), bad metadata, and I/O or encoding errors.
pub fn write_haircuts(
    path: &Path,
    table: &HaircutsTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, table)?;
    write_parquet(path, &schema, HAIRCUTS_SCHEMA_ID, metadata, batches)
}

/// Checks the rows, then yields their batches, one per row group.
fn row_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    table: &'a HaircutsTable,
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    table.check(path)?;
    let len = table.len();
    Ok((0..len.max(1))
        .step_by(MAX_ROW_GROUP_ROWS)
        .map(move |start| {
            let r = start..(start + MAX_ROW_GROUP_ROWS).min(len);
            let columns: Vec<ArrayRef> = vec![
                Arc::new(UInt32Array::from_iter_values(
                    table.param_set[r.clone()].iter().copied(),
                )),
                Arc::new(UInt64Array::from_iter_values(
                    table.path[r.clone()].iter().copied(),
                )),
                Arc::new(UInt64Array::from_iter_values(
                    table.account_id[r.clone()].iter().copied(),
                )),
                Arc::new(Float64Array::from_iter_values(
                    table.amount[r.clone()].iter().copied(),
                )),
            ];
            RecordBatch::try_new(Arc::clone(schema), columns)
                .map_err(arrow_err(path, "failed to build record batch"))
        }))
}

/// The record batches [`write_haircuts`] writes to `path` (one per row group), in
/// memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_haircuts`], but nothing is written.
pub fn haircuts_batches(
    path: &Path,
    table: &HaircutsTable,
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, table)?;
    TableBatches::collect(path, &schema, HAIRCUTS_SCHEMA_ID, metadata, batches)
}

/// Reads a `haircuts/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a bad amount (naming the row).
pub fn read_haircuts(path: &Path) -> Result<HaircutsTable, DataError> {
    let reader = open_projected(path, HAIRCUTS_SCHEMA_ID, &COLUMNS)?;
    let mut t = HaircutsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |s| BatchColumn::new(path, &batch, s, offset);
        column(PARAM_SET)?.push_u32(&mut t.param_set)?;
        column(PATH)?.push_u64(&mut t.path)?;
        column(ACCOUNT_ID)?.push_u64(&mut t.account_id)?;
        column(AMOUNT)?.push_f64(&mut t.amount)?;
    }
    t.check(path)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haircuts_round_trip_and_reject_a_zero_amount() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = HaircutsTable {
            param_set: vec![0, 0],
            path: vec![0, 3],
            account_id: vec![17, 4],
            amount: vec![12.5, 0.25],
        };
        let f = dir.path().join("haircuts.parquet");
        write_haircuts(&f, &h, &[]).unwrap();
        assert_eq!(read_haircuts(&f).unwrap(), h);
        h.amount[1] = 0.0;
        let err = write_haircuts(&dir.path().join("bad.parquet"), &h, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("amount") && err.contains("must be finite and > 0, got 0"),
            "{err}"
        );
    }
}
