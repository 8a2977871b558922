//! Fixtures shared by the replay tests (`replay.rs`, `replay_read_ahead.rs`):
//! file metadata, trade rows, the four tied sources both merge tests read, and
//! files written with a plain `ArrowWriter` past the crate's validation.

// Each test file uses a part of the fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int8Array, Int64Array, RecordBatch, TimestampNanosecondArray,
};
use arrow_schema::{Field, Schema};
use backstop_data::history::{
    FundingRow, PriceRow, TradeRow, write_funding, write_prices, write_trades,
};
use backstop_data::{Contract, DataError, HistoryMetadata, ReplayEvent, Side, WriteOptions};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

/// Metadata of a linear `symbol` file.
pub fn meta(symbol: &str) -> HistoryMetadata {
    HistoryMetadata::new(symbol, "binance-usdm", "test", Contract::Linear)
}

/// Writer options with row groups of `rows` rows.
pub fn groups_of(rows: usize) -> WriteOptions {
    WriteOptions::default().with_max_row_group_rows(rows)
}

/// A trade at `ts_ns` and `price` (size 0.5, the side by the parity of the
/// time, the time as its id).
pub fn trade(ts_ns: i64, price: f64) -> TradeRow {
    TradeRow {
        ts_ns,
        price,
        size: 0.5,
        side: if ts_ns % 2 == 0 {
            Side::Buy
        } else {
            Side::Sell
        },
        trade_id: Some(ts_ns),
    }
}

/// The files of [`tied_files`] and every event in them, tagged with its
/// source index, in file order.
pub struct TiedFiles {
    /// Trades `BTCUSDT`, prices, trades `ETHUSDT`, funding: sources 0 to 3.
    pub paths: Vec<PathBuf>,
    /// Every row of every file as a replay event, source by source.
    pub events: Vec<(usize, ReplayEvent)>,
}

/// Four sources whose timestamps interleave and tie within and across files
/// (every file has rows at 0 and at 9,000), each over several row groups and
/// record batches of the reader; every value is unique, so events can be
/// told apart.
pub fn tied_files(dir: &Path) -> TiedFiles {
    let trades_a: Vec<TradeRow> = (0..30_000)
        .map(|i| trade(i / 3 * 10, 1_000.0 + i as f64))
        .collect();
    let prices: Vec<PriceRow> = (0..25_000)
        .map(|i| PriceRow {
            ts_ns: i * 5,
            mark: 90_000.0 + i as f64,
            index: (i % 2 == 0).then_some(1.0),
        })
        .collect();
    let trades_b: Vec<TradeRow> = (0..20_000)
        .map(|i| trade(i / 2 * 15, 50_000.0 + i as f64))
        .collect();
    let funding: Vec<FundingRow> = (0..12)
        .map(|i| FundingRow {
            ts_ns: i * 9_000,
            rate: 1e-4 * (i + 1) as f64,
            interval_s: 28_800,
        })
        .collect();
    let paths: Vec<PathBuf> = ["a", "prices", "b", "funding"]
        .iter()
        .map(|name| dir.join(format!("{name}.parquet")))
        .collect();
    write_trades(&paths[0], &trades_a, &meta("BTCUSDT"), &groups_of(7_000)).unwrap();
    write_prices(&paths[1], &prices, &meta("BTCUSDT"), &groups_of(5_000)).unwrap();
    write_trades(&paths[2], &trades_b, &meta("ETHUSDT"), &groups_of(9_000)).unwrap();
    write_funding(&paths[3], &funding, &meta("BTCUSDT"), &groups_of(5)).unwrap();
    let mut events: Vec<(usize, ReplayEvent)> = Vec::new();
    events.extend(trades_a.iter().map(|&r| (0, r.into())));
    events.extend(prices.iter().map(|&r| (1, r.into())));
    events.extend(trades_b.iter().map(|&r| (2, r.into())));
    events.extend(funding.iter().map(|&r| (3, r.into())));
    TiedFiles { paths, events }
}

