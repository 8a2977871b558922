//! The across-path result files a run writes beside `steps.parquet`:
//!
//! - `paths.parquet` (`paths/v1`): one row per (parameter set, path), one
//!   column per per-path metric (MODEL.md §7), see [`PATH_METRICS`];
//! - `bands.parquet` (`bands/v1`): per-step quantile bands across paths, long
//!   format, one row per (step, market, series);
//! - `haircuts.parquet` (`haircuts/v1`): one row per account charged a
//!   socialized-loss haircut on a path.
//!
//! `paths/v1`:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `param_set` | `UInt32` | parameter-set index (0 without a sweep) |
//! | `path` | `UInt64` | path index |
//! | one per [`PATH_METRICS`] name | `Float64`, nullable | the metric; null = not applicable (e.g. `insurance_fund_first_depletion_step` of a path that never depleted) |
//!
//! `bands/v1`:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `step` | `UInt32` | step index |
//! | `ts` | `Timestamp(ns, "UTC")` | time of the step |
//! | `market` | `Utf8` | market key, `""` for venue-wide series |
//! | `series` | `Utf8` | what is measured, see [`BandSeries`] |
//! | `p1` … `p99`, `mean`, `min`, `max` | `Float64` | the statistic of the series at that step across paths |
//!
//! `haircuts/v1`: `param_set` `UInt32`, `path` `UInt64`, `account_id` `UInt64`,
//! `amount` `Float64` (USD, > 0).
//!
//! `sweep/v1` (`sweep.parquet` of `backstop sweep`): one row per parameter set,
//! in set order:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `param_set` | `UInt32` | parameter-set index |
//! | one per swept parameter, named by its key path (`liquidation.fee`) | `Float64` | the parameter's value in the set; these are exactly the columns between `param_set` and `paths`, in sweep order |
//! | `paths` | `UInt64` | paths run for the set |
//! | `depletion_count`, `depletion_probability`, `depletion_ci95_lower`, `depletion_ci95_upper` | `UInt64`, `Float64` ×3 | paths on which the insurance fund was depleted, their share, and its exact 95% Clopper–Pearson interval |
//! | `socialized_…`, `adl_…` | as `depletion_…` | any socialized loss; any ADL |
//! | `insurance_fund_loss_var_95`, `…_es_95`, `…_var_99`, `…_es_99` | `Float64` | VaR and expected shortfall of the insurance-fund loss, USD |
//! | `cover_1`, `cover_2` | `Float64` | largest deficit of one account, of two accounts, on any path, USD |
//! | `bad_debt_p50`, `bad_debt_p99` | `Float64` | median and 99th percentile of bad debt across paths, USD |
//! | `meets_target` | `Boolean`, nullable | the set meets `[sweep.target]`; null without a target |
//!
//! Every float must be finite. Writers are deterministic and atomic; readers
//! accept extra columns and name the file, row and column of any bad value.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::DataError;
use crate::parquet_io::{
    Column, ColumnKind, ColumnSpec, MAX_ROW_GROUP_ROWS, RequiredColumn, arrow_err, batches,
    check_finite, open_projected, write_parquet,
};

/// `backstop.schema` of `paths.parquet`.
pub const PATHS_SCHEMA_ID: &str = "paths/v1";
/// `backstop.schema` of `bands.parquet`.
pub const BANDS_SCHEMA_ID: &str = "bands/v1";
/// `backstop.schema` of `haircuts.parquet`.
pub const HAIRCUTS_SCHEMA_ID: &str = "haircuts/v1";
/// `backstop.schema` of `sweep.parquet`.
pub const SWEEP_SCHEMA_ID: &str = "sweep/v1";

