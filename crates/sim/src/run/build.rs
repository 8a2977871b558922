//! From the scenario to the engine's plain values: markets, the venue's rules,
//! the controls of a path, the population, the recorded order books and the
//! non-USD collateral.
//!
//! The one place where the scenario (`crate::config`) meets the venue and the
//! engine. Scenario values are validated before any of these conversions; a
//! value that still does not convert (an amount above the engine's range) is an
//! error naming its key, never a zero.

use std::path::Path;
use std::sync::Arc;

use crate::config::field::{FieldError, above_range, key};
use crate::config::key_path::KeyPath;
use crate::config::market::{ImpactModelKind, ReplayImpact};
use crate::config::path::PathConfig;
use crate::config::population::{BelowMaintenance, PopulationConfig};
use crate::config::scenario::Scenario;
use crate::config::validate::collateral_assets;
use crate::config::venue::{
    AdlAllocation, AdlRankingKind, ControlsConfig, LastLineKind, LiquidationLimitKind,
    LiquidationModeKind,
};
use crate::engine::{
    AccountSpec, LastLine, LiquidationLimit, LiquidationMode, VaultRules, VenueConfig,
};
use crate::error::{InputError, PopulationError, SimError};
use crate::money::{MAX_MICROS, Micros, Rate};
use crate::rng::{self, Purpose};
use crate::venue::adl::{AdlPolicy, BinanceRanking, BitmexRanking, HyperliquidRanking};
use crate::venue::controls::collateral::{self, CollateralAsset, CollateralHolding};
use crate::venue::controls::{
    AggregatedOracle, CircuitBreaker, Controls, LiquidationPause, MarginScaling, MarkOracle,
    VolatilityMargin,
};
use crate::venue::impact::{BookDepthImpact, DepthBook, ImpactModel, NoImpact, SquareRootImpact};
use crate::venue::market::{MarginSchedule, Market, MarketId};

use super::population;

/// The USD amount at `k` in micro-USD.
///
/// # Errors
/// An amount that is not finite or above [`crate::money::MAX_USD`] in size.
fn usd(k: impl FnOnce() -> KeyPath, x: f64) -> Result<Micros, InputError> {
    Micros::from_usd(x).ok_or_else(|| {
        InputError::OutOfRange(FieldError {
            key: k(),
            message: above_range(x),
        })
    })
}

/// The fraction at `k` as a rate in parts per billion.
///
/// # Errors
/// A fraction that is not finite or out of `i64` ppb.
fn rate(k: impl FnOnce() -> KeyPath, x: f64) -> Result<Rate, InputError> {
    Rate::from_fraction(x).ok_or_else(|| {
        InputError::OutOfRange(FieldError {
            key: k(),
            message: format!("{x:e} is not a rate the engine can hold (parts per billion in i64)"),
        })
    })
}

/// Market `i`'s recorded order book, for `book_depth` impact.
pub(super) type DepthBooks = Vec<Option<Arc<DepthBook>>>;

