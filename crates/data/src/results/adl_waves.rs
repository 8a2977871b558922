//! `adl_waves.parquet` (`adl_waves/v1`): one row per ADL wave of a path (a run
//! of consecutive steps with ADL) and its measures (docs/model.md §6, "ADL
//! waves").
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `param_set` | `UInt32` | parameter-set index (0 without a sweep) |
//! | `path` | `UInt64` | path index |
//! | `wave` | `UInt32` | wave of the path, from 0 |
//! | `first_step`, `last_step` | `UInt32` | the wave's first and last step with ADL |
//! | `needed` | `Float64` | notional the closes needed, USD at the mark, ≥ 0 |
//! | `taken` | `Float64` | notional closed, USD at the mark, ≥ 0 |
//! | `excess` | `Float64` | `taken − needed`, USD |
//! | `multiple` | `Float64` | `taken / needed` (+∞ when nothing was needed) |
//! | `pnl_taken` | `Float64` | winners' unrealized PnL taken with the lots, USD |
//! | `max_pnl_share` | `Float64` | largest share of one winner's PnL taken, ≥ 0 |
//! | `top1_share` | `Float64` | share of `taken` from the top 1% of winners touched, in [0, 1] |
//! | `gini` | `Float64` | Gini coefficient of the per-winner notional, in [0, 1] |
//! | `accounts` | `UInt32` | winners touched |
//! | `winners_equity_after` | `Float64` | the touched winners' equity after their last take, USD |

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::SchemaRef;

use super::paths::{PARAM_SET, PATH};
use crate::error::DataError;
use crate::parquet_io::{
    BatchColumn, MAX_ROW_GROUP_ROWS, arrow_err, batches, open_projected, write_parquet,
};
use crate::results::batches::TableBatches;
use crate::rules::{Broken, finite, non_negative};
use crate::schema::{Column, ColumnType, arrow_schema};

/// `backstop.schema` of `adl_waves.parquet`.
pub const ADL_WAVES_SCHEMA_ID: &str = "adl_waves/v1";

/// One ADL wave of one path.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AdlWaveRow {
    /// Parameter-set index.
    pub param_set: u32,
    /// Path index.
    pub path: u64,
    /// Wave of the path, from 0.
    pub wave: u32,
    /// First step with ADL.
    pub first_step: u32,
    /// Last step with ADL.
    pub last_step: u32,
    /// Notional needed, USD.
    pub needed: f64,
    /// Notional taken, USD.
    pub taken: f64,
    /// `taken − needed`, USD.
    pub excess: f64,
    /// `taken / needed`.
    pub multiple: f64,
    /// Winners' PnL taken, USD.
    pub pnl_taken: f64,
    /// Largest share of one winner's PnL taken.
    pub max_pnl_share: f64,
    /// Share of the notional from the top 1% of winners.
    pub top1_share: f64,
    /// Gini coefficient of the per-winner notional.
    pub gini: f64,
    /// Winners touched.
    pub accounts: u32,
    /// Touched winners' equity after the wave, USD.
    pub winners_equity_after: f64,
}

const WAVE: Column = Column::new("wave", ColumnType::U32);
const FIRST_STEP: Column = Column::new("first_step", ColumnType::U32);
const LAST_STEP: Column = Column::new("last_step", ColumnType::U32);
const NEEDED: Column = Column::new("needed", ColumnType::F64);
const TAKEN: Column = Column::new("taken", ColumnType::F64);
const EXCESS: Column = Column::new("excess", ColumnType::F64);
const MULTIPLE: Column = Column::new("multiple", ColumnType::F64);
const PNL_TAKEN: Column = Column::new("pnl_taken", ColumnType::F64);
const MAX_PNL_SHARE: Column = Column::new("max_pnl_share", ColumnType::F64);
const TOP1_SHARE: Column = Column::new("top1_share", ColumnType::F64);
const GINI: Column = Column::new("gini", ColumnType::F64);
const ACCOUNTS: Column = Column::new("accounts", ColumnType::U32);
const EQUITY_AFTER: Column = Column::new("winners_equity_after", ColumnType::F64);
const COLUMNS: [Column; 15] = [
    PARAM_SET,
    PATH,
    WAVE,
    FIRST_STEP,
    LAST_STEP,
    NEEDED,
    TAKEN,
    EXCESS,
    MULTIPLE,
    PNL_TAKEN,
    MAX_PNL_SHARE,
    TOP1_SHARE,
    GINI,
    ACCOUNTS,
    EQUITY_AFTER,
];

