// Over 600 lines: nearly half are the unit tests of the format, which stay beside it.
//! The per-step series schema (`steps/v1`) a run writes as `steps.parquet`:
//! one row per (step, market).
//!
//! | column                      | type                   | meaning                                                                    |
//! |-----------------------------|------------------------|----------------------------------------------------------------------------|
//! | `step`                      | `UInt32`               | simulation step index                                                      |
//! | `ts_ns`                     | `Timestamp(ns, "UTC")` | time the step represents, ns since the Unix epoch                          |
//! | `market`                    | `Utf8`                 | market symbol, non-empty                                                   |
//! | `mark`                      | `Float64`              | mark price in USD at the end of the step, > 0                              |
//! | `insurance_fund`            | `Float64`              | insurance-fund balance in USD *after* the step (a level; any finite value) |
//! | `bad_debt`                  | `Float64`              | bad debt in USD incurred *during* the step, >= 0                           |
//! | `socialized_loss`           | `Float64`              | loss in USD socialized across accounts during the step, >= 0               |
//! | `insolvency`                | `Float64`              | shortfall in USD left uncovered during the step, >= 0                      |
//! | `adl_notional`              | `Float64`              | notional in USD auto-deleveraged during the step, >= 0                     |
//! | `adl_count`                 | `UInt32`               | ADL closes during the step (bankrupt positions deleveraged; not orders)  |
//! | `liquidated_long_notional`  | `Float64`              | notional in USD of long positions liquidated during the step, >= 0         |
//! | `liquidated_short_notional` | `Float64`              | notional in USD of short positions liquidated during the step, >= 0        |
//! | `liquidations`              | `UInt32`               | liquidation orders executed against the market during the step (no ADL)  |
//! | `open_interest`             | `Float64`              | long open interest in USD at `mark` after the step (a level), >= 0         |
//! | `funding_rate`              | `Float64`, nullable    | funding rate settled this step; null when no funding settles               |
//! | `margin_multiplier`         | `Float64`              | multiplier of the market's margin rates during the step (volatility margin; 1 without it), >= 1 |
//! | `liquidations_paused`       | `Boolean`              | whether the circuit breaker paused liquidations during the step (venue-wide: the same in every market's row) |
//! | `path_price`                | `Float64`              | the path's price for the step, before impact and oracle (on a replay: the recorded price), > 0 |
//!
//! Money columns are USD. `bad_debt`, `socialized_loss`, `insolvency`,
//! `adl_notional` and `liquidated_*_notional` are flows over the step, not
//! cumulative totals; `insurance_fund` and `open_interest` are levels. Every
//! float must be finite (NaN and infinities are rejected on writing and on
//! reading); `market` is written as `Utf8` and dictionary-encoded by Parquet.
//!
//! Only `funding_rate` is nullable. Reading accepts extra columns, any column
//! order, `market` as `LargeUtf8`/`Utf8View`/dictionary, and `ts_ns` in any UTC
//! spelling (`"UTC"`, `"Etc/UTC"`, `"+00:00"`, `"Z"`). A file tagged with a
//! different `backstop.schema` is rejected. Errors name the file, the 0-based
//! row and the column.

use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt32Array,
};
use arrow_schema::SchemaRef;

use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::results::chunked::{self, RowGroupTable};
use crate::rules::{Broken, at_least_one, finite, non_empty, non_negative, positive};
use crate::schema::{Column, ColumnType, UTC, arrow_schema};

/// Value of the `backstop.schema` metadata key in steps files.
pub const STEPS_SCHEMA_ID: &str = "steps/v1";