/// The venue's markets, in scenario order (sorted by key); `depth_books[i]` is
/// market `i`'s recorded book for `book_depth` impact.
///
/// # Errors
/// A tier floor or a rate out of the engine's integer range, at its key.
pub fn build_markets(
    s: &Scenario,
    depth_books: &[Option<Arc<DepthBook>>],
) -> Result<Vec<Market>, InputError> {
    let replay = matches!(s.path, PathConfig::Replay(_));
    s.market
        .iter()
        .enumerate()
        .map(|(i, (name, m))| {
            let mk = || key("market").key(name.as_str());
            let rows = m
                .tiers
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    let tk = || mk().key("tiers").index(j);
                    Ok((
                        usd(|| tk().key("notional_floor"), t.notional_floor)?,
                        rate(|| tk().key("imr"), t.imr)?,
                        rate(|| tk().key("mmr"), t.mmr)?,
                    ))
                })
                .collect::<Result<Vec<(Micros, Rate, Rate)>, InputError>>()?;
            let impact: Box<dyn ImpactModel> = match m.impact.model {
                ImpactModelKind::None => Box::new(NoImpact),
                ImpactModelKind::SquareRoot => Box::new(SquareRootImpact {
                    coefficient: m.impact.coefficient,
                    volatility: m.impact.volatility,
                    volume_usd: m.impact.volume_usd,
                }),
                ImpactModelKind::BookDepth => match depth_books.get(i).cloned().flatten() {
                    Some(book) => Box::new(BookDepthImpact::new(book)),
                    None => Box::new(NoImpact),
                },
            };
            let micros_per_lot_tick = (m.tick_size * m.lot_size * 1e6).round();
            if !(1.0..=MAX_MICROS as f64).contains(&micros_per_lot_tick) {
                return Err(InputError::OutOfRange(FieldError {
                    key: mk().key("lot_size"),
                    message: format!(
                        "tick_size × lot_size = {:e} USD is not a whole number of micro-USD \
                         the engine can hold",
                        m.tick_size * m.lot_size
                    ),
                }));
            }
            Ok(Market {
                name: name.clone(),
                tick_size: m.tick_size,
                lot_size: m.lot_size,
                micros_per_lot_tick: micros_per_lot_tick as i64,
                margin: MarginSchedule::new(&rows),
                funding_interval_steps: m.funding.interval_steps,
                funding_rate: rate(
                    || mk().key("funding").key("rate"),
                    m.funding
                        .cap
                        .map_or(m.funding.rate, |c| m.funding.rate.clamp(-c, c)),
                )?,
                impact,
                permanent_impact_fraction: m.impact.permanent_fraction,
                temporary_impact_decay: 0.5f64.powf(1.0 / m.impact.half_life_steps),
                impact_moves_mark: !replay || m.impact.on_replay == ReplayImpact::Excess,
            })
        })
        .collect()
}

/// The venue's rules from the scenario.
///
/// # Errors
/// An amount or a rate out of the engine's integer range, at its key.
pub fn venue_config(s: &Scenario) -> Result<VenueConfig, InputError> {
    let l = &s.liquidation;
    let at = |field: &'static str| move || key("liquidation").key(field);
    let mode = match l.mode {
        LiquidationModeKind::Full => LiquidationMode::Full,
        LiquidationModeKind::ToTarget => LiquidationMode::ToTarget {
            buffer: rate(at("target_buffer"), l.target_buffer)?,
            step_fraction: l.target_step,
        },
        LiquidationModeKind::Chunked => LiquidationMode::Chunked {
            max_fraction: l.chunk_fraction,
            min_chunk: usd(at("chunk_min_usd"), l.chunk_min_usd)?,
            full_below: usd(at("chunk_full_below_usd"), l.chunk_full_below_usd)?,
            cooldown_steps: l.cooldown_steps,
            then_whole: l.chunk_then_whole,
        },
        LiquidationModeKind::PerBlock => per_block(s)?,
    };
    let ll = &s.last_line;
    let last_line = match ll.kind {
        LastLineKind::None => LastLine::None,
        LastLineKind::Socialize => LastLine::Socialize,
        LastLineKind::SocializeFunding => LastLine::SocializeFunding,
        LastLineKind::Adl => LastLine::Adl {
            policy: adl_policy(ll.adl, ll.ranking, ll.cap),
            scope: ll.scope,
        },
    };
    Ok(VenueConfig {
        mode,
        fee: rate(at("fee"), l.fee)?,
        insurance_fund_share: rate(at("insurance_fund_share"), l.insurance_fund_share)?,
        latency_steps: l.latency_steps,
        insurance_fund: usd(|| key("insurance_fund.initial"), s.insurance_fund.initial)?,
        insurance_fund_floor: usd(|| key("insurance_fund.floor"), s.insurance_fund.floor)?,
        last_line,
    })
}

