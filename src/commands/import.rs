//! `backstop import`: exchange and vendor files → tick-history Parquet, with
//! [`backstop_data::import`] (polars). Compiled only with the binary's cargo
//! feature `import`:
//!
//! ```text
//! cargo run --release --features import -- import --format binance-klines \
//!     BTCUSDT-5m-2025-10-09.zip BTCUSDT-5m-2025-10-10.zip --out btcusdt-mark.parquet
//! ```
//!
//! It prints what the import did (rows read and written, duplicates dropped,
//! rejected rows with the first examples, the time range) and exits non-zero,
//! with an error naming the file at fault, if the import fails; the output
//! is then left as it was.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use backstop_data::Contract;
use backstop_data::import::{
    ImportFormat, ImportReport, ImportRequest, coinm_base, infer_format, infer_symbol,
};
use clap::Args;

/// `backstop import` arguments.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Source format: binance-klines (klines, markPriceKlines,
    /// indexPriceKlines), binance-funding, binance-book-depth, binance-trades,
    /// binance-agg-trades, tardis-trades [default: inferred from the input
    /// file names as Binance public data and Tardis.dev name them, else from
    /// the CSV header].
    #[arg(long, value_parser = parse_format)]
    format: Option<ImportFormat>,
    /// Symbol (default: inferred from the input file names, which must agree).
    #[arg(long)]
    symbol: Option<String>,
    /// Venue recorded in the file (default: binance-coinm for COIN-M symbols
    /// `{BASE}USD_PERP` / `{BASE}USD_YYMMDD`, else binance-usdm; for Tardis
    /// files, from the exchange in the file name).
    #[arg(long)]
    venue: Option<String>,
    /// USD face value of one contract, for an inverse (COIN-M) symbol missing
    /// from the built-in table or to override it.
    #[arg(long, value_name = "USD")]
    contract_size_usd: Option<f64>,
    /// Index-price kline files (Binance indexPriceKlines) to pair with mark
    /// klines (--format binance-klines): joined on time into the `index`
    /// column. Takes every file up to the next option, so give it after the
    /// inputs: `... MARK.zip... --index INDEX.zip... --out FILE`.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    index: Vec<PathBuf>,
    /// Input files, all of one symbol and format (CSV, .gz or .zip).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The Parquet file to write (replaced atomically; left untouched on error).
    #[arg(long, value_name = "FILE.parquet")]
    out: PathBuf,
    /// Most records sorted in memory at once. With more valid records, the
    /// import sorts and deduplicates out of core, in runs of this many
    /// records in a scratch folder beside the output (same result; peak
    /// memory bounded by this buffer, not by the input size).
    #[arg(
        long,
        value_name = "N",
        default_value_t = backstop_data::import::DEFAULT_SORT_BUFFER_ROWS,
        value_parser = parse_sort_buffer_rows,
    )]
    sort_buffer_rows: usize,
}

fn parse_format(name: &str) -> Result<ImportFormat, String> {
    name.parse()
        .map_err(|e: backstop_data::DataError| e.to_string())
}

