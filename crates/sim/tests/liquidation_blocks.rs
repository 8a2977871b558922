//! dYdX v4's share of a position liquidated per block (`mode = "per_block"`,
//! docs/model.md §5, "Per block"; docs/venues.md, dYdX).
//!
//! dYdX's rule (`GetLiquidatablePositionSizeDelta` and
//! `GetMaxAndMinPositionNotionalLiquidatable`,
//! `protocol/x/clob/keeper/liquidations.go`), mainnet genesis values: each
//! block one order per liquidatable account, on one position of notional `N`
//! at the oracle, of at most `min(max(min(1,000, N), ⌊10% × N⌋), 100,000)`
//! USD, rounded down to lots, at least one lot; the whole position when that
//! covers it. Here a step is `blocks` blocks at the step's prices.
//!
//! The worked cases (no slippage, no fee, so equity moves only with the
//! price): a market at 100 USD a unit, lots of 1 unit (100 USD), tick 0.01
//! USD (`k = 10,000 µUSD` per lot-tick), maintenance 5%.
//!
//! - 50,000 USD long with 2,000 USD of equity (maintenance 2,500): blocks
//!   of 10% — 50, 45 and 40 lots (10% of 405 lots is 40.5: rounded down) —
//!   after which 365 lots need 1,825 USD ≤ 2,000 and liquidation stops.
//! - 5,000 USD long with 180 USD (maintenance 250): 10% is 500 USD, under
//!   the 1,000 USD minimum, so 10 lots a block; two blocks leave 30 lots
//!   needing 150 ≤ 180.
//! - 2,000,000 USD long with 80,000 USD (maintenance 100,000): 10% is
//!   200,000 USD, over the account's 100,000 USD a block, so 1,000 lots a
//!   block; four blocks leave 16,000 lots needing 80,000 ≤ 80,000.

use std::collections::BTreeMap;
use std::path::Path;

use backstop_sim::config::{LiquidationModeKind, Scenario};
use backstop_sim::engine::{
    AccountSpec, AdlScope, Engine, Event, LastLine, LiquidationMode, VenueConfig,
};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::run::build::venue_config;
use backstop_sim::venue::adl::AdlPolicy;
use backstop_sim::venue::impact::{ImpactModel, NoImpact, SquareRootImpact};
use backstop_sim::venue::market::{MarginSchedule, Market};
use proptest::prelude::*;

const K: i64 = 10_000;

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap()
}
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap()
}
fn ticks(price: f64) -> i64 {
    (price * 100.0).round() as i64
}

/// A unit market at maintenance 5% (initial 6%), lots of one unit.
fn market(impact: Box<dyn ImpactModel>) -> Market {
    Market {
        impact,
        ..Market::plain(
            "x",
            0.01,
            1.0,
            K,
            MarginSchedule::new(&[(Micros::ZERO, rate(0.06), rate(0.05))]),
        )
    }
}

/// dYdX mainnet's block limits with `blocks` blocks a step.
fn mainnet(blocks: u32) -> LiquidationMode {
    LiquidationMode::PerBlock {
        blocks,
        portion: rate(0.1),
        min_notional: usd(1_000.0),
        max_account: usd(100_000.0),
    }
}

/// `mode`, fee `fee` (all to the fund), a large fund, deleveraging last.
fn config(mode: LiquidationMode, fee: f64) -> VenueConfig {
    VenueConfig {
        mode,
        fee: rate(fee),
        insurance_fund: usd(100_000_000.0),
        last_line: LastLine::Adl {
            policy: AdlPolicy::DydxWalk,
            scope: AdlScope::Position,
        },
        ..VenueConfig::plain()
    }
}

/// Account 0: long `lots` entered at 104 with `equity_at_100 + 4 × lots`
/// USD, so `equity_at_100` of equity at 100; account 1 holds the other side.
fn engine(lots: i64, equity_at_100: f64, mode: LiquidationMode) -> Engine {
    let pop = [
        AccountSpec {
            id: 0,
            collateral: usd(equity_at_100 + 4.0 * lots as f64),
            isolated: false,
            positions: vec![(0, lots, ticks(104.0))],
        },
        AccountSpec {
            id: 1,
            collateral: usd(1_000_000_000.0),
            isolated: false,
            positions: vec![(0, -lots, ticks(104.0))],
        },
    ];
    let mut e = Engine::new(
        vec![market(Box::new(NoImpact))],
        &[104.0],
        &pop,
        config(mode, 0.0),
        Engine::test_rng(1),
    )
    .unwrap();
    e.set_record_events(true);
    e.check_invariants().unwrap();
    e
}