/// The per-step series, column-oriented: row `i` is
/// `(step[i], ts_ns[i], market[i], ...)`. See the [module docs](self) for the
/// meaning of each column. All columns must have the same length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepsTable {
    /// Simulation step index.
    pub step: Vec<u32>,
    /// Time the step represents, ns since the Unix epoch (UTC).
    pub ts_ns: Vec<i64>,
    /// Market symbol.
    pub market: Vec<String>,
    /// Mark price in USD at the end of the step.
    pub mark: Vec<f64>,
    /// Insurance-fund balance in USD after the step.
    pub insurance_fund: Vec<f64>,
    /// Bad debt in USD incurred during the step.
    pub bad_debt: Vec<f64>,
    /// Loss in USD socialized during the step.
    pub socialized_loss: Vec<f64>,
    /// Uncovered shortfall in USD during the step.
    pub insolvency: Vec<f64>,
    /// Notional in USD auto-deleveraged during the step.
    pub adl_notional: Vec<f64>,
    /// Number of ADL fills during the step.
    pub adl_count: Vec<u32>,
    /// Notional in USD of longs liquidated during the step.
    pub liquidated_long_notional: Vec<f64>,
    /// Notional in USD of shorts liquidated during the step.
    pub liquidated_short_notional: Vec<f64>,
    /// Number of liquidations during the step.
    pub liquidations: Vec<u32>,
    /// Long open interest in USD at the mark, after the step.
    pub open_interest: Vec<f64>,
    /// Funding rate settled this step, `None` when no funding settles.
    pub funding_rate: Vec<Option<f64>>,
    /// Multiplier of the market's margin rates during the step (1 without the
    /// volatility-margin control).
    pub margin_multiplier: Vec<f64>,
    /// Whether the circuit breaker paused liquidations during the step.
    pub liquidations_paused: Vec<bool>,
    /// The path's price for the step before impact and oracle (on a replay, the
    /// recorded price: `mark` minus what the simulated book added).
    pub path_price: Vec<f64>,
}

