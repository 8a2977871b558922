//! The import format of an input file, without `--format`: from the names
//! Binance public data and Tardis.dev give their files, else from the CSV
//! header (the first line, read through a `.zip` or `.gz`).
//!
//! | format | file names | header starts with |
//! | --- | --- | --- |
//! | `binance-klines` | `{SYMBOL}-{interval}-{date}.zip` (klines, markPriceKlines, indexPriceKlines; interval `1s`, `1m` … `1mo`) | `open_time,open,high,low,close` |
//! | `binance-funding` | `{SYMBOL}-fundingRate-{YYYY-MM}.zip` | `calc_time,funding_interval_hours,last_funding_rate` |
//! | `binance-book-depth` | `{SYMBOL}-bookDepth-{date}.zip` | `timestamp,percentage,depth,notional` |
//! | `binance-trades` | `{SYMBOL}-trades-{date}.zip` | `id,price,qty,quote_qty,time` |
//! | `binance-agg-trades` | `{SYMBOL}-aggTrades-{date}.zip` | `agg_trade_id,price,quantity` |
//! | `tardis-trades` | `{exchange}_trades_{YYYY-MM-DD}_{SYMBOL}.csv.gz` | `exchange,symbol,timestamp,local_timestamp,id,side,price,amount` |

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::ImportFormat;
use crate::error::DataError;

/// Each format's file-name pattern and header, as the error lists them.
pub const KNOWN_PATTERNS: [(ImportFormat, &str, &str); 6] = [
    (
        ImportFormat::BinanceKlines,
        "{SYMBOL}-{interval}-{date}.zip (klines, markPriceKlines, indexPriceKlines)",
        "open_time,open,high,low,close,...",
    ),
    (
        ImportFormat::BinanceFunding,
        "{SYMBOL}-fundingRate-{YYYY-MM}.zip",
        "calc_time,funding_interval_hours,last_funding_rate",
    ),
    (
        ImportFormat::BinanceBookDepth,
        "{SYMBOL}-bookDepth-{date}.zip",
        "timestamp,percentage,depth,notional",
    ),
    (
        ImportFormat::BinanceTrades,
        "{SYMBOL}-trades-{date}.zip",
        "id,price,qty,quote_qty,time,is_buyer_maker",
    ),
    (
        ImportFormat::BinanceAggTrades,
        "{SYMBOL}-aggTrades-{date}.zip",
        "agg_trade_id,price,quantity,first_trade_id,...",
    ),
    (
        ImportFormat::TardisTrades,
        "{exchange}_trades_{YYYY-MM-DD}_{SYMBOL}.csv.gz",
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount",
    ),
];

/// The known formats, file-name patterns and headers, in one sentence.
#[must_use]
pub fn known_formats() -> String {
    let list: Vec<String> = KNOWN_PATTERNS
        .iter()
        .map(|(format, name, header)| format!("{format}: files named {name} or headed `{header}`"))
        .collect();
    format!("known formats: {}", list.join("; "))
}

/// The format the file name implies, if any (see the module's table).
#[must_use]
pub fn format_from_name(path: &Path) -> Option<ImportFormat> {
    let mut name = path.file_name()?.to_str()?;
    for extension in [".gz", ".zip", ".csv"] {
        name = name.strip_suffix(extension).unwrap_or(name);
    }
    if let Some((exchange, rest)) = name.split_once("_trades_")
        && !exchange.is_empty()
        && rest.len() > 11
        && rest.as_bytes()[..10]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'-')
    {
        return Some(ImportFormat::TardisTrades);
    }
    let mut parts = name.split('-').skip(1);
    let mut kind = parts.next()?;
    // Local copies sometimes keep the market (`um`, `cm`) in the name:
    // `BTCUSDT-um-1m-2025-10-10_2028-2237.csv`.
    if kind == "um" || kind == "cm" {
        kind = parts.next()?;
    }
    match kind {
        "fundingRate" => Some(ImportFormat::BinanceFunding),
        "bookDepth" => Some(ImportFormat::BinanceBookDepth),
        "trades" => Some(ImportFormat::BinanceTrades),
        "aggTrades" => Some(ImportFormat::BinanceAggTrades),
        interval if is_interval(interval) => Some(ImportFormat::BinanceKlines),
        _ => None,
    }
}

/// A Binance kline interval: `1s`, `1m`, `3m`, … `12h`, `1d`, `3d`, `1w`, `1mo`.
fn is_interval(text: &str) -> bool {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&text[digits..], "s" | "m" | "h" | "d" | "w" | "mo")
}

/// The format a header line (comma-separated column names) implies, if any.
#[must_use]
pub fn format_from_header(line: &str) -> Option<ImportFormat> {
    let columns: Vec<String> = line
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let has = |names: &[&str]| {
        names
            .iter()
            .all(|n| columns.iter().any(|c| c.as_str() == *n))
    };
    if has(&["open_time", "open", "high", "low", "close"]) {
        Some(ImportFormat::BinanceKlines)
    } else if has(&["calc_time", "last_funding_rate"]) {
        Some(ImportFormat::BinanceFunding)
    } else if has(&["timestamp", "percentage", "depth", "notional"]) {
        Some(ImportFormat::BinanceBookDepth)
    } else if has(&["agg_trade_id", "price", "quantity"]) {
        Some(ImportFormat::BinanceAggTrades)
    } else if has(&["exchange", "symbol", "timestamp", "side", "price", "amount"]) {
        Some(ImportFormat::TardisTrades)
    } else if has(&["id", "price", "qty", "time"]) {
        Some(ImportFormat::BinanceTrades)
    } else {
        None
    }
}

