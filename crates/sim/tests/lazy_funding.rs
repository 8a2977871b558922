//! Funding settled lazily (`engine/collateral_funding.rs`) is funding settled
//! eagerly, to the micro-USD.
//!
//! An engine with its journal on (`set_record_events(true)`) settles every
//! funding payment at once, through the ledger's `transfer`; one without it
//! logs the settlement and each position pays when its account is next
//! touched. The random venues of `invariants.rs` (`common/mod.rs`: every
//! last line and liquidation mode, the controls, non-USD collateral, a vault
//! or a market's own fund in some cases), with funding every 1-4 steps at
//! rates up to 2% a settlement in every market (so funding alone liquidates
//! some accounts): after **every** step both engines hold the
//! same balances for every party (each account's collateral read through
//! `Engine::collateral`), the same equity per account, the same positions and
//! totals, and the lazy one passes `check_invariants`.
//!
//! A path no longer writes every account (funding waits for a touch), so a
//! restart copies only the accounts a path changed: a spare engine restarted
//! from a template runs each path as a new engine does.

mod common;

use backstop_sim::engine::{AdlScope, Engine, Party};
use backstop_sim::money::Micros;
use common::{
    AccountCase, Case, ConfigCase, LastLineCase, MarketCase, ModeCase, PolicyCase, build_config,
    build_markets, build_prices, build_venue, case_strategy, market_fund, new_engine, prices_along,
    vault_rules,
};
use proptest::prelude::*;

/// The shared random venues with funding every 1-4 steps at rates up to 2% a
/// settlement in every market.
fn lazy_case_strategy() -> impl Strategy<Value = Case> {
    let funding = (1u32..5, -0.02f64..0.02);
    (case_strategy(), [funding.clone(), funding]).prop_map(|(mut case, funding)| {
        for (m, (interval, rate)) in case.markets.iter_mut().zip(funding) {
            m.funding_interval = interval;
            m.funding_rate = rate;
        }
        case
    })
}

/// The case's venue (controls, collateral, vault, market fund), funding
/// settled eagerly (the journal on) or lazily.
fn build(case: &Case, eager: bool) -> Result<Engine, String> {
    build_venue(case, eager).map(|v| v.engine)
}

/// [`Engine::new`] of the case with its vault: what
/// [`Engine::restart_from`] rebuilds.
fn build_plain(case: &Case) -> Result<Engine, String> {
    let mut e = new_engine(case)?;
    if let Some(rules) = vault_rules(case) {
        e.set_vault(rules);
    }
    Ok(e)
}

/// Every balance, equity, position and total of `e`, as text.
fn state(e: &Engine) -> String {
    let n = e.accounts().len() as u32;
    let accounts: Vec<_> = (0..n)
        .map(|a| (e.collateral(a), e.equity(a), e.positions_of(a).to_vec()))
        .collect();
    let mut parties = vec![
        Party::External,
        Party::InsuranceFund,
        Party::Liquidators,
        Party::Venue,
        Party::Outside,
        Party::Vault,
    ];
    parties.extend((0..e.markets().len() as u16).map(Party::MarketFund));
    let balances: Vec<Micros> = parties.into_iter().map(|p| e.balance(p)).collect();
    format!("{accounts:?}\n{balances:?}\n{:?}", e.totals())
}