/// A share: finite and in `[0, 1]` (with a little rounding room above 1).
fn share(x: f64) -> Result<(), String> {
    non_negative(x).map_err(|b| b.to_string())?;
    if x > 1.0 + 1e-9 {
        return Err(format!("must be at most 1, got {x}"));
    }
    Ok(())
}

/// The first broken rule of a row: its column and what is wrong.
fn check_row(r: &AdlWaveRow) -> Result<(), (&'static str, String)> {
    let tag = |c: Column| move |b: Broken| (c.name, b.to_string());
    non_negative(r.needed).map_err(tag(NEEDED))?;
    non_negative(r.taken).map_err(tag(TAKEN))?;
    finite(r.excess).map_err(tag(EXCESS))?;
    if r.multiple.is_nan() || r.multiple < 0.0 {
        return Err((
            MULTIPLE.name,
            format!("must be >= 0 or +inf, got {}", r.multiple),
        ));
    }
    finite(r.pnl_taken).map_err(tag(PNL_TAKEN))?;
    non_negative(r.max_pnl_share).map_err(tag(MAX_PNL_SHARE))?;
    share(r.top1_share).map_err(|m| (TOP1_SHARE.name, m))?;
    share(r.gini).map_err(|m| (GINI.name, m))?;
    finite(r.winners_equity_after).map_err(tag(EQUITY_AFTER))?;
    if r.last_step < r.first_step {
        return Err((
            LAST_STEP.name,
            format!(
                "must be at least first_step {}, got {}",
                r.first_step, r.last_step
            ),
        ));
    }
    Ok(())
}

fn check(path: &Path, rows: &[AdlWaveRow]) -> Result<(), DataError> {
    for (i, r) in rows.iter().enumerate() {
        check_row(r).map_err(|(column, message)| DataError::invalid(path, i, column, message))?;
    }
    Ok(())
}

/// Writes `rows` atomically as `adl_waves/v1`.
///
/// # Errors
/// A value out of its range (before anything is written, naming the row and
/// column), bad metadata, and I/O or encoding errors.
pub fn write_adl_waves(
    path: &Path,
    rows: &[AdlWaveRow],
    metadata: &[(String, String)],
) -> Result<(), DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, rows)?;
    write_parquet(path, &schema, ADL_WAVES_SCHEMA_ID, metadata, batches)
}

/// Checks the rows, then yields their batches, one per row group.
fn row_batches<'a>(
    path: &'a Path,
    schema: &'a SchemaRef,
    rows: &'a [AdlWaveRow],
) -> Result<impl Iterator<Item = Result<RecordBatch, DataError>> + 'a, DataError> {
    check(path, rows)?;
    let len = rows.len();
    Ok((0..len.max(1))
        .step_by(MAX_ROW_GROUP_ROWS)
        .map(move |start| {
            let r = &rows[start..(start + MAX_ROW_GROUP_ROWS).min(len)];
            let u32s = |f: fn(&AdlWaveRow) -> u32| -> ArrayRef {
                Arc::new(UInt32Array::from_iter_values(r.iter().map(f)))
            };
            let f64s = |f: fn(&AdlWaveRow) -> f64| -> ArrayRef {
                Arc::new(Float64Array::from_iter_values(r.iter().map(f)))
            };
            let columns: Vec<ArrayRef> = vec![
                u32s(|x| x.param_set),
                Arc::new(UInt64Array::from_iter_values(r.iter().map(|x| x.path))),
                u32s(|x| x.wave),
                u32s(|x| x.first_step),
                u32s(|x| x.last_step),
                f64s(|x| x.needed),
                f64s(|x| x.taken),
                f64s(|x| x.excess),
                f64s(|x| x.multiple),
                f64s(|x| x.pnl_taken),
                f64s(|x| x.max_pnl_share),
                f64s(|x| x.top1_share),
                f64s(|x| x.gini),
                u32s(|x| x.accounts),
                f64s(|x| x.winners_equity_after),
            ];
            RecordBatch::try_new(Arc::clone(schema), columns)
                .map_err(arrow_err(path, "failed to build record batch"))
        }))
}