impl StepsTable {
    /// An empty table with room for `n` rows in every column.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self {
            step: Vec::with_capacity(n),
            ts_ns: Vec::with_capacity(n),
            market: Vec::with_capacity(n),
            mark: Vec::with_capacity(n),
            insurance_fund: Vec::with_capacity(n),
            bad_debt: Vec::with_capacity(n),
            socialized_loss: Vec::with_capacity(n),
            insolvency: Vec::with_capacity(n),
            adl_notional: Vec::with_capacity(n),
            adl_count: Vec::with_capacity(n),
            liquidated_long_notional: Vec::with_capacity(n),
            liquidated_short_notional: Vec::with_capacity(n),
            liquidations: Vec::with_capacity(n),
            open_interest: Vec::with_capacity(n),
            funding_rate: Vec::with_capacity(n),
            margin_multiplier: Vec::with_capacity(n),
            liquidations_paused: Vec::with_capacity(n),
            path_price: Vec::with_capacity(n),
        }
    }

    /// Number of rows, taken from the `step` column.
    #[must_use]
    pub fn len(&self) -> usize {
        self.step.len()
    }

    /// Whether the table has no rows (by the `step` column).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// Checks every column has as many values as `step`.
    ///
    /// # Errors
    ///
    /// [`DataError::LengthMismatch`] (with `path: None`) naming the first
    /// column whose length differs.
    pub fn validate_lengths(&self) -> Result<(), DataError> {
        self.check_lengths(None)
    }

    fn check_lengths(&self, path: Option<&Path>) -> Result<(), DataError> {
        let expected = self.len();
        let lengths = [
            (TS_NS.name, self.ts_ns.len()),
            (MARKET.name, self.market.len()),
            (MARK.name, self.mark.len()),
            (INSURANCE_FUND.name, self.insurance_fund.len()),
            (BAD_DEBT.name, self.bad_debt.len()),
            (SOCIALIZED_LOSS.name, self.socialized_loss.len()),
            (INSOLVENCY.name, self.insolvency.len()),
            (ADL_NOTIONAL.name, self.adl_notional.len()),
            (ADL_COUNT.name, self.adl_count.len()),
            (LIQ_LONG.name, self.liquidated_long_notional.len()),
            (LIQ_SHORT.name, self.liquidated_short_notional.len()),
            (LIQUIDATIONS.name, self.liquidations.len()),
            (OPEN_INTEREST.name, self.open_interest.len()),
            (FUNDING_RATE.name, self.funding_rate.len()),
            (MARGIN_MULTIPLIER.name, self.margin_multiplier.len()),
            (LIQUIDATIONS_PAUSED.name, self.liquidations_paused.len()),
            (PATH_PRICE.name, self.path_price.len()),
        ];
        match lengths.into_iter().find(|&(_, found)| found != expected) {
            None => Ok(()),
            Some((column, found)) => Err(DataError::LengthMismatch {
                path: path.map(Path::to_owned),
                column: column.to_owned(),
                reference: format!("column `{}`", STEP.name),
                expected,
                found,
            }),
        }
    }

    /// Checks every value against the schema's rules, in row order, so the
    /// error names the first offending row (the table's row 0 is the file's row
    /// `first_row`). Lengths must already match.
    fn check_values(&self, path: &Path, first_row: usize) -> Result<(), DataError> {
        type Check = fn(f64) -> Result<(), Broken>;
        let float_columns: [(&'static str, &[f64], Check); 11] = [
            (MARK.name, &self.mark, positive),
            (PATH_PRICE.name, &self.path_price, positive),
            (INSURANCE_FUND.name, &self.insurance_fund, finite),
            (BAD_DEBT.name, &self.bad_debt, non_negative),
            (SOCIALIZED_LOSS.name, &self.socialized_loss, non_negative),
            (INSOLVENCY.name, &self.insolvency, non_negative),
            (ADL_NOTIONAL.name, &self.adl_notional, non_negative),
            (LIQ_LONG.name, &self.liquidated_long_notional, non_negative),
            (
                LIQ_SHORT.name,
                &self.liquidated_short_notional,
                non_negative,
            ),
            (OPEN_INTEREST.name, &self.open_interest, non_negative),
            (
                MARGIN_MULTIPLIER.name,
                &self.margin_multiplier,
                at_least_one,
            ),
        ];
        for row in 0..self.len() {
            let fail = |column: &'static str| {
                move |broken: Broken| broken.at(path, first_row + row, column)
            };
            if let Some(market) = self.market.get(row) {
                non_empty(market).map_err(fail(MARKET.name))?;
            }
            for (column, values, check) in &float_columns {
                if let Some(&value) = values.get(row) {
                    check(value).map_err(fail(column))?;
                }
            }
            if let Some(&Some(rate)) = self.funding_rate.get(row) {
                finite(rate).map_err(fail(FUNDING_RATE.name))?;
            }
        }
        Ok(())
    }

    /// `values[range]`; the length error if `values` is too short (lengths are
    /// checked before writing, so this reports rather than panics all the same).
    fn rows_of<'a, T>(
        &self,
        path: &Path,
        spec: Column,
        values: &'a [T],
        range: &Range<usize>,
    ) -> Result<&'a [T], DataError> {
        values
            .get(range.clone())
            .ok_or_else(|| DataError::LengthMismatch {
                path: Some(path.to_owned()),
                column: spec.name.to_owned(),
                reference: format!("column `{}`", STEP.name),
                expected: self.len(),
                found: values.len(),
            })
    }

    /// Arrow arrays for rows `range` of the table.
    fn to_batch(
        &self,
        path: &Path,
        schema: &SchemaRef,
        range: Range<usize>,
    ) -> Result<RecordBatch, DataError> {
        let floats = |spec: Column, values: &[f64]| -> Result<ArrayRef, DataError> {
            let values = self.rows_of(path, spec, values, &range)?;
            Ok(Arc::new(Float64Array::from_iter_values(
                values.iter().copied(),
            )))
        };
        let counts = |spec: Column, values: &[u32]| -> Result<ArrayRef, DataError> {
            let values = self.rows_of(path, spec, values, &range)?;
            Ok(Arc::new(UInt32Array::from_iter_values(
                values.iter().copied(),
            )))
        };
        let ts_ns = self.rows_of(path, TS_NS, &self.ts_ns, &range)?;
        let market = self.rows_of(path, MARKET, &self.market, &range)?;
        let funding_rate = self.rows_of(path, FUNDING_RATE, &self.funding_rate, &range)?;
        let paused = self.rows_of(path, LIQUIDATIONS_PAUSED, &self.liquidations_paused, &range)?;
        let columns: Vec<ArrayRef> = vec![
            counts(STEP, &self.step)?,
            Arc::new(
                TimestampNanosecondArray::from_iter_values(ts_ns.iter().copied())
                    .with_timezone(UTC),
            ),
            Arc::new(StringArray::from_iter_values(market)),
            floats(MARK, &self.mark)?,
            floats(INSURANCE_FUND, &self.insurance_fund)?,
            floats(BAD_DEBT, &self.bad_debt)?,
            floats(SOCIALIZED_LOSS, &self.socialized_loss)?,
            floats(INSOLVENCY, &self.insolvency)?,
            floats(ADL_NOTIONAL, &self.adl_notional)?,
            counts(ADL_COUNT, &self.adl_count)?,
            floats(LIQ_LONG, &self.liquidated_long_notional)?,
            floats(LIQ_SHORT, &self.liquidated_short_notional)?,
            counts(LIQUIDATIONS, &self.liquidations)?,
            floats(OPEN_INTEREST, &self.open_interest)?,
            Arc::new(funding_rate.iter().copied().collect::<Float64Array>()),
            floats(MARGIN_MULTIPLIER, &self.margin_multiplier)?,
            Arc::new(BooleanArray::from(paused.to_vec())),
            floats(PATH_PRICE, &self.path_price)?,
        ];
        RecordBatch::try_new(Arc::clone(schema), columns)
            .map_err(arrow_err(path, "failed to build record batch"))
    }
}