/// The per-path metric columns of `paths/v1`, in file order. Money in USD,
/// steps as step indices, counts as whole numbers.
pub const PATH_METRICS: [&str; 34] = [
    "steps",
    "insurance_fund_initial",
    "insurance_fund_min",
    "insurance_fund_final",
    "insurance_fund_max_drawdown",
    "insurance_fund_max_drawdown_pct",
    "insurance_fund_loss",
    "insurance_fund_min_step",
    "insurance_fund_first_depletion_step",
    "insurance_fund_payouts",
    "insurance_fund_fee_income",
    "bad_debt",
    "socialized_loss",
    "accounts_haircut",
    "max_haircut",
    "insolvency",
    "adl_events",
    "adl_notional",
    "adl_excess_notional",
    "adl_cost",
    "adl_accounts_hit",
    "liquidations",
    "liquidated_notional",
    "accounts_liquidated",
    "liquidator_fees",
    "largest_deficit",
    "second_largest_deficit",
    "breaker_trips",
    "breaker_steps_paused",
    "margin_multiplier_max",
    "oracle_sources_dropped",
    "oracle_stale_ignored",
    "collateral_converted",
    "collateral_conversions",
];

/// One row per (parameter set, path); `metrics[k]` is the column named
/// `PATH_METRICS[k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathsTable {
    /// Parameter-set index.
    pub param_set: Vec<u32>,
    /// Path index.
    pub path: Vec<u64>,
    /// One column per [`PATH_METRICS`] entry, in that order.
    pub metrics: Vec<Vec<Option<f64>>>,
}

impl Default for PathsTable {
    fn default() -> Self {
        Self {
            param_set: Vec::new(),
            path: Vec::new(),
            metrics: vec![Vec::new(); PATH_METRICS.len()],
        }
    }
}

impl PathsTable {
    /// Appends one row; `values` in [`PATH_METRICS`] order.
    pub fn push(&mut self, param_set: u32, path: u64, values: &[Option<f64>; PATH_METRICS.len()]) {
        self.param_set.push(param_set);
        self.path.push(path);
        for (column, value) in self.metrics.iter_mut().zip(values) {
            column.push(*value);
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.path.len()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.path.is_empty()
    }

    /// The column of metric `name`, if it is one of [`PATH_METRICS`].
    #[must_use]
    pub fn metric(&self, name: &str) -> Option<&[Option<f64>]> {
        let k = PATH_METRICS.iter().position(|m| *m == name)?;
        self.metrics.get(k).map(Vec::as_slice)
    }

    fn check(&self, path: &Path) -> Result<(), DataError> {
        let n = self.len();
        let mut lengths = vec![("param_set", self.param_set.len())];
        if self.metrics.len() != PATH_METRICS.len() {
            return Err(DataError::LengthMismatch {
                path: Some(path.to_owned()),
                column: "metrics".to_owned(),
                expected: PATH_METRICS.len(),
                found: self.metrics.len(),
            });
        }
        lengths.extend(
            PATH_METRICS
                .iter()
                .zip(&self.metrics)
                .map(|(n, c)| (*n, c.len())),
        );
        check_lengths(path, n, &lengths)?;
        for (name, column) in PATH_METRICS.iter().zip(&self.metrics) {
            for (row, value) in column.iter().enumerate() {
                if let Some(v) = value {
                    check_finite(*v).map_err(|r| DataError::invalid(path, row, name, r))?;
                }
            }
        }
        Ok(())
    }
}

const fn spec(name: &'static str, kind: ColumnKind) -> ColumnSpec {
    ColumnSpec { name, kind }
}
const PARAM_SET: ColumnSpec = spec("param_set", ColumnKind::U32);
const PATH: ColumnSpec = spec("path", ColumnKind::U64);

fn check_lengths(path: &Path, expected: usize, lengths: &[(&str, usize)]) -> Result<(), DataError> {
    match lengths.iter().find(|(_, found)| *found != expected) {
        None => Ok(()),
        Some((column, found)) => Err(DataError::LengthMismatch {
            path: Some(path.to_owned()),
            column: (*column).to_owned(),
            expected,
            found: *found,
        }),
    }
}

fn paths_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new(PARAM_SET.name, DataType::UInt32, false),
        Field::new(PATH.name, DataType::UInt64, false),
    ];
    fields.extend(
        PATH_METRICS
            .iter()
            .map(|name| Field::new(*name, DataType::Float64, true)),
    );
    Arc::new(Schema::new(fields))
}

