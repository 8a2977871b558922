//! `sweep.parquet` (`sweep/v1`, written by `backstop sweep`): one row per
//! parameter set, in set order.
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
//! Every float must be finite. The writer is deterministic and atomic; the
//! reader names the file, row and column of any bad value.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::paths::PARAM_SET;
use crate::error::DataError;
use crate::metadata::check_schema_id;
use crate::parquet_io::{BatchColumn, arrow_err, batches, write_parquet};
use crate::results::batches::TableBatches;
use crate::rules::finite;
use crate::schema::{Column, ColumnType};

/// `backstop.schema` of `sweep.parquet`.
pub const SWEEP_SCHEMA_ID: &str = "sweep/v1";

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
        let fixed = [PARAM_SET.name, SWEEP_PATHS, SWEEP_MEETS];
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
                    column: format!("values of row {row}"),
                    reference: "the list of swept parameters".to_owned(),
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
                finite(v).map_err(|broken| broken.at(path, row, &name))?;
            }
        }
        Ok(())
    }

    /// The column names, in file order.
    fn column_names(&self) -> Vec<String> {
        let mut names = vec![PARAM_SET.name.to_owned()];
        names.extend(self.parameters.iter().cloned());
        names.push(SWEEP_PATHS.to_owned());
        for g in SWEEP_GROUPS {
            for suffix in GROUP_SUFFIXES {
                names.push(format!("{g}_{suffix}"));
            }
        }
        names.extend(SWEEP_TAIL.iter().map(|n| (*n).to_owned()));
        names.push(SWEEP_MEETS.to_owned());
        names
    }

    /// The Arrow schema written: the columns of [`Self::column_names`] with
    /// their types; only `meets_target` is nullable.
    fn schema(&self) -> SchemaRef {
        let names = self.column_names();
        let p = self.parameters.len();
        let last = names.len() - 1;
        let fields: Vec<Field> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let ty = match i {
                    0 => DataType::UInt32,
                    i if i <= p => DataType::Float64,
                    i if i == p + 1 => DataType::UInt64,
                    i if i == last => DataType::Boolean,
                    // The first of each group's four columns is its count.
                    i if (i - p - 2) < 4 * SWEEP_GROUPS.len()
                        && (i - p - 2).is_multiple_of(GROUP_SUFFIXES.len()) =>
                    {
                        DataType::UInt64
                    }
                    _ => DataType::Float64,
                };
                Field::new(name, ty, i == last)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The arrays of every column, in file order.
    fn arrays(&self) -> Vec<ArrayRef> {
        let rows = &self.rows;
        let f64_col = |f: &dyn Fn(&SweepRow) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
        };
        let u64_col = |f: &dyn Fn(&SweepRow) -> u64| -> ArrayRef {
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(f)))
        };
        let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.param_set),
        ))];
        for k in 0..self.parameters.len() {
            columns.push(f64_col(&|r| r.values.get(k).copied().unwrap_or(f64::NAN)));
        }
        columns.push(u64_col(&|r| r.paths));
        for g in 0..SWEEP_GROUPS.len() {
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
                .collect::<BooleanArray>(),
        ));
        columns
    }
}

/// The suffixes of a group's four columns (`depletion_count`, ...).
const GROUP_SUFFIXES: [&str; 4] = ["count", "probability", "ci95_lower", "ci95_upper"];

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
    let (schema, batch) = table_batch(path, table)?;
    write_parquet(path, &schema, SWEEP_SCHEMA_ID, metadata, [batch])
}

/// Checks `table`, then builds its one batch (a sweep has few rows: one row
/// group).
fn table_batch(
    path: &Path,
    table: &SweepTable,
) -> Result<(SchemaRef, Result<RecordBatch, DataError>), DataError> {
    table.check(path)?;
    let schema = table.schema();
    let batch = RecordBatch::try_new(Arc::clone(&schema), table.arrays())
        .map_err(arrow_err(path, "failed to build record batch"));
    Ok((schema, batch))
}

/// The record batch [`write_sweep`] writes to `path`, in memory, with the
/// file's metadata on its schema.
///
/// # Errors
/// As [`write_sweep`], but nothing is written.
pub fn sweep_batches(
    path: &Path,
    table: &SweepTable,
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let (schema, batch) = table_batch(path, table)?;
    TableBatches::collect(path, &schema, SWEEP_SCHEMA_ID, metadata, [batch])
}