/// Steps to `price`; the liquidation orders of account 0 as (lots closed,
/// notional at the fill in µUSD).
fn step(e: &mut Engine, price: f64) -> Vec<(i64, Micros)> {
    e.step(&[price]).unwrap();
    e.check_invariants().unwrap();
    e.check_index_soundness().unwrap();
    e.events()
        .iter()
        .filter_map(|ev| match *ev {
            Event::Liquidation {
                account: 0,
                lots,
                price,
                ..
            } => Some((-lots, Micros(-lots * price * K))),
            _ => None,
        })
        .collect()
}

/// 50,000 USD: 10% a block (5,000.000000, 4,500.000000, 4,000.000000 USD),
/// then healthy: three orders in a step of 60 blocks, not 60.
#[test]
fn fifty_thousand_closes_ten_percent_a_block_until_healthy() {
    let mut e = engine(500, 2_000.0, mainnet(60));
    assert!(!e.is_liquidatable(0));
    let orders = step(&mut e, 100.0);
    assert_eq!(
        orders,
        vec![
            (50, Micros(5_000_000_000)),
            (45, Micros(4_500_000_000)),
            (40, Micros(4_000_000_000)),
        ]
    );
    assert_eq!(e.positions_of(0)[0].lots, 365);
    assert_eq!(e.equity(0), usd(2_000.0));
    assert_eq!(e.maintenance(0), usd(1_825.0));
    assert!(!e.is_liquidatable(0) && !e.is_pending(0));
    assert_eq!(e.totals().liquidated_notional, Micros(13_500_000_000));
    // Nothing more at the same price.
    assert!(step(&mut e, 100.0).is_empty());
}

/// Two blocks a step: the third block's order is the next step's.
#[test]
fn the_blocks_of_a_step_are_its_only_orders() {
    let mut e = engine(500, 2_000.0, mainnet(2));
    assert_eq!(
        step(&mut e, 100.0),
        vec![(50, Micros(5_000_000_000)), (45, Micros(4_500_000_000))]
    );
    assert!(e.is_liquidatable(0) && e.is_pending(0));
    assert_eq!(step(&mut e, 100.0), vec![(40, Micros(4_000_000_000))]);
    assert!(!e.is_liquidatable(0));
}

/// 5,000 USD: 10% is 500 USD, under the 1,000 USD minimum.
#[test]
fn five_thousand_closes_the_thousand_dollar_minimum() {
    let mut e = engine(50, 180.0, mainnet(60));
    assert_eq!(
        step(&mut e, 100.0),
        vec![(10, Micros(1_000_000_000)), (10, Micros(1_000_000_000))]
    );
    assert_eq!(e.positions_of(0)[0].lots, 30);
    assert_eq!(e.maintenance(0), usd(150.0));
}

/// 800 USD, under the minimum: the whole position in one block.
#[test]
fn a_position_under_the_minimum_closes_whole() {
    let mut e = engine(8, 30.0, mainnet(60));
    assert_eq!(step(&mut e, 100.0), vec![(8, Micros(800_000_000))]);
    assert_eq!(e.positions_of(0)[0].lots, 0);
}

/// 2,000,000 USD: 10% is 200,000 USD, over the account's 100,000 a block.
#[test]
fn two_million_closes_the_account_cap_a_block() {
    let mut e = engine(20_000, 80_000.0, mainnet(60));
    let orders = step(&mut e, 100.0);
    assert_eq!(orders, vec![(1_000, Micros(100_000_000_000)); 4]);
    assert_eq!(e.positions_of(0)[0].lots, 16_000);
    assert_eq!(e.maintenance(0), usd(80_000.0));
    assert!(!e.is_liquidatable(0));
}

/// At zero equity or below the account is taken over (every mode): the whole
/// position at once, whatever the block limits.
#[test]
fn a_bankrupt_account_is_taken_over_whole() {
    let mut e = engine(500, 2_000.0, mainnet(60));
    let orders = step(&mut e, 95.0);
    assert_eq!(orders, vec![(500, Micros(47_500_000_000))]);
}

// ---- Property: random populations -------------------------------------------

/// The most one block may close of a position of `held` lots at `mark` ticks.
fn block_cap(held: i64, mark: i64, portion: Rate, min: Micros, max: Micros) -> i64 {
    let notional = Micros(held * mark * K);
    let pos_min = min.min(notional);
    let pos_max = portion.apply_floor(notional).max(pos_min);
    let limit = pos_max.min(max);
    if notional <= limit || held <= 1 {
        held
    } else {
        (limit.0 / (mark * K)).clamp(1, held)
    }
}

