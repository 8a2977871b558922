//! `backstop liq-price`: the published Binance example as a table and as
//! JSON, and a bad account file refused with its key.

use backstop_testkit::{assert_error, assert_success, repo_root, run_program, stdout, write_file};

const BIN: &str = env!("CARGO_BIN_EXE_backstop");

#[test]
fn the_binance_example_prints_the_published_prices() {
    let file = repo_root().join("docs/examples/liq-price-binance.toml");
    let o = run_program(
        BIN,
        &repo_root(),
        &["liq-price".as_ref(), file.as_os_str()],
        &[],
    );
    assert_success(&o);
    let out = stdout(&o);
    assert!(out.contains("11383.99"), "{out}");
    assert!(out.contains("190.29"), "{out}");
    assert!(out.contains("cross"), "{out}");

    let o = run_program(
        BIN,
        &repo_root(),
        &["liq-price".as_ref(), file.as_os_str(), "--json".as_ref()],
        &[],
    );
    assert_success(&o);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let rows = doc["positions"].as_array().expect("positions");
    assert_eq!(rows.len(), 2);
    let lp = rows[0]["liquidation_price"].as_f64().unwrap();
    assert_eq!((lp * 100.0).round() / 100.0, 11_383.99);
    assert_eq!(rows[0]["bracket"], 0);
    assert!(rows[0]["bankruptcy_price"].as_f64().unwrap() > lp);
    assert!(rows[0]["distance_pct"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_bad_account_file_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join("docs/examples/liq-price-binance.toml"))
        .unwrap()
        .replace("market = \"eth\"", "market = \"sol\"");
    let file = write_file(tmp.path(), "a.toml", &text);
    let o = run_program(
        BIN,
        tmp.path(),
        &["liq-price".as_ref(), file.as_os_str()],
        &[],
    );
    assert_error(&o, &["position[1].market", "sol"]);
    let file = write_file(tmp.path(), "b.toml", &text.replace("binance-usdm", "ftx"));
    let o = run_program(
        BIN,
        tmp.path(),
        &["liq-price".as_ref(), file.as_os_str()],
        &[],
    );
    assert_error(&o, &["unknown venue `ftx`"]);
}
