//! Replays respect history (docs/model.md §4): by default the simulated
//! liquidations pay their slippage but do not move the recorded mark;
//! `impact.on_replay = "excess"` lets them, and the mark then goes below the
//! recorded low. Runs `scenarios/oct-2025-btc-replay.toml` on the bundled data.

use std::path::PathBuf;

use backstop_sim::config::market::ReplayImpact;
use backstop_sim::{PathOutput, Prepared, Scenario};

fn run(on_replay: ReplayImpact) -> PathOutput {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/oct-2025-btc-replay.toml");
    let mut scenario = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    for m in scenario.market.values_mut() {
        m.impact.on_replay = on_replay;
    }
    let prepared = Prepared::new(scenario, file.parent().unwrap()).unwrap();
    prepared.run_path(0).unwrap()
}

fn low(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

#[test]
fn the_recorded_mark_stays_unless_the_scenario_asks_for_excess() {
    let kept = run(ReplayImpact::None);
    let s = &kept.steps;
    // The mark is the recorded price on the tick grid, at every step.
    for (i, (&mark, &recorded)) in s.mark.iter().zip(&s.path_price).enumerate() {
        assert!(
            (mark - (recorded / 0.1).round() * 0.1).abs() < 1e-6,
            "step {i}: mark {mark} vs recorded {recorded}"
        );
    }
    // Liquidations still happen, at the mark ∓ their slippage.
    assert!(kept.metrics.liquidation_orders > 0);
    assert!(kept.metrics.liquidated_notional > 0.0);

    let excess = run(ReplayImpact::Excess);
    let e = &excess.steps;
    assert!(
        low(&e.mark) < low(&e.path_price) - 100.0,
        "excess impact goes below the recorded low: {} vs {}",
        low(&e.mark),
        low(&e.path_price)
    );
    assert!(
        e.mark
            .iter()
            .zip(&e.path_price)
            .any(|(m, r)| (m - r).abs() > 1.0),
        "excess moves the mark off the record"
    );
}
