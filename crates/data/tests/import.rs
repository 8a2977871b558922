//! The importers on real exchange files (excerpts in `tests/fixtures/`, see
//! its PROVENANCE.txt), read back with the crate's arrow-rs readers.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use backstop_data::history::{read_depth, read_funding, read_prices, read_trades};
use backstop_data::import::{ImportFormat, ImportReport, ImportRequest, import};
use backstop_data::{
    Contract, DataError, HistorySource, ReplayEvent, Side, TimeWindow, kline_path, read_metadata,
};

/// 2025-10-10 00:00:00 UTC, s since the epoch.
const OCT_10: i64 = 1_760_054_400;
/// 2025-10-10 21:20:00 UTC, s since the epoch.
const OCT_10_2120: i64 = OCT_10 + 21 * 3600 + 20 * 60;
const NS: i64 = 1_000_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn request(format: ImportFormat, inputs: &[PathBuf], output: &Path, venue: &str) -> ImportRequest {
    ImportRequest::new(format, inputs.to_vec(), output, venue)
}

/// The names in `dir`, sorted (to check that nothing is left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn min_by_price<T: Copy>(rows: &[T], price: impl Fn(&T) -> f64) -> T {
    *rows
        .iter()
        .min_by(|a, b| price(a).total_cmp(&price(b)))
        .unwrap()
}

#[test]
fn binance_5m_mark_kline_zips_become_kline_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BTCUSDT.mark.parquet");
    let inputs = [
        fixture("BTCUSDT-5m-2025-10-09.zip"),
        fixture("BTCUSDT-5m-2025-10-10.zip"),
    ];
    let report = import(&request(
        ImportFormat::BinanceKlines,
        &inputs,
        &out,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 2 * 288);
    assert_eq!(report.rows_written, 4 * 2 * 288);
    assert_eq!((report.rejected, report.duplicates_dropped), (0, 0));
    assert!(report.rejected_examples.is_empty());
    // 2025-10-09 00:00 .. the close of the 23:55 kline at 23:58:45.
    assert_eq!(report.first_ts_ns, (OCT_10 - 86_400) * NS);
    assert_eq!(report.last_ts_ns, (OCT_10 + 86_400 - 300 + 225) * NS);

    let table = read_prices(&out).unwrap();
    assert_eq!(table.rows.len(), report.rows_written);
    assert_eq!(table.metadata, report.metadata);
    assert_eq!(table.metadata.symbol, "BTCUSDT");
    assert_eq!(table.metadata.venue, "binance-usdm");
    assert_eq!(table.metadata.source, "binance:klines");
    assert_eq!(table.metadata.contract, Contract::Linear);
    assert!(table.metadata.tool_version.is_some());
    assert!(table.rows.iter().all(|row| row.index.is_none()));

    // The crash low: the 21:20 kline (open 104,127.04, close 108,677.9) is an
    // up candle, so its path is open → high → low → close and the low sits
    // at half the interval, 21:22:30.
    let low = min_by_price(&table.rows, |row| row.mark);
    assert_eq!(low.mark, 101_877.689_817_43);
    assert_eq!(low.ts_ns, (OCT_10_2120 + 150) * NS);
    let high = table
        .rows
        .iter()
        .filter(|row| row.ts_ns >= OCT_10 * NS)
        .map(|row| row.mark)
        .fold(f64::MIN, f64::max);
    assert_eq!(high, 122_457.5);

    // Exactly the library's kline_path for that kline.
    let start = table
        .rows
        .iter()
        .position(|row| row.ts_ns == OCT_10_2120 * NS)
        .unwrap();
    let expected = kline_path(
        104_127.038_565_14,
        108_794.0,
        101_877.689_817_43,
        108_677.9,
        OCT_10_2120 * NS,
        300 * NS,
    );
    let got: Vec<(i64, f64)> = table.rows[start..start + 4]
        .iter()
        .map(|row| (row.ts_ns, row.mark))
        .collect();
    assert_eq!(got, expected);

    let pairs = read_metadata(&out).unwrap();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("backstop.schema"), Some("prices/v1"));
    assert_eq!(get("backstop.contract"), Some("linear"));
    assert_eq!(get("backstop.contract_size_usd"), None);
    assert_eq!(get("backstop.import.format"), Some("binance-klines"));
    assert_eq!(
        get("backstop.import.inputs"),
        Some("BTCUSDT-5m-2025-10-09.zip,BTCUSDT-5m-2025-10-10.zip")
    );
    assert_eq!(listing(dir.path()), ["BTCUSDT.mark.parquet"]);
}

