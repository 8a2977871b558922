// Over 600 lines: the module docs (the importers' contract) and the request/report types take half.
//! Importers: the files exchanges and data vendors publish → tick-history
//! Parquet ([`history`](crate::history)), one symbol per output file.
//!
//! | [`ImportFormat`]     | input                                              | output       | `backstop.source`      |
//! |----------------------|----------------------------------------------------|--------------|------------------------|
//! | `BinanceKlines`      | Binance klines / markPriceKlines / indexPriceKlines | `prices/v1`  | `binance:klines`       |
//! | `BinanceFunding`     | Binance fundingRate                                | `funding/v1` | `binance:fundingRate`  |
//! | `BinanceBookDepth`   | Binance bookDepth                                  | `depth/v1`   | `binance:bookDepth`    |
//! | `BinanceTrades`      | Binance trades                                     | `trades/v1`  | `binance:trades`       |
//! | `BinanceAggTrades`   | Binance aggTrades                                  | `trades/v1`  | `binance:aggTrades`    |
//! | `TardisTrades`       | Tardis.dev normalised `trades`                     | `trades/v1`  | `tardis:trades`        |
//!
//! Column layouts and the rules for each are in the format's module:
//! `klines`, `funding`, `book_depth`, `binance_trades`, `tardis`.
//!
//! # Inputs
//!
//! Any number of files of one symbol (for example a month of daily zips):
//! plain CSV, gzip (`.gz`) or a zip archive holding one CSV (detected by
//! content, not by name), with or without a header line (a header is a first
//! line with no numeric field). With a header, columns are found by name (in
//! any order, case-insensitive; extra columns are ignored); without, by
//! position in the venue's published layout. The rows of all inputs are
//! concatenated, deduplicated and sorted (stable: rows with equal sort keys
//! keep their input order).
//!
//! # Bad data
//!
//! Nothing is dropped silently. A row that fails a format's checks (an
//! unparseable, NaN, infinite, zero or negative price; an unparseable
//! timestamp; an unknown side; ...) is **rejected**: counted in
//! [`ImportReport::rejected`], with the first [`MAX_REJECTED_EXAMPLES`]
//! quoted in [`ImportReport::rejected_examples`] as `file:line: column
//! `c`: reason: "raw text"`. Exact duplicate records (the same trade twice,
//! the same kline in two overlapping files) are kept once and counted in
//! [`ImportReport::duplicates_dropped`]. A whole input that is unusable is
//! an error naming the file: empty ([`DataError::EmptyInput`]), lacking a
//! required column ([`DataError::MissingCsvColumn`]), a truncated or corrupt
//! archive ([`DataError::Decompress`]), or unreadable CSV (such as a line
//! with too many fields: [`DataError::Import`]). So is a request in which
//! every row is rejected.
//!
//! # Mark and index pairing
//!
//! The `prices/v1` schema has a `mark` and a nullable `index` column. A
//! [`ImportFormat::BinanceKlines`] request may name, besides its
//! (mark-price) inputs, [`ImportRequest::index_inputs`]: Binance
//! `indexPriceKlines` files of the same symbol and interval. Both are parsed,
//! checked (rejected rows counted separately, in
//! [`ImportReport::index_rejected`]), deduplicated and expanded into kline
//! paths alike; then the mark rows are left-joined (polars) with the index
//! rows on `ts`. Every point of a kline's path is at a fixed fraction of the
//! interval (open, ¼, ½, ¾), so a mark kline and the index kline with the
//! same open time and interval meet at all four points; a mark row with no
//! index row at its time keeps a null `index`, and index rows with no mark
//! row are dropped ([`ImportReport::rows_with_index`] says how many rows got
//! one). Two different index klines at one time are an error
//! ([`DataError::InvalidInput`] naming the index files), as is a request
//! with index inputs and no valid index row. The index file names are
//! recorded under `backstop.import.index_inputs`.
//!
//! # Output
//!
//! The output has exactly the schema's column names and Arrow types (`ts` is
//! `Timestamp(ns, "UTC")`, `side` `Int8`, ...) and carries
//! [`HistoryMetadata`] as key-value metadata: symbol, venue, source,
//! contract (with `backstop.contract_size_usd` for inverse symbols, see
//! [`contract_for`]), `backstop.tool_version`, and
//! `backstop.import.format` / `backstop.import.inputs` (the input file
//! names). It is written by polars' streaming Parquet sink (snappy, row
//! groups of [`MAX_ROW_GROUP_ROWS`](crate::MAX_ROW_GROUP_ROWS) rows,
//! statistics on), or by this crate's arrow-rs writer after an external
//! sort (see [Memory](#memory-bounded-by-the-sort-buffer)), into a scratch
//! directory beside the output, read back and checked with this crate's own
//! reader, and only then renamed into place: on any error no output file
//! (and no scratch file) is left behind.
//!
//! Two differences of the imported files from those written by
//! [`write_trades`](crate::history::write_trades) and friends, neither of
//! which readers see: every Parquet column is OPTIONAL (the non-nullable
//! columns hold no nulls; the reader checks every row), as polars writes them
//! and the external sort's writer does too, so both sorts write the identical
//! schema; and polars records no `sorting_columns` (rows are sorted all the
//! same, and the reader checks that too). Writing REQUIRED columns from polars
//! would need its `dtype-struct` feature (for
//! `ParquetWriteOptions::arrow_schema`), which is not worth its compile time
//! here.
//!
//! **Times.** A record whose time is before 2009-01-01 or more than ten years
//! from now is rejected like any bad row (`file:line: column `time`: time
//! outside 2009-01-01 .. ten years from now`): a `ts` of 1e17 ns is 1973, not
//! a trade.
//!
//! # Memory: bounded by the sort buffer
//!
//! The scan and the Parquet sink stream, but polars' dedupe
//! (`unique_stable`) and sort hold every record of the request: about
//! 150 bytes per trade row. So a request is sorted in memory only while
//! its valid records (duplicates included) number at most
//! [`ImportRequest::sort_buffer_rows`] (default
//! [`DEFAULT_SORT_BUFFER_ROWS`], `backstop import --sort-buffer-rows N`).
//! A larger one is sorted **out of core**, with the same result (the same
//! rows in the same order, the same report):
//!
//! 1. polars' streaming engine sinks the valid typed records, unsorted and
//!    with their input position (file, line), to a scratch Parquet file;
//! 2. that file is read back in slices of at most `sort_buffer_rows`
//!    records; each is sorted by the format's keys, then by input position,
//!    its exact duplicate records dropped (at the record level: a kline
//!    before it becomes four rows) and written as a sorted run;
//! 3. the runs are k-way merged with the arrow-rs reader (one batch of
//!    4,096 records per run; 64 runs at a time, in passes while there are
//!    more), dropping the duplicates that meet across runs, expanding
//!    records into rows (klines: four, in the in-memory order), and the
//!    output is written with this crate's arrow-rs writer (the schema,
//!    metadata and row groups of [`write_trades`](crate::history::write_trades)
//!    and friends), then verified and published as above.
//!
//! **Ties.** Records with equal sort keys (a trade id seen at one time with
//! two prices, two different klines with one open time), in one run or
//! across runs, keep their input order: the order of the request's files,
//! then of their lines, as in the in-memory stable sort. Of exact
//! duplicates the first in that order is kept; the count is exact across
//! runs. Kline rows at equal times are ordered by their point (open, ¼,
//! ½, ¾), then by input order, as in memory. The merge remembers only the
//! distinct records of the current key (normally one), so memory grows only
//! with records that share one key. Index pairing stays in memory: the
//! index klines' rows (four per kline, from index kline files: a year of
//! 1-minute klines is about 2 M rows, 32 MB) are held in a map.
//!
//! Peak memory is then about the buffer (some 72 bytes per record, plus
//! polars' scan and sink and one row group of output), not the input.
//! Measured (peak RSS, `/usr/bin/time -v`, `scripts/import-memory.sh`: a
//! generated Binance `trades` CSV of 10 M rows (573 MB) with 0.1 %
//! duplicates, locally shuffled): in memory (a buffer above 10 M) 1.68 GB
//! in 17 s; external (the default buffer: 5 runs) 653 MB in 59 s, of which
//! only about 190 MB is the process's own (anonymous) memory, the rest
//! being pages of the CSV, which polars memory-maps and the kernel reclaims
//! under pressure. The external import completes under a 1 GiB memory
//! cgroup (where the in-memory one is killed) and under 320 MiB (in
//! 1 min 40 s). A 250 k buffer peaks the same (the scan dominates); 1 M
//! rows take 146 MB external, 289 MB in memory. Times are of a dev-profile
//! binary (dependencies optimised, this crate not) on a shared 2-core
//! machine.
//!
//! Scratch files (decompressed inputs, the records, the runs, the output in
//! progress) live in a scratch folder beside the output (`.backstop-import-*`)
//! and are removed on success and on every error; they take about the
//! size of the output twice over. Only a process killed by the kernel
//! cannot remove its scratch folder, which is then safe to delete.

