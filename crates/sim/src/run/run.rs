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
//! at a time before it is folded into the bands. [`Prepared::run_into`] streams
//! path 0's per-step series (and a one-path run's bands) to Parquet one row
//! group at a time as the path runs, so a run's memory does not grow with its
//! steps either (docs/performance.md, "Memory in the length of a run").

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use backstop_data::{
    AdlWaveRow, BalanceRow, HaircutsTable, MarketFundStepRow, PathsTable, PositionRow, StepsTable,
};
use backstop_data::{MAX_ROW_GROUP_ROWS, write_balances_streamed};
use rayon::prelude::*;

use super::adl_waves::WaveRecorder;
use super::aggregate::{self, Aggregates};
use super::balances::{balance_row_chunks, balance_rows};
use super::build::{self, Collateral, DepthBooks, build_markets, controls_for_path, venue_config};
use super::fund_steps::FundStepSink;
use super::limits::{self, CHUNK_PATHS};
use super::metrics::PathMetrics;
use super::population;
use super::record::{
    self, BandRows, BandSink, BandSketches, BandTotals, Bands, StepSeries, StepSink,
};
use crate::config::scenario::Scenario;
use crate::config::validate::MAX_PATHS;
use crate::config::venue::{AdlAllocation, AdlRankingKind, LastLineKind};
use crate::engine::{AccountSpec, Engine};
use crate::error::{InputError, SimError};
use crate::money::{Micros, Rate};
use crate::paths::{PathCursor, PathPlan, PathScratch, StepInput};
use crate::rng::{self, Purpose};
use crate::time::{NS_PER_SECOND, parse_utc};
use crate::venue::controls::ScheduledCollateral;
use crate::venue::market::Market;

/// The results of one path with its full per-step series.
#[derive(Clone, Debug, PartialEq)]
pub struct PathOutput {
    /// Per-path metrics.
    pub metrics: PathMetrics,
    /// Per-step, per-market series.
    pub steps: StepsTable,
    /// Per-step series of each market's own fund (`market_fund_steps/v1`
    /// rows; empty without one).
    pub market_fund_steps: Vec<MarketFundStepRow>,
    /// Every party's money at the opening and after the last step (`balances/v1`).
    pub balances: Vec<BalanceRow>,
}

/// The results of a whole run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Per-path metrics, in path order.
    pub paths: Vec<PathMetrics>,
    /// Full per-step series of path 0.
    pub first_path: StepSeries,
    /// Every party's money at the opening and the end of path 0 (none when
    /// streamed to `first_path_balances_file`).
    pub first_path_balances: Vec<BalanceRow>,
    /// Where path 0's balance rows were streamed to instead
    /// ([`Prepared::run_into`] of a one-path run: `balances.parquet` in its
    /// folder, already written).
    pub first_path_balances_file: Option<std::path::PathBuf>,
    /// Per-step quantile bands across paths.
    pub bands: Bands,
    /// The largest relative error of a band quantile: 0 when exact (docs/model.md §7).
    pub bands_relative_error: f64,
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

    /// Every ADL wave of every path as `adl_waves/v1` rows.
    pub fn adl_wave_rows(&self, param_set: u32) -> Vec<AdlWaveRow> {
        self.paths
            .iter()
            .flat_map(|p| super::adl_waves::wave_rows(param_set, p))
            .collect()
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
    /// The starting accounts (of path 0, with `population.resample = "per_path"`).
    pub population: Vec<AccountSpec>,
    /// Margin units of a loaded snapshot that were below maintenance at the start
    /// mark (kept or dropped, as `population.below_maintenance` says; 0 otherwise).
    pub below_maintenance: u64,
    /// Of those, the ones dropped before the run.
    pub below_maintenance_dropped: u64,
    /// How far the lot grid moved a generated population's notionals (`None`
    /// for a snapshot, whose rows are refused when it moves them by more than
    /// 1%).
    pub lot_rounding: Option<population::LotRounding>,
    /// The venue's markets (the engine of each path builds its own).
    markets: Vec<Market>,
    plan: PathPlan,
    depth_books: DepthBooks,
    start_ns: i64,
    step_ns: i64,
    /// `[controls.collateral]`'s assets and holdings, the same on every path.
    collateral: Option<Collateral>,
    /// The engine every path starts from when they all open the same book
    /// (a fixed population, no non-USD collateral): built at the first path,
    /// `None` when paths cannot share it (`engine/restart.rs`).
    /// With the scenario it was built from (`scenario` is public and may be
    /// edited between runs: a template of another scenario is not used), and
    /// the initial margin its book locks at the opening (the same on every
    /// path started from it: computed once, not per path).
    template: OnceLock<Option<(Scenario, Engine, Micros)>>,
    /// Whether a thread has started building `template`.
    template_building: AtomicBool,
    /// Engines that have run a path, restarted from the template for the next
    /// one (at most one per worker thread): no per-path allocation of the book.
    spare: Mutex<Vec<Engine>>,
}