/// Writes `table` atomically as `paths/v1`.
///
/// # Errors
/// Columns of different lengths or non-finite values (before anything is
/// written), bad metadata, and I/O or encoding errors.
pub fn write_paths(
    path: &Path,
    table: &PathsTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    table.check(path)?;
    let schema = paths_schema();
    let len = table.len();
    let batches = (0..len.max(1)).step_by(MAX_ROW_GROUP_ROWS).map(|start| {
        let range = start..(start + MAX_ROW_GROUP_ROWS).min(len);
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(
                table.param_set[range.clone()].iter().copied(),
            )),
            Arc::new(UInt64Array::from_iter_values(
                table.path[range.clone()].iter().copied(),
            )),
        ];
        columns.extend(table.metrics.iter().map(|c| {
            Arc::new(c[range.clone()].iter().copied().collect::<Float64Array>()) as ArrayRef
        }));
        RecordBatch::try_new(Arc::clone(&schema), columns)
            .map_err(arrow_err(path, "failed to build record batch"))
    });
    write_parquet(path, &schema, PATHS_SCHEMA_ID, metadata, batches)
}

/// Reads a `paths/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a non-finite value (naming row and column).
pub fn read_paths(path: &Path) -> Result<PathsTable, DataError> {
    let mut specs = vec![PARAM_SET, PATH];
    specs.extend(PATH_METRICS.iter().map(|n| spec(n, ColumnKind::F64)));
    let reader = open_projected(path, PATHS_SCHEMA_ID, &specs)?;
    let mut t = PathsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        Column::new(path, &batch, PARAM_SET, offset)?.push_u32(&mut t.param_set)?;
        Column::new(path, &batch, PATH, offset)?.push_u64(&mut t.path)?;
        for (name, column) in PATH_METRICS.iter().zip(&mut t.metrics) {
            Column::new(path, &batch, spec(name, ColumnKind::F64), offset)?.push_opt_f64(column)?;
        }
    }
    t.check(path)?;
    Ok(t)
}

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
}

impl BandSeries {
    /// Every series, venue-wide ones first.
    pub const ALL: [BandSeries; 7] = [
        BandSeries::InsuranceFund,
        BandSeries::BadDebt,
        BandSeries::SocializedLoss,
        BandSeries::Mark,
        BandSeries::LiquidatedLongNotional,
        BandSeries::LiquidatedShortNotional,
        BandSeries::AdlNotional,
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
        check_lengths(path, self.len(), &lengths)?;
        for (name, column) in floats {
            for (row, v) in column.iter().enumerate() {
                check_finite(*v).map_err(|r| DataError::invalid(path, row, name, r))?;
            }
        }
        for (row, s) in self.series.iter().enumerate() {
            if s.is_empty() {
                return Err(DataError::invalid(path, row, "series", "must not be empty"));
            }
        }
        Ok(())
    }
}

const STEP: ColumnSpec = spec("step", ColumnKind::U32);
const TS: ColumnSpec = spec("ts", ColumnKind::TimestampNsUtc);
const MARKET: ColumnSpec = spec("market", ColumnKind::Str);
const SERIES: ColumnSpec = spec("series", ColumnKind::Str);
const BAND_FLOATS: [&str; 10] = [
    "p1", "p5", "p25", "p50", "p75", "p95", "p99", "mean", "min", "max",
];

