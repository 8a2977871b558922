//! Uncertainty in the population (docs/model.md §5a, §7): a deterministic path
//! with a fixed population is one outcome, and more paths of it are refused
//! with the fix; `population.resample = "per_path"` draws a book per path,
//! deterministically for any number of threads, path 0 being the fixed book.

use std::path::PathBuf;

use backstop_sim::config::population::{PopulationConfig, Resample};
use backstop_sim::{InputError, Prepared, Scenario, SimError};

fn scenario(name: &str) -> (Scenario, PathBuf) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let s = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    (s, file.parent().unwrap().to_path_buf())
}

fn per_path(mut s: Scenario) -> Scenario {
    if let PopulationConfig::Generated { resample, .. } = &mut s.population {
        *resample = Resample::PerPath;
    }
    s
}

fn small(mut s: Scenario) -> Scenario {
    if let PopulationConfig::Generated { accounts, .. } = &mut s.population {
        *accounts = 400;
    }
    s
}

#[test]
fn identical_paths_are_one_outcome_and_more_are_refused_with_the_fix() {
    for name in [
        "linear-crash.toml",
        "oct-2025-btc-replay.toml",
        "overlay-oct-2025-1.5x.toml",
    ] {
        let (s, dir) = scenario(name);
        let mut p = Prepared::new(small(s), &dir).unwrap();
        assert!(p.paths_identical(), "{name}");
        let err = p.set_paths(10).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                SimError::Input(InputError::IdenticalPaths { paths: 10, .. })
            ),
            "{name}: {text}"
        );
        assert!(
            text.contains(r#"population.resample = "per_path""#),
            "{text}"
        );
        assert!(p.set_paths(1).is_ok());
    }
    // A random model is not one outcome.
    let (s, dir) = scenario("mc-garch-baseline.toml");
    let mut p = Prepared::new(small(s), &dir).unwrap();
    assert!(!p.paths_identical());
    assert!(p.set_paths(3).is_ok());
}

#[test]
fn per_path_books_give_a_distribution_deterministic_for_any_threads() {
    let (s, dir) = scenario("linear-crash.toml");
    let fixed = Prepared::new(small(s.clone()), &dir).unwrap();
    let mut p = Prepared::new(per_path(small(s)), &dir).unwrap();
    assert!(!p.paths_identical());
    p.set_paths(6).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| p.run(&|_| {}))
            .unwrap()
    };
    let one = run(1);
    let three = run(3);
    assert_eq!(one.paths, three.paths, "threads change per-path books");
    assert_eq!(one.paths.len(), 6);
    // Path 0 draws the fixed book.
    assert_eq!(one.paths[0], fixed.run_metrics(0).unwrap());
    // The books differ, so the outcomes do.
    let mut notional: Vec<u64> = one
        .paths
        .iter()
        .map(|m| m.liquidated_notional.to_bits())
        .collect();
    notional.sort_unstable();
    notional.dedup();
    assert_eq!(notional.len(), 6, "paths repeat: {:?}", one.paths);
}

#[test]
fn a_replay_with_per_path_books_runs_several_paths() {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/oct-2025-btc-replay.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    // As written, more paths of a replay are refused (one outcome) ...
    let many = text.replacen("seed = 2025\n", "seed = 2025\npaths = 3\n", 1);
    let err = Scenario::from_toml_str(&many, &file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"population.resample = \"per_path\""#) || err.contains("per_path"),
        "{err}"
    );
    // ... and allowed once books are drawn per path.
    let per_path = many
        .replacen(
            "[population]\n",
            "[population]\nresample = \"per_path\"\n",
            1,
        )
        .replacen("accounts = 10000", "accounts = 400", 1);
    let s = Scenario::from_toml_str(&per_path, &file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.paths, 3);
    let p = Prepared::new(s, file.parent().unwrap()).unwrap();
    let out = p.run(&|_| {}).unwrap();
    assert_eq!(out.paths.len(), 3);
    assert_ne!(
        out.paths[0].liquidated_notional,
        out.paths[1].liquidated_notional
    );
}
