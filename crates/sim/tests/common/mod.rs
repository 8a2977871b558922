// Over 600 lines: a case's description, its strategies and the venue's
// builders share their types.
//! Random venues for the property tests of `invariants.rs` and
//! `lazy_funding.rs`: the case description, its proptest strategies and the
//! builders of a venue from a case.
//!
//! One or two markets with 1-4 margin brackets and various tick/lot grids,
//! random populations (long and short, isolated and cross, some cross accounts
//! in both markets, leverage 1-100, entries dispersed around the start price),
//! every liquidation mode, latency, fee and insurance-fund setting, every last
//! line, no impact or square-root impact, the optional controls (circuit
//! breaker, volatility margin, oracle aggregation, non-USD collateral), a
//! liquidity vault or a market's own fund in some cases, and random-walk price
//! paths with crashes and squeezes.

// Each test file uses a part of the cases and builders.
#![allow(dead_code)]

use backstop_sim::engine::{
    AccountSpec, AdlScope, Engine, LastLine, LiquidationMode, VaultRules, VenueConfig,
};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::rng::{self, Purpose};
use backstop_sim::venue::adl::{AdlPolicy, BinanceRanking, BitmexRanking, HyperliquidRanking};
use backstop_sim::venue::controls::collateral::{self, CollateralAsset};
use backstop_sim::venue::controls::{
    AggregatedOracle, Aggregation, BreakerConfig, CircuitBreaker, CollateralAssetConfig,
    CollateralConfig, Controls, OracleConfig, ScheduledCollateral, VolMarginConfig,
    VolatilityMargin,
};
use backstop_sim::venue::impact::{ImpactModel, NoImpact, SquareRootImpact};
use backstop_sim::venue::market::{MarginSchedule, Market};
use proptest::prelude::*;

// ------------------------------------------------------------------ case description

/// `(tick_size, lot_size)` grids whose product is a whole number of micro-USD.
pub const GRIDS: [(f64, f64); 5] = [
    (0.1, 0.001),    // k = 100 (Binance BTCUSDT)
    (0.01, 0.01),    // k = 100
    (1.0, 0.000001), // k = 1
    (0.01, 0.001),   // k = 10
    (0.5, 0.002),    // k = 1000
];

/// One market: its grid, start price, margin brackets, funding and impact.
#[derive(Clone, Debug)]
pub struct MarketCase {
    pub grid: usize,
    /// Start price in ticks.
    pub start_ticks: i64,
    /// `(notional floor USD, imr, mmr)`, floors increasing from 0, rates non-decreasing,
    /// `mmr ≤ imr`.
    pub tiers: Vec<(f64, f64, f64)>,
    pub funding_interval: u32,
    pub funding_rate: f64,
    /// `(coefficient, volatility, volume USD)`; `None` = no impact.
    pub impact: Option<(f64, f64, f64)>,
    pub permanent_fraction: f64,
    pub half_life_steps: f64,
}

/// One account: margin mode, market(s), sides, notional, leverage and entries.
#[derive(Clone, Debug)]
pub struct AccountCase {
    pub isolated: bool,
    /// 0 or 1: that market (modulo the market count); 2: both markets if cross.
    pub which: u8,
    pub long: [bool; 2],
    pub notional_usd: [f64; 2],
    pub leverage: f64,
    /// Entry price = start × exp(offset).
    pub entry_offset: [f64; 2],
}

/// The ADL policy of a case (one per `AdlPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyCase {
    Bitmex,
    Binance,
    Hyperliquid,
    Dydx,
    ProRata,
    MinMaxLeverage,
    WaterFillPnl,
    CappedProRata,
    MinPnlHaircut,
}

/// Every policy, in the order the coverage test counts them.
pub const POLICIES: [PolicyCase; 9] = [
    PolicyCase::Bitmex,
    PolicyCase::Binance,
    PolicyCase::Hyperliquid,
    PolicyCase::Dydx,
    PolicyCase::ProRata,
    PolicyCase::MinMaxLeverage,
    PolicyCase::WaterFillPnl,
    PolicyCase::CappedProRata,
    PolicyCase::MinPnlHaircut,
];

/// The last line of a case: ADL (a policy and a scope), socialize or none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LastLineCase {
    Adl(PolicyCase, AdlScope),
    Socialize,
    SocializeFunding,
    None,
}

