//! End-to-end tests of the `backstop` binary: the real program, run as a user would.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use backstop_data::{PATH_METRICS, read_metadata, read_paths, read_positions, read_steps};
use serde_json::Value;

// ------------------------------------------------------------------ helpers

use backstop_testkit::{
    SMALL_SCENARIO as BASE, edit, listing, read_json, repo_root as repo, stderr, stdout,
};

fn linear_crash() -> PathBuf {
    backstop_testkit::example_scenario("linear-crash")
}

/// Runs `backstop ARGS` in `cwd`.
/// Stderr holds nothing but the lot-rounding note of `linear-crash` (its
/// 0.001 BTC lot moves small positions by more than 1%; reported, not silent).
#[track_caller]
fn assert_only_lot_rounding_note(o: &Output) {
    let err = stderr(o);
    assert!(
        err.lines().count() == 1
            && err.starts_with("note: ")
            && err.contains("lot rounding moved the notional of"),
        "unexpected stderr: {err}"
    );
}

/// The README's example output of `run scenarios/linear-crash.toml` (the
/// first `text` block after "## Run a scenario"): its `note:` line (stderr)
/// and the headline's lines (stdout).
fn readme_headline() -> (String, Vec<String>) {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Run a scenario")
        .expect("README's run section")..];
    let block = section
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("README's run section has a text block");
    let (notes, headline): (Vec<&str>, Vec<&str>) =
        block.lines().partition(|l| l.starts_with("note: "));
    assert_eq!(notes.len(), 1, "README's block has one note line:\n{block}");
    (
        notes[0].to_string(),
        headline.into_iter().map(str::to_string).collect(),
    )
}

fn backstop(cwd: &Path, args: &[&Path]) -> Output {
    backstop_testkit::run_program(env!("CARGO_BIN_EXE_backstop"), cwd, args, &[])
}

#[track_caller]
fn assert_ok(o: &Output) {
    backstop_testkit::assert_success(o);
}

/// `backstop run SCENARIO --out OUT --quiet`, which must succeed.
#[track_caller]
fn run_quiet(scenario: &Path, out: &Path) {
    let o = backstop(
        &repo(),
        &[
            Path::new("run"),
            scenario,
            "--out".as_ref(),
            out,
            "-q".as_ref(),
        ],
    );
    assert_ok(&o);
    assert_eq!(stdout(&o), "", "--quiet printed something");
}

#[track_caller]
fn f64_at(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer}"))
}

/// Row `row` of a run's `paths.parquet` as a JSON object (whole numbers as
/// integers), so it reads like the metrics it holds.
fn path_row(dir: &Path, row: usize) -> Value {
    let t = read_paths(&dir.join("paths.parquet")).unwrap();
    let mut m = serde_json::Map::new();
    m.insert("path".into(), Value::from(t.path[row]));
    m.insert("param_set".into(), Value::from(t.param_set[row]));
    for (name, column) in PATH_METRICS.iter().zip(&t.metrics) {
        let v = match column[row] {
            Some(x) if x.fract() == 0.0 && x >= 0.0 => Value::from(x as u64),
            Some(x) => Value::from(x),
            None => Value::Null,
        };
        m.insert((*name).to_string(), v);
    }
    Value::Object(m)
}

#[track_caller]
fn u64_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no integer at {pointer}"))
}

/// `text` with its `[population]` table (up to the next table) replaced by `table`.
fn with_population(text: &str, table: &str) -> String {
    backstop_testkit::with_table(text, "[population]", table)
}

// --------------------------------------------------- the example scenario

