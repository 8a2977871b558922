//! The depth schema (`depth/v1`): snapshots of cumulative order-book depth of
//! one symbol by distance from the mid price.
//!
//! | column       | type                   | meaning                                                                    |
//! |--------------|------------------------|----------------------------------------------------------------------------|
//! | `ts`         | `Timestamp(ns, "UTC")` | snapshot time, ns since the Unix epoch; non-decreasing                     |
//! | `percentage` | `Float64`              | signed distance from mid in percent, finite; negative = bids, positive = asks |
//! | `depth`      | `Float64`              | cumulative size resting between mid and `percentage`, finite and >= 0      |
//! | `notional`   | `Float64`              | the same in USD, finite and >= 0                                           |
//!
//! A snapshot is the rows sharing one `ts` (for example the ±1 % … ±5 % bands
//! of Binance's `bookDepth`). `depth` is in base units or contracts as
//! recorded in the metadata, like trade sizes. No column is nullable.
//! Depth is not a replay event; it is read whole with [`read_depth`].

use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::Array as _;
use arrow_array::types::{Float64Type, TimestampNanosecondType};
use arrow_array::{ArrayRef, Float64Array, PrimitiveArray, RecordBatch, TimestampNanosecondArray};
use arrow_schema::SchemaRef;

use super::codec::columns::{TS, column, ts_value, value};
use super::codec::cursor::read_rows;
use super::codec::metadata::{HistoryMetadata, HistorySchema};
use super::codec::rows::{Decode, HistoryTable, Record, WriteOptions, write_rows};
use crate::error::DataError;
use crate::rules::{
    BadValue, all_finite, all_non_negative, check_lengths, column as bad, finite, non_negative,
};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// Value of the `backstop.schema` metadata key in depth files.
pub const DEPTH_SCHEMA_ID: &str = HistorySchema::Depth.id();

/// One band of one depth snapshot; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthRow {
    /// Snapshot time, ns since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Signed distance from mid in percent (finite): negative bids, positive asks.
    pub percentage: f64,
    /// Cumulative size between mid and `percentage` (finite, >= 0).
    pub depth: f64,
    /// Cumulative notional in USD between mid and `percentage` (finite, >= 0).
    pub notional: f64,
}

const PERCENTAGE: Column = Column::new("percentage", ColumnType::F64);
const DEPTH: Column = Column::new("depth", ColumnType::F64);
const NOTIONAL: Column = Column::new("notional", ColumnType::F64);

const COLUMNS: [Column; 4] = [TS, PERCENTAGE, DEPTH, NOTIONAL];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

/// The Arrow schema [`write_depth`] writes.
#[must_use]
pub fn depth_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

impl Record for DepthRow {
    const SCHEMA: HistorySchema = HistorySchema::Depth;
    const COLUMNS: &'static [Column] = &COLUMNS;
    type Decoder = DepthColumns;

    fn ts_ns(&self) -> i64 {
        self.ts_ns
    }

    fn check(&self) -> Result<(), BadValue> {
        finite(self.percentage).map_err(bad(PERCENTAGE.name))?;
        non_negative(self.depth).map_err(bad(DEPTH.name))?;
        non_negative(self.notional).map_err(bad(NOTIONAL.name))
    }

    fn arrow_schema() -> SchemaRef {
        depth_schema()
    }

    fn arrays(rows: &[Self]) -> Vec<ArrayRef> {
        vec![
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_ns))
                    .with_timezone(UTC),
            ),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.percentage),
            )),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.depth))),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.notional),
            )),
        ]
    }
}

/// The typed columns of one decoded depth batch.
pub(crate) struct DepthColumns {
    ts: PrimitiveArray<TimestampNanosecondType>,
    percentage: Float64Array,
    depth: Float64Array,
    notional: Float64Array,
}

impl Decode for DepthColumns {
    type Row = DepthRow;

    fn from_batch(path: &Path, batch: &RecordBatch) -> Result<Self, DataError> {
        let columns = Self {
            ts: column::<TimestampNanosecondType>(path, batch, &TS)?,
            percentage: column::<Float64Type>(path, batch, &PERCENTAGE)?,
            depth: column::<Float64Type>(path, batch, &DEPTH)?,
            notional: column::<Float64Type>(path, batch, &NOTIONAL)?,
        };
        check_lengths(
            path,
            (TS.name, batch.num_rows()),
            &[
                (TS.name, columns.ts.len()),
                (PERCENTAGE.name, columns.percentage.len()),
                (DEPTH.name, columns.depth.len()),
                (NOTIONAL.name, columns.notional.len()),
            ],
        )?;
        Ok(columns)
    }