/// The liquidation mode of a case.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ModeCase {
    Full,
    ToTarget {
        buffer: f64,
        step_fraction: f64,
    },
    Chunked {
        max_fraction: f64,
        min_chunk_usd: f64,
        full_below_usd: f64,
        cooldown_steps: u32,
    },
}

/// The venue's rules and controls in a case.
#[derive(Clone, Debug)]
pub struct ConfigCase {
    pub mode: ModeCase,
    pub fee: f64,
    pub insurance_fund_share: f64,
    pub latency_steps: u32,
    pub insurance_fund_usd: f64,
    /// Floor as a fraction of the initial fund (may exceed 1: the fund never pays).
    pub floor_fraction: f64,
    pub last_line: LastLineCase,
    /// Circuit breaker `(threshold, window_steps, pause_steps)`.
    pub breaker: Option<(f64, u32, u32)>,
    /// Volatility margin `(sigma_ref, half_life_steps, update_interval_steps, cap)`.
    pub vol_margin: Option<(f64, f64, u32, f64)>,
    /// Oracle aggregation.
    pub oracle: Option<OracleCase>,
    /// Non-USD collateral assets.
    pub collateral: Vec<CollateralCase>,
}

/// One collateral asset: `(haircut, holders, share)`, priced by market
/// `market % markets` or by a schedule of `(step, price)` points.
#[derive(Clone, Debug)]
pub struct CollateralCase {
    pub weights: (f64, f64, f64),
    pub market: Option<usize>,
    pub schedule: Vec<(u32, f64)>,
}

/// A non-USD collateral asset, priced by a market or a schedule from step 0.
pub fn collateral_strategy() -> impl Strategy<Value = CollateralCase> {
    (
        (0.0f64..0.9, 0.0f64..=1.0, 0.0f64..0.5),
        prop::option::of(0usize..2),
        prop::collection::vec((1u32..30, 0.2f64..1.5), 0..4),
    )
        .prop_map(|(weights, market, points)| {
            // Strictly increasing steps; a point at step 0 so a schedule-only asset
            // has a price from the start.
            let mut schedule = vec![(0, 1.0)];
            for (gap, price) in points {
                let last = schedule.last().map_or(0, |p: &(u32, f64)| p.0);
                schedule.push((last + gap, price));
            }
            CollateralCase {
                weights,
                market,
                schedule,
            }
        })
}

/// The oracle aggregation of a case.
#[derive(Clone, Debug)]
pub struct OracleCase {
    /// `(sources, noise, lag_steps, outage_probability)`.
    pub sources: (u32, f64, u32, f64),
    /// `(trimmed mean?, trim_fraction, staleness_limit_steps, deviation_guard)`.
    pub combine: (bool, f64, u32, f64),
    /// `(faulty_source, fault_start_step, fault_steps, fault_wick, fault_stale)`.
    pub fault: (u32, u32, u32, f64, bool),
    pub seed: u64,
}

/// An oracle of 1-5 sources, with noise, lag, outages and one faulty source.
pub fn oracle_strategy() -> impl Strategy<Value = OracleCase> {
    (
        (1u32..=5, 0.0f64..0.01, 0u32..=3, 0.0f64..0.3),
        (any::<bool>(), 0.0f64..0.45, 0u32..=3, 0.01f64..0.5),
        (0u32..5, 0u32..40, 0u32..10, -0.6f64..0.6, any::<bool>()),
        any::<u64>(),
    )
        .prop_map(|(sources, combine, fault, seed)| OracleCase {
            sources,
            combine,
            fault: (fault.0 % sources.0, fault.1, fault.2, fault.3, fault.4),
            seed,
        })
}

/// A random venue and its path.
#[derive(Clone, Debug)]
pub struct Case {
    pub markets: Vec<MarketCase>,
    pub accounts: Vec<AccountCase>,
    pub config: ConfigCase,
    /// Per step: a common log-return and one per market (added).
    pub moves: Vec<(f64, [f64; 2])>,
    pub adl_seed: u64,
}

// ------------------------------------------------------------------ strategies

