//! End-to-end tests of `backstop import` (cargo feature `import`): the real
//! binary on real exchange files (the data crate's fixtures, excerpts of
//! Binance public data and Tardis exports; see their PROVENANCE.txt).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use backstop_data::history::{read_prices, read_trades};
use backstop_data::{Contract, read_metadata};

/// 2025-10-10 00:00:00 UTC, ns since the epoch.
const OCT_10_NS: i64 = 1_760_054_400 * NS;
const NS: i64 = 1_000_000_000;

use backstop_testkit::listing;

fn fixture(name: &str) -> PathBuf {
    backstop_testkit::repo_root()
        .join("crates/data/tests/fixtures")
        .join(name)
}

/// `backstop import ARGS`.
fn backstop(args: &[&Path]) -> Output {
    let mut all: Vec<&std::ffi::OsStr> = vec!["import".as_ref()];
    all.extend(args.iter().map(|a| a.as_os_str()));
    backstop_testkit::run_program(
        env!("CARGO_BIN_EXE_backstop"),
        &backstop_testkit::repo_root(),
        &all,
        &[],
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The report line starting with `label`, its value.
fn field<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
        .trim()
}

#[test]
fn mark_kline_zips_become_a_prices_file_with_the_crash_low() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("btcusdt-mark.parquet");
    let o = backstop(&[
        "--format".as_ref(),
        "binance-klines".as_ref(),
        &fixture("BTCUSDT-5m-2025-10-09.zip"),
        &fixture("BTCUSDT-5m-2025-10-10.zip"),
        "--out".as_ref(),
        &out,
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, text(&o.stderr));

    // Two days of 5-minute klines: 288 a day, four path points each.
    assert_eq!(field(&stdout, "rows read"), "576");
    assert_eq!(field(&stdout, "rows written"), (576 * 4).to_string());
    assert_eq!(field(&stdout, "duplicates dropped"), "0");
    assert_eq!(field(&stdout, "rejected"), "0");
    assert!(
        field(&stdout, "time range").starts_with("2025-10-09T00:00:00Z .. 2025-10-10T23:5"),
        "{stdout}"
    );
    assert!(stdout.starts_with("BTCUSDT (binance-usdm, binance:klines, linear)"));

    let table = read_prices(&out).unwrap();
    assert_eq!(table.metadata.symbol, "BTCUSDT");
    assert_eq!(table.metadata.venue, "binance-usdm");
    assert_eq!(table.metadata.contract, Contract::Linear);
    assert_eq!(table.rows.len(), 576 * 4);
    assert!(table.rows.iter().all(|row| row.index.is_none()));
    // The 2025-10-10 low, 101,877.69 (rounded) in the 21:20 UTC kline
    // (PROVENANCE.txt of the source folder); the path puts it inside that kline.
    let low = table
        .rows
        .iter()
        .min_by(|a, b| a.mark.total_cmp(&b.mark))
        .unwrap();
    assert!((low.mark - 101_877.69).abs() < 0.005, "{low:?}");
    let kline_start = OCT_10_NS + (21 * 3600 + 20 * 60) * NS;
    assert!(
        (kline_start..kline_start + 300 * NS).contains(&low.ts_ns),
        "{low:?}"
    );
    // Nothing else is left in the folder.
    assert_eq!(listing(dir.path()), ["btcusdt-mark.parquet"]);
}

#[test]
fn index_klines_are_paired_with_mark_klines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("btcusdt-prices.parquet");
    let o = backstop(&[
        "--format".as_ref(),
        "binance-klines".as_ref(),
        &fixture("BTCUSDT-5m-2025-10-10.zip"),
        "--index".as_ref(),
        &fixture("BTCUSDT-5m-index-2025-10-10-HANDMADE.csv"),
        "--out".as_ref(),
        &out,
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, text(&o.stderr));
    assert_eq!(field(&stdout, "index rows read"), "7");
    let table = read_prices(&out).unwrap();
    let with_index = table.rows.iter().filter(|row| row.index.is_some()).count();
    assert_eq!(field(&stdout, "rows with index"), with_index.to_string());
    // Six hand-made index klines fall on mark klines of the day, four points each.
    assert_eq!(with_index, 24);
}

#[test]
fn coinm_tardis_trades_are_inverse_with_the_symbol_from_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("atom.parquet");
    let input = fixture("binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz");
    let o = backstop(&[
        "--format".as_ref(),
        "tardis-trades".as_ref(),
        &input,
        "--out".as_ref(),
        &out,
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, text(&o.stderr));
    assert!(
        stdout.starts_with(
            "ATOMUSD_PERP (binance-coinm, tardis:trades, inverse, 10 USD per contract)"
        ),
        "{stdout}"
    );
    let table = read_trades(&out).unwrap();
    assert_eq!(
        table.metadata.contract,
        Contract::Inverse {
            contract_size_usd: 10.0
        }
    );
    assert_eq!(field(&stdout, "rows written"), table.rows.len().to_string());
    assert!(table.rows.iter().all(|row| {
        (OCT_10_NS..OCT_10_NS + 86_400 * NS).contains(&row.ts_ns) && row.price > 0.0
    }));
    let meta = read_metadata(&out).unwrap();
    assert!(
        meta.iter()
            .any(|(k, v)| k == "backstop.import.inputs" && v.contains("ATOMUSD_PERP")),
        "{meta:?}"
    );
}

#[test]
fn missing_column_fails_naming_the_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("BTCUSDT-no-close.csv");
    fs::write(
        &input,
        "open_time,open,high,low,volume,close_time\n1760128080000,1,2,0.5,3,1760128139999\n",
    )
    .unwrap();
    let out = dir.path().join("out.parquet");
    let o = backstop(&[
        "--format".as_ref(),
        "binance-klines".as_ref(),
        &input,
        "--out".as_ref(),
        &out,
    ]);
    let stderr = text(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("BTCUSDT-no-close.csv"), "{stderr}");
    assert!(stderr.contains("close"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(o.stdout.is_empty());
    assert_eq!(listing(dir.path()), ["BTCUSDT-no-close.csv"]);
}

#[test]
fn truncated_gzip_fails_naming_the_file_and_keeps_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = fs::read(fixture(
        "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
    ))
    .unwrap();
    let input = dir
        .path()
        .join("binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz");
    fs::write(&input, &bytes[..bytes.len() / 2]).unwrap();

    // No output before: none after.
    let out = dir.path().join("atom.parquet");
    let args = [
        "--format".as_ref(),
        "tardis-trades".as_ref(),
        input.as_path(),
        "--out".as_ref(),
        out.as_path(),
    ];
    let o = backstop(&args);
    let stderr = text(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("ATOMUSD_PERP.csv.gz"), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(!out.exists());

    // An existing output is left exactly as it was.
    fs::write(&out, b"previous").unwrap();
    let o = backstop(&args);
    assert!(!o.status.success());
    assert_eq!(fs::read(&out).unwrap(), b"previous");
    assert_eq!(
        listing(dir.path()),
        [
            "atom.parquet",
            "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz"
        ]
    );
}

#[test]
fn unknown_format_and_missing_inputs_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let o = backstop(&[
        "--format".as_ref(),
        "csv".as_ref(),
        &fixture("BTCUSDT-5m-2025-10-10.zip"),
        "--out".as_ref(),
        &out,
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("binance-klines"),
        "{}",
        text(&o.stderr)
    );

    let o = backstop(&[
        "--format".as_ref(),
        "binance-klines".as_ref(),
        "--out".as_ref(),
        &out,
    ]);
    assert!(!o.status.success());
    assert!(!out.exists());
}

#[test]
fn sort_buffer_rows_forces_the_external_sort_with_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz");
    let run = |out: &Path, buffer: Option<&str>| {
        let mut args: Vec<&Path> = vec![
            "--format".as_ref(),
            "tardis-trades".as_ref(),
            &input,
            &input,
            "--out".as_ref(),
            out,
        ];
        if let Some(buffer) = buffer {
            args.extend([Path::new("--sort-buffer-rows"), Path::new(buffer)]);
        }
        let o = backstop(&args);
        let stdout = text(&o.stdout);
        assert!(o.status.success(), "{}\n{}", stdout, text(&o.stderr));
        stdout
    };
    let memory = dir.path().join("memory.parquet");
    let external = dir.path().join("external.parquet");
    let in_memory = run(&memory, None);
    // The same file twice, 100 records per run: 21 runs, duplicates meeting
    // across runs.
    let sorted = run(&external, Some("100"));
    assert_eq!(field(&sorted, "rows read"), "2022");
    assert_eq!(field(&sorted, "duplicates dropped"), "1011");
    // The same report, apart from the output name in the first line.
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&sorted), body(&in_memory));
    assert_eq!(
        read_trades(&external).unwrap().rows,
        read_trades(&memory).unwrap().rows
    );
    assert_eq!(listing(dir.path()), ["external.parquet", "memory.parquet"]);

    let o = backstop(&[
        "--format".as_ref(),
        "tardis-trades".as_ref(),
        &input,
        "--sort-buffer-rows".as_ref(),
        "0".as_ref(),
        "--out".as_ref(),
        &external,
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("--sort-buffer-rows"),
        "{}",
        text(&o.stderr)
    );
}

