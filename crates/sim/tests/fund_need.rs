//! The uncensored fund need (docs/model.md §7c) against sweeps over the fund's
//! size: on every path of a run with a fund that cannot run out, the need `N`
//! (and `M`, the need at a step's end) predicts exactly whether a fund of size
//! `F` (floor `f`) depletes on that path:
//!
//! `depleted(F) ⇔ N > F − f ∨ (F > f ∧ M = F − f)`.
//!
//! The sweep runs the real scenario once per fund size, with the fund sizes both
//! on a fine grid and at `f + N − 1 µUSD`, `f + N`, `f + N + 1 µUSD` of every path
//! (the edges, where a rounding or an off-by-one would show).

use std::path::{Path, PathBuf};

use backstop_sim::{PathMetrics, Prepared, Scenario};

/// A fund no path can exhaust (USD).
const UNLIMITED: f64 = 1e11;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// The scenario `name`, its text edited by `(from, to)` replacements, with
/// `floor` as the fund's floor.
fn prepared(name: &str, edits: &[(&str, &str)], floor: f64) -> Prepared {
    let file = scenarios_dir().join(format!("{name}.toml"));
    let mut text = std::fs::read_to_string(&file).expect("a scenario of the repository");
    for (from, to) in edits {
        assert!(text.contains(from), "{name}: `{from}` not in the scenario");
        text = text.replace(from, to);
    }
    let mut scenario = Scenario::from_toml_str(&text, &file).expect("a valid scenario");
    scenario.insurance_fund.floor = floor;
    Prepared::new(scenario, &scenarios_dir()).expect("a scenario that prepares")
}

fn micros(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

/// Runs every path with the fund at `fund_micros` (µUSD).
fn run_with_fund(p: &mut Prepared, fund_micros: i64) -> Vec<PathMetrics> {
    p.scenario.insurance_fund.initial = fund_micros as f64 / 1e6;
    (0..u64::from(p.scenario.paths))
        .map(|i| p.run_metrics(i).expect("the path runs"))
        .collect()
}

/// Checks the equivalence on `p`; returns (depleted, not depleted) cases seen.
fn check_equivalence(name: &str, p: &mut Prepared, grid: usize) -> (usize, usize) {
    let floor = micros(p.scenario.insurance_fund.floor);
    let unlimited = run_with_fund(p, micros(UNLIMITED));
    let needs: Vec<(i64, i64)> = unlimited
        .iter()
        .map(|m| {
            assert_eq!(
                m.insurance_fund_need_censored, 0,
                "{name}: unlimited fund depleted"
            );
            assert!(m.insurance_fund_need_at_step_end <= m.insurance_fund_need);
            assert!(m.insurance_fund_need_bad_debt >= m.insurance_fund_need);
            (
                micros(m.insurance_fund_need),
                micros(m.insurance_fund_need_at_step_end),
            )
        })
        .collect();
    let top = needs.iter().map(|n| n.0).max().unwrap_or(0);
    assert!(
        top > 0,
        "{name}: no path draws on the fund; the test would be empty"
    );
    let mut funds: Vec<i64> = (0..=grid)
        .map(|k| floor + (top as i128 * 12 * k as i128 / (10 * grid as i128)) as i64)
        .collect();
    for &(n, _) in &needs {
        if n > 0 {
            funds.extend([floor + n - 1, floor + n, floor + n + 1]);
        }
    }
    funds.retain(|&f| f > floor);
    funds.sort_unstable();
    funds.dedup();
    let (mut yes, mut no) = (0, 0);
    for &f in &funds {
        for (m, &(n, at_end)) in run_with_fund(p, f).iter().zip(&needs) {
            let depleted = m.insurance_fund_first_depletion_step.is_some();
            let predicted = n > f - floor || at_end == f - floor;
            assert_eq!(
                depleted, predicted,
                "{name} path {}: fund {f} µUSD (floor {floor}): need {n}, at step end {at_end}",
                m.path
            );
            if depleted {
                yes += 1;
                // Before depletion the run is the unlimited fund's run.
                assert!(m.insurance_fund_need_censored == 1);
            } else {
                no += 1;
                assert_eq!(
                    micros(m.insurance_fund_need),
                    n,
                    "{name}: exact when not depleted"
                );
            }
        }
    }
    (yes, no)
}

/// ADL with `scope = "position"` (Hyperliquid's queue): depletion is a deficit
/// exceeding what the fund has, before the fund pays anything.
#[test]
fn need_predicts_depletion_under_adl() {
    let mut p = prepared("flash-crash-adl", &[], 0.0);
    let (yes, no) = check_equivalence("flash-crash-adl", &mut p, 24);
    assert!(yes > 0 && no > 0, "depleted {yes}, not {no}");
}

/// Socialized loss after the fund, with a floor the fund does not pay below.
#[test]
fn need_predicts_depletion_under_socialize_with_a_floor() {
    let mut p = prepared("short-squeeze-socialize", &[], 2_500.0);
    let (yes, no) = check_equivalence("short-squeeze-socialize", &mut p, 16);
    assert!(yes > 0 && no > 0, "depleted {yes}, not {no}");
}

/// Monte Carlo: several paths of the bridge crash, a smaller, more levered book, a small liquidation fee (fees
/// flowing into the fund between the deficits, not ahead of them all), a floor.
#[test]
fn need_predicts_depletion_on_monte_carlo_paths() {
    let mut p = prepared(
        "bridge-crash-35pct",
        &[
            ("paths = 500", "paths = 5"),
            ("accounts = 10000", "accounts = 2000"),
            ("steps = 1440", "steps = 420"),
            ("median = 8.0", "median = 12.0"),
            ("fee = 0.005", "fee = 0.0002"),
        ],
        1_000.0,
    );
    let (yes, no) = check_equivalence("bridge-crash-35pct", &mut p, 12);
    assert!(yes > 0 && no > 0, "depleted {yes}, not {no}");
}
