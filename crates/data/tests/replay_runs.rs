//! [`Replay::next_run`] hands out the merge's events a run at a time (the
//! running trades source's rows as a slice) and yields exactly what
//! [`Replay::next_with_source`] yields: the same events from the same
//! sources in the same order (ties across sources included), the same error
//! at the same event, inline or read ahead.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int8Array};
use backstop_data::history::{TradeRow, write_trades};
use backstop_data::{Replay, ReplayEvent, ReplayRun, Side, TimeWindow};
use common::{
    faulty_sources, groups_of, key_values, meta, raw_trades, tied_files, trade, write_raw,
};

/// A replay's items, errors as their `Debug` text.
type Items = Vec<Result<(usize, ReplayEvent), String>>;

/// Every item of `replay` one event at a time.
fn events(mut replay: Replay) -> Items {
    let mut out = Vec::new();
    while let Some(item) = replay.next_with_source() {
        out.push(item.map_err(|err| format!("{err:?}")));
    }
    out
}

/// Every item of `replay` through [`Replay::next_run`], runs flattened;
/// also the longest run of trades.
fn runs(mut replay: Replay) -> (Items, usize) {
    let mut out = Vec::new();
    let mut longest = 0;
    while let Some(item) = replay.next_run() {
        match item {
            Ok(ReplayRun::Trades { source, trades }) => {
                assert!(!trades.is_empty(), "a run holds a trade at least");
                longest = longest.max(trades.len());
                out.extend(trades.iter().map(|row| Ok((source, row.into()))));
            }
            Ok(ReplayRun::Event { source, event }) => out.push(Ok((source, event))),
            Err(err) => out.push(Err(format!("{err:?}"))),
        }
    }
    assert!(replay.next_run().is_none(), "fused");
    assert!(replay.next_with_source().is_none(), "fused");
    (out, longest)
}

/// Every item of `replay` through [`Replay::next_run_until`], a consumer
/// stepping every `step` ns: runs never pass the step's time (a single event
/// may), and the step moves on after an event past it.
fn runs_until(mut replay: Replay, step: i64) -> Items {
    let mut out = Vec::new();
    let mut until = 0;
    while let Some(item) = replay.next_run_until(until) {
        match item {
            Ok(ReplayRun::Trades { source, trades }) => {
                assert!(!trades.is_empty(), "a run holds a trade at least");
                assert!(
                    trades.ts_ns().iter().all(|&ts| ts <= until),
                    "cut at {until}"
                );
                out.extend(trades.iter().map(|row| Ok((source, row.into()))));
            }
            Ok(ReplayRun::Event { source, event }) => {
                if event.ts_ns() > until {
                    until = event.ts_ns() + step;
                }
                out.push(Ok((source, event)));
            }
            Err(err) => out.push(Err(format!("{err:?}"))),
        }
    }
    out
}

#[test]
fn runs_yield_exactly_the_events_of_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let paths = tied_files(dir.path()).paths;
    for window in [TimeWindow::ALL, TimeWindow::new(40_000, 90_000).unwrap()] {
        let one_by_one = events(Replay::open(&paths, window).unwrap());
        assert!(one_by_one.len() > 1_000, "{} events", one_by_one.len());
        assert!(one_by_one.iter().all(Result::is_ok));
        for read_ahead in [false, true] {
            let replay = if read_ahead {
                Replay::open_read_ahead(&paths, window).unwrap()
            } else {
                Replay::open(&paths, window).unwrap()
            };
            let (by_runs, longest) = runs(replay);
            assert!(
                one_by_one == by_runs,
                "runs differ in {window:?} (read ahead: {read_ahead})"
            );
            assert!(longest > 1, "runs of several trades: {longest}");
        }
        for step in [0, 7, 1_000] {
            let cut = runs_until(Replay::open(&paths, window).unwrap(), step);
            assert!(one_by_one == cut, "runs cut every {step} ns differ");
        }
    }
}

