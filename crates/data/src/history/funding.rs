//! The funding schema (`funding/v1`): funding-rate settlements of one
//! symbol.
//!
//! | column       | type                   | meaning                                                        |
//! |--------------|------------------------|----------------------------------------------------------------|
//! | `ts`         | `Timestamp(ns, "UTC")` | settlement time, ns since the Unix epoch; non-decreasing       |
//! | `rate`       | `Float64`              | funding rate for the interval (0.0001 = 0.01 %), finite        |
//! | `interval_s` | `Int32`                | funding interval in seconds (e.g. 28 800 for 8 h), > 0         |
//!
//! No column is nullable. A positive rate means longs pay shorts. Reading
//! accepts extra columns and any column order; `ts` may use any UTC spelling.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::Array as _;
use arrow_array::types::{Float64Type, Int32Type, TimestampNanosecondType};
use arrow_array::{
    ArrayRef, Float64Array, Int32Array, PrimitiveArray, RecordBatch, TimestampNanosecondArray,
};
use arrow_schema::SchemaRef;

use super::codec::columns::{TS, column, ts_value, value};
use super::codec::cursor::read_rows;
use super::codec::metadata::{HistoryMetadata, HistorySchema};
use super::codec::rows::{Decode, HistoryTable, Record, WriteOptions, write_rows};
use crate::error::DataError;
use crate::rules::{
    BadValue, all_finite, all_within, check_lengths, column as bad, finite, positive_whole,
};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// Value of the `backstop.schema` metadata key in funding files.
pub const FUNDING_SCHEMA_ID: &str = HistorySchema::Funding.id();

/// One funding settlement; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundingRow {
    /// Settlement time, ns since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Funding rate for the interval (finite); positive: longs pay shorts.
    pub rate: f64,
    /// Funding interval in seconds (> 0).
    pub interval_s: i32,
}

const RATE: Column = Column::new("rate", ColumnType::F64);
const INTERVAL_S: Column = Column::new("interval_s", ColumnType::I32);

const COLUMNS: [Column; 3] = [TS, RATE, INTERVAL_S];

/// The columns a replay needs (all of them).
pub(crate) const REPLAY_COLUMNS: [Column; 3] = COLUMNS;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

/// The Arrow schema [`write_funding`] writes.
#[must_use]
pub fn funding_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

impl Record for FundingRow {
    const SCHEMA: HistorySchema = HistorySchema::Funding;
    const COLUMNS: &'static [Column] = &COLUMNS;
    type Decoder = FundingColumns;

    fn ts_ns(&self) -> i64 {
        self.ts_ns
    }

    #[inline]
    fn check(&self) -> Result<(), BadValue> {
        finite(self.rate).map_err(bad(RATE.name))?;
        positive_whole(i64::from(self.interval_s)).map_err(bad(INTERVAL_S.name))
    }

    fn arrow_schema() -> SchemaRef {
        funding_schema()
    }

    fn arrays(rows: &[Self]) -> Vec<ArrayRef> {
        vec![
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_ns))
                    .with_timezone(UTC),
            ),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.rate))),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.interval_s),
            )),
        ]
    }
}

/// The typed columns of one decoded funding batch.
pub(crate) struct FundingColumns {
    ts: PrimitiveArray<TimestampNanosecondType>,
    rate: Float64Array,
    interval_s: Int32Array,
}

impl Decode for FundingColumns {
    type Row = FundingRow;

    fn from_batch(path: &Path, batch: &RecordBatch) -> Result<Self, DataError> {
        let columns = Self {
            ts: column::<TimestampNanosecondType>(path, batch, &TS)?,
            rate: column::<Float64Type>(path, batch, &RATE)?,
            interval_s: column::<Int32Type>(path, batch, &INTERVAL_S)?,
        };
        check_lengths(
            path,
            (TS.name, batch.num_rows()),
            &[
                (TS.name, columns.ts.len()),
                (RATE.name, columns.rate.len()),
                (INTERVAL_S.name, columns.interval_s.len()),
            ],
        )?;
        Ok(columns)
    }