const STEP: Column = Column::new("step", ColumnType::U32);
const TS_NS: Column = Column::new("ts_ns", ColumnType::TimestampNsUtc);
const MARKET: Column = Column::new("market", ColumnType::Str);
const MARK: Column = Column::new("mark", ColumnType::F64);
const INSURANCE_FUND: Column = Column::new("insurance_fund", ColumnType::F64);
const BAD_DEBT: Column = Column::new("bad_debt", ColumnType::F64);
const SOCIALIZED_LOSS: Column = Column::new("socialized_loss", ColumnType::F64);
const INSOLVENCY: Column = Column::new("insolvency", ColumnType::F64);
const ADL_NOTIONAL: Column = Column::new("adl_notional", ColumnType::F64);
const ADL_COUNT: Column = Column::new("adl_count", ColumnType::U32);
const LIQ_LONG: Column = Column::new("liquidated_long_notional", ColumnType::F64);
const LIQ_SHORT: Column = Column::new("liquidated_short_notional", ColumnType::F64);
const LIQUIDATIONS: Column = Column::new("liquidations", ColumnType::U32);
const OPEN_INTEREST: Column = Column::new("open_interest", ColumnType::F64);
const FUNDING_RATE: Column = Column::nullable("funding_rate", ColumnType::F64);
const MARGIN_MULTIPLIER: Column = Column::new("margin_multiplier", ColumnType::F64);
const LIQUIDATIONS_PAUSED: Column = Column::new("liquidations_paused", ColumnType::Bool);
const PATH_PRICE: Column = Column::new("path_price", ColumnType::F64);

const COLUMNS: [Column; 18] = [
    STEP,
    TS_NS,
    MARKET,
    MARK,
    INSURANCE_FUND,
    BAD_DEBT,
    SOCIALIZED_LOSS,
    INSOLVENCY,
    ADL_NOTIONAL,
    ADL_COUNT,
    LIQ_LONG,
    LIQ_SHORT,
    LIQUIDATIONS,
    OPEN_INTEREST,
    FUNDING_RATE,
    MARGIN_MULTIPLIER,
    LIQUIDATIONS_PAUSED,
    PATH_PRICE,
];

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| arrow_schema(&COLUMNS));

/// The Arrow schema [`write_steps`] writes.
#[must_use]
pub fn steps_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

/// Writes `table` to `path` atomically as a `steps/v1` Parquet file, with
/// `metadata` (plus `backstop.schema`) as key-value metadata.
///
/// Output is deterministic: the same table and metadata give a
/// byte-identical file. Rows are written in table order.
///
/// # Errors
///
/// [`DataError::LengthMismatch`] if the columns differ in length,
/// [`DataError::InvalidValue`] if a value breaks the schema's rules (both
/// checked before anything is written), [`DataError::ReservedMetadataKey`] /
/// [`DataError::DuplicateMetadataKey`] for bad metadata, and I/O or encoding
/// errors from the write itself.
pub fn write_steps(
    path: &Path,
    table: &StepsTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = steps_schema();
    let batches = table_batches(path, &schema, table)?;
    write_parquet(path, &schema, STEPS_SCHEMA_ID, metadata, batches)
}

/// Checks `table`, then yields its batches, one per row group.
fn table_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    table: &'a StepsTable,
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    table.check_lengths(Some(path))?;
    table.check_values(path, 0)?;
    let len = table.len();
    Ok((0..len).step_by(MAX_ROW_GROUP_ROWS).map(move |start| {
        table.to_batch(path, schema, start..(start + MAX_ROW_GROUP_ROWS).min(len))
    }))
}

/// The record batches [`write_steps`] writes to `path` (one per row group), in
/// memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_steps`], but nothing is written.
pub fn steps_batches(
    path: &Path,
    table: &StepsTable,
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = steps_schema();
    let batches = table_batches(path, &schema, table)?;
    TableBatches::collect(path, &schema, STEPS_SCHEMA_ID, metadata, batches)
}

