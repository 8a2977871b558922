//! `backstop sweep` and `backstop merge`, end to end through the real binary: a
//! sweep run whole equals the same sweep run as shards and merged, and a sweep
//! stopped partway then rerun, byte for byte; bad input gets clear errors.

use std::path::{Path, PathBuf};
use std::process::Output;

const RESULTS: [&str; 4] = [
    "sweep.parquet",
    "paths.parquet",
    "haircuts.parquet",
    "summary.json",
];

/// 2 × 2 parameter sets × 6 paths of a 500-account jump scenario.
fn scenario(extra: &str) -> String {
    format!(
        r#"name = "small-sweep"
seed = 5
paths = 6
start = "2025-10-10T00:00:00Z"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [
  {{ notional_floor = 0, imr = 0.01, mmr = 0.005 }},
  {{ notional_floor = 250000, imr = 0.02, mmr = 0.01 }},
]

[path]
kind = "jump"
steps = 240
volatility = 0.8
intensity = 365.0
jump_mean = -0.05
jump_stdev = 0.05

[population]
kind = "generated"
accounts = 500
notional = {{ distribution = "pareto", scale = 2000.0, shape = 1.3 }}
max_notional = 2000000.0
leverage = {{ distribution = "lognormal", median = 10.0, sigma = 0.7 }}

[insurance_fund]
initial = 20000.0
{extra}"#
    )
}

const SWEEP: &str = r#"
[[sweep.parameter]]
key = "liquidation.fee"
values = [0.002, 0.01]

[[sweep.parameter]]
key = "insurance_fund.initial"
range = { from = 5000, to = 50000, steps = 2 }

[sweep.target]
max_depletion_probability = 0.5
appetites = { strict = 0.01, loose = 0.9 }
"#;

use backstop_testkit::write_file as write;

fn backstop(args: &[&str], env: &[(&str, &str)]) -> Output {
    let cwd = std::env::current_dir().expect("a current folder");
    backstop_testkit::run_program(env!("CARGO_BIN_EXE_backstop"), &cwd, args, env)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

#[track_caller]
fn ok(o: &Output) {
    backstop_testkit::assert_success(o);
}

#[track_caller]
fn fails(o: &Output, needles: &[&str]) -> String {
    backstop_testkit::assert_error(o, needles)
}

#[track_caller]
fn same_results(a: &Path, b: &Path) {
    for f in RESULTS {
        let x = std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{}: {e}", a.join(f).display()));
        let y = std::fs::read(b.join(f)).unwrap_or_else(|e| panic!("{}: {e}", b.join(f).display()));
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// A results folder's report files, by name: the documents and every chart.
fn report_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = vec![dir.join("report.md"), dir.join("report.html")];
    let charts = std::fs::read_dir(dir.join("charts")).expect("a charts folder");
    files.extend(charts.map(|e| e.expect("a chart").path()));
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f.display().to_string(), bytes)
        })
        .collect()
}

/// The report a sweep drew from its results in memory, beside their files,
/// is the report drawn again from those files (`backstop report`), byte for
/// byte.
#[track_caller]
fn report_is_that_of_its_files(dir: &Path) {
    let drawn = report_files(dir);
    ok(&backstop(&["report", s(dir)], &[]));
    let again = report_files(dir);
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&drawn), names(&again));
    for ((name, a), (_, b)) in drawn.iter().zip(&again) {
        assert!(a == b, "{name} differs once drawn from the files");
    }
}

fn shards(tmp: &Path, file: &Path, n: u32) -> Vec<PathBuf> {
    let out = tmp.join("sharded");
    (0..n)
        .map(|k| {
            ok(&backstop(
                &[
                    "sweep",
                    s(file),
                    "--out",
                    s(&out),
                    "-q",
                    "--threads",
                    "1",
                    "--shard",
                    &format!("{k}/{n}"),
                ],
                &[],
            ));
            out.join("small-sweep").join(format!("shard-{k}-of-{n}"))
        })
        .collect()
}