//! # Example
//!
//! ```no_run
//! use backstop_data::import::{ImportFormat, ImportRequest, import};
//!
//! let request = ImportRequest::new(
//!     ImportFormat::TardisTrades,
//!     vec!["binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz".into()],
//!     "ATOMUSD_PERP.trades.parquet",
//!     "binance-coinm",
//! );
//! let report = import(&request)?;
//! println!("{} rows, {} rejected", report.rows_written, report.rejected);
//! # Ok::<(), backstop_data::DataError>(())
//! ```

mod binance_trades;
mod book_depth;
mod external;
mod funding;
mod importer;
mod infer;
mod input;
mod klines;
mod pipeline;
mod scan;
mod sink;
mod tardis;
mod verify;

pub use infer::{
    KNOWN_PATTERNS, format_from_header, format_from_name, infer_format, known_formats,
};

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::DataError;
use crate::history::codec::metadata::metadata_pairs;
use crate::history::{Contract, HistoryMetadata, HistorySchema};
use crate::metadata::build_key_value_metadata;
use crate::parquet_io::CREATED_BY;

/// How many rejected rows [`ImportReport::rejected_examples`] quotes.
pub const MAX_REJECTED_EXAMPLES: usize = importer::MAX_EXAMPLES;

/// The default [`ImportRequest::sort_buffer_rows`]: 2 M records, about
/// 150 MB for the external sort's buffer, and the most the in-memory path
/// (about 150 bytes per trade row) is given.
pub const DEFAULT_SORT_BUFFER_ROWS: usize = 2_000_000;

