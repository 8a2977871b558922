//! The trades schema (`trades/v1`): one row per executed trade of one symbol.
//!
//! | column     | type                   | meaning                                                                  |
//! |------------|------------------------|--------------------------------------------------------------------------|
//! | `ts`       | `Timestamp(ns, "UTC")` | execution time, ns since the Unix epoch; non-decreasing through the file |
//! | `price`    | `Float64`              | execution price in USD per base unit, finite and > 0                     |
//! | `size`     | `Float64`              | traded size, finite and >= 0: base units (linear) or contracts (inverse) |
//! | `side`     | `Int8`                 | aggressor: +1 buy, -1 sell, 0 unknown                                    |
//! | `trade_id` | `Int64`, nullable      | the venue's trade id, when known                                         |
//!
//! Only `trade_id` is nullable. Whether `size` counts base units or contracts
//! is recorded in the file's metadata ([`Contract`](super::codec::metadata::Contract)).
//! Reading accepts extra columns and any column order; `ts` may use any UTC
//! spelling (`"UTC"`, `"Etc/UTC"`, `"+00:00"`, `"Z"`).

use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::Array;
use arrow_array::types::{Float64Type, Int8Type, Int64Type, TimestampNanosecondType};
use arrow_array::{
    ArrayRef, Float64Array, Int8Array, Int64Array, PrimitiveArray, RecordBatch,
    TimestampNanosecondArray,
};
use arrow_schema::SchemaRef;

use super::codec::columns::{TS, column, optional_column, optional_value, ts_value, value};
use super::codec::cursor::{Cursor, read_rows};
use super::codec::metadata::{HistoryMetadata, HistorySchema};
use super::codec::rows::{Decode, HistoryTable, Record, WriteOptions, write_rows};
use crate::error::DataError;
use crate::rules::{
    BadValue, all_non_negative, all_positive, all_within, check_lengths, column as bad,
    non_negative, positive,
};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// Value of the `backstop.schema` metadata key in trades files.
pub const TRADES_SCHEMA_ID: &str = HistorySchema::Trades.id();

/// Which side of a trade was the aggressor (the taker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum Side {
    /// The seller took liquidity (stored as -1).
    Sell = -1,
    /// Not recorded (stored as 0).
    Unknown = 0,
    /// The buyer took liquidity (stored as +1).
    Buy = 1,
}

impl Side {
    /// The side stored as `value`, if `value` is -1, 0 or +1.
    #[must_use]
    pub const fn from_i8(value: i8) -> Option<Self> {
        match value {
            -1 => Some(Self::Sell),
            0 => Some(Self::Unknown),
            1 => Some(Self::Buy),
            _ => None,
        }
    }

    /// The stored value: -1, 0 or +1.
    #[must_use]
    pub const fn as_i8(self) -> i8 {
        self as i8
    }
}

/// One executed trade; see the [module docs](self) for units and rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeRow {
    /// Execution time, ns since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Execution price in USD per base unit (finite, > 0).
    pub price: f64,
    /// Traded size in base units or contracts (finite, >= 0).
    pub size: f64,
    /// The aggressor side.
    pub side: Side,
    /// The venue's trade id, if known.
    pub trade_id: Option<i64>,
}

const PRICE: Column = Column::new("price", ColumnType::F64);
const SIZE: Column = Column::new("size", ColumnType::F64);
const SIDE: Column = Column::new("side", ColumnType::I8);
const TRADE_ID: Column = Column::nullable("trade_id", ColumnType::I64);

const COLUMNS: [Column; 5] = [TS, PRICE, SIZE, SIDE, TRADE_ID];

/// The columns a replay needs (no `trade_id`).
pub(crate) const REPLAY_COLUMNS: [Column; 4] = [TS, PRICE, SIZE, SIDE];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

/// The Arrow schema [`write_trades`] writes.
#[must_use]
pub fn trades_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

impl Record for TradeRow {
    const SCHEMA: HistorySchema = HistorySchema::Trades;
    const COLUMNS: &'static [Column] = &COLUMNS;
    type Decoder = TradeColumns;

    fn ts_ns(&self) -> i64 {
        self.ts_ns
    }

    #[inline]
    fn check(&self) -> Result<(), BadValue> {
        positive(self.price).map_err(bad(PRICE.name))?;
        non_negative(self.size).map_err(bad(SIZE.name))
    }

    fn arrow_schema() -> SchemaRef {
        trades_schema()
    }