#[test]
fn crash_window_trade_klines_with_and_without_header() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("BTCUSDT-um-1m-2025-10-10_2028-2237.csv");
    let out = dir.path().join("with-header.parquet");
    let report = import(&request(
        ImportFormat::BinanceKlines,
        std::slice::from_ref(&source),
        &out,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 130);
    assert_eq!(report.rows_written, 520);
    assert_eq!(report.first_ts_ns, (OCT_10 + 20 * 3600 + 28 * 60) * NS);
    let table = read_prices(&out).unwrap();
    // 21:20 is an up candle (103,441.3 → 104,311.2): the low at 21:20:30.
    let low = min_by_price(&table.rows, |row| row.mark);
    assert_eq!(low.mark, 101_516.5);
    assert_eq!(low.ts_ns, (OCT_10_2120 + 30) * NS);

    // The same rows without the header line (as in pre-2022 Binance files).
    let text = fs::read_to_string(&source).unwrap();
    let headerless = dir.path().join("BTCUSDT-1m-headerless.csv");
    fs::write(&headerless, text.split_once('\n').unwrap().1).unwrap();
    let out2 = dir.path().join("headerless.parquet");
    let report2 = import(&request(
        ImportFormat::BinanceKlines,
        &[headerless],
        &out2,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!(report2.rows_written, 520);
    assert_eq!(read_prices(&out2).unwrap().rows, table.rows);
}

#[test]
fn coinm_klines_are_inverse_with_100_usd_face() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BTCUSD_PERP.parquet");
    let report = import(&request(
        ImportFormat::BinanceKlines,
        &[fixture("BTCUSD_PERP-1m-2025-10-10.zip")],
        &out,
        "binance-coinm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 1440);
    assert_eq!(report.rows_written, 4 * 1440);
    let table = read_prices(&out).unwrap();
    assert_eq!(table.metadata.symbol, "BTCUSD_PERP");
    assert_eq!(
        table.metadata.contract,
        Contract::Inverse {
            contract_size_usd: 100.0
        }
    );
    // 21:20 is a down candle (104,567.74 → 104,559.8): the low first, 21:20:15.
    let low = min_by_price(&table.rows, |row| row.mark);
    assert_eq!(low.mark, 102_497.485_134_03);
    assert_eq!(low.ts_ns, (OCT_10_2120 + 15) * NS);
    let pairs = read_metadata(&out).unwrap();
    assert!(pairs.contains(&("backstop.contract_size_usd".to_owned(), "100".to_owned())));
}

#[test]
fn funding_rates_first_row_and_the_march_2020_floor() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BTCUSDT.funding.parquet");
    let mut req = request(
        ImportFormat::BinanceFunding,
        &[fixture("BTCUSDT-fundingRate-2020-01_2020-03.csv")],
        &out,
        "binance-usdm",
    );
    req.symbol = Some("BTCUSDT".to_owned());
    let report = import(&req).unwrap();
    assert_eq!(report.rows_read, 273);
    assert_eq!(report.rows_written, 273);
    assert_eq!(report.first_ts_ns, 1_577_836_800 * NS);
    assert_eq!(report.last_ts_ns, 1_585_670_400_001 * 1_000_000);
    let table = read_funding(&out).unwrap();
    assert_eq!(table.metadata.source, "binance:fundingRate");
    let first = table.rows[0];
    assert_eq!(first.ts_ns, 1_577_836_800 * NS);
    assert_eq!(first.rate, -0.000_123_59);
    assert_eq!(first.interval_s, 8 * 3600);
    let floor = table
        .rows
        .iter()
        .find(|row| row.ts_ns == 1_584_086_400 * NS)
        .unwrap();
    assert_eq!(floor.rate, -0.003);
}

#[test]
fn book_depth_snapshots_sorted_by_time_then_band() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BTCUSDT.depth.parquet");
    let report = import(&request(
        ImportFormat::BinanceBookDepth,
        &[fixture("BTCUSDT-bookDepth-2025-10-10.csv")],
        &out,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!((report.rows_read, report.rows_written), (200, 200));
    let start = OCT_10 + 21 * 3600 + 15 * 60;
    assert_eq!(report.first_ts_ns, start * NS);
    assert_eq!(report.last_ts_ns, (start + 9 * 60 + 31) * NS);
    let table = read_depth(&out).unwrap();
    let first = table.rows[0];
    assert_eq!(
        (first.ts_ns, first.percentage, first.depth, first.notional),
        (start * NS, -5.0, 597.602, 66_407_353.015_1)
    );
    let snapshot: Vec<f64> = table.rows[..10].iter().map(|row| row.percentage).collect();
    assert_eq!(
        snapshot,
        [-5.0, -4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    );
    let mut times: Vec<i64> = table.rows.iter().map(|row| row.ts_ns).collect();
    times.dedup();
    assert_eq!(times.len(), 20);
}

#[test]
fn binance_trades_and_agg_trades_in_the_published_layouts() {
    let dir = tempfile::tempdir().unwrap();
    for (format, name) in [
        (ImportFormat::BinanceTrades, "BTCUSDT-trades-2025-10-10.csv"),
        (
            ImportFormat::BinanceAggTrades,
            "BTCUSDT-aggTrades-2025-10-10.csv",
        ),
    ] {
        let out = dir.path().join(format!("{format}.parquet"));
        let report = import(&request(format, &[fixture(name)], &out, "binance-usdm")).unwrap();
        assert_eq!((report.rows_read, report.rows_written), (8, 8), "{format}");
        let table = read_trades(&out).unwrap();
        assert_eq!(table.metadata.source, format.source());
        let first = table.rows[0];
        assert_eq!(first.ts_ns, 1_760_131_200_004 * 1_000_000);
        assert_eq!((first.price, first.size), (103_441.3, 0.012));
        // is_buyer_maker = true: the seller was the aggressor.
        assert_eq!(first.side, Side::Sell);
        assert_eq!(table.rows[2].side, Side::Buy);
        let expected_id = if format == ImportFormat::BinanceTrades {
            6_811_240_001
        } else {
            2_912_700_001
        };
        assert_eq!(first.trade_id, Some(expected_id));
        let sells = table.rows.iter().filter(|r| r.side == Side::Sell).count();
        assert_eq!(sells, 5);

        // Headerless (spot and pre-2022 files), with an extra trailing column
        // (spot's is_best_match): same rows.
        let text = fs::read_to_string(fixture(name)).unwrap();
        let body: String = text
            .lines()
            .skip(1)
            .map(|line| format!("{line},true\n"))
            .collect();
        let headerless = dir.path().join(format!("BTCUSDT-{format}-headerless.csv"));
        fs::write(&headerless, body).unwrap();
        let out2 = dir.path().join(format!("{format}-headerless.parquet"));
        import(&request(format, &[headerless], &out2, "binance-usdm")).unwrap();
        assert_eq!(read_trades(&out2).unwrap().rows, table.rows);
    }
}

fn check_atom_excerpt(report: &ImportReport, out: &Path) {
    assert_eq!((report.rows_read, report.rows_written), (1011, 1011));
    assert_eq!(report.first_ts_ns, 1_760_131_080_545_000 * 1_000);
    assert_eq!(report.last_ts_ns, 1_760_131_437_722_000 * 1_000);
    let table = read_trades(out).unwrap();
    assert_eq!(table.metadata.symbol, "ATOMUSD_PERP");
    assert_eq!(table.metadata.venue, "binance-coinm");
    assert_eq!(table.metadata.source, "tardis:trades");
    assert_eq!(
        table.metadata.contract,
        Contract::Inverse {
            contract_size_usd: 10.0
        }
    );
    let first = table.rows[0];
    assert_eq!(
        (first.price, first.size, first.side, first.trade_id),
        (2.449, 30.0, Side::Buy, Some(38_030_262))
    );
    let last = table.rows[table.rows.len() - 1];
    assert_eq!(
        (last.price, last.size, last.side, last.trade_id),
        (1.143, 15.0, Side::Sell, Some(38_031_648))
    );
    let low = min_by_price(&table.rows, |row| row.price);
    assert_eq!(low.price, 1.055);
    assert_eq!(low.ts_ns, 1_760_131_296_139_000 * 1_000);
}

#[test]
fn tardis_coinm_trades_gzip_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ATOMUSD_PERP.trades.parquet");
    let report = import(&request(
        ImportFormat::TardisTrades,
        &[fixture(
            "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
        )],
        &out,
        "binance-coinm",
    ))
    .unwrap();
    check_atom_excerpt(&report, &out);
    assert_eq!(listing(dir.path()), ["ATOMUSD_PERP.trades.parquet"]);

    // The file replays: a window around the wick (21:21:00 .. 21:22:00)
    // yields exactly the trades in it.
    let start = (OCT_10_2120 + 60) * NS;
    let window = TimeWindow::new(start, start + 60 * NS).unwrap();
    let replayed: Vec<ReplayEvent> = HistorySource::open(&out, window)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected = read_trades(&out)
        .unwrap()
        .rows
        .iter()
        .filter(|row| window.contains(row.ts_ns))
        .count();
    assert_eq!(replayed.len(), expected);
    assert!(expected > 0);

    // Deterministic: the same import again gives the same bytes.
    let again = dir.path().join("again.parquet");
    import(&request(
        ImportFormat::TardisTrades,
        &[fixture(
            "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
        )],
        &again,
        "binance-coinm",
    ))
    .unwrap();
    assert_eq!(fs::read(&out).unwrap(), fs::read(&again).unwrap());
}

/// The whole day from the shared data folder, when it is there (it is beside
/// the repository on developers' machines and in CI).
#[test]
fn tardis_full_day_from_shared_data() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/binance_20251010_crash_theglory/tardis_trades_binance_coinm_perps/\
         binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
    );
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ATOMUSD_PERP.parquet");
    let report = import(&request(
        ImportFormat::TardisTrades,
        &[path],
        &out,
        "binance-coinm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 116_501);
    assert_eq!(report.rows_written, 116_501);
    assert_eq!((report.rejected, report.duplicates_dropped), (0, 0));
    assert_eq!(report.first_ts_ns, 1_760_054_400_536_000 * 1_000);
    assert!(report.last_ts_ns < (OCT_10 + 86_400) * NS);
    assert!(report.last_ts_ns > (OCT_10 + 86_400 - 60) * NS);
    // Row groups of MAX_ROW_GROUP_ROWS rows, each with `ts` statistics.
    let source = HistorySource::open(&out, TimeWindow::ALL).unwrap();
    assert_eq!(
        source.row_groups_total(),
        116_501_usize.div_ceil(backstop_data::MAX_ROW_GROUP_ROWS)
    );
    let late = TimeWindow::new((OCT_10 + 86_000) * NS, i64::MAX).unwrap();
    assert_eq!(
        HistorySource::open(&out, late)
            .unwrap()
            .row_groups_selected(),
        1
    );
}

#[test]
fn duplicate_inputs_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let gz = fixture("binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz");
    let out = dir.path().join("ATOMUSD_PERP.parquet");
    let report = import(&request(
        ImportFormat::TardisTrades,
        &[gz.clone(), gz],
        &out,
        "binance-coinm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 2 * 1011);
    assert_eq!(report.duplicates_dropped, 1011);
    assert_eq!(report.rejected, 0);
    // Identical to importing the file once.
    let once = dir.path().join("once.parquet");
    let single = import(&request(
        ImportFormat::TardisTrades,
        &[fixture(
            "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
        )],
        &once,
        "binance-coinm",
    ))
    .unwrap();
    check_atom_excerpt(&single, &once);
    assert_eq!(
        read_trades(&out).unwrap().rows,
        read_trades(&once).unwrap().rows
    );

    // Klines: the same zip twice drops whole klines (4 rows each).
    let zip = fixture("BTCUSDT-5m-2025-10-10.zip");
    let klines = dir.path().join("klines.parquet");
    let report = import(&request(
        ImportFormat::BinanceKlines,
        &[zip.clone(), zip],
        &klines,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 576);
    assert_eq!(report.duplicates_dropped, 288);
    assert_eq!(report.rows_written, 4 * 288);
}

#[test]
fn bad_rows_are_rejected_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("BTCUSDT-bad-rows-1m.csv");
    let out = dir.path().join("BTCUSDT.parquet");
    let report = import(&request(
        ImportFormat::BinanceKlines,
        std::slice::from_ref(&input),
        &out,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!(report.rows_read, 9);
    assert_eq!(report.rejected, 3);
    assert_eq!(report.duplicates_dropped, 1);
    assert_eq!(report.rows_written, 4 * 5);
    let examples = &report.rejected_examples;
    assert_eq!(examples.len(), 3, "{examples:#?}");
    let file = input.display().to_string();
    assert!(
        examples.iter().all(|e| e.starts_with(&file)),
        "{examples:#?}"
    );
    assert!(
        examples[0].contains(":3: column `open`") && examples[0].contains("\"NaN\""),
        "{}",
        examples[0]
    );
    assert!(
        examples[1].contains(":5: column `open_time`")
            && examples[1].contains("not an integer timestamp")
            && examples[1].contains("17601282x0000"),
        "{}",
        examples[1]
    );
    assert!(
        examples[2].contains(":7: column `low`") && examples[2].contains("> 0"),
        "{}",
        examples[2]
    );
    let table = read_prices(&out).unwrap();
    assert!(table.rows.iter().all(|row| row.mark > 100_000.0));
}

#[test]
fn examples_stop_at_five_but_the_count_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("BTCUSDT-trades-bad.csv");
    let mut text = String::from("id,price,qty,quote_qty,time,is_buyer_maker\n");
    for i in 0..8 {
        text.push_str(&format!("{i},0,1,0,1760131200000,true\n"));
    }
    text.push_str("9,100,1,100,1760131200000,maybe\n");
    text.push_str("10,100,1,100,1760131200001,false\n");
    fs::write(&input, text).unwrap();
    let out = dir.path().join("out.parquet");
    let report = import(&request(
        ImportFormat::BinanceTrades,
        &[input],
        &out,
        "binance-usdm",
    ))
    .unwrap();
    assert_eq!((report.rows_read, report.rejected), (10, 9));
    assert_eq!(report.rejected_examples.len(), 5);
    assert!(report.rejected_examples[0].contains(":2: column `price`"));
    assert_eq!(report.rows_written, 1);
}

#[test]
fn implausible_times_are_rejected_naming_the_row_in_every_format() {
    // 1e17 ns is 1973; 1e18 ns is 2001; 4e18 ns is 2096: none is exchange
    // history. 1760131200000 ms is 2025-10-10.
    let dir = tempfile::tempdir().unwrap();
    let cases: [(ImportFormat, &str, String, &str); 4] = [
        (
            ImportFormat::BinanceTrades,
            "BTCUSDT-trades.csv",
            "id,price,qty,quote_qty,time,is_buyer_maker\n1,100,1,100,1760131200000,true\n\
             2,100,1,100,100000000000000000,true\n3,100,1,100,4000000000000000000,false\n"
                .to_owned(),
            "time",
        ),
        (
            ImportFormat::BinanceFunding,
            "BTCUSDT-fundingRate.csv",
            "calc_time,funding_interval_hours,last_funding_rate\n1760131200000,8,0.0001\n\
             100000000000000000,8,0.0001\n4000000000000000000,8,0.0001\n"
                .to_owned(),
            "calc_time",
        ),
        (
            ImportFormat::TardisTrades,
            "tardis.csv",
            "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
             binance,BTCUSDT,1760131200000000,0,1,buy,100,1\n\
             binance,BTCUSDT,100000000000000,0,2,buy,100,1\n\
             binance,BTCUSDT,4000000000000000,0,3,sell,100,1\n"
                .to_owned(),
            "timestamp",
        ),
        (
            ImportFormat::BinanceKlines,
            "BTCUSDT-1m.csv",
            "1760131200000,100,101,99,100,1,1760131259999,0,1,0,0,0\n\
             100000000000000000,100,101,99,100,1,100000000000059999,0,1,0,0,0\n\
             4000000000000000000,100,101,99,100,1,4000000000000059999,0,1,0,0,0\n"
                .to_owned(),
            "open_time",
        ),
    ];
    for (format, name, text, column) in cases {
        let input = dir.path().join(name);
        fs::write(&input, text).unwrap();
        let out = dir.path().join(format!("{name}.parquet"));
        let mut req = request(format, std::slice::from_ref(&input), &out, "binance-usdm");
        req.symbol = Some("BTCUSDT".to_owned());
        let report = import(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.rejected, 2, "{name}: {report:#?}");
        let examples = &report.rejected_examples;
        let header = usize::from(format != ImportFormat::BinanceKlines);
        for (i, example) in examples.iter().enumerate() {
            let line = 2 + header + i;
            assert!(
                example.starts_with(&format!("{}:{line}: column `{column}`", input.display()))
                    && example.contains("outside 2009-01-01"),
                "{name}: {example}"
            );
        }
    }
}

#[test]
fn missing_column_is_an_error_naming_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("BTCUSDT-no-close.csv");
    fs::write(
        &input,
        "open_time,open,high,low,volume,close_time\n1760128080000,1,2,0.5,3,1760128139999\n",
    )
    .unwrap();
    let out = dir.path().join("out.parquet");
    let err = import(&request(
        ImportFormat::BinanceKlines,
        std::slice::from_ref(&input),
        &out,
        "binance-usdm",
    ))
    .unwrap_err();
    assert!(
        matches!(&err, DataError::MissingCsvColumn { path, column, .. }
            if *path == input && column == "close"),
        "{err:?}"
    );
    assert!(err.to_string().contains("BTCUSDT-no-close.csv"), "{err}");
    assert!(!out.exists());
    assert_eq!(listing(dir.path()), ["BTCUSDT-no-close.csv"]);

    // Headerless with too few columns.
    fs::write(&input, "1760128080000,1,2,0.5\n").unwrap();
    let err = import(&request(
        ImportFormat::BinanceKlines,
        std::slice::from_ref(&input),
        &out,
        "binance-usdm",
    ))
    .unwrap_err();
    assert!(
        matches!(&err, DataError::MissingCsvColumn { column, .. } if column == "close"),
        "{err:?}"
    );
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = fs::read(fixture(
        "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
    ))
    .unwrap();
    let truncated = dir
        .path()
        .join("binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    // An existing output must survive a failed import untouched.
    let out = dir.path().join("ATOMUSD_PERP.parquet");
    fs::write(&out, b"previous").unwrap();
    let err = import(&request(
        ImportFormat::TardisTrades,
        std::slice::from_ref(&truncated),
        &out,
        "binance-coinm",
    ))
    .unwrap_err();
    assert!(
        matches!(&err, DataError::Decompress { path, format: "gzip", reason }
            if *path == truncated && reason.contains("truncated")),
        "{err:?}"
    );
    assert!(err.to_string().contains("ATOMUSD_PERP.csv.gz"), "{err}");
    assert_eq!(fs::read(&out).unwrap(), b"previous");

    // A truncated zip, likewise.
    let zip = fs::read(fixture("BTCUSDT-5m-2025-10-10.zip")).unwrap();
    let truncated_zip = dir.path().join("BTCUSDT-5m-2025-10-10.zip");
    fs::write(&truncated_zip, &zip[..zip.len() - 100]).unwrap();
    let err = import(&request(
        ImportFormat::BinanceKlines,
        std::slice::from_ref(&truncated_zip),
        &out,
        "binance-usdm",
    ))
    .unwrap_err();
    assert!(
        matches!(&err, DataError::Decompress { path, format: "zip", .. } if *path == truncated_zip),
        "{err:?}"
    );
    fs::remove_file(&truncated_zip).unwrap();
    assert_eq!(fs::read(&out).unwrap(), b"previous");
    assert_eq!(
        listing(dir.path()),
        [
            "ATOMUSD_PERP.parquet",
            "binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz"
        ]
    );
}

#[test]
fn empty_and_header_only_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let empty = dir.path().join("BTCUSDT-empty.csv");
    fs::write(&empty, b"").unwrap();
    let header_only = dir.path().join("BTCUSDT-header.csv");
    fs::write(
        &header_only,
        "calc_time,funding_interval_hours,last_funding_rate\n",
    )
    .unwrap();
    for input in [&empty, &header_only] {
        let err = import(&request(
            ImportFormat::BinanceFunding,
            std::slice::from_ref(input),
            &out,
            "binance-usdm",
        ))
        .unwrap_err();
        assert!(
            matches!(&err, DataError::EmptyInput { path, .. } if path == input),
            "{err:?}"
        );
        assert!(!out.exists());
    }
    // An empty file among good ones still fails the whole import.
    let err = import(&request(
        ImportFormat::BinanceFunding,
        &[
            fixture("BTCUSDT-fundingRate-2020-01_2020-03.csv"),
            empty.clone(),
        ],
        &out,
        "binance-usdm",
    ))
    .unwrap_err();
    assert!(matches!(err, DataError::EmptyInput { .. }), "{err:?}");
    assert!(!out.exists());
    assert_eq!(
        listing(dir.path()),
        ["BTCUSDT-empty.csv", "BTCUSDT-header.csv"]
    );
}

#[test]
fn request_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    // A COIN-M symbol not in the table: 10 USD, Binance's rule for every coin
    // but BTC; an explicit size overrides it.
    let input = dir.path().join("NEWUSD_PERP-1m-2025-10-10.csv");
    fs::copy(fixture("BTCUSDT-um-1m-2025-10-10_2028-2237.csv"), &input).unwrap();
    let mut req = request(
        ImportFormat::BinanceKlines,
        std::slice::from_ref(&input),
        &out,
        "binance-coinm",
    );
    let report = import(&req).unwrap();
    assert_eq!(
        report.metadata.contract,
        Contract::Inverse {
            contract_size_usd: 10.0
        }
    );
    fs::remove_file(&out).unwrap();
    req.contract_size_usd = Some(25.0);
    let report = import(&req).unwrap();
    assert_eq!(
        report.metadata.contract,
        Contract::Inverse {
            contract_size_usd: 25.0
        }
    );
    fs::remove_file(&out).unwrap();

    // Inputs implying different symbols.
    let err = import(&request(
        ImportFormat::BinanceKlines,
        &[input, fixture("BTCUSDT-5m-2025-10-10.zip")],
        &out,
        "binance-usdm",
    ))
    .unwrap_err();
    assert!(
        matches!(err, DataError::InvalidInput { what: "symbol", .. }),
        "{err:?}"
    );

    // Every row rejected.
    let bad = dir.path().join("BTCUSDT-all-bad.csv");
    fs::write(
        &bad,
        "calc_time,funding_interval_hours,last_funding_rate\nx,8,0.1\n",
    )
    .unwrap();
    let err = import(&request(
        ImportFormat::BinanceFunding,
        &[bad],
        &out,
        "binance-usdm",
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains("no valid rows")
            && err.to_string().contains(":2: column `calc_time`"),
        "{err}"
    );
    assert!(!out.exists());
    assert!(
        listing(dir.path())
            .iter()
            .all(|name| !name.starts_with(".backstop-import")),
        "{:?}",
        listing(dir.path())
    );
}

#[test]
fn ragged_csv_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("BTCUSDT-ragged.csv");
    let mut file = fs::File::create(&input).unwrap();
    writeln!(file, "calc_time,funding_interval_hours,last_funding_rate").unwrap();
    writeln!(file, "1577836800000,8,-0.00012359").unwrap();
    writeln!(file, "1577865600000,8,-0.00012383,1,2,3").unwrap();
    drop(file);
    let out = dir.path().join("out.parquet");
    let result = import(&request(
        ImportFormat::BinanceFunding,
        std::slice::from_ref(&input),
        &out,
        "binance-usdm",
    ));
    let err = result.unwrap_err();
    assert!(
        matches!(&err, DataError::Import { path, reason, .. }
            if *path == input && reason.contains("more fields")),
        "{err:?}"
    );
    assert!(!out.exists());
    assert_eq!(listing(dir.path()), ["BTCUSDT-ragged.csv"]);
}

#[test]
fn microsecond_kline_times_are_detected() {
    // Binance moved some 2025+ spot files to µs; the same klines in µs must
    // import to the same rows as in ms.
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("BTCUSDT-um-1m-2025-10-10_2028-2237.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.take(3).collect();
    let ms = dir.path().join("BTCUSDT-ms.csv");
    let us = dir.path().join("BTCUSDT-us.csv");
    let mut ms_text = format!("{header}\n");
    let mut us_text = format!("{header}\n");
    for row in rows {
        ms_text.push_str(&format!("{row}\n"));
        let mut fields: Vec<String> = row.split(',').map(str::to_owned).collect();
        let open: i64 = fields[0].parse().unwrap();
        fields[0] = (open * 1000).to_string();
        fields[6] = (open * 1000 + 59_999_999).to_string();
        us_text.push_str(&format!("{}\n", fields.join(",")));
    }
    fs::write(&ms, ms_text).unwrap();
    fs::write(&us, us_text).unwrap();
    let (out_ms, out_us) = (dir.path().join("ms.parquet"), dir.path().join("us.parquet"));
    import(&request(
        ImportFormat::BinanceKlines,
        &[ms],
        &out_ms,
        "binance-spot",
    ))
    .unwrap();
    import(&request(
        ImportFormat::BinanceKlines,
        &[us],
        &out_us,
        "binance-spot",
    ))
    .unwrap();
    let (a, b) = (read_prices(&out_ms).unwrap(), read_prices(&out_us).unwrap());
    assert_eq!(a.rows.len(), 12);
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.rows[1].ts_ns, (OCT_10 + 20 * 3600 + 28 * 60 + 15) * NS);
}

#[test]
fn mark_and_index_klines_are_paired_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BTCUSDT.prices.parquet");
    let index_file = fixture("BTCUSDT-5m-index-2025-10-10-HANDMADE.csv");
    let mut req = request(
        ImportFormat::BinanceKlines,
        &[fixture("BTCUSDT-5m-2025-10-10.zip")],
        &out,
        "binance-usdm",
    );
    req.index_inputs = vec![index_file.clone()];
    let report = import(&req).unwrap();
    assert_eq!(report.rows_read, 288);
    assert_eq!(report.rows_written, 288 * 4);
    assert_eq!(report.index_rows_read, 7);
    assert_eq!(report.index_rejected, 0);
    // Six of the seven index klines share an open time with a mark kline;
    // the seventh (2025-10-11 00:00) has none and is dropped.
    assert_eq!(report.rows_with_index, 6 * 4);

    let table = read_prices(&out).unwrap();
    assert_eq!(table.rows.len(), 288 * 4);
    assert_eq!(
        table.rows.iter().filter(|row| row.index.is_some()).count(),
        6 * 4
    );
    // The index column of the 21:20 kline's four points is that index
    // kline's path (its own extremes, at the same four times as the mark).
    let start = OCT_10_2120 * NS;
    let interval = 300 * NS;
    let index_path = kline_path(104_600.0, 108_700.0, 102_300.0, 108_600.0, start, interval);
    let points: Vec<_> = table
        .rows
        .iter()
        .filter(|row| (start..start + interval).contains(&row.ts_ns))
        .collect();
    assert_eq!(points.len(), 4);
    for (row, (ts, price)) in points.iter().zip(index_path) {
        assert_eq!(row.ts_ns, ts);
        assert_eq!(row.index, Some(price));
    }
    // The mark is untouched: the published low is still there.
    let low = min_by_price(&table.rows, |row| row.mark);
    assert!((low.mark - 101_877.689_817_43).abs() < 1e-6);
    assert!((start..start + interval).contains(&low.ts_ns));
    // Rows before 21:00 have no index.
    assert!(
        table
            .rows
            .iter()
            .filter(|row| row.ts_ns < (OCT_10 + 21 * 3600) * NS)
            .all(|row| row.index.is_none())
    );
    let meta = read_metadata(&out).unwrap();
    assert!(meta.iter().any(|(k, v)| k == "backstop.import.index_inputs"
        && v == "BTCUSDT-5m-index-2025-10-10-HANDMADE.csv"));
}

#[test]
fn conflicting_index_klines_and_index_with_other_formats_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    // Two different index klines with one open time.
    let text = fs::read_to_string(fixture("BTCUSDT-5m-index-2025-10-10-HANDMADE.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.push("1760131200000,104600.00,108800.00,102300.00,108600.00,0,1760131499999,0,300,0,0,0");
    let conflicting = dir.path().join("BTCUSDT-5m-index-conflict.csv");
    fs::write(&conflicting, lines.join("\n")).unwrap();
    let mut req = request(
        ImportFormat::BinanceKlines,
        &[fixture("BTCUSDT-5m-2025-10-10.zip")],
        &out,
        "binance-usdm",
    );
    req.index_inputs = vec![conflicting];
    let err = import(&req).unwrap_err();
    assert!(
        matches!(&err, DataError::InvalidInput { reason, .. }
            if reason.contains("BTCUSDT-5m-index-conflict.csv")),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(listing(dir.path()), ["BTCUSDT-5m-index-conflict.csv"]);

    // Index inputs only make sense with klines.
    let mut req = request(
        ImportFormat::BinanceFunding,
        &[fixture("BTCUSDT-fundingRate-2020-01_2020-03.csv")],
        &out,
        "binance-usdm",
    );
    req.index_inputs = vec![fixture("BTCUSDT-5m-index-2025-10-10-HANDMADE.csv")];
    assert!(matches!(import(&req), Err(DataError::InvalidInput { .. })));
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------
// The external sort: forced with a tiny `sort_buffer_rows`, it must give the
// in-memory path's rows (decoded, in order) and report.

/// The Tardis day from the shared data folder, if it is there.
fn shared_tardis_day() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/binance_20251010_crash_theglory/tardis_trades_binance_coinm_perps/\
         binance-delivery_trades_2025-10-10_ATOMUSD_PERP.csv.gz",
    );
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found", path.display());
        None
    }
}

/// Imports `req` in memory (the default buffer) and with the external sort
/// (`buffer` records per run) into two files of `dir`; checks that nothing
/// but the outputs is left in `dir` and that the reports are equal, and
/// returns the report and the two outputs.
fn both_paths(dir: &Path, req: &ImportRequest, buffer: usize) -> (ImportReport, PathBuf, PathBuf) {
    let memory = dir.join("memory.parquet");
    let external = dir.join("external.parquet");
    let mut in_memory = req.clone();
    in_memory.output.clone_from(&memory);
    assert_eq!(
        in_memory.sort_buffer_rows,
        backstop_data::import::DEFAULT_SORT_BUFFER_ROWS
    );
    let mut sorted_out = req.clone();
    sorted_out.output.clone_from(&external);
    sorted_out.sort_buffer_rows = buffer;
    let report = import(&in_memory).unwrap();
    let external_report = import(&sorted_out).unwrap();
    assert_eq!(external_report, report);
    assert_eq!(
        listing(dir),
        ["external.parquet", "memory.parquet"],
        "scratch files left behind"
    );
    // The identical Parquet schema (names, types and nullability) either way.
    assert_eq!(parquet_schema(&external), parquet_schema(&memory));
    (report, memory, external)
}

/// A Parquet file's schema as `name: repetition type` per leaf column.
fn parquet_schema(path: &Path) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    schema
        .columns()
        .iter()
        .map(|c| {
            let t = c.self_type();
            format!(
                "{}: {:?} {:?} {:?}",
                c.name(),
                t.get_basic_info().repetition(),
                c.physical_type(),
                c.logical_type_ref()
            )
        })
        .collect()
}

#[test]
fn external_sort_matches_in_memory_for_real_trades() {
    let Some(day) = shared_tardis_day() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The day twice: every record meets its duplicate, mostly in another
    // run; 1,000 records per run make 234 runs, merged in two passes.
    let req = request(
        ImportFormat::TardisTrades,
        &[day.clone(), day],
        dir.path().join("unused.parquet").as_path(),
        "binance-coinm",
    );
    let (report, memory, external) = both_paths(dir.path(), &req, 1_000);
    assert_eq!(report.rows_read, 2 * 116_501);
    assert_eq!(report.duplicates_dropped, 116_501);
    assert_eq!(report.rows_written, 116_501);
    let rows = read_trades(&external).unwrap().rows;
    assert_eq!(rows, read_trades(&memory).unwrap().rows);
    assert_eq!(
        read_trades(&external).unwrap().metadata,
        read_trades(&memory).unwrap().metadata
    );
    assert!(
        rows.windows(2)
            .all(|w| (w[0].ts_ns, w[0].trade_id) <= (w[1].ts_ns, w[1].trade_id))
    );
    // Row groups as any other file of the crate.
    let source = HistorySource::open(&external, TimeWindow::ALL).unwrap();
    assert_eq!(
        source.row_groups_total(),
        116_501_usize.div_ceil(backstop_data::MAX_ROW_GROUP_ROWS)
    );
}

#[test]
fn external_sort_matches_in_memory_for_klines_with_rejects_and_index() {
    let dir = tempfile::tempdir().unwrap();
    // Real klines twice (duplicates across runs), plus a file with bad rows
    // and a duplicate (rejected examples must be identical).
    let klines = fixture("BTCUSDT-um-1m-2025-10-10_2028-2237.csv");
    let req = request(
        ImportFormat::BinanceKlines,
        &[klines.clone(), fixture("BTCUSDT-bad-rows-1m.csv"), klines],
        dir.path().join("unused.parquet").as_path(),
        "binance-usdm",
    );
    let (report, memory, external) = both_paths(dir.path(), &req, 7);
    assert!(report.duplicates_dropped > 130, "{report:?}");
    assert_eq!(report.rejected, 3);
    assert_eq!(report.rejected_examples.len(), 3);
    assert_eq!(
        read_prices(&external).unwrap().rows,
        read_prices(&memory).unwrap().rows
    );

    // Mark klines paired with index klines (the index map stays in memory).
    let dir = tempfile::tempdir().unwrap();
    let zip = fixture("BTCUSDT-5m-2025-10-10.zip");
    let mut req = request(
        ImportFormat::BinanceKlines,
        &[zip.clone(), zip],
        dir.path().join("unused.parquet").as_path(),
        "binance-usdm",
    );
    req.index_inputs = vec![fixture("BTCUSDT-5m-index-2025-10-10-HANDMADE.csv")];
    let (report, memory, external) = both_paths(dir.path(), &req, 10);
    assert_eq!(report.rows_with_index, 6 * 4);
    assert_eq!(report.duplicates_dropped, 288);
    assert_eq!(
        read_prices(&external).unwrap().rows,
        read_prices(&memory).unwrap().rows
    );
}

#[test]
fn external_sort_matches_in_memory_for_funding_depth_and_binance_trades() {
    let cases = [
        (
            ImportFormat::BinanceFunding,
            fixture("BTCUSDT-fundingRate-2020-01_2020-03.csv"),
            "funding",
        ),
        (
            ImportFormat::BinanceBookDepth,
            fixture("BTCUSDT-bookDepth-2025-10-10.csv"),
            "depth",
        ),
        (
            ImportFormat::BinanceTrades,
            fixture("BTCUSDT-trades-2025-10-10.csv"),
            "trades",
        ),
        (
            ImportFormat::BinanceAggTrades,
            fixture("BTCUSDT-aggTrades-2025-10-10.csv"),
            "trades",
        ),
    ];
    for (format, file, kind) in cases {
        let dir = tempfile::tempdir().unwrap();
        let req = request(
            format,
            &[file.clone(), file],
            dir.path().join("unused.parquet").as_path(),
            "binance-usdm",
        );
        let (report, memory, external) = both_paths(dir.path(), &req, 3);
        assert_eq!(report.duplicates_dropped * 2, report.rows_read, "{format}");
        match kind {
            "funding" => assert_eq!(
                read_funding(&external).unwrap().rows,
                read_funding(&memory).unwrap().rows
            ),
            "depth" => assert_eq!(
                read_depth(&external).unwrap().rows,
                read_depth(&memory).unwrap().rows
            ),
            _ => assert_eq!(
                read_trades(&external).unwrap().rows,
                read_trades(&memory).unwrap().rows
            ),
        }
    }
}

/// Records with equal keys (in one run and across runs) come out in input
/// order, duplicates anywhere are dropped once, and overlapping klines of
/// different intervals interleave as in memory.
#[test]
fn external_sort_ties_follow_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = 1_760_054_400_000_i64;
    // id, price, qty, quote_qty, time, is_buyer_maker: trade 7 at `t` four
    // times with two prices (one an exact duplicate, far apart), a null-free
    // id tie between files, and out-of-order times.
    let trades = dir.path().join("BTCUSDT-trades-a.csv");
    fs::write(
        &trades,
        format!(
            "9,101.0,1.0,101.0,{t2},false\n\
             7,100.5,2.0,201.0,{t},true\n\
             7,100.0,1.0,100.0,{t},false\n\
             8,99.0,1.0,99.0,{t1},false\n\
             7,100.5,2.0,201.0,{t},true\n\
             7,100.0,1.0,100.0,{t},false\n\
             7,100.0,1.0,100.0,{t},true\n",
            t1 = t + 1,
            t2 = t + 2
        ),
    )
    .unwrap();
    let more = dir.path().join("BTCUSDT-trades-b.csv");
    fs::write(
        &more,
        format!("7,99.5,1.0,99.5,{t},false\n7,100.5,2.0,201.0,{t},true\n"),
    )
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let req = request(
        ImportFormat::BinanceTrades,
        &[trades, more],
        out_dir.path().join("unused.parquet").as_path(),
        "binance-usdm",
    );
    for buffer in [1, 2, 3, 4] {
        let (report, memory, external) = both_paths(out_dir.path(), &req, buffer);
        assert_eq!(report.duplicates_dropped, 3, "buffer {buffer}");
        let rows = read_trades(&external).unwrap().rows;
        assert_eq!(rows, read_trades(&memory).unwrap().rows, "buffer {buffer}");
        let prices: Vec<f64> = rows.iter().map(|row| row.price).collect();
        assert_eq!(prices, [100.5, 100.0, 100.0, 99.5, 99.0, 101.0]);
        fs::remove_file(memory).unwrap();
        fs::remove_file(external).unwrap();
    }

    // Klines: a 4-minute kline overlapping 1-minute ones, and two different
    // klines at one open time: rows at equal times in (quarter, input) order.
    let m = 60_000_i64;
    let kline = |open: i64, minutes: i64, price: f64| {
        format!(
            "{open},{price},{high},{low},{price},0,{close},0,0,0,0,0\n",
            high = price + 1.0,
            low = price - 1.0,
            close = open + minutes * m - 1
        )
    };
    let csv = dir.path().join("BTCUSDT-1m-mixed.csv");
    let text = [
        kline(t + m, 1, 200.0),
        kline(t, 4, 100.0),
        kline(t + 2 * m, 1, 300.0),
        kline(t, 1, 150.0),
        kline(t + 2 * m, 1, 310.0),
        kline(t, 4, 100.0),
    ]
    .concat();
    fs::write(&csv, text).unwrap();
    let req = request(
        ImportFormat::BinanceKlines,
        &[csv],
        out_dir.path().join("unused.parquet").as_path(),
        "binance-usdm",
    );
    for buffer in [1, 2, 5] {
        let (report, memory, external) = both_paths(out_dir.path(), &req, buffer);
        assert_eq!(report.duplicates_dropped, 1);
        assert_eq!(report.rows_written, 5 * 4);
        assert_eq!(
            read_prices(&external).unwrap().rows,
            read_prices(&memory).unwrap().rows,
            "buffer {buffer}"
        );
        fs::remove_file(memory).unwrap();
        fs::remove_file(external).unwrap();
    }
}