/// Without `--format`: every file named as Binance public data and Tardis.dev
/// name them imports with the format and symbol its name implies (COIN-M
/// files as inverse contracts of Binance's face value, no flag either).
#[test]
fn venue_named_files_import_without_flags() {
    let dir = tempfile::tempdir().unwrap();
    for (name, source, first_line) in [
        (
            "BTCUSDT-5m-2025-10-10.zip",
            "binance:klines",
            "BTCUSDT (binance-usdm, binance:klines, linear)",
        ),
        (
            "BTCUSD_PERP-1m-2025-10-10.zip",
            "binance:klines",
            "BTCUSD_PERP (binance-coinm, binance:klines, inverse, 100 USD per contract)",
        ),
        (
            "BTCUSDT-aggTrades-2025-10-10.csv",
            "binance:aggTrades",
            "BTCUSDT (binance-usdm, binance:aggTrades, linear)",
        ),
        (
            "BTCUSDT-trades-2025-10-10.csv",
            "binance:trades",
            "BTCUSDT (binance-usdm, binance:trades, linear)",
        ),
        (
            "BTCUSDT-bookDepth-2025-10-10.csv",
            "binance:bookDepth",
            "BTCUSDT (binance-usdm, binance:bookDepth, linear)",
        ),
        (
            "BTCUSDT-fundingRate-2020-01_2020-03.csv",
            "binance:fundingRate",
            "BTCUSDT (binance-usdm, binance:fundingRate, linear)",
        ),
        (
            "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
            "tardis:trades",
            "ATOMUSD_PERP (binance-coinm, tardis:trades, inverse, 10 USD per contract)",
        ),
    ] {
        let out = dir.path().join(format!("{name}.parquet"));
        let o = backstop(&[&fixture(name), "--out".as_ref(), &out]);
        let stdout = text(&o.stdout);
        assert!(o.status.success(), "{name}: {stdout}\n{}", text(&o.stderr));
        assert!(stdout.starts_with(first_line), "{name}: {stdout}");
        let meta = read_metadata(&out).unwrap();
        assert!(
            meta.iter()
                .any(|(k, v)| k == "backstop.source" && v == source),
            "{name}: {meta:?}"
        );
    }
}

