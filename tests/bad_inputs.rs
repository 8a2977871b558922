//! The bad-input catalogue (issue 16, `docs/errors.md`): the real binary on
//! bad scenarios, bad Parquet files and (with `--features import`) bad
//! importer inputs. Each case asserts the exit code (1), an error message
//! naming the file and the line and key (or the row and column), no panic,
//! and no output left behind; a scenario is refused by `validate` with the
//! same message as by `run`.

use std::path::Path;
use std::process::Output;

use backstop_data::{PositionRow, write_positions};

// ------------------------------------------------------------------ helpers

use backstop_testkit::{SMALL_SCENARIO, listing, repo_root as repo, stderr};

/// Runs `backstop ARGS` in `cwd`.
fn backstop(cwd: &Path, args: &[&Path]) -> Output {
    backstop_testkit::run_program(env!("CARGO_BIN_EXE_backstop"), cwd, args, &[])
}

/// With `BAD_INPUTS_TABLE=FILE`, appends the case and its message to FILE as
/// a Markdown table row (how `docs/errors.md`'s table is made).
fn table_row(name: &str, message: &str) {
    if let Some(file) = std::env::var_os("BAD_INPUTS_TABLE") {
        use std::io::Write as _;
        let message = message.trim_end().replace('|', "\\|");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .unwrap();
        writeln!(f, "| {name} | `{message}` |").unwrap();
    }
}

/// The workspace's small test scenario (`backstop_testkit::SMALL_SCENARIO`)
/// with a fund of 1,000,000 USD; each case changes it, so the lines its
/// errors name are those of that scenario.
fn base() -> String {
    format!("{SMALL_SCENARIO}\n[insurance_fund]\ninitial = 1000000.0\n")
}

const LINEAR: &str =
    "kind = \"linear\"\nsteps = 100\nshock_start_step = 10\nshock_steps = 20\nshock = -0.3\n";

/// The base scenario with `from` (once) replaced by `to`.
#[track_caller]
fn edit(from: &str, to: &str) -> String {
    backstop_testkit::edit(&base(), from, to)
}

/// The base scenario with its `[population]` table replaced by `table`.
fn with_population(table: &str) -> String {
    backstop_testkit::with_table(&base(), "[population]", table)
}

/// Where the error is expected.
enum At {
    /// `file:line: key `key``, the line being that of the first line of the
    /// text containing `marker`.
    Line {
        marker: &'static str,
        key: &'static str,
    },
    /// `file: … key `key`` (found once the run is prepared: no line).
    Key(&'static str),
    /// `file …` and this text (a row and column of a data file, or a file
    /// named inside the message).
    Text(&'static str),
}

/// One bad scenario of the catalogue.
struct Case {
    /// The catalogue's name of the case (`docs/errors.md`).
    name: &'static str,
    /// The scenario text.
    text: String,
    /// Where the message points.
    at: At,
    /// What else the message must say (the value, the limit, the reason).
    says: &'static str,
}

fn case(name: &'static str, text: String, at: At, says: &'static str) -> Case {
    Case {
        name,
        text,
        at,
        says,
    }
}

fn line(marker: &'static str, key: &'static str) -> At {
    At::Line { marker, key }
}

/// The panic message of `f`, if it panics: every case runs, and the test
/// lists every failing one.
fn failure(f: impl FnOnce()) -> Option<String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .err()
        .map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        })
}

/// Writes the files a case needs into a folder.
type MakeFiles = Box<dyn Fn(&Path)>;