fn bands_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new(STEP.name, DataType::UInt32, false),
        Field::new(
            TS.name,
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new(MARKET.name, DataType::Utf8, false),
        Field::new(SERIES.name, DataType::Utf8, false),
    ];
    fields.extend(
        BAND_FLOATS
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, false)),
    );
    Arc::new(Schema::new(fields))
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
                    .with_timezone("UTC"),
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
    let mut specs = vec![STEP, TS, MARKET, SERIES];
    specs.extend(BAND_FLOATS.iter().map(|n| spec(n, ColumnKind::F64)));
    let reader = open_projected(path, BANDS_SCHEMA_ID, &specs)?;
    let mut t = BandsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |s| Column::new(path, &batch, s, offset);
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
            column(spec(name, ColumnKind::F64))?.push_f64(out)?;
        }
    }
    t.check(path)?;
    Ok(t)
}

/// Socialized-loss haircuts, one row per (parameter set, path, account).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HaircutsTable {
    /// Parameter-set index.
    pub param_set: Vec<u32>,
    /// Path index.
    pub path: Vec<u64>,
    /// Account charged.
    pub account_id: Vec<u64>,
    /// Amount charged on the path, USD.
    pub amount: Vec<f64>,
}

impl HaircutsTable {
    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.path.len()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.path.is_empty()
    }

    fn check(&self, path: &Path) -> Result<(), DataError> {
        check_lengths(
            path,
            self.len(),
            &[
                ("param_set", self.param_set.len()),
                ("account_id", self.account_id.len()),
                ("amount", self.amount.len()),
            ],
        )?;
        for (row, a) in self.amount.iter().enumerate() {
            if !(a.is_finite() && *a > 0.0) {
                return Err(DataError::invalid(
                    path,
                    row,
                    "amount",
                    format!("must be finite and > 0, got {a}"),
                ));
            }
        }
        Ok(())
    }
}

const ACCOUNT_ID: ColumnSpec = spec("account_id", ColumnKind::U64);
const AMOUNT: ColumnSpec = spec("amount", ColumnKind::F64);

/// Writes `table` atomically as `haircuts/v1`.
///
/// # Errors
/// Columns of different lengths or an amount that is not finite and positive
/// (before anything is written), bad metadata, and I/O or encoding errors.
pub fn write_haircuts(
    path: &Path,
    table: &HaircutsTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    table.check(path)?;
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new(PARAM_SET.name, DataType::UInt32, false),
        Field::new(PATH.name, DataType::UInt64, false),
        Field::new(ACCOUNT_ID.name, DataType::UInt64, false),
        Field::new(AMOUNT.name, DataType::Float64, false),
    ]));
    let len = table.len();
    let batches = (0..len.max(1)).step_by(MAX_ROW_GROUP_ROWS).map(|start| {
        let r = start..(start + MAX_ROW_GROUP_ROWS).min(len);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(
                table.param_set[r.clone()].iter().copied(),
            )),
            Arc::new(UInt64Array::from_iter_values(
                table.path[r.clone()].iter().copied(),
            )),
            Arc::new(UInt64Array::from_iter_values(
                table.account_id[r.clone()].iter().copied(),
            )),
            Arc::new(Float64Array::from_iter_values(
                table.amount[r.clone()].iter().copied(),
            )),
        ];
        RecordBatch::try_new(Arc::clone(&schema), columns)
            .map_err(arrow_err(path, "failed to build record batch"))
    });
    write_parquet(path, &schema, HAIRCUTS_SCHEMA_ID, metadata, batches)
}

/// Reads a `haircuts/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a bad amount (naming the row).
pub fn read_haircuts(path: &Path) -> Result<HaircutsTable, DataError> {
    let reader = open_projected(
        path,
        HAIRCUTS_SCHEMA_ID,
        &[PARAM_SET, PATH, ACCOUNT_ID, AMOUNT],
    )?;
    let mut t = HaircutsTable::default();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |s| Column::new(path, &batch, s, offset);
        column(PARAM_SET)?.push_u32(&mut t.param_set)?;
        column(PATH)?.push_u64(&mut t.path)?;
        column(ACCOUNT_ID)?.push_u64(&mut t.account_id)?;
        column(AMOUNT)?.push_f64(&mut t.amount)?;
    }
    t.check(path)?;
    Ok(t)
}