/// Metadata key naming the import format (an extra, non-reserved key).
pub const FORMAT_METADATA_KEY: &str = "backstop.import.format";
/// Metadata key listing the input file names, comma-separated.
pub const INPUTS_METADATA_KEY: &str = "backstop.import.inputs";
/// Metadata key listing the index-price input file names, comma-separated
/// (only when there are some).
pub const INDEX_INPUTS_METADATA_KEY: &str = "backstop.import.index_inputs";

/// A source file format the importers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    /// Binance public-data klines, markPriceKlines, indexPriceKlines →
    /// `prices/v1` (four rows per kline via [`kline_path`](crate::kline_path)).
    BinanceKlines,
    /// Binance public-data fundingRate → `funding/v1`.
    BinanceFunding,
    /// Binance public-data bookDepth → `depth/v1`.
    BinanceBookDepth,
    /// Binance public-data trades → `trades/v1`.
    BinanceTrades,
    /// Binance public-data aggTrades → `trades/v1`.
    BinanceAggTrades,
    /// Tardis.dev normalised trades → `trades/v1`.
    TardisTrades,
}

impl ImportFormat {
    /// Every format.
    pub const ALL: [Self; 6] = [
        Self::BinanceKlines,
        Self::BinanceFunding,
        Self::BinanceBookDepth,
        Self::BinanceTrades,
        Self::BinanceAggTrades,
        Self::TardisTrades,
    ];

