//! Tick history: per-symbol Parquet files of trades, prices, funding and
//! order-book depth, and a streaming, time-ordered replay of them.
//!
//! # Files
//!
//! Each file holds **one symbol** of one venue and one of four schemas
//! (column tables in each module):
//!
//! | schema       | module     | rows                                           | written by        |
//! |--------------|------------|------------------------------------------------|-------------------|
//! | `trades/v1`  | [`trades`] | [`TradeRow`]: executed trades                  | [`write_trades`]  |
//! | `prices/v1`  | [`prices`] | [`PriceRow`]: mark (and index) prices          | [`write_prices`]  |
//! | `funding/v1` | [`funding`]| [`FundingRow`]: funding-rate settlements       | [`write_funding`] |
//! | `depth/v1`   | [`depth`]  | [`DepthRow`]: cumulative book depth by % band  | [`write_depth`]   |
//!
//! Every file starts with a `ts` column, `Timestamp(ns, "UTC")`, whose values
//! must be **non-decreasing** through the file; row groups are therefore time
//! ranges, which is what lets [`HistorySource`] skip row groups outside a time
//! window. The row types are plain data and know nothing of Parquet; the Arrow
//! encoding of each lives beside it, in its module.
//!
//! # Key-value metadata
//!
//! | key                         | required            | value                                                        |
//! |-----------------------------|---------------------|--------------------------------------------------------------|
//! | `backstop.schema`           | yes                 | `trades/v1`, `prices/v1`, `funding/v1` or `depth/v1`         |
//! | `backstop.symbol`           | yes                 | the venue's symbol, e.g. `BTCUSDT`, non-empty                |
//! | `backstop.venue`            | yes                 | e.g. `binance-usdm`, non-empty                               |
//! | `backstop.source`           | yes                 | where the data came from, e.g. `tardis:trades`, non-empty    |
//! | `backstop.contract`         | yes                 | `linear` or `inverse`                                        |
//! | `backstop.contract_size_usd`| for `inverse` only  | USD face value of one contract, finite and > 0               |
//! | `backstop.tool_version`     | no                  | version of the tool that imported the data                   |
//!
//! They are read into and written from [`HistoryMetadata`]; other keys are
//! carried through as [`HistoryMetadata::extra`]. Readers reject a file that
//! lacks a required key or has an unusable value
//! ([`DataError::MissingMetadata`](crate::DataError::MissingMetadata),
//! [`DataError::InvalidMetadata`](crate::DataError::InvalidMetadata)).
//!
//! **Sizes.** For a [`Contract::Linear`] symbol, trade sizes and book depth are
//! in base units (BTC for `BTCUSDT`). For a [`Contract::Inverse`] (COIN-M)
//! symbol they are in contracts of `contract_size_usd` USD each, as the venue
//! records them; [`Contract::notional_usd`] and [`Contract::base_units`]
//! convert.
//!
//! # Writing and reading
//!
//! Writers validate every row before anything touches the disk (finite,
//! positive prices; finite rates; finite, non-negative sizes; non-decreasing
//! timestamps), then write atomically and deterministically, exactly as the
//! crate's other writers. [`read_trades`] and friends read a whole file into
//! memory, validating every row; for long histories use the replay instead.
//!
//! # Code
//!
//! The Parquet codec every schema shares (columns, metadata, cursor, writing
//! rows) is in [`codec`]; each row type is in its own file ([`trades`],
//! [`prices`], [`funding`], [`depth`]) beside it; [`merge`] streams and merges
//! files into one replay, and [`resample`] turns a replay into fixed steps.
//!
//! # Replay
//!
//! [`HistorySource`] streams the events of one trades, prices or funding file
//! inside a [`TimeWindow`], one record batch at a time, reading only the
//! columns it needs and only the row groups whose `ts` statistics overlap the
//! window. [`Replay`] merges any number of sources into one time-ordered
//! stream of [`ReplayEvent`]s; see [`Replay`] for the order of events with
//! equal timestamps. [`resample_last`] turns such a stream into a fixed-step
//! price path, and [`kline_path`] turns a kline into four timed prices.

pub mod codec;
pub mod depth;
pub mod funding;
pub mod merge;
pub mod prices;
pub mod resample;
pub mod trades;
pub mod window;

pub use codec::metadata::{
    CONTRACT_METADATA_KEY, CONTRACT_SIZE_METADATA_KEY, Contract, HistoryMetadata, HistorySchema,
    SOURCE_METADATA_KEY, SYMBOL_METADATA_KEY, TOOL_VERSION_METADATA_KEY, VENUE_METADATA_KEY,
    read_history_metadata,
};
#[cfg(feature = "import")]
pub(crate) use codec::rows::RowWriter;
pub use codec::rows::{HistoryTable, WriteOptions};
pub use depth::{DEPTH_SCHEMA_ID, DepthRow, depth_schema, read_depth, write_depth};
pub use funding::{FUNDING_SCHEMA_ID, FundingRow, funding_schema, read_funding, write_funding};
pub use merge::{EventKind, HistorySource, Replay, ReplayEvent, ReplayRun};
pub use prices::{PRICES_SCHEMA_ID, PriceRow, prices_schema, read_prices, write_prices};
pub use resample::{kline_path, resample_last};
pub use trades::{
    Side, TRADES_SCHEMA_ID, TradeRow, TradeSlice, read_trades, trades_schema, write_trades,
};
pub use window::TimeWindow;
