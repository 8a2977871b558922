//! The venue engine: accounts, positions, liquidation, insurance fund and the loss
//! waterfall, stepped one mark at a time.
//!
//! The engine takes plain values (markets, a population, [`VenueConfig`]) and
//! knows nothing of scenario files. What each file owns:
//!
//! - `ledger.rs`: accounts, positions, the external counterparty, and
//!   `Ledger::transfer`, the one function that moves money;
//!   `collateral_funding.rs` holds the log of funding settled lazily (each
//!   position pays it when its account is next touched; every read of a
//!   balance adds what is pending);
//! - `margin.rs`: equity, the maintenance requirement, liquidation and bankruptcy
//!   prices;
//! - `index.rs`: the liquidation index: each account's triggers, breach
//!   detection; `triggers.rs` holds its heaps and the queue of liquidations due;
//! - `liquidation.rs`: executing liquidations: sizes, prices, fees;
//! - `vault.rs`: the liquidity vault: takeovers, unwinding, its equity
//!   (`vault_book.rs` holds its rules and statistics);
//! - `waterfall.rs`: deficits: insurance fund, ADL, socialized loss, insolvency;
//! - `collateral.rs`: non-USD collateral: valuation, sale, index upkeep
//!   (`collateral_book.rs` holds the units and prices);
//! - `events.rs`: events, per-step flows and running totals;
//! - `rules.rs`: the venue's rules ([`VenueConfig`]);
//! - `invariants.rs`: the checks of docs/model.md §8;
//! - `initial_margin.rs`: the initial margin the open book locks.
//!
//! # A step ([`Engine::step_with_funding`], docs/model.md §4)
//! 1. **Marks** (`update_marks`): path (or oracle) price × the impact
//!    carried from earlier steps, to the tick; collateral repriced.
//! 2. **Funding** (`settle_due_funding`) where due or given by a replay.
//! 3. **Volatility margin** (`update_margin_multipliers`).
//! 4. **Index upkeep** (`refresh_index`): a full re-index after funding,
//!    new multipliers or when stale entries pile up; else collateral holders
//!    whose asset fell below what their triggers assumed.
//! 5. **Circuit breaker** (`controls.breaker`): whether liquidations pause.
//! 6. **Breach detection** (`collect_breaches`): crossed triggers are
//!    evaluated; a liquidatable account is scheduled `latency_steps` later.
//! 7. **Execution** (`execute_due`) of every liquidation due, in order
//!    of (due step, account), unless paused: closes, fees, the waterfall.
//!    Then the liquidity vault, if any (`vault_end_step`), unwinds a share of
//!    its inventory into the market and is marked (stage 7b).
//! 8. **Impact** (`end_step`): the step's signed liquidation flow moves
//!    the impact state (it reaches the marks at the next step); the fund's
//!    statistics are updated.
//!
//! A step whose marks stay strictly between every market's nearest triggers,
//! with nothing scheduled and nothing else that acts (controls, collateral,
//! the vault), runs as a **quiet step** (`quiet.rs`): marks, the impact's
//! flowless decay and the step counter only, the same state as the full step.

mod adl_dydx;
mod adl_lev_side;
mod adl_min_max;
mod adl_open_side;
mod adl_price_gap;
mod adl_pro_rata;
mod adl_pro_rata_side;
mod adl_queue;
mod adl_record;
mod adl_request;
mod adl_takes;
mod adl_touched;
mod adl_walk;
mod collateral;
mod collateral_book;
mod collateral_funding;
mod events;
mod index;
mod initial_margin;
mod invariants;
mod ledger;
mod lev_key;
mod lev_order;
mod limit_book;
mod liquidation;
mod liquidation_limit;
mod margin;
mod quiet;
mod quiet_state;
mod restart;
mod rules;
mod socialize_funding;
#[cfg(test)]
mod test_venue;
mod threshold_sums;
mod triggers;
mod vault;
mod vault_book;
mod waterfall;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use crate::venue::adl::AdlScope;
pub use adl_takes::AdlTakeRecord;
pub use events::{Event, MarketFlows, Totals, VenueFlows};
pub use invariants::InvariantViolation;
pub use ledger::{Account, AccountSpec, Party, Position, Transfer, TransferReason};
pub use liquidation_limit::{LiquidationLimit, adjusted_bankruptcy_rating, fillable_ticks};
pub use rules::{LastLine, LiquidationMode, VenueConfig};
pub use vault_book::{VaultRules, VaultStats};

