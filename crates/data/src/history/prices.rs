//! The prices schema (`prices/v1`): mark (and index) prices of one symbol
//! over time; a kline history reduces to this (see
//! [`kline_path`](super::resample::kline_path)).
//!
//! | column  | type                   | meaning                                                             |
//! |---------|------------------------|---------------------------------------------------------------------|
//! | `ts`    | `Timestamp(ns, "UTC")` | time of the price, ns since the Unix epoch; non-decreasing          |
//! | `mark`  | `Float64`              | mark price in USD per base unit, finite and > 0                     |
//! | `index` | `Float64`, nullable    | index (spot reference) price in USD, finite and > 0; null if absent |
//!
//! Only `index` is nullable. Reading accepts extra columns and any column
//! order; `ts` may use any UTC spelling.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::Array as _;
use arrow_array::types::{Float64Type, TimestampNanosecondType};
use arrow_array::{ArrayRef, Float64Array, PrimitiveArray, RecordBatch, TimestampNanosecondArray};
use arrow_schema::SchemaRef;

use super::codec::columns::{TS, column, optional_value, ts_value, value};
use super::codec::cursor::read_rows;
use super::codec::metadata::{HistoryMetadata, HistorySchema};
use super::codec::rows::{Decode, HistoryTable, Record, WriteOptions, write_rows};
use crate::error::DataError;
use crate::rules::{BadValue, all_positive, check_lengths, column as bad, positive};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// Value of the `backstop.schema` metadata key in prices files.
pub const PRICES_SCHEMA_ID: &str = HistorySchema::Prices.id();

/// One price observation; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceRow {
    /// Time of the observation, ns since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Mark price in USD per base unit (finite, > 0).
    pub mark: f64,
    /// Index price in USD per base unit (finite, > 0), if recorded.
    pub index: Option<f64>,
}

const MARK: Column = Column::new("mark", ColumnType::F64);
const INDEX: Column = Column::nullable("index", ColumnType::F64);

const COLUMNS: [Column; 3] = [TS, MARK, INDEX];

/// The columns a replay needs (all of them).
pub(crate) const REPLAY_COLUMNS: [Column; 3] = COLUMNS;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

/// The Arrow schema [`write_prices`] writes.
#[must_use]
pub fn prices_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

impl Record for PriceRow {
    const SCHEMA: HistorySchema = HistorySchema::Prices;
    const COLUMNS: &'static [Column] = &COLUMNS;
    type Decoder = PriceColumns;

    fn ts_ns(&self) -> i64 {
        self.ts_ns
    }

    #[inline]
    fn check(&self) -> Result<(), BadValue> {
        positive(self.mark).map_err(bad(MARK.name))?;
        match self.index {
            Some(index) => positive(index).map_err(bad(INDEX.name)),
            None => Ok(()),
        }
    }

    fn arrow_schema() -> SchemaRef {
        prices_schema()
    }

    fn arrays(rows: &[Self]) -> Vec<ArrayRef> {
        vec![
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_ns))
                    .with_timezone(UTC),
            ),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.mark))),
            Arc::new(rows.iter().map(|r| r.index).collect::<Float64Array>()),
        ]
    }
}

/// The typed columns of one decoded prices batch.
pub(crate) struct PriceColumns {
    ts: PrimitiveArray<TimestampNanosecondType>,
    mark: Float64Array,
    index: Float64Array,
}

impl Decode for PriceColumns {
    type Row = PriceRow;

