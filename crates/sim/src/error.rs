//! The crate's error, [`SimError`], and the errors of the run layer.
//!
//! Each layer has its own typed errors ([`crate::config::ScenarioError`] and
//! [`crate::config::FieldError`], [`crate::engine::EngineError`],
//! [`crate::paths::PathError`], `backstop_data::DataError`); `SimError` takes
//! them over at the crate's boundary with the same text. The run layer's own
//! problems ([`PopulationError`], [`InputError`]) are defined here, below the
//! files that return them.

use std::path::PathBuf;

use backstop_data::DataError;

use crate::config::field::FieldError;
use crate::config::key_path::KeyPath;
use crate::config::load::ScenarioError;
use crate::engine::EngineError;
use crate::paths::error::{PathError, PathModelError, ReplayError};
use crate::venue::impact::DepthBookError;

/// Everything that can go wrong preparing or running a simulation.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario file.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Reading or writing data files.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The population cannot be built.
    #[error("population: {0}")]
    Population(PopulationError),
    /// An input the scenario names (a file, a window) or the caller gives (a
    /// number of paths, a shard, result rows) cannot be used.
    #[error("{0}")]
    Input(InputError),
    /// A path model cannot be built: bad parameters or unusable price history.
    #[error("path: {0}")]
    PathModel(PathModelError),
    /// The engine refused the population.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A path's step failed (a price off the grid, a quantity out of range).
    #[error("path {path}: {source}")]
    Step {
        /// Path index.
        path: u64,
        /// Why.
        source: EngineError,
    },
}

impl From<PathError> for SimError {
    fn from(e: PathError) -> SimError {
        match e {
            PathError::Data(e) => SimError::Data(e),
            PathError::Model(e) => SimError::PathModel(e),
            PathError::Replay(e) => SimError::Input(InputError::Replay(e)),
        }
    }
}

impl From<PopulationError> for SimError {
    fn from(e: PopulationError) -> SimError {
        SimError::Population(e)
    }
}

impl From<InputError> for SimError {
    fn from(e: InputError) -> SimError {
        SimError::Input(e)
    }
}

/// A population that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    /// Generation asked of a snapshot population.
    #[error("not a generated population")]
    NotGenerated,
    /// An entry dispersion the normal distribution refuses.
    #[error("{0}")]
    EntryDispersion(rand_distr::NormalError),
    /// A snapshot without rows.
    #[error("the positions file has no rows (zero accounts)")]
    Empty,
    /// A snapshot row in a market the scenario does not define.
    #[error(
        "row {row}: account {account} is in market `{market}`, which the scenario does not define (markets: {markets})"
    )]
    UnknownMarket {
        /// Row number.
        row: usize,
        /// Account id.
        account: u64,
        /// The row's market.
        market: String,
        /// The scenario's markets, comma-separated.
        markets: String,
    },
    /// A size below one lot of the market.
    #[error("row {row}: account {account} size {size} is smaller than one lot ({lot_size})")]
    BelowOneLot {
        /// Row number.
        row: usize,
        /// Account id.
        account: u64,
        /// The row's size.
        size: f64,
        /// The market's lot.
        lot_size: f64,
    },
    /// Collateral out of the range of micro-USD.
    #[error(
        "row {row}, column `collateral`: {collateral} is not a USD amount the engine can hold (finite, at most {:.3e} USD)",
        crate::money::MAX_USD
    )]
    Collateral {
        /// Row number.
        row: usize,
        /// The row's collateral, USD.
        collateral: f64,
    },
    /// Accounts of a snapshot already below maintenance at the start mark.
    #[error(
        "{}: {count} of {total} accounts are below maintenance at the start mark (first account ids: {first}); a live venue would already have liquidated them. Set population.below_maintenance = \"drop\" to remove them, or \"keep\" to liquidate them at step 0 (the report then says so)",
        file.display()
    )]
    BelowMaintenance {
        /// The snapshot.
        file: PathBuf,
        /// Margin units below maintenance.
        count: usize,
        /// Margin units in the snapshot.
        total: usize,
        /// The first few account ids, comma-separated.
        first: String,
    },
    /// A snapshot value the market's grid would move by more than 1%.
    #[error(
        "row {row}, column `{column}`: {value} is not on the market's grid of {grid}: rounding to \
         it gives {rounded}, a change of more than 1%"
    )]
    OffGrid {
        /// Row number.
        row: usize,
        /// `size` or `entry_price`.
        column: &'static str,
        /// The row's value.
        value: f64,
        /// On the grid.
        rounded: f64,
        /// The lot or tick size.
        grid: f64,
    },
    /// A generated population the lot grid changes: its total notional moved
    /// by more than 1% when sizes were rounded to whole lots.
    #[error(
        "key `population.notional`: rounding sizes to whole lots moves the total notional by \
         {percent:.1}% and the notional of {moved} of {positions} positions by more than 1% \
         ({market_moved} in market `{market}`, whose lot of {lot_size} is worth about {lot_usd} \
         USD); draw larger notionals or use a smaller `market.{market}.lot_size`"
    )]
    LotRounding {
        /// The share of the total notional moved, percent.
        percent: f64,
        /// Positions moved by more than 1%.
        moved: u64,
        /// Positions drawn.
        positions: u64,
        /// The market with the most.
        market: String,
        /// Its positions moved.
        market_moved: u64,
        /// Its lot, base units.
        lot_size: f64,
        /// Its lot at the start price, USD.
        lot_usd: f64,
    },
    /// Two cross positions of one account in one market.
    #[error(
        "row {row}: account {account} has two cross positions in market `{market}` (one position per market)"
    )]
    TwoCrossPositions {
        /// Row number.
        row: usize,
        /// Account id.
        account: u64,
        /// The market.
        market: String,
    },
}

