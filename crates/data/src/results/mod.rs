//! The results folder a run writes (`<out>/<scenario name>/`, see [`layout`]):
//! every file's schema, writer and reader, and the one table of per-path
//! metrics they share.
//!
//! - [`summary`]: `summary.json`, what ran and what it did;
//! - [`positions`]: the positions snapshot (`positions/v1`), the population a
//!   scenario can load and every run writes back as `population.parquet`;
//! - [`steps`]: the per-step, per-market series of path 0 (`steps/v1`);
//! - [`paths`]: one row per (parameter set, path) (`paths/v1`), one column per
//!   metric of [`metrics`];
//! - [`bands`]: per-step quantile bands across paths (`bands/v1`);
//! - [`haircuts`]: socialized-loss haircuts (`haircuts/v1`);
//! - [`adl_waves`]: the ADL waves of every path and their measures
//!   (`adl_waves/v1`);
//! - [`balances`]: every party's money at the opening and the end of path 0
//!   (`balances/v1`), for checking conservation outside the project;
//! - [`market_funds`]: each market's own insurance fund on each path
//!   (`market_funds/v1`), in runs with one;
//! - [`market_fund_steps`]: those funds step by step on path 0
//!   (`market_fund_steps/v1`), in runs with one;
//! - [`sweep`]: one row per parameter set of a sweep (`sweep/v1`);
//! - [`chunked`]: one writer for every table written a row group at a time
//!   ([`chunked::RowGroupTable`]), pulled or pushed as rows are produced;
//! - [`batches`]: a table in memory ([`batches::TableBatches`]): each writer's
//!   record batches without the file (`*_batches`), for the Python package.
//!
//! Writers validate before writing, write atomically, and are deterministic
//! (same input, byte-identical file). Readers check column names and types,
//! ignore extra columns, and validate every row, naming the file, row and
//! column of a bad value.

pub mod adl_waves;
pub mod balances;
pub mod bands;
pub mod batches;
pub mod chunked;
pub mod folder;
pub mod haircuts;
pub mod layout;
pub mod market_fund_steps;
pub mod market_funds;
pub mod metrics;
pub mod paths;
pub mod positions;
pub mod steps;
pub mod summary;
pub mod sweep;