#[test]
fn run_linear_crash_writes_its_result_files() {
    let tmp = tempfile::tempdir().unwrap();
    let o = backstop(
        &repo(),
        &[
            Path::new("run"),
            &linear_crash(),
            "--out".as_ref(),
            tmp.path(),
        ],
    );
    assert_ok(&o);
    let dir = tmp.path().join("linear-crash");

    // The headline on stdout is the README's, figure for figure, but for
    // the results folder (the README's default `notebooks-out`); its note
    // line is the one line on stderr.
    let out = stdout(&o);
    let (note, headline) = readme_headline();
    let shown: Vec<&str> = out.lines().collect();
    assert_eq!(shown.len(), headline.len(), "stdout:\n{out}");
    for (line, expected) in shown.iter().zip(&headline) {
        if expected.starts_with("results ") {
            assert_eq!(*line, format!("results       {}", dir.display()));
        } else {
            assert_eq!(
                line, expected,
                "README's headline differs from stdout:\n{out}"
            );
        }
    }
    assert_only_lot_rounding_note(&o);
    // The note names the file as given on the command line (here a full path).
    let (_, said) = note
        .split_once("linear-crash.toml")
        .expect("README's note names the file");
    let err = stderr(&o);
    assert!(
        err.trim_end().ends_with(said),
        "README's note differs from stderr:\n{err}"
    );

    // Exactly these files, no leftovers (temporary files of atomic writes).
    assert_eq!(listing(tmp.path()), ["linear-crash"]);
    assert_eq!(listing(&dir), backstop_testkit::RUN_RESULT_FILES);

    // summary.json: the scenario with every default filled in.
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["backstop_version"], env!("CARGO_PKG_VERSION"));
    let sc = &summary["scenario"];
    assert_eq!(sc["name"], "linear-crash");
    assert_eq!(sc["seed"], 42);
    assert_eq!(sc["start"], "2025-10-10T20:00:00Z");
    assert_eq!(sc["market"]["btc"]["price"], 121000.0);
    assert_eq!(sc["market"]["btc"]["tiers"].as_array().unwrap().len(), 5);
    assert_eq!(sc["market"]["btc"]["tiers"][1]["notional_floor"], 50000.0);
    assert_eq!(sc["path"]["kind"], "linear");
    assert_eq!(sc["path"]["steps"], 1440);
    assert_eq!(sc["path"]["shock"], -0.35);
    assert_eq!(sc["population"]["kind"], "generated");
    assert_eq!(sc["population"]["accounts"], 10000);
    assert_eq!(sc["liquidation"]["target_buffer"], 0.1);
    assert_eq!(sc["insurance_fund"]["initial"], 2_000_000.0);
    // Keys linear-crash.toml leaves out appear with their defaults.
    for (pointer, default) in [
        ("/liquidation/target_step", 0.05),
        ("/liquidation/chunk_fraction", 0.2),
        ("/liquidation/chunk_min_usd", 1000.0),
        ("/liquidation/chunk_full_below_usd", 100_000.0),
        ("/liquidation/cooldown_steps", 1.0),
        ("/insurance_fund/floor", 0.0),
        ("/population/multi_market_fraction", 0.0),
    ] {
        assert_eq!(f64_at(sc, pointer), default, "scenario{pointer}");
    }

    // summary.json: the population and the path's metrics.
    assert_eq!(summary["population"]["accounts"], 10000);
    assert!(f64_at(&summary, "/population/collateral") > 0.0);
    assert_eq!(summary["run"]["paths"], 1);
    assert_eq!(summary["run"]["path_model"], "linear");
    assert_eq!(read_paths(&dir.join("paths.parquet")).unwrap().len(), 1);
    let m = &path_row(&dir, 0);
    assert_eq!(m["path"], 0);
    // One path: its metrics are every quantile of the aggregates.
    let agg = &summary["aggregates"];
    assert_eq!(agg["paths"], 1);
    // One outcome: marked as such, with no sampling interval (issue 13).
    assert_eq!(summary["run"]["outcome"], "one");
    assert!(agg["outcome"].as_str().unwrap().starts_with("one path"));
    for p in ["insurance_fund_depletion", "socialized_loss_any", "adl_any"] {
        let p = &agg[p];
        assert_eq!(p["ci95"][0], p["probability"], "{p}");
        assert_eq!(p["ci95"][1], p["probability"], "{p}");
    }
    for key in ["bad_debt", "liquidation_orders", "insurance_fund_min"] {
        assert_eq!(
            f64_at(agg, &format!("/metrics/{key}/p99")),
            f64_at(m, &format!("/{key}"))
        );
    }
    let loss = f64_at(m, "/insurance_fund_initial") - f64_at(m, "/insurance_fund_min");
    assert!((f64_at(agg, "/insurance_fund_loss/var_99") - loss).abs() < 1e-6);
    assert_eq!(m["steps"], 1440);
    let liquidations = u64_at(m, "/liquidation_orders");
    let liquidated_accounts = u64_at(m, "/accounts_liquidated");
    assert!(liquidations > 0, "a 35% crash liquidates someone");
    assert!(liquidated_accounts > 0 && liquidated_accounts <= 10_000);
    assert!(liquidated_accounts <= liquidations);
    assert!(f64_at(m, "/liquidated_notional") > 0.0);
    let initial = f64_at(m, "/insurance_fund_initial");
    let min = f64_at(m, "/insurance_fund_min");
    let fin = f64_at(m, "/insurance_fund_final");
    assert_eq!(initial, 2_000_000.0);
    assert!(fin <= initial, "fund grew: {initial} -> {fin}");
    assert!(min <= fin && min <= initial);
    assert!(f64_at(m, "/insurance_fund_max_drawdown") >= initial - min - 1e-6);
    let bad_debt = f64_at(m, "/bad_debt");
    let payouts = f64_at(m, "/insurance_fund_payouts");
    let fees = f64_at(m, "/insurance_fund_fee_income");
    assert!(bad_debt >= f64_at(m, "/socialized_loss"));
    assert!(bad_debt >= payouts);
    assert!(bad_debt >= f64_at(m, "/insolvency"));
    // The fund moves by its fee income and its payouts, nothing else.
    assert!(
        (initial + fees - payouts - fin).abs() < 1e-5,
        "{initial} + {fees} - {payouts} != {fin}"
    );
    for key in [
        "insurance_fund_payouts",
        "insurance_fund_fee_income",
        "bad_debt",
        "socialized_loss",
        "insolvency",
        "adl_notional",
        "liquidator_fees",
    ] {
        let x = f64_at(m, &format!("/{key}"));
        assert!(x.is_finite() && x >= 0.0, "{key} = {x}");
    }

    // steps.parquet: one row per step of the one market, on the crash's shape.
    let steps = read_steps(&dir.join("steps.parquet")).unwrap();
    assert_eq!(steps.len(), 1440);
    assert!(steps.step.iter().copied().eq(0..1440u32));
    assert!(steps.market.iter().all(|m| m == "btc"));
    let start_ns = 1_760_126_400_000_000_000_i64; // 2025-10-10T20:00:00Z
    assert_eq!(steps.ts_ns[0], start_ns);
    assert_eq!(steps.ts_ns[1] - steps.ts_ns[0], 60_000_000_000);
    let mark = &steps.mark;
    assert_eq!(mark[0], 121_000.0);
    // Before the shock (steps 0..60) the mark only moves by liquidation impact.
    assert!(
        mark[..60]
            .iter()
            .all(|&p| (p / 121_000.0 - 1.0).abs() < 0.01)
    );
    // -35% over steps 60..180; impact may push it a little further down.
    let crashed = 121_000.0 * 0.65;
    let last = mark[1439];
    assert!(
        last <= crashed * 1.000_001 && last >= crashed * 0.95,
        "final mark {last}, crash target {crashed}"
    );
    assert!(mark[120] < mark[60] && mark[179] < mark[120]);
    assert!(mark.iter().all(|&p| p >= crashed * 0.9 && p <= 121_000.0));
    // The series agrees with the summary.
    assert_eq!(*steps.insurance_fund.last().unwrap(), fin);
    let fund_min = steps
        .insurance_fund
        .iter()
        .copied()
        .fold(f64::MAX, f64::min);
    assert_eq!(fund_min, min);
    let min_step = u64_at(m, "/insurance_fund_min_step") as usize;
    assert_eq!(steps.insurance_fund[min_step], min);
    assert_eq!(
        steps.ts_ns[min_step],
        start_ns + min_step as i64 * 60_000_000_000
    );
    let liq_sum: u64 = steps.liquidations.iter().map(|&n| u64::from(n)).sum();
    assert_eq!(liq_sum, liquidations);
    let bad_debt_sum: f64 = steps.bad_debt.iter().sum();
    assert!(
        (bad_debt_sum - bad_debt).abs() < 1e-3,
        "{bad_debt_sum} vs {bad_debt}"
    );

    // population.parquet: the 10,000 accounts' positions.
    let rows = read_positions(&dir.join("population.parquet")).unwrap();
    let accounts: BTreeSet<u64> = rows.iter().map(|r| r.account_id).collect();
    assert_eq!(accounts.len(), 10_000);
    assert_eq!(rows.len() as u64, u64_at(&summary, "/population/positions"));
    assert!(rows.iter().all(|r| r.market == "btc"));
    let collateral: f64 = rows.iter().map(|r| r.collateral).sum();
    let expected = f64_at(&summary, "/population/collateral");
    assert!((collateral - expected).abs() < 1e-3 * expected.max(1.0));

    // Both Parquet files say what made them.
    for file in ["population.parquet", "steps.parquet"] {
        let meta = read_metadata(&dir.join(file)).unwrap();
        let get = |k: &str| {
            meta.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("backstop.scenario"), Some("linear-crash"), "{file}");
        assert_eq!(get("backstop.seed"), Some("42"), "{file}");
        assert_eq!(get("backstop.version"), Some(env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn runs_are_reproducible_and_a_saved_population_replays_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run_quiet(&linear_crash(), &a);
    run_quiet(&linear_crash(), &b);
    let charts: Vec<String> = listing(&a.join("linear-crash/charts"))
        .into_iter()
        .map(|f| format!("charts/{f}"))
        .collect();
    // Charts with nothing to show are sentences, not files (issue 13): a
    // one-path crash draws its fund and its liquidations.
    assert!(charts.len() >= 4, "{charts:?}");
    let files = backstop_testkit::RUN_RESULT_FILES
        .iter()
        .filter(|f| **f != "charts")
        .map(|f| (*f).to_string())
        .chain(charts);
    for file in files {
        let x = std::fs::read(a.join("linear-crash").join(&file)).unwrap();
        let y = std::fs::read(b.join("linear-crash").join(&file)).unwrap();
        assert!(
            x == y,
            "{file} differs between two runs of the same scenario"
        );
    }

    // The same scenario on the population the first run saved; the path is
    // relative to the scenario file's folder.
    let text = std::fs::read_to_string(linear_crash()).unwrap();
    let replay = with_population(
        &text,
        "[population]\nkind = \"parquet\"\nfile = \"a/linear-crash/population.parquet\"\n",
    );
    assert!(replay.contains("kind = \"parquet\"") && !replay.contains("pareto"));
    let file = tmp.path().join("replay.toml");
    std::fs::write(&file, replay).unwrap();
    let c = tmp.path().join("c");
    run_quiet(&file, &c);

    let original = read_json(&a.join("linear-crash/summary.json"));
    let replayed = read_json(&c.join("linear-crash/summary.json"));
    assert_eq!(replayed["scenario"]["population"]["kind"], "parquet");
    assert_eq!(replayed["aggregates"], original["aggregates"]);
    assert_eq!(
        std::fs::read(a.join("linear-crash/paths.parquet")).unwrap(),
        std::fs::read(c.join("linear-crash/paths.parquet")).unwrap()
    );
    assert_eq!(replayed["population"], original["population"]);
    for file in ["population.parquet", "steps.parquet"] {
        let x = read_steps_or_positions(&a.join("linear-crash").join(file));
        let y = read_steps_or_positions(&c.join("linear-crash").join(file));
        assert!(x == y, "{file} differs on the replayed population");
    }
}

/// A file's rows in a comparable form (`Debug` of what the reader returns).
fn read_steps_or_positions(path: &Path) -> String {
    if path.ends_with("steps.parquet") {
        format!("{:?}", read_steps(path).unwrap())
    } else {
        format!("{:?}", read_positions(path).unwrap())
    }
}

#[test]
fn run_writes_to_notebooks_out_by_default_and_quiet_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = backstop(
        tmp.path(),
        &[Path::new("run"), &linear_crash(), "--quiet".as_ref()],
    );
    assert_ok(&o);
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
    assert_eq!(listing(tmp.path()), ["notebooks-out"]);
    assert_eq!(listing(&tmp.path().join("notebooks-out")), ["linear-crash"]);
    assert_eq!(
        listing(&tmp.path().join("notebooks-out/linear-crash")),
        backstop_testkit::RUN_RESULT_FILES
    );
}

#[test]
fn validate_accepts_linear_crash_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = backstop(tmp.path(), &[Path::new("validate"), &linear_crash()]);
    assert_ok(&o);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("{}: ok", linear_crash().display())),
        "{out}"
    );
    assert!(
        out.contains("1440 steps") && out.contains("10000 accounts"),
        "{out}"
    );
    assert_only_lot_rounding_note(&o);
    assert!(listing(tmp.path()).is_empty(), "validate wrote files");
}

