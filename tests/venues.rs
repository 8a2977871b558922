//! The venues' pair (`scenarios/venues/`): the same 2025-10-10 replay under
//! each rule book differs where the rules differ (docs/venues.md, the table),
//! and `backstop compare` puts the five runs in one table.

use std::path::{Path, PathBuf};

use backstop_testkit::{
    assert_error, assert_success, listing, read_json, repo_root, run_program, run_scenario,
};

/// The rule books, in the order of docs/venues.md.
const VENUES: [&str; 5] = ["binance-usdm", "hyperliquid", "dydx-v4", "bitmex", "drift"];

/// The cells after the label of the row `label` of compare.md's table.
#[track_caller]
fn table_row(md: &str, label: &str) -> Vec<String> {
    md.lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells[0] == label)
        .unwrap_or_else(|| panic!("no row {label:?} in\n{md}"))[1..]
        .to_vec()
}

/// `$1,234` / `1,234` → 1234 (digits only: the values compared are not negative).
fn number(text: &str) -> f64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

#[test]
fn each_rule_book_takes_the_crash_its_own_way() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let metric = |venue: &str, name: &str| -> f64 {
        let dir = out.join(format!("oct-2025-{venue}"));
        let paths = backstop_data::read_paths(&dir.join("paths.parquet")).unwrap();
        paths.metric(name).unwrap()[0].unwrap()
    };
    for venue in VENUES {
        let file = repo_root().join(format!("scenarios/venues/oct-2025-{venue}.toml"));
        run_scenario(env!("CARGO_BIN_EXE_backstop"), tmp.path(), &file, &out);
    }
    // Binance: the fund pays every deficit, nobody is deleveraged.
    assert!(metric("binance-usdm", "insurance_fund_payouts") > 0.0);
    assert_eq!(metric("binance-usdm", "adl_closes"), 0.0);
    // Hyperliquid: no fund and no `[vault]` here (tests/vault.rs has one): ADL
    // takes every deficit.
    assert_eq!(metric("hyperliquid", "insurance_fund_payouts"), 0.0);
    assert!(metric("hyperliquid", "adl_closes") > 0.0);
    // dYdX: 10% of a position a block (at least 1,000 USD, 60 blocks a
    // step), each account re-checked before every block, so an account
    // takes several orders and stops at its maintenance (3,541 orders for
    // 970 accounts); the fund pays every deficit, none is deleveraged, and
    // the bad debt stays below Binance's (55,701 against 148,928 USD).
    assert!(
        metric("dydx-v4", "liquidation_orders") > 2.0 * metric("dydx-v4", "accounts_liquidated")
    );
    assert_eq!(metric("dydx-v4", "adl_closes"), 0.0);
    assert_eq!(
        metric("dydx-v4", "insurance_fund_payouts"),
        metric("dydx-v4", "bad_debt")
    );
    assert!(metric("dydx-v4", "bad_debt") < metric("binance-usdm", "bad_debt"));

    compare_the_five(tmp.path(), &out);
}

/// `backstop compare` of the five runs: one column per rule book (labelled
/// by venue: the scenario names without their shared `oct-2025-`), each
/// value the run's own, the fund chart with every run; the label rules.
fn compare_the_five(tmp: &Path, out: &Path) {
    let dirs: Vec<PathBuf> = VENUES
        .iter()
        .map(|v| out.join(format!("oct-2025-{v}")))
        .collect();
    let cmp = tmp.join("cmp");
    let backstop = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["compare".as_ref()];
        args.extend(dirs.iter().map(|d| d.as_os_str()));
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        run_program(env!("CARGO_BIN_EXE_backstop"), tmp, &args, &[])
    };
    assert_success(&backstop(&["--out", cmp.to_str().unwrap(), "-q"]));
    assert_eq!(listing(&cmp), ["charts", "compare.html", "compare.md"]);
    assert_eq!(
        listing(&cmp.join("charts")),
        ["compare_insurance_fund.png", "compare_insurance_fund.svg"]
    );
    let md = std::fs::read_to_string(cmp.join("compare.md")).unwrap();
    assert!(
        md.starts_with(
            "# Comparison of 5 runs: binance-usdm, hyperliquid, dydx-v4, bitmex, drift\n"
        ),
        "{md}"
    );
    assert_eq!(table_row(&md, "measure"), VENUES);
    for (key, label) in [
        ("bad_debt", "Bad debt"),
        ("liquidation_orders", "Liquidation orders"),
        ("adl_closes", "ADL closes"),
        ("insurance_fund_final", "Insurance fund, final"),
    ] {
        let cells = table_row(&md, label);
        for (cell, dir) in cells.iter().zip(&dirs) {
            let s = read_json(&dir.join("summary.json"));
            let want = s
                .pointer(&format!("/aggregates/metrics/{key}/mean"))
                .and_then(serde_json::Value::as_f64)
                .unwrap_or_else(|| panic!("no {key} in {}", dir.display()));
            assert_eq!(number(cell), want.round(), "{label} of {}", dir.display());
        }
    }
    // Only Hyperliquid deleverages; the line names it as the most.
    let adl = table_row(&md, "ADL closes");
    assert!(
        number(&adl[1]) > 0.0
            && adl
                .iter()
                .enumerate()
                .all(|(i, c)| i == 1 || number(c) == 0.0)
    );
    assert!(md.contains("## Lowest and highest\n"), "{md}");
    assert!(
        md.contains(
            "- ADL closes: least binance-usdm, dydx-v4, bitmex, drift (0), most hyperliquid ("
        ),
        "{md}"
    );
    assert!(
        md.contains("`venue`"),
        "the note names the differing keys:\n{md}"
    );
    let html = std::fs::read_to_string(cmp.join("compare.html")).unwrap();
    let svg = std::fs::read_to_string(cmp.join("charts/compare_insurance_fund.svg")).unwrap();
    for v in VENUES {
        assert!(
            html.contains(&format!("<th class=\"n\">{v}</th>")),
            "no column {v}"
        );
        assert!(svg.contains(v), "no line {v} in the chart");
    }

    // Labels: one per folder; `--label-a` belongs to the two-run form.
    let mut labelled: Vec<&str> = vec!["--out", cmp.to_str().unwrap(), "-q"];
    for l in ["B", "H", "D", "M", "R"] {
        labelled.extend(["--label", l]);
    }
    assert_success(&backstop(&labelled));
    let md = std::fs::read_to_string(cmp.join("compare.md")).unwrap();
    assert_eq!(table_row(&md, "measure"), ["B", "H", "D", "M", "R"]);
    assert_error(
        &backstop(&["--label", "x", "-q"]),
        &["1 --label for 5 results folders"],
    );
    assert_error(
        &backstop(&["--label-a", "x", "-q"]),
        &["--label-a", "5 folders"],
    );
}