#[test]
fn whole_equals_merged_shards_and_merge_checks_its_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.toml", &scenario(SWEEP));
    let whole = tmp.path().join("whole");
    ok(&backstop(
        &["sweep", s(&file), "--out", s(&whole), "-q"],
        &[],
    ));
    let whole = whole.join("small-sweep");
    for f in RESULTS.iter().chain(&["report.md", "report.html"]) {
        assert!(whole.join(f).is_file(), "no {f}");
    }
    assert!(!whole.join("work").exists(), "the work folder is removed");
    let sweep = backstop_data::read_sweep(&whole.join("sweep.parquet")).unwrap();
    assert_eq!(
        sweep.parameters,
        ["liquidation.fee", "insurance_fund.initial"]
    );
    let sets: Vec<(u32, Vec<f64>)> = sweep
        .rows
        .iter()
        .map(|r| (r.param_set, r.values.clone()))
        .collect();
    assert_eq!(
        sets,
        vec![
            (0, vec![0.002, 5000.0]),
            (1, vec![0.002, 50000.0]),
            (2, vec![0.01, 5000.0]),
            (3, vec![0.01, 50000.0]),
            // The scenario's own values (default fee, its fund), not in the
            // product: run as one more set.
            (4, vec![0.005, 20000.0]),
        ]
    );
    assert!(
        sweep
            .rows
            .iter()
            .all(|r| r.paths == 6 && r.meets_target.is_some())
    );
    let paths = backstop_data::read_paths(&whole.join("paths.parquet")).unwrap();
    assert_eq!(paths.len(), 30);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(whole.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["run"]["sets"], 5);
    assert_eq!(
        summary["sweep"]["current"],
        serde_json::json!([0.005, 20000.0])
    );
    assert!(summary["meeting_target"].is_array());
    let md = std::fs::read_to_string(whole.join("report.md")).unwrap();
    assert!(md.contains("sweep_depletion"), "heatmap in the report");
    for needle in [
        "## Recommended actions",
        "| parameter / risk | current | ",
        "## Cost of safety",
        "## Every parameter set",
        "## Risk appetites",
        "| strict | at most 1.0% | none |",
        "| loose | at most 90.0% | ",
        "sets meet the target (P(depletion) at most 50.0%, judged by the upper end",
        "so the sweep ran them as one more set, set 4 (",
        "| initial margin locked, mean |",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}:\n{md}");
    }
    // A sweep's report never quotes one set's figures as the whole: the
    // headline table names its set.
    assert!(md.contains("## Parameter set 0 ("), "{md}");
    assert!(!md.contains("starting insurance fund"), "{md}");
    backstop_testkit::assert_shareable_report(&whole, tmp.path());
    report_is_that_of_its_files(&whole);

    // Three shards in separate processes, merged: the same bytes.
    let dirs = shards(tmp.path(), &file, 3);
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(|d| s(d)));
    args.extend(["--out", s(&merged), "-q"]);
    ok(&backstop(&args, &[]));
    same_results(&whole, &merged.join("small-sweep"));

    // Merge refuses a missing shard, a repeated shard, and another scenario's shard.
    let out = tmp.path().join("bad");
    fails(
        &backstop(&["merge", s(&dirs[0]), s(&dirs[2]), "--out", s(&out)], &[]),
        &["missing shard 1/3"],
    );
    fails(
        &backstop(
            &[
                "merge",
                s(&dirs[0]),
                s(&dirs[1]),
                s(&dirs[1]),
                s(&dirs[2]),
                "--out",
                s(&out),
            ],
            &[],
        ),
        &["shard 1/3 given twice"],
    );
    let other = write(
        tmp.path(),
        "other.toml",
        &scenario(SWEEP).replace("seed = 5", "seed = 6"),
    );
    let other_out = tmp.path().join("other");
    ok(&backstop(
        &[
            "sweep",
            s(&other),
            "--out",
            s(&other_out),
            "-q",
            "--shard",
            "1/3",
        ],
        &[],
    ));
    let foreign = other_out.join("small-sweep").join("shard-1-of-3");
    fails(
        &backstop(
            &[
                "merge",
                s(&dirs[0]),
                s(&foreign),
                s(&dirs[2]),
                "--out",
                s(&out),
            ],
            &[],
        ),
        &["different scenarios", "scenario hash"],
    );
    fails(
        &backstop(&["merge", s(tmp.path()), "--out", s(&out)], &[]),
        &["not a shard folder"],
    );
    assert!(
        !out.join("small-sweep").exists(),
        "a refused merge writes nothing"
    );
}