/// Writes a steps file of `rows` rows atomically without holding them:
/// `chunk(range)` gives the rows `range` (at most [`MAX_ROW_GROUP_ROWS`] of them,
/// each chunk one row group), in order. The file is byte-identical to
/// [`write_steps`] of the whole table; memory holds one chunk
/// ([`chunked::write_chunked`]).
///
/// # Errors
/// As [`write_steps`] (rows are checked chunk by chunk; nothing is left on disk
/// on an error), and [`DataError::LengthMismatch`] if a chunk does not have the
/// rows asked for.
pub fn write_steps_chunked(
    path: &Path,
    rows: usize,
    metadata: &[(String, String)],
    chunk: impl FnMut(Range<usize>) -> StepsTable,
) -> Result<(), DataError> {
    chunked::write_chunked(path, rows, metadata, chunk)
}

/// The record batches [`write_steps_chunked`] writes to `path`, in memory (all
/// chunks at once), with the file's metadata on their schema.
///
/// # Errors
/// As [`write_steps_chunked`], but nothing is written.
pub fn steps_batches_chunked(
    path: &Path,
    rows: usize,
    metadata: &[(String, String)],
    chunk: impl FnMut(Range<usize>) -> StepsTable,
) -> Result<TableBatches, DataError> {
    chunked::batches_chunked(path, rows, metadata, chunk)
}

impl RowGroupTable for StepsTable {
    const SCHEMA_ID: &'static str = STEPS_SCHEMA_ID;
    const LENGTH_COLUMN: &'static str = STEP.name;
    const EMPTY_ROW_GROUP: bool = false;

    fn schema() -> SchemaRef {
        steps_schema()
    }

    fn rows(&self) -> usize {
        self.len()
    }

    fn check(&self, path: &Path, first_row: usize) -> Result<(), DataError> {
        self.check_lengths(Some(path))?;
        self.check_values(path, first_row)
    }

    fn batch(
        &self,
        path: &Path,
        schema: &SchemaRef,
        range: Range<usize>,
    ) -> Result<RecordBatch, DataError> {
        self.to_batch(path, schema, range)
    }
}

/// Reads a steps file, in file order. A file with zero rows yields an empty
/// table.
///
/// # Errors
///
/// [`DataError::Io`] / [`DataError::NotParquet`] if the file cannot be opened
/// as Parquet; [`DataError::SchemaMismatch`] if it is tagged as another
/// schema; [`DataError::MissingColumn`], [`DataError::ColumnType`] or
/// [`DataError::DuplicateColumn`] for unusable columns;
/// [`DataError::NullValue`] or [`DataError::InvalidValue`] (naming the row)
/// for bad values.
pub fn read_steps(path: &Path) -> Result<StepsTable, DataError> {
    let reader = open_projected(path, STEPS_SCHEMA_ID, &COLUMNS)?;
    let mut t = StepsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        push_batch(&mut t, path, &batch, offset)?;
    }
    t.check_lengths(Some(path))?;
    t.check_values(path, 0)?;
    Ok(t)
}

/// Reads a steps file one decoded batch (at most 1,024 rows) at a time, in
/// file order, without holding the whole table: `each` gets each batch's rows
/// as a table and the file row of its first row. Memory holds one batch.
///
/// # Errors
///
/// As [`read_steps`]; the rows are checked batch by batch, so an error can come
/// after `each` has seen the batches before the offending row.
pub fn read_steps_chunked(
    path: &Path,
    mut each: impl FnMut(&StepsTable, usize),
) -> Result<(), DataError> {
    let reader = open_projected(path, STEPS_SCHEMA_ID, &COLUMNS)?;
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let mut t = StepsTable::with_capacity(batch.num_rows());
        push_batch(&mut t, path, &batch, offset)?;
        t.check_lengths(Some(path))?;
        t.check_values(path, offset)?;
        each(&t, offset);
    }
    Ok(())
}