/// An input that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A replay's files.
    #[error("{0}")]
    Replay(ReplayError),
    /// `[controls.collateral]` cannot be priced.
    #[error("{0}")]
    Collateral(FieldError),
    /// A `book_depth` market's depth file cannot be read.
    #[error("{key}: {error}")]
    DepthFile {
        /// `market.<name>.impact.file`.
        key: KeyPath,
        /// Why.
        error: Box<DataError>,
    },
    /// A `book_depth` market's depth file is not a usable book.
    #[error("{key}: {}: {error}", file.display())]
    DepthBook {
        /// `market.<name>.impact.file`.
        key: KeyPath,
        /// The file.
        file: PathBuf,
        /// Why.
        error: DepthBookError,
    },
    /// A scenario value, or a quantity the run would reach, out of the engine's
    /// integer range.
    #[error("key `{}`: {}", .0.key, .0.message)]
    OutOfRange(FieldError),
    /// A run that needs more memory than the machine has.
    #[error("key `{key}`: {message}")]
    Memory {
        /// The setting that drives the largest part of the estimate.
        key: KeyPath,
        /// The estimate, its parts and the memory available.
        message: String,
    },
    /// More paths asked for than the limit.
    #[error("--paths {0}: more than the limit of {max} paths", max = crate::config::validate::MAX_PATHS)]
    TooManyPaths(u32),
    /// Zero paths asked for.
    #[error("at least one path is needed")]
    NoPaths,
    /// More than one path where every path would be the same.
    #[error(
        "{paths} paths of a `{path_kind}` path with a fixed population would be {paths} copies of one outcome; set population.resample = \"per_path\" (a generated population drawn afresh on every path) to get a distribution, or run one path"
    )]
    IdenticalPaths {
        /// Paths asked for.
        paths: u32,
        /// The scenario's path kind.
        path_kind: String,
    },
    /// The scenario cannot be serialized for its hash.
    #[error("cannot hash the scenario: {0}")]
    Hash(serde_json::Error),
    /// A `--shard K/N` that is not one.
    #[error("--shard `{text}`: {reason}")]
    Shard {
        /// As given.
        text: String,
        /// Why.
        reason: ShardReason,
    },
    /// A metric the `paths/v1` table does not have.
    #[error("unknown metric {0}")]
    UnknownMetric(String),
    /// A `paths/v1` row without a value the aggregates need.
    #[error("path {path}: `{name}` is missing")]
    MissingMetric {
        /// Path index.
        path: u64,
        /// Metric.
        name: String,
    },
    /// A count that is not a whole number in range.
    #[error("path {path}: `{name}` = {value} is not a count")]
    NotACount {
        /// Path index.
        path: u64,
        /// Metric.
        name: String,
        /// The value.
        value: f64,
    },
    /// A sweep's `paths/v1` rows that are not every (set, path) once.
    #[error("expected {expected} path rows ({sets} sets × {paths} paths), found {found}")]
    RowCount {
        /// Rows expected.
        expected: u64,
        /// Parameter sets.
        sets: u32,
        /// Paths per set.
        paths: u64,
        /// Rows found.
        found: usize,
    },
    /// A sweep's `paths/v1` row out of (set, path) order.
    #[error(
        "row {row} should be set {set} path {path}, found set {found_set:?} path {found_path:?}"
    )]
    RowOrder {
        /// Row index.
        row: usize,
        /// Expected set.
        set: u32,
        /// Expected path.
        path: u64,
        /// Set found.
        found_set: Option<u32>,
        /// Path found.
        found_path: Option<u64>,
    },
}

/// Why a `--shard K/N` is refused.
#[derive(Debug, thiserror::Error)]
pub enum ShardReason {
    /// No `/`.
    #[error("expected K/N, e.g. 0/4 (shard K from 0 of N)")]
    Form,
    /// `K` not a whole number.
    #[error("K is not a whole number")]
    Index,
    /// `N` not a whole number.
    #[error("N is not a whole number")]
    Count,
    /// `N = 0`.
    #[error("N must be at least 1")]
    NoShards,
    /// `K ≥ N`.
    #[error("K must be between 0 and {max} (shards are numbered from 0)")]
    OutOfRange {
        /// `N − 1`.
        max: u32,
    },
}
