//! The liquidity vault (`[vault]`, docs/model.md §6b) on
//! `scenarios/vault-oct-2025.toml`: the 2025-10-10 replay on the Hyperliquid
//! rule book, with and without the vault, on the same traders.

use std::path::{Path, PathBuf};

use backstop_data::{BalanceParty, Conservation, read_balances, read_bands, read_paths};
use backstop_testkit::{
    assert_error, assert_success, edit, example_scenario, read_json, repo_root, run_program,
    stdout, write_file,
};

/// The example, its data files made absolute so that a copy runs from `dir`,
/// optionally edited by `change`.
fn scenario(dir: &Path, name: &str, change: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(example_scenario("vault-oct-2025")).unwrap();
    let data = format!("{}/", repo_root().join("data").display());
    let text = change(text.replace("../data/", &data));
    write_file(dir, name, &text)
}

/// Runs `file` with 2 paths into `out`; returns stdout.
fn run(dir: &Path, file: &Path, out: &Path) -> String {
    let o = run_program(
        env!("CARGO_BIN_EXE_backstop"),
        dir,
        &[
            Path::new("run"),
            file,
            "--out".as_ref(),
            out,
            "--paths".as_ref(),
            "2".as_ref(),
        ],
        &[],
    );
    assert_success(&o);
    stdout(&o)
}

#[test]
fn the_vault_takes_over_until_its_floor_then_adl_takes_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let with = scenario(tmp.path(), "with.toml", |t| t);
    let without = scenario(tmp.path(), "without.toml", |t| {
        let t = edit(&t, "name = \"vault-oct-2025\"", "name = \"no-vault\"");
        t[..t.find("\n[vault]").unwrap()].to_owned()
    });
    let shown = run(tmp.path(), &with, &out);
    assert!(shown.contains("vault loss    VaR99 "), "{shown}");
    run(tmp.path(), &without, &out);
    let dir = out.join("vault-oct-2025");
    let p = read_paths(&dir.join("paths.parquet")).unwrap();
    let q = read_paths(&out.join("no-vault/paths.parquet")).unwrap();
    let at = |t: &backstop_data::PathsTable, name: &str, path: usize| -> f64 {
        t.metric(name).unwrap()[path].unwrap()
    };
    for path in 0..2 {
        // The vault takes positions over, is refused by its floor at some
        // step, and ADL closes what it refused: fewer ADL closes than without.
        assert!(at(&p, "vault_takeovers", path) > 0.0);
        assert_eq!(at(&p, "vault_capital", path), 500_000.0);
        assert!(p.metric("vault_floor_step").unwrap()[path].is_some());
        assert!(at(&p, "vault_floor_refusals", path) > 0.0);
        assert!(at(&p, "adl_closes", path) > 0.0);
        assert!(at(&p, "adl_closes", path) < at(&q, "adl_closes", path));
        assert_eq!(at(&q, "vault_takeovers", path), 0.0);
        assert!(q.metric("vault_floor_step").unwrap()[path].is_none());
        // Its equity dipped below the floor (marked positions kept falling)
        // and the metrics agree with each other.
        let min = at(&p, "vault_equity_min", path);
        assert!(min < 400_000.0, "path {path}: min equity {min}");
        assert!(
            (at(&p, "vault_loss", path) - (500_000.0 - min)).abs() < 1e-6,
            "path {path}"
        );
        assert!(
            (at(&p, "vault_pnl", path) - (at(&p, "vault_equity_final", path) - 500_000.0)).abs()
                < 1e-6
        );
        assert!(at(&p, "vault_peak_inventory", path) > 0.0);
        assert!(at(&p, "vault_unwind_steps", path) > 0.0);
        // Bad debt is every deficit, the vault's share included.
        let parts: f64 = [
            "insurance_fund_payouts",
            "adl_cost",
            "socialized_loss",
            "insolvency",
            "vault_bad_debt",
        ]
        .iter()
        .map(|m| at(&p, m, path))
        .sum();
        assert!(
            (at(&p, "bad_debt", path) - parts).abs() < 1e-5,
            "path {path}"
        );
    }
    // The vault is a party to conservation: its capital in, its inventory in
    // every market's zero sum.
    let rows = read_balances(&dir.join("balances.parquet")).unwrap();
    assert!(Conservation::of(&rows).holds());
    let cash = rows
        .iter()
        .find(|r| r.party == BalanceParty::Vault && r.market.is_none())
        .expect("a vault cash row");
    assert_eq!(
        (cash.opening_cash, cash.end_cash),
        (500_000_000_000, 500_000_000_000)
    );
    assert!(
        rows.iter()
            .any(|r| r.party == BalanceParty::Vault && r.market.as_deref() == Some("btc"))
    );
    let rows = read_balances(&out.join("no-vault/balances.parquet")).unwrap();
    assert!(rows.iter().all(|r| r.party != BalanceParty::Vault));
    // Its equity across paths: a band series, a chart, a tail risk.
    let bands = read_bands(&dir.join("bands.parquet")).unwrap();
    let equity: Vec<f64> = (0..bands.len())
        .filter(|&i| bands.series[i] == "vault_equity")
        .map(|i| bands.min[i])
        .collect();
    assert!(!equity.is_empty());
    assert_eq!(equity[0], 500_000.0);
    assert!(equity.iter().any(|&e| e < 400_000.0));
    assert!(dir.join("charts/vault_equity.png").is_file());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "liquidity vault equity across paths",
        "| Liquidity vault loss, VaR 99% |",
        "| Vault takeovers |",
        "| Time the vault's floor first refused (paths that hit it) |",
    ] {
        assert!(report.contains(needle), "report.md lacks {needle:?}");
    }
    let plain = std::fs::read_to_string(out.join("no-vault/report.md")).unwrap();
    assert!(!plain.contains("Vault takeovers"));
    let summary = read_json(&dir.join("summary.json"));
    let var_99 = summary["aggregates"]["vault_loss"]["var_99"]
        .as_f64()
        .unwrap();
    assert!(var_99 > 100_000.0, "{var_99}");
    assert!(summary["aggregates"].get("vault_loss").is_some());
    let summary = read_json(&out.join("no-vault/summary.json"));
    assert!(summary["aggregates"].get("vault_loss").is_none());
}

#[test]
fn a_floor_above_the_capital_is_refused_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario(tmp.path(), "bad.toml", |t| {
        edit(&t, "floor = 400000.0", "floor = 600000.0")
    });
    let o = run_program(
        env!("CARGO_BIN_EXE_backstop"),
        tmp.path(),
        &[Path::new("validate"), &file],
        &[],
    );
    let line = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("floor = 600000.0"))
        .unwrap()
        + 1;
    assert_error(
        &o,
        &[
            &format!("bad.toml:{line}"),
            "vault.floor",
            "above the capital",
        ],
    );
}