impl Prepared {
    /// Builds the path plan (opening any history), the recorded order books, and
    /// the population: generated from the scenario's seed at the path's start
    /// prices, or read from the snapshot the scenario names. Files are relative to
    /// `base_dir`, the scenario's folder.
    ///
    /// Before anything large is allocated, the memory the run needs is
    /// estimated and compared with what the machine has ([`limits::check_memory`],
    /// on rayon's current number of threads); once the population is built, its
    /// money is checked against the engine's integer range
    /// ([`limits::check_exposure`]).
    ///
    /// # Errors
    /// An unreadable or invalid history, depth or positions file, a population
    /// the venue refuses or the lot grid distorts, a run that needs more memory
    /// than the machine has, or amounts past the engine's integer range.
    pub fn new(scenario: Scenario, base_dir: &Path) -> Result<Prepared, SimError> {
        limits::check_memory(&scenario, rayon::current_num_threads())?;
        let plan = PathPlan::from_scenario(&scenario, base_dir)?;
        let depth_books = build::depth_books(&scenario, base_dir)?;
        let markets = build_markets(&scenario, &depth_books)?;
        let venue = venue_config(&scenario)?;
        let start = plan.start_prices();
        let book = build::population(&scenario, &markets, &start, base_dir, 0)?;
        limits::check_exposure(
            &scenario,
            &book.accounts,
            &markets,
            &plan.max_prices(),
            venue.insurance_fund,
        )?;
        let start_ns = parse_utc(&scenario.start).unwrap_or(0);
        let step_ns = i64::from(scenario.step_seconds) * NS_PER_SECOND;
        let collateral =
            build::collateral_holdings(&scenario, &markets, &start, start_ns, &book.accounts, 0)?;
        if let Some((assets, holdings)) = &collateral {
            limits::check_collateral(assets, holdings, &plan.max_prices())?;
        }
        let paths = scenario.paths;
        let mut prepared = Prepared {
            scenario,
            population: book.accounts,
            below_maintenance: book.below_maintenance,
            below_maintenance_dropped: book.dropped,
            lot_rounding: book.lot_rounding,
            markets,
            plan,
            depth_books,
            start_ns,
            step_ns,
            collateral,
            template: OnceLock::new(),
            template_building: AtomicBool::new(false),
            spare: Mutex::new(Vec::new()),
        };
        prepared.set_paths(paths)?;
        Ok(prepared)
    }

    /// Whether every path of the run is the same: deterministic prices (`linear`,
    /// `series`, a replay, an overlay), a fixed population, and nothing else drawn
    /// per path (no oracle noise, lags or outages, no dYdX ADL walk). Such a run
    /// has one outcome: no probabilities, intervals or across-path statistics.
    pub fn paths_identical(&self) -> bool {
        let s = &self.scenario;
        let oracle = &s.controls.oracle;
        let oracle_random = oracle.enabled
            && (oracle.noise > 0.0 || oracle.lag_steps > 0 || oracle.outage_probability > 0.0);
        let walk = s.last_line.kind == LastLineKind::Adl
            && s.last_line.adl == AdlAllocation::Queue
            && s.last_line.ranking == AdlRankingKind::Dydx;
        self.plan.is_deterministic() && s.population.is_fixed() && !oracle_random && !walk
    }

    /// The starting positions in the snapshot schema.
    pub fn population_rows(&self) -> Vec<PositionRow> {
        population::to_rows(&self.population, &self.markets)
    }

    /// The venue's markets.
    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// What a person should know about the run that is not an error: how far
    /// the lot grid moved the generated notionals (within the 1% of the total
    /// that is accepted), one line each.
    pub fn notes(&self) -> Vec<String> {
        self.lot_rounding
            .iter()
            .filter(|r| r.moved > 0)
            .map(population::LotRounding::describe)
            .collect()
    }

