//! A market's own insurance fund swept (`market.<name>.insurance_fund.initial`,
//! issue 17), end to end through the real binary on
//! `scenarios/venues/dydx-isolated-fund.toml`: `backstop sweep` writes
//! `market_funds.parquet` with each set's rows, a larger fund depletes later or
//! never, each set's rows are those of `backstop run` of the same scenario
//! with that fund, and the sweep report shows the fund per set.

use std::path::Path;

use backstop_data::{MarketFundRow, read_market_funds};
use backstop_testkit::{
    assert_error, assert_success, edit, example_scenario, run_program, run_scenario, write_file,
};

const BIN: &str = env!("CARGO_BIN_EXE_backstop");

/// ALT's own fund, from smaller than its first step's bad debt to larger than
/// all of it.
const INITIALS: [f64; 4] = [250.0, 1_000.0, 4_000.0, 1_000_000.0];

/// The example with ALT's fund set to `initial` and `extra` appended.
fn scenario(initial: f64, extra: &str) -> String {
    let text = std::fs::read_to_string(example_scenario("venues/dydx-isolated-fund")).unwrap();
    let text = edit(
        &text,
        "[market.alt.insurance_fund]\ninitial = 1000.0",
        &format!("[market.alt.insurance_fund]\ninitial = {initial:?}"),
    );
    format!("{text}\n{extra}")
}

/// The rows without their parameter set (what a single run writes as set 0).
fn unset(rows: &[MarketFundRow]) -> Vec<MarketFundRow> {
    rows.iter()
        .map(|r| MarketFundRow {
            param_set: 0,
            ..r.clone()
        })
        .collect()
}

fn sweep(dir: &Path, file: &Path) -> std::process::Output {
    let file = file.to_str().unwrap();
    run_program(BIN, dir, &["sweep", file, "--out", "out", "-q"], &[])
}

/// The scenario with ALT's fund swept over `INITIALS`, written to `dir`.
fn swept_scenario(dir: &Path) -> std::path::PathBuf {
    let values: Vec<String> = INITIALS.iter().map(|v| format!("{v:?}")).collect();
    let table = format!(
        "[[sweep.parameter]]\nkey = \"market.alt.insurance_fund.initial\"\nvalues = [{}]\n",
        values.join(", ")
    );
    write_file(dir, "swept.toml", &scenario(1_000.0, &table))
}

#[test]
fn a_swept_market_fund_depletes_later_the_larger_it_is_and_matches_single_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = swept_scenario(tmp.path());
    assert_success(&sweep(tmp.path(), &file));
    let dir = tmp.path().join("out/dydx-isolated-fund");
    let rows = read_market_funds(&dir.join("market_funds.parquet")).unwrap();

    // One row per set (one path each), in set order, ALT's fund at its value.
    assert_eq!(rows.len(), INITIALS.len(), "{rows:?}");
    for (set, (r, initial)) in rows.iter().zip(INITIALS).enumerate() {
        assert_eq!(
            (r.param_set, r.path, r.market.as_str()),
            (set as u32, 0, "alt")
        );
        assert_eq!(r.initial, initial);
    }

    // Monotone: a larger fund depletes no earlier (never counts as latest),
    // and the largest never does.
    let when = |r: &MarketFundRow| r.first_depletion_step.unwrap_or(u64::MAX);
    for w in rows.windows(2) {
        assert!(when(&w[1]) >= when(&w[0]), "{:?} then {:?}", w[0], w[1]);
    }
    assert!(rows[0].first_depletion_step.is_some(), "{:?}", rows[0]);
    assert_eq!(rows[3].first_depletion_step, None, "{:?}", rows[3]);

    // Each set's row is the single run's of the same scenario.
    for (set, initial) in INITIALS.iter().enumerate() {
        let one = write_file(
            tmp.path(),
            &format!("one-{set}.toml"),
            &scenario(*initial, ""),
        );
        let out = tmp.path().join(format!("one-{set}"));
        run_scenario(BIN, tmp.path(), &one, &out);
        let single =
            read_market_funds(&out.join("dydx-isolated-fund/market_funds.parquet")).unwrap();
        assert_eq!(single, unset(&rows[set..=set]), "set {set}");
    }

    // The same sweep as two shards: each shard folder holds its sets' rows,
    // together the whole sweep's, and `backstop merge` joins them into the
    // whole sweep's file (the dydx-v4 rule book's computed funding cap reads
    // back exactly from the manifest: crates/sim/tests/scenario_json.rs).
    let mut sharded = Vec::new();
    for k in 0..2 {
        let shard = format!("{k}/2");
        let o = run_program(
            BIN,
            tmp.path(),
            &[
                "sweep",
                file.to_str().unwrap(),
                "--out",
                "sharded",
                "-q",
                "--shard",
                &shard,
            ],
            &[],
        );
        assert_success(&o);
        let f = tmp.path().join(format!(
            "sharded/dydx-isolated-fund/shard-{k}-of-2/market_funds.parquet"
        ));
        sharded.extend(read_market_funds(&f).unwrap());
    }
    assert_eq!(sharded, rows);
    let shard_dir = |k: u32| format!("sharded/dydx-isolated-fund/shard-{k}-of-2");
    let (first, second) = (shard_dir(0), shard_dir(1));
    let o = run_program(
        BIN,
        tmp.path(),
        &["merge", &first, &second, "--out", "merged", "-q"],
        &[],
    );
    assert_success(&o);
    let merged = tmp
        .path()
        .join("merged/dydx-isolated-fund/market_funds.parquet");
    assert_eq!(read_market_funds(&merged).unwrap(), rows);

    // The sweep report: the fund per set.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("Market funds per parameter set"), "{md}");
    assert!(md.contains("| ALT |"), "{md}");
    // Drawn from the results in memory, beside their files: the report drawn
    // again from the files (`backstop report`) is the same, with the funds.
    let html = std::fs::read(dir.join("report.html")).unwrap();
    assert_success(&run_program(
        BIN,
        tmp.path(),
        &["report", dir.to_str().unwrap()],
        &[],
    ));
    assert_eq!(std::fs::read_to_string(dir.join("report.md")).unwrap(), md);
    assert!(std::fs::read(dir.join("report.html")).unwrap() == html);
}

