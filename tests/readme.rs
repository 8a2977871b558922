//! README.md stays true: its scenario reference against the defaults the program
//! fills in, its metric and column tables against what a run writes.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use backstop_testkit::repo_root as repo;

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

/// Rows (cells, trimmed) of the first Markdown table after the line `marker`,
/// without its header and separator.
fn table_after(text: &str, marker: &str) -> Vec<Vec<String>> {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has no `{marker}`"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The `backticked` words of a cell.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// Runs `scenario` (written to a temporary folder) and returns its summary.json.
fn summary_of(dir: &Path, file: &str, scenario: &str) -> Value {
    let path = dir.join(file);
    std::fs::write(&path, scenario).unwrap();
    let out = dir.join("out");
    let args: [&std::ffi::OsStr; 5] = [
        "run".as_ref(),
        path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ];
    let o = backstop_testkit::run_program(env!("CARGO_BIN_EXE_backstop"), dir, &args, &[]);
    backstop_testkit::assert_success(&o);
    let name = scenario
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .unwrap()
        .trim_end_matches('"');
    let text = std::fs::read_to_string(out.join(name).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Required keys only.
const MINIMAL: &str = r#"name = "minimal"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.01, mmr = 0.005 }]

[path]
kind = "linear"
steps = 30
shock_steps = 10
shock = -0.2

[population]
kind = "generated"
accounts = 50
notional = { distribution = "constant", value = 5000.0 }
leverage = { distribution = "uniform", min = 2.0, max = 20.0 }
max_notional = 100000.0
"#;

/// The other kinds of `[path]` and `[population]`.
const OTHER_KINDS: &str = r#"name = "other-kinds"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.01, mmr = 0.005 }]

[path]
kind = "series"
prices.btc = [100000.0, 95000.0, 90000.0]

[population]
kind = "parquet"
file = "out/minimal/population.parquet"

[vault]
capital = 1000000.0
"#;

/// Every key of `scenario` (a summary's echo) that the README table documents,
/// with its value; panics on a key it does not document.
fn documented_keys<'v>(
    value: &'v Value,
    key: &str,
    documented: &BTreeSet<String>,
    found: &mut Vec<(String, &'v Value)>,
) {
    // Market keys are written `market.<key>.…` in the README.
    let generic = match key.strip_prefix("market.") {
        Some(rest) => match rest.split_once('.') {
            Some((_, field)) => format!("market.<key>.{field}"),
            None => "market.<key>".to_string(),
        },
        None => key.replace("path.prices.btc", "path.prices.<key>"),
    };
    if documented.contains(&generic) {
        found.push((generic, value));
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let sub = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                documented_keys(v, &sub, documented, found);
            }
        }
        _ => panic!("README's scenario table lacks `{generic}`"),
    }
}

#[test]
fn scenario_reference_matches_the_defaults() {
    let text = readme();
    let rows = table_after(&text, "## Scenario files");
    let mut documented = BTreeSet::new();
    let mut defaults = Vec::new();
    // Keys without a default ("none"): a summary echoes them only when set.
    let mut optional = BTreeSet::new();
    for row in &rows {
        let key = code_spans(&row[0]);
        if row[0].starts_with("**") {
            continue; // a section heading: **`[market.<key>]`**
        }
        assert_eq!(key.len(), 1, "one key per row: {row:?}");
        let key = key[0].to_string();
        assert!(documented.insert(key.clone()), "`{key}` twice");
        match row[1].as_str() {
            "required" => {}
            "none" => {
                optional.insert(key.clone());
            }
            cell => {
                let literal = code_spans(cell);
                assert_eq!(literal.len(), 1, "default of `{key}`: {cell}");
                defaults.push((key, literal[0].to_string()));
            }
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let minimal = summary_of(tmp.path(), "minimal.toml", MINIMAL);
    let other = summary_of(tmp.path(), "other.toml", OTHER_KINDS);
    let mut seen = Vec::new();
    documented_keys(&minimal["scenario"], "", &documented, &mut seen);
    documented_keys(&other["scenario"], "", &documented, &mut seen);

    // Every default the README states is the one the program fills in.
    for (key, literal) in &defaults {
        let value = seen
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("`{key}` has a default but the summary lacks it"));
        let expected: Value = match literal.strip_prefix('"') {
            Some(s) => Value::String(s.trim_end_matches('"').to_string()),
            None if literal == "true" || literal == "false" => Value::Bool(literal == "true"),
            None => {
                let x: f64 = literal.replace('_', "").parse().unwrap();
                serde_json::json!(x)
            }
        };
        let same = match (value.as_f64(), expected.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => *value == expected,
        };
        assert!(
            same,
            "README: `{key}` defaults to {literal}; the program: {value}"
        );
    }
    // Every documented key is something a scenario can set.
    for key in &documented {
        assert!(
            optional.contains(key) || seen.iter().any(|(k, _)| k == key),
            "README documents `{key}`, which no summary echoes"
        );
    }
}

#[test]
fn result_tables_list_every_metric_and_aggregate() {
    let text = readme();
    let cells = |marker: &str| -> BTreeSet<String> {
        table_after(&text, marker)
            .iter()
            .flat_map(|row| {
                code_spans(&row[0])
                    .into_iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut columns: BTreeSet<String> = backstop_data::PATH_METRICS
        .iter()
        .map(|m| (*m).to_string())
        .collect();
    columns.extend(["param_set".to_string(), "path".to_string()]);
    assert_eq!(cells("**`paths.parquet`**"), columns);

    let tmp = tempfile::tempdir().unwrap();
    let summary = summary_of(tmp.path(), "minimal.toml", MINIMAL);
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(cells("**`summary.json`**"), keys(&summary["aggregates"]));
    // `metrics` summarises every column but the two keys; the first depletion
    // step only over the paths that depleted (none here).
    columns.remove("param_set");
    columns.remove("path");
    columns.remove("insurance_fund_first_depletion_step");
    columns.remove("vault_floor_step");
    assert_eq!(keys(&summary["aggregates"]["metrics"]), columns);
    assert_eq!(
        keys(&summary),
        [
            "aggregates",
            "backstop_version",
            "population",
            "run",
            "scenario"
        ]
        .map(String::from)
        .into()
    );
}

/// `(name, type as the README writes it)` of each field of a schema.
fn columns<'a>(fields: impl Iterator<Item = (&'a str, String, bool)>) -> Vec<(String, String)> {
    fields
        .map(|(name, ty, nullable)| {
            let ty = if ty.starts_with("Timestamp(Nanosecond") {
                "Timestamp(ns, UTC)".to_string()
            } else {
                ty
            };
            let ty = if nullable {
                format!("{ty}, nullable")
            } else {
                ty
            };
            (name.to_string(), ty)
        })
        .collect()
}

fn readme_columns(marker: &str) -> Vec<(String, String)> {
    table_after(&readme(), marker)
        .iter()
        .map(|row| (code_spans(&row[0])[0].to_string(), row[1].clone()))
        .collect()
}

#[test]
fn column_tables_match_the_schemas() {
    let steps = backstop_data::steps_schema();
    assert_eq!(
        readme_columns("**`steps.parquet`**"),
        columns(steps.fields().iter().map(|f| (
            f.name().as_str(),
            format!("{:?}", f.data_type()),
            f.is_nullable()
        )))
    );
    let positions = backstop_data::positions_schema();
    assert_eq!(
        readme_columns("**`population.parquet`**"),
        columns(positions.fields().iter().map(|f| (
            f.name().as_str(),
            format!("{:?}", f.data_type()),
            f.is_nullable()
        )))
    );
}

/// Every input file a README command names (`cargo run --release -- run FILE`,
/// `sweep FILE`, `liq-price FILE`, `validate FILE`, `calibrate FILE`) is in the
/// repository: a new user can type each line as printed. Placeholders in capitals
/// (`FILE`), shell variables and globs are not files; results folders
/// (`notebooks-out/...`) are what the lines before them write.
#[test]
fn every_file_a_readme_command_names_exists() {
    let text = readme();
    let mut named = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("cargo run --release -- ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let command = words.next().unwrap_or_default();
        if !["run", "sweep", "liq-price", "validate", "calibrate"].contains(&command) {
            continue;
        }
        let Some(file) = words.next() else { continue };
        let placeholder = file.contains(['$', '*', '{', '"']) || file == file.to_uppercase();
        if !placeholder {
            named.push(file.to_string());
        }
    }
    assert!(
        named.len() >= 10,
        "the README's command lines were not found: {named:?}"
    );
    let missing: Vec<&String> = named.iter().filter(|f| !repo().join(f).is_file()).collect();
    assert!(
        missing.is_empty(),
        "README commands name files the repository does not have: {missing:?}"
    );
}
