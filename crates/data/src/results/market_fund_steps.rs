//! `market_fund_steps.parquet` (`market_fund_steps/v1`): each market's own
//! insurance fund (`[market.<name>.insurance_fund]`, docs/model.md §6 "Funds
//! per market") step by step on path 0, the per-step companion of
//! `market_funds.parquet` (whose end-of-path figures it agrees with: the last
//! `balance` is `final`, the first `depleted` step is `first_depletion_step`).
//! Written only by runs with such a fund, so every other results folder is
//! unchanged.
//!
//! Long format, one row per (path, step, market with a fund of its own), in
//! step order then market order. Long rather than a column per market: market
//! names are data (a schema that changes with the scenario cannot be
//! versioned or validated), only the markets with a fund have rows, and the
//! table joins `steps.parquet` on (`step`, `market`) and
//! `market_funds.parquet` on (`path`, `market`) as it is.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `path` | `UInt64` | path index (0: the per-step series are path 0's) |
//! | `step` | `UInt32` | step index |
//! | `ts` | `Timestamp(ns, "UTC")` | time of the step |
//! | `market` | `Utf8` | the market whose fund it is, non-empty |
//! | `balance` | `Float64` | the fund's balance in USD *after* the step (a level) |
//! | `available` | `Float64` | what it can still pay, balance above its floor, USD, >= 0 (a level) |
//! | `payouts` | `Float64` | paid for the market's bad debt *during* the step, USD, >= 0 |
//! | `fee_income` | `Float64` | liquidation-fee shares received *during* the step, USD, >= 0 |
//! | `depleted` | `Boolean` | whether the fund has depleted (could not pay in full, or sat at its floor) at or before this step |

use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt32Array, UInt64Array,
};
use arrow_schema::SchemaRef;

use crate::error::DataError;
use crate::parquet_io::{BatchColumn, arrow_err, batches, open_projected};
use crate::results::batches::TableBatches;
use crate::results::chunked::{self, RowGroupTable};
use crate::rules::{finite, non_empty, non_negative};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// `backstop.schema` of `market_fund_steps.parquet`.
pub const MARKET_FUND_STEPS_SCHEMA_ID: &str = "market_fund_steps/v1";

/// One market fund at the end of one step; see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct MarketFundStepRow {
    /// Path index.
    pub path: u64,
    /// Step index.
    pub step: u32,
    /// Time of the step, ns since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// The market whose fund it is.
    pub market: String,
    /// Balance after the step, USD.
    pub balance: f64,
    /// Balance above the floor after the step, USD.
    pub available: f64,
    /// Paid for the market's bad debt during the step, USD.
    pub payouts: f64,
    /// Liquidation-fee shares received during the step, USD.
    pub fee_income: f64,
    /// Whether the fund has depleted at or before this step.
    pub depleted: bool,
}

impl MarketFundStepRow {
    /// Why the row breaks the schema's rules (column, message), if it does.
    fn broken(&self) -> Option<(&'static str, String)> {
        if let Err(b) = non_empty(&self.market) {
            return Some((MARKET.name, b.to_string()));
        }
        if let Err(b) = finite(self.balance) {
            return Some((BALANCE.name, b.to_string()));
        }
        for (column, v) in [
            (AVAILABLE.name, self.available),
            (PAYOUTS.name, self.payouts),
            (FEE_INCOME.name, self.fee_income),
        ] {
            if let Err(b) = non_negative(v) {
                return Some((column, b.to_string()));
            }
        }
        None
    }
}

/// Rows of `market_fund_steps/v1`, a table [`chunked`] can write a row group
/// at a time (and stream while a path runs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarketFundStepsTable {
    /// The rows, in file order.
    pub rows: Vec<MarketFundStepRow>,
}

const PATH: Column = Column::new("path", ColumnType::U64);
const STEP: Column = Column::new("step", ColumnType::U32);
const TS: Column = Column::new("ts", ColumnType::TimestampNsUtc);
const MARKET: Column = Column::new("market", ColumnType::Str);
const BALANCE: Column = Column::new("balance", ColumnType::F64);
const AVAILABLE: Column = Column::new("available", ColumnType::F64);
const PAYOUTS: Column = Column::new("payouts", ColumnType::F64);
const FEE_INCOME: Column = Column::new("fee_income", ColumnType::F64);
const DEPLETED: Column = Column::new("depleted", ColumnType::Bool);
const COLUMNS: [Column; 9] = [
    PATH, STEP, TS, MARKET, BALANCE, AVAILABLE, PAYOUTS, FEE_INCOME, DEPLETED,
];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

impl RowGroupTable for MarketFundStepsTable {
    const SCHEMA_ID: &'static str = MARKET_FUND_STEPS_SCHEMA_ID;
    const LENGTH_COLUMN: &'static str = STEP.name;
    const EMPTY_ROW_GROUP: bool = false;

    fn schema() -> SchemaRef {
        Arc::clone(&SCHEMA)
    }

    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn check(&self, path: &Path, first_row: usize) -> Result<(), DataError> {
        check(path, first_row, &self.rows)
    }

    fn batch(
        &self,
        path: &Path,
        schema: &SchemaRef,
        range: Range<usize>,
    ) -> Result<RecordBatch, DataError> {
        let r = self.rows.get(range).unwrap_or_default();
        let f = |get: fn(&MarketFundStepRow) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(r.iter().map(get)))
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from_iter_values(r.iter().map(|x| x.path))),
            Arc::new(UInt32Array::from_iter_values(r.iter().map(|x| x.step))),
            Arc::new(
                TimestampNanosecondArray::from_iter_values(r.iter().map(|x| x.ts_ns))
                    .with_timezone(UTC),
            ),
            Arc::new(StringArray::from_iter_values(
                r.iter().map(|x| x.market.as_str()),
            )),
            f(|x| x.balance),
            f(|x| x.available),
            f(|x| x.payouts),
            f(|x| x.fee_income),
            Arc::new(BooleanArray::from_iter(r.iter().map(|x| Some(x.depleted)))),
        ];
        RecordBatch::try_new(Arc::clone(schema), columns)
            .map_err(arrow_err(path, "failed to build record batch"))
    }
}

