//! Test fixtures shared by backstop's tests (as nautilus_trader's `testkit`):
//! where the repository's example files are, one small valid scenario that
//! tests edit line by line, and running the real `backstop` binary.
//!
//! It depends on none of backstop's crates, so any of them can use it as a
//! dev-dependency without a circle. Its helpers panic with a message naming
//! what failed: they are for tests only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two folders below the root")
        .to_path_buf()
}

/// An example scenario: `scenarios/<name>.toml` (`name` may hold a subfolder,
/// `history/ftx-2022`).
pub fn example_scenario(name: &str) -> PathBuf {
    repo_root().join("scenarios").join(format!("{name}.toml"))
}

/// Every example scenario under `scenarios/` (subfolders included), sorted.
pub fn example_scenarios() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root().join("scenarios"), &mut out);
    out.sort();
    out
}

/// A small valid scenario (one BTC market with three margin tiers, a linear
/// −30% crash over 20 steps from step 10, 100 generated accounts, partial
/// liquidation with a fee of 0.5% and one step of latency), named `small`.
/// Tests of bad input change one line of it with [`edit`], so the line numbers
/// of their expected errors are the lines shown here.
pub const SMALL_SCENARIO: &str = r#"name = "small"
seed = 7

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [
  { notional_floor = 0, imr = 0.008, mmr = 0.004 },
  { notional_floor = 50000, imr = 0.01, mmr = 0.005 },
  { notional_floor = 250000, imr = 0.02, mmr = 0.01 },
]

[path]
kind = "linear"
steps = 100
shock_start_step = 10
shock_steps = 20
shock = -0.3

[population]
kind = "generated"
accounts = 100
notional = { distribution = "pareto", scale = 2000.0, shape = 1.3 }
leverage = { distribution = "lognormal", median = 8.0, sigma = 0.7 }
max_notional = 1000000.0

[liquidation]
mode = "to_target"
fee = 0.005
latency_steps = 1
"#;

/// A small scenario under a venue's rule book (one BTC market at 100,000 USD,
/// a linear −10% over 2 steps from step 2 in 10 steps, 10 generated accounts,
/// seed 7, everything else the rule book's): the base the rule-book tests lay
/// their keys over. A macro so that it stays a `&'static str` constant:
/// `const BASE: &str = venue_scenario!("rb", "hyperliquid");`.
#[macro_export]
macro_rules! venue_scenario {
    ($name:literal, $venue:literal) => {
        concat!(
            "name = \"",
            $name,
            "\"\nseed = 7\nvenue = \"",
            $venue,
            "\"\n",
            r#"
[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001

[path]
kind = "linear"
steps = 10
shock_start_step = 2
shock_steps = 2
shock = -0.1

[population]
kind = "generated"
accounts = 10
notional = { distribution = "pareto", scale = 2000.0, shape = 1.3 }
leverage = { distribution = "lognormal", median = 8.0, sigma = 0.7 }
max_notional = 1000000.0
"#
        )
    };
}

/// What a complete results folder of `backstop run` holds, sorted (the names
/// of `backstop_data::results::layout`).
pub const RUN_RESULT_FILES: [&str; 11] = [
    "adl_waves.parquet",
    "balances.parquet",
    "bands.parquet",
    "charts",
    "haircuts.parquet",
    "paths.parquet",
    "population.parquet",
    "report.html",
    "report.md",
    "steps.parquet",
    "summary.json",
];

/// `text` with `from` (which must occur exactly once) replaced by `to`.
#[track_caller]
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// `text` with its table `header` (`[population]`, up to the next table)
/// replaced by `table`.
#[track_caller]
pub fn with_table(text: &str, header: &str, table: &str) -> String {
    let needle = format!("\n{header}\n");
    let start = text
        .find(&needle)
        .unwrap_or_else(|| panic!("no {header} in the scenario"))
        + 1;
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |i| start + 1 + i + 1);
    format!("{}{table}\n{}", &text[..start], &text[end..])
}

/// Writes `text` to `dir/name` and returns the file's path.
#[track_caller]
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
    file
}

/// Runs the program `bin` (a test's `env!("CARGO_BIN_EXE_backstop")`) with
/// `args` in the folder `cwd`, with `env` added to its environment.
pub fn run_program<S: AsRef<std::ffi::OsStr>>(
    bin: &str,
    cwd: &Path,
    args: &[S],
    env: &[(&str, &str)],
) -> Output {
    Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"))
}

/// Runs `backstop run <scenario> --out <out> -q` (`bin`: a test's
/// `env!("CARGO_BIN_EXE_backstop")`) in the folder `cwd` and asserts it
/// succeeded; the results are in `<out>/<scenario name>/`.
#[track_caller]
pub fn run_scenario(bin: &str, cwd: &Path, scenario: &Path, out: &Path) {
    let o = run_program(
        bin,
        cwd,
        &[
            Path::new("run"),
            scenario,
            "--out".as_ref(),
            out,
            "-q".as_ref(),
        ],
        &[],
    );
    assert_success(&o);
}

