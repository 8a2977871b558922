//! Running a scenario: build the venue, step one path, collect the results.

use std::path::Path;

use backstop_data::{PositionRow, StepsTable};

use crate::adl::{AdlPolicy, BinanceRanking, BitmexRanking, HyperliquidRanking};
use crate::engine::{AccountSpec, AdlScope, Engine, LastLine, LiquidationMode, VenueConfig};
use crate::error::SimError;
use crate::impact::{ImpactModel, NoImpact, SquareRootImpact};
use crate::market::{MarginSchedule, Market};
use crate::metrics::PathMetrics;
use crate::money::{Micros, Rate};
use crate::path::{PricePath, SeriesPath};
use crate::population;
use crate::rng::{self, Purpose};
use crate::scenario::{
    AdlAllocation, AdlRankingKind, AdlScopeKind, ImpactModelKind, LastLineKind,
    LiquidationModeKind, PopulationConfig, Scenario,
};

// Scenario values are validated before any of these conversions, so the
// fallbacks below are never taken.
fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap_or(Micros::ZERO)
}
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap_or(Rate::ZERO)
}

/// The venue's markets, in scenario order (sorted by key).
pub fn build_markets(s: &Scenario) -> Vec<Market> {
    s.market
        .iter()
        .map(|(name, m)| {
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
            policy: match (ll.adl, ll.ranking) {
                (AdlAllocation::ProRata, _) => AdlPolicy::ProRata,
                (AdlAllocation::MinMaxLeverage, _) => AdlPolicy::MinMaxLeverage,
                (AdlAllocation::Queue, AdlRankingKind::Dydx) => AdlPolicy::DydxWalk,
                (AdlAllocation::Queue, AdlRankingKind::Bitmex) => {
                    AdlPolicy::Queue(Box::new(BitmexRanking))
                }
                (AdlAllocation::Queue, AdlRankingKind::Binance) => {
                    AdlPolicy::Queue(Box::new(BinanceRanking))
                }
                (AdlAllocation::Queue, AdlRankingKind::Hyperliquid) => {
                    AdlPolicy::Queue(Box::new(HyperliquidRanking))
                }
            },
            scope: match ll.scope {
                AdlScopeKind::Position => AdlScope::Position,
                AdlScopeKind::Shortfall => AdlScope::Shortfall,
            },
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

/// The results of one path.
#[derive(Clone, Debug, PartialEq)]
pub struct PathOutput {
    /// Per-path metrics.
    pub metrics: PathMetrics,
    /// Per-step, per-market series.
    pub steps: StepsTable,
}

/// A scenario ready to run: validated, with its population built.
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    /// The starting accounts.
    pub population: Vec<AccountSpec>,
    start_ns: i64,
}

/// One row of the per-step recorder (no allocation per step).
#[derive(Clone, Copy)]
struct StepRecord {
    step: u32,
    market: u16,
    mark: f64,
    insurance_fund: Micros,
    bad_debt: Micros,
    socialized_loss: Micros,
    insolvency: Micros,
    adl_notional: Micros,
    adl_count: u32,
    liquidated_long: Micros,
    liquidated_short: Micros,
    liquidations: u32,
    open_interest: Micros,
    funding_rate: Option<f64>,
}

impl Prepared {
    /// Builds the population: generated from the scenario's seed, or read from the
    /// snapshot named by the scenario (relative to `base_dir`, the scenario's folder).
    ///
    /// # Errors
    /// An unreadable or invalid positions file, or a population the venue refuses.
    pub fn new(scenario: Scenario, base_dir: &Path) -> Result<Prepared, SimError> {
        let markets = build_markets(&scenario);
        let path = SeriesPath::from_scenario(&scenario);
        let start: Vec<f64> = (0..markets.len()).map(|m| path.first(m)).collect();
        let population = match &scenario.population {
            cfg @ PopulationConfig::Generated { .. } => {
                let mut rng = rng::stream(scenario.seed, Purpose::Population, 0);
                population::generate(cfg, &markets, &start, &mut rng)?
            }
            PopulationConfig::Parquet { file } => {
                let rows = backstop_data::read_positions(&base_dir.join(file))?;
                population::from_rows(&rows, &markets)?
            }
        };
        let start_ns = crate::validate::parse_utc(&scenario.start).unwrap_or(0);
        Ok(Prepared {
            scenario,
            population,
            start_ns,
        })
    }

    /// The starting positions in the snapshot schema.
    pub fn population_rows(&self) -> Vec<PositionRow> {
        population::to_rows(&self.population, &build_markets(&self.scenario))
    }

    /// A fresh engine for path `path_index`, at the path's first prices.
    ///
    /// # Errors
    /// A population the venue refuses.
    pub fn engine(&self, path_index: u64) -> Result<(Engine, SeriesPath), SimError> {
        let markets = build_markets(&self.scenario);
        let path = SeriesPath::from_scenario(&self.scenario);
        let start: Vec<f64> = (0..markets.len()).map(|m| path.first(m)).collect();
        let rng = rng::stream(self.scenario.seed, Purpose::Adl, path_index);
        let engine = Engine::new(
            markets,
            &start,
            &self.population,
            venue_config(&self.scenario),
            rng,
        )?;
        Ok((engine, path))
    }

    /// Runs path `path_index` from start to finish.
    ///
    /// O(steps × markets) plus the work of the liquidations that happen (see
    /// [`Engine`] for the index that keeps quiet steps cheap), plus O(accounts) per
    /// funding settlement.
    ///
    /// # Errors
    /// A population the venue refuses.
    pub fn run_path(&self, path_index: u64) -> Result<PathOutput, SimError> {
        let (mut engine, mut path) = self.engine(path_index)?;
        let n_markets = engine.markets().len();
        let steps = path.steps();
        let mut prices = vec![0.0; n_markets];
        let mut records: Vec<StepRecord> = Vec::with_capacity(steps * n_markets);
        for t in 0..steps {
            path.prices(t, &mut prices);
            engine.step(&prices);
            let v = *engine.venue_flows();
            let fund = engine.insurance_fund().balance();
            for (m, f) in engine.market_flows().iter().enumerate() {
                records.push(StepRecord {
                    step: t as u32,
                    market: m as u16,
                    mark: engine.mark_price(m as u16),
                    insurance_fund: fund,
                    bad_debt: v.bad_debt,
                    socialized_loss: v.socialized_loss,
                    insolvency: v.insolvency,
                    adl_notional: f.adl_notional,
                    adl_count: f.adl_count,
                    liquidated_long: f.liquidated_long,
                    liquidated_short: f.liquidated_short,
                    liquidations: f.liquidations,
                    open_interest: engine.open_interest(m as u16),
                    funding_rate: f.funding_rate,
                });
            }
        }
        let step_ns = i64::from(self.scenario.step_seconds) * 1_000_000_000;
        let metrics = PathMetrics::from_engine(&engine, path_index, self.start_ns, step_ns);
        let names: Vec<&str> = engine.markets().iter().map(|m| m.name.as_str()).collect();
        let mut table = StepsTable::with_capacity(records.len());
        for r in &records {
            table.step.push(r.step);
            table
                .ts_ns
                .push(self.start_ns + i64::from(r.step) * step_ns);
            table.market.push(names[r.market as usize].to_string());
            table.mark.push(r.mark);
            table.insurance_fund.push(r.insurance_fund.to_usd());
            table.bad_debt.push(r.bad_debt.to_usd());
            table.socialized_loss.push(r.socialized_loss.to_usd());
            table.insolvency.push(r.insolvency.to_usd());
            table.adl_notional.push(r.adl_notional.to_usd());
            table.adl_count.push(r.adl_count);
            table
                .liquidated_long_notional
                .push(r.liquidated_long.to_usd());
            table
                .liquidated_short_notional
                .push(r.liquidated_short.to_usd());
            table.liquidations.push(r.liquidations);
            table.open_interest.push(r.open_interest.to_usd());
            table.funding_rate.push(r.funding_rate);
        }
        Ok(PathOutput {
            metrics,
            steps: table,
        })
    }
}
