//! On-disk schemas and Parquet I/O for backstop.
//!
//! This crate owns the file formats a simulation reads and writes:
//!
//! - [`positions`]: the positions snapshot (`positions/v1`), a population of
//!   accounts a scenario can load and which every run writes back as
//!   `population.parquet`;
//! - [`steps`]: the per-step, per-market series (`steps/v1`) a run writes as
//!   `steps.parquet`;
//! - [`results`]: the across-path results (`paths/v1`, `bands/v1`,
//!   `haircuts/v1`) a run writes beside `steps.parquet`;
//! - [`metadata`]: the Parquet key-value metadata carried by all of them;
//! - [`atomic`]: atomic file replacement, used by every writer here and
//!   available to the rest of the workspace;
//! - [`history`]: tick history (`trades/v1`, `prices/v1`, `funding/v1`,
//!   `depth/v1`, one symbol per file) and its streaming, time-ordered replay;
//! - [`import`](mod@import) (cargo feature `import`, on by default): importers from the
//!   files exchanges and vendors publish (Binance public data, Tardis) into
//!   tick history, using polars for the ETL.
//!
//! Writers validate before writing, write atomically, and are deterministic
//! (same input, byte-identical file). Readers check column names and types,
//! ignore extra columns, and validate every row, reporting errors that name
//! the file and, where relevant, the column and row.

pub mod atomic;
mod error;
pub mod history;
#[cfg(feature = "import")]
pub mod import;
pub mod metadata;
mod parquet_io;
pub mod positions;
pub mod results;
pub mod steps;

pub use atomic::{write_atomically, write_bytes_atomically};
pub use error::DataError;
pub use history::{
    Contract, EventKind, HistoryMetadata, HistorySchema, HistorySource, HistoryTable, Replay,
    ReplayEvent, Side, TimeWindow, WriteOptions, kline_path, resample_last,
};
#[cfg(feature = "import")]
pub use import::{ImportFormat, ImportReport, ImportRequest, import};
pub use metadata::{SCHEMA_METADATA_KEY, read_metadata};
pub use parquet_io::{CREATED_BY, MAX_ROW_GROUP_ROWS};
pub use positions::{
    POSITIONS_SCHEMA_ID, PositionRow, positions_schema, read_positions, write_positions,
};
pub use results::{
    BAND_QUANTILES, BANDS_SCHEMA_ID, BandSeries, BandsTable, HAIRCUTS_SCHEMA_ID, HaircutsTable,
    PATH_METRICS, PATHS_SCHEMA_ID, PathsTable, SWEEP_SCHEMA_ID, SweepProbability, SweepRow,
    SweepTable, read_bands, read_haircuts, read_paths, read_sweep, write_bands, write_haircuts,
    write_paths, write_sweep,
};
pub use steps::{STEPS_SCHEMA_ID, StepsTable, read_steps, steps_schema, write_steps};
