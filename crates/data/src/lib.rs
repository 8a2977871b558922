//! On-disk schemas and Parquet I/O for backstop.
//!
//! This crate owns the file formats a simulation reads and writes, and the
//! facts every crate must agree on about them:
//!
//! - [`results`]: the results folder a run writes — its [`layout`](results::layout),
//!   `summary.json` ([`results::summary`]), the positions snapshot
//!   (`positions/v1`), the per-step series (`steps/v1`), the across-path
//!   results (`paths/v1`, `bands/v1`, `haircuts/v1`, `sweep/v1`), and the one
//!   table of per-path metrics ([`results::metrics`]);
//! - [`history`]: tick history (`trades/v1`, `prices/v1`, `funding/v1`,
//!   `depth/v1`, one symbol per file) and its streaming, time-ordered replay;
//! - [`import`](mod@import) (cargo feature `import`, on by default): importers
//!   from the files exchanges and vendors publish (Binance public data, Tardis)
//!   into tick history, using polars for the ETL;
//! - [`time`]: the one parser and formatter of UTC date-times;
//! - [`metadata`]: the Parquet key-value metadata carried by every file;
//! - [`atomic`]: atomic file replacement, used by every writer here and
//!   available to the rest of the workspace.
//!
//! Inside, `schema` describes each column once (name, type, nullable) for
//! writers and readers alike, `rules` holds the value checks (finite,
//! positive, ...), and `parquet_io` the writer settings and batch decoding
//! shared by the whole-file schemas. Layers point one way:
//! `error` ← `atomic`, `metadata`, `schema`, `rules` ← `parquet_io` ←
//! `results`, `history` ← `import`; see docs/architecture.md.
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
pub mod results;
mod rules;
mod schema;
pub mod time;

pub use atomic::{without_sync, write_atomically, write_bytes_atomically};
pub use error::DataError;
pub use history::{
    Contract, EventKind, HistoryMetadata, HistorySchema, HistorySource, HistoryTable, Replay,
    ReplayEvent, ReplayRun, Side, TimeWindow, TradeSlice, WriteOptions, kline_path, resample_last,
};
#[cfg(feature = "import")]
pub use import::{ImportFormat, ImportReport, ImportRequest, import};
pub use metadata::{SCHEMA_METADATA_KEY, read_metadata};
pub use parquet_io::{CREATED_BY, MAX_ROW_GROUP_ROWS};
pub use results::adl_waves::{
    ADL_WAVES_SCHEMA_ID, AdlWaveRow, adl_waves_batches, read_adl_waves, write_adl_waves,
};
pub use results::balances::write_balances_streamed;
pub use results::balances::{
    BALANCES_SCHEMA_ID, BalanceParty, BalanceRow, Conservation, balances_batches, read_balances,
    write_balances,
};
pub use results::bands::{
    BAND_QUANTILES, BANDS_SCHEMA_ID, BandSeries, BandsTable, bands_batches, bands_batches_chunked,
    read_bands, read_bands_chunked, write_bands, write_bands_chunked,
};
pub use results::batches::TableBatches;
pub use results::haircuts::{
    HAIRCUTS_SCHEMA_ID, HaircutsTable, haircuts_batches, read_haircuts, write_haircuts,
};
pub use results::market_fund_steps::{
    MARKET_FUND_STEPS_SCHEMA_ID, MarketFundStepRow, MarketFundStepsTable,
    market_fund_steps_batches, read_market_fund_steps, write_market_fund_steps,
};
pub use results::market_funds::{
    MARKET_FUNDS_SCHEMA_ID, MarketFundRow, market_funds_batches, read_market_funds,
    write_market_funds,
};
pub use results::metrics::{METRICS, Metric, MetricUnit, PATH_METRICS, find_metric};
pub use results::paths::{PATHS_SCHEMA_ID, PathsTable, paths_batches, read_paths, write_paths};
pub use results::positions::{
    POSITIONS_SCHEMA_ID, PositionRow, positions_batches, positions_schema, read_positions,
    write_positions,
};
pub use results::steps::{
    STEPS_SCHEMA_ID, StepsTable, read_steps, read_steps_chunked, steps_batches,
    steps_batches_chunked, steps_schema, write_steps, write_steps_chunked,
};
pub use results::summary::{
    Aggregates, MetricSummary, PopulationSummary, Probability, RankedSet, RunSummary,
    SetFundNeeded, SetSummary, Summary, TailRisk, summary_json, write_summary,
};
pub use results::sweep::{
    SWEEP_SCHEMA_ID, SweepProbability, SweepRow, SweepTable, read_sweep, sweep_batches, write_sweep,
};
