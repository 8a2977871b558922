//! Every example scenario under `scenarios/` validates and runs (and, with a
//! `[sweep]`, sweeps).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use backstop_testkit::repo_root as repo;

/// Every example scenario, sorted.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    assert_eq!(
        dir,
        repo().join("scenarios"),
        "the examples are under scenarios/"
    );
    backstop_testkit::example_scenarios()
}

fn backstop(cwd: &Path, args: &[&Path]) -> Output {
    backstop_testkit::run_program(env!("CARGO_BIN_EXE_backstop"), cwd, args, &[])
}

#[track_caller]
fn assert_ok(what: &str, o: &Output) {
    assert!(o.status.success(), "{what} failed");
    backstop_testkit::assert_success(o);
}

#[test]
fn every_example_scenario_validates_and_runs() {
    let files = scenario_files(&repo().join("scenarios"));
    assert!(
        files.iter().any(|f| f.ends_with("linear-crash.toml")),
        "no scenarios found: {files:?}"
    );
    // Scenario names must be unique: each run writes notebooks-out/<name>/.
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in &files {
        let shown = file
            .strip_prefix(repo())
            .unwrap_or(file)
            .display()
            .to_string();
        let tmp = tempfile::tempdir().unwrap();
        assert_ok(
            &format!("backstop validate {shown}"),
            &backstop(tmp.path(), &[Path::new("validate"), file]),
        );

        let out = tmp.path().join("out");
        // Monte Carlo scenarios run a few of their paths here (all in release).
        let text = std::fs::read_to_string(file).unwrap();
        let monte_carlo = text.lines().any(|l| l.starts_with("paths ="));
        let mut args: Vec<&Path> = vec![
            Path::new("run"),
            file,
            "--out".as_ref(),
            &out,
            "-q".as_ref(),
        ];
        if monte_carlo {
            args.extend([Path::new("--paths"), Path::new("6")]);
        }
        assert_ok(
            &format!("backstop run {shown}"),
            &backstop(tmp.path(), &args),
        );
        let written: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(written.len(), 1, "{shown}: {written:?}");
        let dir = &written[0];
        // Its report can be pasted into a forum as it is (issue 13).
        backstop_testkit::assert_shareable_report(dir, tmp.path());
        if shown.contains("multi-asset") {
            // Several markets: per-market figures and each market's book.
            let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
            for needle in [
                "## Per market",
                "| BTC |",
                "| ETH |",
                "## The book: BTC",
                "## Liquidations at risk: ETH",
                "| −20.0% |",
            ] {
                assert!(md.contains(needle), "{shown}: report.md lacks {needle:?}");
            }
        }
        for result in [
            "summary.json",
            "steps.parquet",
            "population.parquet",
            "paths.parquet",
            "bands.parquet",
            "haircuts.parquet",
        ] {
            assert!(dir.join(result).is_file(), "{shown}: no {result}");
        }
        let paths = backstop_data::read_paths(&dir.join("paths.parquet")).unwrap();
        assert_eq!(paths.len(), if monte_carlo { 6 } else { 1 }, "{shown}");
        assert_conserved(&shown, dir, &paths);
        if monte_carlo {
            // Random paths differ: no two paths liquidate the same notional.
            let notional = paths.metric("liquidated_notional").unwrap();
            let mut distinct: Vec<u64> = notional.iter().map(|v| v.unwrap().to_bits()).collect();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), 6, "{shown}: paths repeat: {notional:?}");
        }
        // A scenario with a [sweep]: `run` ran its base values; `sweep` runs every set.
        if text.contains("[sweep") {
            let swept = tmp.path().join("swept");
            assert_ok(
                &format!("backstop sweep {shown}"),
                &backstop(
                    tmp.path(),
                    &[
                        Path::new("sweep"),
                        file,
                        "--out".as_ref(),
                        &swept,
                        "-q".as_ref(),
                        "--paths".as_ref(),
                        "4".as_ref(),
                    ],
                ),
            );
            let sweep = backstop_data::read_sweep(
                &swept.join(dir.file_name().unwrap()).join("sweep.parquet"),
            )
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
            assert!(sweep.rows.len() > 1, "{shown}: one parameter set");
            assert!(sweep.rows.iter().all(|r| r.paths == 4), "{shown}");
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(other) = names.insert(name.clone(), file.clone()) {
            panic!(
                "{} and {shown} share the name `{name}` (and the output folder)",
                other.display()
            );
        }
    }
}