use crate::money::{MAX_MICROS, Micros, Rate};
use crate::venue::adl::AdlCandidate;
use crate::venue::adl_price::AdlPrice;
use crate::venue::controls::Controls;
use crate::venue::impact::ImpactState;
use crate::venue::insurance::InsuranceFund;
use crate::venue::market::{Market, MarketId};
use adl_queue::SideQueue;
use adl_takes::AdlTakeLog;
use collateral_book::CollateralBook;
use ledger::{Ledger, OpenError};
use triggers::LiquidationIndex;

/// Scratch space reused across steps (no allocation in the hot loop once warm).
#[derive(Default)]
struct Scratch {
    breached: Vec<u32>,
    /// `(account, version)` of the trigger entries a step's marks crossed
    /// (`collect_breaches`).
    popped: Vec<(u32, u32)>,
    candidates: Vec<AdlCandidate>,
    /// What the booking reads of each ADL close's candidates (`deleverage`).
    fill_targets: Vec<crate::venue::adl::AdlFillTarget>,
    fills: Vec<(usize, i64)>,
    winners: Vec<(u32, u32, Micros)>,
    /// Each ADL fill's winner's equity after it, in fill order (`deleverage`).
    equity_after: Vec<Micros>,
    /// The ADL winners whose triggers wait for the end of the step's
    /// executions (`index.rs`, `recheck_winner`), in order of first deferral.
    deferred_winners: Vec<u32>,
    /// Debug builds: each deferred winner's equity and requirement at its
    /// last fill's test, checked against the ones the deferred re-check reads.
    #[cfg(debug_assertions)]
    deferred_margin: std::collections::BTreeMap<u32, Option<(Micros, Micros)>>,
    /// Per market, the last mark computed and what from (`update_marks`).
    marks: Vec<MarkMemo>,
    /// When the next steps are quiet (`quiet.rs`).
    quiet: quiet_state::QuietState,
}

/// A memo of one market's mark: the mark is a pure function of the path (or
/// oracle) price and the impact's log-factor, so a step where neither changed
/// reuses it, and a step where only the price changed reuses the factor
/// (skipping the exponential). Exact: the same inputs give the same mark.
#[derive(Clone, Copy, Debug)]
struct MarkMemo {
    /// The path price the mark was computed from (NaN: none yet).
    base: f64,
    /// `permanent + temporary` of the market's impact state.
    log_factor: f64,
    /// `log_factor.exp()`.
    factor: f64,
    /// The mark, ticks, of `base × factor`.
    mark: i64,
    /// Whether the market's impact state is a fixed point of a step without
    /// liquidation flow (`end_step` left it bit-identical), so that it is
    /// still the state `log_factor` was computed from. A temporary impact
    /// that has decayed into the subnormal range stops there (the multiply
    /// by the decay rounds back to the same number) and every multiply or
    /// add of it costs a microcode assist: while the state rests, neither
    /// `end_step` nor `update_marks` touches it. Exact: the same arithmetic
    /// on the same bits gives the same bits.
    impact_still: bool,
}

impl Default for MarkMemo {
    fn default() -> Self {
        Self {
            base: f64::NAN,
            log_factor: 0.0,
            factor: 1.0,
            mark: 0,
            impact_still: false,
        }
    }
}