#[test]
fn one_source_runs_are_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.parquet");
    let rows: Vec<TradeRow> = (0..50_000).map(|i| trade(i / 4, 7.0 + i as f64)).collect();
    write_trades(&path, &rows, &meta("BTCUSDT"), &groups_of(20_000)).unwrap();
    let one_by_one = events(Replay::open(&[&path], TimeWindow::ALL).unwrap());
    let (by_runs, longest) = runs(Replay::open(&[&path], TimeWindow::ALL).unwrap());
    assert_eq!(one_by_one.len(), 50_000);
    assert!(one_by_one == by_runs);
    // A reader batch is 4,096 rows: its first row is handed out alone (it
    // ends the previous run), the rest as one run.
    assert_eq!(longest, 4_095);
}

#[test]
fn runs_fail_at_the_same_event_with_the_same_error() {
    let dir = tempfile::tempdir().unwrap();
    let (nan, unsorted, clean) = faulty_sources(dir.path());

    for (bad, row) in [(&nan, 9_001), (&unsorted, 13_000)] {
        for paths in [vec![bad], vec![&clean, bad]] {
            let one_by_one = events(Replay::open(&paths, TimeWindow::ALL).unwrap());
            let (by_runs, _) = runs(Replay::open(&paths, TimeWindow::ALL).unwrap());
            let (ahead, _) = runs(Replay::open_read_ahead(&paths, TimeWindow::ALL).unwrap());
            assert!(one_by_one == by_runs, "{bad:?}: the sequences differ");
            assert!(one_by_one == ahead, "{bad:?}: read ahead differs");
            let (last, before) = by_runs.split_last().unwrap();
            assert!(before.iter().all(Result::is_ok), "one error, at the end");
            let err = last.as_ref().unwrap_err();
            assert!(err.contains(&format!("row: {row}")), "{err}");
            assert!(err.contains(bad.to_str().unwrap()), "{err}");
        }
    }
}

/// A value written into one column of an otherwise clean trades file.
#[derive(Debug, Clone, Copy)]
enum Value {
    Price(Option<f64>),
    Size(Option<f64>),
    Side(i8),
}

#[test]
fn every_bad_value_is_found_at_its_row_and_edge_values_pass() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000_usize;
    // Rows at a batch's end, a batch's start (4,096 rows each) and inside one.
    let rows = [4_095, 4_096, 5_003];
    let bad = [
        (Value::Price(Some(0.0)), "price"),
        (Value::Price(Some(-0.0)), "price"),
        (Value::Price(Some(-3.0)), "price"),
        (Value::Price(Some(f64::INFINITY)), "price"),
        (Value::Price(Some(f64::NAN)), "price"),
        (Value::Price(None), "price"),
        (Value::Size(Some(-1e-300)), "size"),
        (Value::Size(Some(f64::NEG_INFINITY)), "size"),
        (Value::Size(Some(f64::INFINITY)), "size"),
        (Value::Size(Some(-f64::NAN)), "size"),
        (Value::Size(None), "size"),
        (Value::Side(2), "side"),
        (Value::Side(-2), "side"),
        (Value::Side(i8::MIN), "side"),
    ];
    let good = [
        Value::Price(Some(f64::from_bits(1))),
        Value::Price(Some(f64::MAX)),
        Value::Size(Some(-0.0)),
        Value::Size(Some(0.0)),
        Value::Size(Some(f64::MAX)),
        Value::Side(-1),
        Value::Side(0),
    ];
    let cases = bad
        .iter()
        .map(|&(value, column)| (value, Some(column)))
        .chain(good.iter().map(|&value| (value, None)));
    for (case, (value, column)) in cases.enumerate() {
        for row in rows {
            let path = dir.path().join(format!("case-{case}-{row}.parquet"));
            let ts: Vec<i64> = (0..n as i64).map(|i| i / 3).collect();
            let mut columns = raw_trades(ts, (0..n).map(|i| 10.0 + i as f64).collect());
            let (index, array): (usize, ArrayRef) = match value {
                Value::Price(v) => (1, with_value(n, row, 10.0 + row as f64, v)),
                Value::Size(v) => (2, with_value(n, row, 1.0, v)),
                Value::Side(v) => {
                    let mut sides = vec![1_i8; n];
                    sides[row] = v;
                    (3, Arc::new(Int8Array::from(sides)))
                }
            };
            columns[index].1 = array;
            write_raw(&path, columns, key_values("trades/v1"), 6_000);
            let paths = [&path];
            let one_by_one = events(Replay::open(&paths, TimeWindow::ALL).unwrap());
            let (by_runs, _) = runs(Replay::open(&paths, TimeWindow::ALL).unwrap());
            let (ahead, _) = runs(Replay::open_read_ahead(&paths, TimeWindow::ALL).unwrap());
            assert!(one_by_one == by_runs, "{value:?} at {row}: runs differ");
            assert!(
                one_by_one == ahead,
                "{value:?} at {row}: read ahead differs"
            );
            match column {
                Some(column) => {
                    assert_eq!(one_by_one.len(), row + 1, "{value:?} at {row}");
                    let (last, before) = one_by_one.split_last().unwrap();
                    assert!(before.iter().all(Result::is_ok), "{value:?} at {row}");
                    let err = last.as_ref().unwrap_err();
                    assert!(err.contains(&format!("row: {row}")), "{value:?}: {err}");
                    assert!(err.contains(&format!("\"{column}\"")), "{value:?}: {err}");
                    assert!(err.contains(path.to_str().unwrap()), "{err}");
                }
                None => {
                    assert_eq!(one_by_one.len(), n, "{value:?} at {row}");
                    assert!(one_by_one.iter().all(Result::is_ok), "{value:?} at {row}");
                    let Ok((
                        _,
                        ReplayEvent::Trade {
                            price, size, side, ..
                        },
                    )) = one_by_one[row]
                    else {
                        panic!("{value:?} at {row}: not a trade");
                    };
                    match value {
                        Value::Price(v) => assert_eq!(Some(price.to_bits()), v.map(f64::to_bits)),
                        Value::Size(v) => assert_eq!(Some(size.to_bits()), v.map(f64::to_bits)),
                        Value::Side(v) => assert_eq!(side, Side::from_i8(v).unwrap()),
                    }
                }
            }
        }
    }
}

