//! Running a sweep: the work items of every parameter set, split into shards
//! and chunks; the aggregates of each set from its `paths/v1` rows; whether a
//! set meets the target; the scenario's hash.
//!
//! What a sweep is (its table, the order of sets, how a set's scenario is made)
//! is the scenario's: [`crate::config::sweep`] and [`crate::config::grid`], whose
//! types are re-exported here.
//!
//! **Work.** A sweep is `sets × paths` work items, item `w = set × paths + path`.
//! Shard `k` of `n` takes the contiguous items `[k·W/n, (k+1)·W/n)` (`W` items in
//! all); inside a shard, items are run in chunks that never cross a set and
//! never cross a multiple of [`CHUNK_PATHS`] paths.

use std::fmt;

pub use crate::config::grid::{GridParameter, ORDER, SweepGrid};
pub use crate::config::sweep::{Prefer, SweepConfig, SweepParameter, SweepRange, SweepTarget};

use super::aggregate::{self, Aggregates};
use super::limits::CHUNK_PATHS;
use super::metrics::PathMetrics;
use crate::config::scenario::Scenario;
use crate::error::{InputError, ShardReason, SimError};
use backstop_data::PATH_METRICS;

// The target is judged on a set's aggregates, which the scenario layer (where
// `SweepGrid` is defined) knows nothing of: this method lives with them.
impl SweepGrid {
    /// Whether a set with these aggregates meets the target (`None` without one).
    pub fn meets_target(&self, a: &Aggregates) -> Option<bool> {
        let max = self.max_depletion_probability?;
        let d = &a.insurance_fund_depletion;
        let p = if self.use_upper_bound {
            d.ci95[1]
        } else {
            d.probability
        };
        Some(p <= max)
    }
}

/// A stable 64-bit FNV-1a hash of the normalised scenario: its JSON with every
/// default filled in (the `paths` in effect included), as `fnv1a64:<16 hex>`.
/// Files the scenario names are not hashed, only their names.
///
/// # Errors
/// A scenario that cannot be serialized (not expected).
pub fn scenario_hash(s: &Scenario) -> Result<String, SimError> {
    let bytes = serde_json::to_vec(s).map_err(InputError::Hash)?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Ok(format!("fnv1a64:{h:016x}"))
}

/// `K/N`: shard `K` (from 0) of `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// This shard, `0 ≤ index < count`.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl ShardSpec {
    /// The whole sweep as one shard.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };

    /// Parses `K/N`.
    ///
    /// # Errors
    /// Anything but two integers with `0 ≤ K < N`.
    pub fn parse(text: &str) -> Result<ShardSpec, SimError> {
        let bad = |reason| {
            SimError::Input(InputError::Shard {
                text: text.to_string(),
                reason,
            })
        };
        let (k, n) = text.split_once('/').ok_or_else(|| bad(ShardReason::Form))?;
        let k: u32 = k.trim().parse().map_err(|_| bad(ShardReason::Index))?;
        let n: u32 = n.trim().parse().map_err(|_| bad(ShardReason::Count))?;
        if n == 0 {
            return Err(bad(ShardReason::NoShards));
        }
        if k >= n {
            return Err(bad(ShardReason::OutOfRange { max: n - 1 }));
        }
        Ok(ShardSpec { index: k, count: n })
    }

    /// The work items `[from, to)` of this shard among `items`.
    pub fn items(self, items: u64) -> (u64, u64) {
        let at = |k: u32| (u128::from(items) * u128::from(k) / u128::from(self.count)) as u64;
        (at(self.index), at(self.index + 1))
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A run of consecutive paths `[from, to)` of one parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Parameter set.
    pub set: u32,
    /// First path.
    pub from: u64,
    /// One past the last path.
    pub to: u64,
}

impl Chunk {
    /// The chunk's file name in the work folder:
    /// `set-0003-paths-000064-000127.parquet` (last path inclusive).
    pub fn file_name(&self) -> String {
        format!(
            "set-{:04}-paths-{:06}-{:06}.parquet",
            self.set,
            self.from,
            self.to.saturating_sub(1)
        )
    }