#[test]
fn sweeping_the_fund_of_a_market_without_one_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let table =
        "[[sweep.parameter]]\nkey = \"market.btc.insurance_fund.floor\"\nvalues = [0.0, 10.0]\n";
    let file = write_file(tmp.path(), "bad.toml", &scenario(1_000.0, table));
    assert_error(
        &sweep(tmp.path(), &file),
        &[
            "market.btc.insurance_fund.floor",
            "the market has no fund of its own",
        ],
    );
}

/// A sweep with a market fund of its own, stopped partway, resumes to the
/// same results; a saved chunk whose market-funds file is gone (the chunks
/// are not synced to disk: a power loss can leave its paths without it) is
/// computed again, not reused without its funds' rows.
#[test]
fn a_stopped_sweep_with_a_market_fund_resumes_and_recomputes_a_chunk_missing_its_funds() {
    let tmp = tempfile::tempdir().unwrap();
    let file = swept_scenario(tmp.path());
    assert_success(&sweep(tmp.path(), &file));
    let whole = tmp.path().join("out/dydx-isolated-fund");
    let args = [
        "sweep",
        file.to_str().unwrap(),
        "--out",
        "resumed",
        "-q",
        "--threads",
        "2",
    ];
    let stop = [("BACKSTOP_SWEEP_STOP_AFTER_CHUNKS", "2")];
    assert_error(
        &run_program(BIN, tmp.path(), &args, &stop),
        &["stopped after 2 chunks"],
    );
    let work = tmp.path().join("resumed/dydx-isolated-fund/work");
    let mut funds: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".market_funds.parquet"))
        .collect();
    funds.sort();
    assert_eq!(
        funds.len(),
        2,
        "two chunks saved with their funds: {funds:?}"
    );
    std::fs::remove_file(&funds[0]).unwrap();
    // Two chunks left and the one without its funds: three computed.
    let three = [("BACKSTOP_SWEEP_STOP_AFTER_CHUNKS", "3")];
    assert_success(&run_program(BIN, tmp.path(), &args, &three));
    let resumed = tmp.path().join("resumed/dydx-isolated-fund");
    for file in ["market_funds.parquet", "paths.parquet", "sweep.parquet"] {
        assert!(
            std::fs::read(whole.join(file)).unwrap() == std::fs::read(resumed.join(file)).unwrap(),
            "{file} differs"
        );
    }
}
