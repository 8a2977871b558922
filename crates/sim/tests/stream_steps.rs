//! Path 0's per-step series (and a one-path run's bands) stream to Parquet as
//! the path runs (`Prepared::run_into`): the files are byte-identical to those
//! written from the series held in memory (`Prepared::run` then `write_run`),
//! and the run never holds more than a row group of them.

use std::path::{Path, PathBuf};

use backstop_data::MAX_ROW_GROUP_ROWS;
use backstop_data::results::layout::{BANDS_FILE, STEPS_FILE};
use backstop_sim::config::path::PathConfig;
use backstop_sim::config::population::PopulationConfig;
use backstop_sim::run::results::write_run;
use backstop_sim::{Prepared, Scenario};

fn scenario(name: &str) -> (Scenario, PathBuf) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let s = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    (s, file.parent().unwrap().to_path_buf())
}

/// `s` with `accounts` accounts and, for a linear path, `steps` steps.
fn sized(mut s: Scenario, accounts: u32, steps: Option<u32>) -> Scenario {
    if let PopulationConfig::Generated { accounts: a, .. } = &mut s.population {
        *a = accounts;
    }
    match (&mut s.path, steps) {
        (PathConfig::Linear { steps: n, .. }, Some(steps)) => *n = steps,
        (PathConfig::Garch(c), Some(steps)) => c.steps = steps,
        _ => {}
    }
    s
}

/// The names and bytes of every file of `dir`, sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs `p` held and streamed and checks both results folders are the same
/// bytes; returns the streamed run's output and the folder it streamed into.
fn same_files(p: &Prepared) -> (backstop_sim::RunOutput, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let (held_dir, streamed_dir) = (tmp.path().join("held"), tmp.path().join("streamed"));
    std::fs::create_dir_all(&held_dir).unwrap();
    std::fs::create_dir_all(&streamed_dir).unwrap();
    let held = p.run(&|_| {}).unwrap();
    assert!(held.first_path.streamed_to().is_none());
    write_run(&held_dir, p, &held).unwrap();
    let streamed = p.run_into(&streamed_dir, &|_| {}).unwrap();
    assert_eq!(
        streamed.first_path.streamed_to(),
        Some(streamed_dir.join(STEPS_FILE).as_path())
    );
    write_run(&streamed_dir, p, &streamed).unwrap();
    let (a, b) = (files(&held_dir), files(&streamed_dir));
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>(),
        "no temporary file is left"
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs");
    }
    assert_eq!(held.paths, streamed.paths);
    assert_eq!(held.bands_relative_error, streamed.bands_relative_error);
    (streamed, tmp)
}

#[test]
fn a_long_one_path_run_streams_steps_and_bands_byte_identical_in_a_row_group() {
    // 3 row groups of steps and (7 band columns a step) 8 of bands.
    let steps = 2 * MAX_ROW_GROUP_ROWS as u32 + 1_234;
    let (s, dir) = scenario("linear-crash.toml");
    let p = Prepared::new(sized(s, 200, Some(steps)), &dir).unwrap();
    let (out, _dir) = same_files(&p);
    assert_eq!(
        out.bands.streamed_to(),
        Some(
            out.first_path
                .streamed_to()
                .unwrap()
                .with_file_name(BANDS_FILE)
                .as_path()
        ),
        "a one-path run streams its bands"
    );
    assert_eq!(out.first_path.len(), steps as usize);
    // Held: every row at once. Streamed: never more than a row group and a step.
    let held = p.run(&|_| {}).unwrap();
    assert_eq!(held.first_path.peak_rows_held(), steps as usize);
    let markets = p.scenario.market.len();
    assert!(
        out.first_path.peak_rows_held() < MAX_ROW_GROUP_ROWS + markets,
        "held {} rows",
        out.first_path.peak_rows_held()
    );
    // The streamed series reads back as the held one.
    assert_eq!(
        out.first_path.table().unwrap(),
        held.first_path.table().unwrap()
    );
    assert_eq!(out.bands.table().unwrap(), held.bands.table().unwrap());
}

#[test]
fn many_paths_stream_path_zero_and_several_markets_split_row_groups() {
    // Several paths: path 0's steps stream, the bands are across paths.
    let (s, dir) = scenario("mc-garch-baseline.toml");
    let mut p = Prepared::new(sized(s, 300, None), &dir).unwrap();
    p.set_paths(5).unwrap();
    let (out, _dir) = same_files(&p);
    assert!(out.bands.streamed_to().is_none());
    // Several markets: a row group boundary falls inside a step.
    let (s, dir) = scenario("multi-asset-cross-margin.toml");
    assert_eq!(s.market.len(), 2);
    let mut p = Prepared::new(sized(s, 100, Some(40_001)), &dir).unwrap();
    p.set_paths(1).unwrap();
    let (out, _dir) = same_files(&p);
    assert_eq!(out.first_path.len(), 2 * 40_001);
    assert!(out.first_path.peak_rows_held() < MAX_ROW_GROUP_ROWS + 2);
}

#[test]
fn a_failed_streamed_run_leaves_no_file() {
    let (s, dir) = scenario("linear-crash.toml");
    let p = Prepared::new(sized(s, 100, Some(1_000)), &dir).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // A folder that does not exist: the sink cannot start, nothing is written.
    let missing = tmp.path().join("missing");
    assert!(p.run_into(&missing, &|_| {}).is_err());
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
}
