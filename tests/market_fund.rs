//! dYdX v4's insurance fund per isolated market (`[market.<name>.insurance_fund]`,
//! docs/model.md §6 "Funds per market") on
//! `scenarios/venues/dydx-isolated-fund.toml`, read from the output files of
//! the real binary: ALT's own small fund is exhausted and ALT's rest is
//! deleveraged, while the shared fund, which ALT never draws on, holds.

use backstop_data::{
    BalanceParty, Conservation, read_balances, read_market_fund_steps, read_market_funds,
    read_paths, read_steps,
};
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

    // market_fund_steps.parquet: ALT's fund step by step on path 0, one row a
    // step, agreeing with market_funds.parquet: it reaches its floor at step
    // 31 (the gap is at step 30; the liquidations' latency puts its bad debt
    // one step later), its last balance is the final one, its lowest the
    // minimum, and its flows add up to the payouts and fees.
    let series = read_market_fund_steps(&dir.join("market_fund_steps.parquet")).unwrap();
    let steps = read_steps(&dir.join("steps.parquet")).unwrap();
    assert_eq!(series.len(), 120, "one row a step for the one fund");
    assert!(series.iter().all(|r| r.market == "alt" && r.path == 0));
    for (t, r) in series.iter().enumerate() {
        assert_eq!(r.step as usize, t);
        assert_eq!(
            r.ts_ns,
            steps.ts_ns[2 * t],
            "the same times as steps.parquet"
        );
    }
    let first_depleted = series
        .iter()
        .find(|r| r.depleted)
        .map(|r| u64::from(r.step));
    assert_eq!(first_depleted, Some(31));
    assert_eq!(first_depleted, alt.first_depletion_step);
    assert!(series.iter().skip(31).all(|r| r.depleted));
    let last = series.last().unwrap();
    assert_eq!(last.balance, alt.final_balance);
    let lowest = series
        .iter()
        .map(|r| r.balance)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(lowest, alt.min);
    assert_eq!(series[alt.min_step as usize].balance, alt.min);
    let paid: f64 = series.iter().map(|r| r.payouts).sum();
    let fees: f64 = series.iter().map(|r| r.fee_income).sum();
    assert!(
        (paid - alt.payouts).abs() < 1e-6,
        "{paid} vs {}",
        alt.payouts
    );
    assert!(
        (fees - alt.fee_income).abs() < 1e-6,
        "{fees} vs {}",
        alt.fee_income
    );
    assert_eq!(series[31].available, 0.0, "at its floor (0) once depleted");

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
    assert!(dir.join("charts/market_funds.svg").is_file());

    // The report says which fund each line is about.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "| Shared insurance fund, minimum |",
        "| ALT's own insurance fund (isolated market) |",
        "The shared insurance fund was not depleted",
        "ALT's own fund was depleted.",
        "ALT's own fund hits its floor at step 31 (path 0)",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
}

#[test]
fn across_paths_each_market_fund_has_its_bands_and_fan_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let file = example_scenario("venues/dydx-isolated-fund");
    let o = backstop_testkit::run_program(
        env!("CARGO_BIN_EXE_backstop"),
        tmp.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--out",
            "out",
            "-q",
            "--paths",
            "3",
        ],
        &[],
    );
    backstop_testkit::assert_success(&o);
    let dir = tmp.path().join("out/dydx-isolated-fund");
    // bands.parquet: ALT's fund (only ALT's: BTC has none), one row a step,
    // whose median on this linear path is path 0's balance.
    let bands = backstop_data::read_bands(&dir.join("bands.parquet")).unwrap();
    let fund: Vec<usize> = (0..bands.len())
        .filter(|&i| bands.series[i] == "market_fund")
        .collect();
    assert_eq!(fund.len(), 120);
    assert!(fund.iter().all(|&i| bands.market[i] == "alt"));
    let series = read_market_fund_steps(&dir.join("market_fund_steps.parquet")).unwrap();
    for (k, &i) in fund.iter().enumerate() {
        assert_eq!(bands.quantiles[3][i], series[k].balance, "step {k}");
    }
    assert!(dir.join("charts/market_fund_alt.svg").is_file());
    assert!(dir.join("charts/market_funds.svg").is_file());
}
