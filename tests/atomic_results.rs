//! A results folder appears complete or not at all: a run killed at any
//! instant (SIGKILL, no chance to clean up) leaves the previous results whole,
//! the new results whole, or none, never a mix of two runs or a partial
//! folder; what a killed run left beside it is cleaned by the next run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use backstop_testkit::{SMALL_SCENARIO, edit, listing, read_json, write_file};

/// The small scenario with seed `seed`, large enough to take a moment.
fn scenario(seed: u64) -> String {
    let s = edit(SMALL_SCENARIO, "seed = 7", &format!("seed = {seed}"));
    let s = edit(&s, "accounts = 100", "accounts = 3000");
    edit(&s, "steps = 100", "steps = 400")
}

fn start(file: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_backstop"))
        .args([
            "run".as_ref(),
            file.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "-q".as_ref(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start backstop")
}

/// Asserts `dir` is absent or a complete folder of one run, and returns that
/// run's seed.
#[track_caller]
fn whole_or_absent(dir: &Path) -> Option<u64> {
    if !dir.exists() {
        return None;
    }
    assert_eq!(
        listing(dir),
        backstop_testkit::RUN_RESULT_FILES,
        "{} is partial",
        dir.display()
    );
    let seed = read_json(&dir.join("summary.json"))["scenario"]["seed"]
        .as_u64()
        .expect("a seed in summary.json");
    for file in [
        "population.parquet",
        "steps.parquet",
        "paths.parquet",
        "bands.parquet",
    ] {
        let meta = backstop_data::read_metadata(&dir.join(file)).expect("a readable file");
        let written = meta
            .iter()
            .find(|(k, _)| k == "backstop.seed")
            .map(|(_, v)| v.clone());
        assert_eq!(
            written,
            Some(seed.to_string()),
            "{file} is of another run than summary.json"
        );
    }
    Some(seed)
}

#[test]
fn killed_runs_leave_whole_results_or_none_and_the_next_run_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let dir = out.join("small");
    // How long one run takes here, to spread the kills over it.
    let first = write_file(tmp.path(), "s0.toml", &scenario(1));
    let started = Instant::now();
    let status = start(&first, &out).wait().unwrap();
    assert!(status.success());
    let took = started.elapsed();
    assert_eq!(whole_or_absent(&dir), Some(1));

    let kills = 12_u32;
    for k in 1..=kills {
        let seed = 100 + u64::from(k);
        let file = write_file(tmp.path(), &format!("s{k}.toml"), &scenario(seed));
        let before = whole_or_absent(&dir);
        let mut child = start(&file, &out);
        // From 40% to 130% of a run's time: most kills land in the writing.
        std::thread::sleep(took.mul_f64(0.4 + 0.9 * f64::from(k) / f64::from(kills)));
        let _ = child.kill();
        let _ = child.wait();
        let after = whole_or_absent(&dir);
        assert!(
            after.is_none() || after == before || after == Some(seed),
            "results of seed {after:?}, expected {before:?} or {seed}"
        );
    }

    // A finished run cleans what the killed ones left beside the folder.
    let last = write_file(tmp.path(), "last.toml", &scenario(999));
    assert!(start(&last, &out).wait().unwrap().success());
    assert_eq!(whole_or_absent(&dir), Some(999));
    assert_eq!(listing(&out), ["small"], "stale scratch folders remain");
}

#[test]
fn a_failed_rerun_leaves_the_previous_results_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let good = write_file(tmp.path(), "good.toml", &scenario(5));
    assert!(start(&good, &out).wait().unwrap().success());
    let before = std::fs::read(out.join("small/summary.json")).unwrap();
    // Valid TOML that fails only when the population file is read.
    let bad = backstop_testkit::with_table(
        &scenario(6),
        "[population]",
        "[population]\nkind = \"parquet\"\nfile = \"missing.parquet\"",
    );
    let file = write_file(tmp.path(), "bad.toml", &bad);
    assert!(!start(&file, &out).wait().unwrap().success());
    assert_eq!(
        std::fs::read(out.join("small/summary.json")).unwrap(),
        before
    );
    assert_eq!(listing(&out), ["small"]);
}