    /// Runs `paths` paths instead of the scenario's number.
    ///
    /// # Errors
    /// Zero paths; more than one when every path would be the same
    /// ([`Prepared::paths_identical`]: a deterministic path and a fixed
    /// population), the error naming the fix, `population.resample = "per_path"`;
    /// more than the limit, or more than the machine's memory holds.
    pub fn set_paths(&mut self, paths: u32) -> Result<(), SimError> {
        if paths == 0 {
            return Err(InputError::NoPaths.into());
        }
        if paths > 1 && self.paths_identical() {
            return Err(InputError::IdenticalPaths {
                paths,
                path_kind: self.scenario.path.kind().to_owned(),
            }
            .into());
        }
        if paths > MAX_PATHS {
            return Err(InputError::TooManyPaths(paths).into());
        }
        let mut scenario = self.scenario.clone();
        scenario.paths = paths;
        limits::check_memory(&scenario, rayon::current_num_threads())?;
        self.scenario = scenario;
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
        let own;
        let (population, collateral) = if path_index == 0 || self.scenario.population.is_fixed() {
            (&self.population, self.collateral.as_ref())
        } else {
            own = self.population_of(path_index)?;
            (&own.0, own.1.as_ref())
        };
        let mut engine = Engine::new(
            build_markets(&self.scenario, &self.depth_books)?,
            &self.start_prices(),
            population,
            venue_config(&self.scenario)?,
            rng,
        )?;
        engine.set_controls(controls_for_path(
            &self.scenario.controls,
            self.scenario.market.len(),
            self.scenario.seed,
            path_index,
        ));
        if let Some(rules) = build::vault_rules(&self.scenario)? {
            engine.set_vault(rules);
        }
        for (market, initial, floor) in build::market_funds(&self.scenario)? {
            engine.set_market_fund(market, initial, floor);
        }
        engine.set_adl_price(self.scenario.last_line.adl_price);
        engine.set_liquidation_limit(build::liquidation_limit(&self.scenario)?);
        if let Some((assets, holdings)) = collateral {
            engine.set_time(self.start_ns);
            engine.set_collateral(Box::new(ScheduledCollateral::new(assets.clone())), holdings)?;
        }
        Ok(engine)
    }

    /// The engine for path `path_index`, the same as [`Prepared::engine`]: a
    /// spare engine restarted from the prepared template when the paths share
    /// their opening book, else a new one; with the initial margin its opening
    /// book locks ([`Engine::initial_margin_locked`], the template's when it
    /// is restarted from one: the same book at the same marks).
    ///
    /// # Errors
    /// A population the venue refuses.
    fn start_engine(&self, path_index: u64) -> Result<(Engine, Micros), SimError> {
        let Some(template) = self.template_or_building() else {
            // Another thread is building the template: this path starts from
            // an engine of its own meanwhile (the same engine).
            let engine = self.engine(path_index)?;
            let locked = engine.initial_margin_locked();
            return Ok((engine, locked));
        };
        let template = template
            .as_ref()
            .filter(|(built_for, _, _)| *built_for == self.scenario)
            .map(|(_, t, locked)| (t, *locked));
        let spare = template.and_then(|_| self.spare.lock().ok().and_then(|mut s| s.pop()));
        let (Some((template, locked)), Some(mut engine)) = (template, spare) else {
            let engine = self.engine(path_index)?;
            let locked = engine.initial_margin_locked();
            return Ok((engine, locked));
        };
        engine.restart_from(
            template,
            build_markets(&self.scenario, &self.depth_books)?,
            venue_config(&self.scenario)?,
            rng::stream(self.scenario.seed, Purpose::Adl, path_index),
        );
        engine.set_controls(controls_for_path(
            &self.scenario.controls,
            self.scenario.market.len(),
            self.scenario.seed,
            path_index,
        ));
        Ok((engine, locked))
    }

