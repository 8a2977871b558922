//! Results do not depend on the number of threads: a Monte Carlo run on 1, 2 and
//! 8 worker threads writes byte-identical files.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn run(out: &Path, threads: &str) {
    let scenario = backstop_testkit::example_scenario("mc-jump-stress");
    let args: [&OsStr; 9] = [
        "run".as_ref(),
        "-q".as_ref(),
        "--paths".as_ref(),
        "70".as_ref(),
        "--threads".as_ref(),
        threads.as_ref(),
        "--out".as_ref(),
        out.as_ref(),
        scenario.as_ref(),
    ];
    let o = backstop_testkit::run_program(
        env!("CARGO_BIN_EXE_backstop"),
        &backstop_testkit::repo_root(),
        &args,
        &[],
    );
    backstop_testkit::assert_success(&o);
}

#[test]
fn one_two_and_eight_threads_write_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<PathBuf> = ["1", "2", "8"]
        .iter()
        .map(|t| {
            let out = tmp.path().join(format!("threads-{t}"));
            run(&out, t);
            out.join("mc-jump-stress")
        })
        .collect();
    // 70 paths span two chunks of the runner, so folding order is exercised.
    let paths = backstop_data::read_paths(&runs[0].join("paths.parquet")).unwrap();
    assert_eq!(paths.len(), 70);
    assert!(paths.path.iter().copied().eq(0..70u64));
    for file in [
        "summary.json",
        "paths.parquet",
        "bands.parquet",
        "steps.parquet",
        "haircuts.parquet",
        "population.parquet",
    ] {
        let first = std::fs::read(runs[0].join(file)).unwrap();
        for other in &runs[1..] {
            assert!(
                first == std::fs::read(other.join(file)).unwrap(),
                "{file} differs between {} and {}",
                runs[0].display(),
                other.display()
            );
        }
    }
}