/// Runs and validates the case's scenario (written with the files `make`
/// writes beside it) and checks the refusal.
#[track_caller]
fn check(c: &Case, make: &dyn Fn(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scenario.toml");
    std::fs::write(&file, &c.text).unwrap();
    make(tmp.path());
    let before = listing(tmp.path());
    let out = tmp.path().join("out");
    let o = backstop(
        tmp.path(),
        &[
            Path::new("run"),
            &file,
            "--out".as_ref(),
            &out,
            "-q".as_ref(),
        ],
    );
    let err = stderr(&o);
    let name = c.name;
    assert_eq!(
        o.status.code(),
        Some(1),
        "{name}: accepted or crashed:\n{err}"
    );
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: {err}");
    assert!(
        err.starts_with(&format!("error: {}", file.display())),
        "{name}: the file is not named first: {err}"
    );
    match &c.at {
        At::Line { marker, key } => {
            let n = c
                .text
                .lines()
                .position(|l| l.contains(marker))
                .unwrap_or_else(|| panic!("{name}: no line with {marker:?}"))
                + 1;
            let at = if key.is_empty() {
                format!("error: {}:{n}: ", file.display())
            } else {
                format!("error: {}:{n}: key `{key}`", file.display())
            };
            assert!(err.starts_with(&at), "{name}: expected `{at}` in: {err}");
        }
        At::Key(key) => assert!(err.contains(&format!("key `{key}`")), "{name}: {err}"),
        At::Text(text) => assert!(err.contains(text), "{name}: expected {text:?} in: {err}"),
    }
    assert!(
        err.contains(c.says),
        "{name}: expected {:?} in: {err}",
        c.says
    );
    assert!(!out.exists(), "{name}: run created {}", out.display());
    table_row(name, &err.replace(&tmp.path().display().to_string(), "."));
    // validate refuses it first, with the same message, and writes nothing.
    let v = backstop(tmp.path(), &[Path::new("validate"), &file]);
    assert_eq!(v.status.code(), Some(1), "{name}: validate accepted it");
    assert_eq!(stderr(&v), err, "{name}: validate and run disagree");
    assert_eq!(listing(tmp.path()), before, "{name}: output left behind");
}

// ------------------------------------------------------------- scenarios

/// Bad scenario files: syntax, keys, types, ranges, and values past the
/// engine's integer range.
fn scenario_cases() -> Vec<Case> {
    let crash_path = |path: &str| edit(LINEAR, path);
    vec![
        case(
            "syntax error",
            edit("[path]", "[path"),
            line("[path", ""),
            "unclosed table",
        ),
        case(
            "unknown key",
            edit("fee = 0.005", "liquidaton_fee = 0.005"),
            line("liquidaton_fee", "liquidation.liquidaton_fee"),
            "unknown field",
        ),
        case(
            "wrong type",
            edit("fee = 0.005", "fee = \"high\""),
            line("fee = \"high\"", "liquidation.fee"),
            "expected f64",
        ),
        case(
            "missing key",
            edit("max_notional = 1000000.0\n", ""),
            At::Text("population"),
            "max_notional",
        ),
        case(
            "bad name",
            edit("name = \"small\"", "name = \"../up\""),
            line("name =", "name"),
            "folder name",
        ),
        case(
            "bad start time",
            edit("seed = 7", "seed = 7\nstart = \"yesterday\""),
            line("start =", "start"),
            "UTC time",
        ),
        case(
            "zero step length",
            edit("seed = 7", "seed = 7\nstep_seconds = 0"),
            line("step_seconds", "step_seconds"),
            "at least 1",
        ),
        case(
            "zero paths",
            edit("seed = 7", "seed = 7\npaths = 0"),
            line("paths = 0", "paths"),
            "at least 1",
        ),
        case(
            "paths past the limit",
            edit("seed = 7", "seed = 7\npaths = 4000000000"),
            line("paths = ", "paths"),
            "more than the limit",
        ),
        case(
            "price not a number",
            edit("price = 100000.0", "price = nan"),
            line("price = nan", "market.btc.price"),
            "finite",
        ),
        case(
            "price below one tick",
            edit("price = 100000.0", "price = 0.05"),
            line("price = 0.05", "market.btc.price"),
            "below 50 ticks",
        ),
        case(
            "price past the tick grid",
            edit("price = 100000.0", "price = 1e300"),
            line("price = 1e300", "market.btc.price"),
            "ticks",
        ),
        case(
            "zero tick",
            edit("tick_size = 0.1", "tick_size = 0.0"),
            line("tick_size", "market.btc.tick_size"),
            "positive",
        ),
        case(
            "lot value below a micro-USD",
            edit("lot_size = 0.001", "lot_size = 0.000001"),
            line("lot_size", "market.btc.lot_size"),
            "whole number of micro-USD",
        ),
        case(
            "negative margin rate",
            edit("imr = 0.008, mmr = 0.004", "imr = 0.008, mmr = -0.004"),
            line("mmr = -0.004", "market.btc.tiers[0].mmr"),
            "(0, 1]",
        ),
        case(
            "maintenance above initial",
            edit("imr = 0.008, mmr = 0.004", "imr = 0.004, mmr = 0.008"),
            line("imr = 0.004", "market.btc.tiers[0].mmr"),
            "above the initial rate",
        ),
        case(
            "first tier not at zero",
            edit("notional_floor = 0,", "notional_floor = 10,"),
            line("notional_floor = 10,", "market.btc.tiers[0].notional_floor"),
            "start at 0",
        ),
        case(
            "tiers not increasing",
            edit("notional_floor = 250000", "notional_floor = 40000"),
            line(
                "notional_floor = 40000",
                "market.btc.tiers[2].notional_floor",
            ),
            "increasing",
        ),
        case(
            "tier floor past the integer range",
            edit("notional_floor = 250000", "notional_floor = 1e13"),
            line(
                "notional_floor = 1e13",
                "market.btc.tiers[2].notional_floor",
            ),
            "5.765e11 USD",
        ),
        case(
            "funding rate of 150%",
            edit("lot_size = 0.001", "lot_size = 0.001\nfunding.rate = 1.5"),
            line("funding.rate", "market.btc.funding.rate"),
            "below 100%",
        ),
        case(
            "zero impact volume",
            edit(
                "lot_size = 0.001",
                "lot_size = 0.001\nimpact.volume_usd = 0.0",
            ),
            line("impact.volume_usd", "market.btc.impact.volume_usd"),
            "positive",
        ),
        case(
            "book depth without a file",
            edit(
                "lot_size = 0.001",
                "lot_size = 0.001\nimpact.model = \"book_depth\"",
            ),
            At::Key("market.btc.impact.file"),
            "depth/v1",
        ),
        case(
            "zero steps",
            edit("steps = 100", "steps = 0"),
            line("steps = 0", "path.steps"),
            "at least 1",
        ),
        case(
            "steps past the limit",
            edit("steps = 100", "steps = 4000000000"),
            line("steps = 4000000000", "path.steps"),
            "more than the limit",
        ),
        case(
            "a crash to zero",
            edit("shock = -0.3", "shock = -1.0"),
            line("shock = -1.0", "path.shock"),
            "zero or below",
        ),
        case(
            "a crash below one tick",
            edit("shock = -0.3", "shock = -0.99999999"),
            line("shock = -0.99999999", "path.shock"),
            "below 50 ticks",
        ),
        case(
            "a shock after the run",
            edit("shock_start_step = 10", "shock_start_step = 100"),
            line("shock_start_step", "path.shock_start_step"),
            "never happen",
        ),
        case(
            "a series for an unknown market",
            crash_path("kind = \"series\"\nprices.btc = [100000.0]\nprices.eth = [4000.0]\n"),
            At::Key("path.prices.eth"),
            "no market `eth`",
        ),
        case(
            "an empty series",
            crash_path("kind = \"series\"\nprices.btc = []\n"),
            line("prices.btc", "path.prices.btc"),
            "empty",
        ),
        case(
            "a series price below one tick",
            crash_path("kind = \"series\"\nprices.btc = [100000.0, 0.3]\n"),
            line("prices.btc", "path.prices.btc[1]"),
            "below 50 ticks",
        ),
        case(
            "a GARCH that is not stationary",
            crash_path(
                "kind = \"garch\"\nsteps = 100\nvolatility = 0.6\nalpha = 0.2\nbeta = 0.8\ndof = 4.0\n",
            ),
            line("beta = 0.8", "path.beta"),
            "< 1",
        ),
        case(
            "a volatility past one per step",
            crash_path("kind = \"gbm\"\nsteps = 100\nvolatility = 5000.0\n"),
            At::Text("path.volatility"),
            "per 60 s step",
        ),
        case(
            "zero accounts",
            edit("accounts = 100", "accounts = 0"),
            line("accounts = 0", "population.accounts"),
            "at least 1",
        ),
        case(
            "accounts past the limit",
            edit("accounts = 100", "accounts = 4000000000"),
            line("accounts = 4000000000", "population.accounts"),
            "more than the limit",
        ),
        case(
            "a max notional past the integer range",
            edit("max_notional = 1000000.0", "max_notional = 1e13"),
            line("max_notional", "population.max_notional"),
            "5.765e11 USD",
        ),
        case(
            "a negative max notional",
            edit("max_notional = 1000000.0", "max_notional = -1.0"),
            line("max_notional", "population.max_notional"),
            "positive",
        ),
        case(
            "a long fraction above one",
            edit(
                "max_notional = 1000000.0",
                "max_notional = 1000000.0\nlong_fraction = 2.0",
            ),
            line("long_fraction", "population.long_fraction"),
            "between 0 and 1",
        ),
        case(
            "an entry dispersion of one",
            edit(
                "max_notional = 1000000.0",
                "max_notional = 1000000.0\nentry_dispersion = 1.5",
            ),
            line("entry_dispersion", "population.entry_dispersion"),
            "below 1",
        ),
        case(
            "a leverage below one",
            edit("median = 8.0", "median = 0.5"),
            line("median = 0.5", "population.leverage.median"),
            "at least 1",
        ),
        case(
            "a Pareto shape of zero",
            edit("shape = 1.3", "shape = 0.0"),
            line("shape = 0.0", "population.notional.shape"),
            "positive",
        ),
        case(
            "an unknown distribution",
            edit("distribution = \"pareto\"", "distribution = \"zipf\""),
            line("[population]", "population"),
            "unknown variant",
        ),
        case(
            "a lot that rounds every position to one lot",
            edit("lot_size = 0.001", "lot_size = 1.0")
                .replace("tick_size = 0.1", "tick_size = 0.01")
                .replace("accounts = 100", "accounts = 2000"),
            At::Key("population.notional"),
            "positions by more than 1%",
        ),
        case(
            "open interest past the integer range",
            with_population(
                "[population]\nkind = \"generated\"\naccounts = 20\n\
                 notional = { distribution = \"constant\", value = 5e11 }\n\
                 leverage = { distribution = \"constant\", value = 1.0 }\nmax_notional = 5e11\n",
            ),
            At::Key("population.max_notional"),
            "gross open interest",
        ),
        case(
            "an unknown venue",
            edit("seed = 7", "seed = 7\nvenue = \"ftx\""),
            line("venue =", "venue"),
            "unknown venue `ftx`",
        ),
        case(
            "a funding cap of 150%",
            edit(
                "lot_size = 0.001",
                "lot_size = 0.001\nfunding = { cap = 1.5 }",
            ),
            line("funding = { cap", "market.btc.funding.cap"),
            "below 100%",
        ),
        case(
            "a fee of 150%",
            edit("fee = 0.005", "fee = 1.5"),
            line("fee = 1.5", "liquidation.fee"),
            "between 0 and 1",
        ),
        case(
            "a latency that would wrap the due step",
            edit("latency_steps = 1", "latency_steps = 4294967295"),
            line("latency_steps", "liquidation.latency_steps"),
            "not shorter than the run",
        ),
        case(
            "a chunk cooldown longer than the run",
            edit(
                "mode = \"to_target\"",
                "mode = \"chunked\"\ncooldown_steps = 1000",
            ),
            line("cooldown_steps", "liquidation.cooldown_steps"),
            "not shorter than the run",
        ),
        case(
            "a chunk threshold past the integer range",
            edit(
                "latency_steps = 1",
                "latency_steps = 1\nchunk_full_below_usd = 1e13",
            ),
            line("chunk_full_below_usd", "liquidation.chunk_full_below_usd"),
            "5.765e11 USD",
        ),
        case(
            "an unknown liquidation mode",
            edit("mode = \"to_target\"", "mode = \"gentle\""),
            line("gentle", "liquidation.mode"),
            "unknown variant",
        ),
        case(
            "a fillable-price spread of zero",
            format!(
                "{}\n[liquidation.limit]\nspread_to_maintenance = 0.0\n",
                base()
            ),
            line(
                "spread_to_maintenance",
                "liquidation.limit.spread_to_maintenance",
            ),
            "must be positive",
        ),
        case(
            "a bankruptcy adjustment below one",
            format!(
                "{}\n[liquidation.limit]\nbankruptcy_adjustment = 0.5\n",
                base()
            ),
            line(
                "bankruptcy_adjustment",
                "liquidation.limit.bankruptcy_adjustment",
            ),
            "dYdX requires at least 1",
        ),
        case(
            "an insurance fund past the integer range",
            edit("initial = 1000000.0", "initial = 9e12"),
            line("initial = 9e12", "insurance_fund.initial"),
            "9e12 USD",
        ),
        case(
            "an insurance fund of 1e300",
            edit("initial = 1000000.0", "initial = 1e300"),
            line("initial = 1e300", "insurance_fund.initial"),
            "1e300 USD",
        ),
        case(
            "a negative fund floor",
            edit("initial = 1000000.0", "initial = 1000000.0\nfloor = -5.0"),
            line("floor = -5.0", "insurance_fund.floor"),
            "not be negative",
        ),
        case(
            "a breaker window longer than the run",
            format!(
                "{}\n[controls.breaker]\nenabled = true\nwindow_steps = 500\n",
                base()
            ),
            line("window_steps", "controls.breaker.window_steps"),
            "longer than the run",
        ),
        case(
            "an oracle of no sources",
            format!("{}\n[controls.oracle]\nsources = 0\n", base()),
            line("sources", "controls.oracle.sources"),
            "between 1 and 64",
        ),
        case(
            "a margin cap below one",
            format!("{}\n[controls.vol_margin]\ncap = 0.5\n", base()),
            line("cap", "controls.vol_margin.cap"),
            "at least 1",
        ),
        case(
            "a sweep of an unknown key",
            format!(
                "{}\n[[sweep.parameter]]\npath = \"liquidation.nope\"\nvalues = [0.1]\n",
                base()
            ),
            At::Key("sweep.parameter[0].key"),
            "nope",
        ),
        case(
            "a venue sweep of an unknown venue",
            format!("{}\n[sweep]\nvenue = [\"drift\", \"dydx\"]\n", base()),
            line("venue = [", "sweep.venue[1]"),
            "unknown venue `dydx`",
        ),
        case(
            "a sweep range past the set limit",
            format!(
                "{}\n[[sweep.parameter]]\npath = \"liquidation.fee\"\n\
                 range = {{ from = 0.0, to = 0.1, steps = 4000000000 }}\n",
                base()
            ),
            At::Key("sweep.parameter[0].range.steps"),
            "at most 1000000",
        ),
    ]
}

#[test]
fn bad_scenarios_are_refused_naming_file_line_and_key() {
    let cases = scenario_cases();
    assert!(cases.len() >= 50, "{} scenario cases", cases.len());
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|c| failure(|| check(c, &|_: &Path| {})))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_scenario_file_too_large_to_read_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("huge.toml");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(65 << 20).unwrap();
    drop(f);
    let o = backstop(tmp.path(), &[Path::new("validate"), &file]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!("error: {}: the file is", file.display())),
        "{err}"
    );
    assert!(err.contains("more than a scenario may be"), "{err}");
    assert_eq!(listing(tmp.path()), ["huge.toml"]);
}

