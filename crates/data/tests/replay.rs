//! Streaming replay of tick-history files: merge order, window pruning, and
//! the errors a damaged or foreign file produces.

mod common;

use std::sync::Arc;

use arrow_array::{Int32Array, TimestampNanosecondArray};
use arrow_schema::{DataType, TimeUnit};
use backstop_data::history::{
    DepthRow, PriceRow, TradeRow, write_depth, write_prices, write_trades,
};
use backstop_data::{
    Contract, DataError, EventKind, HistorySource, Replay, ReplayEvent, TimeWindow, WriteOptions,
    resample_last,
};
use common::{
    groups_of, key_values, meta, nan_price_error, raw_trades, tied_files, trade, write_raw,
};
use parquet::file::metadata::KeyValue;

fn small_groups() -> WriteOptions {
    groups_of(1000)
}

fn drain(replay: &mut Replay) -> Vec<(usize, ReplayEvent)> {
    let mut out = Vec::new();
    while let Some(item) = replay.next_with_source() {
        out.push(item.unwrap());
    }
    out
}

/// A comparable, hashable form of an event (exact float bits).
fn key(source: usize, event: &ReplayEvent) -> (i64, EventKind, usize, u64) {
    let value = match *event {
        ReplayEvent::Trade { price, .. } => price,
        ReplayEvent::Price { mark, .. } => mark,
        ReplayEvent::Funding { rate, .. } => rate,
    };
    (event.ts_ns(), event.kind(), source, value.to_bits())
}

#[test]
fn merged_replay_is_ordered_by_the_tie_rule_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Two trades files and a prices file whose timestamps interleave, with
    // many equal timestamps within and across files, plus funding.
    let tied = tied_files(dir.path());
    let paths = tied.paths;
    let mut replay = Replay::open(&paths, TimeWindow::ALL).unwrap();
    assert_eq!(replay.sources()[2].metadata().symbol, "ETHUSDT");
    let merged = drain(&mut replay);
    assert!(replay.next().is_none(), "fused");

    // Expected: every input event tagged with its source, stably sorted by
    // (ts, kind, source) so that file order is kept within a source.
    let mut expected = tied.events;
    let total = expected.len();
    expected.sort_by_key(|(source, event)| (event.ts_ns(), event.kind(), *source));

    assert_eq!(merged.len(), total, "no event lost or repeated");
    let mut got_keys: Vec<_> = merged.iter().map(|(s, e)| key(*s, e)).collect();
    let mut want_keys: Vec<_> = expected.iter().map(|(s, e)| key(*s, e)).collect();
    assert!(merged == expected, "merged order differs from the tie rule");
    got_keys.sort_unstable();
    want_keys.sort_unstable();
    assert_eq!(got_keys, want_keys, "same multiset of events");

    // The tie rule, spelled out at t = 0 (every file has rows there) and at
    // t = 9000 (funding, prices and both trades files).
    for t in [0, 9_000] {
        let at: Vec<(usize, EventKind)> = merged
            .iter()
            .filter(|(_, e)| e.ts_ns() == t)
            .map(|(s, e)| (*s, e.kind()))
            .collect();
        let mut sorted = at.clone();
        sorted.sort_by_key(|&(s, k)| (k, s));
        assert_eq!(at, sorted);
        assert_eq!(at.first(), Some(&(1, EventKind::Price)));
        assert!(at.contains(&(3, EventKind::Funding)));
        assert_eq!(at.last().map(|&(s, _)| s), Some(2));
    }

    // A stream of timestamps never decreases.
    assert!(merged.windows(2).all(|w| w[0].1.ts_ns() <= w[1].1.ts_ns()));
}

