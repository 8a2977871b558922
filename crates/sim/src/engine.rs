//! The venue engine: accounts, positions, liquidation, insurance fund and the loss
//! waterfall, stepped one mark at a time.
//!
//! # Ledger
//! Money is integer micro-USD. Parties: every account's `collateral`, the external
//! counterparty's cash, the insurance fund, the liquidators' fees and the venue's own
//! balance (negative when it covered a loss nobody else could). Transfers move money
//! between two of these, so their sum never changes (MODEL.md §6, conservation).
//!
//! Positions carry a **cost**: the signed sum of the value of every trade booked on
//! them (`lots × price × k`). A trade between two parties at one price adds `+v` to
//! one cost and `−v` to the other, so `Σ cost = 0` and `Σ lots = 0` per market at all
//! times, and unrealized PnL `value(lots, mark) − cost` sums to exactly zero over all
//! accounts and the external counterparty (MODEL.md §6, zero-sum PnL). Closed PnL
//! stays in the position's cost (a flat slot holds its realized PnL) rather than
//! being swept into collateral, so that both identities hold literally.
//!
//! # Liquidation index
//! Each account with open positions has, per position, a **trigger** in ticks: a
//! long is safe while the mark stays above its trigger, a short while it stays
//! below. Triggers sit in two heaps per market (max-heap for longs, min-heap for
//! shorts). A step compares the mark with the two heap tops: a quiet step is O(1)
//! per market (O(log n) to pop an entry when one is crossed), independent of the
//! number of accounts. A crossed trigger costs one exact evaluation of the account
//! (O(positions)). Triggers are the exact liquidation price for single-position
//! accounts (closed form per bracket, with a safety margin of a tick or two for
//! rounding), and conservative bands for multi-position cross accounts (the equity
//! buffer split across positions by notional, with worst-case slopes). Stale heap
//! entries are skipped by a version number and compacted when they pile up.
//!
//! Funding settlement touches every position (O(n)) and rebuilds the index
//! (O(n log n)); it happens once per funding interval (every 480 one-minute steps at
//! Binance's 8 hours).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::adl::{self, AdlCandidate, AdlPolicy};
use crate::controls::{CollateralHolding, CollateralPricing, Controls};
use crate::insurance::InsuranceFund;
use crate::market::{Market, MarketId};
use crate::money::{Micros, Rate};

/// One position slot: an account's exposure to one market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Market of the position.
    pub market: MarketId,
    /// Signed size in lots (long > 0).
    pub lots: i64,
    /// Signed sum of the value of every trade booked on this slot, micro-USD.
    pub cost: Micros,
}

/// A margin unit: a cross-margin account (one or more positions) or one isolated
/// position with its own collateral.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// Identifier from the population.
    pub id: u64,
    /// Cash balance: deposits plus every transfer (fees, funding, coverage, haircuts).
    pub collateral: Micros,
    /// Whether this is an isolated position.
    pub isolated: bool,
    first_slot: u32,
    slot_count: u32,
    version: u32,
    pending: bool,
    queued: bool,
    liquidated: bool,
    adl_hit: bool,
    haircut: Micros,
    /// Deficits (negative equity after closing) this account left, summed.
    deficit: Micros,
    /// Under `none`: the negative equity already recorded as insolvency.
    shortfall_recorded: Micros,
}

/// An account as the population hands it to the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountSpec {
    /// Identifier.
    pub id: u64,
    /// Starting collateral.
    pub collateral: Micros,
    /// Isolated margin unit (exactly one position).
    pub isolated: bool,
    /// `(market, signed lots, entry price in ticks)`.
    pub positions: Vec<(MarketId, i64, i64)>,
}

/// How much of a liquidatable position is closed at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LiquidationMode {
    /// Close whole positions (largest maintenance margin first) until the account
    /// is safe.
    Full,
    /// Close the smallest multiple of `step_fraction` of the position that brings
    /// equity to `maintenance × (1 + buffer)`; the whole position if none does.
    ToTarget {
        /// Safety buffer over maintenance after the partial close.
        buffer: Rate,
        /// Granularity of the search, as a fraction of the position.
        step_fraction: f64,
    },
    /// At most `max_fraction` of the position per step (at least `min_chunk`, all of
    /// it below `full_below`), then wait `cooldown_steps` before the next chunk.
    Chunked {
        /// Largest fraction of the position closed in one chunk.
        max_fraction: f64,
        /// Smallest chunk notional.
        min_chunk: Micros,
        /// Positions at or below this notional are closed whole.
        full_below: Micros,
        /// Steps between chunks.
        cooldown_steps: u32,
    },
}

/// Who takes what the insurance fund cannot pay.
pub enum LastLine {
    /// Auto-deleveraging against the other side at the bankruptcy price.
    Adl {
        /// How the closed size is allocated.
        policy: AdlPolicy,
        /// How much of the bankrupt position is deleveraged.
        scope: AdlScope,
    },
    /// Haircut of the other side's positive PnL, pro-rata.
    Socialize,
    /// Nothing: the deficit stays as recorded venue insolvency.
    None,
}

/// How much of a bankrupt position goes to ADL when the fund is short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdlScope {
    /// The whole position (Binance, Hyperliquid): the fund pays nothing.
    Position,
    /// Only the part whose deficit the fund cannot pay.
    Shortfall,
}

/// Venue-wide rules of the engine.
pub struct VenueConfig {
    /// Partial/full liquidation rule.
    pub mode: LiquidationMode,
    /// Liquidation fee on liquidated notional.
    pub fee: Rate,
    /// Share of the fee that goes to the insurance fund (the rest to the liquidator).
    pub insurance_fund_share: Rate,
    /// Steps between a breach and its execution.
    pub latency_steps: u32,
    /// Insurance fund at the start.
    pub insurance_fund: Micros,
    /// The fund does not pay below this level.
    pub insurance_fund_floor: Micros,
    /// The waterfall's last line.
    pub last_line: LastLine,
}

/// What happened in the venue during the current step, for tests and the recorder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// A liquidation order executed against the external counterparty.
    Liquidation {
        /// Account index.
        account: u32,
        /// Market.
        market: MarketId,
        /// Signed lots traded by the account.
        lots: i64,
        /// Execution price, ticks.
        price: i64,
        /// Fee charged.
        fee: Micros,
    },
    /// A deficit: what covered it.
    BadDebt {
        /// Account index.
        account: u32,
        /// Negative equity after the close.
        deficit: Micros,
        /// Paid by the insurance fund.
        insurance_fund: Micros,
        /// Charged to winners as haircuts.
        socialized: Micros,
        /// Covered by the venue (no one else could).
        venue: Micros,
    },
    /// A bankrupt position deleveraged against the other side.
    Adl {
        /// Bankrupt account index.
        account: u32,
        /// Market.
        market: MarketId,
        /// Bankrupt position size before the ADL, lots (absolute).
        bankrupt_lots: i64,
        /// Lots closed against winners.
        closed_lots: i64,
        /// Lots that would have sufficed (the fund paying the rest).
        minimum_lots: i64,
        /// Bankruptcy price, ticks.
        price: i64,
    },
    /// One winner's share of a socialized loss.
    Haircut {
        /// Winner account index.
        account: u32,
        /// Amount charged.
        amount: Micros,
        /// The winner's positive PnL before the charge (the cap).
        positive_pnl: Micros,
    },
}

/// Per-market flows of the current step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MarketFlows {
    /// Notional of long positions liquidated, micro-USD at execution price.
    pub liquidated_long: Micros,
    /// Notional of short positions liquidated.
    pub liquidated_short: Micros,
    /// Liquidation orders executed.
    pub liquidations: u32,
    /// Notional closed by ADL, at the mark.
    pub adl_notional: Micros,
    /// ADL events.
    pub adl_count: u32,
    /// Signed liquidation flow, USD (buys positive), for impact.
    pub signed_flow_usd: f64,
    /// Funding rate settled this step, if any.
    pub funding_rate: Option<f64>,
}