#[derive(Debug, Clone)]
struct Case {
    blocks: u32,
    portion: f64,
    min_usd: f64,
    max_usd: f64,
    fee: f64,
    impact: bool,
    accounts: Vec<(i64, f64)>,
    prices: Vec<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1u32..8,
        0.01f64..1.0,
        0.0f64..5_000.0,
        500.0f64..200_000.0,
        prop_oneof![Just(0.0), 0.0f64..0.02],
        any::<bool>(),
        prop::collection::vec((-3_000i64..3_000, 0.02f64..0.2), 2..30),
        prop::collection::vec(-0.06f64..0.06, 1..10),
    )
        .prop_map(
            |(blocks, portion, min_usd, max_usd, fee, impact, accounts, moves)| {
                let mut p = 100.0;
                let prices = moves
                    .iter()
                    .map(|m| {
                        p = (p * (1.0 + m) * 100.0f64).round() / 100.0;
                        p
                    })
                    .collect();
                Case {
                    blocks,
                    portion,
                    min_usd,
                    max_usd,
                    fee,
                    impact,
                    accounts: accounts.into_iter().filter(|(l, _)| *l != 0).collect(),
                    prices,
                }
            },
        )
}

/// What a random case reached, for the coverage test.
#[derive(Debug, Default)]
struct Reached {
    /// Orders within a block's limit, not closing the whole position.
    block_orders: u32,
    /// (account, step)s with more than one block order.
    several_blocks: u32,
    /// (account, step)s that used every block of the step.
    all_blocks: u32,
    /// Orders closing the whole remaining position.
    whole: u32,
}

/// Every order within its block's limit (or closing the whole position: a
/// takeover), at most `blocks` block orders per account per step, the
/// orders of an account never more than its position, conservation each
/// step, and an account left liquidatable only after all its blocks.
fn check_case(c: &Case) -> Result<Reached, TestCaseError> {
    let mut reached = Reached::default();

    let mode = LiquidationMode::PerBlock {
        blocks: c.blocks,
        portion: rate(c.portion),
        min_notional: usd(c.min_usd),
        max_account: usd(c.max_usd),
    };
    let LiquidationMode::PerBlock {
        portion,
        min_notional,
        max_account,
        ..
    } = mode
    else {
        unreachable!()
    };
    let pop: Vec<AccountSpec> = c
        .accounts
        .iter()
        .enumerate()
        .map(|(i, &(lots, margin))| AccountSpec {
            id: i as u64,
            collateral: usd(lots.unsigned_abs() as f64 * 100.0 * margin),
            isolated: false,
            positions: vec![(0, lots, ticks(100.0))],
        })
        .collect();
    let impact: Box<dyn ImpactModel> = if c.impact {
        Box::new(SquareRootImpact {
            coefficient: 1.0,
            volatility: 0.02,
            volume_usd: 50_000_000.0,
        })
    } else {
        Box::new(NoImpact)
    };
    let mut e = Engine::new(
        vec![market(impact)],
        &[100.0],
        &pop,
        config(mode, c.fee),
        Engine::test_rng(3),
    )
    .unwrap();
    e.set_record_events(true);
    let start: Vec<i64> = (0..pop.len() as u32)
        .map(|a| e.positions_of(a)[0].lots)
        .collect();
    for &price in &c.prices {
        let before: Vec<i64> = (0..pop.len() as u32)
            .map(|a| e.positions_of(a)[0].lots)
            .collect();
        e.step(&[price]).unwrap();
        e.check_invariants().unwrap();
        let mark = e.marks()[0];
        let mut held = before.clone();
        let mut block_orders: BTreeMap<u32, u32> = BTreeMap::new();
        let mut adl = false;
        for ev in e.events() {
            match *ev {
                Event::Liquidation { account, lots, .. } => {
                    let h = &mut held[account as usize];
                    prop_assert!(
                        lots != 0 && lots.signum() == -h.signum(),
                        "{ev:?}, held {h}"
                    );
                    prop_assert!(lots.abs() <= h.abs(), "more than the position: {ev:?}");
                    let whole = lots.abs() == h.abs();
                    let cap = block_cap(h.abs(), mark, portion, min_notional, max_account);
                    prop_assert!(
                        whole || lots.abs() <= cap,
                        "order {ev:?} over its block's limit {cap} of {h}"
                    );
                    if !whole {
                        *block_orders.entry(account).or_default() += 1;
                        reached.block_orders += 1;
                    } else {
                        reached.whole += 1;
                    }
                    *h += lots;
                }
                Event::Adl { .. } => adl = true,
                _ => {}
            }
        }
        for (&a, &n) in &block_orders {
            prop_assert!(
                n <= c.blocks,
                "account {a}: {n} block orders in {} blocks",
                c.blocks
            );
            reached.several_blocks += u32::from(n > 1);
            reached.all_blocks += u32::from(n == c.blocks);
        }
        if !adl {
            for a in 0..pop.len() as u32 {
                prop_assert_eq!(e.positions_of(a)[0].lots, held[a as usize]);
                let s = start[a as usize];
                prop_assert!(held[a as usize].abs() <= s.abs() && held[a as usize] * s >= 0);
                // Stopped early only when healthy (a partial fill waits:
                // no limit here, and a full fill of a block is one order).
                if let Some(&n) = block_orders.get(&a)
                    && n < c.blocks
                    && held[a as usize] != 0
                {
                    prop_assert!(
                        !e.is_liquidatable(a),
                        "account {a} stopped after {n} blocks"
                    );
                }
            }
        }
    }
    Ok(reached)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// [`check_case`] on random populations and parameters.
    #[test]
    fn block_limits_hold_on_random_populations(c in case()) {
        check_case(&c)?;
    }
}

