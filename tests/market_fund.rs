//! dYdX v4's insurance fund per isolated market (`[market.<name>.insurance_fund]`,
//! docs/model.md §6 "Funds per market") on
//! `scenarios/venues/dydx-isolated-fund.toml`, read from the output files of
//! the real binary: ALT's own small fund is exhausted and ALT's rest is
//! deleveraged, while the shared fund, which ALT never draws on, holds.

use backstop_data::{BalanceParty, Conservation, read_balances, read_market_funds, read_paths};
use backstop_testkit::{example_scenario, run_scenario};

#[test]
fn an_isolated_market_s_fund_is_exhausted_while_the_shared_fund_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = example_scenario("venues/dydx-isolated-fund");
    run_scenario(env!("CARGO_BIN_EXE_backstop"), tmp.path(), &file, &out);
    let dir = out.join("dydx-isolated-fund");

    // ALT's own fund: its fees came in, it paid ALT's bad debt until it could
    // not, and it ended below what it started with.
    let funds = read_market_funds(&dir.join("market_funds.parquet")).unwrap();
    assert_eq!(funds.len(), 1, "{funds:?}");
    let alt = &funds[0];
    assert_eq!((alt.market.as_str(), alt.path), ("alt", 0));
    assert_eq!(alt.initial, 1_000.0);
    assert!(alt.payouts > 0.0, "{alt:?}");
    assert!(alt.first_depletion_step.is_some(), "{alt:?}");
    assert!(alt.final_balance < alt.initial, "{alt:?}");

    // The shared fund never depleted and ADL ran (ALT's last line).
    let paths = read_paths(&dir.join("paths.parquet")).unwrap();
    let metric = |name: &str| paths.metric(name).unwrap()[0];
    assert_eq!(metric("insurance_fund_first_depletion_step"), None);
    assert!(metric("insurance_fund_final").unwrap() > 0.0);
    assert!(metric("adl_closes").unwrap() > 0.0);

    // balances.parquet: a cash row for ALT's fund agreeing with
    // market_funds.parquet, and money conserved over every party.
    let rows = read_balances(&dir.join("balances.parquet")).unwrap();
    let row = rows
        .iter()
        .find(|r| r.party == BalanceParty::MarketFund)
        .expect("a market fund row");
    assert_eq!(row.market.as_deref(), Some("alt"));
    assert_eq!(row.opening_cash, 1_000_000_000);
    assert!((row.end_cash as f64 / 1e6 - alt.final_balance).abs() < 1e-6);
    let check = Conservation::of(&rows);
    assert!(check.holds(), "{check:?}");

    // The report says which fund each line is about.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "| Shared insurance fund, minimum |",
        "| ALT's own insurance fund (isolated market) |",
        "The shared insurance fund was not depleted",
        "ALT's own fund was depleted.",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
}