// ---------------------------------------------------------- Parquet files

/// A positions file of `rows` written as `population.parquet` into a folder.
fn positions(rows: Vec<PositionRow>) -> impl Fn(&Path) {
    move |dir: &Path| write_positions(&dir.join("population.parquet"), &rows, &[]).unwrap()
}

fn row(account_id: u64, market: &str, size: f64, entry_price: f64, collateral: f64) -> PositionRow {
    PositionRow {
        account_id,
        market: market.to_owned(),
        size,
        entry_price,
        collateral,
        isolated: false,
    }
}

/// `bytes` written as `name` into a folder.
fn bytes(name: &'static str, bytes: Vec<u8>) -> impl Fn(&Path) {
    move |dir: &Path| std::fs::write(dir.join(name), &bytes).unwrap()
}

fn snapshot() -> String {
    with_population("[population]\nkind = \"parquet\"\nfile = \"population.parquet\"\n")
}

#[test]
fn bad_parquet_files_are_refused_naming_file_row_and_column() {
    let good = || row(1, "btc", 0.5, 100_000.0, 10_000.0);
    let parquet_cases: Vec<(Case, MakeFiles)> = vec![
        (
            case(
                "positions file missing",
                snapshot(),
                At::Text("population.parquet"),
                "No such file",
            ),
            Box::new(|_: &Path| {}),
        ),
        (
            case(
                "positions file not Parquet",
                snapshot(),
                At::Text("population.parquet"),
                "Parquet",
            ),
            Box::new(bytes(
                "population.parquet",
                b"account_id,market\n1,btc\n".to_vec(),
            )),
        ),
        (
            case(
                "positions file truncated",
                snapshot(),
                At::Text("population.parquet"),
                "population.parquet",
            ),
            Box::new(move |dir: &Path| {
                positions(vec![good()])(dir);
                let p = dir.join("population.parquet");
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() - 20]).unwrap();
            }),
        ),
        (
            case(
                "a prices file given as positions",
                snapshot(),
                At::Text("population.parquet"),
                "positions",
            ),
            Box::new(|dir: &Path| {
                std::fs::copy(
                    repo().join("data/history/ftx-2022.parquet"),
                    dir.join("population.parquet"),
                )
                .unwrap();
            }),
        ),
        (
            case(
                "positions with no rows",
                snapshot(),
                At::Text("no rows"),
                "zero accounts",
            ),
            Box::new(positions(vec![])),
        ),
        (
            case(
                "a position in an unknown market",
                snapshot(),
                At::Text("row 1: account 2"),
                "market `eth`",
            ),
            Box::new(positions(vec![good(), row(2, "eth", 1.0, 4_000.0, 500.0)])),
        ),
        (
            case(
                "a position below one lot",
                snapshot(),
                At::Text("row 1: account 2"),
                "smaller than one lot",
            ),
            Box::new(positions(vec![
                good(),
                row(2, "btc", 0.0001, 100_000.0, 500.0),
            ])),
        ),
        (
            case(
                "a size off the lot grid",
                snapshot(),
                At::Text("row 1, column `size`"),
                "more than 1%",
            ),
            Box::new(positions(vec![
                good(),
                row(2, "btc", 0.0015, 100_000.0, 500.0),
            ])),
        ),
        (
            case(
                "an entry price below one tick",
                snapshot(),
                At::Text("row 1, column `entry_price`"),
                "more than 1%",
            ),
            Box::new(positions(vec![good(), row(2, "btc", 0.5, 0.04, 500.0)])),
        ),
        (
            case(
                "a collateral past the integer range",
                snapshot(),
                At::Text("row 1, column `collateral`"),
                "5.765e11 USD",
            ),
            Box::new(positions(vec![good(), row(2, "btc", 0.5, 100_000.0, 1e13)])),
        ),
        (
            case(
                "two cross positions in one market",
                snapshot(),
                At::Text("row 1: account 1"),
                "two cross positions",
            ),
            Box::new(positions(vec![good(), good()])),
        ),
        (
            case(
                "a replay prices file that is not Parquet",
                edit(
                    LINEAR,
                    "kind = \"replay\"\nend = \"2025-01-01T01:00:00Z\"\n\
                     market.btc.prices = \"btc.parquet\"\n",
                )
                .replace("price = 100000.0\n", ""),
                At::Text("btc.parquet"),
                "Parquet",
            ),
            Box::new(bytes("btc.parquet", vec![0u8; 64])),
        ),
        (
            case(
                "a depth file that is not Parquet",
                edit(
                    "lot_size = 0.001",
                    "lot_size = 0.001\nimpact.model = \"book_depth\"\nimpact.file = \"depth.parquet\"",
                ),
                At::Text("market.btc.impact.file"),
                "depth.parquet",
            ),
            Box::new(bytes("depth.parquet", b"PAR1 garbage PAR1".to_vec())),
        ),
    ];
    assert!(parquet_cases.len() >= 10);
    let failed: Vec<String> = parquet_cases
        .iter()
        .filter_map(|(c, make)| failure(|| check(c, make.as_ref())))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

