//! Fuzzing on stable (issue 16): every Parquet reader of the crate over
//! mutated real files (the seed corpus is the Parquet files of `data/` and
//! `data/history/`, and a positions file written here), asserting that no
//! input panics: each is read or refused with an error naming the file.
//!
//! 10,000 cases a run by default (`PROPTEST_CASES` overrides); proptest saves
//! a failing case in `fuzz.regressions` beside this file, which then runs
//! first on every later run.

use std::path::{Path, PathBuf};

use backstop_data::history::{read_depth, read_funding, read_prices, read_trades};
use backstop_data::{
    DataError, HistorySource, PositionRow, TimeWindow, read_bands, read_haircuts, read_metadata,
    read_paths, read_positions, read_steps, read_sweep, write_positions,
};
use proptest::prelude::*;

/// The seed corpus: the repository's small Parquet files (the 2 MB trades
/// file aside: its footer is the same kind as the others') and a positions
/// file.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let mut files = Vec::new();
    for dir in [root.join("history"), root.clone()] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() < 200_000))
            .collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            files.push((name, std::fs::read(&p).unwrap()));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let positions = dir.path().join("population.parquet");
    let rows: Vec<PositionRow> = (0..50)
        .map(|i| PositionRow {
            account_id: i,
            market: if i % 3 == 0 { "eth" } else { "btc" }.to_owned(),
            size: (i as f64 - 25.0) * 0.01 + 0.005,
            entry_price: 100_000.0 + i as f64,
            collateral: 1_000.0 + i as f64,
            isolated: i % 7 == 0,
        })
        .collect();
    write_positions(&positions, &rows, &[]).unwrap();
    files.push((
        "population.parquet".to_owned(),
        std::fs::read(&positions).unwrap(),
    ));
    assert!(files.len() >= 10, "the corpus is the data folder");
    files
}

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    /// The byte at `at` (mod the length) set to `byte`.
    Byte { at: usize, byte: u8 },
    /// The byte `back` bytes from the end (mod 2 KiB: the footer) set to `byte`.
    FooterByte { back: usize, byte: u8 },
    /// `len` bytes from `at` zeroed.
    Zero { at: usize, len: usize },
    /// The file cut at `at`.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Byte { at, byte }),
        4 => (0usize..2048, any::<u8>()).prop_map(|(back, byte)| Mutation::FooterByte { back, byte }),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Zero { at, len }),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Byte { at, byte } => bytes[at % n] = byte,
        Mutation::FooterByte { back, byte } => {
            let at = n - 1 - back.min(n - 1);
            bytes[at] = byte;
        }
        Mutation::Zero { at, len } => {
            let at = at % n;
            for b in &mut bytes[at..(at + len).min(n)] {
                *b = 0;
            }
        }
        Mutation::Truncate(at) => bytes.truncate(at % n),
    }
}

proptest! {
    #![proptest_config(backstop_testkit::fuzz_config())]

    /// Every reader on a mutated file returns rows or an error naming the
    /// file; none panics.
    #[test]
    fn mutated_parquet_files_never_panic(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(mutation(), 1..4),
    ) {
        thread_local! {
            static CORPUS: Vec<(String, Vec<u8>)> = corpus();
            static DIR: tempfile::TempDir = tempfile::tempdir().unwrap();
        }
        let (name, mut bytes) = CORPUS.with(|c| c[file.index(c.len())].clone());
        for m in &edits {
            apply(&mut bytes, m);
        }
        let path = DIR.with(|d| d.path().join(&name));
        std::fs::write(&path, &bytes).unwrap();
        let results: Vec<Result<(), DataError>> = vec![
            read_metadata(&path).map(drop),
            read_prices(&path).map(drop),
            read_trades(&path).map(drop),
            read_funding(&path).map(drop),
            read_depth(&path).map(drop),
            read_positions(&path).map(drop),
            read_paths(&path).map(drop),
            read_steps(&path).map(drop),
            read_bands(&path).map(drop),
            read_haircuts(&path).map(drop),
            read_sweep(&path).map(drop),
            HistorySource::open(&path, TimeWindow::ALL).map(drop),
        ];
        for r in results {
            if let Err(e) = r {
                prop_assert!(backstop_testkit::names_file(&e.to_string(), &path), "{name}: an error without the file: {e}");
            }
        }
    }
}