    fn arrays(rows: &[Self]) -> Vec<ArrayRef> {
        vec![
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_ns))
                    .with_timezone(UTC),
            ),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.price))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.size))),
            Arc::new(Int8Array::from_iter_values(
                rows.iter().map(|r| r.side.as_i8()),
            )),
            Arc::new(rows.iter().map(|r| r.trade_id).collect::<Int64Array>()),
        ]
    }
}

/// Consecutive checked trades of one trades file, column by column, as a
/// replay hands them out ([`ReplayRun::Trades`](super::merge::ReplayRun)):
/// slices of the decoded columns, no row copied. Every value has passed the
/// schema's checks (prices finite and > 0, sizes finite and >= 0, times
/// non-decreasing); all columns have [`Self::len`] values. A replay does not
/// read `trade_id`, so the rows built here have none.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TradeSlice<'a> {
    ts_ns: &'a [i64],
    price: &'a [f64],
    size: &'a [f64],
    /// -1, 0 or +1 each (checked).
    side: &'a [i8],
}

impl<'a> TradeSlice<'a> {
    /// The slice of checked columns; all of one length.
    pub(crate) fn new(ts_ns: &'a [i64], price: &'a [f64], size: &'a [f64], side: &'a [i8]) -> Self {
        debug_assert!(
            [price.len(), size.len(), side.len()] == [ts_ns.len(); 3],
            "Invariant: a trade slice's columns have one length"
        );
        Self {
            ts_ns,
            price,
            size,
            side,
        }
    }

    /// Number of trades.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.ts_ns.len()
    }

    /// Whether there is no trade.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.ts_ns.is_empty()
    }

    /// Execution times, ns since the Unix epoch, non-decreasing.
    #[must_use]
    pub const fn ts_ns(&self) -> &'a [i64] {
        self.ts_ns
    }

    /// Execution prices, USD per base unit.
    #[must_use]
    pub const fn prices(&self) -> &'a [f64] {
        self.price
    }

    /// Traded sizes, base units or contracts (the file's contract).
    #[must_use]
    pub const fn sizes(&self) -> &'a [f64] {
        self.size
    }

    /// Trade `i`'s aggressor side.
    #[must_use]
    pub fn side(&self, i: usize) -> Option<Side> {
        self.side.get(i).copied().and_then(Side::from_i8)
    }

    /// Trade `i` as a row (no `trade_id`).
    #[must_use]
    pub fn get(&self, i: usize) -> Option<TradeRow> {
        Some(TradeRow {
            ts_ns: *self.ts_ns.get(i)?,
            price: *self.price.get(i)?,
            size: *self.size.get(i)?,
            side: self.side(i)?,
            trade_id: None,
        })
    }

    /// The last trade as a row (no `trade_id`).
    #[must_use]
    pub fn last(&self) -> Option<TradeRow> {
        self.get(self.len().checked_sub(1)?)
    }

    /// The trades as rows, in order (no `trade_id`).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = TradeRow> + 'a {
        let columns = self.ts_ns.iter().zip(self.price).zip(self.size);
        columns
            .zip(self.side)
            .map(|(((&ts_ns, &price), &size), &side)| TradeRow {
                ts_ns,
                price,
                size,
                side: Side::from_i8(side).unwrap_or(Side::Unknown),
                trade_id: None,
            })
    }
}

/// The typed columns of one decoded trades batch (`trade_id` only when
/// projected).
pub(crate) struct TradeColumns {
    ts: PrimitiveArray<TimestampNanosecondType>,
    price: Float64Array,
    size: Float64Array,
    side: Int8Array,
    trade_id: Option<Int64Array>,
}

impl TradeColumns {
    /// Rows `range` (checked) as a [`TradeSlice`]; empty if out of bounds.
    pub(crate) fn slice(&self, range: Range<usize>) -> TradeSlice<'_> {
        let ts = self.ts.values().get(range.clone());
        let price = self.price.values().get(range.clone());
        let size = self.size.values().get(range.clone());
        let side = self.side.values().get(range);
        match (ts, price, size, side) {
            (Some(ts), Some(price), Some(size), Some(side)) => {
                TradeSlice::new(ts, price, size, side)
            }
            _ => TradeSlice::default(),
        }
    }
}

impl Cursor<TradeColumns> {
    /// Hands out the first `n` checked trades of the current batch at once,
    /// as slices of its columns ([`Cursor::take_rows`]).
    #[inline]
    pub(crate) fn take_trades(&mut self, n: usize) -> TradeSlice<'_> {
        self.take_rows(n)
            .map(|(batch, rows)| batch.slice(rows))
            .unwrap_or_default()
    }
}

impl Decode for TradeColumns {
    type Row = TradeRow;

