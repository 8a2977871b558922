//! Funding settled lazily (`engine/collateral_funding.rs`) is funding settled
//! eagerly, to the micro-USD.
//!
//! An engine with its journal on (`set_record_events(true)`) settles every
//! funding payment at once, through the ledger's `transfer`; one without it
//! logs the settlement and each position pays when its account is next
//! touched. Random venues (one or two markets, cross and isolated accounts,
//! some cross accounts in both markets, leverage 1-60), funding every 1-4
//! steps at rates up to 2% a settlement (so funding alone liquidates some
//! accounts), every last line, a liquidity vault in some cases, and
//! random-walk paths with crashes: after **every** step both engines hold the
//! same balances for every party (each account's collateral read through
//! `Engine::collateral`), the same equity per account, the same positions and
//! totals, and the lazy one passes `check_invariants`.
//!
//! A path no longer writes every account (funding waits for a touch), so a
//! restart copies only the accounts a path changed: a spare engine restarted
//! from a template runs each path as a new engine does.

use backstop_sim::engine::{
    AccountSpec, AdlScope, Engine, LastLine, LiquidationMode, Party, VaultRules, VenueConfig,
};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::venue::adl::{AdlPolicy, BinanceRanking};
use backstop_sim::venue::impact::{ImpactModel, NoImpact, SquareRootImpact};
use backstop_sim::venue::market::{MarginSchedule, Market};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct MarketCase {
    start_ticks: i64,
    imr: f64,
    funding_interval: u32,
    funding_rate: f64,
    impact: bool,
}

#[derive(Clone, Debug)]
struct AccountCase {
    isolated: bool,
    /// 0 or 1: that market (modulo the market count); 2: both if cross.
    which: u8,
    long: [bool; 2],
    notional_usd: [f64; 2],
    leverage: f64,
}

#[derive(Clone, Debug)]
struct Case {
    markets: Vec<MarketCase>,
    accounts: Vec<AccountCase>,
    last_line: u8,
    fund_usd: f64,
    vault: bool,
    moves: Vec<Vec<f64>>,
    seed: u64,
}

fn market_strategy() -> impl Strategy<Value = MarketCase> {
    (
        1_000i64..1_000_000,
        0.01f64..0.2,
        1u32..5,
        -0.02f64..0.02,
        any::<bool>(),
    )
        .prop_map(
            |(start_ticks, imr, funding_interval, funding_rate, impact)| MarketCase {
                start_ticks,
                imr,
                funding_interval,
                funding_rate,
                impact,
            },
        )
}

fn account_strategy() -> impl Strategy<Value = AccountCase> {
    (
        any::<bool>(),
        0u8..3,
        any::<[bool; 2]>(),
        [10.0f64..100_000.0, 10.0f64..100_000.0],
        1.0f64..60.0,
    )
        .prop_map(
            |(isolated, which, long, notional_usd, leverage)| AccountCase {
                isolated,
                which,
                long,
                notional_usd,
                leverage,
            },
        )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(market_strategy(), 1..=2),
        prop::collection::vec(account_strategy(), 2..40),
        0u8..5,
        0.0f64..50_000.0,
        any::<bool>(),
        prop::collection::vec(
            prop::collection::vec(
                prop_oneof![8 => -0.03f64..0.03, 1 => -0.3f64..-0.05, 1 => 0.05f64..0.2],
                2,
            ),
            5..60,
        ),
        any::<u64>(),
    )
        .prop_map(
            |(markets, accounts, last_line, fund_usd, vault, moves, seed)| Case {
                markets,
                accounts,
                last_line,
                fund_usd,
                vault,
                moves,
                seed,
            },
        )
}

fn usd(x: f64) -> Micros {
    Micros::from_usd(x).expect("finite amount")
}

fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).expect("finite rate")
}

/// Tick 0.1, lot 0.001: 100 micro-USD a lot-tick.
const K: i64 = 100;