/// Reads a `sweep/v1` file; the parameters are the columns between `param_set`
/// and `paths`.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column (named),
/// or a bad value (naming row and column).
pub fn read_sweep(path: &Path) -> Result<SweepTable, DataError> {
    let (parameters, reader) = open_sweep(path)?;
    let mut t = SweepTable {
        parameters,
        rows: Vec::new(),
    };
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let rows = read_rows(path, &batch, offset, &t.parameters)?;
        t.rows.extend(rows);
    }
    t.check(path)?;
    Ok(t)
}

/// Opens a `sweep/v1` file: checks its schema tag and finds the parameter
/// columns (between `param_set` and `paths`).
fn open_sweep(path: &Path) -> Result<(Vec<String>, ParquetRecordBatchReader), DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open file for reading", source))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| DataError::NotParquet {
            path: path.to_owned(),
            source,
        })?;
    crate::parquet_io::check_chunk_ranges(path, builder.metadata())?;
    check_schema_id(
        path,
        builder.metadata().file_metadata().key_value_metadata(),
        SWEEP_SCHEMA_ID,
    )?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let end =
        names
            .iter()
            .position(|n| n == SWEEP_PATHS)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.to_owned(),
                column: SWEEP_PATHS.to_owned(),
                expected_type: "UInt64".to_owned(),
            })?;
    if names.first().map(String::as_str) != Some(PARAM_SET.name) {
        return Err(DataError::MissingColumn {
            path: path.to_owned(),
            column: PARAM_SET.name.to_owned(),
            expected_type: "UInt32 (the first column)".to_owned(),
        });
    }
    let parameters = names[1..end].to_vec();
    let reader = builder.build().map_err(|source| DataError::Parquet {
        path: path.to_owned(),
        action: "failed to set up Parquet reader",
        source,
    })?;
    Ok((parameters, reader))
}

/// The columns of each group, in file order: count, probability, ci95 lower
/// and upper.
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

/// The typed columns of one batch of a `sweep/v1` file.
struct SweepColumns {
    sets: Vec<u32>,
    paths: Vec<u64>,
    /// One column per parameter.
    values: Vec<Vec<f64>>,
    /// Per group, its counts.
    counts: Vec<Vec<u64>>,
    /// Per group, its probability, ci95 lower and ci95 upper.
    groups: Vec<[Vec<f64>; 3]>,
    /// One column per [`SWEEP_TAIL`] name.
    tail: Vec<Vec<f64>>,
    meets: Vec<Option<bool>>,
}

/// Decodes the rows of one batch.
fn read_rows(
    path: &Path,
    batch: &RecordBatch,
    offset: usize,
    parameters: &[String],
) -> Result<Vec<SweepRow>, DataError> {
    let c = SweepColumns::read(path, batch, offset, parameters)?;
    let rows = (0..batch.num_rows())
        .map(|i| {
            let mut row = SweepRow {
                param_set: c.sets.get(i).copied().unwrap_or_default(),
                values: c.values.iter().filter_map(|v| v.get(i).copied()).collect(),
                paths: c.paths.get(i).copied().unwrap_or_default(),
                meets_target: c.meets.get(i).copied().flatten(),
                ..SweepRow::default()
            };
            for (g, out) in row.groups_mut().into_iter().enumerate() {
                out.count = c.counts[g].get(i).copied().unwrap_or_default();
                out.probability = c.groups[g][0].get(i).copied().unwrap_or(f64::NAN);
                out.ci95_lower = c.groups[g][1].get(i).copied().unwrap_or(f64::NAN);
                out.ci95_upper = c.groups[g][2].get(i).copied().unwrap_or(f64::NAN);
            }
            for (k, out) in row.tail_mut().into_iter().enumerate() {
                *out = c.tail[k].get(i).copied().unwrap_or(f64::NAN);
            }
            row
        })
        .collect();
    Ok(rows)
}

