//! ADL at venue scale (issue 14, docs/performance.md): the work of an ADL wave
//! grows with its candidates, not with candidates × bankrupt positions, and the
//! queue kept through a step allocates exactly as a fresh collection and full
//! sort of the candidates would.
//!
//! The populations are generated with a fixed seed from `benches/adl-crash.toml`
//! (a linear −30% crash into ADL with a 1 USD insurance fund).

use std::path::Path;

use backstop_sim::paths::{PathCursor as _, PathScratch, StepInput};
use backstop_sim::{Engine, Prepared, Scenario};

const SCENARIO: &str = include_str!("../../../benches/adl-crash.toml");

/// The ADL crash with `accounts` accounts and the given `adl` / `ranking` lines.
fn prepared(accounts: u32, adl: &str, ranking: &str) -> Prepared {
    let toml = SCENARIO
        .replace("accounts = 100000", &format!("accounts = {accounts}"))
        .replace("adl = \"queue\"", &format!("adl = \"{adl}\""))
        .replace("ranking = \"binance\"", &format!("ranking = \"{ranking}\""));
    let scenario = Scenario::from_toml_str(&toml, Path::new("adl-crash.toml")).unwrap();
    Prepared::new(scenario, Path::new(".")).unwrap()
}

/// Runs the path to its end (or `steps` steps) and returns the engine.
fn run(p: &Prepared, steps: usize) -> Engine {
    let mut engine = p.engine(0).unwrap();
    let mut scratch = PathScratch::default();
    let mut cursor = p.plan().cursor(0, 0, 60, &mut scratch).unwrap();
    let mut input = StepInput::new(engine.markets().len());
    let mut t = 0;
    while t < steps && cursor.advance(&mut input).unwrap() {
        engine.step(&input.prices).expect("a step within range");
        t += 1;
    }
    engine
}

/// Every policy on a market small enough for the debug builds' cross-check
/// (`check_adl_against_full_sort`, run at every ADL): the queue's allocation is
/// the full sort's. The crash must actually reach ADL for this to test anything.
#[test]
fn every_policy_allocates_from_the_queue_as_from_a_full_sort() {
    for (adl, ranking) in [
        ("queue", "binance"),
        ("queue", "bitmex"),
        ("queue", "hyperliquid"),
        ("queue", "dydx"),
        ("pro_rata", "binance"),
        ("min_max_leverage", "binance"),
    ] {
        let p = prepared(3_000, adl, ranking);
        let engine = run(&p, 240);
        assert!(
            engine.totals().adl_events > 10,
            "{adl}/{ranking}: the crash reaches ADL ({} events)",
            engine.totals().adl_events
        );
        engine.check_invariants().unwrap();
    }
}

/// Asserts that the candidate evaluations of the crash under `adl` / `ranking`
/// grow no faster than c·log c from 10,000 to 100,000 accounts (an allocation
/// that evaluates every candidate of the side for each bankrupt position grows
/// as c², about 100-fold here). The crash must reach ADL at both sizes.
fn assert_work_grows_no_faster_than_c_log_c(adl: &str, ranking: &str) {
    let work = |n: u32| {
        let engine = run(&prepared(n, adl, ranking), 240);
        let events = engine.totals().adl_events;
        assert!(
            events > 100,
            "{adl}/{ranking}, {n} accounts: the crash reaches ADL ({events} events)"
        );
        let evaluations = engine.adl_candidate_evaluations();
        eprintln!(
            "{adl}/{ranking}, {n} accounts: {events} ADL events, {evaluations} candidate evaluations"
        );
        evaluations as f64
    };
    let (small, large) = (work(10_000), work(100_000));
    let c_log_c = |n: f64| n * n.ln();
    let bound = c_log_c(100_000.0) / c_log_c(10_000.0);
    assert!(
        large / small <= bound,
        "{adl}/{ranking}: evaluations grew {:.1}-fold ({small} → {large}), more than c·log c ({bound:.1})",
        large / small
    );
}

/// The Binance-ranked queue: kept through the step rather than re-collected and
/// re-sorted per bankrupt position.
#[test]
fn adl_work_grows_no_faster_than_c_log_c() {
    assert_work_grows_no_faster_than_c_log_c("queue", "binance");
}

/// The dYdX walk: it starts at a random open position of the side (found in
/// O(log c) in the open-position tree) and stops at the last lot it needs.
#[test]
fn dydx_walk_work_grows_no_faster_than_c_log_c() {
    assert_work_grows_no_faster_than_c_log_c("queue", "dydx");
}

/// `pro_rata`: the side's index (`engine/adl_pro_rata.rs`) gives Σ lots at the
/// bankruptcy price in O(log c) and the fills by a walk of the largest
/// positions that stops once the lots are handed out.
#[test]
fn pro_rata_work_grows_no_faster_than_c_log_c() {
    assert_work_grows_no_faster_than_c_log_c("pro_rata", "binance");
}

/// `min_max_leverage`: each close reads candidates from the top of the side's
/// leverage index (kept through the step) only until the lots it takes are
/// settled, instead of evaluating every candidate for 100 bisection rounds.
#[test]
fn min_max_leverage_work_grows_no_faster_than_c_log_c() {
    assert_work_grows_no_faster_than_c_log_c("min_max_leverage", "binance");
}