/// Venue-wide flows of the current step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VenueFlows {
    /// Deficits absorbed (fund + socialized + venue) or left as insolvency.
    pub bad_debt: Micros,
    /// Haircuts charged to winners.
    pub socialized_loss: Micros,
    /// Deficit left unpaid (`none`) or covered by the venue itself.
    pub insolvency: Micros,
}

/// Running totals for the per-path metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Bad debt (all deficits).
    pub bad_debt: Micros,
    /// Socialized loss.
    pub socialized_loss: Micros,
    /// Insolvency (`none`, or uncovered residuals).
    pub insolvency: Micros,
    /// ADL events.
    pub adl_events: u32,
    /// ADL notional at the mark.
    pub adl_notional: Micros,
    /// ADL notional beyond the minimum needed.
    pub adl_excess_notional: Micros,
    /// Value winners gave up by closing at the bankruptcy price instead of the mark.
    pub adl_cost: Micros,
    /// Liquidation orders.
    pub liquidations: u32,
    /// Liquidated notional.
    pub liquidated_notional: Micros,
    /// Liquidator fee income.
    pub liquidator_fees: Micros,
    /// Non-USD collateral sold at liquidations, at its weighted price.
    pub collateral_converted: Micros,
    /// Accounts whose non-USD collateral was sold at a liquidation.
    pub collateral_conversions: u32,
}

/// How far below its current weighted price a collateral asset's value is taken
/// when an account's triggers are computed: the triggers then stay valid until the
/// asset falls this much, so a collateral price that drifts down re-indexes its
/// holders once per 1% fall, not at every step.
const COLLATERAL_INDEX_SLACK: f64 = 0.01;

/// Non-USD collateral held by accounts (`[controls.collateral]`).
struct CollateralBook {
    pricing: Box<dyn CollateralPricing>,
    assets: usize,
    /// `units[account × assets + asset]`, millionths of a unit.
    units: Vec<i64>,
    /// Accounts holding each asset (fixed at the start).
    holders: Vec<Vec<u32>>,
    /// Weighted prices (USD per unit × asset weight) of the current step.
    prices: Vec<f64>,
    /// Market prices (USD per unit) of the current step: what a sale fetches.
    market_prices: Vec<f64>,
    /// Per asset: the highest weighted price any live trigger assumed; the
    /// triggers of every holder stay valid while the price is at least this.
    assumed: Vec<f64>,
    /// Units the external counterparty bought at conversions.
    ext_units: Vec<i64>,
    /// Units held at the start (conservation check).
    initial_units: Vec<i64>,
    /// Scratch: the marks in USD.
    marks_usd: Vec<f64>,
}

/// Scratch space reused across steps (no allocation in the hot loop once warm).
#[derive(Default)]
struct Scratch {
    breached: Vec<u32>,
    candidates: Vec<AdlCandidate>,
    fills: Vec<(usize, i64)>,
    winners: Vec<(u32, u32, Micros)>,
}

/// Heap entry: `(trigger ticks, account, version)`.
type LongEntry = (i64, Reverse<u32>, u32);
type ShortEntry = (Reverse<i64>, Reverse<u32>, u32);

/// The venue: markets, accounts, external counterparty, fund, and the index.
pub struct Engine {
    markets: Vec<Market>,
    marks: Vec<i64>,
    impact: Vec<crate::impact::ImpactState>,
    flows: Vec<MarketFlows>,
    venue_flows: VenueFlows,
    ext_lots: Vec<i64>,
    ext_cost: Vec<Micros>,
    ext_cash: Micros,
    /// Σ positive lots per market (population and external): long open interest.
    long_lots: Vec<i64>,
    accounts: Vec<Account>,
    positions: Vec<Position>,
    market_slots: Vec<Vec<u32>>,
    /// Account index owning each position slot.
    slot_owners: Vec<u32>,
    fund: InsuranceFund,
    liquidator_fees: Micros,
    venue_balance: Micros,
    cfg: VenueConfig,
    longs: Vec<BinaryHeap<LongEntry>>,
    shorts: Vec<BinaryHeap<ShortEntry>>,
    pending: BinaryHeap<Reverse<(u32, u32)>>,
    step: u32,
    initial_total: Micros,
    totals: Totals,
    events: Vec<Event>,
    record_events: bool,
    scratch: Scratch,
    rng: ChaCha8Rng,
    accounts_liquidated: u32,
    accounts_adl_hit: u32,
    /// Optional controls (circuit breaker, volatility margin).
    controls: Controls,
    /// Per market: multiplier of the margin rates (1 without volatility margin).
    margin_mult: Vec<Rate>,
    /// Whether liquidations were paused in the step just run (circuit breaker).
    liquidations_paused: bool,
    /// The oracle's prices of the step (one per market), when an oracle runs.
    oracle_prices: Vec<f64>,
    /// Non-USD collateral, when the scenario has any.
    collateral: Option<CollateralBook>,
    /// UTC time of the next step (set by [`Engine::set_time`]).
    now_ns: i64,
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
}