/// The record batches [`write_adl_waves`] writes to `path` (one per row group), in
/// memory, with the file's metadata on their schema.
///
/// # Errors
/// As [`write_adl_waves`], but nothing is written.
pub fn adl_waves_batches(
    path: &Path,
    rows: &[AdlWaveRow],
    metadata: &[(String, String)],
) -> Result<TableBatches, DataError> {
    let schema = arrow_schema(&COLUMNS);
    let batches = row_batches(path, &schema, rows)?;
    TableBatches::collect(path, &schema, ADL_WAVES_SCHEMA_ID, metadata, batches)
}

/// Reads an `adl_waves/v1` file.
///
/// # Errors
/// An unreadable file, another schema tag, a missing or mistyped column
/// (named), or a value out of its range (naming the row and column).
pub fn read_adl_waves(path: &Path) -> Result<Vec<AdlWaveRow>, DataError> {
    let reader = open_projected(path, ADL_WAVES_SCHEMA_ID, &COLUMNS)?;
    let mut rows = Vec::new();
    for batch in batches(path, reader) {
        let (offset, batch) = batch?;
        let column = |s| BatchColumn::new(path, &batch, s, offset);
        let (mut ps, mut p, mut w, mut fs, mut ls, mut acc) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut f: [Vec<f64>; 10] = Default::default();
        column(PARAM_SET)?.push_u32(&mut ps)?;
        column(PATH)?.push_u64(&mut p)?;
        column(WAVE)?.push_u32(&mut w)?;
        column(FIRST_STEP)?.push_u32(&mut fs)?;
        column(LAST_STEP)?.push_u32(&mut ls)?;
        column(ACCOUNTS)?.push_u32(&mut acc)?;
        let float_columns = [
            NEEDED,
            TAKEN,
            EXCESS,
            MULTIPLE,
            PNL_TAKEN,
            MAX_PNL_SHARE,
            TOP1_SHARE,
            GINI,
            EQUITY_AFTER,
        ];
        for (c, out) in float_columns.into_iter().zip(f.iter_mut()) {
            column(c)?.push_f64(out)?;
        }
        for i in 0..p.len() {
            rows.push(AdlWaveRow {
                param_set: ps[i],
                path: p[i],
                wave: w[i],
                first_step: fs[i],
                last_step: ls[i],
                needed: f[0][i],
                taken: f[1][i],
                excess: f[2][i],
                multiple: f[3][i],
                pnl_taken: f[4][i],
                max_pnl_share: f[5][i],
                top1_share: f[6][i],
                gini: f[7][i],
                accounts: acc[i],
                winners_equity_after: f[8][i],
            });
        }
    }
    check(path, &rows)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(wave: u32) -> AdlWaveRow {
        AdlWaveRow {
            param_set: 0,
            path: 2,
            wave,
            first_step: 10 + wave,
            last_step: 12 + wave,
            needed: 150.0,
            taken: 200.0,
            excess: 50.0,
            multiple: 200.0 / 150.0,
            pnl_taken: 90.0,
            max_pnl_share: 0.8,
            top1_share: 0.8,
            gini: 0.3,
            accounts: 2,
            winners_equity_after: 2_003.0,
        }
    }

    #[test]
    fn adl_waves_round_trip_and_reject_a_share_above_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = vec![row(0), row(1)];
        let f = dir.path().join("adl_waves.parquet");
        write_adl_waves(&f, &rows, &[]).unwrap();
        assert_eq!(read_adl_waves(&f).unwrap(), rows);
        rows[1].gini = 1.5;
        let err = write_adl_waves(&dir.path().join("bad.parquet"), &rows, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("gini") && err.contains("row 1"), "{err}");
    }
}