/// A file renamed beyond recognition is told by its header; one with neither
/// a known name nor a known header gets the list of formats and name patterns.
#[test]
fn headers_tell_the_format_and_unknown_files_list_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("my-depth.csv");
    fs::copy(fixture("BTCUSDT-bookDepth-2025-10-10.csv"), &renamed).unwrap();
    let out = dir.path().join("depth.parquet");
    let o = backstop(&[
        &renamed,
        "--symbol".as_ref(),
        "BTCUSDT".as_ref(),
        "--out".as_ref(),
        &out,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("binance:bookDepth"));

    let unknown = dir.path().join("prices.csv");
    fs::write(&unknown, "when,price\n1760054400000,1.0\n").unwrap();
    let o = backstop(&[&unknown, "--out".as_ref(), &out]);
    assert!(!o.status.success());
    let stderr = text(&o.stderr);
    for needle in [
        "prices.csv",
        "when,price",
        "binance-klines",
        "binance-agg-trades",
        "tardis-trades",
        "{SYMBOL}-fundingRate-{YYYY-MM}.zip",
        "{exchange}_trades_{YYYY-MM-DD}_{SYMBOL}.csv.gz",
        "--format",
    ] {
        assert!(stderr.contains(needle), "{needle} not in {stderr}");
    }
}