impl Engine {
    /// Builds a venue from markets, a population and the rules.
    ///
    /// The external counterparty takes the opposite of the population's net
    /// position in every market at the population's entry prices, so unrealized PnL
    /// is zero-sum from the start. `rng_seed` seeds the pseudo-random ADL walk.
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
        let mut accounts = Vec::with_capacity(population.len());
        let mut positions = Vec::new();
        let mut market_slots = vec![Vec::new(); n_markets];
        let mut ext_lots = vec![0i64; n_markets];
        let mut ext_cost = vec![Micros::ZERO; n_markets];
        let mut initial_total = cfg.insurance_fund;
        for spec in population {
            if spec.isolated && spec.positions.len() != 1 {
                return Err(EngineError::IsolatedPositions {
                    account: spec.id,
                    found: spec.positions.len(),
                });
            }
            let first_slot = positions.len() as u32;
            for &(market, lots, entry) in &spec.positions {
                let m = markets
                    .get(market as usize)
                    .ok_or(EngineError::UnknownMarket {
                        account: spec.id,
                        market,
                    })?;
                let cost = m.value(lots, entry);
                market_slots[market as usize].push(positions.len() as u32);
                positions.push(Position { market, lots, cost });
                ext_lots[market as usize] -= lots;
                ext_cost[market as usize] -= cost;
            }
            initial_total += spec.collateral;
            accounts.push(Account {
                id: spec.id,
                collateral: spec.collateral,
                isolated: spec.isolated,
                first_slot,
                slot_count: spec.positions.len() as u32,
                version: 0,
                pending: false,
                queued: false,
                liquidated: false,
                adl_hit: false,
                haircut: Micros::ZERO,
                deficit: Micros::ZERO,
                shortfall_recorded: Micros::ZERO,
            });
        }
        let marks = markets
            .iter()
            .zip(initial_prices)
            .map(|(m, &p)| m.ticks(p))
            .collect();
        let n = accounts.len();
        let slot_owners = accounts
            .iter()
            .enumerate()
            .flat_map(|(i, a)| std::iter::repeat_n(i as u32, a.slot_count as usize))
            .collect();
        let long_lots = (0..n_markets)
            .map(|m| {
                market_slots[m]
                    .iter()
                    .map(|&s| positions[s as usize].lots.max(0))
                    .sum::<i64>()
                    + ext_lots[m].max(0)
            })
            .collect();
        let mut engine = Engine {
            long_lots,
            slot_owners,
            marks,
            impact: vec![Default::default(); n_markets],
            flows: vec![MarketFlows::default(); n_markets],
            venue_flows: VenueFlows::default(),
            ext_lots,
            ext_cost,
            ext_cash: Micros::ZERO,
            fund: InsuranceFund::new(cfg.insurance_fund, cfg.insurance_fund_floor),
            liquidator_fees: Micros::ZERO,
            venue_balance: Micros::ZERO,
            longs: (0..n_markets)
                .map(|_| BinaryHeap::with_capacity(2 * n + 16))
                .collect(),
            shorts: (0..n_markets)
                .map(|_| BinaryHeap::with_capacity(2 * n + 16))
                .collect(),
            pending: BinaryHeap::with_capacity(n + 16),
            step: 0,
            initial_total,
            totals: Totals::default(),
            events: Vec::with_capacity(1024),
            record_events: cfg!(test),
            scratch: Scratch {
                breached: Vec::with_capacity(n.min(1 << 16)),
                ..Default::default()
            },
            rng,
            accounts_liquidated: 0,
            accounts_adl_hit: 0,
            controls: Controls::default(),
            margin_mult: vec![Rate::ONE; n_markets],
            liquidations_paused: false,
            oracle_prices: vec![0.0; n_markets],
            collateral: None,
            now_ns: 0,
            markets,
            accounts,
            positions,
            market_slots,
            cfg,
        };
        engine.reindex_all();
        Ok(engine)
    }

    /// Installs the venue's optional controls (see [`crate::controls`]); call before
    /// the first step. Margin multipliers start at 1, so the index stays valid.
    pub fn set_controls(&mut self, controls: Controls) {
        self.controls = controls;
    }

    /// Gives accounts non-USD collateral (see [`crate::controls::collateral`]); call
    /// before the first step, after [`Engine::set_time`] if the prices follow a
    /// schedule in UTC time. Each holding's `cost` leaves the account's USD balance
    /// (the USD ledger's total falls by the same), and its units count at their
    /// weighted price: equity falls by `cost − units × weighted price`, the haircut
    /// on an asset bought at market. The accounts are then re-indexed.
    ///
    /// # Errors
    /// A holding of an unknown or isolated account, of an unknown asset, or of a
    /// negative number of units or cost.
    pub fn set_collateral(
        &mut self,
        mut pricing: Box<dyn CollateralPricing>,
        holdings: &[CollateralHolding],
    ) -> Result<(), EngineError> {
        let n = pricing.assets();
        let marks_usd: Vec<f64> = self
            .markets
            .iter()
            .zip(&self.marks)
            .map(|(m, &t)| t as f64 * m.tick_size)
            .collect();
        let mut prices = vec![0.0; n];
        let mut market_prices = vec![0.0; n];
        pricing.prices(
            self.step,
            self.now_ns,
            &marks_usd,
            &mut market_prices,
            &mut prices,
        );
        let mut book = CollateralBook {
            pricing,
            assets: n,
            units: vec![0; self.accounts.len() * n],
            holders: vec![Vec::new(); n],
            prices,
            market_prices,
            assumed: vec![0.0; n],
            ext_units: vec![0; n],
            initial_units: vec![0; n],
            marks_usd,
        };
        for h in holdings {
            let fail = |reason| EngineError::Collateral {
                account: h.account,
                reason,
            };
            let acc = self
                .accounts
                .get_mut(h.account as usize)
                .ok_or(fail("no such account"))?;
            let k = h.asset as usize;
            if k >= n {
                return Err(fail("no such asset"));
            }
            if acc.isolated {
                return Err(fail("an isolated account holds USD only"));
            }
            if h.units < 0 || h.cost < 0 {
                return Err(fail("negative units or cost"));
            }
            let slot = &mut book.units[h.account as usize * n + k];
            if *slot == 0 && h.units > 0 {
                book.holders[k].push(h.account);
            }
            *slot += h.units;
            acc.collateral -= Micros(h.cost);
            self.initial_total -= Micros(h.cost);
            book.initial_units[k] += h.units;
        }
        for h in &mut book.holders {
            h.sort_unstable();
        }
        self.collateral = Some(book);
        self.reindex_all();
        Ok(())
    }

    /// Value of an account's non-USD collateral at the step's weighted prices
    /// (zero without collateral).
    pub fn collateral_value(&self, account: u32) -> Micros {
        self.asset_value(account, 1.0)
    }

    /// Millionths of collateral asset `asset` that `account` holds.
    pub fn collateral_units(&self, account: u32, asset: usize) -> i64 {
        self.collateral
            .as_ref()
            .map_or(0, |c| c.units[account as usize * c.assets + asset])
    }

    /// `Σ floor(units × weighted price × factor)` over an account's assets.
    fn asset_value(&self, account: u32, factor: f64) -> Micros {
        let Some(c) = &self.collateral else {
            return Micros::ZERO;
        };
        let row = account as usize * c.assets;
        let mut v = 0i64;
        for (k, &u) in c.units[row..row + c.assets].iter().enumerate() {
            if u != 0 {
                v += (u as f64 * c.prices[k] * factor).floor() as i64;
            }
        }
        Micros(v)
    }

    /// Equity the index assumes: collateral assets valued
    /// [`COLLATERAL_INDEX_SLACK`] below their weighted price.
    fn index_equity(&self, account: u32) -> Micros {
        match &self.collateral {
            None => self.equity(account),
            Some(_) => {
                self.equity(account) - self.asset_value(account, 1.0)
                    + self.asset_value(account, 1.0 - COLLATERAL_INDEX_SLACK)
            }
        }
    }

    /// Sells every non-USD asset of `a` to the external counterparty at its market
    /// price (equity rises by the haircut on them). Returns whether it held any.
    fn convert_collateral(&mut self, a: u32) -> bool {
        let Some(c) = self.collateral.as_mut() else {
            return false;
        };
        let row = a as usize * c.assets;
        let mut cash = Micros::ZERO;
        let mut any = false;
        for k in 0..c.assets {
            let u = c.units[row + k];
            if u == 0 {
                continue;
            }
            cash += Micros((u as f64 * c.market_prices[k]).floor() as i64);
            c.ext_units[k] += u;
            c.units[row + k] = 0;
            any = true;
        }
        if any {
            self.accounts[a as usize].collateral += cash;
            self.ext_cash -= cash;
            self.totals.collateral_converted += cash;
            self.totals.collateral_conversions += 1;
        }
        any
    }

    /// Re-evaluates the holders of every asset whose price fell below what their
    /// triggers assumed. O(assets) on a quiet step.
    fn reindex_collateral_holders(&mut self) {
        let n = self.collateral.as_ref().map_or(0, |c| c.assets);
        for k in 0..n {
            let Some(c) = self.collateral.as_mut() else {
                return;
            };
            if c.prices[k] >= c.assumed[k] {
                continue;
            }
            c.assumed[k] = 0.0;
            let holders = std::mem::take(&mut c.holders[k]);
            for &a in &holders {
                if self.collateral_units(a, k) > 0 {
                    self.recheck(a);
                }
            }
            if let Some(c) = self.collateral.as_mut() {
                c.holders[k] = holders;
            }
        }
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

    /// Keeps a log of [`Event`]s for the current step (off by default outside tests:
    /// the log is for invariant checks and debugging).
    pub fn set_record_events(&mut self, on: bool) {
        self.record_events = on;
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
        &self.accounts
    }
    /// Positions of an account.
    pub fn positions_of(&self, account: u32) -> &[Position] {
        let a = &self.accounts[account as usize];
        &self.positions[a.first_slot as usize..(a.first_slot + a.slot_count) as usize]
    }
    /// The insurance fund.
    pub fn insurance_fund(&self) -> &InsuranceFund {
        &self.fund
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
    /// Haircut charged to each account so far (account id, amount), non-zero only.
    pub fn haircuts(&self) -> impl Iterator<Item = (u64, Micros)> + '_ {
        self.accounts
            .iter()
            .filter(|a| a.haircut.0 > 0)
            .map(|a| (a.id, a.haircut))
    }
    /// The two largest deficits left by single accounts so far (largest first):
    /// the stressed shortfall behind Cover-1 and Cover-2. O(accounts); call once
    /// per path.
    pub fn largest_deficits(&self) -> [Micros; 2] {
        let mut top = [Micros::ZERO; 2];
        for a in &self.accounts {
            if a.deficit > top[0] {
                top[1] = top[0];
                top[0] = a.deficit;
            } else if a.deficit > top[1] {
                top[1] = a.deficit;
            }
        }
        top
    }
    /// Long open interest of a market, micro-USD at the mark.
    ///
    /// O(1): the long size is kept up to date at every trade.
    pub fn open_interest(&self, market: MarketId) -> Micros {
        let m = market as usize;
        self.markets[m].value(self.long_lots[m], self.marks[m])
    }
    /// Whether an account is waiting for (or between chunks of) a liquidation.
    pub fn is_pending(&self, account: u32) -> bool {
        self.accounts[account as usize].pending
    }

    /// Equity of an account at the current marks.
    pub fn equity(&self, account: u32) -> Micros {
        let a = &self.accounts[account as usize];
        let mut e = a.collateral + self.asset_value(account, 1.0);
        for p in self.positions_of(account) {
            let m = &self.markets[p.market as usize];
            e += m.value(p.lots, self.marks[p.market as usize]) - p.cost;
        }
        e
    }

    /// Maintenance requirement of an account at the current marks.
    pub fn maintenance(&self, account: u32) -> Micros {
        self.positions_of(account)
            .iter()
            .filter(|p| p.lots != 0)
            .map(|p| self.position_maintenance(p, p.lots))
            .sum()
    }

    fn position_maintenance(&self, p: &Position, lots: i64) -> Micros {
        let mi = p.market as usize;
        let m = &self.markets[mi];
        let base = m
            .margin
            .maintenance_margin(m.value(lots.abs(), self.marks[mi]));
        // Volatility margin: `ceil(base × multiplier)`, rounded up like the base.
        match self.margin_mult[mi] {
            Rate::ONE => base,
            mult => mult.apply_ceil(base),
        }
    }

    /// Liquidatable: equity strictly below the maintenance requirement.
    pub fn is_liquidatable(&self, account: u32) -> bool {
        self.has_open_positions(account) && self.equity(account) < self.maintenance(account)
    }

    fn has_open_positions(&self, account: u32) -> bool {
        self.positions_of(account).iter().any(|p| p.lots != 0)
    }

    /// Liquidation price of the position in `slot` (index within the account),
    /// holding the other positions at their current marks, USD. `None` if the
    /// position is flat or cannot be liquidated at a positive price.
    ///
    /// Solves `equity(m) = maintenance(m)` bracket by bracket: Binance's one-way
    /// formula `(WB − TMM1 + UPNL1 + cum − side × size × EP) / (size × MMR − side ×
    /// size)` is the same line.
    pub fn liquidation_price(&self, account: u32, slot: usize) -> Option<f64> {
        let (ticks, market) = self.liquidation_ticks(account, slot, self.equity(account))?;
        Some(ticks * self.markets[market as usize].tick_size)
    }

    /// Bankruptcy price of the position in `slot` (others at their marks), USD:
    /// the mark at which the account's equity is zero.
    pub fn bankruptcy_price(&self, account: u32, slot: usize) -> Option<f64> {
        let p = *self.positions_of(account).get(slot)?;
        if p.lots == 0 {
            return None;
        }
        let m = &self.markets[p.market as usize];
        let rest = self.equity(account) - (m.value(p.lots, self.marks[p.market as usize]) - p.cost);
        let ticks = (p.cost.0 - rest.0) as f64 / (p.lots as f64 * m.micros_per_lot_tick as f64);
        (ticks > 0.0).then_some(ticks * m.tick_size)
    }

    /// Exact liquidation price in (fractional) ticks, given the account's equity
    /// at the current marks.
    fn liquidation_ticks(
        &self,
        account: u32,
        slot: usize,
        equity: Micros,
    ) -> Option<(f64, MarketId)> {
        let p = *self.positions_of(account).get(slot)?;
        if p.lots == 0 {
            return None;
        }
        let market = &self.markets[p.market as usize];
        let mark = self.marks[p.market as usize];
        let k = market.micros_per_lot_tick as f64;
        // Equity without this position's value, minus the others' maintenance.
        let own_value = market.value(p.lots, mark);
        let own_mm = self.position_maintenance(&p, p.lots);
        let base = (equity - own_value).0 as f64 - (self.maintenance(account) - own_mm).0 as f64;
        let s = p.lots as f64;
        let tiers = market.margin.tiers();
        let mult = self.margin_mult[p.market as usize].as_fraction();
        for t in 0..tiers.len() {
            let (mmr, cum) = market.margin.mm_line(t);
            let (mmr, cum) = (mmr * mult, cum * mult);
            // base + s m k = |s| m k mmr − cum
            let denom = k * (s - s.abs() * mmr);
            let m = -(base + cum) / denom;
            if !m.is_finite() || m <= 0.0 {
                continue;
            }
            let notional = s.abs() * m * k;
            let lo = tiers[t].notional_floor.0 as f64;
            let hi = tiers
                .get(t + 1)
                .map_or(f64::INFINITY, |n| n.notional_floor.0 as f64);
            // A root on a bracket floor may land a rounding error outside both
            // brackets; the function is continuous there, so either root is right.
            let slack = 1e-9 * notional.max(1.0);
            if notional >= lo - slack && notional < hi + slack {
                return Some((m, p.market));
            }
        }
        None
    }

    // ----------------------------------------------------------------- the step

    /// Moves the markets' clocks (impact models with recorded liquidity) to
    /// `ts_ns`, the time of the next step.
    pub fn set_time(&mut self, ts_ns: i64) {
        self.now_ns = ts_ns;
        for m in &mut self.markets {
            m.impact.advance_to(ts_ns);
        }
    }

    /// Runs one step at the given path prices (one per market, USD).
    ///
    /// Order within a step: marks (path × impact carried from earlier steps),
    /// funding if due, breach detection from the index, then every liquidation whose
    /// latency has elapsed (in order of due step, then account), then the step's
    /// impact is folded into the impact state for the next step's marks.
    pub fn step(&mut self, prices: &[f64]) {
        self.step_with_funding(prices, &[]);
    }

    /// [`Engine::step`] with funding rates from outside (a historical replay):
    /// `funding[m] = Some(rate)` settles market `m` at `rate` this step, in place
    /// of its scheduled settlement; an empty slice or `None` entries leave the
    /// schedule alone.
    pub fn step_with_funding(&mut self, prices: &[f64], funding: &[Option<Rate>]) {
        debug_assert_eq!(
            prices.len(),
            self.markets.len(),
            "Invariant: one price per market"
        );
        let t = self.step;
        self.events.clear();
        self.venue_flows = VenueFlows::default();
        // Oracle aggregation: the mark is built from the oracle's price instead of
        // the path price.
        let base: &[f64] = match self.controls.oracle.as_mut() {
            Some(o) => {
                o.observe(t, prices, &mut self.oracle_prices);
                &self.oracle_prices
            }
            None => prices,
        };
        for (i, m) in self.markets.iter().enumerate() {
            self.flows[i] = MarketFlows::default();
            self.marks[i] = m.ticks(base[i] * self.impact[i].factor());
        }
        if let Some(c) = self.collateral.as_mut() {
            for (i, m) in self.markets.iter().enumerate() {
                c.marks_usd[i] = self.marks[i] as f64 * m.tick_size;
            }
            c.pricing.prices(
                t,
                self.now_ns,
                &c.marks_usd,
                &mut c.market_prices,
                &mut c.prices,
            );
        }

        let mut any_funding = false;
        for i in 0..self.markets.len() {
            let given = funding.get(i).copied().flatten();
            let interval = self.markets[i].funding_interval_steps;
            if let Some(rate) = given {
                self.settle_funding(i, rate);
                any_funding = true;
            } else if interval > 0 && t > 0 && t.is_multiple_of(interval) {
                self.settle_funding(i, self.markets[i].funding_rate);
                any_funding = true;
            }
        }
        // Volatility margin: new multipliers re-evaluate every account (at most once
        // per update interval; a quiet step costs O(markets)).
        let mut margin_changed = false;
        if let Some(c) = self.controls.margin.as_mut()
            && c.observe(t, &self.marks)
        {
            self.margin_mult.copy_from_slice(c.multipliers());
            margin_changed = true;
        }
        if any_funding || margin_changed || self.index_needs_compaction() {
            self.reindex_all();
        } else {
            // Collateral that fell below what the triggers assumed re-evaluates its
            // holders (O(assets) otherwise).
            self.reindex_collateral_holders();
        }

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

        for i in 0..self.markets.len() {
            let m = &self.markets[i];
            let imp = m.impact.impact(self.flows[i].signed_flow_usd);
            self.impact[i].end_step(imp, m.permanent_impact_fraction, m.temporary_impact_decay);
        }
        self.fund.observe(t);
        self.step += 1;
    }

    fn settle_funding(&mut self, market: usize, rate: Rate) {
        let m = &self.markets[market];
        let mark = self.marks[market];
        let mut paid_by_population = Micros::ZERO;
        for &s in &self.market_slots[market] {
            let p = self.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            // Longs pay shorts `size × mark × rate`, rounded half away from zero;
            // the external counterparty takes the exact opposite of the sum.
            let payment = rate.apply_round(m.value(p.lots, mark));
            let owner = self.slot_owner(s);
            self.accounts[owner as usize].collateral -= payment;
            paid_by_population += payment;
        }
        self.ext_cash += paid_by_population;
        self.flows[market].funding_rate = Some(rate.as_fraction());
    }

    fn slot_owner(&self, slot: u32) -> u32 {
        // O(1): funding, socialization and ADL scan whole markets.
        self.slot_owners[slot as usize]
    }

    fn collect_breaches(&mut self) {
        let mut breached = std::mem::take(&mut self.scratch.breached);
        breached.clear();
        for i in 0..self.markets.len() {
            let mark = self.marks[i];
            while let Some(&(trigger, Reverse(a), v)) = self.longs[i].peek() {
                if trigger < mark {
                    break;
                }
                self.longs[i].pop();
                self.take_breach(a, v, &mut breached);
            }
            while let Some(&(Reverse(trigger), Reverse(a), v)) = self.shorts[i].peek() {
                if trigger > mark {
                    break;
                }
                self.shorts[i].pop();
                self.take_breach(a, v, &mut breached);
            }
        }
        breached.sort_unstable();
        for &a in &breached {
            self.accounts[a as usize].queued = false;
            self.recheck(a);
        }
        self.scratch.breached = breached;
    }

    fn take_breach(&mut self, a: u32, version: u32, breached: &mut Vec<u32>) {
        let acc = &mut self.accounts[a as usize];
        if acc.version == version && !acc.pending && !acc.queued {
            acc.queued = true;
            breached.push(a);
        }
    }

    /// Evaluates an account now: schedules its liquidation if it is liquidatable,
    /// otherwise refreshes its triggers.
    fn recheck(&mut self, a: u32) {
        if self.accounts[a as usize].pending {
            return;
        }
        if self.is_liquidatable(a) {
            let acc = &mut self.accounts[a as usize];
            acc.pending = true;
            acc.version = acc.version.wrapping_add(1);
            self.pending
                .push(Reverse((self.step + self.cfg.latency_steps, a)));
        } else {
            self.index_account(a);
        }
    }

    fn execute_due(&mut self, t: u32) {
        while let Some(&Reverse((due, a))) = self.pending.peek() {
            if due > t {
                break;
            }
            self.pending.pop();
            let cooldown = self.liquidate_account(a);
            let acc = &mut self.accounts[a as usize];
            match cooldown {
                Some(steps) => self.pending.push(Reverse((t + steps.max(1), a))),
                None => {
                    acc.pending = false;
                    self.recheck(a);
                }
            }
        }
    }

    // ----------------------------------------------------------------- liquidation

    /// Liquidates an account as far as the mode allows this step. Returns
    /// `Some(cooldown)` when a chunked liquidation must continue later.
    ///
    /// An account whose equity is not positive, or that a close leaves bankrupt, is
    /// taken over: every position is closed now, whatever the mode.
    fn liquidate_account(&mut self, a: u32) -> Option<u32> {
        let mut takeover = false;
        let mut first = true;
        loop {
            let equity = self.equity(a);
            let maintenance = self.maintenance(a);
            if !takeover && equity >= maintenance {
                return None;
            }
            if first && self.convert_collateral(a) {
                // Non-USD collateral is sold first, at market; the account is then
                // evaluated again on its USD equity.
                continue;
            }
            let slot = self.largest_position(a)?;
            if first && !self.accounts[a as usize].liquidated {
                self.accounts[a as usize].liquidated = true;
                self.accounts_liquidated += 1;
            }
            first = false;
            if equity.0 <= 0 {
                takeover = true;
            }
            let held = self.positions[slot as usize].lots.abs();
            let lots = if takeover {
                held
            } else {
                match self.cfg.mode {
                    LiquidationMode::Full => held,
                    LiquidationMode::ToTarget {
                        buffer,
                        step_fraction,
                    } => self.to_target_lots(slot, equity, maintenance, buffer, step_fraction),
                    LiquidationMode::Chunked {
                        max_fraction,
                        min_chunk,
                        full_below,
                        ..
                    } => self.chunk_lots(slot, max_fraction, min_chunk, full_below),
                }
            };
            if self.close(a, slot, lots) {
                takeover = true;
            }
            if let (LiquidationMode::Chunked { cooldown_steps, .. }, false) =
                (self.cfg.mode, takeover)
            {
                return self.is_liquidatable(a).then_some(cooldown_steps);
            }
        }
    }

    /// The open position with the largest maintenance margin (lowest slot on ties).
    fn largest_position(&self, a: u32) -> Option<u32> {
        let acc = &self.accounts[a as usize];
        let mut best: Option<(Micros, u32)> = None;
        for s in acc.first_slot..acc.first_slot + acc.slot_count {
            let p = &self.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            let mm = self.position_maintenance(p, p.lots);
            if best.is_none_or(|(b, _)| mm > b) {
                best = Some((mm, s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// Execution price in ticks of `trade` lots (signed, account side) now: the mark
    /// moved by the impact of this step's flow including this order, rounded against
    /// the account (sells down, buys up), at least one tick.
    ///
    /// Never better than the mark for the liquidated account (MODEL.md §2: mark ∓
    /// slippage). Opposite flow earlier in the step nets in the impact, so without the
    /// clamp a sell after larger buys would execute above the mark and *raise* the
    /// equity of the account being closed; the waterfall books each close's deficit as
    /// it happens, so a later close of the same bankrupt account recovering part of it
    /// left recorded insolvency above the account's shortfall under `none` (and gave
    /// back to it money the fund or the winners had already paid).
    fn execution_ticks(&self, market: usize, trade: i64) -> i64 {
        let m = &self.markets[market];
        let mark = self.marks[market];
        let flow = self.flows[market].signed_flow_usd + m.value(trade, mark).to_usd();
        let price = mark as f64 * (1.0 + m.impact.impact(flow));
        let ticks = if trade < 0 {
            (price.floor() as i64).min(mark)
        } else {
            (price.ceil() as i64).max(mark)
        };
        ticks.max(1)
    }

    fn to_target_lots(
        &self,
        slot: u32,
        equity: Micros,
        maintenance: Micros,
        buffer: Rate,
        step_fraction: f64,
    ) -> i64 {
        let p = self.positions[slot as usize];
        let held = p.lots.abs();
        let market = p.market as usize;
        let m = &self.markets[market];
        let mark = self.marks[market];
        let mm_now = self.position_maintenance(&p, p.lots);
        let steps = (1.0 / step_fraction).ceil().max(1.0) as i64;
        for i in 1..steps {
            let q = ((held as f64 * step_fraction * i as f64).ceil() as i64).clamp(1, held);
            if q == held {
                break;
            }
            let trade = -p.lots.signum() * q;
            let price = self.execution_ticks(market, trade);
            let slippage = m.value(trade, mark) - m.value(trade, price);
            let fee = self.cfg.fee.apply_ceil(m.value(q, price));
            let e_after = equity + slippage - fee;
            let remaining = p.lots + trade;
            let mm_after = maintenance - mm_now + self.position_maintenance(&p, remaining);
            if e_after >= mm_after + buffer.apply_ceil(mm_after) {
                return q;
            }
        }
        held
    }

    fn chunk_lots(
        &self,
        slot: u32,
        max_fraction: f64,
        min_chunk: Micros,
        full_below: Micros,
    ) -> i64 {
        let p = self.positions[slot as usize];
        let held = p.lots.abs();
        let m = &self.markets[p.market as usize];
        let mark = self.marks[p.market as usize];
        if m.value(held, mark) <= full_below {
            return held;
        }
        let by_fraction = (held as f64 * max_fraction).ceil() as i64;
        let lot_value = m.value(1, mark).0.max(1);
        let by_floor = (min_chunk.0 + lot_value - 1) / lot_value;
        by_fraction.max(by_floor).clamp(1, held)
    }

    /// Closes `lots` of the position in `slot` of account `a`, runs the waterfall if
    /// the account ends bankrupt, and returns whether it did.
    fn close(&mut self, a: u32, slot: u32, lots: i64) -> bool {
        let p = self.positions[slot as usize];
        let market = p.market as usize;
        let trade = -p.lots.signum() * lots;
        let price = self.execution_ticks(market, trade);
        let (mark, value_at_mark, value_at_price) = {
            let m = &self.markets[market];
            let mark = self.marks[market];
            (mark, m.value(trade, mark), m.value(trade, price))
        };
        let equity_before = self.equity(a);
        let e_after = equity_before + value_at_mark - value_at_price;

        // Split between the market (external counterparty) and ADL.
        let mut adl_lots = 0;
        let mut minimum_lots = 0;
        if e_after.0 < 0 {
            let deficit = -e_after;
            let available = self.fund.available();
            if let (true, LastLine::Adl { scope, .. }) = (deficit > available, &self.cfg.last_line)
            {
                // The fund cannot cover this deficit: it is depleted for the
                // metrics even when ADL then leaves it nothing to pay.
                self.fund.record_shortfall(self.step);
                // The fewest lots whose deficit the fund cannot pay:
                // ceil(lots × (D − A) / D); the rest's deficit is at most A.
                let short = (deficit - available).0 as i128;
                minimum_lots =
                    ((lots as i128 * short + deficit.0 as i128 - 1) / deficit.0 as i128) as i64;
                adl_lots = match scope {
                    AdlScope::Position => lots,
                    AdlScope::Shortfall => minimum_lots,
                };
            }
        }
        let market_lots = lots - adl_lots;
        if market_lots > 0 {
            let t = -p.lots.signum() * market_lots;
            self.trade_with_external(a, slot, t, price);
        }
        if adl_lots > 0 {
            // Bankruptcy price of the whole close, from the state before it:
            // equity_before + trade × (mark − p_b) × k = 0, rounded in the bankrupt's
            // favour so its equity after is ≥ 0.
            let k = self.markets[market].micros_per_lot_tick as f64;
            let pb = mark as f64 + equity_before.0 as f64 / (trade as f64 * k);
            let pb = if trade < 0 { pb.ceil() } else { pb.floor() };
            let pb = (pb as i64).max(1);
            let unfilled = self.deleverage(a, slot, adl_lots, minimum_lots, pb);
            if unfilled > 0 {
                let t = -p.lots.signum() * unfilled;
                let price = self.execution_ticks(market, t);
                self.trade_with_external(a, slot, t, price);
            }
        }

        let mut equity = self.equity(a);
        if market_lots > 0 && equity.0 > 0 {
            // The fee on what the market took, only out of what the account has left.
            let m = &self.markets[market];
            let notional = m.value(market_lots, price);
            let fee = Micros(self.cfg.fee.apply_ceil(notional).0.min(equity.0));
            // Insurance-fund share rounded down; the liquidator gets the remainder.
            let to_fund = self.cfg.insurance_fund_share.apply_floor(fee);
            self.accounts[a as usize].collateral -= fee;
            self.fund.receive_fee(to_fund);
            self.liquidator_fees += fee - to_fund;
            self.totals.liquidator_fees += fee - to_fund;
            equity -= fee;
            if let Some(Event::Liquidation { fee: f, .. }) = self
                .events
                .iter_mut()
                .rev()
                .find(|e| matches!(e, Event::Liquidation { account, .. } if *account == a))
            {
                *f = fee;
            }
        }
        if equity.0 < 0 {
            // Only the part not already recorded (under `none` an account taken over
            // stays negative between the closes of its positions).
            let new = -equity - self.accounts[a as usize].shortfall_recorded;
            if new.0 > 0 {
                self.cover_deficit(a, p.market, p.lots.signum(), new);
            }
            return true;
        }
        adl_lots > 0
    }

    /// Books a trade of `trade` lots (account side) at `price` between account `a`
    /// and the external counterparty.
    fn trade_with_external(&mut self, a: u32, slot: u32, trade: i64, price: i64) {
        let market = self.positions[slot as usize].market;
        let mi = market as usize;
        let m = &self.markets[mi];
        let v = m.value(trade, price);
        let p = &mut self.positions[slot as usize];
        let before = (p.lots, self.ext_lots[mi]);
        p.lots += trade;
        p.cost += v;
        self.ext_lots[mi] -= trade;
        self.ext_cost[mi] -= v;
        self.long_lots[mi] +=
            long_change(before.0, p.lots) + long_change(before.1, self.ext_lots[mi]);
        let notional = Micros(v.0.abs());
        let f = &mut self.flows[mi];
        f.signed_flow_usd += m.value(trade, self.marks[mi]).to_usd();
        f.liquidations += 1;
        if trade < 0 {
            f.liquidated_long += notional;
        } else {
            f.liquidated_short += notional;
        }
        self.totals.liquidations += 1;
        self.totals.liquidated_notional += notional;
        if self.record_events {
            self.events.push(Event::Liquidation {
                account: a,
                market,
                lots: trade,
                price,
                fee: Micros::ZERO,
            });
        }
    }

    /// Deficit after a close: insurance fund, then the last line.
    fn cover_deficit(&mut self, a: u32, market: MarketId, side: i64, deficit: Micros) {
        let step = self.step;
        let paid = self.fund.pay(deficit, step);
        self.accounts[a as usize].collateral += paid;
        let mut left = deficit - paid;
        let mut socialized = Micros::ZERO;
        let venue;
        match self.cfg.last_line {
            LastLine::None => {
                self.accounts[a as usize].shortfall_recorded += left;
                self.venue_flows.insolvency += left;
                self.totals.insolvency += left;
                venue = Micros::ZERO;
            }
            LastLine::Socialize | LastLine::Adl { .. } => {
                if matches!(self.cfg.last_line, LastLine::Socialize) && left.0 > 0 {
                    socialized = self.socialize(a, market, side, left);
                    self.accounts[a as usize].collateral += socialized;
                    left -= socialized;
                }
                // Whatever nobody could absorb (no winners left, or ADL rounding), the
                // venue covers and records as insolvency.
                venue = left;
                self.venue_balance -= venue;
                self.accounts[a as usize].collateral += venue;
                self.venue_flows.insolvency += venue;
                self.totals.insolvency += venue;
            }
        }
        // The whole deficit is bad debt, whoever ends up carrying it.
        self.accounts[a as usize].deficit += deficit;
        self.venue_flows.bad_debt += deficit;
        self.totals.bad_debt += deficit;
        if self.record_events {
            self.events.push(Event::BadDebt {
                account: a,
                deficit,
                insurance_fund: paid,
                socialized,
                venue,
            });
        }
    }

    /// Haircuts the other side's positive PnL in `market` pro-rata for `amount`;
    /// returns what was charged (at most the total positive PnL).
    fn socialize(&mut self, bankrupt: u32, market: MarketId, side: i64, amount: Micros) -> Micros {
        let mi = market as usize;
        let mark = self.marks[mi];
        let mut winners = std::mem::take(&mut self.scratch.winners);
        winners.clear();
        let mut total = 0i128;
        for &s in &self.market_slots[mi] {
            let p = self.positions[s as usize];
            if p.lots == 0 || p.lots.signum() == side {
                continue;
            }
            let owner = self.slot_owner(s);
            if owner == bankrupt {
                continue;
            }
            let pnl = self.markets[mi].value(p.lots, mark) - p.cost;
            if pnl.0 > 0 {
                winners.push((owner, s, pnl));
                total += pnl.0 as i128;
            }
        }
        let charge = (amount.0 as i128).min(total);
        let mut charged = 0i128;
        if charge > 0 {
            // Pro-rata, rounded down; the remaining micros go one each to the largest
            // PnLs (ties by slot), never above a winner's PnL.
            let mut shares: Vec<i128> = winners
                .iter()
                .map(|w| charge * w.2.0 as i128 / total)
                .collect();
            charged = shares.iter().sum();
            let mut order: Vec<usize> = (0..winners.len()).collect();
            order.sort_by_key(|&i| (Reverse(winners[i].2), winners[i].1));
            let mut i = 0;
            while charged < charge && !order.is_empty() {
                let w = order[i % order.len()];
                if shares[w] < winners[w].2.0 as i128 {
                    shares[w] += 1;
                    charged += 1;
                }
                i += 1;
            }
            for (w, &h) in winners.iter().zip(&shares) {
                if h == 0 {
                    continue;
                }
                let h = Micros(h as i64);
                let acc = &mut self.accounts[w.0 as usize];
                acc.collateral -= h;
                acc.haircut += h;
                if self.record_events {
                    self.events.push(Event::Haircut {
                        account: w.0,
                        amount: h,
                        positive_pnl: w.2,
                    });
                }
            }
            let charged_m = Micros(charged as i64);
            self.venue_flows.socialized_loss += charged_m;
            self.totals.socialized_loss += charged_m;
            for w in &winners {
                self.recheck(w.0);
            }
        }
        self.scratch.winners = winners;
        Micros(charged as i64)
    }

    /// Closes `lots` of the bankrupt position in `slot` against the other side at
    /// `price` (the bankruptcy price, ticks). Returns the lots nobody could take.
    fn deleverage(&mut self, a: u32, slot: u32, lots: i64, minimum_lots: i64, price: i64) -> i64 {
        let p = self.positions[slot as usize];
        let mi = p.market as usize;
        let side = p.lots.signum();
        let mark = self.marks[mi];
        let mut cands = std::mem::take(&mut self.scratch.candidates);
        cands.clear();
        for &s in &self.market_slots[mi] {
            let q = self.positions[s as usize];
            if q.lots == 0 || q.lots.signum() == side {
                continue;
            }
            let owner = self.slot_owner(s);
            if owner == a {
                continue;
            }
            let m = &self.markets[mi];
            // Only positions still in profit at the bankruptcy price, in accounts with
            // positive equity: ADL must not create new bankruptcies.
            if (m.value(q.lots, price) - q.cost).0 <= 0 {
                continue;
            }
            let equity = self.equity(owner);
            if equity.0 <= 0 {
                continue;
            }
            // When the bankruptcy price is worse than the mark for the winner (the
            // bankrupt was already underwater: a gap, or the latency window), each lot
            // closed costs it `loss` against the mark. Take no more lots than its
            // equity absorbs: positive equity alone did not keep a cross account,
            // losing in another market, from being made bankrupt by the ADL.
            let loss = (m.value(-q.lots.signum(), price) - m.value(-q.lots.signum(), mark)).0;
            let lots = if loss > 0 {
                q.lots.abs().min(equity.0 / loss)
            } else {
                q.lots.abs()
            };
            if lots == 0 {
                continue;
            }
            let lot_value = m.value(1, mark).to_usd();
            cands.push(AdlCandidate {
                account: owner,
                slot: s,
                lots,
                pnl: (m.value(q.lots, mark) - q.cost).to_usd(),
                entry_value: q.cost.to_usd().abs(),
                notional: m.value(q.lots.abs(), mark).to_usd(),
                equity: equity.to_usd(),
                wallet: (self.accounts[owner as usize].collateral + self.asset_value(owner, 1.0))
                    .to_usd(),
                maintenance: self.maintenance(owner).to_usd(),
                loss_per_lot: (m.value(-q.lots.signum(), price) - m.value(-q.lots.signum(), mark))
                    .to_usd(),
                lot_value,
            });
        }
        let policy = match &self.cfg.last_line {
            LastLine::Adl { policy, .. } => policy,
            _ => unreachable!("deleverage is only called under ADL"),
        };
        let mut fills = std::mem::take(&mut self.scratch.fills);
        let filled = adl::allocate(policy, &mut cands, lots, &mut self.rng, &mut fills);
        let m = &self.markets[mi];
        let mut adl_cost = Micros::ZERO;
        for &(i, q) in &fills {
            let c = cands[i];
            let w_trade = -self.positions[c.slot as usize].lots.signum() * q;
            let v = m.value(w_trade, price);
            // Winner closes at the bankruptcy price; the bankrupt takes the other side.
            let w = &mut self.positions[c.slot as usize];
            let w_before = w.lots;
            w.lots += w_trade;
            w.cost += v;
            let w_change = long_change(w_before, w.lots);
            let b = &mut self.positions[slot as usize];
            let b_before = b.lots;
            b.lots -= w_trade;
            b.cost -= v;
            self.long_lots[mi] += w_change + long_change(b_before, b.lots);
            // What the winner gave up: it pays `v` at the bankruptcy price instead of
            // the value at the mark (positive when the bankruptcy price is worse for
            // it than the mark). The sign was reversed (it counted the winner's gain).
            adl_cost += v - m.value(w_trade, mark);
            let acc = &mut self.accounts[c.account as usize];
            if !acc.adl_hit {
                acc.adl_hit = true;
                self.accounts_adl_hit += 1;
            }
        }
        // No candidate (nobody on the other side in profit at the bankruptcy price with
        // equity to absorb it): nothing was deleveraged, so no ADL event is counted
        // (the lots go to the market and the venue covers what the fund cannot).
        if filled > 0 {
            let notional = m.value(filled, mark);
            let excess = m.value((filled - minimum_lots).max(0), mark);
            let f = &mut self.flows[mi];
            f.adl_notional += notional;
            f.adl_count += 1;
            self.totals.adl_events += 1;
            self.totals.adl_notional += notional;
            self.totals.adl_excess_notional += excess;
            self.totals.adl_cost += adl_cost;
            if self.record_events {
                self.events.push(Event::Adl {
                    account: a,
                    market: p.market,
                    bankrupt_lots: p.lots.abs(),
                    closed_lots: filled,
                    minimum_lots,
                    price,
                });
            }
        }
        for &(i, _) in &fills {
            self.recheck(cands[i].account);
        }
        self.scratch.candidates = cands;
        self.scratch.fills = fills;
        lots - filled
    }

    // ----------------------------------------------------------------- the index

    fn index_needs_compaction(&self) -> bool {
        let n = self.accounts.len() + 16;
        self.longs.iter().any(|h| h.len() > 2 * n) || self.shorts.iter().any(|h| h.len() > 2 * n)
    }

    fn reindex_all(&mut self) {
        for h in &mut self.longs {
            h.clear();
        }
        for h in &mut self.shorts {
            h.clear();
        }
        if let Some(c) = self.collateral.as_mut() {
            c.assumed.fill(0.0);
        }
        // Funding (or a population that starts underwater) can make accounts
        // liquidatable without any mark crossing a trigger: evaluate every account.
        for a in 0..self.accounts.len() as u32 {
            self.recheck(a);
        }
    }

    /// Recomputes the triggers of a safe account and pushes them (old entries go
    /// stale through the version number).
    fn index_account(&mut self, a: u32) {
        let acc = &mut self.accounts[a as usize];
        acc.version = acc.version.wrapping_add(1);
        let version = acc.version;
        let (first, count) = (acc.first_slot, acc.slot_count);
        let open: u32 = (first..first + count)
            .filter(|&s| self.positions[s as usize].lots != 0)
            .count() as u32;
        if open == 0 {
            return;
        }
        if let Some(c) = self.collateral.as_mut() {
            let row = a as usize * c.assets;
            for k in 0..c.assets {
                let assumed = c.prices[k] * (1.0 - COLLATERAL_INDEX_SLACK);
                if c.units[row + k] > 0 && assumed > c.assumed[k] {
                    c.assumed[k] = assumed;
                }
            }
        }
        if open == 1 {
            let s = (first..first + count)
                .find(|&s| self.positions[s as usize].lots != 0)
                .unwrap_or(first);
            let p = self.positions[s as usize];
            let mi = p.market as usize;
            let mark = self.marks[mi];
            let m = &self.markets[mi];
            // Margin for rounding: enough ticks to cover a few micros of ceil error.
            let per_tick = (p.lots.abs() as f64) * m.micros_per_lot_tick as f64;
            let margin = 1 + (4.0 / per_tick).ceil() as i64;
            let liq = self
                .liquidation_ticks(a, (s - first) as usize, self.index_equity(a))
                .map(|(t, _)| t);
            if p.lots > 0 {
                let trigger = match liq {
                    Some(l) => (l.floor() as i64 + margin).min(mark - 1),
                    None => 0,
                };
                self.longs[mi].push((trigger, Reverse(a), version));
            } else {
                let trigger = match liq {
                    Some(l) => (l.ceil() as i64 - margin).max(mark + 1),
                    None => mark + 1,
                };
                self.shorts[mi].push((Reverse(trigger), Reverse(a), version));
            }
            return;
        }
        // Multi-position cross account: split the buffer over positions by notional,
        // with worst-case slopes (long: |s|·k per tick down; short: |s|·k·(1+max mmr)).
        let buffer = (self.index_equity(a) - self.maintenance(a)).0 - open as i64;
        let buffer = buffer.max(0) as f64;
        let total_notional: f64 = (first..first + count)
            .map(|s| {
                let p = self.positions[s as usize];
                let m = &self.markets[p.market as usize];
                m.value(p.lots.abs(), self.marks[p.market as usize]).0 as f64
            })
            .sum();
        for s in first..first + count {
            let p = self.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            let mi = p.market as usize;
            let m = &self.markets[mi];
            let mark = self.marks[mi];
            let notional = m.value(p.lots.abs(), mark).0 as f64;
            let share = buffer * notional / total_notional.max(1.0);
            let per_tick = p.lots.abs() as f64 * m.micros_per_lot_tick as f64;
            if p.lots > 0 {
                let room = (share / per_tick).floor() as i64;
                self.longs[mi].push((
                    mark.saturating_sub(room).saturating_sub(1),
                    Reverse(a),
                    version,
                ));
            } else {
                let slope = per_tick
                    * (1.0 + m.margin.max_mmr().as_fraction() * self.margin_mult[mi].as_fraction());
                let room = (share / slope).floor() as i64;
                self.shorts[mi].push((
                    Reverse(mark.saturating_add(room).saturating_add(1)),
                    Reverse(a),
                    version,
                ));
            }
        }
    }

    // ----------------------------------------------------------------- invariants

    /// Checks MODEL.md §6 exactly at the current state: conservation of money,
    /// zero-sum PnL, no negative equity (except recorded insolvency under `none`),
    /// and, for the events of the last step, that ADL never closed more than the
    /// bankrupt position and haircuts never exceeded positive PnL.
    ///
    /// O(accounts): for tests and debug runs, not the hot loop.
    ///
    /// # Errors
    /// A description of the first violated invariant.
    pub fn check_invariants(&self) -> Result<(), String> {
        let money: i64 = self.accounts.iter().map(|a| a.collateral.0).sum::<i64>()
            + self.ext_cash.0
            + self.fund.balance().0
            + self.liquidator_fees.0
            + self.venue_balance.0;
        if money != self.initial_total.0 {
            return Err(format!(
                "conservation: ledger sums to {money} µUSD, started at {}",
                self.initial_total.0
            ));
        }
        if let Some(c) = &self.collateral {
            for k in 0..c.assets {
                let held: i64 =
                    c.units.iter().skip(k).step_by(c.assets).sum::<i64>() + c.ext_units[k];
                if held != c.initial_units[k] {
                    return Err(format!(
                        "conservation: collateral asset {k} sums to {held} units, started at {}",
                        c.initial_units[k]
                    ));
                }
            }
        }
        let mut pnl = 0i128;
        for (i, m) in self.markets.iter().enumerate() {
            let mut lots = self.ext_lots[i];
            pnl += (m.value(self.ext_lots[i], self.marks[i]) - self.ext_cost[i]).0 as i128;
            for &s in &self.market_slots[i] {
                let p = self.positions[s as usize];
                lots += p.lots;
                pnl += (m.value(p.lots, self.marks[i]) - p.cost).0 as i128;
            }
            if lots != 0 {
                return Err(format!(
                    "zero-sum: market {} has net size {lots} lots",
                    m.name
                ));
            }
            let long: i64 = self.market_slots[i]
                .iter()
                .map(|&s| self.positions[s as usize].lots.max(0))
                .sum::<i64>()
                + self.ext_lots[i].max(0);
            if long != self.long_lots[i] {
                return Err(format!(
                    "open interest: market {} tracks {} long lots, holds {long}",
                    m.name, self.long_lots[i]
                ));
            }
        }
        if pnl != 0 {
            return Err(format!("zero-sum: unrealized PnL sums to {pnl} µUSD"));
        }
        let mut shortfall = 0i64;
        for (i, acc) in self.accounts.iter().enumerate() {
            let e = self.equity(i as u32);
            if e.0 >= 0 || acc.pending {
                continue;
            }
            if self.has_open_positions(i as u32) {
                return Err(format!(
                    "account {} has negative equity {e} with open positions and no pending liquidation",
                    acc.id
                ));
            }
            shortfall -= e.0;
        }
        match self.cfg.last_line {
            LastLine::None if shortfall != self.totals.insolvency.0 => {
                return Err(format!(
                    "insolvency: accounts are short {shortfall} µUSD, recorded {}",
                    self.totals.insolvency.0
                ));
            }
            LastLine::None => {}
            _ if shortfall != 0 => {
                return Err(format!(
                    "negative equity {shortfall} µUSD left with last line not `none`"
                ));
            }
            _ => {}
        }
        for ev in &self.events {
            match *ev {
                Event::Adl {
                    bankrupt_lots,
                    closed_lots,
                    ..
                } if closed_lots > bankrupt_lots => {
                    return Err(format!(
                        "ADL closed {closed_lots} lots of a {bankrupt_lots}-lot position"
                    ));
                }
                Event::Haircut {
                    amount,
                    positive_pnl,
                    account,
                } if amount > positive_pnl => {
                    return Err(format!(
                        "haircut {amount} above positive PnL {positive_pnl} (account {account})"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks that the index missed nothing: every account that is not pending is
    /// not liquidatable. O(accounts); for tests.
    ///
    /// # Errors
    /// The first liquidatable account that is not pending.
    pub fn check_index_soundness(&self) -> Result<(), String> {
        for (i, acc) in self.accounts.iter().enumerate() {
            if !acc.pending && self.is_liquidatable(i as u32) {
                return Err(format!(
                    "account {} is liquidatable (equity {}, maintenance {}) but was not caught at step {}",
                    acc.id,
                    self.equity(i as u32),
                    self.maintenance(i as u32),
                    self.step
                ));
            }
        }
        Ok(())
    }
}

/// Change in long size when a position goes from `before` to `after` lots.
fn long_change(before: i64, after: i64) -> i64 {
    after.max(0) - before.max(0)
}