// ----------------------------------------------------------------- bad input

// The bad scenarios below each change one line of `BASE`
// (`backstop_testkit::SMALL_SCENARIO`), so the line numbers in the expected
// errors are the lines shown there.

/// The base scenario with a multi-line price series instead of the linear path.
fn series_base() -> String {
    edit(
        BASE,
        "kind = \"linear\"\nsteps = 100\nshock_start_step = 10\nshock_steps = 20\nshock = -0.3\n",
        "kind = \"series\"\nprices.btc = [\n  100000.0,\n  99000.0,\n  98000.0,\n  97000.0,\n]\n",
    )
}

#[test]
fn the_base_of_the_bad_scenarios_is_good() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("base.toml", BASE.to_string()),
        ("series.toml", series_base()),
    ] {
        let file = tmp.path().join(name);
        std::fs::write(&file, text).unwrap();
        let o = backstop(tmp.path(), &[Path::new("validate"), &file]);
        assert_ok(&o);
        run_quiet(&file, &tmp.path().join("out"));
    }
    assert_eq!(
        listing(&tmp.path().join("out/small")),
        backstop_testkit::RUN_RESULT_FILES
    );
}

/// Writes `text` as a scenario, runs and validates it, and checks both fail with
/// an error naming the file, `line` and `key`, and that nothing was written.
/// Returns the error message.
#[track_caller]
fn assert_rejected(text: &str, line: usize, key: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scenario.toml");
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("out");
    let o = backstop(
        tmp.path(),
        &[Path::new("run"), &file, "--out".as_ref(), &out],
    );
    let err = stderr(&o);
    assert!(!o.status.success(), "accepted:\n{text}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let at = format!("{}:{line}: ", file.display());
    assert!(
        err.starts_with(&format!("error: {at}")),
        "expected `{at}` in:\n{err}"
    );
    assert!(
        err.contains(&format!("key `{key}`")),
        "expected key `{key}` in:\n{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(stdout(&o), "");
    assert!(!out.exists(), "run created {}", out.display());

    // validate says the same and writes nothing either.
    let v = backstop(tmp.path(), &[Path::new("validate"), &file]);
    assert_eq!(v.status.code(), Some(1));
    assert_eq!(stderr(&v), err);
    assert_eq!(listing(tmp.path()), ["scenario.toml"]);
    err
}

#[test]
fn unknown_key_is_rejected() {
    let err = assert_rejected(
        &edit(BASE, "fee = 0.005", "liquidaton_fee = 0.005"),
        30,
        "liquidation.liquidaton_fee",
    );
    assert!(err.contains("unknown field `liquidaton_fee`"), "{err}");
    assert!(
        err.contains("`fee`"),
        "the message lists the valid keys: {err}"
    );
}

#[test]
fn wrong_type_is_rejected() {
    let err = assert_rejected(
        &edit(BASE, "fee = 0.005", "fee = \"high\""),
        30,
        "liquidation.fee",
    );
    assert!(
        err.contains("invalid type: string \"high\", expected f64"),
        "{err}"
    );
}

#[test]
fn negative_margin_rate_is_rejected() {
    let err = assert_rejected(
        &edit(
            BASE,
            "imr = 0.008, mmr = 0.004",
            "imr = 0.008, mmr = -0.004",
        ),
        9,
        "market.btc.tiers[0].mmr",
    );
    assert!(err.contains("-0.004"), "{err}");
}

#[test]
fn tiers_that_do_not_increase_are_rejected() {
    let err = assert_rejected(
        &edit(BASE, "notional_floor = 250000", "notional_floor = 40000"),
        11,
        "market.btc.tiers[2].notional_floor",
    );
    assert!(err.contains("40000 is not above 50000"), "{err}");
}

#[test]
fn fee_above_100_percent_is_rejected() {
    let err = assert_rejected(
        &edit(BASE, "fee = 0.005", "fee = 1.5"),
        30,
        "liquidation.fee",
    );
    assert!(
        err.contains("between 0 and 1") && err.contains("1.5"),
        "{err}"
    );
}

#[test]
fn zero_accounts_are_rejected() {
    let err = assert_rejected(
        &edit(BASE, "accounts = 100", "accounts = 0"),
        23,
        "population.accounts",
    );
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn nan_price_is_rejected() {
    let err = assert_rejected(
        &edit(BASE, "price = 100000.0", "price = nan"),
        5,
        "market.btc.price",
    );
    assert!(err.contains("finite"), "{err}");
}

#[test]
fn nan_in_a_price_series_is_rejected() {
    let err = assert_rejected(
        &edit(&series_base(), "  98000.0,", "  nan,"),
        19,
        "path.prices.btc[2]",
    );
    assert!(err.contains("finite and positive, got NaN"), "{err}");
}

// Inside `[path]`, `[population]` and the distributions (tables tagged by `kind` /
// `distribution`) serde alone would only name the table.

#[test]
fn unknown_key_inside_a_distribution_is_located() {
    let err = assert_rejected(
        &edit(BASE, "shape = 1.3", "alpha = 1.3"),
        24,
        "population.notional.alpha",
    );
    assert!(err.contains("unknown field `alpha`"), "{err}");
}

#[test]
fn wrong_value_inside_population_is_located() {
    let err = assert_rejected(
        &edit(BASE, "accounts = 100", "accounts = -5"),
        23,
        "population.accounts",
    );
    assert!(err.contains("integer `-5`, expected u32"), "{err}");
}

#[test]
fn wrong_type_inside_path_is_located() {
    assert_rejected(
        &edit(BASE, "shock = -0.3", "shock = \"big\""),
        19,
        "path.shock",
    );
}

#[test]
fn duplicate_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("dup.toml");
    std::fs::write(&file, edit(BASE, "seed = 7\n", "seed = 7\nseed = 8\n")).unwrap();
    let o = backstop(tmp.path(), &[Path::new("validate"), &file]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("error: {}:3: duplicate key `seed`\n", file.display())
    );
}

#[test]
fn missing_scenario_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("no-such-scenario.toml");
    let out = tmp.path().join("out");
    for args in [
        vec![Path::new("run"), &file, "--out".as_ref(), &out],
        vec![Path::new("validate"), &file],
    ] {
        let o = backstop(tmp.path(), &args);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            stderr(&o),
            format!(
                "error: {}: cannot read scenario: No such file or directory (os error 2)\n",
                file.display()
            )
        );
    }
    assert!(listing(tmp.path()).is_empty());
}

