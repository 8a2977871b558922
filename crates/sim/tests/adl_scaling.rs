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

/// The candidate evaluations of the Binance-ranked crash grow no faster than
/// c·log c from 10,000 to 100,000 accounts (re-collecting and re-sorting per
/// bankrupt position grew as c², about 100-fold here).
#[test]
fn adl_work_grows_no_faster_than_c_log_c() {
    let work = |n: u32| {
        let engine = run(&prepared(n, "queue", "binance"), 240);
        let events = engine.totals().adl_events;
        assert!(
            events > 100,
            "{n} accounts: the crash reaches ADL ({events} events)"
        );
        let evaluations = engine.adl_candidate_evaluations();
        eprintln!("{n} accounts: {events} ADL events, {evaluations} candidate evaluations");
        evaluations as f64
    };
    let (small, large) = (work(10_000), work(100_000));
    let c_log_c = |n: f64| n * n.ln();
    let bound = c_log_c(100_000.0) / c_log_c(10_000.0);
    assert!(
        large / small <= bound,
        "evaluations grew {:.1}-fold ({small} → {large}), more than c·log c ({bound:.1})",
        large / small
    );
}

/// The candidate evaluations of the dYdX walk grow no faster than c·log c
/// from 10,000 to 100,000 accounts: the walk starts at a random open position
/// of the side (found in O(log c) in the open-position tree) and stops at the
/// last lot it needs, instead of evaluating every candidate of the side for
/// each bankrupt position (which grew as c²).
#[test]
fn dydx_walk_work_grows_no_faster_than_c_log_c() {
    let work = |n: u32| {
        let engine = run(&prepared(n, "queue", "dydx"), 240);
        let events = engine.totals().adl_events;
        assert!(
            events > 100,
            "{n} accounts: the crash reaches ADL ({events} events)"
        );
        let evaluations = engine.adl_candidate_evaluations();
        eprintln!(
            "dYdX walk, {n} accounts: {events} ADL events, {evaluations} candidate evaluations"
        );
        evaluations as f64
    };
    let (small, large) = (work(10_000), work(100_000));
    let c_log_c = |n: f64| n * n.ln();
    let bound = c_log_c(100_000.0) / c_log_c(10_000.0);
    assert!(
        large / small <= bound,
        "evaluations grew {:.1}-fold ({small} → {large}), more than c·log c ({bound:.1})",
        large / small
    );
}

/// The candidate evaluations of `min_max_leverage` grow no faster than c·log c
/// from 10,000 to 100,000 accounts: each close reads candidates from the top
/// of the side's leverage index (kept through the step) only until the lots
/// it takes are settled, instead of evaluating every candidate for 100
/// bisection rounds (which grew as c²).
#[test]
fn min_max_leverage_work_grows_no_faster_than_c_log_c() {
    let work = |n: u32| {
        let engine = run(&prepared(n, "min_max_leverage", "binance"), 240);
        let events = engine.totals().adl_events;
        assert!(
            events > 100,
            "{n} accounts: the crash reaches ADL ({events} events)"
        );
        let evaluations = engine.adl_candidate_evaluations();
        eprintln!(
            "min_max_leverage, {n} accounts: {events} ADL events, {evaluations} candidate evaluations"
        );
        evaluations as f64
    };
    let (small, large) = (work(10_000), work(100_000));
    let c_log_c = |n: f64| n * n.ln();
    let bound = c_log_c(100_000.0) / c_log_c(10_000.0);
    assert!(
        large / small <= bound,
        "evaluations grew {:.1}-fold ({small} → {large}), more than c·log c ({bound:.1})",
        large / small
    );
}