/// A probability across paths with its 95% interval (one `sweep/v1` group).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SweepProbability {
    /// Paths on which it happened.
    pub count: u64,
    /// `count / paths`.
    pub probability: f64,
    /// Lower end of the 95% Clopper–Pearson interval.
    pub ci95_lower: f64,
    /// Upper end of the 95% Clopper–Pearson interval.
    pub ci95_upper: f64,
}

/// One parameter set of a sweep (a `sweep/v1` row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepRow {
    /// Parameter-set index.
    pub param_set: u32,
    /// The swept parameters' values, in [`SweepTable::parameters`] order.
    pub values: Vec<f64>,
    /// Paths run.
    pub paths: u64,
    /// Insurance-fund depletion.
    pub depletion: SweepProbability,
    /// Any socialized loss.
    pub socialized: SweepProbability,
    /// Any ADL.
    pub adl: SweepProbability,
    /// VaR 95% of the insurance-fund loss, USD.
    pub insurance_fund_loss_var_95: f64,
    /// Expected shortfall 95% of the insurance-fund loss, USD.
    pub insurance_fund_loss_es_95: f64,
    /// VaR 99% of the insurance-fund loss, USD.
    pub insurance_fund_loss_var_99: f64,
    /// Expected shortfall 99% of the insurance-fund loss, USD.
    pub insurance_fund_loss_es_99: f64,
    /// Cover-1, USD.
    pub cover_1: f64,
    /// Cover-2, USD.
    pub cover_2: f64,
    /// Median bad debt, USD.
    pub bad_debt_p50: f64,
    /// 99th percentile of bad debt, USD.
    pub bad_debt_p99: f64,
    /// Whether the set meets the sweep's target; `None` without a target.
    pub meets_target: Option<bool>,
}

/// The `sweep/v1` table: the swept parameters' names and one row per set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepTable {
    /// Key paths of the swept parameters, in sweep order (the column names).
    pub parameters: Vec<String>,
    /// One row per parameter set, in set order.
    pub rows: Vec<SweepRow>,
}

const SWEEP_GROUPS: [&str; 3] = ["depletion", "socialized", "adl"];
const SWEEP_TAIL: [&str; 8] = [
    "insurance_fund_loss_var_95",
    "insurance_fund_loss_es_95",
    "insurance_fund_loss_var_99",
    "insurance_fund_loss_es_99",
    "cover_1",
    "cover_2",
    "bad_debt_p50",
    "bad_debt_p99",
];
const SWEEP_PATHS: &str = "paths";
const SWEEP_MEETS: &str = "meets_target";

impl SweepRow {
    fn groups(&self) -> [&SweepProbability; 3] {
        [&self.depletion, &self.socialized, &self.adl]
    }
    fn groups_mut(&mut self) -> [&mut SweepProbability; 3] {
        [&mut self.depletion, &mut self.socialized, &mut self.adl]
    }
    fn tail(&self) -> [f64; 8] {
        [
            self.insurance_fund_loss_var_95,
            self.insurance_fund_loss_es_95,
            self.insurance_fund_loss_var_99,
            self.insurance_fund_loss_es_99,
            self.cover_1,
            self.cover_2,
            self.bad_debt_p50,
            self.bad_debt_p99,
        ]
    }
    fn tail_mut(&mut self) -> [&mut f64; 8] {
        [
            &mut self.insurance_fund_loss_var_95,
            &mut self.insurance_fund_loss_es_95,
            &mut self.insurance_fund_loss_var_99,
            &mut self.insurance_fund_loss_es_99,
            &mut self.cover_1,
            &mut self.cover_2,
            &mut self.bad_debt_p50,
            &mut self.bad_debt_p99,
        ]
    }
}