#[test]
fn window_prunes_row_groups_by_ts_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.parquet");
    let rows: Vec<TradeRow> = (0..10_000).map(|i| trade(i * 1_000, 100.0)).collect();
    write_trades(&path, &rows, &meta("BTCUSDT"), &small_groups()).unwrap();

    // Rows 4500..5500 live in row groups 4 and 5 of 10.
    let window = TimeWindow::new(4_500_000, 5_500_000).unwrap();
    let mut source = HistorySource::open(&path, window).unwrap();
    assert_eq!(source.kind(), EventKind::Trade);
    assert_eq!(source.row_groups_total(), 10);
    assert_eq!(source.row_groups_selected(), 2);
    assert_eq!(source.row_groups_read(), 0);
    let events: Vec<ReplayEvent> = source.by_ref().map(Result::unwrap).collect();
    assert_eq!(source.row_groups_read(), 2);
    assert_eq!(events.len(), 1_000);
    assert_eq!(events.first().map(ReplayEvent::ts_ns), Some(4_500_000));
    assert_eq!(events.last().map(ReplayEvent::ts_ns), Some(5_499_000));

    // A window on a row-group boundary reads exactly one group.
    let window = TimeWindow::new(3_000_000, 4_000_000).unwrap();
    let source = HistorySource::open(&path, window).unwrap();
    assert_eq!(source.row_groups_selected(), 1);
    assert_eq!(source.count(), 1_000);

    // Outside the data: nothing is read at all.
    let window = TimeWindow::new(20_000_000, 30_000_000).unwrap();
    let mut source = HistorySource::open(&path, window).unwrap();
    assert_eq!(source.row_groups_selected(), 0);
    assert!(source.next_event().unwrap().is_none());
    assert_eq!(source.row_groups_read(), 0);

    // The whole file.
    let source = HistorySource::open(&path, TimeWindow::ALL).unwrap();
    assert_eq!(source.row_groups_selected(), 10);
    assert_eq!(source.count(), 10_000);

    assert!(matches!(
        TimeWindow::new(2, 1),
        Err(DataError::InvalidInput { .. })
    ));
}

#[test]
fn unsorted_timestamps_name_file_row_and_both_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsorted.parquet");
    let ts = vec![0, 10, 20, 30, 25, 40];
    write_raw(
        &path,
        raw_trades(ts, vec![1.0; 6]),
        key_values("trades/v1"),
        1000,
    );
    let mut replay = Replay::open(&[&path], TimeWindow::ALL).unwrap();
    let mut seen = 0;
    let err = loop {
        match replay.next().unwrap() {
            Ok(_) => seen += 1,
            Err(err) => break err,
        }
    };
    assert_eq!(seen, 4, "the rows before the fault are replayed");
    assert!(replay.next().is_none(), "the replay ends after an error");
    match &err {
        DataError::UnsortedTimestamps {
            path: p,
            row,
            ts_ns,
            previous_row,
            previous_ts_ns,
        } => {
            assert_eq!(p, &path);
            assert_eq!(
                (*row, *ts_ns, *previous_row, *previous_ts_ns),
                (4, 25, 3, 30)
            );
        }
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    for part in ["unsorted.parquet", "row 4", "25 ns", "30 ns", "row 3"] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }

    // The whole-file reader says the same.
    let err = backstop_data::history::read_trades(&path).unwrap_err();
    assert!(
        matches!(err, DataError::UnsortedTimestamps { row: 4, .. }),
        "{err:?}"
    );
}

#[test]
fn row_groups_out_of_order_disable_pruning_rather_than_hide_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overlapping.parquet");
    // Row groups [10, 20, 30] and [25, 40, 50]: their ranges overlap. Pruning
    // by statistics for [40, 100) would read only the second group and miss
    // the fault; instead both are read and row 3 is reported.
    write_raw(
        &path,
        raw_trades(vec![10, 20, 30, 25, 40, 50], vec![1.0; 6]),
        key_values("trades/v1"),
        3,
    );
    let mut source = HistorySource::open(&path, TimeWindow::new(40, 100).unwrap()).unwrap();
    assert_eq!(source.row_groups_total(), 2);
    assert_eq!(source.row_groups_selected(), 2);
    let err = source.next_event().unwrap_err();
    assert!(
        matches!(
            err,
            DataError::UnsortedTimestamps {
                row: 3,
                ts_ns: 25,
                previous_row: 2,
                previous_ts_ns: 30,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        source.next_event().unwrap().is_none(),
        "exhausted after error"
    );
}

#[test]
fn nan_price_names_the_row_even_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.parquet");
    let n = 10_000;
    let mut prices = vec![100.0; n];
    prices[9_001] = f64::NAN;
    write_raw(
        &path,
        raw_trades((0..n as i64).collect(), prices),
        key_values("trades/v1"),
        4_000,
    );
    let source = HistorySource::open(&path, TimeWindow::ALL).unwrap();
    let results: Vec<_> = source.collect();
    let err = nan_price_error(results);
    let msg = err.to_string();
    assert!(
        msg.contains("nan.parquet") && msg.contains("row 9001") && msg.contains("NaN"),
        "{msg}"
    );

    // Rows outside the window are not value-checked.
    let window = TimeWindow::new(0, 9_000).unwrap();
    let source = HistorySource::open(&path, window).unwrap();
    assert_eq!(source.map(Result::unwrap).count(), 9_000);
}

