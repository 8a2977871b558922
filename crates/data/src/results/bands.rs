//! `bands.parquet` (`bands/v1`): per-step quantile bands across paths, long
//! format, one row per (step, market, series).
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `step` | `UInt32` | step index |
//! | `ts` | `Timestamp(ns, "UTC")` | time of the step |
//! | `market` | `Utf8` | market key, `""` for venue-wide series |
//! | `series` | `Utf8` | what is measured, see [`BandSeries`] |
//! | `p1` … `p99`, `mean`, `min`, `max` | `Float64` | the statistic of the series at that step across paths |
//!
//! Every value must be finite and every series named. Writers are
//! deterministic and atomic; readers accept extra columns and name the file,
//! row and column of any bad value.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt32Array,
};
use arrow_schema::SchemaRef;

use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::results::chunked::{self, RowGroupTable};
use crate::rules::{check_lengths, finite, non_empty};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// `backstop.schema` of `bands.parquet`.
pub const BANDS_SCHEMA_ID: &str = "bands/v1";

/// What a band row measures. Flows are per step; levels at the end of the step;
/// `bad_debt` and `socialized_loss` are cumulative since step 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BandSeries {
    /// Insurance-fund balance, USD (venue-wide).
    InsuranceFund,
    /// Cumulative bad debt, USD (venue-wide).
    BadDebt,
    /// Cumulative socialized loss, USD (venue-wide).
    SocializedLoss,
    /// Mark price, USD (per market).
    Mark,
    /// Long notional liquidated in the step, USD (per market).
    LiquidatedLongNotional,
    /// Short notional liquidated in the step, USD (per market).
    LiquidatedShortNotional,
    /// Notional auto-deleveraged in the step, USD (per market).
    AdlNotional,
    /// The liquidity vault's equity (cash + inventory at the marks), USD
    /// (venue-wide; written only by runs with a `[vault]`).
    VaultEquity,
    /// The balance of a market's own insurance fund, USD (per market; written
    /// only for markets with a `[market.<name>.insurance_fund]`).
    MarketFund,
}

impl BandSeries {
    /// Every series (the vault's and the market funds' last, written only
    /// with a vault or a market fund).
    pub const ALL: [BandSeries; 9] = [
        BandSeries::InsuranceFund,
        BandSeries::BadDebt,
        BandSeries::SocializedLoss,
        BandSeries::Mark,
        BandSeries::LiquidatedLongNotional,
        BandSeries::LiquidatedShortNotional,
        BandSeries::AdlNotional,
        BandSeries::VaultEquity,
        BandSeries::MarketFund,
    ];

    /// The name in the `series` column.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BandSeries::InsuranceFund => "insurance_fund",
            BandSeries::BadDebt => "bad_debt",
            BandSeries::SocializedLoss => "socialized_loss",
            BandSeries::Mark => "mark",
            BandSeries::LiquidatedLongNotional => "liquidated_long_notional",
            BandSeries::LiquidatedShortNotional => "liquidated_short_notional",
            BandSeries::AdlNotional => "adl_notional",
            BandSeries::VaultEquity => "vault_equity",
            BandSeries::MarketFund => "market_fund",
        }
    }

    /// Whether the series is per market (else venue-wide, market `""`).
    #[must_use]
    pub fn per_market(self) -> bool {
        matches!(
            self,
            BandSeries::Mark
                | BandSeries::LiquidatedLongNotional
                | BandSeries::LiquidatedShortNotional
                | BandSeries::AdlNotional
                | BandSeries::MarketFund
        )
    }
}

/// The probabilities of the band columns `p1` … `p99`.
pub const BAND_QUANTILES: [(&str, f64); 7] = [
    ("p1", 0.01),
    ("p5", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
    ("p99", 0.99),
];

/// Per-step quantile bands, long format. `quantiles[k]` is the column
/// `BAND_QUANTILES[k].0`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BandsTable {
    /// Step index.
    pub step: Vec<u32>,
    /// Time of the step, ns since the Unix epoch (UTC).
    pub ts_ns: Vec<i64>,
    /// Market key, `""` for venue-wide series.
    pub market: Vec<String>,
    /// Series name ([`BandSeries::name`]).
    pub series: Vec<String>,
    /// The quantile columns, in [`BAND_QUANTILES`] order.
    pub quantiles: [Vec<f64>; 7],
    /// Mean across paths.
    pub mean: Vec<f64>,
    /// Minimum across paths.
    pub min: Vec<f64>,
    /// Maximum across paths.
    pub max: Vec<f64>,
}