impl SweepTable {
    fn check(&self, path: &Path) -> Result<(), DataError> {
        let fixed = ["param_set", SWEEP_PATHS, SWEEP_MEETS];
        for (k, name) in self.parameters.iter().enumerate() {
            if name.is_empty()
                || fixed.contains(&name.as_str())
                || self.parameters[..k].contains(name)
                || SWEEP_TAIL.contains(&name.as_str())
                || SWEEP_GROUPS
                    .iter()
                    .any(|g| name.starts_with(&format!("{g}_")))
            {
                return Err(DataError::InvalidInput {
                    what: "sweep parameter name",
                    reason: format!("`{name}` is empty, repeated or a reserved column name"),
                });
            }
        }
        for (row, r) in self.rows.iter().enumerate() {
            if r.values.len() != self.parameters.len() {
                return Err(DataError::LengthMismatch {
                    path: Some(path.to_owned()),
                    column: "parameter values".to_owned(),
                    expected: self.parameters.len(),
                    found: r.values.len(),
                });
            }
            let floats = r
                .values
                .iter()
                .zip(&self.parameters)
                .map(|(v, n)| (*v, n.clone()));
            let groups = r.groups().into_iter().zip(SWEEP_GROUPS).flat_map(|(g, n)| {
                [
                    (g.probability, format!("{n}_probability")),
                    (g.ci95_lower, format!("{n}_ci95_lower")),
                    (g.ci95_upper, format!("{n}_ci95_upper")),
                ]
            });
            let tail = r
                .tail()
                .into_iter()
                .zip(SWEEP_TAIL)
                .map(|(v, n)| (v, n.to_owned()));
            for (v, name) in floats.chain(groups).chain(tail) {
                check_finite(v).map_err(|reason| DataError::invalid(path, row, &name, reason))?;
            }
        }
        Ok(())
    }

    fn column_names(&self) -> Vec<String> {
        let mut names = vec!["param_set".to_owned()];
        names.extend(self.parameters.iter().cloned());
        names.push(SWEEP_PATHS.to_owned());
        for g in SWEEP_GROUPS {
            for suffix in ["count", "probability", "ci95_lower", "ci95_upper"] {
                names.push(format!("{g}_{suffix}"));
            }
        }
        names.extend(SWEEP_TAIL.iter().map(|n| (*n).to_owned()));
        names.push(SWEEP_MEETS.to_owned());
        names
    }
}

/// Writes `table` atomically as `sweep/v1`.
///
/// # Errors
/// A reserved or repeated parameter name, rows of the wrong width or non-finite
/// values (before anything is written), bad metadata, and I/O or encoding
/// errors.
pub fn write_sweep(
    path: &Path,
    table: &SweepTable,
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    table.check(path)?;
    let names = table.column_names();
    let mut fields = Vec::with_capacity(names.len());
    let p = table.parameters.len();
    for (i, name) in names.iter().enumerate() {
        let ty = match i {
            0 => DataType::UInt32,
            i if i <= p => DataType::Float64,
            i if i == p + 1 => DataType::UInt64,
            i if i == names.len() - 1 => DataType::Boolean,
            i if (i - p - 2) < 12 && (i - p - 2).is_multiple_of(4) => DataType::UInt64,
            _ => DataType::Float64,
        };
        fields.push(Field::new(name, ty, i == names.len() - 1));
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let rows = &table.rows;
    let f64_col = |f: &dyn Fn(&SweepRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
    };
    let u64_col = |f: &dyn Fn(&SweepRow) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(f)))
    };
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from_iter_values(
        rows.iter().map(|r| r.param_set),
    ))];
    for k in 0..p {
        columns.push(f64_col(&|r| r.values.get(k).copied().unwrap_or(f64::NAN)));
    }
    columns.push(u64_col(&|r| r.paths));
    for g in 0..3 {
        columns.push(u64_col(&|r| r.groups()[g].count));
        columns.push(f64_col(&|r| r.groups()[g].probability));
        columns.push(f64_col(&|r| r.groups()[g].ci95_lower));
        columns.push(f64_col(&|r| r.groups()[g].ci95_upper));
    }
    for k in 0..SWEEP_TAIL.len() {
        columns.push(f64_col(&|r| r.tail()[k]));
    }
    columns.push(Arc::new(
        rows.iter()
            .map(|r| r.meets_target)
            .collect::<arrow_array::BooleanArray>(),
    ));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
        .map_err(arrow_err(path, "failed to build record batch"));
    write_parquet(path, &schema, SWEEP_SCHEMA_ID, metadata, [batch])
}