#[test]
fn wrong_column_type_names_column_expected_and_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.parquet");
    let mut columns = raw_trades(vec![0, 1], vec![1.0, 2.0]);
    columns[3] = ("side", Arc::new(Int32Array::from(vec![1, -1])));
    write_raw(&path, columns, key_values("trades/v1"), 1000);

    let err = HistorySource::open(&path, TimeWindow::ALL).unwrap_err();
    match &err {
        DataError::ColumnType {
            path: p,
            column,
            expected,
            found,
        } => {
            assert_eq!(p, &path);
            assert_eq!(column, "side");
            assert_eq!(expected, "Int8");
            assert_eq!(found, "Int32");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("wrong.parquet") && msg.contains("`side`"),
        "{msg}"
    );

    // A timestamp without a time zone is not accepted as UTC.
    let path = dir.path().join("naive.parquet");
    let mut columns = raw_trades(vec![0, 1], vec![1.0, 2.0]);
    columns[0] = ("ts", Arc::new(TimestampNanosecondArray::from(vec![0, 1])));
    write_raw(&path, columns, key_values("trades/v1"), 1000);
    let err = HistorySource::open(&path, TimeWindow::ALL).unwrap_err();
    assert!(
        matches!(err, DataError::ColumnType { ref column, ref found, .. }
            if column == "ts" && found == "Timestamp(ns)"),
        "{err:?}"
    );
    assert_eq!(
        DataType::Timestamp(TimeUnit::Nanosecond, None).to_string(),
        "Timestamp(ns)"
    );
}

#[test]
fn missing_or_foreign_metadata_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anon.parquet");
    let mut kv = key_values("trades/v1");
    kv.retain(|kv| kv.key != "backstop.symbol");
    write_raw(&path, raw_trades(vec![0], vec![1.0]), kv, 1000);
    let err = HistorySource::open(&path, TimeWindow::ALL).unwrap_err();
    assert!(
        matches!(err, DataError::MissingMetadata { ref key, .. } if key == "backstop.symbol"),
        "{err:?}"
    );

    let path = dir.path().join("inverse.parquet");
    let mut kv = key_values("trades/v1");
    kv.retain(|kv| kv.key != "backstop.contract");
    kv.push(KeyValue::new(
        "backstop.contract".to_owned(),
        "inverse".to_owned(),
    ));
    write_raw(&path, raw_trades(vec![0], vec![1.0]), kv.clone(), 1000);
    let err = HistorySource::open(&path, TimeWindow::ALL).unwrap_err();
    assert!(
        matches!(err, DataError::MissingMetadata { ref key, .. } if key == "backstop.contract_size_usd"),
        "{err:?}"
    );
    kv.push(KeyValue::new(
        "backstop.contract_size_usd".to_owned(),
        "10".to_owned(),
    ));
    write_raw(&path, raw_trades(vec![0], vec![1.0]), kv, 1000);
    let source = HistorySource::open(&path, TimeWindow::ALL).unwrap();
    assert_eq!(
        source.metadata().contract,
        Contract::Inverse {
            contract_size_usd: 10.0
        }
    );

    // Depth is not a replay event.
    let path = dir.path().join("depth.parquet");
    let depth = [DepthRow {
        ts_ns: 0,
        percentage: -1.0,
        depth: 1.0,
        notional: 1.0,
    }];
    write_depth(&path, &depth, &meta("BTCUSDT"), &WriteOptions::default()).unwrap();
    let err = HistorySource::open(&path, TimeWindow::ALL).unwrap_err();
    assert!(
        matches!(err, DataError::SchemaMismatch { ref found, .. } if found == "depth/v1"),
        "{err:?}"
    );
}

#[test]
fn empty_file_is_an_empty_source_but_zero_bytes_is_not_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.parquet");
    write_trades(&empty, &[], &meta("BTCUSDT"), &WriteOptions::default()).unwrap();
    let prices = dir.path().join("prices.parquet");
    let rows = [PriceRow {
        ts_ns: 7,
        mark: 3.0,
        index: None,
    }];
    write_prices(&prices, &rows, &meta("BTCUSDT"), &WriteOptions::default()).unwrap();

    let mut source = HistorySource::open(&empty, TimeWindow::ALL).unwrap();
    assert_eq!(source.row_groups_total(), 0);
    assert!(source.next_event().unwrap().is_none());

    let replay = Replay::open(&[&empty, &prices], TimeWindow::ALL).unwrap();
    let events: Vec<ReplayEvent> = replay.map(Result::unwrap).collect();
    assert_eq!(events, [ReplayEvent::from(rows[0])]);

    let zero = dir.path().join("zero.parquet");
    std::fs::write(&zero, b"").unwrap();
    let err = HistorySource::open(&zero, TimeWindow::ALL).unwrap_err();
    assert!(matches!(err, DataError::NotParquet { .. }), "{err:?}");
    assert!(err.to_string().contains("zero.parquet"), "{err}");
}

