//! `market_funds.parquet` (`market_funds/v1`): what each market's own
//! insurance fund (`[market.<name>.insurance_fund]`, dYdX v4's isolated
//! market; docs/model.md §6 "Funds per market") did on each path. Written only
//! by runs with such a fund: the shared fund's figures stay in `paths.parquet`
//! (`insurance_fund_*`), so every other results folder is unchanged.
//!
//! One row per (parameter set, path, market with a fund of its own):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `param_set` | `UInt32` | parameter-set index (0 without a sweep) |
//! | `path` | `UInt64` | path index |
//! | `market` | `Utf8` | the market whose fund it is, non-empty |
//! | `initial` | `Float64` | USD at the start |
//! | `min` | `Float64` | lowest end-of-step balance, USD |
//! | `min_step` | `UInt32` | step of the minimum |
//! | `final` | `Float64` | balance at the end, USD |
//! | `max_drawdown` | `Float64` | largest fall from a running peak, USD, >= 0 |
//! | `max_drawdown_pct` | `Float64` | the same as a fraction of that peak, in [0, 1] |
//! | `first_depletion_step` | `UInt64`, nullable | first step it could not pay in full (or sat at its floor); null if never |
//! | `payouts` | `Float64` | paid for the market's bad debt, USD, >= 0 |
//! | `fee_income` | `Float64` | the market's liquidation-fee shares received, USD, >= 0 |

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::SchemaRef;

use super::paths::{PARAM_SET, PATH};
use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::rules::{check_lengths, finite, non_empty, non_negative};
use crate::schema::{Column, ColumnType, arrow_schema};

/// `backstop.schema` of `market_funds.parquet`.
pub const MARKET_FUNDS_SCHEMA_ID: &str = "market_funds/v1";

/// One market fund's figures on one path; see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct MarketFundRow {
    /// Parameter-set index.
    pub param_set: u32,
    /// Path index.
    pub path: u64,
    /// The market whose fund it is.
    pub market: String,
    /// USD at the start.
    pub initial: f64,
    /// Lowest end-of-step balance, USD.
    pub min: f64,
    /// Step of the minimum.
    pub min_step: u32,
    /// Balance at the end, USD.
    pub final_balance: f64,
    /// Largest fall from a running peak, USD.
    pub max_drawdown: f64,
    /// Largest fall from a running peak, fraction of that peak.
    pub max_drawdown_pct: f64,
    /// First step it could not pay in full (or sat at its floor).
    pub first_depletion_step: Option<u64>,
    /// Paid for the market's bad debt, USD.
    pub payouts: f64,
    /// Liquidation-fee shares received, USD.
    pub fee_income: f64,
}

impl MarketFundRow {
    /// Why the row breaks the schema's rules (column, message), if it does.
    fn broken(&self) -> Option<(&'static str, String)> {
        if let Err(b) = non_empty(&self.market) {
            return Some((MARKET.name, b.to_string()));
        }
        for (column, v) in [
            (INITIAL.name, self.initial),
            (MIN.name, self.min),
            (FINAL.name, self.final_balance),
        ] {
            if let Err(b) = finite(v) {
                return Some((column, b.to_string()));
            }
        }
        for (column, v) in [
            (MAX_DRAWDOWN.name, self.max_drawdown),
            (PAYOUTS.name, self.payouts),
            (FEE_INCOME.name, self.fee_income),
        ] {
            if let Err(b) = non_negative(v) {
                return Some((column, b.to_string()));
            }
        }
        if !(0.0..=1.0).contains(&self.max_drawdown_pct) {
            return Some((
                MAX_DRAWDOWN_PCT.name,
                format!("must be in [0, 1], got {}", self.max_drawdown_pct),
            ));
        }
        None
    }
}

const MARKET: Column = Column::new("market", ColumnType::Str);
const INITIAL: Column = Column::new("initial", ColumnType::F64);
const MIN: Column = Column::new("min", ColumnType::F64);
const MIN_STEP: Column = Column::new("min_step", ColumnType::U32);
const FINAL: Column = Column::new("final", ColumnType::F64);
const MAX_DRAWDOWN: Column = Column::new("max_drawdown", ColumnType::F64);
const MAX_DRAWDOWN_PCT: Column = Column::new("max_drawdown_pct", ColumnType::F64);
const FIRST_DEPLETION_STEP: Column = Column::nullable("first_depletion_step", ColumnType::U64);
const PAYOUTS: Column = Column::new("payouts", ColumnType::F64);
const FEE_INCOME: Column = Column::new("fee_income", ColumnType::F64);
const COLUMNS: [Column; 12] = [
    PARAM_SET,
    PATH,
    MARKET,
    INITIAL,
    MIN,
    MIN_STEP,
    FINAL,
    MAX_DRAWDOWN,
    MAX_DRAWDOWN_PCT,
    FIRST_DEPLETION_STEP,
    PAYOUTS,
    FEE_INCOME,
];

/// Checks every row, naming the first bad one.
fn check(path: &Path, rows: &[MarketFundRow]) -> Result<(), DataError> {
    for (row, r) in rows.iter().enumerate() {
        if let Some((column, message)) = r.broken() {
            return Err(DataError::invalid(path, row, column, message));
        }
    }
    Ok(())
}

/// Writes `rows` atomically as `market_funds/v1`.
///
/// # Errors
/// A row breaking the schema's rules (before anything is written), bad
/// metadata, and I/O or encoding errors.
pub fn write_market_funds(
    path: &Path,
    rows: &[MarketFundRow],
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, rows)?;
    write_parquet(path, &schema, MARKET_FUNDS_SCHEMA_ID, metadata, batches)
}

