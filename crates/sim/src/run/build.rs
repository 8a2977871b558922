//! From the scenario to the engine's plain values: markets, the venue's rules,
//! the controls of a path, the population, the recorded order books and the
//! non-USD collateral.
//!
//! The one place where the scenario (`crate::config`) meets the venue and the
//! engine. Scenario values are validated before any of these conversions, so the
//! fallbacks of `usd` and `rate` are never taken.

use std::path::Path;
use std::sync::Arc;

use crate::config::field::key;
use crate::config::market::{ImpactModelKind, ReplayImpact};
use crate::config::path::PathConfig;
use crate::config::population::{BelowMaintenance, PopulationConfig};
use crate::config::scenario::Scenario;
use crate::config::validate::collateral_assets;
use crate::config::venue::{
    AdlAllocation, AdlRankingKind, ControlsConfig, LastLineKind, LiquidationModeKind,
};
use crate::engine::{AccountSpec, LastLine, LiquidationMode, VenueConfig};
use crate::error::{InputError, PopulationError, SimError};
use crate::money::{Micros, Rate};
use crate::rng::{self, Purpose};
use crate::venue::adl::{AdlPolicy, BinanceRanking, BitmexRanking, HyperliquidRanking};
use crate::venue::controls::collateral::{self, CollateralAsset, CollateralHolding};
use crate::venue::controls::{
    AggregatedOracle, CircuitBreaker, Controls, LiquidationPause, MarginScaling, MarkOracle,
    VolatilityMargin,
};
use crate::venue::impact::{BookDepthImpact, DepthBook, ImpactModel, NoImpact, SquareRootImpact};
use crate::venue::market::{MarginSchedule, Market};

use super::population;

/// A validated USD amount in micro-USD.
fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap_or(Micros::ZERO)
}

/// A validated fraction as a rate.
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap_or(Rate::ZERO)
}

/// Market `i`'s recorded order book, for `book_depth` impact.
pub(super) type DepthBooks = Vec<Option<Arc<DepthBook>>>;

/// The venue's markets, in scenario order (sorted by key); `depth_books[i]` is
/// market `i`'s recorded book for `book_depth` impact.
pub fn build_markets(s: &Scenario, depth_books: &[Option<Arc<DepthBook>>]) -> Vec<Market> {
    let replay = matches!(s.path, PathConfig::Replay(_));
    s.market
        .iter()
        .enumerate()
        .map(|(i, (name, m))| {
            let rows: Vec<(Micros, Rate, Rate)> = m
                .tiers
                .iter()
                .map(|t| (usd(t.notional_floor), rate(t.imr), rate(t.mmr)))
                .collect();
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
            Market {
                name: name.clone(),
                tick_size: m.tick_size,
                lot_size: m.lot_size,
                micros_per_lot_tick: (m.tick_size * m.lot_size * 1e6).round() as i64,
                margin: MarginSchedule::new(&rows),
                funding_interval_steps: m.funding.interval_steps,
                funding_rate: rate(m.funding.rate),
                impact,
                permanent_impact_fraction: m.impact.permanent_fraction,
                temporary_impact_decay: 0.5f64.powf(1.0 / m.impact.half_life_steps),
                impact_moves_mark: !replay || m.impact.on_replay == ReplayImpact::Excess,
            }
        })
        .collect()
}

/// The venue's rules from the scenario.
pub fn venue_config(s: &Scenario) -> VenueConfig {
    let l = &s.liquidation;
    let mode = match l.mode {
        LiquidationModeKind::Full => LiquidationMode::Full,
        LiquidationModeKind::ToTarget => LiquidationMode::ToTarget {
            buffer: rate(l.target_buffer),
            step_fraction: l.target_step,
        },
        LiquidationModeKind::Chunked => LiquidationMode::Chunked {
            max_fraction: l.chunk_fraction,
            min_chunk: usd(l.chunk_min_usd),
            full_below: usd(l.chunk_full_below_usd),
            cooldown_steps: l.cooldown_steps,
        },
    };
    let ll = &s.last_line;
    let last_line = match ll.kind {
        LastLineKind::None => LastLine::None,
        LastLineKind::Socialize => LastLine::Socialize,
        LastLineKind::Adl => LastLine::Adl {
            policy: adl_policy(ll.adl, ll.ranking),
            scope: ll.scope,
        },
    };
    VenueConfig {
        mode,
        fee: rate(l.fee),
        insurance_fund_share: rate(l.insurance_fund_share),
        latency_steps: l.latency_steps,
        insurance_fund: usd(s.insurance_fund.initial),
        insurance_fund_floor: usd(s.insurance_fund.floor),
        last_line,
    }
}

/// The ADL allocation the scenario names.
fn adl_policy(allocation: AdlAllocation, ranking: AdlRankingKind) -> AdlPolicy {
    match (allocation, ranking) {
        (AdlAllocation::ProRata, _) => AdlPolicy::ProRata,
        (AdlAllocation::MinMaxLeverage, _) => AdlPolicy::MinMaxLeverage,
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
/// index with `resample = "per_path"`), or read from the snapshot the scenario
/// names (relative to `base_dir`), with accounts below maintenance at the start
/// mark refused, kept or dropped as `population.below_maintenance` says.
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
            StartBook {
                accounts: population::generate(cfg, markets, start, &mut rng)?,
                below_maintenance: 0,
                dropped: 0,
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
