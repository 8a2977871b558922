//! Historical replay end to end: the bundled history drives the engine step by
//! step, funding comes from the funding file, and bad history files are refused
//! with the key and the file named.

use std::path::{Path, PathBuf};
use std::process::Output;

use backstop_data::history::{read_funding, read_prices};
use backstop_data::{StepsTable, read_paths, read_steps};

use backstop_testkit::repo_root as repo;

fn backstop(args: &[&std::ffi::OsStr]) -> Output {
    backstop_testkit::run_program(env!("CARGO_BIN_EXE_backstop"), &repo(), args, &[])
}

/// Writes `text` into `tmp` with its `../data/` paths made absolute.
fn write_scenario(tmp: &Path, name: &str, text: &str) -> PathBuf {
    let data = format!("{}/", repo().join("data").display());
    let file = tmp.join(format!("{name}.toml"));
    std::fs::write(&file, text.replace("../data/", &data)).unwrap();
    file
}

/// Runs `scenario` and returns its results folder.
fn run_text(tmp: &Path, name: &str, text: &str) -> PathBuf {
    let file = write_scenario(tmp, name, text);
    let out = tmp.join("out");
    let o = backstop(&[
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scenario_name = text
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .unwrap()
        .trim_end_matches('"');
    out.join(scenario_name)
}

fn btc_replay() -> String {
    std::fs::read_to_string(repo().join("scenarios/oct-2025-btc-replay.toml")).unwrap()
}

const START_NS: i64 = 1_760_119_200_000_000_000; // 2025-10-10T18:00:00Z
const END_NS: i64 = 1_760_148_000_000_000_000; // 2025-10-11T02:00:00Z

fn btc_steps(t: &StepsTable) -> (Vec<i64>, Vec<Option<f64>>) {
    (t.ts_ns.clone(), t.funding_rate.clone())
}

#[test]
fn tick_replay_steps_at_every_price_time_with_historical_funding() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_text(tmp.path(), "tick", &btc_replay());
    let steps = read_steps(&dir.join("steps.parquet")).unwrap();
    let (ts, funding) = btc_steps(&steps);

    // One step per distinct price time in [start, end), the first at start.
    let prices = read_prices(&repo().join("data/btcusdt-mark-5m-2025-10.parquet")).unwrap();
    let mut want: Vec<i64> = prices
        .rows
        .iter()
        .map(|r| r.ts_ns)
        .filter(|&t| (START_NS..END_NS).contains(&t))
        .collect();
    want.dedup();
    assert_eq!(want[0], START_NS);
    assert_eq!(ts, want);

    // Funding settles at the recorded times inside the window, at the recorded rates.
    let history = read_funding(&repo().join("data/btcusdt-funding.parquet")).unwrap();
    let in_window: Vec<(i64, f64)> = history
        .rows
        .iter()
        .filter(|r| (START_NS..END_NS).contains(&r.ts_ns))
        .map(|r| (r.ts_ns, r.rate))
        .collect();
    assert!(!in_window.is_empty(), "the window holds a settlement");
    let settled: Vec<(i64, f64)> = ts
        .iter()
        .zip(&funding)
        .filter_map(|(t, f)| f.map(|r| (*t, r)))
        .collect();
    assert_eq!(settled.len(), in_window.len());
    for ((t, r), (ht, hr)) in settled.iter().zip(&in_window) {
        assert!(t >= ht, "settled at {t} before its time {ht}");
        assert!((r - hr).abs() < 1e-9, "rate {r} vs recorded {hr}");
    }

    // One path, and the report drew it.
    assert_eq!(read_paths(&dir.join("paths.parquet")).unwrap().len(), 1);
    assert!(dir.join("report.html").is_file());
}

#[test]
fn resampled_replay_takes_the_last_price_at_each_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    // No impact, so the mark is the path price itself.
    let text = btc_replay()
        .replace("stepping = \"tick\"", "stepping = \"resample\"")
        .replace(
            "impact = { model = \"book_depth\", file = \"../data/btcusdt-bookdepth-2025-10-10.parquet\", permanent_fraction = 0.25, half_life_steps = 4.0 }",
            "impact = { model = \"none\" }",
        )
        .replace("name = \"oct-2025-btc-replay\"", "name = \"resampled\"")
        .replace("start = \"2025-10-10T18:00:00Z\"", "start = \"2025-10-10T18:00:00Z\"\nstep_seconds = 600");
    let dir = run_text(tmp.path(), "resample", &text);
    let steps = read_steps(&dir.join("steps.parquet")).unwrap();
    assert_eq!(steps.len(), 48, "8 hours of 10-minute steps");
    let prices = read_prices(&repo().join("data/btcusdt-mark-5m-2025-10.parquet")).unwrap();
    for (k, (&ts, &mark)) in steps.ts_ns.iter().zip(&steps.mark).enumerate() {
        assert_eq!(ts, START_NS + k as i64 * 600_000_000_000);
        let last = prices.rows.iter().rev().find(|r| r.ts_ns <= ts).unwrap();
        // The mark is on the 0.1 tick grid.
        assert!(
            (mark - last.mark).abs() <= 0.05 + 1e-9,
            "step {k}: {mark} vs {}",
            last.mark
        );
    }
}