    /// The format's name, as parsed by [`FromStr`]: `binance-klines`,
    /// `binance-funding`, `binance-book-depth`, `binance-trades`,
    /// `binance-agg-trades`, `tardis-trades`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BinanceKlines => "binance-klines",
            Self::BinanceFunding => "binance-funding",
            Self::BinanceBookDepth => "binance-book-depth",
            Self::BinanceTrades => "binance-trades",
            Self::BinanceAggTrades => "binance-agg-trades",
            Self::TardisTrades => "tardis-trades",
        }
    }

    /// The tick-history schema the output holds.
    #[must_use]
    pub const fn schema(self) -> HistorySchema {
        match self {
            Self::BinanceKlines => HistorySchema::Prices,
            Self::BinanceFunding => HistorySchema::Funding,
            Self::BinanceBookDepth => HistorySchema::Depth,
            Self::BinanceTrades | Self::BinanceAggTrades | Self::TardisTrades => {
                HistorySchema::Trades
            }
        }
    }

    /// The `backstop.source` value written, e.g. `tardis:trades`.
    #[must_use]
    pub const fn source(self) -> &'static str {
        match self {
            Self::BinanceKlines => "binance:klines",
            Self::BinanceFunding => "binance:fundingRate",
            Self::BinanceBookDepth => "binance:bookDepth",
            Self::BinanceTrades => "binance:trades",
            Self::BinanceAggTrades => "binance:aggTrades",
            Self::TardisTrades => "tardis:trades",
        }
    }
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportFormat {
    type Err = DataError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| DataError::InvalidInput {
                what: "import format",
                reason: format!(
                    "unknown format {name:?}; expected one of {}",
                    Self::ALL.map(Self::name).join(", ")
                ),
            })
    }
}

/// What to import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRequest {
    /// The source format.
    pub format: ImportFormat,
    /// Input files, all of one symbol (at least one).
    pub inputs: Vec<PathBuf>,
    /// The Parquet file to write (replaced atomically if it exists).
    pub output: PathBuf,
    /// The symbol; `None` infers it from the input file names (see
    /// [`infer_symbol`]), which must then agree.
    pub symbol: Option<String>,
    /// The venue recorded in the metadata, e.g. `binance-usdm` (non-empty).
    pub venue: String,
    /// USD face value of one contract, for inverse (COIN-M) symbols missing
    /// from [`COINM_CONTRACT_SIZES_USD`] or to override it; must be `None`
    /// for a linear symbol.
    pub contract_size_usd: Option<f64>,
    /// Index-price kline files (Binance `indexPriceKlines`) to pair with the
    /// mark-price klines of `inputs`; only for [`ImportFormat::BinanceKlines`].
    /// Empty: the output's `index` column is all null. See [Mark and index
    /// pairing](self#mark-and-index-pairing).
    pub index_inputs: Vec<PathBuf>,
    /// At most this many records are sorted in memory at once (at least 1;
    /// default [`DEFAULT_SORT_BUFFER_ROWS`]). A request with more valid
    /// records is sorted and deduplicated out of core, in runs of this many
    /// records (see [Memory](self#memory-bounded-by-the-sort-buffer)), with
    /// the same result.
    pub sort_buffer_rows: usize,
}

