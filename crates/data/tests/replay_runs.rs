//! [`Replay::next_run`] hands out the merge's events a run at a time (the
//! running trades source's rows as a slice) and yields exactly what
//! [`Replay::next_with_source`] yields: the same events from the same
//! sources in the same order (ties across sources included), the same error
//! at the same event, inline or read ahead.

mod common;

use backstop_data::history::{TradeRow, write_trades};
use backstop_data::{Replay, ReplayEvent, ReplayRun, TimeWindow};
use common::{faulty_sources, groups_of, meta, tied_files, trade};

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
            Ok(ReplayRun::Trades { source, rows }) => {
                assert!(!rows.is_empty(), "a run holds a trade at least");
                longest = longest.max(rows.len());
                out.extend(rows.iter().map(|&row| Ok((source, row.into()))));
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
            Ok(ReplayRun::Trades { source, rows }) => {
                assert!(!rows.is_empty(), "a run holds a trade at least");
                assert!(rows.iter().all(|row| row.ts_ns <= until), "cut at {until}");
                out.extend(rows.iter().map(|&row| Ok((source, row.into()))));
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