// -------------------------------------------------------- importer inputs

#[cfg(feature = "import")]
mod import {
    use super::*;

    /// Runs `backstop import` on `input` (written into a new folder) and checks
    /// the refusal: exit code 1, the input file named, `says` in the message,
    /// and nothing but the input left.
    #[track_caller]
    fn refused(name: &str, format: &str, file: &str, content: &[u8], says: &[&str]) {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join(file);
        std::fs::write(&input, content).unwrap();
        let out = tmp.path().join("out.parquet");
        let o = backstop(
            tmp.path(),
            &[
                Path::new("import"),
                "--format".as_ref(),
                format.as_ref(),
                &input,
                "--out".as_ref(),
                &out,
            ],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(err.contains(file), "{name}: the input is not named: {err}");
        for s in says {
            assert!(err.contains(s), "{name}: expected {s:?} in: {err}");
        }
        table_row(name, &err.replace(&tmp.path().display().to_string(), "."));
        assert_eq!(listing(tmp.path()), [file], "{name}: output left behind");
    }

    #[test]
    fn bad_importer_inputs_are_refused_naming_file_row_and_column() {
        refused(
            "empty file",
            "binance-trades",
            "BTCUSDT-trades.csv",
            b"",
            &["empty"],
        );
        refused(
            "missing column",
            "binance-trades",
            "BTCUSDT-trades.csv",
            b"id,price,qty,quote_qty,is_buyer_maker\n1,100,1,100,true\n",
            &["time"],
        );
        refused(
            "every row an impossible time",
            "binance-trades",
            "BTCUSDT-trades.csv",
            b"id,price,qty,quote_qty,time,is_buyer_maker\n1,100,1,100,100000000000000000,true\n",
            &["BTCUSDT-trades.csv:2: column `time`", "outside 2009-01-01"],
        );
        refused(
            "every row a bad price",
            "binance-trades",
            "BTCUSDT-trades.csv",
            b"id,price,qty,quote_qty,time,is_buyer_maker\n1,-5,1,100,1760131200000,true\n",
            &["BTCUSDT-trades.csv:2: column `price`"],
        );
        refused(
            "every funding row an impossible time",
            "binance-funding",
            "BTCUSDT-fundingRate.csv",
            b"calc_time,funding_interval_hours,last_funding_rate\n4000000000000000000,8,0.0001\n",
            &[
                "BTCUSDT-fundingRate.csv:2: column `calc_time`",
                "outside 2009-01-01",
            ],
        );
        refused(
            "a truncated gzip",
            "tardis-trades",
            "binance-futures_trades_2025-10-10_BTCUSDT.csv.gz",
            &[0x1f, 0x8b, 0x08, 0x00, 0x00],
            &[],
        );
        refused(
            "a zip that is not one",
            "binance-klines",
            "BTCUSDT-1m-2025-10-10.zip",
            b"PK\x03\x04 this is not a zip archive",
            &[],
        );
    }
}