impl BandsTable {
    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.step.len()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    fn float_columns(&self) -> Vec<(&'static str, &Vec<f64>)> {
        let mut v: Vec<(&'static str, &Vec<f64>)> = BAND_QUANTILES
            .iter()
            .zip(&self.quantiles)
            .map(|((n, _), c)| (*n, c))
            .collect();
        v.extend([("mean", &self.mean), ("min", &self.min), ("max", &self.max)]);
        v
    }

    /// Checks lengths and values; `first_row` is the file row of the table's
    /// first row (errors name file rows).
    fn check(&self, path: &Path, first_row: usize) -> Result<(), DataError> {
        let floats = self.float_columns();
        let mut lengths = vec![
            ("ts", self.ts_ns.len()),
            ("market", self.market.len()),
            ("series", self.series.len()),
        ];
        lengths.extend(floats.iter().map(|(n, c)| (*n, c.len())));
        check_lengths(path, (STEP.name, self.len()), &lengths)?;
        for (name, column) in floats {
            for (row, v) in column.iter().enumerate() {
                finite(*v).map_err(|broken| broken.at(path, first_row + row, name))?;
            }
        }
        for (row, s) in self.series.iter().enumerate() {
            non_empty(s).map_err(|broken| broken.at(path, first_row + row, SERIES.name))?;
        }
        Ok(())
    }
}

const STEP: Column = Column::new("step", ColumnType::U32);
const TS: Column = Column::new("ts", ColumnType::TimestampNsUtc);
const MARKET: Column = Column::new("market", ColumnType::Str);
const SERIES: Column = Column::new("series", ColumnType::Str);
const BAND_FLOATS: [&str; 10] = [
    "p1", "p5", "p25", "p50", "p75", "p95", "p99", "mean", "min", "max",
];

/// The column of the statistic `name` ([`BAND_FLOATS`]).
const fn float_column(name: &'static str) -> Column {
    Column::new(name, ColumnType::F64)
}

/// Every column of `bands/v1`, in file order.
fn columns() -> Vec<Column> {
    let mut columns = vec![STEP, TS, MARKET, SERIES];
    columns.extend(BAND_FLOATS.iter().map(|name| float_column(name)));
    columns
}

fn bands_schema() -> SchemaRef {
    arrow_schema(&columns())
}

/// Writes `table` atomically as `bands/v1`.
///
/// # Errors
/// Columns of different lengths, non-finite values or an empty series name
/// (before anything is written), bad metadata, and I/O or encoding errors.
pub fn write_bands(
    path: &Path,
    table: &BandsTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = bands_schema();
    let batches = table_batches(path, &schema, table)?;
    write_parquet(path, &schema, BANDS_SCHEMA_ID, metadata, batches)
}

/// Checks `table`, then yields its batches, one per row group.
fn table_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    table: &'a BandsTable,
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    table.check(path, 0)?;
    let len = table.len();
    Ok((0..len.max(1))
        .step_by(MAX_ROW_GROUP_ROWS)
        .map(move |start| {
            bands_batch(
                path,
                schema,
                table,
                start..(start + MAX_ROW_GROUP_ROWS).min(len),
            )
        }))
}

/// The record batches [`write_bands`] writes to `path` (one per row group), in
/// memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_bands`], but nothing is written.
pub fn bands_batches(
    path: &Path,
    table: &BandsTable,
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = bands_schema();
    let batches = table_batches(path, &schema, table)?;
    TableBatches::collect(path, &schema, BANDS_SCHEMA_ID, metadata, batches)
}

/// Writes a `bands/v1` file of `rows` rows atomically without holding them:
/// `chunk(range)` gives the rows `range` (at most [`MAX_ROW_GROUP_ROWS`] of them,
/// each chunk one row group), in order. The file is byte-identical to
/// [`write_bands`] of the whole table; memory holds one chunk
/// ([`chunked::write_chunked`]).
///
/// # Errors
/// As [`write_bands`] (rows are checked chunk by chunk, so an error can come
/// after earlier chunks were encoded; nothing is left on disk), and
/// [`DataError::LengthMismatch`] if a chunk does not have the rows asked for.
pub fn write_bands_chunked(
    path: &Path,
    rows: usize,
    metadata: &[(String, String)],
    chunk: impl FnMut(Range<usize>) -> BandsTable,
) -> Result<(), DataError> {
    chunked::write_chunked(path, rows, metadata, chunk)
}