#[test]
fn a_sweep_stopped_partway_resumes_to_the_same_results() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "small.toml", &scenario(SWEEP));
    let whole = tmp.path().join("whole");
    ok(&backstop(
        &["sweep", s(&file), "--out", s(&whole), "-q"],
        &[],
    ));

    let resumed = tmp.path().join("resumed");
    let args = [
        "sweep",
        s(&file),
        "--out",
        s(&resumed),
        "-q",
        "--threads",
        "2",
    ];
    fails(
        &backstop(&args, &[("BACKSTOP_SWEEP_STOP_AFTER_CHUNKS", "2")]),
        &["stopped after 2 chunks"],
    );
    let work = resumed.join("small-sweep").join("work");
    let done: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-paths-000000-000005.parquet"))
        .collect();
    assert_eq!(done.len(), 2, "two chunks saved: {done:?}");
    assert!(!resumed.join("small-sweep").join("sweep.parquet").exists());
    // The rerun computes only the 3 chunks left: stopping after 3 more is no stop.
    ok(&backstop(
        &args,
        &[("BACKSTOP_SWEEP_STOP_AFTER_CHUNKS", "3")],
    ));
    same_results(&whole.join("small-sweep"), &resumed.join("small-sweep"));

    // A shard resumes too, and a chunk of another scenario is not reused.
    let sharded = tmp.path().join("sharded");
    let args = [
        "sweep",
        s(&file),
        "--out",
        s(&sharded),
        "-q",
        "--shard",
        "0/2",
    ];
    fails(
        &backstop(&args, &[("BACKSTOP_SWEEP_STOP_AFTER_CHUNKS", "1")]),
        &["stopped"],
    );
    ok(&backstop(&args, &[]));
    ok(&backstop(
        &[
            "sweep",
            s(&file),
            "--out",
            s(&sharded),
            "-q",
            "--shard",
            "1/2",
        ],
        &[],
    ));
    let dirs: Vec<PathBuf> = (0..2)
        .map(|k| sharded.join("small-sweep").join(format!("shard-{k}-of-2")))
        .collect();
    let merged = tmp.path().join("merged");
    ok(&backstop(
        &["merge", s(&dirs[0]), s(&dirs[1]), "--out", s(&merged), "-q"],
        &[],
    ));
    same_results(&whole.join("small-sweep"), &merged.join("small-sweep"));
}

#[test]
fn bad_sweeps_and_shard_specs_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = |name: &str, text: &str, extra: &[&str]| {
        let f = write(tmp.path(), name, text);
        let mut args = vec!["sweep", s(&f), "--out", s(&out), "-q"];
        args.extend(extra);
        backstop(&args, &[])
    };
    fails(
        &run(
            "typo.toml",
            &scenario(&SWEEP.replace("\"liquidation.fee\"", "\"liquidation.fe\"")),
            &[],
        ),
        &[
            "typo.toml:",
            "sweep.parameter[0].key",
            "liquidation.fe",
            "no `fe` in `liquidation`",
        ],
    );
    fails(
        &run(
            "empty.toml",
            &scenario(&SWEEP.replace("[0.002, 0.01]", "[]")),
            &[],
        ),
        &["empty.toml:", "sweep.parameter[0].values", "empty"],
    );
    fails(
        &run(
            "range.toml",
            &scenario(&SWEEP.replace("[0.002, 0.01]", "[0.002, 1.5]")),
            &[],
        ),
        &[
            "range.toml:",
            "parameter set 2",
            "liquidation.fee = 1.5",
            "key `liquidation.fee`",
        ],
    );
    fails(
        &run(
            "text.toml",
            &scenario(&SWEEP.replace("\"liquidation.fee\"", "\"liquidation.mode\"")),
            &[],
        ),
        &["`liquidation.mode` is not a numeric field"],
    );
    fails(
        &run(
            "latency.toml",
            &scenario(&SWEEP.replace("\"liquidation.fee\"", "\"liquidation.latency_steps\"")),
            &[],
        ),
        &["liquidation.latency_steps", "whole numbers"],
    );
    for (spec, needle) in [
        ("3/3", "between 0 and 2"),
        ("0/0", "at least 1"),
        ("1", "K/N"),
    ] {
        fails(
            &run("ok.toml", &scenario(SWEEP), &["--shard", spec]),
            &["--shard", needle],
        );
    }
    fails(
        &run(
            "appetite.toml",
            &scenario(&SWEEP.replace("loose = 0.9", "loose = 1.5")),
            &[],
        ),
        &[
            "appetite.toml",
            "sweep.target.appetites.loose",
            "between 0 and 1",
        ],
    );
    fails(
        &run("plain.toml", &scenario(""), &[]),
        &["no [sweep] table"],
    );
    assert!(!out.exists(), "nothing written");
}