    fn from_batch(path: &Path, batch: &RecordBatch) -> Result<Self, DataError> {
        let columns = Self {
            ts: column::<TimestampNanosecondType>(path, batch, &TS)?,
            mark: column::<Float64Type>(path, batch, &MARK)?,
            index: column::<Float64Type>(path, batch, &INDEX)?,
        };
        check_lengths(
            path,
            (TS.name, batch.num_rows()),
            &[
                (TS.name, columns.ts.len()),
                (MARK.name, columns.mark.len()),
                (INDEX.name, columns.index.len()),
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
        let index_valid = if self.index.null_count() == 0 {
            all_positive(self.index.values())
        } else {
            self.index
                .iter()
                .all(|index| index.is_none_or(|index| positive(index).is_ok()))
        };
        self.ts.null_count() == 0
            && self.mark.null_count() == 0
            && all_positive(self.mark.values())
            && index_valid
    }

    #[inline]
    fn checked_row(&self, i: usize) -> PriceRow {
        PriceRow {
            ts_ns: self.ts.values()[i],
            mark: self.mark.values()[i],
            index: (!self.index.is_null(i)).then(|| self.index.values()[i]),
        }
    }

    #[inline]
    fn ts(&self, i: usize) -> Option<i64> {
        ts_value(&self.ts, i)
    }

    #[inline]
    fn row(&self, path: &Path, i: usize, row: usize) -> Result<PriceRow, DataError> {
        Ok(PriceRow {
            ts_ns: value(path, &self.ts, &TS, i, row)?,
            mark: value(path, &self.mark, &MARK, i, row)?,
            index: optional_value(path, &self.index, i)?,
        })
    }
}

/// Writes `rows` to `path` atomically as a `prices/v1` file with `metadata`.
///
/// Output is deterministic: the same rows, metadata and options give a
/// byte-identical file.
///
/// # Errors
///
/// Before anything is written: [`DataError::InvalidValue`] for a bad mark or
/// index, [`DataError::UnsortedTimestamps`] if `ts` decreases (both naming the
/// 0-based row), [`DataError::InvalidMetadata`] /
/// [`DataError::ReservedMetadataKey`] / [`DataError::DuplicateMetadataKey`]
/// for bad metadata, [`DataError::InvalidInput`] for zero rows per row group.
/// Then I/O or encoding errors from the write itself.
pub fn write_prices(
    path: &Path,
    rows: &[PriceRow],
    metadata: &HistoryMetadata,
    options: &WriteOptions,
) -> Result<(), DataError> {
    write_rows(path, rows, metadata, options)
}

/// Reads a whole `prices/v1` file into memory, in file order. For long
/// histories, stream with [`HistorySource`](super::merge::HistorySource) instead.
///
/// # Errors
///
/// As [`read_trades`](super::trades::read_trades): unopenable file, bad metadata,
/// unusable columns, and row-level [`DataError::NullValue`],
/// [`DataError::InvalidValue`] or [`DataError::UnsortedTimestamps`].
pub fn read_prices(path: &Path) -> Result<HistoryTable<PriceRow>, DataError> {
    read_rows(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::codec::metadata::Contract;

    fn meta() -> HistoryMetadata {
        HistoryMetadata::new("BTCUSDT", "binance-usdm", "test", Contract::Linear)
    }

    #[test]
    fn round_trip_with_null_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.parquet");
        let rows = vec![
            PriceRow {
                ts_ns: -5,
                mark: 100.0,
                index: Some(100.5),
            },
            PriceRow {
                ts_ns: 0,
                mark: 1e-9,
                index: None,
            },
            PriceRow {
                ts_ns: i64::MAX,
                mark: 1e9,
                index: Some(1e9),
            },
        ];
        write_prices(&path, &rows, &meta(), &WriteOptions::default()).unwrap();
        let table = read_prices(&path).unwrap();
        assert_eq!(table.rows, rows);
        assert_eq!(table.metadata, meta());
        assert!(table.metadata.extra.is_empty());
    }

    #[test]
    fn bad_index_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.parquet");
        let rows = [PriceRow {
            ts_ns: 0,
            mark: 1.0,
            index: Some(0.0),
        }];
        let err = write_prices(&path, &rows, &meta(), &WriteOptions::default()).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 0, ref column, .. } if column == "index"),
            "{err:?}"
        );
    }
}
