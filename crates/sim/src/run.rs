//! Running a scenario: build the venue once, step every path (in parallel), and
//! reduce the results: per-path metrics kept in full, per-step series folded
//! into quantile bands, aggregates across paths.
//!
//! **Determinism.** Path `i` draws only from its own random streams keyed by
//! (seed, purpose, i) ([`crate::rng`]). Paths run in chunks of [`CHUNK_PATHS`] in
//! parallel (rayon) and their results are folded in path order; the band
//! sketches are order-independent besides. Results are therefore bit-identical
//! for any number of threads.
//!
//! **Memory.** Per-path metrics grow with the number of paths (a few hundred
//! bytes each); per-step series do not: only one chunk of paths' series is held
//! at a time before it is folded into the bands.

use std::path::Path;
use std::sync::Arc;

use backstop_data::{BandSeries, BandsTable, HaircutsTable, PathsTable, PositionRow, StepsTable};
use rayon::prelude::*;

use crate::aggregate::Aggregates;
use crate::aggregate::sketch::QuantileSketch;
use crate::engine::{AccountSpec, Engine, LastLine, LiquidationMode, VenueConfig};
use crate::error::SimError;
use crate::metrics::PathMetrics;
use crate::money::{Micros, Rate};
use crate::path::{PathCursor, PathPlan, PathScratch, StepInput};
use crate::population;
use crate::rng::{self, Purpose};
use crate::scenario::{
    AdlAllocation, AdlRankingKind, AdlScopeKind, ImpactModelKind, LastLineKind,
    LiquidationModeKind, PopulationConfig, Scenario,
};
use crate::venue::adl::AdlScope;
use crate::venue::adl::{AdlPolicy, BinanceRanking, BitmexRanking, HyperliquidRanking};
use crate::venue::controls::collateral::{
    self, CollateralAsset, CollateralHolding, ScheduledCollateral,
};
use crate::venue::impact::{BookDepthImpact, DepthBook, ImpactModel, NoImpact, SquareRootImpact};
use crate::venue::market::{MarginSchedule, Market};

// Scenario values are validated before any of these conversions, so the
// fallbacks below are never taken.
fn usd(x: f64) -> Micros {
    Micros::from_usd(x).unwrap_or(Micros::ZERO)
}
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).unwrap_or(Rate::ZERO)
}

/// The venue's markets, in scenario order (sorted by key); `depth_books[i]` is
/// market `i`'s recorded book for `book_depth` impact.
pub fn build_markets(s: &Scenario, depth_books: &[Option<Arc<DepthBook>>]) -> Vec<Market> {
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

/// The results of one path with its full per-step series.
#[derive(Clone, Debug, PartialEq)]
pub struct PathOutput {
    /// Per-path metrics.
    pub metrics: PathMetrics,
    /// Per-step, per-market series.
    pub steps: StepsTable,
}

/// Paths simulated in parallel before their series are folded into the bands.
pub const CHUNK_PATHS: u64 = 64;

/// The results of a whole run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Per-path metrics, in path order.
    pub paths: Vec<PathMetrics>,
    /// Full per-step series of path 0.
    pub first_path: StepsTable,
    /// Per-step quantile bands across paths.
    pub bands: BandsTable,
    /// Statistics across paths.
    pub aggregates: Aggregates,
}

impl RunOutput {
    /// The per-path metrics as a `paths/v1` table (parameter set `param_set`).
    pub fn paths_table(&self, param_set: u32) -> PathsTable {
        let mut t = PathsTable::default();
        for p in &self.paths {
            t.push(param_set, p.path, &p.to_row());
        }
        t
    }

    /// Every haircut of every path as a `haircuts/v1` table.
    pub fn haircuts_table(&self, param_set: u32) -> HaircutsTable {
        let mut t = HaircutsTable::default();
        for p in &self.paths {
            for h in &p.haircuts {
                t.param_set.push(param_set);
                t.path.push(p.path);
                t.account_id.push(h.account_id);
                t.amount.push(h.amount);
            }
        }
        t
    }
}

/// A scenario ready to run: validated, its history opened, its population built.
pub struct Prepared {
    /// The scenario.
    pub scenario: Scenario,
    /// The starting accounts.
    pub population: Vec<AccountSpec>,
    plan: PathPlan,
    depth_books: Vec<Option<Arc<DepthBook>>>,
    start_ns: i64,
    step_ns: i64,
    /// `[controls.collateral]`'s assets and holdings, the same on every path.
    collateral: Option<Collateral>,
}

