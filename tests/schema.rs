//! `backstop schema`: the JSON Schema generated from the parser's types accepts
//! every example scenario, rejects what the parser rejects (unknown keys, wrong
//! types and enumerations), and lists every key the README's scenario table
//! documents, with the README's default.

use std::path::{Path, PathBuf};

use serde_json::Value;

use backstop_testkit::{SMALL_SCENARIO, assert_success, edit, repo_root as repo, run_program};

/// The schema as `backstop schema` prints it.
fn printed_schema() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = run_program(env!("CARGO_BIN_EXE_backstop"), dir.path(), &["schema"], &[]);
    assert_success(&out);
    serde_json::from_slice(&out.stdout).expect("`backstop schema` prints JSON")
}

mod json_schema;

fn validator(schema: &Value) -> json_schema::Validator<'_> {
    json_schema::Validator::new(schema)
}

/// A scenario file's TOML as a JSON value.
fn toml_as_json(text: &str, what: &str) -> Value {
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    serde_json::to_value(table).unwrap()
}

/// Every message of `validator` on `instance`, one per line.
fn errors(validator: &json_schema::Validator, instance: &Value) -> Vec<String> {
    validator.errors(instance)
}

fn example_files() -> Vec<PathBuf> {
    let mut files = backstop_testkit::example_scenarios();
    for entry in std::fs::read_dir(repo().join("benches")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_example_scenario_validates() {
    let schema = printed_schema();
    let v = validator(&schema);
    let files = example_files();
    assert!(files.len() >= 20, "examples found: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let instance = toml_as_json(&text, &file.display().to_string());
        for e in errors(&v, &instance) {
            failures.push(format!("{}: {e}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let schema = printed_schema();
    let v = validator(&schema);
    assert!(errors(&v, &toml_as_json(SMALL_SCENARIO, "small")).is_empty());
    for (from, to, needle) in [
        ("seed = 7", "seed = 7\nsed = 1", "sed"),
        ("seed = 7", "seed = \"seven\"", "seven"),
        ("seed = 7", "seed = -7", "-7"),
        ("mode = \"to_target\"", "mode = \"to_targte\"", "to_targte"),
        ("kind = \"linear\"", "kind = \"lienar\"", "lienar"),
        ("fee = 0.005", "fee = 1.5", "1.5"),
    ] {
        let text = edit(SMALL_SCENARIO, from, to);
        let found = errors(&v, &toml_as_json(&text, to));
        assert!(
            found.iter().any(|e| e.contains(needle)),
            "`{to}`: expected an error mentioning `{needle}`, got {found:?}"
        );
    }
    // `venue`: a rule book's name, which then gives the markets' tiers.
    let tiers = SMALL_SCENARIO
        .lines()
        .skip_while(|l| !l.starts_with("tiers"))
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let no_tiers = edit(SMALL_SCENARIO, &tiers, "");
    let found = errors(&v, &toml_as_json(&no_tiers, "no tiers"));
    assert!(
        found.iter().any(|e| e.contains("required key `tiers`")),
        "{found:?}"
    );
    let with_venue = edit(&no_tiers, "seed = 7", "seed = 7\nvenue = \"bitmex\"");
    assert_eq!(
        errors(&v, &toml_as_json(&with_venue, "venue")),
        Vec::<String>::new()
    );
    let bad_venue = edit(&with_venue, "\"bitmex\"", "\"bitmax\"");
    let found = errors(&v, &toml_as_json(&bad_venue, "bad venue"));
    assert!(found.iter().any(|e| e.contains("bitmax")), "{found:?}");
}

/// The test's own validator (tests/json_schema) finds what a draft-07
/// validator finds, on small schemas of the shapes schemars emits.
#[test]
fn the_validator_finds_each_kind_of_error() {
    let schema = serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["n"],
        "properties": {
            "n": { "type": "integer", "format": "uint32", "minimum": 0 },
            "x": { "type": ["number", "null"], "maximum": 1.0, "default": 0.5 },
            "list": { "type": "array", "items": { "$ref": "#/definitions/Tag" } },
            "kind": { "oneOf": [
                { "type": "object", "properties": { "kind": { "const": "a" } }, "required": ["kind"] },
                { "type": "object", "properties": { "kind": { "const": "b" } }, "required": ["kind"] }
            ] }
        },
        "definitions": { "Tag": { "type": "string", "enum": ["p", "q"] } }
    });
    let v = validator(&schema);
    let ok = serde_json::json!({ "n": 3, "x": null, "list": ["p", "q"], "kind": { "kind": "b" } });
    assert_eq!(errors(&v, &ok), Vec::<String>::new());
    for (instance, needle) in [
        (serde_json::json!({}), "required key `n`"),
        (serde_json::json!({ "n": 1, "m": 2 }), "additional key `m`"),
        (
            serde_json::json!({ "n": "1" }),
            "/n: \"1\" is not of type integer",
        ),
        (
            serde_json::json!({ "n": -1 }),
            "/n: -1 is less than the minimum",
        ),
        (
            serde_json::json!({ "n": 5_000_000_000_u64 }),
            "outside the uint32 range",
        ),
        (
            serde_json::json!({ "n": 1, "x": 1.5 }),
            "/x: 1.5 is greater than the maximum",
        ),
        (
            serde_json::json!({ "n": 1, "list": ["p", "r"] }),
            "/list/1: \"r\" is not one of",
        ),
        (
            serde_json::json!({ "n": 1, "kind": { "kind": "c" } }),
            "none of oneOf",
        ),
    ] {
        let found = errors(&v, &instance);
        assert!(
            found.iter().any(|e| e.contains(needle)),
            "{instance}: expected `{needle}`, got {found:?}"
        );
    }
}

/// Follows `$ref`s to the schema they name.
fn resolve<'s>(root: &'s Value, mut s: &'s Value) -> &'s Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        s = &root["definitions"][name];
    }
    s
}

/// The schemas of `segment` below `s`: a named property, or the values of a
/// map (`<key>`, `<name>`), in any branch of a `oneOf`/`anyOf`/`allOf` and in
/// the items of an array.
fn children<'s>(root: &'s Value, s: &'s Value, segment: &str) -> Vec<&'s Value> {
    let s = resolve(root, s);
    let mut out = Vec::new();
    if segment.starts_with('<') {
        if let Some(extra) = s.get("additionalProperties").filter(|v| v.is_object()) {
            out.push(extra);
        }
    } else if let Some(p) = s.get("properties").and_then(|p| p.get(segment)) {
        out.push(p);
    }
    for branch in ["oneOf", "anyOf", "allOf"] {
        for b in s
            .get(branch)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(children(root, b, segment));
        }
    }
    if let Some(items) = s.get("items") {
        out.extend(children(root, items, segment));
    }
    out
}

/// The schemas a README key (`market.<key>.impact.model`) names.
fn lookup<'s>(root: &'s Value, key: &str) -> Vec<&'s Value> {
    let mut at = vec![root];
    for segment in key.split('.') {
        at = at.iter().flat_map(|s| children(root, s, segment)).collect();
    }
    at
}