/// Key-value metadata of a valid `schema` file for `BTCUSDT`.
pub fn key_values(schema: &str) -> Vec<KeyValue> {
    [
        ("backstop.schema", schema),
        ("backstop.symbol", "BTCUSDT"),
        ("backstop.venue", "binance-usdm"),
        ("backstop.source", "test"),
        ("backstop.contract", "linear"),
    ]
    .into_iter()
    .map(|(k, v)| KeyValue::new(k.to_owned(), v.to_owned()))
    .collect()
}

/// Writes columns with a plain `ArrowWriter`, bypassing the crate's
/// validation, in row groups of `group_rows`.
pub fn write_raw(
    path: &Path,
    columns: Vec<(&str, ArrayRef)>,
    key_values: Vec<KeyValue>,
    group_rows: usize,
) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, array)| array).collect(),
    )
    .unwrap();
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .set_key_value_metadata(Some(key_values))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Trades columns with the given timestamps and prices.
pub fn raw_trades(ts: Vec<i64>, prices: Vec<f64>) -> Vec<(&'static str, ArrayRef)> {
    let n = ts.len();
    vec![
        (
            "ts",
            Arc::new(TimestampNanosecondArray::from(ts).with_timezone("UTC")) as ArrayRef,
        ),
        ("price", Arc::new(Float64Array::from(prices))),
        ("size", Arc::new(Float64Array::from(vec![1.0; n]))),
        ("side", Arc::new(Int8Array::from(vec![1i8; n]))),
        ("trade_id", Arc::new(Int64Array::from(vec![None; n]))),
    ]
}

/// Writes a trades file with a plain `ArrowWriter` (no validation), in row
/// groups of 4,000 rows.
pub fn write_raw_trades(path: &Path, ts: Vec<i64>, prices: Vec<f64>) {
    write_raw(path, raw_trades(ts, prices), key_values("trades/v1"), 4_000);
}

/// Three trades files of 20,000 rows in `dir`, for the tests that a replay
/// fails at the same event however it is read: `nan.parquet`, a NaN price at
/// row 9,001 (the third record batch of a reader, 4,096 rows each);
/// `unsorted.parquet`, a time going back at row 13,000 (the fourth); and
/// `clean.parquet`, whose events interleave with either. Returns
/// `(nan, unsorted, clean)`.
pub fn faulty_sources(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let n = 20_000_i64;
    let nan = dir.join("nan.parquet");
    let mut prices = vec![100.0; 20_000];
    prices[9_001] = f64::NAN;
    write_raw_trades(&nan, (0..n).map(|i| i * 2).collect(), prices);
    let unsorted = dir.join("unsorted.parquet");
    let mut ts: Vec<i64> = (0..n).map(|i| i * 2).collect();
    ts[13_000] = 1;
    write_raw_trades(&unsorted, ts, vec![100.0; 20_000]);
    let clean = dir.join("clean.parquet");
    let rows: Vec<TradeRow> = (0..n).map(|i| trade(i * 2 + 1, 7.0)).collect();
    write_trades(&clean, &rows, &meta("ETHUSDT"), &groups_of(3_000)).unwrap();
    (nan, unsorted, clean)
}

/// The error that ends `results`, read from a file whose row 9,001 holds a NaN
/// price (both replay tests write one): asserts that 9,001 events came before
/// it and that it names that row and the `price` column.
pub fn nan_price_error<T: std::fmt::Debug>(results: Vec<Result<T, DataError>>) -> DataError {
    assert_eq!(results.len(), 9_002, "9001 events then the error");
    let err = results
        .into_iter()
        .last()
        .expect("results are not empty")
        .expect_err("the last result is the error");
    assert!(
        matches!(err, DataError::InvalidValue { row: 9_001, ref column, .. } if column == "price"),
        "{err:?}"
    );
    err
}