impl ImportRequest {
    /// A request with the symbol inferred and no contract-size override.
    #[must_use]
    pub fn new(
        format: ImportFormat,
        inputs: Vec<PathBuf>,
        output: impl Into<PathBuf>,
        venue: impl Into<String>,
    ) -> Self {
        Self {
            format,
            inputs,
            output: output.into(),
            symbol: None,
            venue: venue.into(),
            contract_size_usd: None,
            index_inputs: Vec::new(),
            sort_buffer_rows: DEFAULT_SORT_BUFFER_ROWS,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// Data rows read from all inputs (header lines excluded).
    pub rows_read: usize,
    /// Rows written to the output (four per kline for klines).
    pub rows_written: usize,
    /// Input rows dropped as exact duplicates of an earlier record.
    pub duplicates_dropped: usize,
    /// Input rows rejected by the format's checks.
    pub rejected: usize,
    /// The first [`MAX_REJECTED_EXAMPLES`] rejected rows (in input order), each
    /// `file:line: column `c`: reason: "raw text"`.
    pub rejected_examples: Vec<String>,
    /// Data rows read from the index inputs (0 without index inputs).
    pub index_rows_read: usize,
    /// Index input rows rejected by the checks (their examples are in
    /// [`Self::rejected_examples`] with the others, naming their file).
    pub index_rejected: usize,
    /// Output rows whose `index` is set: those whose timestamp matches a
    /// point of an index kline's path.
    pub rows_with_index: usize,
    /// Timestamp of the first output row, ns since the Unix epoch.
    pub first_ts_ns: i64,
    /// Timestamp of the last output row, ns since the Unix epoch.
    pub last_ts_ns: i64,
    /// The metadata written.
    pub metadata: HistoryMetadata,
}

/// USD face value of one contract of Binance COIN-M (inverse) futures, by
/// base asset, for the perpetual (`{BASE}USD_PERP`) and the quarterly
/// delivery contracts (`{BASE}USD_YYMMDD`) alike: 100 USD for BTC, 10 USD for
/// every other coin, as Binance's contract specifications state. The bases
/// listed are those Binance has listed on COIN-M; a base not listed (a new
/// listing) takes [`COINM_OTHER_CONTRACT_SIZE_USD`] by the same rule.
pub const COINM_CONTRACT_SIZES_USD: &[(&str, f64)] = &[
    ("BTC", 100.0),
    ("AAVE", 10.0),
    ("ADA", 10.0),
    ("ALGO", 10.0),
    ("APE", 10.0),
    ("APT", 10.0),
    ("ARB", 10.0),
    ("ATOM", 10.0),
    ("AVAX", 10.0),
    ("AXS", 10.0),
    ("BCH", 10.0),
    ("BNB", 10.0),
    ("CHZ", 10.0),
    ("CRV", 10.0),
    ("DOGE", 10.0),
    ("DOT", 10.0),
    ("EGLD", 10.0),
    ("ENS", 10.0),
    ("EOS", 10.0),
    ("ETC", 10.0),
    ("ETH", 10.0),
    ("FIL", 10.0),
    ("FTM", 10.0),
    ("GALA", 10.0),
    ("GMT", 10.0),
    ("ICP", 10.0),
    ("ICX", 10.0),
    ("KNC", 10.0),
    ("LDO", 10.0),
    ("LINK", 10.0),
    ("LTC", 10.0),
    ("MANA", 10.0),
    ("MATIC", 10.0),
    ("NEAR", 10.0),
    ("OP", 10.0),
    ("POL", 10.0),
    ("ROSE", 10.0),
    ("RUNE", 10.0),
    ("SAND", 10.0),
    ("SHIB", 10.0),
    ("SOL", 10.0),
    ("SUI", 10.0),
    ("THETA", 10.0),
    ("TON", 10.0),
    ("TRX", 10.0),
    ("UNI", 10.0),
    ("VET", 10.0),
    ("WIF", 10.0),
    ("WLD", 10.0),
    ("XLM", 10.0),
    ("XMR", 10.0),
    ("XRP", 10.0),
    ("XTZ", 10.0),
    ("ZIL", 10.0),
];

/// USD face value of a Binance COIN-M contract whose base is not BTC (and not
/// in [`COINM_CONTRACT_SIZES_USD`]): 10 USD, Binance's rule for every coin but
/// BTC.
pub const COINM_OTHER_CONTRACT_SIZE_USD: f64 = 10.0;

/// The base asset of a COIN-M symbol (`BTC` for `BTCUSD_PERP` or
/// `BTCUSD_251226`), `None` for any other symbol.
#[must_use]
pub fn coinm_base(symbol: &str) -> Option<&str> {
    let (pair, suffix) = symbol.split_once('_')?;
    let base = pair.strip_suffix("USD")?;
    let dated = suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_digit());
    (!base.is_empty() && (suffix == "PERP" || dated)).then_some(base)
}

/// How `symbol`'s sizes are denominated: [`Contract::Inverse`] for COIN-M
/// symbols (see [`coinm_base`]), with `contract_size_usd` if given, else the
/// face value from [`COINM_CONTRACT_SIZES_USD`] (100 USD for BTC, 10 USD for
/// any other base, listed or not); [`Contract::Linear`] otherwise.
///
/// # Errors
///
/// [`DataError::InvalidInput`] for an override that is not
/// finite and > 0, or one given for a linear symbol.
pub fn contract_for(symbol: &str, contract_size_usd: Option<f64>) -> Result<Contract, DataError> {
    let invalid = |reason: String| DataError::InvalidInput {
        what: "contract size",
        reason,
    };
    if let Some(size) = contract_size_usd
        && !(size.is_finite() && size > 0.0)
    {
        return Err(invalid(format!(
            "contract_size_usd must be finite and > 0, got {size}"
        )));
    }
    match (coinm_base(symbol), contract_size_usd) {
        (Some(_), Some(size)) => Ok(Contract::Inverse {
            contract_size_usd: size,
        }),
        (Some(base), None) => Ok(Contract::Inverse {
            contract_size_usd: COINM_CONTRACT_SIZES_USD
                .iter()
                .find(|(known, _)| *known == base)
                .map_or(COINM_OTHER_CONTRACT_SIZE_USD, |&(_, size)| size),
        }),
        (None, Some(size)) => Err(invalid(format!(
            "contract_size_usd = {size} given for {symbol:?}, which is not an inverse \
             (COIN-M, `{{BASE}}USD_PERP` or `{{BASE}}USD_YYMMDD`) symbol"
        ))),
        (None, None) => Ok(Contract::Linear),
    }
}

/// The symbol a file name implies, if any:
///
/// - Tardis (`{exchange}_{data type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz`): the part
///   after the date, e.g. `ATOMUSD_PERP`;
/// - Binance public data (`{SYMBOL}-{interval or type}-{date}.zip`) and
///   plain `{SYMBOL}.csv`: the part before the first `-`, e.g. `BTCUSDT`.
///
/// The result must be non-empty upper-case ASCII letters, digits and `_`.
#[must_use]
pub fn infer_symbol(format: ImportFormat, path: &Path) -> Option<String> {
    let mut name = path.file_name()?.to_str()?;
    for extension in [".gz", ".zip", ".csv"] {
        name = name.strip_suffix(extension).unwrap_or(name);
    }
    let symbol = if format == ImportFormat::TardisTrades {
        // Skip `{exchange}_{data type}_`, then the date and its `_`.
        let (_, rest) = name.split_once("_trades_")?;
        let (date, symbol) = rest.split_at_checked(10)?;
        if !date.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return None;
        }
        symbol.strip_prefix('_')?
    } else {
        name.split('-').next()?
    };
    let valid = !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    valid.then(|| symbol.to_owned())
}

