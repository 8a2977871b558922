//! The replay with its decoding on reader threads ([`Replay::read_ahead`])
//! yields exactly the single-threaded replay: the same events from the same
//! sources in the same order (ties across sources included), the same error
//! at the same place, and its threads end when it is dropped.

mod common;

use std::sync::{Mutex, MutexGuard};

use backstop_data::history::{TradeRow, write_trades};
use backstop_data::{HistorySource, Replay, ReplayEvent, TimeWindow};
use common::{faulty_sources, groups_of, meta, nan_price_error, tied_files, trade};

/// The tests of this file run one at a time, so that counting the reader
/// threads of the process sees only one test's.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A replay's items, errors as their `Debug` text.
type Items = Vec<Result<(usize, ReplayEvent), String>>;

/// Every item of `replay`, errors as their `Debug` text, with the row-group
/// counters of every source after the end.
fn run(mut replay: Replay) -> (Items, Vec<usize>) {
    let mut out = Vec::new();
    while let Some(item) = replay.next_with_source() {
        out.push(item.map_err(|err| format!("{err:?}")));
    }
    assert!(replay.next_with_source().is_none(), "fused");
    let read = replay
        .sources()
        .iter()
        .map(HistorySource::row_groups_read)
        .collect();
    (out, read)
}

#[test]
fn read_ahead_yields_exactly_the_single_threaded_sequence() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let paths = tied_files(dir.path()).paths;
    for window in [TimeWindow::ALL, TimeWindow::new(40_000, 90_000).unwrap()] {
        let inline = run(Replay::open(&paths, window).unwrap());
        let threaded = Replay::open_read_ahead(&paths, window).unwrap();
        assert!(threaded.sources().iter().all(HistorySource::reads_ahead));
        let threaded = run(threaded);
        assert!(inline.0.len() > 1_000, "{} events", inline.0.len());
        assert!(inline.0.iter().all(Result::is_ok));
        assert!(
            inline.0 == threaded.0,
            "the threaded replay differs in {window:?}"
        );
        assert_eq!(inline.1, threaded.1, "row groups read");
    }
}

#[test]
fn read_ahead_fails_at_the_same_event_with_the_same_error() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (nan, unsorted, clean) = faulty_sources(dir.path());

    for (bad, row, column) in [(&nan, 9_001, "price"), (&unsorted, 13_000, "ts")] {
        let paths = [&clean, bad];
        let inline = run(Replay::open(&paths, TimeWindow::ALL).unwrap()).0;
        let threaded = run(Replay::open_read_ahead(&paths, TimeWindow::ALL).unwrap()).0;
        assert!(inline == threaded, "{bad:?}: the sequences differ");
        let (last, events) = inline.split_last().unwrap();
        assert!(events.iter().all(Result::is_ok), "one error, at the end");
        let from_bad = events.iter().flatten().filter(|(s, _)| *s == 1).count();
        assert_eq!(from_bad, row, "{bad:?}: every row before the fault");
        let err = last.as_ref().unwrap_err();
        assert!(err.contains(&format!("row: {row}")), "{err}");
        assert!(err.contains(bad.to_str().unwrap()), "{err}");
        if column == "price" {
            assert!(
                err.contains("InvalidValue") && err.contains("\"price\""),
                "{err}"
            );
        } else {
            assert!(err.contains("UnsortedTimestamps"), "{err}");
        }
    }

    // One source alone, through `HistorySource`: the same error value.
    let mut source = HistorySource::open(&nan, TimeWindow::ALL).unwrap();
    source.read_ahead().unwrap();
    let results: Vec<_> = source.collect();
    nan_price_error(results);
}

/// The process's threads named `backstop-reader` (Linux).
fn reader_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "backstop-reader")
        })
        .count()
}

#[test]
fn dropping_the_replay_stops_its_reader_threads() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let paths = tied_files(dir.path()).paths;
    // Two sources of 400 record batches (4,096 rows) each, more than a
    // reader holds ahead of the consumer and keeps returned (256 + 64:
    // `READ_AHEAD` in crates/data/src/history/codec/cursor.rs), so both
    // threads are still waiting on their full queues while the replay is
    // held. (With 25 batches a source, the test's size before the queue grew
    // from 4 batches, a reader could reach the end of its file and let its
    // thread go before the count below.)
    let long = dir.path().join("long.parquet");
    let rows: Vec<TradeRow> = (0..400 * 4_096).map(|i| trade(i, 7.0)).collect();
    write_trades(&long, &rows, &meta("BTCUSDT"), &groups_of(30_000)).unwrap();
    let mut replay = Replay::open_read_ahead(&[&long, &long], TimeWindow::ALL).unwrap();
    for _ in 0..100 {
        replay.next().unwrap().unwrap();
    }
    if cfg!(target_os = "linux") {
        assert_eq!(reader_threads(), 2, "one reader thread a source");
    }
    drop(replay);
    assert_eq!(reader_threads(), 0, "the threads end with the replay");

    // A source at its end has let its thread go.
    let mut source = HistorySource::open(&paths[3], TimeWindow::ALL).unwrap();
    source.read_ahead().unwrap();
    assert_eq!(source.by_ref().count(), 12);
    assert_eq!(reader_threads(), 0);
    assert!(!source.reads_ahead());
}