/// One row of the per-step recorder (no allocation per step).
#[derive(Clone, Copy)]
struct StepRecord {
    step: u32,
    ts_ns: i64,
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
    margin_multiplier: f64,
    liquidations_paused: bool,
}

/// The band series of one path: `values[t × width + k]` is series `k` at step `t`
/// (venue-wide series first, then per market, see [`band_layout`]).
struct BandRows {
    ts_ns: Vec<i64>,
    values: Vec<f64>,
}

/// (series, market index) of each band column: venue-wide series, then each
/// per-market series for every market.
fn band_layout(markets: usize) -> Vec<(BandSeries, Option<usize>)> {
    let mut v: Vec<_> = BandSeries::ALL
        .iter()
        .filter(|s| !s.per_market())
        .map(|s| (*s, None))
        .collect();
    for m in 0..markets {
        v.extend(
            BandSeries::ALL
                .iter()
                .filter(|s| s.per_market())
                .map(|s| (*s, Some(m))),
        );
    }
    v
}

/// Collateral assets, and who holds how much of each.
type Collateral = (Vec<CollateralAsset>, Vec<CollateralHolding>);

/// The non-USD collateral of `[controls.collateral]` (`None` when off): the
/// assets, and who holds how much, drawn once from `(seed, Purpose::Collateral, 0)`
/// at the step-0 marks (`start` prices on each market's tick grid) and the
/// population's deposits.
fn collateral_holdings(
    scenario: &Scenario,
    markets: &[Market],
    start: &[f64],
    start_ns: i64,
    population: &[AccountSpec],
) -> Result<Option<Collateral>, SimError> {
    let cfg = &scenario.controls.collateral;
    if !cfg.enabled || cfg.asset.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = scenario.market.keys().map(String::as_str).collect();
    let assets = collateral::resolve(cfg, &names)
        .map_err(|(key, message)| SimError::Input(format!("{key}: {message}")))?;
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
    let mut rng = rng::stream(scenario.seed, Purpose::Collateral, 0);
    let holdings = collateral::allocate(cfg, &prices, &deposits, &isolated, &mut rng);
    Ok(Some((assets, holdings)))
}