/// Runs `case` lazily and eagerly side by side; returns how many steps ran.
fn compare(case: &Case) -> Result<usize, String> {
    let mut lazy = build(case, false)?;
    let mut eager = build(case, true)?;
    let (_, path) = build_prices(case);
    for (t, prices) in path.iter().enumerate() {
        let a = lazy.step(prices).map_err(|e| e.to_string());
        let b = eager.step(prices).map_err(|e| e.to_string());
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
    Ok(path.len())
}

/// The states of `e` after each step of `moves` (until a step fails).
fn trace(e: &mut Engine, case: &Case, moves: &[(f64, [f64; 2])]) -> Vec<String> {
    let (start, _) = build_prices(case);
    let mut out = Vec::new();
    for prices in prices_along(case, &start, moves) {
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
    let template = build_plain(case)?;
    if !template.can_prepare() {
        return Ok(());
    }
    let expected = trace(&mut build_plain(case)?, case, &case.moves);
    let other: Vec<(f64, [f64; 2])> = case
        .moves
        .iter()
        .rev()
        .map(|(common, own)| (-common, own.map(|x| -x)))
        .collect();
    let mut spare = build_plain(case)?;
    for (round, moves) in [&other, &case.moves, &case.moves, &other, &case.moves]
        .into_iter()
        .enumerate()
    {
        spare.restart_from(
            &template,
            build_markets(case),
            build_config(&case.config),
            Engine::test_rng(case.adl_seed),
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

mod property_tests {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            // Seeded, as invariants.rs: CI runs the same cases every time;
            // PROPTEST_RNG_SEED or PROPTEST_CASES explore further by hand.
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x6c61_7a79_6675_6e64),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Lazy funding leaves every balance as eager funding, after every step.
        #[test]
        fn lazy_funding_settles_as_eager_funding(case in lazy_case_strategy()) {
            compare(&case).map_err(TestCaseError::fail)?;
        }

        /// A restarted engine runs a path as a new one.
        #[test]
        fn a_partial_restart_runs_a_path_as_a_new_engine(case in lazy_case_strategy()) {
            compare_restarts(&case).map_err(TestCaseError::fail)?;
        }
    }
}

/// A market of the first grid (tick 0.1, lot 0.001), one bracket with
/// maintenance half of `imr`, no impact.
fn plain_market(
    start_ticks: i64,
    imr: f64,
    funding_interval: u32,
    funding_rate: f64,
) -> MarketCase {
    MarketCase {
        grid: 0,
        start_ticks,
        tiers: vec![(0.0, imr, imr / 2.0)],
        funding_interval,
        funding_rate,
        impact: None,
        permanent_fraction: 0.5,
        half_life_steps: 1.0,
    }
}

/// A cross or isolated account entered at the start price.
fn plain_account(
    isolated: bool,
    which: u8,
    long: [bool; 2],
    notional_usd: [f64; 2],
    leverage: f64,
) -> AccountCase {
    AccountCase {
        isolated,
        which,
        long,
        notional_usd,
        leverage,
        entry_offset: [0.0; 2],
    }
}

/// Full liquidation, Binance-ranked ADL, a fund of `insurance_fund_usd` and
/// no control. `adl_seed` 7 draws neither a vault nor a market's own fund
/// (`vault_rules` and `market_fund` read its bits).
fn plain_case(
    markets: Vec<MarketCase>,
    accounts: Vec<AccountCase>,
    insurance_fund_usd: f64,
    moves: Vec<(f64, [f64; 2])>,
) -> Case {
    let case = Case {
        markets,
        accounts,
        config: ConfigCase {
            mode: ModeCase::Full,
            fee: 0.005,
            insurance_fund_share: 0.5,
            latency_steps: 0,
            insurance_fund_usd,
            floor_fraction: 0.0,
            last_line: LastLineCase::Adl(PolicyCase::Binance, AdlScope::Position),
            breaker: None,
            vol_margin: None,
            oracle: None,
            collateral: Vec::new(),
        },
        moves,
        adl_seed: 7,
    };
    assert!(vault_rules(&case).is_none() && market_fund(&case).is_none());
    case
}

/// A long run of settlements with nothing touching the accounts: more than
/// the log holds pending (it is applied to every position when full), at a
/// rate that moves the balances by whole dollars. A restart after it copies
/// every account the full log paid (debug builds check the copy).
#[test]
fn many_settlements_without_a_touch_match() {
    let accounts = (0..30)
        .map(|i| {
            plain_account(
                i % 4 == 0,
                (i % 3) as u8,
                [i % 2 == 0, i % 5 < 2],
                [1_000.0 + 997.0 * f64::from(i), 20_000.0],
                2.0,
            )
        })
        .collect();
    let markets = vec![
        plain_market(500_000, 0.02, 1, 0.0003),
        plain_market(30_000, 0.05, 3, -0.0007),
    ];
    let case = plain_case(
        markets,
        accounts,
        1_000.0,
        vec![(0.0, [0.0001, -0.0002]); 50],
    );
    assert_eq!(compare(&case), Ok(50));
    assert_eq!(compare_restarts(&case), Ok(()));
}

/// The case the proptest shrank to when a trade did not apply the pending
/// funding first: a jump of +15.7%, then funding at every step, two shorts.
#[test]
fn funding_before_a_trade_after_a_jump() {
    let markets = vec![plain_market(
        1_000,
        0.142_772_516_518_930_4,
        1,
        0.001_688_209_891_942_107_6,
    )];
    let accounts = vec![
        plain_account(false, 0, [false; 2], [10.0; 2], 4.467_733_342_692_886_5),
        plain_account(false, 0, [false; 2], [10.0; 2], 1.0),
    ];
    let mut moves = vec![(0.0, [0.0; 2]); 5];
    moves[1].1[0] = 0.145_592_070_124_284_4;
    let case = plain_case(markets, accounts, 0.0, moves);
    assert_eq!(compare(&case), Ok(5));
}

/// The case the proptest shrank to when an account's balance changed
/// without marking it for the next restart: a cross account in both
/// markets, funding every step in the second one only.
#[test]
fn funding_in_one_market_of_a_cross_account() {
    let markets = vec![
        plain_market(1_000, 0.01, 1, 0.0),
        plain_market(1_000, 0.01, 1, 0.012_620_221_297_978_334),
    ];
    let accounts = vec![
        plain_account(false, 2, [false; 2], [70_963.008_853_277_54, 10.0], 1.0),
        plain_account(false, 0, [false; 2], [10.0; 2], 1.0),
    ];
    let case = plain_case(markets, accounts, 0.0, vec![(0.0, [0.0; 2]); 5]);
    assert_eq!(compare(&case), Ok(5));
    assert_eq!(compare_restarts(&case), Ok(()));
}

/// A position closed whole by ADL while a settlement is pending on it: a
/// 50x long taken over after funding at every step and a 12% drop, its
/// close filled by three different shorts (Binance-ranked, the whole
/// position). Its booking moves the bankrupt position once, after the
/// fills, so the position's pending funding must be paid before the first
/// fill, with its lots before the close (`Ledger::ready_counter`); paid
/// after (with no lots left) or not at all, the lazy engine's balances part
/// from the eager one's at that step.
#[test]
fn funding_pending_on_a_position_closed_by_adl() {
    let markets = vec![plain_market(1_000_000, 0.02, 1, 0.002)];
    let mut accounts = vec![plain_account(false, 0, [true; 2], [100_000.0; 2], 50.0)];
    accounts.extend(
        [30_000.0, 40_000.0, 50_000.0]
            .map(|usd| plain_account(false, 0, [false; 2], [usd; 2], 1.0)),
    );
    let mut moves = vec![(0.0, [0.0; 2]); 4];
    moves[2].0 = -0.12;
    let case = plain_case(markets, accounts, 0.0, moves);
    assert_eq!(compare(&case), Ok(4));
    // The close did go to ADL, to several winners.
    let mut lazy = build(&case, false).expect("the venue builds");
    let (_, path) = build_prices(&case);
    for prices in &path {
        lazy.step(prices).expect("the step runs");
    }
    assert_eq!(lazy.totals().adl_events, 1);
    assert!(lazy.accounts_adl_hit() > 1, "the close has several winners");
}