/// 1-4 margin brackets: floors increasing from 0, rates non-decreasing, `mmr ≤ imr`.
pub fn tiers_strategy() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
    (
        0.002f64..0.05,
        1.0f64..3.0,
        prop::collection::vec((200.0f64..50_000.0, 0.0f64..0.02, 0.0f64..0.03), 0..4),
    )
        .prop_map(|(mmr0, imr_mult, rest)| {
            let mut mmr = mmr0;
            let mut imr = (mmr0 * imr_mult).min(1.0);
            let mut floor = 0.0;
            let mut tiers = vec![(floor, imr, mmr)];
            for (gap, dmmr, dimr) in rest {
                floor += gap;
                mmr = (mmr + dmmr).min(0.5);
                imr = (imr + dimr).max(mmr).min(1.0);
                tiers.push((floor.round(), imr, mmr));
            }
            tiers
        })
}

/// A market: grid, start price, brackets, funding every 5-10 steps (or none), impact.
pub fn market_strategy() -> impl Strategy<Value = MarketCase> {
    (
        0..GRIDS.len(),
        500i64..200_000,
        tiers_strategy(),
        prop_oneof![1 => Just(0u32), 4 => 5u32..=10],
        -0.005f64..0.005,
        prop_oneof![
            1 => Just(None),
            2 => (0.5f64..2.0, 0.01f64..0.1, 1e4f64..1e7).prop_map(Some),
        ],
        prop_oneof![1 => Just(0.0), 1 => Just(1.0), 2 => 0.0f64..=1.0],
        0.5f64..20.0,
    )
        .prop_map(
            |(
                grid,
                start_ticks,
                tiers,
                funding_interval,
                funding_rate,
                impact,
                permanent_fraction,
                half_life_steps,
            )| MarketCase {
                grid,
                start_ticks,
                tiers,
                funding_interval,
                funding_rate,
                impact,
                permanent_fraction,
                half_life_steps,
            },
        )
}

/// An account: $10 to $200k log-uniform, leverage 1-100, entries within ±5% of the start.
pub fn account_strategy() -> impl Strategy<Value = AccountCase> {
    (
        prop::bool::weighted(0.3),
        0u8..3,
        any::<[bool; 2]>(),
        [1.0f64..4.3, 1.0f64..4.3],
        prop_oneof![1 => 1.0f64..5.0, 2 => 5.0f64..30.0, 1 => 30.0f64..=100.0],
        [-0.05f64..0.05, -0.05f64..0.05],
    )
        .prop_map(
            |(isolated, which, long, log_notional, leverage, entry_offset)| AccountCase {
                isolated,
                which,
                long,
                // $10 to $200k, log-uniform.
                notional_usd: log_notional.map(|x| 10f64.powf(x)),
                leverage,
                entry_offset,
            },
        )
}

/// Any ADL policy.
pub fn policy_strategy() -> impl Strategy<Value = PolicyCase> {
    (0..POLICIES.len()).prop_map(|i| POLICIES[i])
}

/// ADL (any policy and scope) in half the cases, else socialize, socialize funding or none.
pub fn last_line_strategy() -> impl Strategy<Value = LastLineCase> {
    prop_oneof![
        6 => (policy_strategy(), prop_oneof![Just(AdlScope::Position), Just(AdlScope::Shortfall)])
            .prop_map(|(p, s)| LastLineCase::Adl(p, s)),
        2 => Just(LastLineCase::Socialize),
        2 => Just(LastLineCase::SocializeFunding),
        2 => Just(LastLineCase::None),
    ]
}

/// Full, to-target or chunked liquidation.
pub fn mode_strategy() -> impl Strategy<Value = ModeCase> {
    prop_oneof![
        Just(ModeCase::Full),
        (
            0.0f64..0.5,
            prop_oneof![Just(1.0), Just(0.25), 0.01f64..1.0]
        )
            .prop_map(|(buffer, step_fraction)| ModeCase::ToTarget {
                buffer,
                step_fraction
            }),
        (
            0.05f64..=1.0,
            prop_oneof![Just(0.0), 0.0f64..5_000.0],
            prop_oneof![Just(0.0), 0.0f64..5_000.0],
            0u32..=5
        )
            .prop_map(
                |(max_fraction, min_chunk_usd, full_below_usd, cooldown_steps)| {
                    ModeCase::Chunked {
                        max_fraction,
                        min_chunk_usd,
                        full_below_usd,
                        cooldown_steps,
                    }
                }
            ),
    ]
}