/// Appends the rows of one decoded batch (file row `offset` first) to `t`.
fn push_batch(
    t: &mut StepsTable,
    path: &Path,
    batch: &RecordBatch,
    offset: usize,
) -> Result<(), DataError> {
    let column = |spec| BatchColumn::new(path, batch, spec, offset);
    column(STEP)?.push_u32(&mut t.step)?;
    column(TS_NS)?.push_timestamp_ns(&mut t.ts_ns)?;
    column(MARKET)?.push_string(&mut t.market)?;
    column(MARK)?.push_f64(&mut t.mark)?;
    column(INSURANCE_FUND)?.push_f64(&mut t.insurance_fund)?;
    column(BAD_DEBT)?.push_f64(&mut t.bad_debt)?;
    column(SOCIALIZED_LOSS)?.push_f64(&mut t.socialized_loss)?;
    column(INSOLVENCY)?.push_f64(&mut t.insolvency)?;
    column(ADL_NOTIONAL)?.push_f64(&mut t.adl_notional)?;
    column(ADL_COUNT)?.push_u32(&mut t.adl_count)?;
    column(LIQ_LONG)?.push_f64(&mut t.liquidated_long_notional)?;
    column(LIQ_SHORT)?.push_f64(&mut t.liquidated_short_notional)?;
    column(LIQUIDATIONS)?.push_u32(&mut t.liquidations)?;
    column(OPEN_INTEREST)?.push_f64(&mut t.open_interest)?;
    column(FUNDING_RATE)?.push_opt_f64(&mut t.funding_rate)?;
    column(MARGIN_MULTIPLIER)?.push_f64(&mut t.margin_multiplier)?;
    column(LIQUIDATIONS_PAUSED)?.push_bool(&mut t.liquidations_paused)?;
    column(PATH_PRICE)?.push_f64(&mut t.path_price)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{SCHEMA_METADATA_KEY, read_metadata};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;

    /// (step, ts_ns, market, mark, insurance_fund, funding_rate)
    type SampleRow = (u32, i64, &'static str, f64, f64, Option<f64>);

    fn sample() -> StepsTable {
        let mut t = StepsTable::with_capacity(4);
        let rows: [SampleRow; 4] = [
            (
                0,
                1_621_382_400_000_000_000,
                "BTC-PERP",
                43_000.0,
                1e6,
                Some(0.0001),
            ),
            (0, 1_621_382_400_000_000_000, "ETH-PERP", 3_400.0, 1e6, None),
            (
                1,
                1_621_382_401_000_000_000,
                "BTC-PERP",
                38_500.5,
                987_654.25,
                Some(-0.00025),
            ),
            (
                1,
                1_621_382_401_000_000_000,
                "ETH-PERP",
                2_900.0,
                -12.5,
                None,
            ),
        ];
        for (i, (step, ts, market, mark, fund, funding)) in rows.into_iter().enumerate() {
            let f = i as f64;
            t.step.push(step);
            t.ts_ns.push(ts);
            t.market.push(market.to_owned());
            t.mark.push(mark);
            t.insurance_fund.push(fund);
            t.bad_debt.push(f * 10.0);
            t.socialized_loss.push(f * 1.5);
            t.insolvency.push(0.0);
            t.adl_notional.push(f * 100.0);
            t.adl_count.push(i as u32);
            t.liquidated_long_notional.push(f * 1_000.0);
            t.liquidated_short_notional.push(0.25 * f);
            t.liquidations.push(2 * i as u32);
            t.open_interest.push(5e7 + f);
            t.funding_rate.push(funding);
            t.margin_multiplier.push(1.0);
            t.liquidations_paused.push(i == 2);
            t.path_price.push(43_000.0 + i as f64);
        }
        t
    }

    fn write_raw(path: &Path, batch: &RecordBatch) {
        let file = std::fs::File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn round_trip_with_null_funding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let table = sample();
        assert_eq!(table.len(), 4);
        assert!(table.funding_rate.contains(&None));
        write_steps(&path, &table, &[]).unwrap();
        assert_eq!(read_steps(&path).unwrap(), table);
    }

    #[test]
    fn empty_table_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let table = StepsTable::with_capacity(16);
        assert!(table.is_empty());
        write_steps(&path, &table, &[]).unwrap();
        let read = read_steps(&path).unwrap();
        assert!(read.is_empty());
        assert_eq!(read, table);
    }

    #[test]
    fn written_schema_has_utc_timestamp_and_nullable_funding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        write_steps(&path, &sample(), &[]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let schema = builder.schema();
        assert_eq!(
            schema.field_with_name("ts_ns").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        );
        assert!(
            schema
                .field_with_name("funding_rate")
                .unwrap()
                .is_nullable()
        );
        assert!(!schema.field_with_name("mark").unwrap().is_nullable());
        assert_eq!(schema.fields().len(), 18);
        assert_eq!(schema.fields(), steps_schema().fields());
    }

    #[test]
    fn output_is_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.parquet");
        let b = dir.path().join("b.parquet");
        let meta = vec![("run_id".to_owned(), "abc".to_owned())];
        write_steps(&a, &sample(), &meta).unwrap();
        write_steps(&b, &sample(), &meta).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        assert!(!bytes.is_empty());
        assert_eq!(bytes, std::fs::read(&b).unwrap());
    }

    #[test]
    fn metadata_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let meta = vec![
            ("venue".to_owned(), "binance-like".to_owned()),
            ("config_hash".to_owned(), "0123abcd".to_owned()),
        ];
        write_steps(&path, &sample(), &meta).unwrap();
        let read = read_metadata(&path).unwrap();
        let expected: Vec<(String, String)> = [
            (SCHEMA_METADATA_KEY, STEPS_SCHEMA_ID),
            ("config_hash", "0123abcd"),
            ("venue", "binance-like"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn mismatched_lengths_are_rejected() {
        let mut table = sample();
        table.funding_rate.pop();
        let err = table.validate_lengths().unwrap_err();
        match &err {
            DataError::LengthMismatch {
                path: None,
                column,
                expected: 4,
                found: 3,
                ..
            } => assert_eq!(column, "funding_rate"),
            other => panic!("unexpected error {other:?}"),
        }

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let err = write_steps(&path, &table, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::LengthMismatch { path: Some(_), .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("steps.parquet"), "{err}");
        assert!(!path.exists());
        assert!(sample().validate_lengths().is_ok());
    }

    #[test]
    fn non_finite_and_negative_values_are_rejected_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");

        let mut table = sample();
        table.mark[2] = f64::NAN;
        let err = write_steps(&path, &table, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 2, ref column, .. } if column == "mark"),
            "{err:?}"
        );

        let mut table = sample();
        table.funding_rate[1] = Some(f64::INFINITY);
        let err = write_steps(&path, &table, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 1, ref column, .. } if column == "funding_rate"),
            "{err:?}"
        );

        let mut table = sample();
        table.bad_debt[3] = -1.0;
        let err = write_steps(&path, &table, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 3, ref column, .. } if column == "bad_debt"),
            "{err:?}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn nan_in_foreign_file_is_rejected_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let mut table = sample();
        table.open_interest[1] = f64::NAN;
        let batch = table
            .to_batch(&path, &steps_schema(), 0..table.len())
            .unwrap();
        write_raw(&path, &batch);
        let err = read_steps(&path).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 1, ref column, .. } if column == "open_interest"),
            "{err:?}"
        );
    }

    #[test]
    fn timestamp_must_be_utc_nanoseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let table = sample();
        let batch = table
            .to_batch(&path, &steps_schema(), 0..table.len())
            .unwrap();
        let mut fields: Vec<Field> = steps_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = batch.columns().to_vec();

        // "+00:00" is UTC too.
        fields[1] = Field::new(
            "ts_ns",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into())),
            false,
        );
        columns[1] =
            Arc::new(TimestampNanosecondArray::from(table.ts_ns.clone()).with_timezone("+00:00"));
        let schema = Arc::new(Schema::new(fields.clone()));
        write_raw(
            &path,
            &RecordBatch::try_new(schema, columns.clone()).unwrap(),
        );
        assert_eq!(read_steps(&path).unwrap(), table);

        // A naive timestamp is not.
        fields[1] = Field::new(
            "ts_ns",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        );
        columns[1] = Arc::new(TimestampNanosecondArray::from(table.ts_ns.clone()));
        let schema = Arc::new(Schema::new(fields));
        write_raw(&path, &RecordBatch::try_new(schema, columns).unwrap());
        let err = read_steps(&path).unwrap_err();
        match &err {
            DataError::ColumnType {
                column,
                expected,
                found,
                ..
            } => {
                assert_eq!(column, "ts_ns");
                assert_eq!(expected, "Timestamp(ns, \"UTC\")");
                assert_eq!(found, "Timestamp(ns)");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn dictionary_market_is_accepted() {
        use arrow_array::DictionaryArray;
        use arrow_array::types::Int32Type;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let table = sample();
        let batch = table
            .to_batch(&path, &steps_schema(), 0..table.len())
            .unwrap();
        let mut fields: Vec<Field> = steps_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = batch.columns().to_vec();
        fields[2] = Field::new(
            "market",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        );
        let dict: DictionaryArray<Int32Type> = table.market.iter().map(String::as_str).collect();
        columns[2] = Arc::new(dict);
        let schema = Arc::new(Schema::new(fields));
        write_raw(&path, &RecordBatch::try_new(schema, columns).unwrap());
        assert_eq!(read_steps(&path).unwrap(), table);
    }

    #[test]
    fn missing_steps_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        let table = sample();
        let mut batch = table
            .to_batch(&path, &steps_schema(), 0..table.len())
            .unwrap();
        batch.remove_column(batch.schema().index_of("adl_count").unwrap());
        write_raw(&path, &batch);
        let err = read_steps(&path).unwrap_err();
        assert!(
            matches!(err, DataError::MissingColumn { ref column, ref expected_type, .. }
                if column == "adl_count" && expected_type == "UInt32"),
            "{err:?}"
        );
    }

    #[test]
    fn not_parquet_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.parquet");
        std::fs::write(&path, b"").unwrap();
        let err = read_steps(&path).unwrap_err();
        assert!(matches!(err, DataError::NotParquet { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let err = read_metadata(&path).unwrap_err();
        assert!(matches!(err, DataError::NotParquet { .. }), "{err:?}");
    }

    /// Rows `r` of `t`, as their own table.
    fn rows(t: &StepsTable, r: Range<usize>) -> StepsTable {
        StepsTable {
            step: t.step[r.clone()].to_vec(),
            ts_ns: t.ts_ns[r.clone()].to_vec(),
            market: t.market[r.clone()].to_vec(),
            mark: t.mark[r.clone()].to_vec(),
            insurance_fund: t.insurance_fund[r.clone()].to_vec(),
            bad_debt: t.bad_debt[r.clone()].to_vec(),
            socialized_loss: t.socialized_loss[r.clone()].to_vec(),
            insolvency: t.insolvency[r.clone()].to_vec(),
            adl_notional: t.adl_notional[r.clone()].to_vec(),
            adl_count: t.adl_count[r.clone()].to_vec(),
            liquidated_long_notional: t.liquidated_long_notional[r.clone()].to_vec(),
            liquidated_short_notional: t.liquidated_short_notional[r.clone()].to_vec(),
            liquidations: t.liquidations[r.clone()].to_vec(),
            open_interest: t.open_interest[r.clone()].to_vec(),
            funding_rate: t.funding_rate[r.clone()].to_vec(),
            margin_multiplier: t.margin_multiplier[r.clone()].to_vec(),
            liquidations_paused: t.liquidations_paused[r.clone()].to_vec(),
            path_price: t.path_price[r].to_vec(),
        }
    }

    #[test]
    fn chunked_writing_gives_the_same_bytes_and_names_file_rows() {
        let dir = tempfile::tempdir().unwrap();
        let one = sample();
        let mut t = StepsTable::default();
        let copies = MAX_ROW_GROUP_ROWS / one.len() + 300;
        for c in 0..copies {
            let mut part = rows(&one, 0..one.len());
            for s in &mut part.step {
                *s += 2 * c as u32;
            }
            for v in &mut part.mark {
                *v += c as f64;
            }
            macro_rules! append {
                ($($col:ident),*) => { $( t.$col.extend(part.$col); )* };
            }
            append!(
                step,
                ts_ns,
                market,
                mark,
                insurance_fund,
                bad_debt,
                socialized_loss,
                insolvency,
                adl_notional,
                adl_count,
                liquidated_long_notional,
                liquidated_short_notional,
                liquidations,
                open_interest,
                funding_rate,
                margin_multiplier,
                liquidations_paused,
                path_price
            );
        }
        let n = t.len();
        assert!(n > MAX_ROW_GROUP_ROWS);
        let meta = [("k".to_owned(), "v".to_owned())];
        let whole = dir.path().join("whole.parquet");
        let chunked = dir.path().join("chunked.parquet");
        write_steps(&whole, &t, &meta).unwrap();
        let mut asked = Vec::new();
        write_steps_chunked(&chunked, n, &meta, |r| {
            asked.push(r.clone());
            rows(&t, r)
        })
        .unwrap();
        assert_eq!(asked, [0..MAX_ROW_GROUP_ROWS, MAX_ROW_GROUP_ROWS..n]);
        assert_eq!(
            std::fs::read(&whole).unwrap(),
            std::fs::read(&chunked).unwrap()
        );
        assert_eq!(read_steps(&chunked).unwrap(), t);
        // An error in the second chunk names the file's row; nothing is left.
        t.mark[MAX_ROW_GROUP_ROWS + 3] = -1.0;
        let bad = dir.path().join("bad.parquet");
        let err = write_steps_chunked(&bad, n, &meta, |r| rows(&t, r)).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row, ref column, .. }
                if row == MAX_ROW_GROUP_ROWS + 3 && column == "mark"),
            "{err:?}"
        );
        assert!(!bad.exists());
    }
}
