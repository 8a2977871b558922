//! Results do not depend on the number of threads: a Monte Carlo run on 1, 2 and
//! 8 worker threads writes byte-identical files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(out: &Path, threads: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_backstop"))
        .args(["run", "-q", "--paths", "70", "--threads", threads, "--out"])
        .arg(out)
        .arg(repo().join("scenarios/mc-jump-stress.toml"))
        .output()
        .expect("cannot start backstop");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
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