#[test]
fn truncated_or_corrupted_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.parquet");
    let rows: Vec<TradeRow> = (0..5_000).map(|i| trade(i, 100.0 + i as f64)).collect();
    write_trades(&path, &rows, &meta("BTCUSDT"), &small_groups()).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    for keep in [bytes.len() - 1, bytes.len() - 9, bytes.len() / 2, 4] {
        let truncated = dir.path().join(format!("truncated-{keep}.parquet"));
        std::fs::write(&truncated, &bytes[..keep]).unwrap();
        let err = HistorySource::open(&truncated, TimeWindow::ALL).unwrap_err();
        assert!(matches!(err, DataError::NotParquet { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&truncated.display().to_string()),
            "{err}"
        );
    }

    // Garbage over the data pages with the footer intact: an error naming
    // the file (or, at worst, wrong-but-valid values), never a panic.
    let mut corrupted = bytes.clone();
    for byte in &mut corrupted[8..bytes.len() / 2] {
        *byte = 0xA5;
    }
    let path = dir.path().join("corrupted.parquet");
    std::fs::write(&path, &corrupted).unwrap();
    match HistorySource::open(&path, TimeWindow::ALL) {
        Err(err) => assert!(err.to_string().contains("corrupted.parquet"), "{err}"),
        Ok(source) => {
            let err = source
                .filter_map(Result::err)
                .next()
                .expect("corrupted pages are detected");
            assert!(err.to_string().contains("corrupted.parquet"), "{err}");
        }
    }
}

#[test]
fn replay_feeds_the_resampler() {
    let dir = tempfile::tempdir().unwrap();
    let trades_path = dir.path().join("trades.parquet");
    let prices_path = dir.path().join("prices.parquet");
    let marks: Vec<PriceRow> = (0..100)
        .map(|i| PriceRow {
            ts_ns: i * 1_000,
            mark: 100.0 + i as f64,
            index: None,
        })
        .collect();
    let trades = [trade(2_500, 500.0), trade(3_000, 600.0)];
    write_prices(&prices_path, &marks, &meta("X"), &WriteOptions::default()).unwrap();
    write_trades(&trades_path, &trades, &meta("X"), &WriteOptions::default()).unwrap();

    let window = TimeWindow::new(1_000, 10_000).unwrap();
    let replay = Replay::open(&[&prices_path, &trades_path], window).unwrap();
    // Boundaries 1000, 2000, 3000, 4000: at 3000 the trade (replayed after the
    // mark with the same timestamp) wins.
    let path = resample_last(replay, 1_000, 1_000, 4).unwrap();
    assert_eq!(path, [101.0, 102.0, 600.0, 104.0]);

    // Marks only.
    let replay = Replay::open(&[&prices_path, &trades_path], window).unwrap();
    let marks_only = replay.filter(|e| !matches!(e, Ok(ReplayEvent::Trade { .. })));
    let path = resample_last(marks_only, 1_000, 1_000, 4).unwrap();
    assert_eq!(path, [101.0, 102.0, 103.0, 104.0]);

    // The window starts after 1000, so a resample from 500 has no price.
    let replay = Replay::open(&[&prices_path], window).unwrap();
    let err = resample_last(replay, 500, 1_000, 4).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::NoPriceAtStart {
                start_ns: 500,
                first_price_ts_ns: Some(1_000)
            }
        ),
        "{err:?}"
    );
}

/// The batch fast path checks order against the previous batch: a step back
/// exactly at a batch boundary (rows are decoded 4,096 at a time) is found
/// and named, after every row before it.
#[test]
fn unsorted_at_a_batch_boundary_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boundary.parquet");
    let n = 10_000_i64;
    let mut ts: Vec<i64> = (0..n).map(|i| i * 10).collect();
    ts[4_096] = ts[4_095] - 1;
    write_raw(
        &path,
        raw_trades(ts, vec![1.0; 10_000]),
        key_values("trades/v1"),
        3_000,
    );
    let results: Vec<_> = HistorySource::open(&path, TimeWindow::ALL)
        .unwrap()
        .collect();
    assert_eq!(results.len(), 4_097, "4096 events then the error");
    assert!(results[..4_096].iter().all(Result::is_ok));
    let err = results.into_iter().last().unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            DataError::UnsortedTimestamps {
                row: 4_096,
                previous_row: 4_095,
                ..
            }
        ),
        "{err:?}"
    );
}