fn parse_sort_buffer_rows(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(rows) => Ok(rows),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `backstop import`: imports, then prints the report.
///
/// # Errors
///
/// Whatever [`backstop_data::import::import`] reports (each error names the
/// file it concerns); the output is then left as it was.
pub fn run(args: &ImportArgs) -> Result<()> {
    let format = match args.format {
        Some(format) => format,
        None => inferred_format(&args.inputs)?,
    };
    let symbol = args.symbol.clone().or_else(|| {
        args.inputs
            .first()
            .and_then(|path| infer_symbol(format, path))
    });
    let venue = args
        .venue
        .clone()
        .unwrap_or_else(|| default_venue(format, symbol.as_deref(), args.inputs.first()));
    let mut request = ImportRequest::new(format, args.inputs.clone(), &args.out, venue);
    request.symbol.clone_from(&args.symbol);
    request.contract_size_usd = args.contract_size_usd;
    request.index_inputs.clone_from(&args.index);
    request.sort_buffer_rows = args.sort_buffer_rows;
    let report = backstop_data::import::import(&request)
        .with_context(|| format!("import into {} failed", args.out.display()))?;
    print!("{}", describe(&args.out, &report, !args.index.is_empty()));
    Ok(())
}

/// The one format every input's name (or header) implies.
///
/// # Errors
///
/// A file whose format cannot be told (the error lists the known formats and
/// name patterns), or two inputs of different formats.
fn inferred_format(inputs: &[PathBuf]) -> Result<ImportFormat> {
    let mut found: Option<(ImportFormat, &PathBuf)> = None;
    for path in inputs {
        let format = infer_format(path)?;
        match found {
            Some((first, first_path)) if first != format => anyhow::bail!(
                "the inputs are of different formats: {} is {first}, {} is {format}; \
                 import one format at a time (or pass --format)",
                first_path.display(),
                path.display()
            ),
            Some(_) => {}
            None => found = Some((format, path)),
        }
    }
    found
        .map(|(format, _)| format)
        .context("no input file given")
}

/// The venue when none is given: Tardis' exchange id (`binance-delivery` is
/// COIN-M, `binance-futures` USD-M, `binance` spot), else COIN-M or USD-M by
/// the symbol.
fn default_venue(format: ImportFormat, symbol: Option<&str>, first: Option<&PathBuf>) -> String {
    if format == ImportFormat::TardisTrades
        && let Some(exchange) = first
            .and_then(|path| path.file_name())
            .and_then(|name| name.to_str())
            .and_then(|name| name.split_once('_'))
            .map(|(exchange, _)| exchange)
    {
        return match exchange {
            "binance-delivery" => "binance-coinm",
            "binance-futures" => "binance-usdm",
            "binance" => "binance-spot",
            other => other,
        }
        .to_owned();
    }
    if symbol.and_then(coinm_base).is_some() {
        "binance-coinm".to_owned()
    } else {
        "binance-usdm".to_owned()
    }
}

/// The report as printed.
fn describe(out: &Path, report: &ImportReport, paired: bool) -> String {
    let meta = &report.metadata;
    let contract = match meta.contract {
        Contract::Linear => "linear".to_owned(),
        Contract::Inverse { contract_size_usd } => {
            format!("inverse, {contract_size_usd} USD per contract")
        }
    };
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "{} ({}, {}, {contract}) -> {}",
        meta.symbol,
        meta.venue,
        meta.source,
        out.display()
    );
    let _ = writeln!(s, "rows read           {}", report.rows_read);
    let _ = writeln!(s, "rows written        {}", report.rows_written);
    let _ = writeln!(s, "duplicates dropped  {}", report.duplicates_dropped);
    let _ = writeln!(s, "rejected            {}", report.rejected);
    for example in &report.rejected_examples {
        let _ = writeln!(s, "  {example}");
    }
    if report.rejected > report.rejected_examples.len() {
        let _ = writeln!(
            s,
            "  ... and {} more",
            report.rejected - report.rejected_examples.len()
        );
    }
    if paired {
        let _ = writeln!(s, "index rows read     {}", report.index_rows_read);
        let _ = writeln!(s, "index rejected      {}", report.index_rejected);
        let _ = writeln!(s, "rows with index     {}", report.rows_with_index);
    }
    let _ = writeln!(
        s,
        "time range          {} .. {}",
        utc(report.first_ts_ns),
        utc(report.last_ts_ns)
    );
    s
}

/// `ns` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (proleptic
/// Gregorian, UTC; fractional digits only when non-zero).
fn utc(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    );
    if frac != 0 {
        let digits = format!("{frac:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 → (year, month, day); H. Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        // 2025-10-10 21:20:00 UTC.
        assert_eq!(utc(1_760_131_200_000_000_000), "2025-10-10T21:20:00Z");
        assert_eq!(utc(951_782_400_123_000_000), "2000-02-29T00:00:00.123Z");
        assert_eq!(utc(-1_000_000_000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn venues_default_from_symbol_or_tardis_exchange() {
        let tardis = PathBuf::from("binance-delivery_trades_2025-10-10_AAVEUSD_PERP.csv.gz");
        assert_eq!(
            default_venue(ImportFormat::TardisTrades, None, Some(&tardis)),
            "binance-coinm"
        );
        assert_eq!(
            default_venue(ImportFormat::BinanceKlines, Some("BTCUSD_PERP"), None),
            "binance-coinm"
        );
        assert_eq!(
            default_venue(ImportFormat::BinanceKlines, Some("BTCUSDT"), None),
            "binance-usdm"
        );
    }
}