/// The random cases reach what the property is about: accounts taking
/// several blocks in a step, accounts using every block of a step, and
/// whole-position closes.
#[test]
fn random_cases_reach_several_blocks_and_the_step_s_end() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut total = Reached::default();
    for i in 0..200 {
        let c = strategy
            .new_tree(&mut runner)
            .expect("strategy generates")
            .current();
        let r = check_case(&c).unwrap_or_else(|e| panic!("case #{i}: {e}\ncase: {c:?}"));
        total.block_orders += r.block_orders;
        total.several_blocks += r.several_blocks;
        total.all_blocks += r.all_blocks;
        total.whole += r.whole;
    }
    assert!(
        total.block_orders > 0
            && total.several_blocks > 0
            && total.all_blocks > 0
            && total.whole > 0,
        "{total:?}"
    );
}

// ---- The rule book and the scenario keys --------------------------------------

const BASE: &str = backstop_testkit::venue_scenario!("blocks", "dydx-v4");

fn load(text: &str) -> Result<Scenario, String> {
    Scenario::from_toml_str(text, Path::new("blocks.toml"))
        .map_err(|e| format!("{} :: {e}", e.key().unwrap_or_default()))
}

/// `dydx-v4` runs mainnet's block limits, 60 blocks to a one-minute step;
/// a key the file sets wins, the others stay the rule book's.
#[test]
fn the_dydx_rule_book_uses_mainnet_block_limits() {
    let s = load(BASE).unwrap();
    assert_eq!(s.liquidation.mode, LiquidationModeKind::PerBlock);
    let b = s.liquidation.blocks.clone().expect("the rule book's table");
    assert_eq!(
        (
            b.block_seconds,
            b.position_portion,
            b.min_position_usd,
            b.max_account_usd
        ),
        (1.0, 0.1, 1_000.0, 100_000.0)
    );
    assert_eq!(venue_config(&s).unwrap().mode, mainnet(60));
    let s = load(&BASE.replace("seed = 7", "seed = 7\nstep_seconds = 300")).unwrap();
    assert_eq!(venue_config(&s).unwrap().mode, mainnet(300));
    let s = load(&format!(
        "{BASE}\n[liquidation.blocks]\nposition_portion = 0.25\nblock_seconds = 0.5\n"
    ))
    .unwrap();
    let LiquidationMode::PerBlock {
        blocks,
        portion,
        min_notional,
        max_account,
    } = venue_config(&s).unwrap().mode
    else {
        panic!("per_block")
    };
    assert_eq!(
        (blocks, portion, min_notional, max_account),
        (120, rate(0.25), usd(1_000.0), usd(100_000.0))
    );
    // Another rule book has no table; the file may ask for one.
    let s = load(&BASE.replace("dydx-v4", "binance-usdm")).unwrap();
    assert_eq!(s.liquidation.blocks, None);
    let s = load(&format!(
        "{}\n[liquidation]\nmode = \"per_block\"\n",
        BASE.replace("dydx-v4", "binance-usdm")
    ))
    .unwrap();
    assert_eq!(venue_config(&s).unwrap().mode, mainnet(60));
}

#[test]
fn bad_block_limits_name_their_key() {
    for (table, key, says) in [
        (
            "block_seconds = -1.0",
            "liquidation.blocks.block_seconds",
            "positive",
        ),
        (
            "block_seconds = 61.0",
            "liquidation.blocks.block_seconds",
            "longer than a step",
        ),
        (
            "position_portion = 1.5",
            "liquidation.blocks.position_portion",
            "at most 1",
        ),
        (
            "position_portion = 0.0",
            "liquidation.blocks.position_portion",
            "positive",
        ),
        (
            "min_position_usd = -5.0",
            "liquidation.blocks.min_position_usd",
            "negative",
        ),
        (
            "max_account_usd = 0.0",
            "liquidation.blocks.max_account_usd",
            "positive",
        ),
        (
            "max_account_usd = -1.0",
            "liquidation.blocks.max_account_usd",
            "negative",
        ),
    ] {
        let e = load(&format!("{BASE}\n[liquidation.blocks]\n{table}\n")).expect_err(table);
        assert!(e.starts_with(&format!("{key} ::")), "{table}: {e}");
        assert!(e.contains(says), "{table}: {e}");
    }
}