/// A float column of `n` copies of `fill` with `value` (or a null) at `row`.
fn with_value(n: usize, row: usize, fill: f64, value: Option<f64>) -> ArrayRef {
    let mut values: Vec<Option<f64>> = vec![Some(fill); n];
    values[row] = value;
    Arc::new(Float64Array::from(values))
}

#[test]
fn a_trade_slice_reads_as_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slice.parquet");
    let rows: Vec<TradeRow> = (0..5_000).map(|i| trade(i / 2, 3.0 + i as f64)).collect();
    write_trades(&path, &rows, &meta("BTCUSDT"), &groups_of(2_000)).unwrap();
    let mut replay = Replay::open(&[&path], TimeWindow::ALL).unwrap();
    let mut seen = Vec::new();
    while let Some(run) = replay.next_run() {
        match run.unwrap() {
            ReplayRun::Trades { trades, .. } => {
                assert_eq!(trades.len(), trades.ts_ns().len());
                assert_eq!(trades.prices().len(), trades.len());
                assert_eq!(trades.sizes().len(), trades.len());
                assert_eq!(trades.get(trades.len()), None);
                assert_eq!(trades.side(trades.len()), None);
                assert_eq!(trades.last(), trades.iter().last());
                for (i, row) in trades.iter().enumerate() {
                    assert_eq!(trades.get(i), Some(row));
                    assert_eq!(trades.side(i), Some(row.side));
                    assert_eq!(
                        (trades.ts_ns()[i], trades.prices()[i]),
                        (row.ts_ns, row.price)
                    );
                    seen.push(row);
                }
            }
            ReplayRun::Event { event, .. } => {
                let ReplayEvent::Trade {
                    ts_ns,
                    price,
                    size,
                    side,
                } = event
                else {
                    panic!("a trades file yields trades");
                };
                seen.push(TradeRow {
                    ts_ns,
                    price,
                    size,
                    side,
                    trade_id: None,
                });
            }
        }
    }
    let expected: Vec<TradeRow> = rows
        .iter()
        .map(|row| TradeRow {
            trade_id: None,
            ..*row
        })
        .collect();
    assert_eq!(seen, expected, "a replay reads no trade id");
}