/// Checks every row (the first is the file's row `first_row`), naming the
/// first bad one.
fn check(path: &Path, first_row: usize, rows: &[MarketFundStepRow]) -> Result<(), DataError> {
    for (row, r) in rows.iter().enumerate() {
        if let Some((column, message)) = r.broken() {
            return Err(DataError::invalid(path, first_row + row, column, message));
        }
    }
    Ok(())
}

/// Writes `rows` atomically as `market_fund_steps/v1`, one row group at a
/// time (byte-identical to the file a [`chunked::RowGroupWriter`] streams).
///
/// # Errors
/// A row breaking the schema's rules (nothing is left on disk), bad metadata,
/// and I/O or encoding errors.
pub fn write_market_fund_steps(
    path: &Path,
    rows: &[MarketFundStepRow],
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    chunked::write_chunked(path, rows.len(), metadata, |range| MarketFundStepsTable {
        rows: rows[range].to_vec(),
    })
}

/// The record batches [`write_market_fund_steps`] writes to `path`, in memory.
///
/// # Errors
/// As [`write_market_fund_steps`], but nothing is written.
pub fn market_fund_steps_batches(
    path: &Path,
    rows: &[MarketFundStepRow],
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    chunked::batches_chunked(path, rows.len(), metadata, |range| MarketFundStepsTable {
        rows: rows[range].to_vec(),
    })
}

/// Reads a `market_fund_steps/v1` file, in file order.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column
/// (named), or a bad value (naming the row).
pub fn read_market_fund_steps(path: &Path) -> Result<Vec<MarketFundStepRow>, DataError> {
    let reader = open_projected(path, MARKET_FUND_STEPS_SCHEMA_ID, &COLUMNS)?;
    let mut c = Columns::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |s| BatchColumn::new(path, &batch, s, offset);
        column(PATH)?.push_u64(&mut c.path)?;
        column(STEP)?.push_u32(&mut c.step)?;
        column(TS)?.push_timestamp_ns(&mut c.ts_ns)?;
        column(MARKET)?.push_string(&mut c.market)?;
        column(BALANCE)?.push_f64(&mut c.balance)?;
        column(AVAILABLE)?.push_f64(&mut c.available)?;
        column(PAYOUTS)?.push_f64(&mut c.payouts)?;
        column(FEE_INCOME)?.push_f64(&mut c.fee_income)?;
        column(DEPLETED)?.push_bool(&mut c.depleted)?;
    }
    let rows = c.rows(path)?;
    check(path, 0, &rows)?;
    Ok(rows)
}

/// The columns as read, before they become rows.
#[derive(Default)]
struct Columns {
    path: Vec<u64>,
    step: Vec<u32>,
    ts_ns: Vec<i64>,
    market: Vec<String>,
    balance: Vec<f64>,
    available: Vec<f64>,
    payouts: Vec<f64>,
    fee_income: Vec<f64>,
    depleted: Vec<bool>,
}

impl Columns {
    fn rows(self, path: &Path) -> Result<Vec<MarketFundStepRow>, DataError> {
        crate::rules::check_lengths(
            path,
            (STEP.name, self.step.len()),
            &[
                (PATH.name, self.path.len()),
                (TS.name, self.ts_ns.len()),
                (MARKET.name, self.market.len()),
                (BALANCE.name, self.balance.len()),
                (AVAILABLE.name, self.available.len()),
                (PAYOUTS.name, self.payouts.len()),
                (FEE_INCOME.name, self.fee_income.len()),
                (DEPLETED.name, self.depleted.len()),
            ],
        )?;
        let mut market = self.market.into_iter();
        Ok((0..self.step.len())
            .map(|i| MarketFundStepRow {
                path: self.path[i],
                step: self.step[i],
                ts_ns: self.ts_ns[i],
                market: market.next().unwrap_or_default(),
                balance: self.balance[i],
                available: self.available[i],
                payouts: self.payouts[i],
                fee_income: self.fee_income[i],
                depleted: self.depleted[i],
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u32, balance: f64, depleted: bool) -> MarketFundStepRow {
        MarketFundStepRow {
            path: 0,
            step,
            ts_ns: 1_760_000_000_000_000_000 + i64::from(step) * 60_000_000_000,
            market: "alt".to_owned(),
            balance,
            available: balance,
            payouts: 0.0,
            fee_income: 0.5,
            depleted,
        }
    }

    #[test]
    fn market_fund_steps_round_trip_stream_identically_and_reject_a_negative_payout() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("market_fund_steps.parquet");
        let mut rows = vec![row(0, 1_000.5, false), row(1, 0.0, true)];
        write_market_fund_steps(&f, &rows, &[]).unwrap();
        assert_eq!(read_market_fund_steps(&f).unwrap(), rows);
        let streamed = dir.path().join("streamed.parquet");
        let mut w =
            chunked::RowGroupWriter::<MarketFundStepsTable>::create(&streamed, &[]).unwrap();
        w.write(&MarketFundStepsTable { rows: rows.clone() })
            .unwrap();
        w.finish().unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(&streamed).unwrap()
        );
        rows[1].payouts = -1.0;
        let err = write_market_fund_steps(&dir.path().join("bad.parquet"), &rows, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("payouts") && err.contains("row 1"), "{err}");
    }
}