/// Reads a `sweep/v1` file; the parameters are the columns between `param_set`
/// and `paths`.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a bad value (naming row and column).
pub fn read_sweep(path: &Path) -> Result<SweepTable, DataError> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let file = std::fs::File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|source| DataError::NotParquet {
            path: path.to_owned(),
            source,
        })?;
    crate::metadata::check_schema_id(
        path,
        builder.metadata().file_metadata().key_value_metadata(),
        SWEEP_SCHEMA_ID,
    )?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let end =
        names
            .iter()
            .position(|n| n == SWEEP_PATHS)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.to_owned(),
                column: SWEEP_PATHS.to_owned(),
                expected_type: "UInt64".to_owned(),
            })?;
    if names.first().map(String::as_str) != Some("param_set") {
        return Err(DataError::MissingColumn {
            path: path.to_owned(),
            column: "param_set".to_owned(),
            expected_type: "UInt32 (the first column)".to_owned(),
        });
    }
    let parameters: Vec<String> = names[1..end].to_vec();
    let reader = builder.build().map_err(|source| DataError::Parquet {
        path: path.to_owned(),
        action: "failed to set up Parquet reader",
        source,
    })?;
    let mut t = SweepTable {
        parameters: parameters.clone(),
        rows: Vec::new(),
    };
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let n = batch.num_rows();
        let mut fresh = vec![SweepRow::default(); n];
        let mut sets = Vec::new();
        Column::new(path, &batch, PARAM_SET, offset)?.push_u32(&mut sets)?;
        let mut paths = Vec::new();
        Column::new(path, &batch, spec(SWEEP_PATHS, ColumnKind::U64), offset)?
            .push_u64(&mut paths)?;
        for (k, name) in parameters.iter().enumerate() {
            let array = batch.column(k + 1);
            let values =
                array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| DataError::ColumnType {
                        path: path.to_owned(),
                        column: name.clone(),
                        expected: "Float64".to_owned(),
                        found: array.data_type().to_string(),
                    })?;
            if let Some(i) = (0..values.len()).find(|&i| values.is_null(i)) {
                return Err(DataError::NullValue {
                    path: path.to_owned(),
                    column: name.clone(),
                    row: offset + i,
                });
            }
            for (row, v) in fresh.iter_mut().zip(values.values().iter()) {
                row.values.push(*v);
            }
        }
        const GROUP_COLUMNS: [[&str; 4]; 3] = [
            [
                "depletion_count",
                "depletion_probability",
                "depletion_ci95_lower",
                "depletion_ci95_upper",
            ],
            [
                "socialized_count",
                "socialized_probability",
                "socialized_ci95_lower",
                "socialized_ci95_upper",
            ],
            [
                "adl_count",
                "adl_probability",
                "adl_ci95_lower",
                "adl_ci95_upper",
            ],
        ];
        let mut groups: Vec<[Vec<f64>; 3]> = Vec::new();
        let mut counts: Vec<Vec<u64>> = Vec::new();
        for [count, prob, lo, hi] in GROUP_COLUMNS {
            let mut c = Vec::new();
            Column::new(path, &batch, spec(count, ColumnKind::U64), offset)?.push_u64(&mut c)?;
            counts.push(c);
            let mut g: [Vec<f64>; 3] = Default::default();
            for (name, out) in [prob, lo, hi].into_iter().zip(g.iter_mut()) {
                Column::new(path, &batch, spec(name, ColumnKind::F64), offset)?.push_f64(out)?;
            }
            groups.push(g);
        }
        let mut tail: Vec<Vec<f64>> = Vec::new();
        for name in SWEEP_TAIL {
            let mut c = Vec::new();
            Column::new(path, &batch, spec(name, ColumnKind::F64), offset)?.push_f64(&mut c)?;
            tail.push(c);
        }
        let meets_spec = spec(SWEEP_MEETS, ColumnKind::Bool);
        let meets_array = batch
            .column_by_name(SWEEP_MEETS)
            .ok_or_else(|| meets_spec.missing(path))?;
        let meets: Vec<Option<bool>> = meets_array
            .as_boolean_opt()
            .ok_or_else(|| meets_spec.wrong_type(path, meets_array.data_type()))?
            .iter()
            .collect();
        for (i, row) in fresh.iter_mut().enumerate() {
            row.param_set = sets.get(i).copied().unwrap_or_default();
            row.paths = paths.get(i).copied().unwrap_or_default();
            for (g, out) in row.groups_mut().into_iter().enumerate() {
                out.count = counts[g].get(i).copied().unwrap_or_default();
                out.probability = groups[g][0].get(i).copied().unwrap_or(f64::NAN);
                out.ci95_lower = groups[g][1].get(i).copied().unwrap_or(f64::NAN);
                out.ci95_upper = groups[g][2].get(i).copied().unwrap_or(f64::NAN);
            }
            for (k, out) in row.tail_mut().into_iter().enumerate() {
                *out = tail[k].get(i).copied().unwrap_or(f64::NAN);
            }
            row.meets_target = meets.get(i).copied().flatten();
        }
        t.rows.extend(fresh);
    }
    t.check(path)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_with_nulls_and_reject_nan() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paths.parquet");
        let mut t = PathsTable::default();
        for i in 0..3u64 {
            let mut row = [Some(1.5); PATH_METRICS.len()];
            row[0] = Some(i as f64);
            row[8] = if i == 1 { None } else { Some(7.0) };
            t.push(0, i, &row);
        }
        write_paths(&file, &t, &[]).unwrap();
        let back = read_paths(&file).unwrap();
        assert_eq!(back, t);
        assert_eq!(
            back.metric("insurance_fund_first_depletion_step").unwrap()[1],
            None
        );
        t.metrics[3][2] = Some(f64::NAN);
        let other = dir.path().join("bad.parquet");
        let err = write_paths(&other, &t, &[]).unwrap_err().to_string();
        assert!(err.contains("insurance_fund_final"), "{err}");
        assert!(!other.exists());
    }

    #[test]
    fn bands_and_haircuts_round_trip() {
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

        let h = HaircutsTable {
            param_set: vec![0, 0],
            path: vec![0, 3],
            account_id: vec![17, 4],
            amount: vec![12.5, 0.25],
        };
        let f = dir.path().join("haircuts.parquet");
        write_haircuts(&f, &h, &[]).unwrap();
        assert_eq!(read_haircuts(&f).unwrap(), h);

        let sw = SweepTable {
            parameters: vec!["liquidation.fee".into(), "market.btc.tiers[0].mmr".into()],
            rows: (0..3u32)
                .map(|i| SweepRow {
                    param_set: i,
                    values: vec![0.001 * f64::from(i), 0.004],
                    paths: 6,
                    depletion: SweepProbability {
                        count: 1,
                        probability: 1.0 / 6.0,
                        ci95_lower: 0.01,
                        ci95_upper: 0.6,
                    },
                    meets_target: (i > 0).then_some(i == 2),
                    bad_debt_p99: 5.0,
                    ..SweepRow::default()
                })
                .collect(),
        };
        let f = dir.path().join("sweep.parquet");
        write_sweep(&f, &sw, &[]).unwrap();
        assert_eq!(read_sweep(&f).unwrap(), sw);
        // Reading one schema as another names the mismatch.
        let err = read_paths(&f).unwrap_err().to_string();
        assert!(
            err.contains("haircuts/v1") || err.contains("paths/v1"),
            "{err}"
        );
    }
}