/// `mode = "per_block"`: the block limits of `[liquidation.blocks]` (dYdX's
/// mainnet values without the table), `floor(step_seconds / block_seconds)`
/// blocks a step (validation keeps it at least one).
fn per_block(s: &Scenario) -> Result<LiquidationMode, InputError> {
    let b = s.liquidation.blocks.clone().unwrap_or_default();
    let at = |field: &'static str| move || key("liquidation.blocks").key(field);
    // A hair over the quotient so that 60 / 0.1 is 600 blocks, not 599.
    let blocks = (f64::from(s.step_seconds) / b.block_seconds + 1e-9).floor();
    Ok(LiquidationMode::PerBlock {
        blocks: blocks.clamp(1.0, f64::from(u32::MAX)) as u32,
        portion: rate(at("position_portion"), b.position_portion)?,
        min_notional: usd(at("min_position_usd"), b.min_position_usd)?,
        max_account: usd(at("max_account_usd"), b.max_account_usd)?,
    })
}

/// The liquidation orders' price limit from `[liquidation.limit]`, if any
/// (`kind = "fillable"`: dYdX v4's fillable price).
///
/// # Errors
/// A parameter out of the engine's rate range, at its key.
pub fn liquidation_limit(s: &Scenario) -> Result<Option<LiquidationLimit>, InputError> {
    let Some(l) = &s.liquidation.limit else {
        return Ok(None);
    };
    if l.kind == LiquidationLimitKind::None {
        return Ok(None);
    }
    let at = |field: &'static str| move || key("liquidation.limit").key(field);
    Ok(Some(LiquidationLimit {
        spread_to_maintenance: rate(at("spread_to_maintenance"), l.spread_to_maintenance)?,
        bankruptcy_adjustment: rate(at("bankruptcy_adjustment"), l.bankruptcy_adjustment)?,
    }))
}

/// Each market's own insurance fund from `[market.<name>.insurance_fund]`,
/// as `(market index, initial, floor)`, in market order.
///
/// # Errors
/// An amount out of the engine's integer range, at its key.
pub fn market_funds(s: &Scenario) -> Result<Vec<(MarketId, Micros, Micros)>, InputError> {
    let mut funds = Vec::new();
    for (i, (name, m)) in s.market.iter().enumerate() {
        let Some(f) = &m.insurance_fund else {
            continue;
        };
        let at = |field: &'static str| {
            move || {
                key("market")
                    .key(name.as_str())
                    .key("insurance_fund")
                    .key(field)
            }
        };
        let index = MarketId::try_from(i).map_err(|_| {
            InputError::OutOfRange(FieldError {
                key: key("market"),
                message: "too many markets".to_owned(),
            })
        })?;
        funds.push((
            index,
            usd(at("initial"), f.initial)?,
            usd(at("floor"), f.floor)?,
        ));
    }
    Ok(funds)
}

/// The liquidity vault's rules from the scenario's `[vault]`, if it has one.
///
/// # Errors
/// An amount or a rate out of the engine's integer range, at its key.
pub fn vault_rules(s: &Scenario) -> Result<Option<VaultRules>, InputError> {
    let Some(v) = &s.vault else {
        return Ok(None);
    };
    let at = |field: &'static str| move || key("vault").key(field);
    Ok(Some(VaultRules {
        capital: usd(at("capital"), v.capital)?,
        floor: usd(at("floor"), v.floor)?,
        unwind_fraction: v.unwind_fraction,
        takeover_below: rate(at("takeover_below"), v.takeover_below)?,
    }))
}