#[test]
fn missing_population_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scenario.toml");
    let text = with_population(
        BASE,
        "[population]\nkind = \"parquet\"\nfile = \"nope/population.parquet\"\n",
    );
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("out");
    let o = backstop(
        tmp.path(),
        &[Path::new("run"), &file, "--out".as_ref(), &out],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.starts_with(&format!("error: {}: ", file.display())),
        "{err}"
    );
    // The missing file, resolved against the scenario's folder.
    let missing = tmp.path().join("nope/population.parquet");
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert_eq!(
        err.matches("os error 2").count(),
        1,
        "cause repeated: {err}"
    );
    assert!(!out.exists());
}

// ------------------------------------------- Monte Carlo paths: bad input

/// BASE with its linear path replaced by `path` (the `[path]` table's body).
fn with_path(path: &str) -> String {
    edit(
        BASE,
        "kind = \"linear\"\nsteps = 100\nshock_start_step = 10\nshock_steps = 20\nshock = -0.3\n",
        path,
    )
}

#[test]
fn zero_paths_are_rejected() {
    let err = assert_rejected(&edit(BASE, "seed = 7", "seed = 7\npaths = 0"), 3, "paths");
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn a_non_stationary_garch_is_rejected() {
    let text = with_path(
        "kind = \"garch\"\nsteps = 100\nvolatility = 0.6\nalpha = 0.2\nbeta = 0.8\ndof = 4.0\n",
    );
    let err = assert_rejected(&text, 19, "path.beta");
    assert!(err.contains("alpha") && err.contains("< 1"), "{err}");
}

#[test]
fn a_correlation_matrix_that_is_not_positive_definite_is_rejected() {
    let market = |key: &str, price: &str| {
        format!(
            "[market.{key}]\nprice = {price}\ntick_size = 0.01\nlot_size = 0.001\n\
             tiers = [{{ notional_floor = 0, imr = 0.01, mmr = 0.005 }}]\n\n"
        )
    };
    let eth_sol = format!(
        "{}{}[path]",
        market("eth", "4000.0"),
        market("sol", "200.0")
    );
    let text = edit(
        &with_path(
            "kind = \"gbm\"\nsteps = 100\nvolatility = 0.6\n\
             correlation = { matrix = [[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]] }\n",
        ),
        "[path]",
        &eth_sol,
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("correlation"))
        .unwrap()
        + 1;
    let err = assert_rejected(&text, line, "path.correlation.matrix");
    assert!(err.contains("positive definite"), "{err}");
}

#[test]
fn a_bootstrap_file_shorter_than_its_block_is_rejected() {
    let file = repo().join("data/history/ftx-2022.parquet");
    let text = with_path(&format!(
        "kind = \"bootstrap\"\nsteps = 100\nfiles = [{:?}]\nmean_block_steps = 5000\n",
        file.display().to_string()
    ));
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("scenario.toml");
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("out");
    let o = backstop(
        tmp.path(),
        &[Path::new("run"), &scenario, "--out".as_ref(), &out],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("path.mean_block_steps") && err.contains("5000"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn paths_override_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scenario.toml");
    std::fs::write(&file, BASE).unwrap();
    let o = backstop(
        tmp.path(),
        &[Path::new("run"), &file, "--paths".as_ref(), "0".as_ref()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("at least one path"), "{}", stderr(&o));
    assert_eq!(listing(tmp.path()), ["scenario.toml"]);
}

// ------------------------------------------------------------------ compare

/// The cells after the label of the row `label` of compare.md's side-by-side table.
#[track_caller]
fn compare_row(md: &str, label: &str) -> Vec<String> {
    let start = md.find("## Side by side").expect("no side-by-side table");
    md[start..]
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells[0] == label)
        .unwrap_or_else(|| panic!("no row {label:?} in\n{md}"))[1..]
        .to_vec()
}

/// `\$1,234` / `-\$12` / `+37` / `-1,756` → the number.
fn number(text: &str) -> f64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let v: f64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"));
    if text.starts_with('-') { -v } else { v }
}

/// The 2025-10-10 crash with and without the controls, run and compared: the
/// comparison shows each run's fund drawdown and the liquidations the controls
/// prevented, as the two summaries have them.
#[test]
fn compare_shows_the_controls_pair_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for which in ["without", "with"] {
        run_quiet(
            &repo().join(format!("scenarios/controls-oct-2025-{which}.toml")),
            &out,
        );
    }
    let a = out.join("controls-oct-2025-without");
    let b = out.join("controls-oct-2025-with");
    let cmp = tmp.path().join("cmp");
    let o = backstop(
        tmp.path(),
        &[Path::new("compare"), &a, &b, "--out".as_ref(), &cmp],
    );
    assert_ok(&o);
    assert_eq!(
        listing(&cmp),
        ["charts", "compare.html", "compare.md"],
        "no temporary files left"
    );
    assert_eq!(
        listing(&cmp.join("charts")),
        ["compare_insurance_fund.png", "compare_insurance_fund.svg"]
    );
    let md = std::fs::read_to_string(cmp.join("compare.md")).unwrap();
    let (sa, sb) = (
        read_json(&a.join("summary.json")),
        read_json(&b.join("summary.json")),
    );
    let metric = |s: &Value, name: &str| f64_at(s, &format!("/aggregates/metrics/{name}/mean"));
    let dd = compare_row(&md, "Insurance-fund max drawdown");
    assert_eq!(
        number(&dd[0]),
        metric(&sa, "insurance_fund_max_drawdown").round()
    );
    assert_eq!(
        number(&dd[1]),
        metric(&sb, "insurance_fund_max_drawdown").round()
    );
    let liq = compare_row(&md, "Liquidation orders");
    let (la, lb) = (
        metric(&sa, "liquidation_orders"),
        metric(&sb, "liquidation_orders"),
    );
    assert_eq!((number(&liq[0]), number(&liq[1])), (la, lb));
    assert_eq!(number(&liq[2]), lb - la);
    assert!(lb < la, "the controls liquidate less: {lb} vs {la}");
    let fewer = format!(
        "controls-oct-2025-with had {} fewer liquidation orders than controls-oct-2025-without",
        count_text(la - lb)
    );
    assert!(md.contains(&fewer), "no {fewer:?} in\n{md}");
    assert!(md.contains(&format!("the controls prevented {}", count_text(la - lb))));
    assert!(number(&compare_row(&md, "Circuit-breaker trips")[1]) > 0.0);
    assert!(md.contains("differ only in their controls"), "{md}");

    // Each run's own report has its controls section; the breaker's pauses are
    // followed up from the steps.
    let report = std::fs::read_to_string(b.join("report.md")).unwrap();
    assert!(report.contains("\n## Controls\n"));
    assert!(report.contains("After the pauses: in the "), "{report}");
    assert!(b.join("charts/margin_multiplier.png").is_file());

    // Default folder, under notebooks-out of the working directory.
    assert_ok(&backstop(
        tmp.path(),
        &[Path::new("compare"), &a, &b, "-q".as_ref()],
    ));
    assert!(
        tmp.path()
            .join("notebooks-out/compare-controls-oct-2025-without-vs-controls-oct-2025-with/compare.md")
            .is_file()
    );

    // A folder missing a file is refused, by name.
    std::fs::remove_file(b.join("steps.parquet")).unwrap();
    let o = backstop(tmp.path(), &[Path::new("compare"), &a, &b, "-q".as_ref()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&b.display().to_string()) && err.contains("steps.parquet"),
        "{err}"
    );
}

/// `1756.0` → `1,756`.
fn count_text(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `backstop adl-lab` runs the Oct-2025 lab under two allocations (the cheap
/// ones; water-filling bisects per close, slow in debug builds): one table
/// row each, ADL under both and different accounts hit, the per-wave table
/// and its chart; an unknown policy is refused.
#[test]
fn adl_lab_compares_policies_on_the_same_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let file = backstop_testkit::repo_root().join("scenarios/adl-lab-oct-2025.toml");
    let out = tmp.path().join("out");
    let o = backstop_testkit::run_program(
        env!("CARGO_BIN_EXE_backstop"),
        tmp.path(),
        &[
            std::path::Path::new("adl-lab"),
            &file,
            "--policies".as_ref(),
            "queue:binance,pro_rata".as_ref(),
            "--out".as_ref(),
            &out,
        ],
        &[],
    );
    backstop_testkit::assert_success(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| {
            l.starts_with("| queue") || l.starts_with("| pro_rata") || l.starts_with("| water_fill")
        })
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows.iter().all(|r| r[3] != "0 USD"), "{text}");
    assert_ne!(rows[0][7], rows[1][7], "accounts hit: {text}");
    let lab = out.join("adl-lab-oct-2025-adl-lab");
    let md = std::fs::read_to_string(lab.join("adl_lab.md")).unwrap();
    assert!(md.contains("## Per ADL wave (path 0)"), "{md}");
    assert!(
        md.contains("| queue:binance | 1 |") && md.contains("| pro_rata | 1 |"),
        "{md}"
    );
    assert!(lab.join("charts/adl_lab.svg").exists());
    let bad = backstop_testkit::run_program(
        env!("CARGO_BIN_EXE_backstop"),
        tmp.path(),
        &[
            std::path::Path::new("adl-lab"),
            &file,
            "--policies".as_ref(),
            "lottery".as_ref(),
        ],
        &[],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown policy `lottery`"));
}

/// Lot rounding that moves positions by more than 1% (but the book's total by
/// less, so the run goes on) is reported with its counts by `validate` and
/// `run`, never silently (`--quiet` keeps stderr for errors); a lot fine
/// enough for the book prints no note.
#[test]
fn lot_rounding_is_reported_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let coarse = backstop_testkit::write_file(tmp.path(), "coarse.toml", BASE);
    let fine = backstop_testkit::write_file(
        tmp.path(),
        "fine.toml",
        &edit(BASE, "lot_size = 0.001", "lot_size = 0.00001"),
    );
    let out = tmp.path().join("out");
    for args in [
        vec![Path::new("validate"), &coarse],
        vec![Path::new("run"), &coarse, "--out".as_ref(), &out],
    ] {
        let o = backstop(tmp.path(), &args);
        backstop_testkit::assert_success(&o);
        let err = stderr(&o);
        let note = err
            .lines()
            .find(|l| l.starts_with("note: ") && l.contains("coarse.toml"))
            .unwrap_or_else(|| panic!("no note in {err}"));
        // "lot rounding moved the notional of M of 100 positions by more than 1% ..."
        let moved: u64 = note
            .split("notional of ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {note}"));
        assert!(moved > 0 && moved <= 100, "{note}");
        assert!(note.contains("of 100 positions by more than 1%"), "{note}");
    }
    let o = backstop(tmp.path(), &[Path::new("validate"), &fine]);
    backstop_testkit::assert_success(&o);
    assert!(!stderr(&o).contains("note:"), "{}", stderr(&o));
}

/// `backstop size-fund` adds its fund sizing, table and chart, to both
/// renderings of the report: `report.md` and the self-contained `report.html`
/// (inside its body, the chart inline).
#[test]
fn size_fund_adds_its_section_to_both_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let file = backstop_testkit::repo_root().join("scenarios/flash-crash-adl.toml");
    let out = tmp.path().join("out");
    let o = backstop_testkit::run_program(
        env!("CARGO_BIN_EXE_backstop"),
        tmp.path(),
        &[
            std::path::Path::new("size-fund"),
            &file,
            "--target".as_ref(),
            "0.1".as_ref(),
            "--out".as_ref(),
            &out,
            "--quiet".as_ref(),
        ],
        &[],
    );
    backstop_testkit::assert_success(&o);
    let dir = out.join("flash-crash-adl-size-fund");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Fund sizing (`backstop size-fund`)"), "{md}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let at = html
        .find("<section id=\"fund-sizing\">")
        .expect("the section in report.html");
    assert!(at < html.rfind("</body>").unwrap());
    assert!(html[at..].contains("<figure id=\"chart-fund_size\""));
    assert!(html[at..].contains("P(depletion) ≤"));
}
