//! The venues' pair (`scenarios/venues/`): the same 2025-10-10 replay under
//! each rule book differs where the rules differ (docs/venues.md, the table).

use std::path::Path;

use backstop_testkit::{assert_success, repo_root, run_program};

#[test]
fn each_rule_book_takes_the_crash_its_own_way() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let metric = |venue: &str, name: &str| -> f64 {
        let dir = out.join(format!("oct-2025-{venue}"));
        let paths = backstop_data::read_paths(&dir.join("paths.parquet")).unwrap();
        paths.metric(name).unwrap()[0].unwrap()
    };
    for venue in ["binance-usdm", "hyperliquid", "dydx-v4"] {
        let file = repo_root().join(format!("scenarios/venues/oct-2025-{venue}.toml"));
        let o = run_program(
            env!("CARGO_BIN_EXE_backstop"),
            tmp.path(),
            &[
                Path::new("run"),
                &file,
                "--out".as_ref(),
                &out,
                "-q".as_ref(),
            ],
            &[],
        );
        assert_success(&o);
    }
    // Binance: the fund pays every deficit, nobody is deleveraged.
    assert!(metric("binance-usdm", "insurance_fund_payouts") > 0.0);
    assert_eq!(metric("binance-usdm", "adl_closes"), 0.0);
    // Hyperliquid: no fund (its vault is not modelled): ADL takes every deficit.
    assert_eq!(metric("hyperliquid", "insurance_fund_payouts"), 0.0);
    assert!(metric("hyperliquid", "adl_closes") > 0.0);
    // dYdX: the 1.5% penalty feeds the fund beyond what it pays out.
    assert!(
        metric("dydx-v4", "insurance_fund_final") > metric("dydx-v4", "insurance_fund_initial")
    );
    assert!(metric("dydx-v4", "bad_debt") < metric("binance-usdm", "bad_debt"));
}