/// Path 0's `balances.parquet` conserves money and nets every market to zero
/// (docs/model.md §8), and its fund agrees with `paths.parquet`.
#[track_caller]
fn assert_conserved(shown: &str, dir: &Path, paths: &backstop_data::PathsTable) {
    use backstop_data::{BalanceParty, Conservation, read_balances};
    let rows = read_balances(&dir.join("balances.parquet")).unwrap_or_else(|e| panic!("{e}"));
    let check = Conservation::of(&rows);
    assert!(check.holds(), "{shown}: ledger does not balance: {check:?}");
    assert!(check.opening_total > 0, "{shown}: no money at all");
    let fund = rows
        .iter()
        .find(|r| r.party == BalanceParty::InsuranceFund && r.market.is_none())
        .unwrap();
    let fund_final = paths.metric("insurance_fund_final").unwrap()[0].unwrap();
    assert!(
        (fund.end_cash as f64 / 1e6 - fund_final).abs() < 1e-6,
        "{shown}: balances say the fund ends with {} µUSD, paths.parquet {fund_final}",
        fund.end_cash
    );
    let accounts = rows
        .iter()
        .filter(|r| r.party == BalanceParty::Account && r.market.is_none())
        .count();
    assert!(accounts > 0, "{shown}: no account rows");
}

/// The controls pair: the same crash and the same lying oracle source, with and
/// without the controls. The guard drops the lie and the controls liquidate less.
#[test]
fn the_controls_pair_shows_the_controls_at_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let metric = |which: &str, name: &str| -> f64 {
        let file = repo().join(format!("scenarios/controls-oct-2025-{which}.toml"));
        assert_ok(
            which,
            &backstop(
                tmp.path(),
                &[
                    Path::new("run"),
                    &file,
                    "--out".as_ref(),
                    &out,
                    "-q".as_ref(),
                ],
            ),
        );
        let dir = out.join(format!("controls-oct-2025-{which}"));
        let paths = backstop_data::read_paths(&dir.join("paths.parquet")).unwrap();
        paths.metric(name).unwrap()[0].unwrap()
    };
    let without = metric("without", "liquidation_orders");
    let with = metric("with", "liquidation_orders");
    assert!(
        with < without,
        "liquidations with {with}, without {without}"
    );
    assert!(metric("with", "oracle_sources_dropped") > 0.0);
    assert_eq!(metric("without", "oracle_sources_dropped"), 0.0);
    assert!(metric("with", "breaker_trips") > 0.0);
}

/// The depeg scenario against the same crash with USD-only margin: same population
/// and deposits, so the difference is the collateral's (its haircut from the start,
/// then the depeg and BTC's fall). Accounts backed by the depegging coin are
/// liquidated on top of the crash's, and ADL does more.
#[test]
fn the_depeg_scenario_liquidates_accounts_the_usd_only_crash_spares() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let metric = |name: &str, column: &str| -> f64 {
        let file = repo().join(format!("scenarios/{name}.toml"));
        let dir = out.join(name);
        if !dir.exists() {
            assert_ok(
                name,
                &backstop(
                    tmp.path(),
                    &[
                        Path::new("run"),
                        &file,
                        "--out".as_ref(),
                        &out,
                        "-q".as_ref(),
                    ],
                ),
            );
        }
        let paths = backstop_data::read_paths(&dir.join("paths.parquet")).unwrap();
        paths.metric(column).unwrap()[0].unwrap()
    };
    let (plain, depeg) = ("oct-2025-btc-replay", "depeg-usde-oct-2025");
    assert_eq!(metric(plain, "collateral_conversions"), 0.0);
    assert!(metric(depeg, "collateral_conversions") > 0.0);
    assert!(metric(depeg, "collateral_converted") > 0.0);
    let (a, b) = (
        metric(plain, "accounts_liquidated"),
        metric(depeg, "accounts_liquidated"),
    );
    assert!(
        b > a,
        "accounts liquidated: USD-only {a}, with the depeg {b}"
    );
    assert!(metric(depeg, "adl_notional") > metric(plain, "adl_notional"));
}

/// A collateral price schedule that would carry the holders' units past the
/// engine's integer range is refused up front, by `validate` and `run`, naming
/// the schedule's key (it used to overflow inside the run).
#[test]
fn a_collateral_schedule_past_the_integer_range_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("scenarios/depeg-usde-oct-2025.toml"))
        .unwrap()
        .replace("../data/", &format!("{}/", repo().join("data").display()));
    let text = backstop_testkit::edit(
        &text,
        "{ at = \"2025-10-10T21:55:00Z\", price = 0.9 }",
        "{ at = \"2025-10-10T21:55:00Z\", price = 1e13 }",
    );
    let file = backstop_testkit::write_file(tmp.path(), "depeg-huge.toml", &text);
    let out = tmp.path().join("out");
    for args in [
        vec![Path::new("validate"), &file],
        vec![
            Path::new("run"),
            &file,
            "--out".as_ref(),
            &out,
            "-q".as_ref(),
        ],
    ] {
        let o = backstop(tmp.path(), &args);
        let message = backstop_testkit::assert_error(
            &o,
            &[
                "controls.collateral.asset.usde.schedule",
                "above the largest amount the engine can hold",
            ],
        );
        assert!(message.contains("depeg-huge.toml"), "{message}");
        assert!(!out.exists(), "a refused run left {}", out.display());
    }
}