/// The symbol to import: the request's, or the one all input names imply.
fn resolve_symbol(request: &ImportRequest) -> Result<String, DataError> {
    let invalid = |reason: String| DataError::InvalidInput {
        what: "symbol",
        reason,
    };
    if let Some(symbol) = &request.symbol {
        if symbol.trim().is_empty() {
            return Err(invalid("the symbol must not be empty".to_owned()));
        }
        return Ok(symbol.clone());
    }
    let mut found: Option<(String, &Path)> = None;
    for path in request.inputs.iter().chain(&request.index_inputs) {
        let Some(symbol) = infer_symbol(request.format, path) else {
            return Err(invalid(format!(
                "cannot infer the symbol from the file name {}; pass it explicitly",
                path.display()
            )));
        };
        match &found {
            Some((first, first_path)) if *first != symbol => {
                return Err(invalid(format!(
                    "input file names imply different symbols: {first} ({}) and {symbol} ({}); \
                     import one symbol at a time or pass the symbol explicitly",
                    first_path.display(),
                    path.display()
                )));
            }
            Some(_) => {}
            None => found = Some((symbol, path)),
        }
    }
    found
        .map(|(symbol, _)| symbol)
        .ok_or_else(|| invalid("no input files".to_owned()))
}

/// Imports `request.inputs` into `request.output`; see the [module
/// docs](self).
///
/// # Errors
///
/// - [`DataError::InvalidInput`] for an unusable request (no inputs, no
///   venue, a symbol that cannot be inferred, a bad contract size) or when no
///   row survives the checks;
/// - naming the input file: [`DataError::Io`], [`DataError::EmptyInput`],
///   [`DataError::MissingCsvColumn`], [`DataError::Decompress`],
///   [`DataError::Import`] (unreadable CSV), [`DataError::InvalidPath`];
/// - naming the output: [`DataError::Import`] (the write failed),
///   [`DataError::ImportVerification`] (the written file did not read back
///   as valid), [`DataError::Io`].
///
/// In every case the output path is left as it was.
pub fn import(request: &ImportRequest) -> Result<ImportReport, DataError> {
    check_request(request)?;
    let symbol = resolve_symbol(request)?;
    let contract = contract_for(&symbol, request.contract_size_usd)?;
    let importer = importer_for(request.format, &symbol);
    let metadata = output_metadata(request, symbol, contract);
    let output = &request.output;
    let key_values = key_values(output, request.format.schema(), &metadata)?;
    let scratch = scratch_dir(output)?;
    let layout = importer.layout();
    let inputs = request
        .inputs
        .iter()
        .enumerate()
        .map(|(n, path)| input::prepare(path, n, scratch.path(), layout))
        .collect::<Result<Vec<_>, _>>()?;
    let index_inputs = request
        .index_inputs
        .iter()
        .enumerate()
        .map(|(n, path)| input::prepare(path, inputs.len() + n, scratch.path(), layout))
        .collect::<Result<Vec<_>, _>>()?;
    let counts = pipeline::run(
        importer.as_ref(),
        &inputs,
        &index_inputs,
        pipeline::Target {
            output,
            scratch: scratch.path(),
            metadata: &metadata,
            key_values,
            sort_buffer_rows: request.sort_buffer_rows,
        },
    )?;
    scratch.close().map_err(|source| {
        DataError::io(
            output,
            "imported, but failed to remove the scratch directory",
            source,
        )
    })?;
    Ok(ImportReport {
        rows_read: counts.rows_read,
        rows_written: counts.rows_written,
        duplicates_dropped: counts.duplicates_dropped,
        rejected: counts.rejected,
        rejected_examples: counts.examples,
        index_rows_read: counts.index_rows_read,
        index_rejected: counts.index_rejected,
        rows_with_index: counts.rows_with_index,
        first_ts_ns: counts.first_ts_ns,
        last_ts_ns: counts.last_ts_ns,
        metadata,
    })
}