    #[inline]
    fn len(&self) -> usize {
        self.ts.len()
    }

    #[inline]
    fn ts_raw(&self) -> &[i64] {
        self.ts.values()
    }

    fn all_valid(&self) -> bool {
        [
            self.ts.null_count(),
            self.percentage.null_count(),
            self.depth.null_count(),
            self.notional.null_count(),
        ] == [0; 4]
            && all_finite(self.percentage.values())
            && all_non_negative(self.depth.values())
            && all_non_negative(self.notional.values())
    }

    fn checked_row(&self, i: usize) -> DepthRow {
        DepthRow {
            ts_ns: self.ts.values()[i],
            percentage: self.percentage.values()[i],
            depth: self.depth.values()[i],
            notional: self.notional.values()[i],
        }
    }

    fn ts(&self, i: usize) -> Option<i64> {
        ts_value(&self.ts, i)
    }

    fn ts_values(&self) -> Option<&[i64]> {
        (self.ts.null_count() == 0).then(|| &self.ts.values()[..])
    }

    fn row(&self, path: &Path, i: usize, row: usize) -> Result<DepthRow, DataError> {
        Ok(DepthRow {
            ts_ns: value(path, &self.ts, &TS, i, row)?,
            percentage: value(path, &self.percentage, &PERCENTAGE, i, row)?,
            depth: value(path, &self.depth, &DEPTH, i, row)?,
            notional: value(path, &self.notional, &NOTIONAL, i, row)?,
        })
    }
}

/// Writes `rows` to `path` atomically as a `depth/v1` file with `metadata`.
///
/// Output is deterministic: the same rows, metadata and options give a
/// byte-identical file.
///
/// # Errors
///
/// Before anything is written: [`DataError::InvalidValue`] for a non-finite
/// percentage or a negative or non-finite depth or notional,
/// [`DataError::UnsortedTimestamps`] if `ts` decreases (both naming the
/// 0-based row), [`DataError::InvalidMetadata`] /
/// [`DataError::ReservedMetadataKey`] / [`DataError::DuplicateMetadataKey`]
/// for bad metadata, [`DataError::InvalidInput`] for zero rows per row group.
/// Then I/O or encoding errors from the write itself.
pub fn write_depth(
    path: &Path,
    rows: &[DepthRow],
    metadata: &HistoryMetadata,
    options: &WriteOptions,
) -> Result<(), DataError> {
    write_rows(path, rows, metadata, options)
}

/// Reads a whole `depth/v1` file into memory, in file order.
///
/// # Errors
///
/// As [`read_trades`](super::trades::read_trades): unopenable file, bad metadata,
/// unusable columns, and row-level [`DataError::NullValue`],
/// [`DataError::InvalidValue`] or [`DataError::UnsortedTimestamps`].
pub fn read_depth(path: &Path) -> Result<HistoryTable<DepthRow>, DataError> {
    read_rows(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::codec::metadata::Contract;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("depth.parquet");
        let meta = HistoryMetadata::new("BTCUSDT", "binance-usdm", "test", Contract::Linear);
        let rows: Vec<DepthRow> = [-2.0, -1.0, 1.0, 2.0]
            .into_iter()
            .enumerate()
            .map(|(i, percentage)| DepthRow {
                ts_ns: 1_700_000_000_000_000_000 + (i as i64 / 2),
                percentage,
                depth: 10.0 * percentage.abs(),
                notional: 600_000.0 * percentage.abs(),
            })
            .collect();
        write_depth(&path, &rows, &meta, &WriteOptions::default()).unwrap();
        let table = read_depth(&path).unwrap();
        assert_eq!(table.rows, rows);
        assert_eq!(table.metadata, meta);

        let mut bad = rows;
        bad[3].notional = -1.0;
        let err = write_depth(&path, &bad, &meta, &WriteOptions::default()).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 3, ref column, .. } if column == "notional"),
            "{err:?}"
        );
    }
}
