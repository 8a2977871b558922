//! Venue rule books (`venue = "…"`, docs/venues.md): how a rule book is laid
//! under a scenario's keys, and each rule book against its venue's published
//! worked examples and thresholds, to the cent.

use std::path::Path;

use backstop_sim::Prepared;
use backstop_sim::config::{LastLineKind, LiquidationModeKind, Scenario};
use backstop_sim::run::liq_price::{AccountFile, PositionPrices, liquidation_prices};
use backstop_sim::venue::adl_price::AdlPrice;
use backstop_sim::venue::rulebook::{Venue, binance, drift, dydx, hyperliquid};

const BASE: &str = backstop_testkit::venue_scenario!("rb", "hyperliquid");

fn load(text: &str) -> Scenario {
    Scenario::from_toml_str(text, Path::new("rb.toml")).expect("the scenario loads")
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[test]
fn the_rule_book_fills_what_the_scenario_leaves_out() {
    let s = load(BASE);
    let btc = &s.market["btc"];
    let tiers: Vec<(f64, f64, f64)> = btc
        .tiers
        .iter()
        .map(|t| (t.notional_floor, t.imr, t.mmr))
        .collect();
    assert_eq!(tiers, hyperliquid::BTC_BRACKETS.to_vec());
    assert_eq!(
        btc.funding.interval_steps, 60,
        "hourly funding in 1-minute steps"
    );
    assert_eq!(btc.funding.cap, Some(0.04));
    assert_eq!(s.liquidation.mode, LiquidationModeKind::Chunked);
    assert_eq!(s.liquidation.fee, 0.0);
    assert_eq!(s.liquidation.chunk_fraction, 0.2);
    assert_eq!(s.liquidation.chunk_full_below_usd, 100_000.0);
    assert_eq!(
        s.liquidation.cooldown_steps, 1,
        "30 s rounds up to one step"
    );
    assert_eq!(
        s.insurance_fund.initial, 0.0,
        "no fund: the vault is the backstop"
    );
    assert_eq!(s.last_line.kind, LastLineKind::Adl);
    assert_eq!(
        s.last_line.adl_price,
        AdlPrice::PreviousMark,
        "Hyperliquid's ADL closes at the previous mark"
    );
    assert_eq!(s.venue.as_deref(), Some("hyperliquid"));
    // Every other rule book closes ADL at the bankruptcy price; a file may
    // set the key over the rule book's.
    for v in ["binance-usdm", "dydx-v4", "bitmex", "drift"] {
        let s = load(&BASE.replace("\"hyperliquid\"", &format!("{v:?}")));
        assert_eq!(s.last_line.adl_price, AdlPrice::Bankruptcy, "{v}");
    }
    let s = load(&format!(
        "{BASE}\n[last_line]\nadl_price = \"bankruptcy\"\n"
    ));
    assert_eq!(s.last_line.adl_price, AdlPrice::Bankruptcy);
}

#[test]
fn every_key_the_scenario_sets_wins() {
    let text = format!(
        "{BASE}\n[liquidation]\nfee = 0.01\n\n[insurance_fund]\ninitial = 500000.0\n"
    )
    .replace(
        "lot_size = 0.001\n",
        "lot_size = 0.001\ntiers = [{ notional_floor = 0, imr = 0.1, mmr = 0.05 }]\nfunding = { interval_steps = 30 }\n",
    );
    let s = load(&text);
    let btc = &s.market["btc"];
    assert_eq!(btc.tiers.len(), 1);
    assert_eq!(
        btc.tiers[0].mmr, 0.05,
        "the file's tiers replace the book's whole"
    );
    assert_eq!(btc.funding.interval_steps, 30, "the file's key wins");
    assert_eq!(
        btc.funding.cap,
        Some(0.04),
        "the book's key in the same table stays"
    );
    assert_eq!(s.liquidation.fee, 0.01);
    assert_eq!(
        s.liquidation.mode,
        LiquidationModeKind::Chunked,
        "book, same table"
    );
    assert_eq!(s.insurance_fund.initial, 500_000.0);
}

#[test]
fn without_a_venue_the_defaults_apply_and_steps_scale_the_intervals() {
    let s = load(&BASE.replace("venue = \"hyperliquid\"\n", "").replace(
        "lot_size = 0.001\n",
        "lot_size = 0.001\ntiers = [{ notional_floor = 0, imr = 0.1, mmr = 0.05 }]\n",
    ));
    assert_eq!(s.venue, None);
    assert_eq!(s.market["btc"].funding.cap, None);
    assert_eq!(s.liquidation.mode, LiquidationModeKind::ToTarget);
    let s = load(&BASE.replace("seed = 7", "seed = 7\nstep_seconds = 300"));
    assert_eq!(s.market["btc"].funding.interval_steps, 12);
    let s = load(&BASE.replace("hyperliquid", "binance-usdm"));
    assert_eq!(s.market["btc"].funding.interval_steps, 480);
    assert_eq!(s.market["btc"].tiers.len(), binance::BTCUSDT_BRACKETS.len());
    let s = load(&BASE.replace("hyperliquid", "drift"));
    assert_eq!(s.last_line.kind, LastLineKind::SocializeFunding);
}

/// Every rule book runs a -30% crash with an empty fund, and its last line
/// takes the loss: ADL on four venues, Drift's socialized loss on Drift.
#[test]
fn every_rule_book_runs_and_its_last_line_takes_the_loss() {
    for v in Venue::ALL {
        let text = format!("{BASE}\n[insurance_fund]\ninitial = 0.0\n")
            .replace("hyperliquid", v.name())
            .replace("shock = -0.1", "shock = -0.3")
            .replace("accounts = 10\n", "accounts = 300\n")
            .replace("median = 8.0", "median = 15.0");
        let s = load(&text);
        assert_eq!(s.venue.as_deref(), Some(v.name()));
        let out = Prepared::new(s, Path::new("."))
            .expect("the run prepares")
            .run_path(0)
            .expect("the path runs");
        let m = &out.metrics;
        assert!(m.liquidation_orders > 0, "{v:?}: {m:?}");
        assert!(m.bad_debt > 0.0, "{v:?}: no deficit to test: {m:?}");
        if v == Venue::Drift {
            assert!(m.socialized_loss > 0.0 && m.adl_closes == 0, "{v:?}: {m:?}");
        } else {
            assert!(m.adl_closes > 0 && m.socialized_loss == 0.0, "{v:?}: {m:?}");
        }
    }
}

#[test]
fn an_unknown_venue_is_refused_at_its_line() {
    let e = Scenario::from_toml_str(&BASE.replace("hyperliquid", "ftx"), Path::new("rb.toml"))
        .expect_err("ftx has no rule book");
    assert_eq!(e.key(), Some("venue"));
    assert_eq!(e.line(), Some(3));
    assert!(e.to_string().contains("unknown venue `ftx`"), "{e}");
    assert!(e.to_string().contains("binance-usdm"), "{e}");
}

#[test]
fn a_bad_value_the_file_sets_under_a_venue_names_its_own_line() {
    let text = format!("{BASE}\n[liquidation]\nfee = -1.0\n");
    let e = Scenario::from_toml_str(&text, Path::new("rb.toml")).expect_err("negative fee");
    assert_eq!(e.key(), Some("liquidation.fee"));
    assert_eq!(e.line(), Some(25));
}

// ---- Conformance: the venues' published examples -------------------------

fn account(text: &str) -> Vec<PositionPrices> {
    let a: AccountFile = toml::from_str(text).expect("the account file parses");
    liquidation_prices(&a).expect("the account prices")
}

/// Binance FAQ "Liquidation" (cross margin, one-way mode): BTCUSDT 11,383.99,
/// ETHUSDT 190.29 (docs/venue-examples.md §1.2).
#[test]
fn binance_published_cross_example_through_the_calculator() {
    let rows = account(
        r#"venue = "binance-usdm"
collateral = 10.72
[market.btc]
mark = 9462.81
tiers = [{ notional_floor = 0, imr = 0.008, mmr = 0.004 }]
[market.eth]
mark = 200.0
tiers = [{ notional_floor = 0, imr = 0.013, mmr = 0.0065 }]
[[position]]
market = "btc"
size = -0.005
entry = 9451.53
[[position]]
market = "eth"
size = 1.0
entry = 199.53
"#,
    );
    assert_eq!(cents(rows[0].liquidation_price.unwrap()), 11_383.99);
    assert_eq!(cents(rows[1].liquidation_price.unwrap()), 190.29);
    // The published formula, verbatim, with the example's rounded inputs.
    let btc = binance::liquidation_price(
        10.72,
        1.3,
        0.47,
        binance::OneWayPosition {
            side: -1.0,
            size: 0.005,
            entry: 9_451.53,
            mmr: 0.004,
            cum: 0.0,
        },
    );
    assert_eq!(cents(btc), 11_383.99);
    let eth = binance::liquidation_price(
        10.72,
        0.19,
        -0.06,
        binance::OneWayPosition {
            side: 1.0,
            size: 1.0,
            entry: 199.53,
            mmr: 0.0065,
            cum: 0.0,
        },
    );
    // "difference due to rounding off": 190.29 truncated.
    assert_eq!((eth * 100.0).floor() / 100.0, 190.29);
}

/// The rule book's BTCUSDT brackets carry the maintenance amounts Binance's
/// own rule gives ("250,000 × (1% − 0.5%) + 50 USDT = 1,300 USDT") and the
/// reverse-engineered table lists.
#[test]
fn binance_rule_book_brackets_and_maintenance_amounts() {
    let rows = account(
        r#"venue = "binance-usdm"
collateral = 30000.0
[market.btc]
mark = 50000.0
[[position]]
market = "btc"
size = 10.0
entry = 50000.0
"#,
    );
    // 500,000 USDT of notional: bracket 3, MMR 1%, maintenance amount 1,300.
    let r = &rows[0];
    assert_eq!(r.bracket, 2);
    assert_eq!(r.bracket_mmr, 0.01);
    assert_eq!(r.maintenance_amount, 1_300.0);
    // LP = (WB + cum − size × EP) / (size × MMR − size), bracket at the LP.
    let lp = (30_000.0 + 1_300.0 - 10.0 * 50_000.0) / (10.0 * 0.01 - 10.0);
    assert_eq!(cents(r.liquidation_price.unwrap()), cents(lp));
    assert_eq!(cents(r.bankruptcy_price.unwrap()), 47_000.0);
    assert_eq!(
        cents(r.distance_pct.unwrap()),
        cents((lp / 50_000.0 - 1.0) * 100.0)
    );
    let cum: Vec<f64> = {
        let a: AccountFile = toml::from_str(
            "venue = \"binance-usdm\"\n[market.btc]\nmark = 1.0\ntick_size = 0.0001\nlot_size = 1.0\n[[position]]\nmarket = \"btc\"\nsize = 1.0\nentry = 1.0\n",
        )
        .unwrap();
        let _ = liquidation_prices(&a).unwrap();
        use backstop_sim::money::{Micros, Rate};
        use backstop_sim::venue::market::MarginSchedule;
        let rows: Vec<_> = binance::BTCUSDT_BRACKETS
            .iter()
            .map(|&(f, i, m)| {
                (
                    Micros::from_usd(f).unwrap(),
                    Rate::from_fraction(i).unwrap(),
                    Rate::from_fraction(m).unwrap(),
                )
            })
            .collect();
        MarginSchedule::new(&rows)
            .tiers()
            .iter()
            .map(|t| cents(t.maintenance_amount_usd()))
            .collect()
    };
    assert_eq!(
        cum,
        vec![
            0.0,
            50.0,
            1_300.0,
            16_300.0,
            266_300.0,
            1_266_300.0,
            2_516_300.0,
            5_016_300.0,
            25_016_300.0,
            100_016_300.0
        ]
    );
}

/// dYdX v4 docs, "Liquidations": isolated `p' = (1000 + 9000) / 3.15 ≈ 3174.60`;
/// cross `p' = (1000 + 4500 − 175) / 1.575 ≈ 3380.95`.
#[test]
fn dydx_published_liquidation_prices() {
    assert_eq!(
        cents(dydx::liquidation_price(1_000.0, -3.0, 3_000.0, 0.05, 0.0)),
        3_174.60
    );
    assert_eq!(
        cents(dydx::liquidation_price(1_000.0, -1.5, 3_000.0, 0.05, 175.0)),
        3_380.95
    );
    let iso = account(
        r#"venue = "dydx-v4"
[market.eth]
mark = 3000.0
tiers = [{ notional_floor = 0, imr = 0.1, mmr = 0.05 }]
[[position]]
market = "eth"
size = -3.0
entry = 3000.0
isolated_margin = 1000.0
"#,
    );
    assert_eq!(cents(iso[0].liquidation_price.unwrap()), 3_174.60);
    // "the trader's remaining equity would be 5% of the notional value of the
    // position or $476.2": 3 × 3174.6 × 0.05.
    assert_eq!((3.0 * 3_174.6 * 0.05_f64 * 10.0).round() / 10.0, 476.2);
    let cross = account(
        r#"venue = "dydx-v4"
collateral = 1000.0
[market.eth]
mark = 3000.0
tiers = [{ notional_floor = 0, imr = 0.1, mmr = 0.05 }]
[market.strk]
mark = 1.75
tick_size = 0.0001
lot_size = 1.0
tiers = [{ notional_floor = 0, imr = 0.2, mmr = 0.1 }]
[[position]]
market = "eth"
size = -1.5
entry = 3000.0
[[position]]
market = "strk"
size = 1000.0
entry = 1.75
"#,
    );
    assert_eq!(cents(cross[0].liquidation_price.unwrap()), 3_380.95);
}

/// dYdX fillable price: at the maintenance requirement (`Q = 1`) the order
/// fills at the oracle price; at bankruptcy (`Q = 0`, `BA = 1`) at the largest
/// spread, `SMMR × MMF`; the help center's "1.5 × 5% = 7.5%".
#[test]
fn dydx_fillable_price() {
    assert_eq!(
        (dydx::max_liquidation_spread(0.05) * 1e4).round() / 1e4,
        0.075
    );
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, 1.0, 1.5, 0.05, 1.0, 0.0, 150.0
        )),
        2_775.00
    );
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, -1.0, 1.5, 0.05, 1.0, 0.0, 150.0
        )),
        3_225.00
    );
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, 1.0, 1.5, 0.05, 1.0, 150.0, 150.0
        )),
        3_000.00
    );
    // Halfway to bankruptcy, half the spread.
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, 1.0, 1.5, 0.05, 1.0, 75.0, 150.0
        )),
        2_887.50
    );
    // The rating is clamped to [0, 1] (`GetFillablePrice`: "Bound the ABR
    // between 0 and 1"): below zero equity the spread stays at its largest,
    // 7.5%; above maintenance the order is at the oracle price.
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, 1.0, 1.5, 0.05, 1.0, -60.0, 150.0
        )),
        2_775.00
    );
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, -1.0, 1.5, 0.05, 1.0, -60.0, 150.0
        )),
        3_225.00
    );
    assert_eq!(
        cents(dydx::fillable_price(
            3_000.0, 1.0, 1.5, 0.05, 1.0, 300.0, 150.0
        )),
        3_000.00
    );
    // The help center's case: an account that "can only afford to execute
    // orders at a price that is 2% worse than the oracle price before going
    // negative", filled at the "maximum liquidation spread of 7.5%": "the
    // insurance fund covers the 5.5% difference". Long 1 at 3,000, MMF 5%:
    // bankruptcy at 2,940, the largest spread at 2,775, 165 USD = 5.5%.
    let bankruptcy = 3_000.0 * (1.0 - 0.02);
    let widest = 3_000.0 * (1.0 - dydx::max_liquidation_spread(0.05));
    assert_eq!(cents(bankruptcy - widest), 165.00);
    // The formula itself gives that account (equity 60 USD, 2% of 3,000, of
    // a 150 USD requirement: Q = 0.4, ABR = 0.6) a limit of 4.5% below the
    // oracle, 2,865: at most 2.5% (75 USD) from the fund. The help center's
    // 7.5% is the bound, reached only at zero equity or below.
    let limit = dydx::fillable_price(3_000.0, 1.0, 1.5, 0.05, 1.0, 60.0, 150.0);
    assert_eq!(cents(limit), 2_865.00);
    assert_eq!(cents(bankruptcy - limit), 75.00);
}