#[test]
fn book_depth_slippage_changes_the_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let with = run_text(tmp.path(), "with", &btc_replay());
    let text = btc_replay()
        .replace(
            "impact = { model = \"book_depth\", file = \"../data/btcusdt-bookdepth-2025-10-10.parquet\", permanent_fraction = 0.25, half_life_steps = 4.0 }",
            "impact = { model = \"none\" }",
        )
        .replace("name = \"oct-2025-btc-replay\"", "name = \"no-impact\"");
    let without = run_text(tmp.path(), "without", &text);
    let notional = |d: &Path| {
        read_paths(&d.join("paths.parquet"))
            .unwrap()
            .metric("bad_debt")
            .unwrap()[0]
            .unwrap()
    };
    // Walking the book costs the bankrupt accounts' execution: more bad debt.
    assert!(
        notional(&with) > notional(&without),
        "{} vs {}",
        notional(&with),
        notional(&without)
    );
}

#[test]
fn bad_history_files_are_refused_naming_the_key_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    for (from, to, expect) in [
        (
            "prices = \"../data/btcusdt-mark-5m-2025-10.parquet\"",
            "prices = \"../data/no-such-file.parquet\"",
            vec!["path.market.btc.prices", "no-such-file.parquet"],
        ),
        (
            "prices = \"../data/btcusdt-mark-5m-2025-10.parquet\"",
            "prices = \"../data/btcusdt-funding.parquet\"",
            vec!["path.market.btc.prices", "funding/v1", "prices/v1"],
        ),
        (
            "start = \"2025-10-10T18:00:00Z\"",
            "start = \"2020-01-01T00:00:00Z\"",
            vec!["path.market.btc", "no price"],
        ),
    ] {
        let text = btc_replay().replace(from, to);
        assert_ne!(text, btc_replay());
        let file = write_scenario(tmp.path(), "bad", &text);
        let out = tmp.path().join("bad");
        let o = backstop(&[
            "run".as_ref(),
            file.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        for e in expect {
            assert!(err.contains(e), "error lacks {e:?}: {err}");
        }
        assert!(!out.exists(), "nothing written on error");
    }
}

#[test]
fn a_replay_report_draws_the_recorded_price_beside_the_simulated_mark() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_text(tmp.path(), "btc-replay", &btc_replay());
    let svg = std::fs::read_to_string(dir.join("charts/replay_marks.svg"))
        .expect("a replay's report has the recorded-and-simulated-mark chart");
    assert!(svg.contains("recorded and simulated mark"), "title missing");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("charts/replay_marks.png"),
        "the report shows the chart"
    );
    assert!(
        md.contains("largest gap"),
        "the report states the largest gap"
    );
}

/// A recorded funding rate of 100% or more in size (a broken file: no venue
/// settles one) is refused by `validate` and `run` alike, naming the key, the
/// settlement time and the file, and the run leaves no results; a rate of 50%
/// (implausible but possible) still runs.
#[test]
fn a_funding_file_with_an_impossible_rate_is_refused_by_validate_and_run() {
    use backstop_data::history::{WriteOptions, write_funding};
    let tmp = tempfile::tempdir().unwrap();
    let mut table = read_funding(&repo().join("data/btcusdt-funding.parquet")).unwrap();
    let inside = table
        .rows
        .iter()
        .position(|r| r.ts_ns > START_NS && r.ts_ns < END_NS)
        .expect("a settlement inside the replay window");
    for (rate, refused) in [(5.0, true), (-1.0, true), (0.5, false)] {
        table.rows[inside].rate = rate;
        let funding = tmp.path().join("funding.parquet");
        write_funding(
            &funding,
            &table.rows,
            &table.metadata,
            &WriteOptions::default(),
        )
        .unwrap();
        let text = btc_replay().replace(
            "../data/btcusdt-funding.parquet",
            &funding.display().to_string(),
        );
        let file = write_scenario(tmp.path(), "bad-funding", &text);
        let out = tmp.path().join("out");
        for command in ["validate", "run"] {
            let mut args = vec![command.as_ref(), file.as_os_str()];
            if command == "run" {
                args.extend(["--out".as_ref(), out.as_os_str(), "-q".as_ref()]);
            }
            let o = backstop(&args);
            let stderr = String::from_utf8_lossy(&o.stderr);
            if !refused {
                assert!(o.status.success(), "{command} rate {rate}: {stderr}");
                continue;
            }
            assert!(!o.status.success(), "{command} accepted rate {rate}");
            for part in [
                "path.market.btc.funding",
                "below 100% in size",
                "funding.parquet",
                &rate.to_string(),
            ] {
                assert!(stderr.contains(part), "{command}: no `{part}` in {stderr}");
            }
            assert!(
                !out.join("oct-2025-btc-replay").exists(),
                "{command} left results behind"
            );
        }
    }
}
