//! Price history for the historical generators: prices files read through
//! `backstop_data`, put on the scenario's time grid, turned into log-returns.

use std::path::{Path, PathBuf};

use backstop_data::history::{PriceRow, read_prices};

use crate::paths::error::{PathError, PathModelError};

/// Nanoseconds per second.
pub(crate) const NS: i64 = crate::time::NS_PER_SECOND;

/// Smallest positive spacing of the rows' timestamps, ns (`None` with fewer than
/// two distinct timestamps).
pub(crate) fn native_step_ns(rows: &[PriceRow]) -> Option<i64> {
    rows.windows(2)
        .map(|w| w[1].ts_ns.saturating_sub(w[0].ts_ns))
        .filter(|&d| d > 0)
        .min()
}

/// Checks that a file sampled every `native` ns can be put on a `step_ns` grid:
/// the step must be a whole multiple of the file's spacing (only downsampling).
pub(crate) fn check_resamplable(
    file: &Path,
    native: i64,
    step_ns: i64,
) -> Result<(), PathModelError> {
    if step_ns % native == 0 {
        Ok(())
    } else {
        Err(PathModelError::NotResamplable {
            file: file.to_path_buf(),
            native_s: native as f64 / NS as f64,
            step_s: step_ns as f64 / NS as f64,
        })
    }
}

/// The observed points of `rows` on the grid of multiples of `step_ns` (epoch
/// aligned): at grid time `b` the price is the last mark at or before `b` (as
/// [`backstop_data::resample_last`]), kept only if that mark is less than one step
/// old, so that gaps in the data leave gaps on the grid rather than flat prices.
pub(crate) fn observed_grid(rows: &[PriceRow], step_ns: i64) -> Vec<(i64, f64)> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(mut b) = ceil_to(first.ts_ns, step_ns) else {
        return out;
    };
    let mut i = 0;
    while b <= last.ts_ns {
        while i + 1 < rows.len() && rows[i + 1].ts_ns <= b {
            i += 1;
        }
        let row = &rows[i];
        if row.ts_ns > b.saturating_sub(step_ns) {
            out.push((b, row.mark));
            let Some(next) = b.checked_add(step_ns) else {
                break;
            };
            b = next;
        } else {
            // Jump to the first boundary at or after the next row.
            let Some(next) = ceil_to(rows[i + 1].ts_ns, step_ns) else {
                break;
            };
            b = next;
        }
    }
    out
}

/// The first multiple of `step` at or after `ts`, if representable.
fn ceil_to(ts: i64, step: i64) -> Option<i64> {
    let (ts, step) = (i128::from(ts), i128::from(step));
    let mut b = ts.div_euclid(step) * step;
    if b < ts {
        b += step;
    }
    i64::try_from(b).ok()
}

/// Several markets' log-returns at one step on their common timestamps.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct JointReturns {
    /// End time of each return, ns.
    pub ts: Vec<i64>,
    /// `returns[m][i]`: log-return of market `m` over `(ts[i] − step, ts[i]]`.
    pub returns: Vec<Vec<f64>>,
}

/// Reads prices files (the `mark` column), puts each on the `step_seconds` grid
/// ([`observed_grid`]) and keeps the log-returns over one step whose both ends are
/// observed in every file, so that the markets' returns stay aligned in time.
///
/// # Errors
/// [`PathError::Data`] for an unreadable file; [`PathError::Model`] for a file
/// with fewer than 2 prices or whose spacing does not divide the step.
pub(crate) fn load_joint_returns(
    files: &[PathBuf],
    step_seconds: u32,
) -> Result<JointReturns, PathError> {
    let step_ns = i64::from(step_seconds) * NS;
    if step_ns <= 0 {
        return Err(PathModelError::ZeroStep.into());
    }
    let mut grids = Vec::with_capacity(files.len());
    for file in files {
        let table = read_prices(file)?;
        let rows = table.rows;
        if rows.len() < 2 {
            return Err(PathModelError::TooFewPrices {
                file: file.clone(),
                count: rows.len(),
            }
            .into());
        }
        let native = native_step_ns(&rows)
            .ok_or_else(|| PathModelError::OneTimestamp { file: file.clone() })?;
        check_resamplable(file, native, step_ns)?;
        grids.push(observed_grid(&rows, step_ns));
    }
    Ok(joint_returns(&grids, step_ns))
}

/// The common one-step returns of grids (sorted, distinct timestamps each).
pub(crate) fn joint_returns(grids: &[Vec<(i64, f64)>], step_ns: i64) -> JointReturns {
    let markets = grids.len();
    let mut out = JointReturns {
        ts: Vec::new(),
        returns: vec![Vec::new(); markets],
    };
    let Some(first) = grids.first() else {
        return out;
    };
    // Cursor per grid; walk the first grid's consecutive pairs.
    let mut cursor = vec![0usize; markets];
    let mut ends = vec![0.0; markets];
    let mut starts = vec![0.0; markets];
    'pairs: for w in first.windows(2) {
        let (t0, t1) = (w[0].0, w[1].0);
        if t1 - t0 != step_ns {
            continue;
        }
        for (m, grid) in grids.iter().enumerate() {
            let c = &mut cursor[m];
            while *c < grid.len() && grid[*c].0 < t0 {
                *c += 1;
            }
            if *c + 1 >= grid.len() || grid[*c].0 != t0 || grid[*c + 1].0 != t1 {
                continue 'pairs;
            }
            starts[m] = grid[*c].1;
            ends[m] = grid[*c + 1].1;
        }
        out.ts.push(t1);
        for m in 0..markets {
            out.returns[m].push((ends[m] / starts[m]).ln());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(points: &[(i64, f64)]) -> Vec<PriceRow> {
        points
            .iter()
            .map(|&(ts_ns, mark)| PriceRow {
                ts_ns,
                mark,
                index: None,
            })
            .collect()
    }

    #[test]
    fn grid_takes_last_price_and_leaves_gaps() {
        // 15 s data on a 30 s grid, with a gap from 60 to 120.
        let r = rows(&[
            (5, 1.0),
            (15, 2.0),
            (30, 3.0),
            (45, 4.0),
            (60, 5.0),
            (120, 6.0),
            (135, 7.0),
        ]);
        assert_eq!(native_step_ns(&r), Some(10));
        let g = observed_grid(&r, 30);
        assert_eq!(g, vec![(30, 3.0), (60, 5.0), (120, 6.0)]);
        let j = joint_returns(&[g.clone(), g], 30);
        // Timestamps at the ends of the range do not overflow.
        let edge = rows(&[(i64::MAX - 40, 1.0), (i64::MAX - 1, 2.0)]);
        assert_eq!(observed_grid(&edge, 30).len(), 1);
        let edge = rows(&[(i64::MIN, 1.0), (i64::MIN + 10, 2.0)]);
        assert_eq!(observed_grid(&edge, 30).len(), 0);
        assert_eq!(j.ts, vec![60]);
        assert!((j.returns[1][0] - (5.0f64 / 3.0).ln()).abs() < 1e-15);
    }

    #[test]
    fn joint_returns_keep_only_common_pairs() {
        let a = vec![(0, 1.0), (10, 2.0), (20, 4.0), (30, 8.0)];
        let b = vec![(10, 1.0), (20, 3.0), (30, 9.0), (40, 1.0)];
        let j = joint_returns(&[a, b], 10);
        assert_eq!(j.ts, vec![20, 30]);
        assert_eq!(j.returns[0], vec![2f64.ln(), 2f64.ln()]);
        assert_eq!(j.returns[1], vec![3f64.ln(), 3f64.ln()]);
    }
}