/// The import format of `path`: from its name, else from its header.
///
/// # Errors
///
/// [`DataError::UnrecognizedFormat`], listing the known formats, file-name
/// patterns and headers, when neither tells; [`DataError::Io`] or
/// [`DataError::Decompress`] when the file cannot be read.
pub fn infer_format(path: &Path) -> Result<ImportFormat, DataError> {
    if let Some(format) = format_from_name(path) {
        return Ok(format);
    }
    let line = first_line(path)?;
    if let Some(format) = line.as_deref().and_then(format_from_header) {
        return Ok(format);
    }
    Err(DataError::UnrecognizedFormat {
        path: path.to_owned(),
        header: line.filter(|l| !l.is_empty()),
        known: known_formats(),
    })
}

/// The first line of `path` (through a `.zip`'s single file or a `.gz`), at
/// most 4 KiB of it; `None` for an empty file.
fn first_line(path: &Path) -> Result<Option<String>, DataError> {
    let file = File::open(path)
        .map_err(|source| DataError::io(path, "failed to open input for reading", source))?;
    let name = path.to_string_lossy();
    let decompress = |format: &'static str, reason: String| DataError::Decompress {
        path: path.to_owned(),
        format,
        reason,
    };
    let line = if name.ends_with(".zip") {
        let mut archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| decompress("zip", e.to_string()))?;
        let entry = archive
            .by_index(0)
            .map_err(|e| decompress("zip", e.to_string()))?;
        read_line(BufReader::new(entry.take(4096)))
    } else if name.ends_with(".gz") {
        read_line(BufReader::new(
            flate2::read::GzDecoder::new(file).take(4096),
        ))
    } else {
        read_line(BufReader::new(file.take(4096)))
    };
    line.map_err(|source| DataError::io(path, "failed to read the first line", source))
}

fn read_line(mut reader: impl BufRead) -> std::io::Result<Option<String>> {
    let mut bytes = Vec::new();
    reader.read_until(b'\n', &mut bytes)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).trim_end().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImportFormat::*;

    fn by_name(name: &str) -> Option<ImportFormat> {
        format_from_name(Path::new(name))
    }

    #[test]
    fn venue_file_names_tell_the_format() {
        assert_eq!(by_name("BTCUSDT-1m-2025-10-10.zip"), Some(BinanceKlines));
        assert_eq!(by_name("BTCUSD_PERP-5m-2025-10.zip"), Some(BinanceKlines));
        assert_eq!(by_name("ETHUSDT-1mo-2025-10.zip"), Some(BinanceKlines));
        assert_eq!(
            by_name("BTCUSDT-um-1m-2025-10-10_2028-2237.csv"),
            Some(BinanceKlines)
        );
        assert_eq!(
            by_name("BTCUSDT-fundingRate-2025-10.zip"),
            Some(BinanceFunding)
        );
        assert_eq!(
            by_name("BTCUSDT-bookDepth-2025-10-10.zip"),
            Some(BinanceBookDepth)
        );
        assert_eq!(
            by_name("BTCUSDT-trades-2025-10-10.zip"),
            Some(BinanceTrades)
        );
        assert_eq!(
            by_name("BTCUSD_251226-aggTrades-2025-10-10.zip"),
            Some(BinanceAggTrades)
        );
        assert_eq!(
            by_name("binance-futures_trades_2025-10-10_BTCUSDT.csv.gz"),
            Some(TardisTrades)
        );
        assert_eq!(
            by_name("deribit_trades_2025-10-10_BTC-PERPETUAL.csv.gz"),
            Some(TardisTrades)
        );
        assert_eq!(by_name("BTCUSDT-bookTicker-2025-10-10.zip"), None);
        assert_eq!(by_name("BTCUSDT-1x-2025-10-10.zip"), None);
        assert_eq!(by_name("prices.csv"), None);
    }

    #[test]
    fn headers_tell_the_format() {
        let h = format_from_header;
        assert_eq!(
            h("open_time,open,high,low,close,volume,close_time,quote_volume,count"),
            Some(BinanceKlines)
        );
        assert_eq!(
            h("calc_time,funding_interval_hours,last_funding_rate"),
            Some(BinanceFunding)
        );
        assert_eq!(
            h("timestamp,percentage,depth,notional"),
            Some(BinanceBookDepth)
        );
        assert_eq!(
            h("id,price,qty,quote_qty,time,is_buyer_maker"),
            Some(BinanceTrades)
        );
        assert_eq!(
            h(
                "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
            ),
            Some(BinanceAggTrades)
        );
        assert_eq!(
            h("exchange,symbol,timestamp,local_timestamp,id,side,price,amount"),
            Some(TardisTrades)
        );
        assert_eq!(h("1760054400000,121582.79,121600,121500,121590"), None);
        assert_eq!(h("a,b,c"), None);
    }

    #[test]
    fn an_unknown_file_lists_what_is_known() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.csv");
        std::fs::write(&path, "when,what\n1,2\n").unwrap();
        let message = infer_format(&path).unwrap_err().to_string();
        for needle in [
            "prices.csv",
            "when,what",
            "tardis-trades",
            "{SYMBOL}-fundingRate-{YYYY-MM}.zip",
            "--format",
        ] {
            assert!(message.contains(needle), "{needle} not in {message}");
        }
        let named = dir.path().join("anything.csv");
        std::fs::write(
            &named,
            "calc_time,funding_interval_hours,last_funding_rate\n",
        )
        .unwrap();
        assert_eq!(infer_format(&named).unwrap(), BinanceFunding);
    }
}