/// Refuses a request with no inputs, no venue, index inputs for a format
/// other than klines, or a sort buffer of zero rows.
fn check_request(request: &ImportRequest) -> Result<(), DataError> {
    let invalid = |reason: String| {
        Err(DataError::InvalidInput {
            what: "import request",
            reason,
        })
    };
    if request.inputs.is_empty() {
        return invalid("no input files".to_owned());
    }
    if request.venue.trim().is_empty() {
        return invalid("the venue must not be empty".to_owned());
    }
    if !request.index_inputs.is_empty() && request.format != ImportFormat::BinanceKlines {
        return invalid(format!(
            "index inputs pair index-price klines with mark-price klines \
             (format {}), not with {}",
            ImportFormat::BinanceKlines,
            request.format
        ));
    }
    if request.sort_buffer_rows == 0 {
        return invalid("sort_buffer_rows must be at least 1".to_owned());
    }
    Ok(())
}

/// The importer of `format`.
fn importer_for(format: ImportFormat, symbol: &str) -> Box<dyn importer::Importer> {
    match format {
        ImportFormat::BinanceKlines => Box::new(klines::Klines),
        ImportFormat::BinanceFunding => Box::new(funding::Funding),
        ImportFormat::BinanceBookDepth => Box::new(book_depth::BookDepth),
        ImportFormat::BinanceTrades => {
            Box::new(binance_trades::BinanceTrades { aggregated: false })
        }
        ImportFormat::BinanceAggTrades => {
            Box::new(binance_trades::BinanceTrades { aggregated: true })
        }
        ImportFormat::TardisTrades => Box::new(tardis::TardisTrades {
            symbol: symbol.to_owned(),
        }),
    }
}