/// Whether the schema describes the key: its own description, or for a
/// variant's tag (`path.kind = "linear"`, a `const`) the variant's, or for the
/// values of a map (`path.prices.<key>`) the map's.
fn described(root: &Value, key: &str) -> bool {
    let has =
        |s: &Value| s.get("description").is_some() || resolve(root, s).get("description").is_some();
    if lookup(root, key).iter().any(|s| has(s)) {
        return true;
    }
    let Some((parent, last)) = key.rsplit_once('.') else {
        return false;
    };
    let parents = lookup(root, parent);
    if last.starts_with('<') {
        return parents.iter().any(|s| has(s));
    }
    // A tag: some branch of the parent holds it as a `const` and is described.
    fn tagged<'s>(root: &'s Value, s: &'s Value, tag: &str, out: &mut bool) {
        let s = resolve(root, s);
        let holds = s
            .get("properties")
            .and_then(|p| p.get(tag))
            .is_some_and(|t| t.get("const").is_some() || t.get("enum").is_some());
        if holds && s.get("description").is_some() {
            *out = true;
        }
        for branch in ["oneOf", "anyOf", "allOf"] {
            for b in s
                .get(branch)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                tagged(root, b, tag, out);
            }
        }
    }
    let mut out = false;
    for p in parents {
        tagged(root, p, last, &mut out);
    }
    out
}

/// The `default` of any of `schemas`, as TOML would write it.
fn defaults(root: &Value, schemas: &[&Value]) -> Vec<String> {
    schemas
        .iter()
        .filter_map(|s| s.get("default").or_else(|| resolve(root, s).get("default")))
        .map(|d| match d {
            Value::Number(n) if n.is_f64() => {
                let x = n.as_f64().unwrap();
                if x.fract() == 0.0 {
                    format!("{x:.1}")
                } else {
                    format!("{x}")
                }
            }
            other => other.to_string(),
        })
        .collect()
}

/// `(key, default)` of each row of the README's scenario table; bold table rows
/// (`**[controls.collateral.asset.<name>]**`) give their keys in the text.
fn readme_keys() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = text
        .find("## Scenario files")
        .expect("README: ## Scenario files");
    let mut out = Vec::new();
    for line in text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
    {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let key = cells[0].trim_matches('*').trim_matches('`');
        if let Some(table) = key.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
            out.push((table.to_string(), String::new()));
            continue;
        }
        out.push((key.to_string(), cells[1].trim_matches('`').to_string()));
    }
    out
}

#[test]
fn the_schema_lists_every_key_the_readme_documents() {
    let root = printed_schema();
    let keys = readme_keys();
    assert!(keys.len() > 60, "README keys found: {}", keys.len());
    let mut problems = Vec::new();
    for (key, default) in &keys {
        let found = lookup(&root, key);
        if found.is_empty() {
            problems.push(format!("`{key}`: not in the schema"));
            continue;
        }
        if !described(&root, key) {
            problems.push(format!("`{key}`: no description"));
        }
        if default.is_empty() || default == "required" {
            continue;
        }
        let stated = defaults(&root, &found);
        if default == "none" {
            // Optional without a default: the schema states none either.
            if stated.iter().any(|d| d != "null") {
                problems.push(format!("`{key}`: README default none, schema {stated:?}"));
            }
            continue;
        }
        if !stated.iter().any(|d| d == default) {
            problems.push(format!(
                "`{key}`: README default {default}, schema {stated:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The committed copy editors point at is the one the program prints.
#[test]
fn the_committed_schema_is_current() {
    let path: &Path = &repo().join("docs/scenario.schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let printed = serde_json::to_string_pretty(&printed_schema()).unwrap() + "\n";
    assert!(
        committed == printed,
        "{} is stale: run `backstop schema > docs/scenario.schema.json`",
        path.display()
    );
}