    /// The template every path restarts from ([`Prepared::start_engine`]):
    /// built by the first thread to ask for it; `None` while another thread
    /// builds it (no thread waits for it: the others start their paths from
    /// engines of their own, docs/performance.md, "Two threads, round 5").
    fn template_or_building(&self) -> Option<&Option<(Scenario, Engine, Micros)>> {
        if let Some(t) = self.template.get() {
            return Some(t);
        }
        if self.template_building.swap(true, Ordering::AcqRel) {
            return self.template.get();
        }
        Some(self.template.get_or_init(|| {
            // A run of one path has no next path to restart: a template would
            // only be a second engine in memory (a million accounts: ~100 MB).
            if self.scenario.paths <= 1
                || !self.scenario.population.is_fixed()
                || self.collateral.is_some()
            {
                return None;
            }
            let mut t = Engine::new(
                build_markets(&self.scenario, &self.depth_books).ok()?,
                &self.start_prices(),
                &self.population,
                venue_config(&self.scenario).ok()?,
                rng::stream(self.scenario.seed, Purpose::Adl, 0),
            )
            .ok()?;
            if let Some(rules) = build::vault_rules(&self.scenario).ok()? {
                t.set_vault(rules);
            }
            for (market, initial, floor) in build::market_funds(&self.scenario).ok()? {
                t.set_market_fund(market, initial, floor);
            }
            t.set_adl_price(self.scenario.last_line.adl_price);
            t.set_liquidation_limit(build::liquidation_limit(&self.scenario).ok()?);
            let locked = t.initial_margin_locked();
            t.can_prepare().then(|| (self.scenario.clone(), t, locked))
        }))
    }

    /// Keeps an engine that has run a path for [`Prepared::start_engine`].
    fn give_back(&self, engine: Engine) {
        if matches!(self.template.get(), Some(Some(_)))
            && let Ok(mut spare) = self.spare.lock()
        {
            spare.push(engine);
        }
    }

    /// Path `path_index`'s own population and collateral holdings
    /// (`population.resample = "per_path"`): drawn from the streams
    /// `(seed, population, path_index)` and `(seed, collateral, path_index)`.
    fn population_of(
        &self,
        path_index: u64,
    ) -> Result<(Vec<AccountSpec>, Option<Collateral>), SimError> {
        let markets = self.markets();
        let start = self.start_prices();
        let book = build::population(&self.scenario, markets, &start, Path::new("."), path_index)?;
        let collateral = build::collateral_holdings(
            &self.scenario,
            markets,
            &start,
            self.start_ns,
            &book.accounts,
            path_index,
        )?;
        Ok((book.accounts, collateral))
    }

    /// Runs path `path_index` from start to finish, calling `record` after every
    /// step with the engine and the step's input; returns the path's metrics, the
    /// time of each step and the engine after the last step.
    fn simulate(
        &self,
        path_index: u64,
        mut record: impl FnMut(&Engine, &StepInput),
    ) -> Result<(PathMetrics, Vec<i64>, Engine), SimError> {
        let (mut engine, initial_margin_locked) = self.start_engine(path_index)?;
        let mut scratch = PathScratch::default();
        let mut cursor = self
            .plan
            .cursor(path_index, self.start_ns, self.step_ns, &mut scratch)?;
        let mut input = StepInput::new(engine.markets().len());
        let mut times = Vec::with_capacity(self.scenario.steps());
        let mut waves = WaveRecorder::default();
        // The venue's funding cap clamps a replay's recorded rates too.
        let caps: Vec<Option<Rate>> = self
            .scenario
            .market
            .values()
            .map(|m| m.funding.cap.and_then(Rate::from_fraction))
            .collect();
        while cursor.advance(&mut input)? {
            for (f, cap) in input.funding.iter_mut().zip(&caps) {
                if let (Some(r), Some(c)) = (f.as_mut(), cap) {
                    *r = Rate((r.0).clamp(-c.0, c.0));
                }
            }
            engine.set_time(input.ts_ns);
            engine
                .step_with_funding(&input.prices, &input.funding)
                .map_err(|source| SimError::Step {
                    path: path_index,
                    source,
                })?;
            times.push(input.ts_ns);
            waves.observe(&engine);
            record(&engine, &input);
        }
        let mut metrics =
            PathMetrics::from_engine(&engine, path_index, initial_margin_locked, |t| {
                times.get(t as usize).copied().unwrap_or(self.start_ns)
            });
        metrics.adl_waves = waves.finish();
        Ok((metrics, times, engine))
    }

    /// Runs path `path_index` and keeps only its per-path metrics (sweeps).
    ///
    /// # Errors
    /// A population the venue refuses, or history that cannot be read.
    pub fn run_metrics(&self, path_index: u64) -> Result<PathMetrics, SimError> {
        let (metrics, _, engine) = self.simulate(path_index, |_, _| {})?;
        self.give_back(engine);
        Ok(metrics)
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
        let sink = StepSink::held(
            self.names(),
            self.scenario.steps() * self.scenario.market.len(),
        )
        .with_funds(self.fund_sink(None)?);
        let (metrics, steps, balances, _) = self.run_path_series(path_index, sink, None)?;
        Ok(PathOutput {
            metrics,
            steps: steps.table()?,
            market_fund_steps: steps.market_fund_steps().rows()?,
            balances,
        })
    }

