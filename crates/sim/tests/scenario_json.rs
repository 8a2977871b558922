//! Every example scenario survives the trip through JSON a sweep's shard
//! manifest makes (`backstop merge` re-hashes the scenario it reads back, and
//! refuses shards whose scenario changed on the way).

use std::path::{Path, PathBuf};

use backstop_sim::Scenario;
use backstop_sim::run::sweep::scenario_hash;

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Where two texts first differ, with some context.
fn first_difference(a: &str, b: &str) -> Option<String> {
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y)?;
    let from = a[..at].rfind(',').unwrap_or(0);
    let end = |t: &str| t[at..].find(',').map_or(t.len(), |e| at + e);
    Some(format!(
        "`{}` became `{}`",
        &a[from..end(a)],
        &b[from..end(b)]
    ))
}

#[test]
fn every_example_scenario_survives_a_trip_through_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files = Vec::new();
    scenario_files(&root, &mut files);
    assert!(files.len() > 20, "the examples were found: {}", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let Ok(s) = Scenario::load(file) else {
            continue; // some examples are refused on purpose (bad inputs)
        };
        let written = serde_json::to_string(&s).expect("serialize");
        let back: Scenario = serde_json::from_str(&written).expect("deserialize");
        let again = serde_json::to_string(&back).expect("serialize again");
        if let Some(d) = first_difference(&written, &again)
            .or_else(|| (written.len() != again.len()).then(|| "lengths differ".to_owned()))
        {
            failures.push(format!("{}: {d}", file.display()));
        }
        assert_eq!(
            scenario_hash(&s).expect("hash") == scenario_hash(&back).expect("hash"),
            written == again,
            "the hash is of the JSON text"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
