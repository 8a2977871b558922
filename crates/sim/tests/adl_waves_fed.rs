//! The ADL waves a run records (docs/model.md §6, "ADL waves") agree with the
//! path's ADL totals, which the engine counts apart from the take record: per
//! path, Σ taken over the waves is the ADL notional, Σ needed is the ADL
//! notional less its excess, the winners touched in a wave are among the
//! accounts hit, and a path has waves exactly when it has ADL closes. Under
//! allocations of `flash-crash-adl` (position scope: more is closed than
//! needed) and of the same scenario under shortfall scope (exactly what is
//! needed).

use std::path::{Path, PathBuf};

use backstop_sim::config::AdlAllocation;
use backstop_sim::venue::adl::AdlScope;
use backstop_sim::{PathMetrics, Prepared, Scenario};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn prepared(allocation: AdlAllocation, scope: AdlScope) -> Prepared {
    let file = scenarios_dir().join("flash-crash-adl.toml");
    let text = std::fs::read_to_string(&file).expect("a scenario of the repository");
    let mut scenario = Scenario::from_toml_str(&text, &file).expect("a valid scenario");
    scenario.last_line.adl = allocation;
    scenario.last_line.scope = scope;
    Prepared::new(scenario, &scenarios_dir()).expect("a scenario that prepares")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

fn check(what: &str, m: &PathMetrics) {
    let taken: f64 = m.adl_waves.iter().map(|w| w.taken).sum();
    let needed: f64 = m.adl_waves.iter().map(|w| w.needed).sum();
    assert_eq!(m.adl_waves.is_empty(), m.adl_closes == 0, "{what}");
    assert!(
        close(taken, m.adl_notional),
        "{what}: {taken} vs {}",
        m.adl_notional
    );
    assert!(
        close(needed, m.adl_notional - m.adl_excess_notional),
        "{what}: needed {needed} vs {} − {}",
        m.adl_notional,
        m.adl_excess_notional
    );
    for (w, next) in m.adl_waves.iter().zip(m.adl_waves.iter().skip(1)) {
        assert!(next.first_step > w.last_step + 1, "{what}: waves touch");
    }
    for w in &m.adl_waves {
        assert!(
            w.accounts >= 1 && w.accounts <= m.adl_accounts_hit,
            "{what}"
        );
        assert!(
            w.excess >= -1e-6 && close(w.excess, w.taken - w.needed),
            "{what}"
        );
        assert!((0.0..=1.0 + 1e-9).contains(&w.gini), "{what}");
        assert!(w.top1_share > 0.0 && w.top1_share <= 1.0 + 1e-9, "{what}");
        assert!(
            (0.0..=1.0).contains(&w.max_pnl_share),
            "{what}: {}",
            w.max_pnl_share
        );
        assert!(w.pnl_taken.is_finite(), "{what}");
    }
}

#[test]
fn recorded_waves_add_up_to_the_paths_adl_totals() {
    let mut excess_seen = false;
    let cases = [
        (AdlScope::Position, AdlAllocation::Queue),
        (AdlScope::Position, AdlAllocation::CappedProRata),
        (AdlScope::Position, AdlAllocation::MinPnlHaircut),
        (AdlScope::Shortfall, AdlAllocation::Queue),
        (AdlScope::Shortfall, AdlAllocation::ProRata),
    ];
    for (scope, allocation) in cases {
        {
            let p = prepared(allocation, scope);
            let m = p.run_metrics(0).expect("the path runs");
            let what = format!("{allocation:?}/{scope:?}");
            assert!(m.adl_closes > 0, "{what}: the scenario has ADL");
            check(&what, &m);
            if scope == AdlScope::Shortfall {
                assert!(
                    m.adl_waves.iter().all(|w| close(w.taken, w.needed)),
                    "{what}"
                );
            } else {
                excess_seen |= m.adl_waves.iter().any(|w| w.excess > 0.0);
            }
        }
    }
    assert!(
        excess_seen,
        "position scope closes more than needed somewhere"
    );
}

/// `last_line.cap` is a share of a position: (0, 1], refused otherwise with
/// its key; in range it is read as written.
#[test]
fn the_capped_pro_rata_cap_is_a_checked_scenario_key() {
    let file = scenarios_dir().join("flash-crash-adl.toml");
    let text = std::fs::read_to_string(&file).expect("a scenario of the repository");
    for (cap, ok) in [("1.5", false), ("0", false), ("0.25", true), ("1", true)] {
        let edited = text.replacen(
            "adl = \"queue\"",
            &format!("adl = \"capped_pro_rata\"\ncap = {cap}"),
            1,
        );
        match (Scenario::from_toml_str(&edited, &file), ok) {
            (Ok(s), true) => assert_eq!(s.last_line.cap, cap.parse::<f64>().unwrap()),
            (Err(e), false) => {
                let e = e.to_string();
                assert!(e.contains("last_line.cap"), "{e}");
            }
            (got, _) => panic!("cap {cap}: {:?}", got.map(|s| s.last_line.cap)),
        }
    }
}