    /// The sink of the market funds' per-step series: held, or streamed to
    /// `file` (with its metadata); records nothing without a market fund.
    fn fund_sink(
        &self,
        file: Option<(&Path, &[(String, String)])>,
    ) -> Result<FundStepSink, SimError> {
        let names = self.names();
        let funded = build::market_funds(&self.scenario)?
            .into_iter()
            .map(|(m, _, _)| (m, names[m as usize].clone()))
            .collect();
        Ok(FundStepSink::new(funded, file)?)
    }

    /// The markets' names, in market order.
    fn names(&self) -> Vec<String> {
        self.scenario
            .market_names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// [`Prepared::run_path`] with the per-step series recorded into `sink`
    /// and, when given, the path's bands into `bands` (a one-path run).
    #[allow(clippy::type_complexity)]
    fn run_path_series(
        &self,
        path_index: u64,
        sink: StepSink,
        bands: Option<BandSink>,
    ) -> Result<(PathMetrics, StepSeries, Vec<BalanceRow>, Option<Bands>), SimError> {
        let (metrics, sink, balances, bands) = self.run_path_recorded(path_index, sink, bands)?;
        let steps = sink.finish()?;
        let bands = bands.map(BandSink::finish).transpose()?;
        Ok((metrics, steps, balances, bands))
    }

    /// [`Prepared::run_path_series`] with the sinks not yet finished (a
    /// streamed file's last row group not written, the file not in place).
    #[allow(clippy::type_complexity)]
    fn run_path_recorded(
        &self,
        path_index: u64,
        mut sink: StepSink,
        mut bands: Option<BandSink>,
    ) -> Result<(PathMetrics, StepSink, Vec<BalanceRow>, Option<BandSink>), SimError> {
        self.run_path_recorded_into(path_index, (&mut sink, &mut bands), None)
            .map(|(metrics, balances)| (metrics, sink, balances, bands))
    }

    /// [`Prepared::run_path_recorded`] into the sinks given; with
    /// `balances_file` (path 0 only: a file and its metadata) the balance
    /// rows are streamed to that `balances.parquet` one row group at a time
    /// from the engine after the last step ([`write_balances_streamed`]) and
    /// none is returned.
    #[allow(clippy::type_complexity)]
    fn run_path_recorded_into(
        &self,
        path_index: u64,
        (sink, bands): (&mut StepSink, &mut Option<BandSink>),
        balances_file: Option<(&Path, &[(String, String)])>,
    ) -> Result<(PathMetrics, Vec<BalanceRow>), SimError> {
        let (metrics, _, engine) = self.simulate(path_index, |engine, input| {
            sink.record(engine, input.ts_ns, &input.prices);
            if let Some(b) = bands.as_mut() {
                b.record(engine, input.ts_ns);
            }
        })?;
        let balances = match balances_file {
            Some((file, meta)) => {
                debug_assert_eq!(
                    path_index, 0,
                    "Invariant: only path 0's balances are written"
                );
                let chunks = balance_row_chunks(&engine, &self.population, MAX_ROW_GROUP_ROWS);
                write_balances_streamed(file, chunks, meta)?;
                Vec::new()
            }
            None if path_index == 0 || self.scenario.population.is_fixed() => {
                balance_rows(&engine, &self.population)
            }
            None => balance_rows(&engine, &self.population_of(path_index)?.0),
        };
        self.give_back(engine);
        debug_assert!(
            metrics.steps == 0 || sink.funds_agree(&metrics.market_funds),
            "Invariant: each market fund's last per-step balance, payouts and fees are its \
             end-of-path figures"
        );
        Ok((metrics, balances))
    }

    /// The band columns of this scenario ([`record::band_layout`]).
    fn band_layout(&self) -> Result<Vec<(backstop_data::BandSeries, Option<usize>)>, SimError> {
        let funded: Vec<usize> = build::market_funds(&self.scenario)?
            .into_iter()
            .map(|(m, _, _)| m as usize)
            .collect();
        let (markets, vault) = (self.scenario.market.len(), self.scenario.vault.is_some());
        Ok(record::band_layout(markets, vault, &funded))
    }

    /// Runs path `path_index` keeping only its band series.
    fn run_bands(&self, path_index: u64) -> Result<(PathMetrics, BandRows), SimError> {
        let layout = self.band_layout()?;
        let mut values = Vec::with_capacity(self.scenario.steps() * layout.len());
        let mut totals = BandTotals::default();
        let (metrics, ts_ns, engine) = self.simulate(path_index, |engine, _| {
            record::record_bands(engine, &layout, &mut totals, &mut values);
        })?;
        self.give_back(engine);
        Ok((metrics, BandRows { ts_ns, values }))
    }

    /// Runs every path of the scenario on the current rayon pool and reduces the
    /// results, holding path 0's per-step series in memory. `progress(done)` is
    /// called after each chunk of paths.
    ///
    /// # Errors
    /// The first path (in path order) that fails.
    pub fn run(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<RunOutput, SimError> {
        self.run_streaming(None, progress)
    }

    /// [`Prepared::run`], streaming what does not need every path to
    /// `dir`'s `steps.parquet` (path 0's per-step series) and, for a one-path
    /// run, `bands.parquet`, one row group at a time as path 0 runs, so memory
    /// does not grow with the steps: the files are those
    /// [`super::results::write_run`] writes (which then leaves them in place).
    /// Each file is written beside its name and renamed into place when
    /// complete; `dir` is meant to be a scratch folder published whole once the
    /// run succeeds ([`backstop_data::results::folder::ScratchFolder`]).
    ///
    /// # Errors
    /// The first path (in path order) that fails; a file that cannot be written.
    pub fn run_into(
        &self,
        dir: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<RunOutput, SimError> {
        self.run_streaming(Some(dir), progress)
    }

    /// Runs every path for its metrics and band values in parallel, folded
    /// in path order; `progress(done)` after each [`CHUNK_PATHS`] paths.
    /// Exact bands: every worker runs paths until none is left, each folded
    /// as soon as the paths before it are ([`super::ordered`]); sketched
    /// bands: in chunks of [`CHUNK_PATHS`], each chunk's sketches updated in
    /// parallel over the steps.
    fn run_band_chunks(
        &self,
        layout: &[(backstop_data::BandSeries, Option<usize>)],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(Vec<PathMetrics>, BandSketches), SimError> {
        let n = u64::from(self.scenario.paths);
        let mut sketches = BandSketches::new(layout.len(), n, self.scenario.steps() as u64);
        if sketches.is_exact() {
            return super::ordered::run_in_path_order(
                n,
                sketches,
                &|p| self.run_bands(p),
                progress,
            );
        }
        let mut paths = Vec::with_capacity(n as usize);
        let mut done = 0;
        while done < n {
            let end = (done + CHUNK_PATHS).min(n);
            // One path a task: the chunk's last paths are shared out, not
            // left to the thread whose run of paths they fell in (rayon's
            // default splits a chunk into about four runs on two threads).
            let results: Vec<Result<(PathMetrics, BandRows), SimError>> = (0..end - done)
                .collect::<Vec<u64>>()
                .into_par_iter()
                .with_max_len(1)
                .map(|k| self.run_bands(done + k))
                .collect();
            let mut chunk_rows = Vec::with_capacity(results.len());
            for r in results {
                let (metrics, rows) = r?;
                sketches.grow_to(&rows);
                paths.push(metrics);
                chunk_rows.push(rows);
            }
            sketches.insert(chunk_rows);
            done = end;
            progress(done);
        }
        Ok((paths, sketches))
    }

    /// The one path of a one-path run, its series and bands streamed into
    /// their sinks and, with `balances_file`, its balance rows to that file.
    #[allow(clippy::type_complexity)]
    fn run_one_path_into(
        &self,
        mut sink: StepSink,
        mut bands: Option<BandSink>,
        balances_file: Option<(&Path, &[(String, String)])>,
    ) -> Result<(PathMetrics, StepSeries, Vec<BalanceRow>, Option<Bands>), SimError> {
        let (metrics, balances) =
            self.run_path_recorded_into(0, (&mut sink, &mut bands), balances_file)?;
        let steps = sink.finish()?;
        let bands = bands.map(BandSink::finish).transpose()?;
        Ok((metrics, steps, balances, bands))
    }

    /// Path 0 with its series recorded into `sink` beside the chunks of
    /// every path's bands ([`Prepared::run_band_chunks`]), on the current
    /// rayon pool. Path 0's file is finished (its last row group written,
    /// the file synced to disk and renamed into place) on a thread of its
    /// own, so that the pool's worker goes on to the chunks rather than wait
    /// for the disk (docs/performance.md, "Two threads, round 5").
    #[allow(clippy::type_complexity)]
    fn run_first_beside_chunks(
        &self,
        sink: StepSink,
        layout: &[(backstop_data::BandSeries, Option<usize>)],
        progress: &(dyn Fn(u64) + Sync),
    ) -> (
        Result<(PathMetrics, StepSeries, Vec<BalanceRow>, Option<Bands>), SimError>,
        Result<(Vec<PathMetrics>, BandSketches), SimError>,
    ) {
        std::thread::scope(|scope| {
            let (first, chunks) = rayon::join(
                || {
                    let (metrics, sink, balances, _) = self.run_path_recorded(0, sink, None)?;
                    let finishing = scope.spawn(move || sink.finish());
                    Ok::<_, SimError>((metrics, balances, finishing))
                },
                || self.run_band_chunks(layout, progress),
            );
            let first = first.and_then(|(metrics, balances, finishing)| {
                let steps = match finishing.join() {
                    Ok(steps) => steps?,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                Ok((metrics, steps, balances, None))
            });
            (first, chunks)
        })
    }

    /// [`Prepared::run`] (`dir` `None`) or [`Prepared::run_into`].
    fn run_streaming(
        &self,
        dir: Option<&Path>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<RunOutput, SimError> {
        use backstop_data::results::layout::{
            BALANCES_FILE, BANDS_FILE, MARKET_FUND_STEPS_FILE, STEPS_FILE,
        };
        let n = u64::from(self.scenario.paths);
        let layout = self.band_layout()?;
        let steps = self.scenario.steps();
        let meta = record::metadata(&self.scenario, None);
        let sink = match dir {
            Some(d) => StepSink::streamed(&d.join(STEPS_FILE), &meta, self.names())?,
            None => StepSink::held(self.names(), steps * self.scenario.market.len()),
        };
        let fund_file = dir.map(|d| d.join(MARKET_FUND_STEPS_FILE));
        let fund_file = fund_file.as_deref().map(|f| (f, meta.as_slice()));
        let sink = sink.with_funds(self.fund_sink(fund_file)?);
        // A one-path run streams its bands too, from the same simulation.
        let band_sink = match dir {
            Some(d) if n == 1 => Some(BandSink::create(
                &d.join(BANDS_FILE),
                &meta,
                layout.clone(),
                self.names(),
                steps as u64,
            )?),
            _ => None,
        };
        // Path 0's series (one path, serial) beside the paths' bands (in
        // parallel): the other threads run the chunks meanwhile. A one-path
        // run streams its bands from path 0's simulation instead.
        let balances_file = dir.map(|d| d.join(BALANCES_FILE));
        let (first, chunks) = if band_sink.is_some() {
            // The balance rows of every account streamed to their file too
            // (a million accounts: ~176 MB not held).
            let file = balances_file.as_deref().map(|f| (f, meta.as_slice()));
            (self.run_one_path_into(sink, band_sink, file), None)
        } else {
            let (first, chunks) = self.run_first_beside_chunks(sink, &layout, progress);
            (first, Some(chunks))
        };
        // Path 0's error first, as in path order.
        let (first_metrics, first_steps, first_balances, streamed_bands) = first?;
        let first_path_balances_file = match streamed_bands {
            Some(_) => balances_file,
            None => None,
        };
        let (paths, bands) = if let Some(bands) = streamed_bands {
            progress(1);
            (vec![first_metrics], bands)
        } else {
            let (paths, sketches) = match chunks {
                Some(chunks) => chunks?,
                None => self.run_band_chunks(&layout, progress)?,
            };
            debug_assert_eq!(paths[0], first_metrics, "Invariant: path 0 is reproducible");
            let bands = Bands {
                sketches,
                layout,
                names: self.names(),
                written: None,
            };
            (paths, bands)
        };
        let bands_relative_error = bands.relative_error();
        let aggregates = aggregate::aggregates(&paths);
        Ok(RunOutput {
            paths,
            first_path: first_steps,
            first_path_balances: first_balances,
            first_path_balances_file,
            bands,
            bands_relative_error,
            aggregates,
        })
    }
}