/// Hyperliquid docs, "Liquidations": maintenance margin is half the initial
/// margin at maximum leverage, "between 1% (for 50x max leverage assets) and
/// 16.7% (for 3x)"; backstop liquidation below 2/3 of it; the documented
/// liquidation-price form agrees with the engine's, to the cent.
#[test]
fn hyperliquid_thresholds_and_liquidation_price() {
    assert_eq!(hyperliquid::maintenance_rate(50.0), 0.01);
    assert_eq!(
        (hyperliquid::maintenance_rate(3.0) * 1000.0).round() / 10.0,
        16.7
    );
    assert_eq!(hyperliquid::BTC_BRACKETS[0].2, 0.0125, "BTC 40x: 1.25%");
    assert_eq!(hyperliquid::BACKSTOP_SHARE, 2.0 / 3.0);
    // Isolated 1 BTC long at 100,000 with 2,500 margin (40x): margin available
    // at the mark = 2,500 − 1,250.
    let documented = hyperliquid::liquidation_price(100_000.0, 1.0, 1_250.0, 1.0, 0.0125);
    let rows = account(
        r#"venue = "hyperliquid"
[market.btc]
mark = 100000.0
tick_size = 0.1
[[position]]
market = "btc"
size = 1.0
entry = 100000.0
isolated_margin = 2500.0
"#,
    );
    assert_eq!(cents(documented), 98_734.18);
    assert_eq!(cents(rows[0].liquidation_price.unwrap()), 98_734.18);
    assert_eq!(cents(rows[0].bankruptcy_price.unwrap()), 97_500.00);
    // Short side.
    let documented = hyperliquid::liquidation_price(100_000.0, -1.0, 1_250.0, 1.0, 0.0125);
    assert_eq!(cents(documented), 101_234.57);
}