/// The record batches [`write_bands_chunked`] writes to `path`, in memory (all
/// chunks at once), with the file's metadata on their schema.
///
/// # Errors
/// As [`write_bands_chunked`], but nothing is written.
pub fn bands_batches_chunked(
    path: &Path,
    rows: usize,
    metadata: &[(String, String)],
    chunk: impl FnMut(Range<usize>) -> BandsTable,
) -> Result<TableBatches, DataError> {
    chunked::batches_chunked(path, rows, metadata, chunk)
}

impl RowGroupTable for BandsTable {
    const SCHEMA_ID: &'static str = BANDS_SCHEMA_ID;
    const LENGTH_COLUMN: &'static str = STEP.name;
    const EMPTY_ROW_GROUP: bool = true;

    fn schema() -> SchemaRef {
        bands_schema()
    }

    fn rows(&self) -> usize {
        self.len()
    }

    fn check(&self, path: &Path, first_row: usize) -> Result<(), DataError> {
        BandsTable::check(self, path, first_row)
    }

    fn batch(
        &self,
        path: &Path,
        schema: &SchemaRef,
        range: Range<usize>,
    ) -> Result<RecordBatch, DataError> {
        bands_batch(path, schema, self, range)
    }
}

/// The rows `r` of `table` as one record batch.
fn bands_batch(
    path: &Path,
    schema: &SchemaRef,
    table: &BandsTable,
    r: Range<usize>,
) -> Result<RecordBatch, DataError> {
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(
            table.step[r.clone()].iter().copied(),
        )),
        Arc::new(
            TimestampNanosecondArray::from_iter_values(table.ts_ns[r.clone()].iter().copied())
                .with_timezone(UTC),
        ),
        Arc::new(StringArray::from_iter_values(&table.market[r.clone()])),
        Arc::new(StringArray::from_iter_values(&table.series[r.clone()])),
    ];
    columns.extend(table.float_columns().into_iter().map(|(_, c)| {
        Arc::new(Float64Array::from_iter_values(c[r.clone()].iter().copied())) as ArrayRef
    }));
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(arrow_err(path, "failed to build record batch"))
}

/// Reads a `bands/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a bad value (naming row and column).
pub fn read_bands(path: &Path) -> Result<BandsTable, DataError> {
    let reader = open_projected(path, BANDS_SCHEMA_ID, &columns())?;
    let mut t = BandsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        push_batch(&mut t, path, &batch, offset)?;
    }
    t.check(path, 0)?;
    Ok(t)
}

/// Reads a `bands/v1` file one decoded batch (at most 1,024 rows) at a time, in
/// file order, without holding the whole table: `each` gets each batch's rows
/// as a table and the file row of its first row. Memory holds one batch.
///
/// # Errors
/// As [`read_bands`]; the rows are checked batch by batch, so an error can come
/// after `each` has seen the batches before the offending row.
pub fn read_bands_chunked(
    path: &Path,
    mut each: impl FnMut(&BandsTable, usize),
) -> Result<(), DataError> {
    let reader = open_projected(path, BANDS_SCHEMA_ID, &columns())?;
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let mut t = BandsTable::default();
        push_batch(&mut t, path, &batch, offset)?;
        t.check(path, offset)?;
        each(&t, offset);
    }
    Ok(())
}