/// The venue: markets, accounts, external counterparty, fund, and the index.
pub struct Engine {
    markets: Vec<Market>,
    /// Current marks, ticks.
    marks: Vec<i64>,
    impact: Vec<ImpactState>,
    /// Per market: multiplier of the margin rates (1 without volatility margin).
    margin_mult: Vec<Rate>,
    flows: Vec<MarketFlows>,
    venue_flows: VenueFlows,
    ledger: Ledger,
    cfg: VenueConfig,
    index: LiquidationIndex,
    step: u32,
    totals: Totals,
    events: Vec<Event>,
    record_events: bool,
    scratch: Scratch,
    rng: ChaCha8Rng,
    accounts_liquidated: u32,
    accounts_adl_hit: u32,
    /// Optional controls (circuit breaker, volatility margin, oracle).
    controls: Controls,
    /// Whether liquidations were paused in the step just run (circuit breaker).
    liquidations_paused: bool,
    /// The oracle's prices of the step (one per market), when an oracle runs.
    oracle_prices: Vec<f64>,
    /// Non-USD collateral, when the scenario has any.
    collateral: Option<CollateralBook>,
    /// UTC time of the next step (set by [`Engine::set_time`]).
    now_ns: i64,
    /// ADL candidate queues, `2 × market + (0 longs, 1 shorts)`, built at the
    /// first ADL of a step against that side (`adl_queue.rs`).
    adl_queues: Vec<SideQueue>,
    /// ADL candidates scored or evaluated so far (a diagnostic counter).
    adl_evaluations: u64,
    /// The ADL takes of the step just run and what its closes needed
    /// (`adl_takes.rs`).
    adl_log: AdlTakeLog,
    /// Accounts with more than one position slot (their triggers are bands over
    /// the account's equity: funding in one market moves all of them).
    multi_position_accounts: Vec<u32>,
    /// The liquidity vault, when the venue has one (`vault.rs`).
    vault: Option<vault_book::VaultState>,
    /// The price ADL closes at (`adl_price_gap.rs`).
    adl_price: AdlPrice,
    /// The marks of the step before, ticks (the start prices in the first
    /// step): Hyperliquid's ADL price.
    prev_marks: Vec<i64>,
    /// Liquidation orders as limit orders at dYdX's fillable price
    /// (`liquidation_limit.rs`, `limit_book.rs`); none by default.
    liquidation_limit: Option<LiquidationLimit>,
}

/// Error building an engine from a population.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    /// A position names a market the venue does not have.
    #[error("account {account}: unknown market index {market}")]
    UnknownMarket {
        /// Account id.
        account: u64,
        /// Market index.
        market: MarketId,
    },
    /// An isolated margin unit must hold exactly one position.
    #[error("account {account}: an isolated account must hold exactly one position, found {found}")]
    IsolatedPositions {
        /// Account id.
        account: u64,
        /// Positions found.
        found: usize,
    },
    /// A collateral holding the engine cannot take.
    #[error("collateral holding of account index {account}: {reason}")]
    Collateral {
        /// Account index.
        account: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// The initial marks do not match the markets.
    #[error("expected {expected} initial prices, got {found}")]
    PriceCount {
        /// Markets.
        expected: usize,
        /// Prices given.
        found: usize,
    },
    /// A price of the path the tick grid cannot hold: below one tick (it would
    /// be held at one tick), not finite, or above the grid's exact range.
    #[error(
        "step {step}: market `{market}`: the path's price {price} is not on the tick grid \
         (tick {tick_size}): below one tick, not finite or too large"
    )]
    OffGrid {
        /// Step.
        step: u32,
        /// Market name.
        market: String,
        /// The price (after the impact carried from earlier steps), USD.
        price: f64,
        /// The market's tick, USD.
        tick_size: f64,
    },
    /// A quantity past the engine's integer range
    /// ([`MAX_MICROS`](crate::money::MAX_MICROS)): the step is refused rather
    /// than a wrapped number kept.
    #[error(
        "step {step}: {party}: {quantity} reached {value_usd:e} USD, above the largest amount \
         the engine can hold ({limit_usd:.3e} USD, integer micro-USD in i64 with headroom)"
    )]
    OutOfRange {
        /// Step.
        step: u32,
        /// Who: `account 17`, `the external counterparty`, `market btc`.
        party: String,
        /// What: `collateral`, `gross open interest at the mark`.
        quantity: &'static str,
        /// The value, USD.
        value_usd: f64,
        /// The limit, USD.
        limit_usd: f64,
    },
}