    fn from_batch(path: &Path, batch: &RecordBatch) -> Result<Self, DataError> {
        let columns = Self {
            ts: column::<TimestampNanosecondType>(path, batch, &TS)?,
            price: column::<Float64Type>(path, batch, &PRICE)?,
            size: column::<Float64Type>(path, batch, &SIZE)?,
            side: column::<Int8Type>(path, batch, &SIDE)?,
            trade_id: optional_column::<Int64Type>(path, batch, &TRADE_ID)?,
        };
        check_lengths(
            path,
            (TS.name, batch.num_rows()),
            &[
                (TS.name, columns.ts.len()),
                (PRICE.name, columns.price.len()),
                (SIZE.name, columns.size.len()),
                (SIDE.name, columns.side.len()),
                (
                    TRADE_ID.name,
                    columns
                        .trade_id
                        .as_ref()
                        .map_or(batch.num_rows(), Array::len),
                ),
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
        let no_nulls = [
            self.ts.null_count(),
            self.price.null_count(),
            self.size.null_count(),
            self.side.null_count(),
        ] == [0; 4];
        no_nulls
            && all_positive(self.price.values())
            && all_non_negative(self.size.values())
            && all_within(self.side.values(), -1, 1)
    }

    #[inline(always)]
    fn checked_row(&self, i: usize) -> TradeRow {
        TradeRow {
            ts_ns: self.ts.values()[i],
            price: self.price.values()[i],
            size: self.size.values()[i],
            side: Side::from_i8(self.side.values()[i]).unwrap_or(Side::Unknown),
            trade_id: self
                .trade_id
                .as_ref()
                .and_then(|ids| (!ids.is_null(i)).then(|| ids.values()[i])),
        }
    }

    #[inline]
    fn ts(&self, i: usize) -> Option<i64> {
        ts_value(&self.ts, i)
    }

    #[inline]
    fn row(&self, path: &Path, i: usize, row: usize) -> Result<TradeRow, DataError> {
        let raw_side = value(path, &self.side, &SIDE, i, row)?;
        let side = Side::from_i8(raw_side).ok_or_else(|| {
            DataError::invalid(
                path,
                row,
                SIDE.name,
                format!("must be -1, 0 or +1, got {raw_side}"),
            )
        })?;
        let trade_id = match &self.trade_id {
            Some(ids) => optional_value(path, ids, i)?,
            None => None,
        };
        Ok(TradeRow {
            ts_ns: value(path, &self.ts, &TS, i, row)?,
            price: value(path, &self.price, &PRICE, i, row)?,
            size: value(path, &self.size, &SIZE, i, row)?,
            side,
            trade_id,
        })
    }
}

/// Writes `rows` to `path` atomically as a `trades/v1` file with `metadata`.
///
/// Output is deterministic: the same rows, metadata and options give a
/// byte-identical file.
///
/// # Errors
///
/// Before anything is written: [`DataError::InvalidValue`] for a bad price
/// or size, [`DataError::UnsortedTimestamps`] if `ts` decreases (both naming
/// the 0-based row), [`DataError::InvalidMetadata`] /
/// [`DataError::ReservedMetadataKey`] / [`DataError::DuplicateMetadataKey`]
/// for bad metadata, [`DataError::InvalidInput`] for zero rows per row group.
/// Then I/O or encoding errors from the write itself.
pub fn write_trades(
    path: &Path,
    rows: &[TradeRow],
    metadata: &HistoryMetadata,
    options: &WriteOptions,
) -> Result<(), DataError> {
    write_rows(path, rows, metadata, options)
}

/// Reads a whole `trades/v1` file into memory, in file order. For long
/// histories, stream with [`HistorySource`](super::merge::HistorySource) instead.
///
/// # Errors
///
/// [`DataError::Io`] / [`DataError::NotParquet`] if the file cannot be opened
/// as Parquet; [`DataError::MissingMetadata`], [`DataError::InvalidMetadata`]
/// or [`DataError::SchemaMismatch`] for its metadata;
/// [`DataError::MissingColumn`], [`DataError::ColumnType`] or
/// [`DataError::DuplicateColumn`] for unusable columns; and, naming the row,
/// [`DataError::NullValue`], [`DataError::InvalidValue`] (including a side
/// other than -1, 0, +1) or [`DataError::UnsortedTimestamps`].
pub fn read_trades(path: &Path) -> Result<HistoryTable<TradeRow>, DataError> {
    read_rows(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::codec::metadata::{Contract, read_history_metadata};

    fn meta() -> HistoryMetadata {
        let mut meta = HistoryMetadata::new(
            "BTCUSD_PERP",
            "binance-coinm",
            "test",
            Contract::Inverse {
                contract_size_usd: 100.0,
            },
        );
        meta.tool_version = Some("backstop-import 0.1.0".to_owned());
        meta.extra = vec![("note".to_owned(), "hello".to_owned())];
        meta
    }

    fn sample() -> Vec<TradeRow> {
        vec![
            TradeRow {
                ts_ns: 1_000,
                price: 60_000.5,
                size: 3.0,
                side: Side::Buy,
                trade_id: Some(7),
            },
            TradeRow {
                ts_ns: 1_000,
                price: 60_000.0,
                size: 0.0,
                side: Side::Sell,
                trade_id: None,
            },
            TradeRow {
                ts_ns: 2_500,
                price: 59_999.0,
                size: 12.0,
                side: Side::Unknown,
                trade_id: Some(i64::MIN),
            },
        ]
    }

    #[test]
    fn round_trip_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.parquet");
        write_trades(&path, &sample(), &meta(), &WriteOptions::default()).unwrap();
        let table = read_trades(&path).unwrap();
        assert_eq!(table.rows, sample());
        assert_eq!(table.metadata, meta());
        let (schema, metadata) = read_history_metadata(&path).unwrap();
        assert_eq!(schema, HistorySchema::Trades);
        assert_eq!(metadata, meta());
        let pairs = crate::metadata::read_metadata(&path).unwrap();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("backstop.schema"), Some("trades/v1"));
        assert_eq!(get("backstop.contract"), Some("inverse"));
        assert_eq!(get("backstop.contract_size_usd"), Some("100"));
    }

    #[test]
    fn output_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.parquet");
        let b = dir.path().join("b.parquet");
        write_trades(&a, &sample(), &meta(), &WriteOptions::default()).unwrap();
        write_trades(&b, &sample(), &meta(), &WriteOptions::default()).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }

    #[test]
    fn side_round_trips_through_i8() {
        for side in [Side::Sell, Side::Unknown, Side::Buy] {
            assert_eq!(Side::from_i8(side.as_i8()), Some(side));
        }
        assert_eq!(Side::from_i8(2), None);
        assert_eq!(Side::Sell.as_i8(), -1);
    }

    #[test]
    fn bad_rows_are_rejected_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.parquet");
        let options = WriteOptions::default();

        let mut rows = sample();
        rows[2].price = f64::NAN;
        let err = write_trades(&path, &rows, &meta(), &options).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 2, ref column, .. } if column == "price"),
            "{err:?}"
        );

        let mut rows = sample();
        rows[1].size = -1.0;
        let err = write_trades(&path, &rows, &meta(), &options).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 1, ref column, .. } if column == "size"),
            "{err:?}"
        );

        let mut rows = sample();
        rows[2].ts_ns = 999;
        let err = write_trades(&path, &rows, &meta(), &options).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::UnsortedTimestamps {
                    row: 2,
                    ts_ns: 999,
                    previous_row: 1,
                    previous_ts_ns: 1_000,
                    ..
                }
            ),
            "{err:?}"
        );

        let err = write_trades(
            &path,
            &sample(),
            &meta(),
            &WriteOptions::default().with_max_row_group_rows(0),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::InvalidInput { .. }), "{err:?}");
        assert!(!path.exists());
    }

    #[test]
    fn bad_metadata_is_rejected_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.parquet");
        let options = WriteOptions::default();

        let mut bad = meta();
        bad.symbol.clear();
        let err = write_trades(&path, &sample(), &bad, &options).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.symbol"),
            "{err:?}"
        );

        let mut bad = meta();
        bad.contract = Contract::Inverse {
            contract_size_usd: 0.0,
        };
        let err = write_trades(&path, &sample(), &bad, &options).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidMetadata { ref key, .. } if key == "backstop.contract_size_usd"),
            "{err:?}"
        );

        for key in ["backstop.venue", "backstop.schema"] {
            let mut bad = meta();
            bad.extra.push((key.to_owned(), "x".to_owned()));
            let err = write_trades(&path, &sample(), &bad, &options).unwrap_err();
            assert!(
                matches!(err, DataError::ReservedMetadataKey { key: ref k, .. } if k == key),
                "{err:?}"
            );
        }
        assert!(!path.exists());
    }

    #[test]
    fn reading_another_history_schema_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.parquet");
        crate::history::prices::write_prices(&path, &[], &meta(), &WriteOptions::default())
            .unwrap();
        let err = read_trades(&path).unwrap_err();
        assert!(
            matches!(err, DataError::SchemaMismatch { ref expected, ref found, .. }
                if expected == "trades/v1" && found == "prices/v1"),
            "{err:?}"
        );
    }
}