fn build_market(i: usize, m: &MarketCase) -> Market {
    let impact: Box<dyn ImpactModel> = if m.impact {
        Box::new(SquareRootImpact {
            coefficient: 0.5,
            volatility: 0.02,
            volume_usd: 1e7,
        })
    } else {
        Box::new(NoImpact)
    };
    Market {
        name: format!("m{i}"),
        tick_size: 0.1,
        lot_size: 0.001,
        micros_per_lot_tick: K,
        margin: MarginSchedule::new(&[(Micros::ZERO, rate(m.imr), rate(m.imr / 2.0))]),
        funding_interval_steps: m.funding_interval,
        funding_rate: rate(m.funding_rate),
        impact,
        permanent_impact_fraction: 0.5,
        temporary_impact_decay: 0.5,
        impact_moves_mark: true,
    }
}

fn build_population(case: &Case) -> Vec<AccountSpec> {
    let n = case.markets.len();
    case.accounts
        .iter()
        .enumerate()
        .map(|(id, a)| {
            let chosen: Vec<usize> = if a.which == 2 && !a.isolated && n == 2 {
                vec![0, 1]
            } else {
                vec![a.which as usize % 2 % n]
            };
            let mut collateral = 0i64;
            let positions = chosen
                .iter()
                .map(|&m| {
                    let entry = case.markets[m].start_ticks;
                    let price = entry as f64 * 0.1;
                    let lots = ((a.notional_usd[m] / (price * 0.001)).round() as i64).max(1);
                    let notional = lots * entry * K;
                    collateral += (notional as f64 / a.leverage).ceil() as i64;
                    (m as u16, if a.long[m] { lots } else { -lots }, entry)
                })
                .collect();
            AccountSpec {
                id: id as u64,
                collateral: Micros(collateral),
                isolated: a.isolated,
                positions,
            }
        })
        .collect()
}

fn build_config(case: &Case) -> VenueConfig {
    let last_line = match case.last_line {
        0 => LastLine::Adl {
            policy: AdlPolicy::Queue(Box::new(BinanceRanking)),
            scope: AdlScope::Position,
        },
        1 => LastLine::Adl {
            policy: AdlPolicy::ProRata,
            scope: AdlScope::Position,
        },
        2 => LastLine::Adl {
            policy: AdlPolicy::DydxWalk,
            scope: AdlScope::Position,
        },
        3 => LastLine::Socialize,
        _ => LastLine::SocializeFunding,
    };
    VenueConfig {
        mode: LiquidationMode::Full,
        fee: rate(0.005),
        insurance_fund_share: rate(0.5),
        latency_steps: 0,
        insurance_fund: usd(case.fund_usd),
        insurance_fund_floor: Micros::ZERO,
        last_line,
    }
}

fn build(case: &Case, eager: bool) -> Engine {
    let markets: Vec<Market> = case
        .markets
        .iter()
        .enumerate()
        .map(|(i, m)| build_market(i, m))
        .collect();
    let start: Vec<f64> = case
        .markets
        .iter()
        .map(|m| m.start_ticks as f64 * 0.1)
        .collect();
    let mut e = Engine::new(
        markets,
        &start,
        &build_population(case),
        build_config(case),
        Engine::test_rng(case.seed),
    )
    .expect("a valid population");
    e.set_record_events(eager);
    if case.vault {
        e.set_vault(VaultRules {
            capital: usd(100_000.0),
            floor: Micros::ZERO,
            unwind_fraction: 0.3,
            takeover_below: rate(2.0 / 3.0),
        });
    }
    e
}

/// Every balance, equity, position and total of `e`, as text.
fn state(e: &Engine) -> String {
    let n = e.accounts().len() as u32;
    let accounts: Vec<_> = (0..n)
        .map(|a| (e.collateral(a), e.equity(a), e.positions_of(a).to_vec()))
        .collect();
    let parties: Vec<Micros> = [
        Party::External,
        Party::InsuranceFund,
        Party::Liquidators,
        Party::Venue,
        Party::Outside,
        Party::Vault,
    ]
    .into_iter()
    .map(|p| e.balance(p))
    .collect();
    format!("{accounts:?}\n{parties:?}\n{:?}", e.totals())
}