/// The ADL allocation the scenario names; `cap` is `last_line.cap`.
fn adl_policy(allocation: AdlAllocation, ranking: AdlRankingKind, cap: f64) -> AdlPolicy {
    match (allocation, ranking) {
        (AdlAllocation::ProRata, _) => AdlPolicy::ProRata,
        (AdlAllocation::MinMaxLeverage, _) => AdlPolicy::MinMaxLeverage,
        (AdlAllocation::WaterFillPnl, _) => AdlPolicy::WaterFillPnl,
        (AdlAllocation::CappedProRata, _) => AdlPolicy::CappedProRata { cap },
        (AdlAllocation::MinPnlHaircut, _) => AdlPolicy::MinPnlHaircut,
        (AdlAllocation::Queue, AdlRankingKind::Dydx) => AdlPolicy::DydxWalk,
        (AdlAllocation::Queue, AdlRankingKind::Bitmex) => AdlPolicy::Queue(Box::new(BitmexRanking)),
        (AdlAllocation::Queue, AdlRankingKind::Binance) => {
            AdlPolicy::Queue(Box::new(BinanceRanking))
        }
        (AdlAllocation::Queue, AdlRankingKind::Hyperliquid) => {
            AdlPolicy::Queue(Box::new(HyperliquidRanking))
        }
    }
}

/// The controls of path `path_index` of a scenario over `markets` markets; the
/// oracle draws from the path's own stream of `seed`.
pub fn controls_for_path(
    cfg: &ControlsConfig,
    markets: usize,
    seed: u64,
    path_index: u64,
) -> Controls {
    Controls {
        breaker: cfg.breaker.enabled.then(|| {
            Box::new(CircuitBreaker::new(&cfg.breaker, markets)) as Box<dyn LiquidationPause>
        }),
        margin: cfg.vol_margin.enabled.then(|| {
            Box::new(VolatilityMargin::new(&cfg.vol_margin, markets)) as Box<dyn MarginScaling>
        }),
        oracle: cfg.oracle.enabled.then(|| {
            let rng = rng::stream(seed, Purpose::Oracle, path_index);
            Box::new(AggregatedOracle::new(&cfg.oracle, markets, rng)) as Box<dyn MarkOracle>
        }),
    }
}

/// The recorded order book of every `book_depth` market (files relative to
/// `base_dir`), `None` for the others.
pub(super) fn depth_books(scenario: &Scenario, base_dir: &Path) -> Result<DepthBooks, SimError> {
    scenario
        .market
        .iter()
        .map(|(name, m)| match &m.impact.file {
            Some(file) if m.impact.model == ImpactModelKind::BookDepth => {
                let k = key("market").key(name.as_str()).key("impact").key("file");
                let file = base_dir.join(file);
                let table = backstop_data::history::read_depth(&file).map_err(|error| {
                    InputError::DepthFile {
                        key: k.clone(),
                        error: Box::new(error),
                    }
                })?;
                let book =
                    DepthBook::from_rows(&table.rows).map_err(|error| InputError::DepthBook {
                        key: k,
                        file: file.clone(),
                        error,
                    })?;
                Ok(Some(Arc::new(book)))
            }
            _ => Ok(None),
        })
        .collect()
}