    /// Paths in the chunk.
    pub fn len(&self) -> u64 {
        self.to - self.from
    }

    /// Whether the chunk is empty (never, for chunks from [`chunks`]).
    pub fn is_empty(&self) -> bool {
        self.to <= self.from
    }
}

/// The chunks covering work items `[from, to)` of a sweep of `paths` paths per
/// set, in item order.
pub fn chunks(paths: u64, from: u64, to: u64) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut w = from;
    while w < to && paths > 0 {
        let set = w / paths;
        let path = w % paths;
        let end_path = ((path / CHUNK_PATHS + 1) * CHUNK_PATHS)
            .min(paths)
            .min(path + (to - w));
        out.push(Chunk {
            set: set as u32,
            from: path,
            to: end_path,
        });
        w += end_path - path;
    }
    out
}

/// The aggregates of every set from the full `paths/v1` rows of a sweep, which
/// must hold exactly the rows `(set, path)` for every set and path, in that
/// order.
///
/// # Errors
/// A missing, extra or misplaced row, or a row [`PathMetrics::from_row`] refuses.
pub fn set_aggregates(
    table: &backstop_data::PathsTable,
    sets: u32,
    paths: u64,
) -> Result<Vec<Aggregates>, SimError> {
    let expected = u64::from(sets) * paths;
    if table.len() as u64 != expected {
        return Err(InputError::RowCount {
            expected,
            sets,
            paths,
            found: table.len(),
        }
        .into());
    }
    let mut out = Vec::with_capacity(sets as usize);
    let mut row = vec![None; PATH_METRICS.len()];
    for set in 0..sets {
        let mut metrics = Vec::with_capacity(paths as usize);
        for path in 0..paths {
            let r = (u64::from(set) * paths + path) as usize;
            if table.param_set.get(r) != Some(&set) || table.path.get(r) != Some(&path) {
                return Err(InputError::RowOrder {
                    row: r,
                    set,
                    path,
                    found_set: table.param_set.get(r).copied(),
                    found_path: table.path.get(r).copied(),
                }
                .into());
            }
            for (slot, column) in row.iter_mut().zip(&table.metrics) {
                *slot = column.get(r).copied().flatten();
            }
            metrics.push(PathMetrics::from_row(path, &row)?);
        }
        out.push(aggregate::aggregates(&metrics));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_sets_and_64_path_blocks() {
        let c = chunks(100, 0, 300);
        let lens: Vec<_> = c.iter().map(|c| (c.set, c.from, c.to)).collect();
        assert_eq!(
            lens,
            vec![
                (0, 0, 64),
                (0, 64, 100),
                (1, 0, 64),
                (1, 64, 100),
                (2, 0, 64),
                (2, 64, 100)
            ]
        );
        let s = ShardSpec::parse("1/3").unwrap();
        assert_eq!(s.items(24), (8, 16));
        let c = chunks(6, 8, 16);
        assert_eq!(
            c.iter().map(|c| (c.set, c.from, c.to)).collect::<Vec<_>>(),
            vec![(1, 2, 6), (2, 0, 4)]
        );
        for bad in ["3/3", "0/0", "x", "1/x", "-1/2"] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ShardSpec::parse("3/3").unwrap_err().to_string(),
            "--shard `3/3`: K must be between 0 and 2 (shards are numbered from 0)"
        );
    }

    #[test]
    fn the_hash_is_stable_and_sees_every_field() {
        let src = r#"
name = "x"
[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.01, mmr = 0.005 }]
[path]
kind = "linear"
steps = 10
shock_steps = 5
shock = -0.1
[population]
kind = "generated"
accounts = 10
notional = { distribution = "constant", value = 1000.0 }
leverage = { distribution = "constant", value = 5.0 }
max_notional = 10000.0
"#;
        let base = Scenario::from_toml_str(src, std::path::Path::new("x.toml")).unwrap();
        let mut other = base.clone();
        assert_eq!(
            scenario_hash(&base).unwrap(),
            scenario_hash(&other).unwrap()
        );
        other.seed += 1;
        assert_ne!(
            scenario_hash(&base).unwrap(),
            scenario_hash(&other).unwrap()
        );
    }
}