/// Runs `case` lazily and eagerly side by side; returns how many steps ran.
fn compare(case: &Case) -> Result<usize, String> {
    let mut lazy = build(case, false);
    let mut eager = build(case, true);
    let mut prices: Vec<f64> = case
        .markets
        .iter()
        .map(|m| m.start_ticks as f64 * 0.1)
        .collect();
    for (t, moves) in case.moves.iter().enumerate() {
        for (p, dx) in prices.iter_mut().zip(moves) {
            *p = (*p * dx.exp()).max(1.0);
        }
        let a = lazy.step(&prices).map_err(|e| e.to_string());
        let b = eager.step(&prices).map_err(|e| e.to_string());
        if a != b {
            return Err(format!("step {t}: lazy {a:?}, eager {b:?}"));
        }
        if a.is_err() {
            return Ok(t);
        }
        let (sa, sb) = (state(&lazy), state(&eager));
        if sa != sb {
            return Err(format!("step {t}: lazy\n{sa}\neager\n{sb}"));
        }
        lazy.check_invariants()
            .map_err(|v| format!("step {t}: {v:?}"))?;
    }
    Ok(case.moves.len())
}

/// The states of `e` after each step of `moves` (until a step fails).
fn trace(e: &mut Engine, case: &Case, moves: &[Vec<f64>]) -> Vec<String> {
    let mut prices: Vec<f64> = case
        .markets
        .iter()
        .map(|m| m.start_ticks as f64 * 0.1)
        .collect();
    let mut out = Vec::new();
    for dx in moves {
        for (p, dx) in prices.iter_mut().zip(dx) {
            *p = (*p * dx.exp()).max(1.0);
        }
        match e.step(&prices) {
            Ok(()) => out.push(state(e)),
            Err(err) => {
                out.push(err.to_string());
                break;
            }
        }
    }
    out
}

/// A spare engine restarted from a template runs the path as a new engine
/// does, after running another path and after running this one: the restart
/// copies only the accounts the last path changed (the second restart on),
/// and debug builds check that copy against the template whole.
fn compare_restarts(case: &Case) -> Result<(), String> {
    let template = build(case, false);
    if !template.can_prepare() {
        return Ok(());
    }
    let expected = trace(&mut build(case, false), case, &case.moves);
    let other: Vec<Vec<f64>> = case
        .moves
        .iter()
        .rev()
        .map(|m| m.iter().map(|x| -x).collect())
        .collect();
    let mut spare = build(case, false);
    for (round, moves) in [&other, &case.moves, &case.moves, &other, &case.moves]
        .into_iter()
        .enumerate()
    {
        let markets = case
            .markets
            .iter()
            .enumerate()
            .map(|(i, m)| build_market(i, m))
            .collect();
        spare.restart_from(
            &template,
            markets,
            build_config(case),
            Engine::test_rng(case.seed),
        );
        let got = trace(&mut spare, case, moves);
        if std::ptr::eq(moves, &case.moves) && got != expected {
            return Err(format!(
                "round {round}: the restarted engine ran the path differently"
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lazy_funding_settles_as_eager_funding(case in case_strategy()) {
        compare(&case).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn a_partial_restart_runs_a_path_as_a_new_engine(case in case_strategy()) {
        compare_restarts(&case).map_err(TestCaseError::fail)?;
    }
}

/// A long run of settlements with nothing touching the accounts: more than
/// the log holds pending (it is applied to every position when full), at a
/// rate that moves the balances by whole dollars.
#[test]
fn many_settlements_without_a_touch_match() {
    let case = Case {
        markets: vec![
            MarketCase {
                start_ticks: 500_000,
                imr: 0.02,
                funding_interval: 1,
                funding_rate: 0.0003,
                impact: false,
            },
            MarketCase {
                start_ticks: 30_000,
                imr: 0.05,
                funding_interval: 3,
                funding_rate: -0.0007,
                impact: false,
            },
        ],
        accounts: (0..30)
            .map(|i| AccountCase {
                isolated: i % 4 == 0,
                which: (i % 3) as u8,
                long: [i % 2 == 0, i % 5 < 2],
                notional_usd: [1_000.0 + 997.0 * f64::from(i), 20_000.0],
                leverage: 2.0,
            })
            .collect(),
        last_line: 0,
        fund_usd: 1_000.0,
        vault: false,
        moves: vec![vec![0.0001, -0.0002]; 50],
        seed: 7,
    };
    assert_eq!(compare(&case), Ok(50));
}