/// Appends the rows of one decoded batch (file row `offset` first) to `t`.
fn push_batch(
    t: &mut BandsTable,
    path: &Path,
    batch: &RecordBatch,
    offset: usize,
) -> Result<(), DataError> {
    let column = |s| BatchColumn::new(path, batch, s, offset);
    column(STEP)?.push_u32(&mut t.step)?;
    column(TS)?.push_timestamp_ns(&mut t.ts_ns)?;
    column(MARKET)?.push_string(&mut t.market)?;
    column(SERIES)?.push_string(&mut t.series)?;
    let [p1, p5, p25, p50, p75, p95, p99] = &mut t.quantiles;
    let targets: [&mut Vec<f64>; 10] = [
        p1,
        p5,
        p25,
        p50,
        p75,
        p95,
        p99,
        &mut t.mean,
        &mut t.min,
        &mut t.max,
    ];
    for (name, out) in BAND_FLOATS.iter().zip(targets) {
        column(float_column(name))?.push_f64(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_round_trip_and_reject_an_unnamed_series() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = BandsTable::default();
        for step in 0..2u32 {
            for s in BandSeries::ALL {
                b.step.push(step);
                b.ts_ns
                    .push(1_760_000_000_000_000_000 + i64::from(step) * 60_000_000_000);
                b.market
                    .push(if s.per_market() { "btc" } else { "" }.to_owned());
                b.series.push(s.name().to_owned());
                for (k, q) in b.quantiles.iter_mut().enumerate() {
                    q.push(k as f64);
                }
                b.mean.push(3.0);
                b.min.push(0.0);
                b.max.push(6.0);
            }
        }
        let f = dir.path().join("bands.parquet");
        write_bands(&f, &b, &[]).unwrap();
        assert_eq!(read_bands(&f).unwrap(), b);
        b.series[3] = String::new();
        let err = write_bands(&dir.path().join("bad.parquet"), &b, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 3, ref column, .. } if column == "series"),
            "{err:?}"
        );
    }

    /// Rows `r` of `t`, as their own table.
    fn rows(t: &BandsTable, r: Range<usize>) -> BandsTable {
        BandsTable {
            step: t.step[r.clone()].to_vec(),
            ts_ns: t.ts_ns[r.clone()].to_vec(),
            market: t.market[r.clone()].to_vec(),
            series: t.series[r.clone()].to_vec(),
            quantiles: std::array::from_fn(|k| t.quantiles[k][r.clone()].to_vec()),
            mean: t.mean[r.clone()].to_vec(),
            min: t.min[r.clone()].to_vec(),
            max: t.max[r].to_vec(),
        }
    }

    #[test]
    fn chunked_writing_gives_the_same_bytes_and_names_file_rows() {
        let dir = tempfile::tempdir().unwrap();
        let n = MAX_ROW_GROUP_ROWS + 1_000;
        let mut b = BandsTable::default();
        for i in 0..n {
            b.step.push(i as u32);
            b.ts_ns
                .push(1_760_000_000_000_000_000 + i as i64 * 60_000_000_000);
            b.market.push("btc".to_owned());
            b.series.push("mark".to_owned());
            for (k, q) in b.quantiles.iter_mut().enumerate() {
                q.push((i * 7 + k) as f64 * 0.5);
            }
            b.mean.push(i as f64);
            b.min.push(0.0);
            b.max.push(2.0 * i as f64);
        }
        let whole = dir.path().join("whole.parquet");
        let chunked = dir.path().join("chunked.parquet");
        write_bands(&whole, &b, &[("k".to_owned(), "v".to_owned())]).unwrap();
        let mut asked = Vec::new();
        write_bands_chunked(&chunked, n, &[("k".to_owned(), "v".to_owned())], |r| {
            asked.push(r.clone());
            rows(&b, r)
        })
        .unwrap();
        assert_eq!(asked, [0..MAX_ROW_GROUP_ROWS, MAX_ROW_GROUP_ROWS..n]);
        assert_eq!(
            std::fs::read(&whole).unwrap(),
            std::fs::read(&chunked).unwrap()
        );
        // Empty: one empty row group either way.
        write_bands(&whole, &BandsTable::default(), &[]).unwrap();
        write_bands_chunked(&chunked, 0, &[], |r| rows(&b, r)).unwrap();
        assert_eq!(
            std::fs::read(&whole).unwrap(),
            std::fs::read(&chunked).unwrap()
        );
        // An error in the second chunk names the file's row; nothing is left.
        b.mean[MAX_ROW_GROUP_ROWS + 5] = f64::NAN;
        let bad = dir.path().join("bad.parquet");
        let err = write_bands_chunked(&bad, n, &[], |r| rows(&b, r)).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row, ref column, .. }
                if row == MAX_ROW_GROUP_ROWS + 5 && column == "mean"),
            "{err:?}"
        );
        assert!(!bad.exists());
    }
}