/// The record batches [`write_market_funds`] writes to `path`, in memory.
///
/// # Errors
/// As [`write_market_funds`], but nothing is written.
pub fn market_funds_batches(
    path: &Path,
    rows: &[MarketFundRow],
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, rows)?;
    TableBatches::collect(path, &schema, MARKET_FUNDS_SCHEMA_ID, metadata, batches)
}

/// Checks the rows, then yields their batches, one per row group.
fn row_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    rows: &'a [MarketFundRow],
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    check(path, rows)?;
    Ok((0..rows.len().max(1))
        .step_by(MAX_ROW_GROUP_ROWS)
        .map(move |start| {
            let r = &rows[start..(start + MAX_ROW_GROUP_ROWS).min(rows.len())];
            let f = |get: fn(&MarketFundRow) -> f64| -> ArrayRef {
                Arc::new(Float64Array::from_iter_values(r.iter().map(get)))
            };
            let columns: Vec<ArrayRef> = vec![
                Arc::new(UInt32Array::from_iter_values(r.iter().map(|x| x.param_set))),
                Arc::new(UInt64Array::from_iter_values(r.iter().map(|x| x.path))),
                Arc::new(StringArray::from_iter_values(
                    r.iter().map(|x| x.market.as_str()),
                )),
                f(|x| x.initial),
                f(|x| x.min),
                Arc::new(UInt32Array::from_iter_values(r.iter().map(|x| x.min_step))),
                f(|x| x.final_balance),
                f(|x| x.max_drawdown),
                f(|x| x.max_drawdown_pct),
                Arc::new(UInt64Array::from_iter(
                    r.iter().map(|x| x.first_depletion_step),
                )),
                f(|x| x.payouts),
                f(|x| x.fee_income),
            ];
            RecordBatch::try_new(Arc::clone(schema), columns)
                .map_err(arrow_err(path, "failed to build record batch"))
        }))
}

/// Reads a `market_funds/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column
/// (named), or a bad value (naming the row).
pub fn read_market_funds(path: &Path) -> Result<Vec<MarketFundRow>, DataError> {
    let reader = open_projected(path, MARKET_FUNDS_SCHEMA_ID, &COLUMNS)?;
    let mut c = Columns::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |s| BatchColumn::new(path, &batch, s, offset);
        column(PARAM_SET)?.push_u32(&mut c.param_set)?;
        column(PATH)?.push_u64(&mut c.path)?;
        column(MARKET)?.push_string(&mut c.market)?;
        column(INITIAL)?.push_f64(&mut c.initial)?;
        column(MIN)?.push_f64(&mut c.min)?;
        column(MIN_STEP)?.push_u32(&mut c.min_step)?;
        column(FINAL)?.push_f64(&mut c.final_balance)?;
        column(MAX_DRAWDOWN)?.push_f64(&mut c.max_drawdown)?;
        column(MAX_DRAWDOWN_PCT)?.push_f64(&mut c.max_drawdown_pct)?;
        column(FIRST_DEPLETION_STEP)?.push_opt_u64(&mut c.first_depletion_step)?;
        column(PAYOUTS)?.push_f64(&mut c.payouts)?;
        column(FEE_INCOME)?.push_f64(&mut c.fee_income)?;
    }
    let rows = c.rows(path)?;
    check(path, &rows)?;
    Ok(rows)
}

/// The columns as read, before they become rows.
#[derive(Default)]
struct Columns {
    param_set: Vec<u32>,
    path: Vec<u64>,
    market: Vec<String>,
    initial: Vec<f64>,
    min: Vec<f64>,
    min_step: Vec<u32>,
    final_balance: Vec<f64>,
    max_drawdown: Vec<f64>,
    max_drawdown_pct: Vec<f64>,
    first_depletion_step: Vec<Option<u64>>,
    payouts: Vec<f64>,
    fee_income: Vec<f64>,
}

impl Columns {
    fn rows(self, path: &Path) -> Result<Vec<MarketFundRow>, DataError> {
        check_lengths(
            path,
            (PATH.name, self.path.len()),
            &[
                (PARAM_SET.name, self.param_set.len()),
                (MARKET.name, self.market.len()),
                (FEE_INCOME.name, self.fee_income.len()),
            ],
        )?;
        Ok((0..self.path.len())
            .map(|i| MarketFundRow {
                param_set: self.param_set[i],
                path: self.path[i],
                market: self.market[i].clone(),
                initial: self.initial[i],
                min: self.min[i],
                min_step: self.min_step[i],
                final_balance: self.final_balance[i],
                max_drawdown: self.max_drawdown[i],
                max_drawdown_pct: self.max_drawdown_pct[i],
                first_depletion_step: self.first_depletion_step[i],
                payouts: self.payouts[i],
                fee_income: self.fee_income[i],
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: u64, depleted: Option<u64>) -> MarketFundRow {
        MarketFundRow {
            param_set: 0,
            path,
            market: "alt".to_owned(),
            initial: 1_000.0,
            min: 0.0,
            min_step: 30,
            final_balance: 12.5,
            max_drawdown: 1_000.0,
            max_drawdown_pct: 1.0,
            first_depletion_step: depleted,
            payouts: 1_000.0,
            fee_income: 12.5,
        }
    }

    #[test]
    fn market_funds_round_trip_and_reject_a_negative_payout() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("market_funds.parquet");
        let mut rows = vec![row(0, Some(30)), row(1, None)];
        write_market_funds(&f, &rows, &[]).unwrap();
        assert_eq!(read_market_funds(&f).unwrap(), rows);
        rows[1].payouts = -1.0;
        let err = write_market_funds(&dir.path().join("bad.parquet"), &rows, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("payouts") && err.contains("row 1"), "{err}");
    }
}