/// Drift docs, "Liquidations": 500 USDC, long 200 SOL-PERP at $25, 5%
/// maintenance: liquidated at $23.68 (the page's 23.6825 rounds its −5.27%).
/// Drift's unit test of the socialized loss: 100 over 7 long + 4 short →
/// cumulative funding delta 9,090,910,000.
#[test]
fn drift_liquidation_example_and_socialized_loss() {
    let rows = account(
        r#"venue = "drift"
collateral = 500.0
[market.sol]
mark = 25.0
tick_size = 0.0001
lot_size = 0.1
tiers = [{ notional_floor = 0, imr = 0.1, mmr = 0.05 }]
[[position]]
market = "sol"
size = 200.0
entry = 25.0
"#,
    );
    assert_eq!(cents(rows[0].liquidation_price.unwrap()), 23.68);
    assert_eq!(
        drift::socialized_funding_delta(
            100 * drift::QUOTE_PRECISION,
            7 * drift::BASE_PRECISION,
            4 * drift::BASE_PRECISION
        ),
        9_090_910_000
    );
}

/// BitMEX: funding capped at 75% of (initial − maintenance margin).
#[test]
fn bitmex_funding_cap() {
    let b = Venue::Bitmex.rule_book();
    assert_eq!(
        cents(b.funding_cap * 10_000.0),
        37.5,
        "0.375% in basis points"
    );
}