/// The metadata of the output: symbol, venue, source, contract, tool version,
/// and the import's format and input file names.
fn output_metadata(request: &ImportRequest, symbol: String, contract: Contract) -> HistoryMetadata {
    let mut metadata = HistoryMetadata::new(
        symbol,
        request.venue.clone(),
        request.format.source(),
        contract,
    );
    metadata.tool_version = Some(CREATED_BY.to_owned());
    let names = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|path| {
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |name| name.to_string_lossy().into_owned(),
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    metadata.extra = vec![
        (
            FORMAT_METADATA_KEY.to_owned(),
            request.format.name().to_owned(),
        ),
        (INPUTS_METADATA_KEY.to_owned(), names(&request.inputs)),
    ];
    if !request.index_inputs.is_empty() {
        metadata.extra.push((
            INDEX_INPUTS_METADATA_KEY.to_owned(),
            names(&request.index_inputs),
        ));
    }
    metadata.extra.sort();
    metadata
}

/// A scratch directory beside `output`, for the decompressed inputs and the
/// output in progress; removed on every exit path when it drops.
fn scratch_dir(output: &Path) -> Result<tempfile::TempDir, DataError> {
    let parent = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if output.file_name().is_none() {
        return Err(DataError::InvalidPath {
            path: output.to_owned(),
            reason: "has no file name",
        });
    }
    tempfile::Builder::new()
        .prefix(".backstop-import-")
        .tempdir_in(parent)
        .map_err(|source| {
            DataError::io(
                output,
                "failed to create a scratch directory beside the output",
                source,
            )
        })
}

/// The key-value pairs written: `backstop.schema` and [`HistoryMetadata`]'s
/// keys, exactly as this crate's own writers write them, sorted by key.
fn key_values(
    output: &Path,
    schema: HistorySchema,
    metadata: &HistoryMetadata,
) -> Result<Vec<(String, String)>, DataError> {
    let pairs = metadata_pairs(output, metadata)?;
    Ok(build_key_value_metadata(output, schema.id(), &pairs)?
        .into_iter()
        .map(|kv| (kv.key, kv.value.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_through_names() {
        for format in ImportFormat::ALL {
            assert_eq!(format.name().parse::<ImportFormat>().unwrap(), format);
            assert_eq!(format.to_string(), format.name());
        }
        assert!(matches!(
            "csv".parse::<ImportFormat>(),
            Err(DataError::InvalidInput { .. })
        ));
    }

    #[test]
    fn symbols_are_inferred_from_file_names() {
        let infer = |format, name: &str| infer_symbol(format, Path::new(name));
        use ImportFormat::*;
        assert_eq!(
            infer(
                TardisTrades,
                "/x/binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz"
            )
            .as_deref(),
            Some("ATOMUSD_PERP")
        );
        assert_eq!(
            infer(BinanceKlines, "BTCUSD_PERP-1m-2025-10-10.zip").as_deref(),
            Some("BTCUSD_PERP")
        );
        assert_eq!(
            infer(BinanceKlines, "BTCUSDT-um-1m-2025-10-10_2028-2237.csv").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(
            infer(BinanceFunding, "clean/BTCUSDT.csv").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(
            infer(BinanceBookDepth, "BTCUSDT-bookDepth-2025-10-10.csv").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(infer(BinanceKlines, "prices.csv"), None);
        assert_eq!(infer(TardisTrades, "trades.csv.gz"), None);
    }

    #[test]
    fn contracts_follow_the_symbol() {
        assert_eq!(contract_for("BTCUSDT", None).unwrap(), Contract::Linear);
        assert_eq!(
            contract_for("BTCUSD_PERP", None).unwrap(),
            Contract::Inverse {
                contract_size_usd: 100.0
            }
        );
        assert_eq!(
            contract_for("ETHUSD_251226", None).unwrap(),
            Contract::Inverse {
                contract_size_usd: 10.0
            }
        );
        assert_eq!(
            contract_for("NEWUSD_PERP", Some(5.0)).unwrap(),
            Contract::Inverse {
                contract_size_usd: 5.0
            }
        );
        // Every COIN-M base but BTC is 10 USD, listed or not (delivery too).
        for symbol in [
            "NEWUSD_PERP",
            "SOLUSD_260327",
            "XRPUSD_PERP",
            "DOGEUSD_251226",
        ] {
            assert_eq!(
                contract_for(symbol, None).unwrap(),
                Contract::Inverse {
                    contract_size_usd: 10.0
                },
                "{symbol}"
            );
        }
        assert_eq!(
            contract_for("BTCUSD_260327", None).unwrap(),
            Contract::Inverse {
                contract_size_usd: 100.0
            }
        );
        assert!(matches!(
            contract_for("BTCUSDT", Some(100.0)),
            Err(DataError::InvalidInput { .. })
        ));
        assert!(matches!(
            contract_for("BTCUSD_PERP", Some(f64::NAN)),
            Err(DataError::InvalidInput { .. })
        ));
        assert_eq!(coinm_base("BTCUSDT"), None);
        assert_eq!(coinm_base("USD_PERP"), None);
        assert_eq!(coinm_base("ETHUSD_2512"), None);
    }
}