/// The venue's rules, with each control on in some cases.
pub fn config_strategy() -> impl Strategy<Value = ConfigCase> {
    (
        mode_strategy(),
        prop_oneof![1 => Just(0.0), 3 => 0.0f64..0.05],
        prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0],
        0u32..=3,
        prop_oneof![2 => Just(0.0), 1 => 0.0f64..1_000.0, 2 => 1_000.0f64..10_000_000.0],
        prop_oneof![3 => Just(0.0), 1 => 0.0f64..1.2],
        last_line_strategy(),
        prop::option::of((0.005f64..0.3, 1u32..=6, 1u32..=8)),
        prop::option::of((0.0005f64..0.05, 0.5f64..20.0, 1u32..=6, 1.0f64..4.0)),
        prop::option::of(oracle_strategy()),
        prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(collateral_strategy(), 1..=2)],
    )
        .prop_map(
            |(
                mode,
                fee,
                insurance_fund_share,
                latency_steps,
                insurance_fund_usd,
                floor_fraction,
                last_line,
                breaker,
                vol_margin,
                oracle,
                collateral,
            )| ConfigCase {
                mode,
                fee,
                insurance_fund_share,
                latency_steps,
                insurance_fund_usd,
                floor_fraction,
                last_line,
                breaker,
                vol_margin,
                oracle,
                collateral,
            },
        )
}

/// One step's log-return: mostly a small random walk, sometimes a crash or a squeeze.
pub fn move_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        20 => -0.02f64..0.02,
        1 => -0.7f64..-0.1,  // crash: −10% to −50%
        1 => 0.1f64..0.41,   // squeeze: +10% to +50%
    ]
}

/// A whole case: 1-2 markets, 5-60 accounts, 20-80 steps.
pub fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(market_strategy(), 1..=2),
        prop::collection::vec(account_strategy(), 5..=60),
        config_strategy(),
        prop::collection::vec(
            (
                prop_oneof![4 => Just(0.0), 1 => move_strategy()],
                [move_strategy(), move_strategy()],
            ),
            20..=80,
        ),
        any::<u64>(),
    )
        .prop_map(|(markets, accounts, config, moves, adl_seed)| Case {
            markets,
            accounts,
            config,
            moves,
            adl_seed,
        })
}

// ------------------------------------------------------------------ building a venue

/// `x` USD in micro-USD.
pub fn usd(x: f64) -> Micros {
    Micros::from_usd(x).expect("finite amount")
}
/// The rate `x`.
pub fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).expect("finite rate")
}

/// Market `i` of a case.
pub fn build_market(i: usize, m: &MarketCase) -> Market {
    let (tick_size, lot_size) = GRIDS[m.grid];
    let k = (tick_size * lot_size * 1e6).round() as i64;
    assert!(k >= 1, "grid must give k ≥ 1");
    let rows: Vec<(Micros, Rate, Rate)> = m
        .tiers
        .iter()
        .map(|&(floor, imr, mmr)| (usd(floor), rate(imr), rate(mmr)))
        .collect();
    let impact: Box<dyn ImpactModel> = match m.impact {
        None => Box::new(NoImpact),
        Some((coefficient, volatility, volume_usd)) => Box::new(SquareRootImpact {
            coefficient,
            volatility,
            volume_usd,
        }),
    };
    Market {
        name: format!("m{i}"),
        tick_size,
        lot_size,
        micros_per_lot_tick: k,
        margin: MarginSchedule::new(&rows),
        funding_interval_steps: m.funding_interval,
        funding_rate: rate(m.funding_rate),
        impact,
        permanent_impact_fraction: m.permanent_fraction,
        temporary_impact_decay: 0.5f64.powf(1.0 / m.half_life_steps),
        impact_moves_mark: true,
    }
}