impl Engine {
    /// Builds a venue from markets, a population and the rules.
    ///
    /// The external counterparty takes the opposite of the population's net
    /// position in every market at the population's entry prices, so unrealized PnL
    /// is zero-sum from the start. `rng` seeds the pseudo-random ADL walk.
    ///
    /// # Errors
    /// A position in an unknown market, or an isolated account without exactly one
    /// position.
    pub fn new(
        markets: Vec<Market>,
        initial_prices: &[f64],
        population: &[AccountSpec],
        cfg: VenueConfig,
        rng: ChaCha8Rng,
    ) -> Result<Engine, EngineError> {
        if initial_prices.len() != markets.len() {
            return Err(EngineError::PriceCount {
                expected: markets.len(),
                found: initial_prices.len(),
            });
        }
        let n_markets = markets.len();
        let fund = InsuranceFund::new(cfg.insurance_fund, cfg.insurance_fund_floor);
        let value = |m: MarketId, lots, entry| markets[m as usize].value(lots, entry);
        let ledger = Ledger::open(population, n_markets, value, fund).map_err(|e| match e {
            OpenError::IsolatedPositions(account, found) => {
                EngineError::IsolatedPositions { account, found }
            }
            OpenError::UnknownMarket(account, market) => {
                EngineError::UnknownMarket { account, market }
            }
        })?;
        let n = ledger.accounts.len();
        let mut engine = Engine {
            marks: markets
                .iter()
                .zip(initial_prices)
                .map(|(m, &p)| m.ticks(p))
                .collect(),
            impact: vec![ImpactState::default(); n_markets],
            margin_mult: vec![Rate::ONE; n_markets],
            flows: vec![MarketFlows::default(); n_markets],
            venue_flows: VenueFlows::default(),
            ledger,
            cfg,
            index: LiquidationIndex::new(n_markets, n),
            step: 0,
            totals: Totals::default(),
            events: Vec::with_capacity(1024),
            record_events: false,
            scratch: Scratch {
                breached: Vec::with_capacity(n.min(1 << 16)),
                ..Default::default()
            },
            rng,
            accounts_liquidated: 0,
            accounts_adl_hit: 0,
            controls: Controls::default(),
            liquidations_paused: false,
            oracle_prices: vec![0.0; n_markets],
            collateral: None,
            now_ns: 0,
            adl_queues: vec![SideQueue::default(); 2 * n_markets],
            adl_evaluations: 0,
            adl_log: AdlTakeLog::default(),
            multi_position_accounts: Vec::new(),
            vault: None,
            adl_price: AdlPrice::Bankruptcy,
            prev_marks: Vec::new(),
            liquidation_limit: None,
            markets,
        };
        engine.prev_marks = engine.marks.clone();
        engine.multi_position_accounts = (0..n as u32)
            .filter(|&a| engine.ledger.accounts[a as usize].slot_count > 1)
            .collect();
        engine.set_record_events(cfg!(test));
        engine.reindex_all();
        // The opening book's triggers as sorted runs, shared by the engines
        // restarted from this one (`triggers.rs`).
        engine.index.freeze();
        engine.ledger.rebase();
        Ok(engine)
    }

    /// Installs the venue's optional controls (see [`crate::venue::controls`]); call
    /// before the first step. Margin multipliers start at 1, so the index stays valid.
    pub fn set_controls(&mut self, controls: Controls) {
        self.controls = controls;
    }

    /// The controls the engine runs with.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Multiplier of a market's margin rates in the step just run (1 unless the
    /// volatility-margin control raised it).
    pub fn margin_multiplier(&self, market: MarketId) -> f64 {
        self.margin_mult[market as usize].as_fraction()
    }

    /// Whether the circuit breaker paused liquidations in the step just run.
    pub fn liquidations_paused(&self) -> bool {
        self.liquidations_paused
    }

    /// A deterministic RNG for tests and simple callers.
    pub fn test_rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Keeps a log of [`Event`]s and a journal of [`Transfer`]s for the current
    /// step (off by default outside tests: both are for invariant checks and
    /// debugging).
    pub fn set_record_events(&mut self, on: bool) {
        self.record_events = on;
        self.ledger.set_journal(on);
    }

    // ----------------------------------------------------------------- accessors