/// The starting accounts: generated from the scenario's seed at the path's
/// start prices (stream `population_stream`: 0 for a fixed population, the path
/// index with `resample = "per_path"`; with how far the lot grid moved their
/// notionals), or read from the snapshot the scenario names (relative to
/// `base_dir`), with accounts below maintenance at the start mark refused, kept
/// or dropped as `population.below_maintenance` says.
pub(super) fn population(
    scenario: &Scenario,
    markets: &[Market],
    start: &[f64],
    base_dir: &Path,
    population_stream: u64,
) -> Result<StartBook, SimError> {
    Ok(match &scenario.population {
        cfg @ PopulationConfig::Generated { .. } => {
            let mut rng = rng::stream(scenario.seed, Purpose::Population, population_stream);
            let (accounts, rounding) = population::generate(cfg, markets, start, &mut rng)?;
            StartBook {
                accounts,
                below_maintenance: 0,
                dropped: 0,
                lot_rounding: Some(rounding),
            }
        }
        PopulationConfig::Parquet {
            file,
            below_maintenance,
        } => {
            let rows = backstop_data::read_positions(&base_dir.join(file))?;
            let mut accounts = population::from_rows(&rows, markets)?;
            let below = population::below_maintenance(&accounts, markets, start);
            match below_maintenance {
                _ if below.is_empty() => StartBook {
                    accounts,
                    below_maintenance: 0,
                    dropped: 0,
                    lot_rounding: None,
                },
                BelowMaintenance::Error => {
                    let mut ids: Vec<u64> = below.iter().map(|&i| accounts[i].id).collect();
                    ids.dedup();
                    return Err(PopulationError::BelowMaintenance {
                        file: base_dir.join(file),
                        count: below.len(),
                        total: accounts.len(),
                        first: ids
                            .iter()
                            .take(5)
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                    .into());
                }
                BelowMaintenance::Keep => StartBook {
                    accounts,
                    below_maintenance: below.len() as u64,
                    dropped: 0,
                    lot_rounding: None,
                },
                BelowMaintenance::Drop => {
                    let mut i = 0;
                    let mut next = below.iter().peekable();
                    accounts.retain(|_| {
                        let drop = next.next_if_eq(&&i).is_some();
                        i += 1;
                        !drop
                    });
                    if accounts.is_empty() {
                        return Err(PopulationError::Empty.into());
                    }
                    StartBook {
                        accounts,
                        below_maintenance: below.len() as u64,
                        dropped: below.len() as u64,
                        lot_rounding: None,
                    }
                }
            }
        }
    })
}

/// A starting population and what was done to make it a live venue's book.
pub(super) struct StartBook {
    /// The accounts (margin units).
    pub accounts: Vec<AccountSpec>,
    /// Margin units of a snapshot below maintenance at the start mark (kept or dropped).
    pub below_maintenance: u64,
    /// Of those, the ones removed (`below_maintenance = "drop"`).
    pub dropped: u64,
    /// How far the lot grid moved a generated population's notionals (`None`
    /// for a snapshot, whose rows are refused when it moves them by more than
    /// 1%).
    pub lot_rounding: Option<population::LotRounding>,
}

/// Collateral assets, and who holds how much of each.
pub(super) type Collateral = (Vec<CollateralAsset>, Vec<CollateralHolding>);

/// The non-USD collateral of `[controls.collateral]` (`None` when off): the
/// assets, and who holds how much, drawn from `(seed, Purpose::Collateral,
/// stream)` (0 for a fixed population, the path index for a per-path one) at the
/// step-0 marks (`start` prices on each market's tick grid) and the population's
/// deposits.
pub(super) fn collateral_holdings(
    scenario: &Scenario,
    markets: &[Market],
    start: &[f64],
    start_ns: i64,
    population: &[AccountSpec],
    stream: u64,
) -> Result<Option<Collateral>, SimError> {
    let cfg = &scenario.controls.collateral;
    if !cfg.enabled || cfg.asset.is_empty() {
        return Ok(None);
    }
    let assets =
        collateral_assets(cfg, &scenario.market_names()).map_err(InputError::Collateral)?;
    let marks: Vec<f64> = markets
        .iter()
        .zip(start)
        .map(|(m, &p)| m.price(m.ticks(p)))
        .collect();
    let prices: Vec<f64> = assets
        .iter()
        .map(|a| a.weighted_price(0, start_ns, &marks))
        .collect();
    let deposits: Vec<i64> = population.iter().map(|a| a.collateral.0).collect();
    let isolated: Vec<bool> = population.iter().map(|a| a.isolated).collect();
    let mut rng = rng::stream(scenario.seed, Purpose::Collateral, stream);
    let holdings = collateral::allocate(cfg, &prices, &deposits, &isolated, &mut rng);
    Ok(Some((assets, holdings)))
}