/// The accounts of a case, collateral = entry notional / leverage, rounded up.
pub fn build_population(case: &Case) -> Vec<AccountSpec> {
    let n_markets = case.markets.len();
    case.accounts
        .iter()
        .enumerate()
        .map(|(id, a)| {
            let chosen: Vec<usize> = if a.which == 2 && !a.isolated && n_markets == 2 {
                vec![0, 1]
            } else {
                vec![a.which as usize % 2 % n_markets]
            };
            let mut collateral = 0i64;
            let positions = chosen
                .iter()
                .map(|&m| {
                    let mc = &case.markets[m];
                    let (tick, lot) = GRIDS[mc.grid];
                    let k = (tick * lot * 1e6).round() as i64;
                    let entry =
                        ((mc.start_ticks as f64 * a.entry_offset[m].exp()).round() as i64).max(1);
                    let price = entry as f64 * tick;
                    let lots = ((a.notional_usd[m] / (price * lot)).round() as i64).max(1);
                    // Collateral = entry notional / leverage, rounded up.
                    let notional = lots as i128 * entry as i128 * k as i128;
                    collateral += (notional as f64 / a.leverage).ceil() as i64;
                    let signed = if a.long[m] { lots } else { -lots };
                    (m as u16, signed, entry)
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

/// The venue configuration of a case.
pub fn build_config(c: &ConfigCase) -> VenueConfig {
    let mode = match c.mode {
        ModeCase::Full => LiquidationMode::Full,
        ModeCase::ToTarget {
            buffer,
            step_fraction,
        } => LiquidationMode::ToTarget {
            buffer: rate(buffer),
            step_fraction,
        },
        ModeCase::Chunked {
            max_fraction,
            min_chunk_usd,
            full_below_usd,
            cooldown_steps,
        } => LiquidationMode::Chunked {
            max_fraction,
            min_chunk: usd(min_chunk_usd),
            full_below: usd(full_below_usd),
            cooldown_steps,
            // Half the chunked cases send the whole position after the first
            // chunk (Hyperliquid), from the fraction's bits: no draw of its own.
            then_whole: max_fraction.to_bits() % 2 == 1,
        },
    };
    let last_line = match c.last_line {
        LastLineCase::Adl(p, scope) => LastLine::Adl {
            policy: match p {
                PolicyCase::Bitmex => AdlPolicy::Queue(Box::new(BitmexRanking)),
                PolicyCase::Binance => AdlPolicy::Queue(Box::new(BinanceRanking)),
                PolicyCase::Hyperliquid => AdlPolicy::Queue(Box::new(HyperliquidRanking)),
                PolicyCase::Dydx => AdlPolicy::DydxWalk,
                PolicyCase::ProRata => AdlPolicy::ProRata,
                PolicyCase::MinMaxLeverage => AdlPolicy::MinMaxLeverage,
                PolicyCase::WaterFillPnl => AdlPolicy::WaterFillPnl,
                PolicyCase::CappedProRata => AdlPolicy::CappedProRata { cap: 0.3 },
                PolicyCase::MinPnlHaircut => AdlPolicy::MinPnlHaircut,
            },
            scope,
        },
        LastLineCase::Socialize => LastLine::Socialize,
        LastLineCase::SocializeFunding => LastLine::SocializeFunding,
        LastLineCase::None => LastLine::None,
    };
    let fund = usd(c.insurance_fund_usd);
    VenueConfig {
        mode,
        fee: rate(c.fee),
        insurance_fund_share: rate(c.insurance_fund_share),
        latency_steps: c.latency_steps,
        insurance_fund: fund,
        insurance_fund_floor: Micros((fund.0 as f64 * c.floor_fraction).round() as i64),
        last_line,
    }
}

/// The controls a case turns on (docs/model.md §8 must hold with every one of them).
pub fn build_controls(c: &ConfigCase, markets: usize) -> Controls {
    Controls {
        breaker: c.breaker.map(|(threshold, window_steps, pause_steps)| {
            Box::new(CircuitBreaker::new(
                &BreakerConfig {
                    enabled: true,
                    threshold,
                    window_steps,
                    pause_steps,
                },
                markets,
            )) as _
        }),
        margin: c
            .vol_margin
            .map(|(sigma_ref, half_life_steps, update_interval_steps, cap)| {
                Box::new(VolatilityMargin::new(
                    &VolMarginConfig {
                        enabled: true,
                        sigma_ref,
                        half_life_steps,
                        update_interval_steps,
                        cap,
                    },
                    markets,
                )) as _
            }),
        oracle: c.oracle.as_ref().map(|o| {
            let cfg = OracleConfig {
                enabled: true,
                sources: o.sources.0,
                noise: o.sources.1,
                lag_steps: o.sources.2,
                outage_probability: o.sources.3,
                aggregation: if o.combine.0 {
                    Aggregation::TrimmedMean
                } else {
                    Aggregation::Median
                },
                trim_fraction: o.combine.1,
                staleness_limit_steps: o.combine.2,
                deviation_guard: o.combine.3,
                faulty_source: o.fault.0,
                fault_start_step: o.fault.1,
                fault_steps: o.fault.2,
                fault_wick: o.fault.3,
                fault_stale: o.fault.4,
            };
            Box::new(AggregatedOracle::new(
                &cfg,
                markets,
                rng::stream(o.seed, Purpose::Oracle, 0),
            )) as _
        }),
    }
}

/// Gives the accounts the case's collateral assets (shares scaled so they sum
/// to at most 1), at the step-0 prices.
// A few lines over the usual length: one branch per way of drawing holdings.
pub fn give_collateral(e: &mut Engine, case: &Case) -> Result<(), String> {
    let c = &case.config.collateral;
    if c.is_empty() {
        return Ok(());
    }
    let scale = c.iter().map(|a| a.weights.2).sum::<f64>().max(1.0);
    let assets: Vec<CollateralAsset> = c
        .iter()
        .enumerate()
        .map(|(k, a)| CollateralAsset {
            name: format!("a{k}"),
            weight: 1.0 - a.weights.0,
            market: a.market.map(|m| m % case.markets.len()),
            schedule: a
                .schedule
                .iter()
                .map(|&(step, price)| (f64::from(step), price))
                .collect(),
            by_time: false,
        })
        .collect();
    let config = CollateralConfig {
        enabled: true,
        asset: c
            .iter()
            .enumerate()
            .map(|(k, a)| {
                (
                    format!("a{k}"),
                    CollateralAssetConfig {
                        haircut: a.weights.0,
                        holders: a.weights.1,
                        share: a.weights.2 / scale,
                        market: None,
                        schedule: None,
                    },
                )
            })
            .collect(),
    };
    let marks: Vec<f64> = (0..case.markets.len())
        .map(|m| e.mark_price(m as u16))
        .collect();
    let prices: Vec<f64> = assets
        .iter()
        .map(|a| a.weighted_price(0, 0, &marks))
        .collect();
    let deposits: Vec<i64> = (0..e.accounts().len() as u32)
        .map(|a| e.collateral(a).0)
        .collect();
    let isolated: Vec<bool> = e.accounts().iter().map(|a| a.isolated).collect();
    let mut rng = rng::stream(case.adl_seed, Purpose::Collateral, 0);
    let holdings = collateral::allocate(&config, &prices, &deposits, &isolated, &mut rng);
    let equity_before: Vec<Micros> = (0..deposits.len() as u32).map(|a| e.equity(a)).collect();
    e.set_collateral(Box::new(ScheduledCollateral::new(assets)), &holdings)
        .map_err(|err| format!("collateral refused: {err}"))?;
    // Each account's equity falls by what it paid less what its units count for.
    for (a, before) in equity_before.iter().enumerate() {
        let paid: i64 = holdings
            .iter()
            .filter(|h| h.account == a as u32)
            .map(|h| h.cost)
            .sum();
        let expected = *before - Micros(paid) + e.collateral_value(a as u32);
        if e.equity(a as u32) != expected {
            return Err(format!(
                "collateral took account {a}'s equity from {before} to {}, expected {expected}",
                e.equity(a as u32)
            ));
        }
    }
    Ok(())
}

/// Path prices of every step, per market (log-price clamped to [2%, 3000%] of start).
pub fn build_prices(case: &Case) -> (Vec<f64>, Vec<Vec<f64>>) {
    let start: Vec<f64> = case
        .markets
        .iter()
        .map(|m| m.start_ticks as f64 * GRIDS[m.grid].0)
        .collect();
    let path = prices_along(case, &start, &case.moves);
    (start, path)
}

/// The prices of every step of `moves` from `start`, per market, as [`build_prices`].
pub fn prices_along(case: &Case, start: &[f64], moves: &[(f64, [f64; 2])]) -> Vec<Vec<f64>> {
    let mut log = vec![0.0f64; case.markets.len()];
    moves
        .iter()
        .map(|(common, own)| {
            (0..case.markets.len())
                .map(|m| {
                    log[m] = (log[m] + common + own[m]).clamp(0.02f64.ln(), 30f64.ln());
                    start[m] * log[m].exp()
                })
                .collect()
        })
        .collect()
}

/// A liquidity vault for one case in three, drawn from bits of the case's ADL
/// seed (no draw of its own: the other cases stay as they were): capital from
/// $0 to $1.5M, a floor from 0 to 90% of it, an unwind speed, and the takeover
/// threshold from Hyperliquid's 2/3 of maintenance to all of it.
pub fn vault_rules(case: &Case) -> Option<VaultRules> {
    let bits = case.adl_seed.rotate_left(17);
    if !bits.is_multiple_of(3) {
        return None;
    }
    let capital = usd(((bits >> 8) % 1_500_000) as f64);
    let floor = Micros(capital.0 / 10 * ((bits >> 32) % 10) as i64);
    let unwind_fraction = [0.0, 0.05, 0.3, 1.0][((bits >> 44) % 4) as usize];
    let takeover_below = rate([2.0 / 3.0, 0.9, 1.0][((bits >> 50) % 3) as usize]);
    Some(VaultRules {
        capital,
        floor,
        unwind_fraction,
        takeover_below,
    })
}

/// A market's own fund (dYdX v4's isolated market) for one case in three,
/// drawn from other bits of the case's ADL seed than the vault's (no draw of
/// its own): market `bits % markets`, $0 to $5k, a floor from 0 to 50% of it.
pub fn market_fund(case: &Case) -> Option<(u16, Micros, Micros)> {
    let bits = case.adl_seed.rotate_left(41);
    if !bits.is_multiple_of(3) {
        return None;
    }
    let market = ((bits >> 4) % case.markets.len() as u64) as u16;
    let initial = usd(((bits >> 12) % 5_000) as f64);
    let floor = Micros(initial.0 / 10 * ((bits >> 40) % 6) as i64);
    Some((market, initial, floor))
}

// ------------------------------------------------------------------ a whole venue

/// A venue built from a case, with the rules its checks need.
pub struct Venue {
    /// The engine, not yet stepped.
    pub engine: Engine,
    /// The liquidity vault's rules, if the case has one ([`vault_rules`]).
    pub vault: Option<VaultRules>,
    /// `(market, initial, floor)` of a market's own fund, if any ([`market_fund`]).
    pub own_fund: Option<(u16, Micros, Micros)>,
}

/// The case's markets, in order.
pub fn build_markets(case: &Case) -> Vec<Market> {
    case.markets
        .iter()
        .enumerate()
        .map(|(i, m)| build_market(i, m))
        .collect()
}

/// [`Engine::new`] of the case's markets, population and configuration: no
/// controls, collateral, vault or market fund (what [`Engine::restart_from`]
/// rebuilds).
pub fn new_engine(case: &Case) -> Result<Engine, String> {
    let (start, _) = build_prices(case);
    Engine::new(
        build_markets(case),
        &start,
        &build_population(case),
        build_config(&case.config),
        Engine::test_rng(case.adl_seed),
    )
    .map_err(|err| format!("engine refused the population: {err}"))
}

/// The case's whole venue: [`new_engine`], then the journal on or off
/// (`record_events`: on, funding is settled eagerly), the controls, the
/// collateral assets, the vault and a market's own fund.
///
/// # Errors
/// The engine's refusal of the population or of the collateral, or a
/// collateral deposit that moved an account's equity wrongly.
pub fn build_venue(case: &Case, record_events: bool) -> Result<Venue, String> {
    let mut engine = new_engine(case)?;
    engine.set_record_events(record_events);
    engine.set_controls(build_controls(&case.config, case.markets.len()));
    give_collateral(&mut engine, case)?;
    let vault = vault_rules(case);
    if let Some(rules) = vault {
        engine.set_vault(rules);
    }
    let own_fund = market_fund(case);
    if let Some((m, initial, floor)) = own_fund {
        engine.set_market_fund(m, initial, floor);
    }
    Ok(Venue {
        engine,
        vault,
        own_fund,
    })
}