impl Prepared {
    /// Builds the path plan (opening any history), the recorded order books, and
    /// the population: generated from the scenario's seed at the path's start
    /// prices, or read from the snapshot the scenario names. Files are relative to
    /// `base_dir`, the scenario's folder.
    ///
    /// # Errors
    /// An unreadable or invalid history, depth or positions file, or a population
    /// the venue refuses.
    pub fn new(scenario: Scenario, base_dir: &Path) -> Result<Prepared, SimError> {
        let plan = PathPlan::from_scenario(&scenario, base_dir)?;
        let depth_books = scenario
            .market
            .iter()
            .map(|(name, m)| match &m.impact.file {
                Some(file) if m.impact.model == ImpactModelKind::BookDepth => {
                    let path = base_dir.join(file);
                    let table = backstop_data::history::read_depth(&path)
                        .map_err(|e| SimError::Input(format!("market.{name}.impact.file: {e}")))?;
                    let book = DepthBook::from_rows(&table.rows).map_err(|e| {
                        SimError::Input(format!(
                            "market.{name}.impact.file: {}: {e}",
                            path.display()
                        ))
                    })?;
                    Ok(Some(Arc::new(book)))
                }
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, SimError>>()?;
        let markets = build_markets(&scenario, &depth_books);
        let start = plan.start_prices();
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
        let step_ns = i64::from(scenario.step_seconds) * 1_000_000_000;
        let collateral = collateral_holdings(&scenario, &markets, &start, start_ns, &population)?;
        Ok(Prepared {
            scenario,
            population,
            plan,
            depth_books,
            start_ns,
            step_ns,
            collateral,
        })
    }

    /// The starting positions in the snapshot schema.
    pub fn population_rows(&self) -> Vec<PositionRow> {
        population::to_rows(&self.population, &self.markets())
    }

    /// The venue's markets.
    pub fn markets(&self) -> Vec<Market> {
        build_markets(&self.scenario, &self.depth_books)
    }

    /// Runs `paths` paths instead of the scenario's number.
    ///
    /// # Errors
    /// Zero paths, or more than one for a replay (history happened once).
    pub fn set_paths(&mut self, paths: u32) -> Result<(), SimError> {
        if paths == 0 {
            return Err(SimError::Input("at least one path is needed".into()));
        }
        if paths > 1 && matches!(self.plan, PathPlan::Replay(_)) {
            return Err(SimError::Input(
                "a replay is one path (history happened once)".into(),
            ));
        }
        self.scenario.paths = paths;
        Ok(())
    }

    /// Where the paths come from.
    pub fn plan(&self) -> &PathPlan {
        &self.plan
    }

    /// Path prices of each market at step 0.
    pub fn start_prices(&self) -> Vec<f64> {
        self.plan.start_prices()
    }

    /// A fresh engine for path `path_index`, at the path's first prices.
    ///
    /// # Errors
    /// A population the venue refuses.
    pub fn engine(&self, path_index: u64) -> Result<Engine, SimError> {
        let rng = rng::stream(self.scenario.seed, Purpose::Adl, path_index);
        let mut engine = Engine::new(
            self.markets(),
            &self.start_prices(),
            &self.population,
            venue_config(&self.scenario),
            rng,
        )?;
        engine.set_controls(crate::venue::controls::build(
            &self.scenario.controls,
            self.scenario.market.len(),
            self.scenario.seed,
            path_index,
        ));
        if let Some((assets, holdings)) = &self.collateral {
            engine.set_time(self.start_ns);
            engine.set_collateral(Box::new(ScheduledCollateral::new(assets.clone())), holdings)?;
        }
        Ok(engine)
    }

    /// Runs path `path_index` from start to finish, calling `record` after every
    /// step with the engine and the step's input.
    fn simulate(
        &self,
        path_index: u64,
        mut record: impl FnMut(&Engine, &StepInput),
    ) -> Result<(PathMetrics, Vec<i64>), SimError> {
        let mut engine = self.engine(path_index)?;
        let mut scratch = PathScratch::default();
        let mut cursor = self
            .plan
            .cursor(path_index, self.start_ns, self.step_ns, &mut scratch)?;
        let mut input = StepInput::new(engine.markets().len());
        let mut times = Vec::with_capacity(self.scenario.steps());
        while cursor.advance(&mut input)? {
            engine.set_time(input.ts_ns);
            engine.step_with_funding(&input.prices, &input.funding);
            times.push(input.ts_ns);
            record(&engine, &input);
        }
        let metrics = PathMetrics::from_engine(&engine, path_index, |t| {
            times.get(t as usize).copied().unwrap_or(self.start_ns)
        });
        Ok((metrics, times))
    }

    /// Runs path `path_index` and keeps only its per-path metrics (sweeps).
    ///
    /// # Errors
    /// A population the venue refuses, or history that cannot be read.
    pub fn run_metrics(&self, path_index: u64) -> Result<PathMetrics, SimError> {
        self.simulate(path_index, |_, _| {}).map(|(m, _)| m)
    }

    /// Runs path `path_index` and keeps its full per-step series.
    ///
    /// O(steps × markets) plus the work of the liquidations that happen (see
    /// [`Engine`] for the index that keeps quiet steps cheap), plus O(accounts) per
    /// funding settlement.
    ///
    /// # Errors
    /// A population the venue refuses, or history that cannot be read.
    pub fn run_path(&self, path_index: u64) -> Result<PathOutput, SimError> {
        let n_markets = self.scenario.market.len();
        let mut records: Vec<StepRecord> = Vec::with_capacity(self.scenario.steps() * n_markets);
        let mut t = 0u32;
        let (metrics, _) = self.simulate(path_index, |engine, input| {
            let v = *engine.venue_flows();
            let fund = engine.insurance_fund().balance();
            for (m, f) in engine.market_flows().iter().enumerate() {
                records.push(StepRecord {
                    step: t,
                    ts_ns: input.ts_ns,
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
                    margin_multiplier: engine.margin_multiplier(m as u16),
                    liquidations_paused: engine.liquidations_paused(),
                });
            }
            t += 1;
        })?;
        let names = self.scenario.market_names();
        let mut table = StepsTable::with_capacity(records.len());
        for r in &records {
            table.step.push(r.step);
            table.ts_ns.push(r.ts_ns);
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
            table.margin_multiplier.push(r.margin_multiplier);
            table.liquidations_paused.push(r.liquidations_paused);
        }
        Ok(PathOutput {
            metrics,
            steps: table,
        })
    }

    /// Runs path `path_index` keeping only its band series.
    fn run_bands(&self, path_index: u64) -> Result<(PathMetrics, BandRows), SimError> {
        let layout = band_layout(self.scenario.market.len());
        let mut values = Vec::with_capacity(self.scenario.steps() * layout.len());
        let mut bad_debt = Micros::ZERO;
        let mut socialized = Micros::ZERO;
        let (metrics, ts_ns) = self.simulate(path_index, |engine, _| {
            let v = engine.venue_flows();
            bad_debt += v.bad_debt;
            socialized += v.socialized_loss;
            let flows = engine.market_flows();
            for (series, market) in &layout {
                let f = market.and_then(|m| flows.get(m));
                values.push(match (series, f) {
                    (BandSeries::InsuranceFund, _) => engine.insurance_fund().balance().to_usd(),
                    (BandSeries::BadDebt, _) => bad_debt.to_usd(),
                    (BandSeries::SocializedLoss, _) => socialized.to_usd(),
                    (BandSeries::Mark, _) => engine.mark_price(market.unwrap_or(0) as u16),
                    (BandSeries::LiquidatedLongNotional, Some(f)) => f.liquidated_long.to_usd(),
                    (BandSeries::LiquidatedShortNotional, Some(f)) => f.liquidated_short.to_usd(),
                    (BandSeries::AdlNotional, Some(f)) => f.adl_notional.to_usd(),
                    (_, None) => 0.0,
                });
            }
        })?;
        Ok((metrics, BandRows { ts_ns, values }))
    }

    /// Runs every path of the scenario on the current rayon pool and reduces the
    /// results. `progress(done)` is called after each chunk of paths.
    ///
    /// # Errors
    /// The first path (in path order) that fails.
    pub fn run(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<RunOutput, SimError> {
        let n = u64::from(self.scenario.paths);
        let first = self.run_path(0)?;
        let layout = band_layout(self.scenario.market.len());
        let mut sketches: Vec<Vec<QuantileSketch>> = Vec::new();
        let mut ts_ns: Vec<i64> = Vec::new();
        let mut paths = Vec::with_capacity(n as usize);
        let mut done = 0;
        while done < n {
            let end = (done + CHUNK_PATHS).min(n);
            let results: Vec<Result<(PathMetrics, BandRows), SimError>> = (done..end)
                .into_par_iter()
                .map(|i| self.run_bands(i))
                .collect();
            let mut chunk_rows = Vec::with_capacity(results.len());
            for r in results {
                let (metrics, rows) = r?;
                let steps = rows.ts_ns.len();
                if steps > sketches.len() {
                    sketches.resize_with(steps, || vec![QuantileSketch::new(); layout.len()]);
                    ts_ns.extend_from_slice(&rows.ts_ns[ts_ns.len()..]);
                }
                paths.push(metrics);
                chunk_rows.push(rows);
            }
            // The chunk's values go into the sketches step by step in parallel (each
            // step's sketches are independent); within a step, in path order, so the
            // sketches are the same for any thread count.
            let width = layout.len();
            sketches.par_iter_mut().enumerate().for_each(|(t, step)| {
                for rows in &chunk_rows {
                    if let Some(row) = rows.values.get(t * width..(t + 1) * width) {
                        for (sketch, &v) in step.iter_mut().zip(row) {
                            sketch.insert(v);
                        }
                    }
                }
            });
            done = end;
            progress(done);
        }
        debug_assert_eq!(paths[0], first.metrics, "Invariant: path 0 is reproducible");
        let names = self.scenario.market_names();
        let mut bands = BandsTable::default();
        for (t, row) in sketches.iter().enumerate() {
            for ((series, market), sketch) in layout.iter().zip(row) {
                bands.step.push(t as u32);
                bands.ts_ns.push(ts_ns[t]);
                bands
                    .market
                    .push(market.map_or(String::new(), |m| names[m].to_string()));
                bands.series.push(series.name().to_string());
                for (column, (_, q)) in bands
                    .quantiles
                    .iter_mut()
                    .zip(backstop_data::BAND_QUANTILES)
                {
                    column.push(sketch.quantile(q));
                }
                bands.mean.push(sketch.mean());
                bands.min.push(sketch.min());
                bands.max.push(sketch.max());
            }
        }
        let aggregates = Aggregates::of(&paths);
        Ok(RunOutput {
            paths,
            first_path: first.steps,
            bands,
            aggregates,
        })
    }
}
