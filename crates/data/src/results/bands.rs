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
}

impl BandSeries {
    /// Every series (the vault's last, written only with a vault).
    pub const ALL: [BandSeries; 8] = [
        BandSeries::InsuranceFund,
        BandSeries::BadDebt,
        BandSeries::SocializedLoss,
        BandSeries::Mark,
        BandSeries::LiquidatedLongNotional,
        BandSeries::LiquidatedShortNotional,
        BandSeries::AdlNotional,
        BandSeries::VaultEquity,
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

    fn check(&self, path: &Path) -> Result<(), DataError> {
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
                finite(*v).map_err(|broken| broken.at(path, row, name))?;
            }
        }
        for (row, s) in self.series.iter().enumerate() {
            non_empty(s).map_err(|broken| broken.at(path, row, SERIES.name))?;
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
    table.check(path)?;
    let schema = bands_schema();
    let len = table.len();
    let batches = (0..len.max(1)).step_by(MAX_ROW_GROUP_ROWS).map(|start| {
        let r = start..(start + MAX_ROW_GROUP_ROWS).min(len);
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
        RecordBatch::try_new(Arc::clone(&schema), columns)
            .map_err(arrow_err(path, "failed to build record batch"))
    });
    write_parquet(path, &schema, BANDS_SCHEMA_ID, metadata, batches)
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
        let column = |s| BatchColumn::new(path, &batch, s, offset);
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
    }
    t.check(path)?;
    Ok(t)
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
}
