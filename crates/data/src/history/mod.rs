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
//! ([`DataError::MissingMetadata`], [`DataError::InvalidMetadata`]).
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
//! # Replay
//!
//! [`HistorySource`] streams the events of one trades, prices or funding file
//! inside a [`TimeWindow`], one record batch at a time, reading only the
//! columns it needs and only the row groups whose `ts` statistics overlap the
//! window. [`Replay`] merges any number of sources into one time-ordered
//! stream of [`ReplayEvent`]s; see [`Replay`] for the order of events with
//! equal timestamps. [`resample_last`] turns such a stream into a fixed-step
//! price path, and [`kline_path`] turns a kline into four timed prices.

use std::path::Path;

use crate::DataError;
use crate::parquet_io::MAX_ROW_GROUP_ROWS;

pub mod depth;
mod format;
pub mod funding;
pub mod prices;
pub mod replay;
pub mod resample;
pub mod trades;

pub use depth::{DEPTH_SCHEMA_ID, DepthRow, depth_schema, read_depth, write_depth};
#[cfg(feature = "import")]
pub(crate) use format::RowWriter;
pub use funding::{FUNDING_SCHEMA_ID, FundingRow, funding_schema, read_funding, write_funding};
pub use prices::{PRICES_SCHEMA_ID, PriceRow, prices_schema, read_prices, write_prices};
pub use replay::{EventKind, HistorySource, Replay, ReplayEvent};
pub use resample::{kline_path, resample_last};
pub use trades::{Side, TRADES_SCHEMA_ID, TradeRow, read_trades, trades_schema, write_trades};

/// Metadata key holding the symbol a tick-history file covers.
pub const SYMBOL_METADATA_KEY: &str = "backstop.symbol";
/// Metadata key holding the venue a tick-history file comes from.
pub const VENUE_METADATA_KEY: &str = "backstop.venue";
/// Metadata key holding where a tick-history file's data came from.
pub const SOURCE_METADATA_KEY: &str = "backstop.source";
/// Metadata key holding the contract type, `linear` or `inverse`.
pub const CONTRACT_METADATA_KEY: &str = "backstop.contract";
/// Metadata key holding the USD face value of one inverse contract.
pub const CONTRACT_SIZE_METADATA_KEY: &str = "backstop.contract_size_usd";
/// Metadata key holding the version of the importing tool (optional).
pub const TOOL_VERSION_METADATA_KEY: &str = "backstop.tool_version";

/// The keys [`HistoryMetadata`] reads and writes itself; callers may not
/// pass them in [`HistoryMetadata::extra`].
const HISTORY_KEYS: [&str; 6] = [
    SYMBOL_METADATA_KEY,
    VENUE_METADATA_KEY,
    SOURCE_METADATA_KEY,
    CONTRACT_METADATA_KEY,
    CONTRACT_SIZE_METADATA_KEY,
    TOOL_VERSION_METADATA_KEY,
];

/// Which of the four tick-history schemas a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HistorySchema {
    /// `trades/v1`, see [`trades`].
    Trades,
    /// `prices/v1`, see [`prices`].
    Prices,
    /// `funding/v1`, see [`funding`].
    Funding,
    /// `depth/v1`, see [`depth`].
    Depth,
}

impl HistorySchema {
    /// Every schema, in declaration order.
    pub const ALL: [Self; 4] = [Self::Trades, Self::Prices, Self::Funding, Self::Depth];

    /// The schema's `backstop.schema` identifier, e.g. `"trades/v1"`.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::Trades => TRADES_SCHEMA_ID,
            Self::Prices => PRICES_SCHEMA_ID,
            Self::Funding => FUNDING_SCHEMA_ID,
            Self::Depth => DEPTH_SCHEMA_ID,
        }
    }

    /// The schema with identifier `id`, if it is one of the four.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|schema| schema.id() == id)
    }
}

/// How a symbol's sizes are denominated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Contract {
    /// USD(T)-margined: sizes are in base units, notional = size × price.
    Linear,
    /// Coin-margined (COIN-M): sizes are in contracts of a fixed USD face
    /// value, notional = size × `contract_size_usd`.
    Inverse {
        /// USD face value of one contract (e.g. 100 for BTCUSD perpetuals,
        /// 10 for most others), finite and > 0.
        contract_size_usd: f64,
    },
}

impl Contract {
    /// USD notional of `size` (as recorded in the file) traded at `price`.
    #[must_use]
    pub fn notional_usd(self, size: f64, price: f64) -> f64 {
        match self {
            Self::Linear => size * price,
            Self::Inverse { contract_size_usd } => size * contract_size_usd,
        }
    }