impl SweepColumns {
    /// Reads and type-checks every column of `batch`, in the order errors are
    /// reported: `param_set`, `paths`, the parameters, the groups, the tail,
    /// `meets_target`.
    fn read(
        path: &Path,
        batch: &RecordBatch,
        offset: usize,
        parameters: &[String],
    ) -> Result<Self, DataError> {
        let column = |c: Column| BatchColumn::new(path, batch, c, offset);
        let floats = |name: &'static str| -> Result<Vec<f64>, DataError> {
            let mut out = Vec::new();
            column(Column::new(name, ColumnType::F64))?.push_f64(&mut out)?;
            Ok(out)
        };
        let mut sets = Vec::new();
        column(PARAM_SET)?.push_u32(&mut sets)?;
        let mut paths = Vec::new();
        column(Column::new(SWEEP_PATHS, ColumnType::U64))?.push_u64(&mut paths)?;
        let values = parameters
            .iter()
            .enumerate()
            .map(|(k, name)| parameter_values(path, batch, offset, k, name))
            .collect::<Result<Vec<_>, _>>()?;
        let (mut counts, mut groups) = (Vec::new(), Vec::new());
        for [count, probability, lower, upper] in GROUP_COLUMNS {
            let mut c = Vec::new();
            column(Column::new(count, ColumnType::U64))?.push_u64(&mut c)?;
            counts.push(c);
            groups.push([floats(probability)?, floats(lower)?, floats(upper)?]);
        }
        let tail = SWEEP_TAIL
            .iter()
            .map(|name| floats(name))
            .collect::<Result<Vec<_>, _>>()?;
        let meets = meets_target(path, batch)?;
        Ok(Self {
            sets,
            paths,
            values,
            counts,
            groups,
            tail,
            meets,
        })
    }
}

/// The values of parameter `k` (column `k + 1` of the file), named `name`.
fn parameter_values(
    path: &Path,
    batch: &RecordBatch,
    offset: usize,
    k: usize,
    name: &str,
) -> Result<Vec<f64>, DataError> {
    let array = batch.column(k + 1);
    let values = array
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| DataError::ColumnType {
            path: path.to_owned(),
            column: name.to_owned(),
            expected: "Float64".to_owned(),
            found: array.data_type().to_string(),
        })?;
    if let Some(i) = (0..values.len()).find(|&i| values.is_null(i)) {
        return Err(DataError::NullValue {
            path: path.to_owned(),
            column: name.to_owned(),
            row: offset + i,
        });
    }
    Ok(values.values().to_vec())
}

/// The nullable `meets_target` column.
fn meets_target(path: &Path, batch: &RecordBatch) -> Result<Vec<Option<bool>>, DataError> {
    let meets = Column::nullable(SWEEP_MEETS, ColumnType::Bool);
    let array = batch
        .column_by_name(SWEEP_MEETS)
        .ok_or_else(|| meets.missing(path))?;
    Ok(array
        .as_boolean_opt()
        .ok_or_else(|| meets.wrong_type(path, array.data_type()))?
        .iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SweepTable {
        SweepTable {
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
        }
    }

    #[test]
    fn sweep_round_trips_and_names_a_schema_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let sw = sample();
        let f = dir.path().join("sweep.parquet");
        write_sweep(&f, &sw, &[]).unwrap();
        assert_eq!(read_sweep(&f).unwrap(), sw);
        // Reading one schema as another names the mismatch.
        let err = crate::results::paths::read_paths(&f)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sweep/v1") && err.contains("paths/v1"),
            "{err}"
        );
    }

    #[test]
    fn reserved_parameter_names_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sweep.parquet");
        for name in ["paths", "depletion_x", "cover_1", "liquidation.fee"] {
            let mut sw = sample();
            sw.parameters[1] = name.to_owned();
            let err = write_sweep(&f, &sw, &[]).unwrap_err();
            assert!(
                matches!(err, DataError::InvalidInput { .. }),
                "{name}: {err:?}"
            );
        }
        let mut sw = sample();
        sw.rows[2].socialized.ci95_upper = f64::INFINITY;
        let err = write_sweep(&f, &sw, &[]).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidValue { row: 2, ref column, .. } if column == "socialized_ci95_upper"),
            "{err:?}"
        );
        assert!(!f.exists());
    }
}