#[test]
fn external_sort_errors_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BTCUSDT.parquet");
    let ragged = dir.path().join("BTCUSDT-ragged.csv");
    fs::write(
        &ragged,
        "calc_time,funding_interval_hours,last_funding_rate\n\
         1577836800000,8,-0.00012359\n\
         1577865600000,8,-0.00012383,1,2,3\n",
    )
    .unwrap();
    let funding = fixture("BTCUSDT-fundingRate-2020-01_2020-03.csv");
    let mut req = request(
        ImportFormat::BinanceFunding,
        &[funding.clone(), ragged.clone()],
        &out,
        "binance-usdm",
    );
    req.sort_buffer_rows = 1;
    let err = import(&req).unwrap_err();
    assert!(
        matches!(&err, DataError::Import { path, reason, .. }
            if *path == ragged && reason.contains("more fields")),
        "{err:?}"
    );
    assert_eq!(listing(dir.path()), ["BTCUSDT-ragged.csv"]);

    req.sort_buffer_rows = 0;
    req.inputs = vec![funding];
    let err = import(&req).unwrap_err();
    assert!(
        matches!(err, DataError::InvalidInput { ref reason, .. } if reason.contains("sort_buffer_rows")),
        "{err}"
    );
    assert_eq!(listing(dir.path()), ["BTCUSDT-ragged.csv"]);
}