/// The program's standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The program's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the program succeeded, showing its output if not.
#[track_caller]
pub fn assert_success(o: &Output) {
    assert!(
        o.status.success(),
        "the program failed ({})\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// Asserts the program failed with exit code 1 and a one-line `error: ` message
/// that contains every one of `needles` and no panic; returns the message.
#[track_caller]
pub fn assert_error(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "expected exit code 1:\n{err}");
    assert!(!err.contains("panicked"), "a panic:\n{err}");
    assert!(err.starts_with("error: "), "not an error message:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "expected `{needle}` in:\n{err}");
    }
    err
}

/// Names in a folder, sorted.
#[track_caller]
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("a readable folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// A JSON file, parsed.
#[track_caller]
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks that the report of the results folder `dir` can be shared as it is
/// (issue 13): `report.md` renders on a Discourse-style forum (no HTML tags
/// outside code, every image a relative `charts/NAME.png` link to a PNG beside
/// it) and no shared file (`report.md`, `report.html`, `summary.json`) holds
/// `local`, an absolute local path (the temporary folder of the test).
///
/// # Panics
/// When a check fails, naming the file and what is wrong.
pub fn assert_shareable_report(dir: &Path, local: &Path) {
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let mut in_fence = false;
    for (i, line) in md.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(k, _)| k % 2 == 0)
            .map(|(_, part)| part)
            .collect();
        let tag = prose.match_indices('<').any(|(k, _)| {
            !prose[..k].ends_with('\\')
                && prose[k + 1..]
                    .starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
        });
        assert!(!tag, "report.md line {}: an HTML tag: {line}", i + 1);
    }
    let mut images = 0;
    for (k, _) in md.match_indices("![") {
        let rest = &md[k..];
        let open = rest.find("](").expect("an image link") + 2;
        let close = rest[open..].find(')').expect("the link closes") + open;
        let link = &rest[open..close];
        assert!(
            link.starts_with("charts/") && link.ends_with(".png"),
            "report.md: image link {link} is not a relative charts/NAME.png"
        );
        let png = std::fs::read(dir.join(link)).unwrap_or_else(|e| panic!("{link}: {e}"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{link} is not a PNG");
        images += 1;
    }
    assert!(images > 0, "report.md shows no chart");
    let local = local.to_string_lossy();
    for file in ["report.md", "report.html", "summary.json"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(
            !text.contains(local.as_ref()),
            "{file} holds the absolute local path {local}"
        );
    }
}

/// The configuration of every fuzz test (`crates/*/tests/fuzz*.rs`): 10,000
/// cases a run unless `PROPTEST_CASES` says otherwise, and a failing case saved
/// beside the test's source file (`<file>.regressions`), which then runs first
/// on every later run.
#[must_use]
pub fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}

/// [`fuzz_config`] for one of `parts` tests that share a fuzz target's cases
/// (each over its own part of the inputs) so that they run in parallel: each
/// runs its share, rounded up, of the cases.
#[must_use]
pub fn fuzz_config_part(parts: u32) -> proptest::test_runner::Config {
    assert!(parts > 0, "a fuzz target in no part");
    let whole = fuzz_config();
    proptest::test_runner::Config {
        cases: whole.cases.div_ceil(parts),
        ..whole
    }
}

/// Whether an error message names `path` (in full or by its file name).
#[must_use]
pub fn names_file(message: &str, path: &Path) -> bool {
    message.contains(&path.display().to_string())
        || path
            .file_name()
            .is_some_and(|name| message.contains(&*name.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_root_holds_the_examples() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(example_scenario("linear-crash").is_file());
        let all = example_scenarios();
        assert!(all.iter().any(|p| p.ends_with("history/ftx-2022.toml")));
        assert!(all.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn edits_replace_exactly_one_line_or_table() {
        let s = edit(SMALL_SCENARIO, "accounts = 100", "accounts = 5");
        assert!(s.contains("accounts = 5\n") && !s.contains("accounts = 100"));
        assert_eq!(s.lines().count(), SMALL_SCENARIO.lines().count());
        let t = with_table(SMALL_SCENARIO, "[path]", "[path]\nkind = \"series\"");
        assert!(t.contains("[path]\nkind = \"series\"\n[population]"), "{t}");
        assert!(!t.contains("shock_steps"));
    }

    #[test]
    #[should_panic(expected = "must occur once")]
    fn an_edit_of_missing_text_fails_loudly() {
        edit(SMALL_SCENARIO, "no such line", "x");
    }
}