    #[inline]
    fn len(&self) -> usize {
        self.ts.len()
    }

    fn ts_values(&self) -> Option<&[i64]> {
        (self.ts.null_count() == 0).then(|| &self.ts.values()[..])
    }

    #[inline]
    fn ts_raw(&self) -> &[i64] {
        self.ts.values()
    }

    fn all_valid(&self) -> bool {
        [
            self.ts.null_count(),
            self.rate.null_count(),
            self.interval_s.null_count(),
        ] == [0; 3]
            && all_finite(self.rate.values())
            && all_within(self.interval_s.values(), 1, i32::MAX)
    }

    #[inline]
    fn checked_row(&self, i: usize) -> FundingRow {
        FundingRow {
            ts_ns: self.ts.values()[i],
            rate: self.rate.values()[i],
            interval_s: self.interval_s.values()[i],
        }
    }

    #[inline]
    fn ts(&self, i: usize) -> Option<i64> {
        ts_value(&self.ts, i)
    }

    #[inline]
    fn row(&self, path: &Path, i: usize, row: usize) -> Result<FundingRow, DataError> {
        Ok(FundingRow {
            ts_ns: value(path, &self.ts, &TS, i, row)?,
            rate: value(path, &self.rate, &RATE, i, row)?,
            interval_s: value(path, &self.interval_s, &INTERVAL_S, i, row)?,
        })
    }
}

/// Writes `rows` to `path` atomically as a `funding/v1` file with `metadata`.
///
/// Output is deterministic: the same rows, metadata and options give a
/// byte-identical file.
///
/// # Errors
///
/// Before anything is written: [`DataError::InvalidValue`] for a non-finite
/// rate or a non-positive interval, [`DataError::UnsortedTimestamps`] if `ts`
/// decreases (both naming the 0-based row), [`DataError::InvalidMetadata`] /
/// [`DataError::ReservedMetadataKey`] / [`DataError::DuplicateMetadataKey`]
/// for bad metadata, [`DataError::InvalidInput`] for zero rows per row group.
/// Then I/O or encoding errors from the write itself.
pub fn write_funding(
    path: &Path,
    rows: &[FundingRow],
    metadata: &HistoryMetadata,
    options: &WriteOptions,
) -> Result<(), DataError> {
    write_rows(path, rows, metadata, options)
}

/// Reads a whole `funding/v1` file into memory, in file order.
///
/// # Errors
///
/// As [`read_trades`](super::trades::read_trades): unopenable file, bad metadata,
/// unusable columns, and row-level [`DataError::NullValue`],
/// [`DataError::InvalidValue`] or [`DataError::UnsortedTimestamps`].
pub fn read_funding(path: &Path) -> Result<HistoryTable<FundingRow>, DataError> {
    read_rows(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::codec::metadata::Contract;

    fn meta() -> HistoryMetadata {
        HistoryMetadata::new("ETHUSDT", "binance-usdm", "test", Contract::Linear)
    }

    fn sample() -> Vec<FundingRow> {
        vec![
            FundingRow {
                ts_ns: 0,
                rate: 0.0001,
                interval_s: 28_800,
            },
            FundingRow {
                ts_ns: 28_800_000_000_000,
                rate: -0.00375,
                interval_s: 14_400,
            },
        ]
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("funding.parquet");
        write_funding(&path, &sample(), &meta(), &WriteOptions::default()).unwrap();
        let table = read_funding(&path).unwrap();
        assert_eq!(table.rows, sample());
        assert_eq!(table.metadata, meta());
    }

    #[test]
    fn bad_rate_and_interval_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("funding.parquet");
        let options = WriteOptions::default();
        let mut rows = sample();
        rows[1].rate = f64::INFINITY;
        let err = write_funding(&path, &rows, &meta(), &options).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 1, ref column, .. } if column == "rate"),
            "{err:?}"
        );
        let mut rows = sample();
        rows[0].interval_s = 0;
        let err = write_funding(&path, &rows, &meta(), &options).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 0, ref column, .. } if column == "interval_s"),
            "{err:?}"
        );
        assert!(!path.exists());
    }
}