    /// Markets of the venue.
    pub fn markets(&self) -> &[Market] {
        &self.markets
    }
    /// Current marks, ticks.
    pub fn marks(&self) -> &[i64] {
        &self.marks
    }
    /// Current mark of a market, USD.
    pub fn mark_price(&self, market: MarketId) -> f64 {
        self.markets[market as usize].price(self.marks[market as usize])
    }
    /// Accounts (margin units).
    pub fn accounts(&self) -> &[Account] {
        &self.ledger.accounts
    }
    /// Account `account`'s collateral (cash balance) now, funding settled so
    /// far included. O(its positions).
    pub fn collateral(&self, account: u32) -> Micros {
        self.ledger.collateral(account)
    }
    /// Positions of an account.
    pub fn positions_of(&self, account: u32) -> &[Position] {
        self.ledger.positions_of(account)
    }
    /// The insurance fund (the shared one).
    pub fn insurance_fund(&self) -> &InsuranceFund {
        self.ledger.fund()
    }
    /// Market `market`'s own fund, if it has one (dYdX v4's isolated market;
    /// `None`: the market uses the shared fund).
    pub fn market_fund(&self, market: MarketId) -> Option<&InsuranceFund> {
        self.ledger.market_funds()[market as usize].as_ref()
    }
    /// Gives market `market` a fund of its own holding `initial`, paying down
    /// to `floor` (call before the first step, once per market): its
    /// liquidation fees go to it and its bad debt is paid from it, never from
    /// the shared fund (docs/model.md §6). An unknown market is ignored.
    pub fn set_market_fund(&mut self, market: MarketId, initial: Micros, floor: Micros) {
        if (market as usize) < self.markets.len() {
            self.ledger
                .open_market_fund(market as usize, InsuranceFund::new(initial, floor));
        }
    }
    /// Flows of the step just run, per market.
    pub fn market_flows(&self) -> &[MarketFlows] {
        &self.flows
    }
    /// Venue-wide flows of the step just run.
    pub fn venue_flows(&self) -> &VenueFlows {
        &self.venue_flows
    }
    /// Running totals.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }
    /// Events of the step just run (when recording is on).
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    /// Every movement of money in the step just run, in order (when recording is
    /// on; at construction, the collateral purchases of [`Engine::set_collateral`]).
    pub fn transfers(&self) -> &[Transfer] {
        self.ledger.journal()
    }
    /// The external counterparty's position in `market`: signed lots and the
    /// signed sum of the values of its trades (the opposite of the population's).
    pub fn external_position(&self, market: MarketId) -> (i64, Micros) {
        (
            self.ledger.ext_lots[market as usize],
            self.ledger.ext_cost[market as usize],
        )
    }
    /// A party's balance now.
    pub fn balance(&self, party: Party) -> Micros {
        self.ledger.balance(party)
    }
    /// Steps run so far.
    pub fn steps_run(&self) -> u32 {
        self.step
    }
    /// Distinct accounts liquidated at least once.
    pub fn accounts_liquidated(&self) -> u32 {
        self.accounts_liquidated
    }
    /// Distinct accounts hit by ADL.
    pub fn accounts_adl_hit(&self) -> u32 {
        self.accounts_adl_hit
    }
    /// Haircut charged to each account so far (account id, amount), non-zero
    /// only, in account order.
    pub fn haircuts(&self) -> impl Iterator<Item = (u64, Micros)> + '_ {
        self.loss_candidates()
            .filter(|a| a.haircut.0 > 0)
            .map(|a| (a.id, a.haircut))
    }

    /// The accounts that can have a haircut or a deficit, in account order:
    /// those the path changed when the ledger knows the others have none
    /// ([`ledger::Ledger::changed_accounts`]: O(changed) on a restarted
    /// engine), else every account.
    fn loss_candidates(&self) -> impl Iterator<Item = &Account> + '_ {
        let accounts = &self.ledger.accounts;
        let changed = self.ledger.changed_accounts();
        let all = if changed.is_none() { accounts.len() } else { 0 };
        let mut some: Vec<u32> = changed.map(<[u32]>::to_vec).unwrap_or_default();
        some.sort_unstable();
        (0..all)
            .chain(some.into_iter().map(|a| a as usize))
            .map(move |i| &accounts[i])
    }

    /// The two largest deficits left by single accounts so far (largest first):
    /// the stressed shortfall behind Cover-1 and Cover-2. O(accounts), or
    /// O(accounts changed) on a restarted engine; call once per path.
    pub fn largest_deficits(&self) -> [Micros; 2] {
        let mut top = [Micros::ZERO; 2];
        let mut fold = |a: &Account| {
            if a.deficit > top[0] {
                top[1] = top[0];
                top[0] = a.deficit;
            } else if a.deficit > top[1] {
                top[1] = a.deficit;
            }
        };
        // The two largest of the multiset: in any order (the changed
        // accounts unsorted).
        let accounts = &self.ledger.accounts;
        match self.ledger.changed_accounts() {
            Some(changed) => changed.iter().for_each(|&a| fold(&accounts[a as usize])),
            None => accounts.iter().for_each(fold),
        }
        top
    }
    /// Long open interest of a market, micro-USD at the mark.
    ///
    /// O(1): the long size is kept up to date at every trade.
    pub fn open_interest(&self, market: MarketId) -> Micros {
        let m = market as usize;
        self.markets[m].value(self.ledger.long_lots[m], self.marks[m])
    }
    /// ADL candidates scored (into a queue) or evaluated (against a bankruptcy
    /// price) so far: a diagnostic of the work ADL does, which grows with the
    /// candidates and the fills, not with candidates × bankrupt positions.
    pub fn adl_candidate_evaluations(&self) -> u64 {
        self.adl_evaluations
    }
    /// Whether an account is waiting for (or between chunks of) a liquidation.
    pub fn is_pending(&self, account: u32) -> bool {
        self.ledger.is_pending(account)
    }

    // ----------------------------------------------------------------- the step

    /// Moves the markets' clocks (impact models with recorded liquidity) to
    /// `ts_ns`, the time of the next step.
    // Inlined (the caller's loop keeps no call per step) while no impact
    // model is known to keep a clock; the rest out of line.
    #[inline]
    pub fn set_time(&mut self, ts_ns: i64) {
        self.now_ns = ts_ns;
        if self.scratch.quiet.clocked == Some(false) {
            return;
        }
        self.advance_clocks(ts_ns);
    }

    /// [`Engine::set_time`]'s clocks: every market's impact model moved to
    /// `ts_ns` when one of them keeps a clock.
    #[inline(never)]
    fn advance_clocks(&mut self, ts_ns: i64) {
        if !self.impact_clocked() {
            return;
        }
        for m in &mut self.markets {
            m.impact.advance_to(ts_ns);
        }
    }

    /// Runs one step at the given path prices (one per market, USD); see the
    /// module documentation for the order of a step.
    ///
    /// # Errors
    /// A price off the tick grid, or a quantity past the engine's range; the
    /// engine is then not to be stepped again.
    // Inlined with the quiet step (`quiet.rs`), the full step out of line:
    // a quiet step costs the caller no call and no spill of the full step's
    // registers.
    #[inline]
    pub fn step(&mut self, prices: &[f64]) -> Result<(), EngineError> {
        self.step_with_funding(prices, &[])
    }

    /// [`Engine::step`] with funding rates from outside (a historical replay):
    /// `funding[m] = Some(rate)` settles market `m` at `rate` this step, in place
    /// of its scheduled settlement; an empty slice or `None` entries leave the
    /// schedule alone.
    ///
    /// # Errors
    /// A price off the tick grid ([`EngineError::OffGrid`]), or a quantity past
    /// the engine's range ([`EngineError::OutOfRange`]: the gross open interest
    /// at the marks, or a balance after a transfer); the engine is then not to
    /// be stepped again.
    // Inlined always, and so into `step` (where, with no rates, their check
    // is gone): a quiet step costs the caller no call.
    #[inline(always)]
    pub fn step_with_funding(
        &mut self,
        prices: &[f64],
        funding: &[Option<Rate>],
    ) -> Result<(), EngineError> {
        debug_assert_eq!(
            prices.len(),
            self.markets.len(),
            "Invariant: one price per market"
        );
        // A step that only moves the marks (`quiet.rs`): the same state.
        if funding.iter().all(Option::is_none) && self.try_step_quiet(prices) {
            return Ok(());
        }
        self.step_full(prices, funding)
    }

    /// The full step (stages 1-8 of the module documentation), when
    /// [`Engine::try_step_quiet`] did not run the step.
    #[inline(never)]
    fn step_full(&mut self, prices: &[f64], funding: &[Option<Rate>]) -> Result<(), EngineError> {
        // The quiet steps since the last full step.
        self.scratch.quiet.fold_count(self.step);
        let t = self.step;
        self.reset_step_outputs();
        self.update_marks(prices)?;
        self.check_open_interest()?;
        self.settle_due_funding(funding);
        let margin_changed = self.update_margin_multipliers();
        self.refresh_index(margin_changed);
        // Circuit breaker: breaches are still detected (and scheduled) while
        // liquidations are paused; they execute once the pause is over.
        self.liquidations_paused = match self.controls.breaker.as_mut() {
            Some(b) => b.observe(t, &self.marks),
            None => false,
        };
        self.collect_breaches();
        if !self.liquidations_paused {
            self.execute_due(t);
        }
        self.vault_end_step();
        self.end_step();
        match self.ledger.out_of_range {
            None => Ok(()),
            Some((party, balance)) => Err(EngineError::OutOfRange {
                step: t,
                party: self.party_name(party),
                quantity: "balance",
                value_usd: balance.to_usd(),
                limit_usd: MAX_MICROS as f64 / 1e6,
            }),
        }
    }

    /// A party as an error names it.
    fn party_name(&self, party: Party) -> String {
        match party {
            Party::Account(a) => format!("account {}", self.ledger.accounts[a as usize].id),
            Party::External => "the external counterparty".to_owned(),
            Party::InsuranceFund => "the insurance fund".to_owned(),
            Party::MarketFund(m) => format!("the {} fund", self.markets[m as usize].name),
            Party::Liquidators => "the liquidators".to_owned(),
            Party::Venue => "the venue".to_owned(),
            Party::Outside => "outside the ledger".to_owned(),
            Party::Vault => "the liquidity vault".to_owned(),
        }
    }

    /// The population's gross open interest at the opening, valued at the
    /// current marks and summed over markets, must stay within [`MAX_MICROS`]:
    /// every position value, unrealized PnL, close and running total of the
    /// step is then bounded by it (closes only shrink positions). O(markets).
    fn check_open_interest(&self) -> Result<(), EngineError> {
        // In `i64` while nothing overflows (every ordinary book: three
        // multiplies less than the `i128` products); else the `i128` check,
        // which then gives the same verdict and the error.
        let mut gross = 0i64;
        for (i, m) in self.markets.iter().enumerate() {
            let v = self.ledger.gross_lots[i]
                .checked_mul(self.marks[i])
                .and_then(|v| v.checked_mul(m.micros_per_lot_tick))
                .and_then(|v| gross.checked_add(v));
            match v {
                Some(sum) if sum <= MAX_MICROS => gross = sum,
                _ => return self.check_open_interest_wide(),
            }
        }
        Ok(())
    }

    /// [`Engine::check_open_interest`] in `i128`, naming the market where the
    /// sum first passes [`MAX_MICROS`].
    #[cold]
    fn check_open_interest_wide(&self) -> Result<(), EngineError> {
        let mut gross = 0i128;
        for (i, m) in self.markets.iter().enumerate() {
            let v = i128::from(self.ledger.gross_lots[i])
                * i128::from(self.marks[i])
                * i128::from(m.micros_per_lot_tick);
            gross += v;
            if gross > i128::from(MAX_MICROS) {
                return Err(EngineError::OutOfRange {
                    step: self.step,
                    party: format!("market `{}`", m.name),
                    quantity: "the gross open interest at the mark (with the markets before it)",
                    value_usd: gross as f64 / 1e6,
                    limit_usd: MAX_MICROS as f64 / 1e6,
                });
            }
        }
        Ok(())
    }

    /// Stage 1: the marks from the path (or oracle) prices and the impact carried
    /// from earlier steps; the collateral's prices at them.
    fn update_marks(&mut self, prices: &[f64]) -> Result<(), EngineError> {
        // Oracle aggregation: the mark is built from the oracle's price instead of
        // the path price.
        let base: &[f64] = match self.controls.oracle.as_mut() {
            Some(o) => {
                o.observe(self.step, prices, &mut self.oracle_prices);
                &self.oracle_prices
            }
            None => prices,
        };
        let memos = &mut self.scratch.marks;
        if memos.len() != self.markets.len() {
            memos.clear();
            memos.resize(self.markets.len(), MarkMemo::default());
        }
        for (i, m) in self.markets.iter().enumerate() {
            // Copied here rather than by `copy_from_slice` (a `memcpy` call
            // per step for one market).
            self.prev_marks[i] = self.marks[i];
            self.flows[i] = MarketFlows::default();
            let memo = &mut memos[i];
            // A resting impact state is the one `log_factor` was computed from.
            if !memo.impact_still {
                let log_factor = self.impact[i].permanent + self.impact[i].temporary;
                if log_factor != memo.log_factor {
                    memo.log_factor = log_factor;
                    memo.factor = log_factor.exp();
                    memo.base = f64::NAN;
                }
            }
            debug_assert!(
                memo.factor == self.impact[i].factor(),
                "Invariant: the memo's factor is the impact state's"
            );
            if base[i] != memo.base {
                let price = base[i] * memo.factor;
                memo.mark = m.checked_ticks(price).ok_or_else(|| EngineError::OffGrid {
                    step: self.step,
                    market: m.name.clone(),
                    price,
                    tick_size: m.tick_size,
                })?;
                memo.base = base[i];
            }
            self.marks[i] = memo.mark;
        }
        self.reprice_collateral();
        Ok(())
    }

    /// Stage 2: funding of every market due now (or given); the rate settled is
    /// in the step's market flows (`funding_rate`).
    fn settle_due_funding(&mut self, funding: &[Option<Rate>]) {
        let t = self.step;
        for i in 0..self.markets.len() {
            let given = funding.get(i).copied().flatten();
            let interval = self.markets[i].funding_interval_steps;
            if let Some(rate) = given {
                self.settle_funding(i, rate);
            } else if interval > 0 && t > 0 && t.is_multiple_of(interval) {
                self.settle_funding(i, self.markets[i].funding_rate);
            }
        }
    }

    /// Longs pay shorts `size × mark × rate` per position, rounded half away from
    /// zero; the external counterparty takes the other side of each payment.
    /// O(1) when settled lazily (each position pays when its account is next
    /// touched, `engine/collateral_funding.rs`), else O(positions of the
    /// market).
    fn settle_funding(&mut self, market: usize, rate: Rate) {
        let entry = collateral_funding::FundingEntry {
            rate,
            mark: self.marks[market],
            micros_per_lot_tick: self.markets[market].micros_per_lot_tick,
        };
        self.ledger.settle_funding(market, entry);
        self.flows[market].funding_rate = Some(rate.as_fraction());
    }

    /// Stage 3: the volatility margin folds in the marks; returns whether any
    /// multiplier changed (every account is then re-evaluated, at most once per
    /// update interval; a quiet step costs O(markets)).
    fn update_margin_multipliers(&mut self) -> bool {
        if let Some(c) = self.controls.margin.as_mut()
            && c.observe(self.step, &self.marks)
        {
            self.margin_mult.copy_from_slice(c.multipliers());
            return true;
        }
        false
    }

    /// Stage 4: re-indexes every account when `everything` (new multipliers) or
    /// when stale entries pile up; otherwise moves the triggers of the markets
    /// that settled funding ([`Engine::shift_for_funding`]) and re-indexes the
    /// holders of collateral that fell below what their triggers assumed
    /// (O(assets)).
    fn refresh_index(&mut self, everything: bool) {
        if everything || self.index.needs_compaction(self.ledger.accounts.len()) {
            self.reindex_all();
        } else {
            for i in 0..self.markets.len() {
                if let Some(rate) = self.flows[i].funding_rate {
                    self.shift_for_funding(i, rate);
                }
            }
            self.reindex_collateral_holders();
        }
    }

    /// Stage 8: the step's liquidation flow into each market's impact state (the
    /// next step's marks), the fund's statistics, the step counter.
    fn end_step(&mut self) {
        for i in 0..self.markets.len() {
            let m = &self.markets[i];
            if !m.impact_moves_mark {
                continue;
            }
            let flow = self.flows[i].signed_flow_usd;
            // No flow, no impact (every model; checked in debug builds).
            let imp = if flow == 0.0 {
                debug_assert!(
                    m.impact.impact(flow) == 0.0,
                    "Invariant: an impact model moves nothing without flow"
                );
                0.0
            } else {
                m.impact.impact(flow)
            };
            let state = &mut self.impact[i];
            let memo = &mut self.scratch.marks[i];
            let (fraction, decay) = (m.permanent_impact_fraction, m.temporary_impact_decay);
            if imp == 0.0 && memo.impact_still {
                debug_assert!(
                    {
                        let mut next = *state;
                        end_impact_step(&mut next, 0.0, fraction, decay);
                        same_bits(&next, state)
                    },
                    "Invariant: a resting impact state is a fixed point of a flowless step"
                );
                continue;
            }
            let before = *state;
            end_impact_step(state, imp, fraction, decay);
            memo.impact_still = imp == 0.0 && same_bits(&before, state);
        }
        self.ledger.observe_funds(self.step);
        self.step += 1;
        self.build_quiet();
    }
}

/// Whether two impact states are the same bits (`-0.0` is not `0.0`).
#[inline]
fn same_bits(a: &ImpactState, b: &ImpactState) -> bool {
    a.permanent.to_bits() == b.permanent.to_bits() && a.temporary.to_bits() == b.temporary.to_bits()
}

/// [`ImpactState::end_step`] without its logarithm when the step moved
/// nothing: `ln(1 + 0)` is `+0` exactly, and the rest is the same arithmetic,
/// so the state is bit-identical.
#[inline]
fn end_impact_step(state: &mut ImpactState, impact: f64, permanent_fraction: f64, decay: f64) {
    if impact == 0.0 {
        let log_impact = 0.0;
        state.temporary = state.temporary * decay + (1.0 - permanent_fraction) * log_impact;
        state.permanent += permanent_fraction * log_impact;
    } else {
        state.end_step(impact, permanent_fraction, decay);
    }
}