    /// `size` (as recorded in the file) converted to base units at `price`.
    #[must_use]
    pub fn base_units(self, size: f64, price: f64) -> f64 {
        match self {
            Self::Linear => size,
            Self::Inverse { contract_size_usd } => size * contract_size_usd / price,
        }
    }
}

/// What a tick-history file records about its contents, stored as Parquet
/// key-value metadata (see the [module docs](self) for the keys).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMetadata {
    /// The venue's symbol, e.g. `BTCUSDT` (non-empty).
    pub symbol: String,
    /// The venue, e.g. `binance-usdm` (non-empty).
    pub venue: String,
    /// Where the data came from, e.g. `tardis:trades` (non-empty).
    pub source: String,
    /// How sizes are denominated.
    pub contract: Contract,
    /// Version of the tool that imported the data, if recorded.
    pub tool_version: Option<String>,
    /// Any other key-value pairs, sorted by key when read. Must not use the
    /// keys above, `backstop.schema` or `ARROW:schema`.
    pub extra: Vec<(String, String)>,
}

impl HistoryMetadata {
    /// Metadata with no tool version and no extra pairs.
    #[must_use]
    pub fn new(
        symbol: impl Into<String>,
        venue: impl Into<String>,
        source: impl Into<String>,
        contract: Contract,
    ) -> Self {
        Self {
            symbol: symbol.into(),
            venue: venue.into(),
            source: source.into(),
            contract,
            tool_version: None,
            extra: Vec::new(),
        }
    }
}

/// A half-open UTC time window `[start_ns, end_ns)`, ns since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    start_ns: i64,
    end_ns: i64,
}

impl TimeWindow {
    /// Every timestamp except `i64::MAX` (the end is exclusive).
    pub const ALL: Self = Self {
        start_ns: i64::MIN,
        end_ns: i64::MAX,
    };

    /// The window `[start_ns, end_ns)`; empty when `start_ns == end_ns`.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidInput`] if `start_ns > end_ns`.
    pub fn new(start_ns: i64, end_ns: i64) -> Result<Self, DataError> {
        if start_ns > end_ns {
            return Err(DataError::InvalidInput {
                what: "time window",
                reason: format!("start {start_ns} ns is after end {end_ns} ns"),
            });
        }
        Ok(Self { start_ns, end_ns })
    }

    /// First timestamp inside the window.
    #[must_use]
    pub const fn start_ns(self) -> i64 {
        self.start_ns
    }

    /// First timestamp after the window.
    #[must_use]
    pub const fn end_ns(self) -> i64 {
        self.end_ns
    }

    /// Whether `ts_ns` lies in `[start_ns, end_ns)`.
    #[must_use]
    pub const fn contains(self, ts_ns: i64) -> bool {
        self.start_ns <= ts_ns && ts_ns < self.end_ns
    }

    /// Whether any timestamp in `[min_ns, max_ns]` lies in the window.
    #[must_use]
    pub const fn overlaps(self, min_ns: i64, max_ns: i64) -> bool {
        min_ns < self.end_ns && max_ns >= self.start_ns && min_ns <= max_ns
    }
}

/// Options for the tick-history writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Rows per Parquet row group (the last may be shorter), > 0. Smaller
    /// groups let a [`HistorySource`] skip more data outside its window, at
    /// some cost in file size. Default [`MAX_ROW_GROUP_ROWS`].
    pub max_row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            max_row_group_rows: MAX_ROW_GROUP_ROWS,
        }
    }
}

impl WriteOptions {
    /// These options with `max_row_group_rows` replaced.
    #[must_use]
    pub const fn with_max_row_group_rows(mut self, rows: usize) -> Self {
        self.max_row_group_rows = rows;
        self
    }
}

/// A whole tick-history file read into memory: its metadata and its rows in
/// file order.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryTable<R> {
    /// The file's key-value metadata.
    pub metadata: HistoryMetadata,
    /// The rows, in file (and therefore time) order.
    pub rows: Vec<R>,
}

/// Reads which schema a tick-history file holds and its metadata, without
/// reading any rows.
///
/// # Errors
///
/// [`DataError::Io`] / [`DataError::NotParquet`] if the file cannot be opened
/// as Parquet; [`DataError::MissingMetadata`] if a required key (including
/// `backstop.schema`) is absent; [`DataError::SchemaMismatch`] if
/// `backstop.schema` is not a tick-history schema;
/// [`DataError::InvalidMetadata`] for an unusable value.
pub fn read_history_metadata(path: &Path) -> Result<(HistorySchema, HistoryMetadata), DataError> {
    let opened = format::open(path, &HistorySchema::ALL)?;
    Ok((opened.schema, opened.metadata))
}
