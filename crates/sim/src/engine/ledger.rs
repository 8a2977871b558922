//! The ledger: accounts, positions, the external counterparty, and the one
//! function that moves money.
//!
//! **Money.** Every micro-USD is held by one party ([`Party`]): an account's
//! collateral, the external counterparty's cash, the insurance fund, a
//! market's own fund (dYdX v4's isolated markets), the liquidators' fees or the venue's own balance (negative when it covered a loss
//! nobody else could). Money changes hands only through [`Ledger::transfer`],
//! which debits the payer, credits the payee, records both sides when a journal
//! is kept, and in debug builds asserts on the spot that the sum over all parties
//! is still the opening total (docs/model.md §2 and §8: conservation). The
//! insurance fund's balance (and each market fund's) changes only through its
//! own methods ([`InsuranceFund::receive_fee`], [`InsuranceFund::pay_out`]),
//! called from here.
//!
//! **Positions.** Each position slot carries a **cost**: the signed sum of the
//! values of every trade booked on it. A trade between two parties at one price
//! adds `+v` to one cost and `−v` to the other ([`Ledger::trade_with_external`],
//! [`Ledger::trade_between`]), so `Σ lots = 0` and `Σ cost = 0` per market at all
//! times and unrealized PnL sums to exactly zero (docs/model.md §2).

use crate::money::{MAX_MICROS, Micros};
use crate::venue::insurance::InsuranceFund;
use crate::venue::market::MarketId;

use super::collateral_funding::{FundingEntry, FundingLog, MAX_PENDING};

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
/// position with its own collateral. The flags an ADL fill reads or writes
/// (dirty, the close's mark, hit by ADL, pending, triggers deferred, one
/// slot) are not here but in the ledger's byte per account
/// ([`AccountFlags`]).
///
/// Aligned to a cache line (its 56 bytes of fields fit one 64-byte line):
/// the accounts array is allocated line-aligned, so an account read at random
/// (an ADL winner, a breached account) costs one cache miss, not two (a
/// large allocation starts 16 bytes into its page, which put every record
/// across two lines).
#[derive(Clone, Debug, PartialEq)]
#[repr(align(64))]
pub struct Account {
    /// Identifier from the population.
    pub id: u64,
    /// Cash balance as stored: deposits plus every transfer (fees, funding,
    /// coverage, haircuts), less the funding still pending in the ledger's
    /// log. Private to the ledger: read it through
    /// [`crate::engine::Engine::collateral`] (the ledger's `collateral`),
    /// which adds what is pending.
    collateral: Micros,
    /// Whether this is an isolated position.
    pub isolated: bool,
    pub(super) first_slot: u32,
    pub(super) slot_count: u32,
    /// Bumped whenever the account's index entries are replaced; entries with an
    /// older version are stale.
    pub(super) version: u32,
    /// The account's one live heap entry when that entry is a
    /// single-position one (pushed by the index's `index_single` with
    /// version `version`), its side and stored trigger (before the market's
    /// offset, [`super::triggers::LiquidationIndex::push_short`] and
    /// `push_long`) packed by [`pack_single_trigger`];
    /// [`NO_SINGLE_TRIGGER`] otherwise. Lets a deferred ADL winner keep that
    /// entry when it is still on the safe side (`engine/index.rs`). Fits in
    /// the line's padding (56 bytes of fields before it).
    pub(super) single_trigger: i64,
    /// A chunk of the current liquidation has executed (`chunked`).
    pub(super) chunked: bool,
    /// Collected as breached in the current step, not yet re-evaluated.
    pub(super) queued: bool,
    pub(super) liquidated: bool,
    pub(super) haircut: Micros,
    /// Deficits (negative equity after closing) this account left, summed.
    pub(super) deficit: Micros,
    /// Under `none`: the negative equity already recorded as insolvency.
    pub(super) shortfall_recorded: Micros,
}

/// [`Account::single_trigger`] when the account has no live single-position
/// entry (or one whose stored trigger does not pack).
pub(super) const NO_SINGLE_TRIGGER: i64 = i64::MIN;

/// [`Account::single_trigger`] of a single-position entry stored as
/// `stored`, a long's when `long`: `stored × 2 + side` (side 1 for a long),
/// so that one field tells both the heap and the trigger.
/// [`NO_SINGLE_TRIGGER`] when `stored × 2` leaves `i64` (or lands on it):
/// such an entry is only never kept.
#[inline]
pub(super) fn pack_single_trigger(stored: i64, long: bool) -> i64 {
    stored
        .checked_mul(2)
        .map_or(NO_SINGLE_TRIGGER, |twice| twice | i64::from(long))
}

/// [`pack_single_trigger`]'s inverse: the stored trigger and whether the
/// entry is a long's.
#[inline]
pub(super) fn unpack_single_trigger(packed: i64) -> (i64, bool) {
    debug_assert!(
        packed != NO_SINGLE_TRIGGER,
        "Invariant: only a recorded entry is unpacked"
    );
    (packed >> 1, packed & 1 == 1)
}

/// The flags of one account that an ADL fill (every policy's) and the
/// close around it read or write, one bit each, kept in a dense array of
/// their own ([`Ledger`]'s `flags`: one byte an account, 1 MB at 1,000,000
/// accounts against 64 MB of account lines), so that a fill never loads its
/// winner's account line: the line is a cache miss per winner at venue
/// scale, the byte array mostly in the cache. Read and written only
/// through the ledger's methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct AccountFlags(u8);

impl AccountFlags {
    /// In the ledger's `dirty` list ([`Ledger::mark_dirty`]).
    const DIRTY: u8 = 1;
    /// Set only while one ADL close checks that its fills go to different
    /// accounts ([`Ledger::mark_distinct`]); clear otherwise.
    const CLOSE_MARK: u8 = 1 << 1;
    /// An ADL close has filled the account ([`Ledger::mark_adl_hit`]).
    const ADL_HIT: u8 = 1 << 2;
    /// A liquidation is scheduled (or between chunks).
    const PENDING: u8 = 1 << 3;
    /// An ADL fill left the account safe and its triggers are still to be
    /// pushed, once, when the step's executions end
    /// ([`crate::engine::Engine`]'s `index_deferred_winners`).
    const INDEX_DEFERRED: u8 = 1 << 4;
    /// The account holds exactly one position slot (fixed at the opening:
    /// the slot lists never change).
    const ONE_SLOT: u8 = 1 << 5;

    #[inline(always)]
    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    #[inline(always)]
    fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }
}

/// An ADL winner's flags as they were before its fill's booking
/// ([`Ledger::trade_distinct_winner`]): what the booking and the winner's
/// re-check test, read in the one load the booking makes of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WinnerFlags(AccountFlags);

impl WinnerFlags {
    /// An ADL close had filled the account before this fill.
    #[inline(always)]
    pub(super) fn adl_hit(self) -> bool {
        self.0.has(AccountFlags::ADL_HIT)
    }

    /// A liquidation of the account is scheduled ([`Ledger::is_pending`]).
    #[inline(always)]
    pub(super) fn pending(self) -> bool {
        self.0.has(AccountFlags::PENDING)
    }

    /// The account holds one slot ([`Ledger::holds_one_slot`]).
    #[inline(always)]
    pub(super) fn one_slot(self) -> bool {
        self.0.has(AccountFlags::ONE_SLOT)
    }

    /// The account's triggers wait for the end of the step's executions
    /// ([`Ledger::index_deferred`]).
    #[inline(always)]
    pub(super) fn index_deferred(self) -> bool {
        self.0.has(AccountFlags::INDEX_DEFERRED)
    }
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

/// Who holds money in the venue's ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// An account's collateral (account index).
    Account(u32),
    /// The external counterparty's cash (the rest of the market).
    External,
    /// The insurance fund (the shared one).
    InsuranceFund,
    /// A market's own insurance fund (market index): dYdX v4's fund of an
    /// isolated market, which takes that market's liquidation fees and pays
    /// its bad debt first (`[market.<name>.insurance_fund]`).
    MarketFund(MarketId),
    /// The liquidators' fees.
    Liquidators,
    /// The venue's own balance (negative after it covered a loss).
    Venue,
    /// Outside the USD ledger: USD an account spent on non-USD collateral before
    /// the first step leaves the ledger's total.
    Outside,
    /// The liquidity vault's cash (its capital; its inventory is a position per
    /// market, like the external counterparty's: `engine/vault.rs`).
    Vault,
}

/// Why money moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferReason {
    /// An account's USD bought its non-USD collateral (before the first step).
    CollateralPurchase,
    /// An account's non-USD collateral sold to the external counterparty.
    CollateralSale,
    /// Funding between a position and the external counterparty.
    Funding,
    /// A liquidation fee (the fund's share or the liquidator's).
    LiquidationFee,
    /// The insurance fund paying a deficit.
    FundPayout,
    /// A winner's haircut paying a deficit (socialized loss).
    Haircut,
    /// The venue covering what nobody else could.
    VenueCover,
    /// ADL at the previous mark: the gap to the bankruptcy price, between a
    /// winner and the bankrupt account (`engine/adl_price_gap.rs`).
    AdlPriceGap,
}

/// One movement of money, as the journal records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Payer.
    pub from: Party,
    /// Payee.
    pub to: Party,
    /// Amount, ≥ 0.
    pub amount: Micros,
    /// Why.
    pub reason: TransferReason,
}

/// Balances and positions of every party.
pub(super) struct Ledger {
    pub(super) accounts: Vec<Account>,
    /// Each account's [`AccountFlags`] (by account index).
    flags: Vec<AccountFlags>,
    pub(super) positions: Vec<Position>,
    /// Position slots of each market.
    pub(super) market_slots: Vec<Vec<u32>>,
    /// Account index owning each position slot.
    slot_owners: Vec<u32>,
    /// The external counterparty's lots and cost per market.
    pub(super) ext_lots: Vec<i64>,
    pub(super) ext_cost: Vec<Micros>,
    ext_cash: Micros,
    /// Σ positive lots per market (population and external): long open interest.
    pub(super) long_lots: Vec<i64>,
    /// Σ |lots| of the population per market at the opening: closes only shrink
    /// positions, so this bounds every position (and every close) of the run.
    pub(super) gross_lots: Vec<i64>,
    /// The first party whose balance left the engine's range
    /// ([`MAX_MICROS`] in size), with that balance: the step fails.
    pub(super) out_of_range: Option<(Party, Micros)>,
    fund: InsuranceFund,
    /// Each market's own fund (`None`: the market uses the shared fund).
    market_funds: Vec<Option<InsuranceFund>>,
    liquidator_fees: Micros,
    venue_balance: Micros,
    /// What was taken out of the ledger (`Party::Outside`), as a positive balance
    /// of the outside world: the ledger's total is `opening − outside`.
    outside: Micros,
    /// The liquidity vault's lots and cost per market (its inventory).
    pub(super) vault_lots: Vec<i64>,
    pub(super) vault_cost: Vec<Micros>,
    vault_cash: Micros,
    /// Collateral at the opening plus the fund's (and the vault's) opening
    /// balance.
    opening_total: Micros,
    /// Σ collateral, kept (in debug builds only) for the on-the-spot
    /// conservation check.
    #[cfg(debug_assertions)]
    collateral_total: Micros,
    journal: Vec<Transfer>,
    record: bool,
    /// Accounts whose balance or positions changed since the log was last
    /// cleared, in order, with repeats (kept while `track_touched`): the ADL
    /// queues re-score them.
    touched: Vec<u32>,
    track_touched: bool,
    /// The log's identity since it was last cleared (a new one at every
    /// clear, start, stop and [`Ledger::reset_from`], unique across ledgers):
    /// an index holding a cursor into the log and this epoch knows that the
    /// accounts changed since its cursor are exactly the log's tail.
    touched_epoch: u64,
    /// Entries dropped from the log's front since its epoch started
    /// ([`Ledger::start_step_log`]): entry `i` of `touched` is the epoch's
    /// `touched_base + i`-th.
    touched_base: u64,
    /// Whether the log is kept across steps ([`Ledger::start_step_log`]):
    /// set once a kept `pro_rata` side reads it across steps.
    touched_kept: bool,
    /// Funding settled but not yet applied to every position
    /// (`engine/collateral_funding.rs`).
    funding: FundingLog,
    /// An upper bound of every account's stored `|collateral|` (it only
    /// grows): with the log's bounds, whether a lazy settlement could take a
    /// balance out of the engine's range.
    stored_max_abs: u64,
    /// The most position slots of one account.
    max_slots: u32,
    /// Accounts whose line, positions or funding progress may have changed
    /// since the ledger was opened or restarted, each once: a restart from
    /// the same template copies only these.
    dirty: Vec<u32>,
    /// This ledger's contents' identity: new at each opening and restart.
    origin: u64,
    /// The `origin` of the template this ledger was last restarted from
    /// (its accounts and positions are that template's but for `dirty`).
    synced: Option<u64>,
    /// Whether no account outside `dirty` has a haircut or a deficit: found
    /// at a [`Ledger::rebase`], kept by a restart from a template with
    /// nothing dirty ([`Ledger::changed_accounts`]).
    clean_base: bool,
}

/// The length up to which a touched log kept across steps is never
/// cleared at a step's start whatever the accounts
/// ([`Ledger::start_step_log`]): a small venue's log is not dropped for a
/// few fills.
const KEPT_LOG_FLOOR: usize = 4096;

/// A new ledger identity ([`Ledger::reset_from`]'s partial copy). Never
/// reaches an output.
fn next_origin() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A population the ledger cannot open.
pub(super) enum OpenError {
    /// `(account id, positions)`: an isolated account without exactly one.
    IsolatedPositions(u64, usize),
    /// `(account id, market)`: a position in a market the venue does not have.
    UnknownMarket(u64, MarketId),
}

impl Ledger {
    /// Opens the books: every account with its collateral and positions (costs
    /// valued by `value(market, lots, entry)`), the external counterparty holding
    /// the opposite of the population's net position at the same costs, and the
    /// fund.
    pub(super) fn open(
        population: &[AccountSpec],
        markets: usize,
        value: impl Fn(MarketId, i64, i64) -> Micros,
        fund: InsuranceFund,
    ) -> Result<Ledger, OpenError> {
        let mut ledger = Ledger {
            accounts: Vec::with_capacity(population.len()),
            flags: Vec::with_capacity(population.len()),
            positions: Vec::new(),
            market_slots: vec![Vec::new(); markets],
            slot_owners: Vec::new(),
            ext_lots: vec![0; markets],
            ext_cost: vec![Micros::ZERO; markets],
            ext_cash: Micros::ZERO,
            vault_lots: vec![0; markets],
            vault_cost: vec![Micros::ZERO; markets],
            vault_cash: Micros::ZERO,
            long_lots: vec![0; markets],
            gross_lots: vec![0; markets],
            out_of_range: None,
            opening_total: fund.balance(),
            fund,
            market_funds: vec![None; markets],
            liquidator_fees: Micros::ZERO,
            venue_balance: Micros::ZERO,
            outside: Micros::ZERO,
            #[cfg(debug_assertions)]
            collateral_total: Micros::ZERO,
            journal: Vec::new(),
            record: false,
            touched: Vec::new(),
            track_touched: false,
            touched_epoch: next_origin(),
            touched_base: 0,
            touched_kept: false,
            funding: FundingLog::default(),
            stored_max_abs: 0,
            max_slots: 0,
            dirty: Vec::new(),
            origin: next_origin(),
            synced: None,
            clean_base: false,
        };
        for spec in population {
            ledger.open_account(spec, markets, &value)?;
        }
        ledger.funding = FundingLog::new(markets, ledger.positions.len());
        for m in 0..markets {
            ledger.long_lots[m] = ledger.market_slots[m]
                .iter()
                .map(|&s| ledger.positions[s as usize].lots.max(0))
                .sum::<i64>()
                + ledger.ext_lots[m].max(0);
            ledger.gross_lots[m] = ledger.market_slots[m]
                .iter()
                .map(|&s| ledger.positions[s as usize].lots.saturating_abs())
                .fold(0i64, i64::saturating_add);
        }
        Ok(ledger)
    }

    /// Makes this ledger a copy of `src`, reusing its buffers (a prepared
    /// engine's restart, `engine/restart.rs`). Every field is listed: a new
    /// one fails to compile here until it is copied.
    ///
    /// When this ledger was last restarted from `src` and `src` has not
    /// changed since it opened, only the accounts changed on the path
    /// (`dirty`) are copied, with their positions and funding progress
    /// (debug builds check the copy is whole).
    pub(super) fn reset_from(&mut self, src: &Ledger) {
        let Ledger {
            accounts,
            flags,
            positions,
            market_slots,
            slot_owners,
            ext_lots,
            ext_cost,
            ext_cash,
            long_lots,
            gross_lots,
            out_of_range,
            fund,
            market_funds,
            liquidator_fees,
            venue_balance,
            outside,
            vault_lots,
            vault_cost,
            vault_cash,
            opening_total,
            #[cfg(debug_assertions)]
            collateral_total,
            journal,
            record,
            touched,
            track_touched,
            touched_epoch: _,
            touched_base,
            touched_kept,
            funding,
            stored_max_abs,
            max_slots,
            dirty,
            origin,
            synced: _,
            clean_base,
        } = src;
        let partial = self.synced == Some(*origin)
            && dirty.is_empty()
            && self.accounts.len() == accounts.len()
            && self.dirty.len() < accounts.len() / 2;
        if partial {
            self.copy_dirty_from(src);
        } else {
            self.accounts.clone_from(accounts);
            self.flags.clone_from(flags);
            self.positions.clone_from(positions);
            self.market_slots.clone_from(market_slots);
            self.slot_owners.clone_from(slot_owners);
            // The flags bring `src`'s dirty marks; against `src` this ledger
            // has nothing dirty, so the marks are cleared with its list.
            for &a in dirty {
                self.flags[a as usize].set(AccountFlags::DIRTY, false);
            }
            self.funding.reset_from(funding, None);
        }
        self.dirty.clear();
        debug_assert!(
            self.flags.iter().all(|f| !f.has(AccountFlags::DIRTY)),
            "Invariant: after a restart no account is marked dirty"
        );
        self.origin = next_origin();
        self.synced = Some(*origin);
        // The accounts are now `src`'s: those outside its `dirty` as clean
        // as its base.
        self.clean_base = *clean_base && dirty.is_empty();
        self.ext_lots.clone_from(ext_lots);
        self.ext_cost.clone_from(ext_cost);
        self.ext_cash = *ext_cash;
        self.long_lots.clone_from(long_lots);
        self.gross_lots.clone_from(gross_lots);
        self.out_of_range = *out_of_range;
        self.fund.clone_from(fund);
        self.market_funds.clone_from(market_funds);
        self.liquidator_fees = *liquidator_fees;
        self.venue_balance = *venue_balance;
        self.outside = *outside;
        self.vault_lots.clone_from(vault_lots);
        self.vault_cost.clone_from(vault_cost);
        self.vault_cash = *vault_cash;
        self.opening_total = *opening_total;
        #[cfg(debug_assertions)]
        {
            self.collateral_total = *collateral_total;
        }
        self.journal.clone_from(journal);
        self.record = *record;
        self.touched.clone_from(touched);
        self.track_touched = *track_touched;
        // A copied log is a new one: an index's cursor into `src`'s or this
        // ledger's former log reads nothing of it.
        self.touched_epoch = next_origin();
        self.touched_base = *touched_base;
        self.touched_kept = *touched_kept;
        self.stored_max_abs = *stored_max_abs;
        self.max_slots = *max_slots;
    }

    /// [`Ledger::reset_from`]'s partial copy: each dirty account's line,
    /// positions and funding progress from `src` (the rest already hold
    /// `src`'s: the slot lists never change after the opening).
    fn copy_dirty_from(&mut self, src: &Ledger) {
        let dirty = std::mem::take(&mut self.dirty);
        for &a in &dirty {
            let acc = &src.accounts[a as usize];
            self.accounts[a as usize].clone_from(acc);
            self.flags[a as usize] = src.flags[a as usize];
            let slots = acc.first_slot as usize..(acc.first_slot + acc.slot_count) as usize;
            self.positions[slots.clone()].copy_from_slice(&src.positions[slots]);
            // The flags' dirty mark is `src`'s: clear, `src` has nothing dirty.
            debug_assert!(
                !self.flags[a as usize].has(AccountFlags::DIRTY),
                "Invariant: a partial restart's template has no dirty account"
            );
        }
        let mut slots = dirty.iter().flat_map(|&a| {
            let acc = &src.accounts[a as usize];
            acc.first_slot..acc.first_slot + acc.slot_count
        });
        self.funding.reset_from(&src.funding, Some(&mut slots));
        self.dirty = dirty;
        debug_assert!(
            self.accounts == src.accounts
                && self.flags == src.flags
                && self.positions == src.positions
                && self.market_slots == src.market_slots
                && self.slot_owners == src.slot_owners,
            "Invariant: a partial restart copies every account the path changed"
        );
    }

    /// Makes the ledger's contents a new baseline for restarts from it (the
    /// end of [`crate::engine::Engine::new`]: its first indexing changes the
    /// accounts' lines): nothing is dirty, under a new identity.
    pub(super) fn rebase(&mut self) {
        for &a in &self.dirty {
            self.flags[a as usize].set(AccountFlags::DIRTY, false);
        }
        self.dirty.clear();
        self.origin = next_origin();
        self.synced = None;
        self.clean_base = self
            .accounts
            .iter()
            .all(|a| a.haircut <= Micros::ZERO && a.deficit <= Micros::ZERO);
    }

    /// The accounts changed since the ledger's last rebase or restart (in
    /// the order first changed), when every other account is known to have
    /// no haircut and no deficit; `None` when that is not known.
    pub(super) fn changed_accounts(&self) -> Option<&[u32]> {
        debug_assert!(
            !self.clean_base
                || self.accounts.iter().zip(&self.flags).all(|(a, f)| {
                    f.has(AccountFlags::DIRTY)
                        || (a.haircut <= Micros::ZERO && a.deficit <= Micros::ZERO)
                }),
            "Invariant: an account with a haircut or a deficit is a changed one"
        );
        self.clean_base.then_some(self.dirty.as_slice())
    }

    /// Whether account `a` is marked dirty (a read only: the ADL fills'
    /// pass over their winners loads it with their other lines).
    #[inline]
    pub(super) fn is_dirty(&self, a: u32) -> bool {
        self.flags
            .get(a as usize)
            .is_some_and(|f| f.has(AccountFlags::DIRTY))
    }

    /// Records that account `a`'s line (or its positions or funding progress)
    /// changes: call before writing any field of `ledger.accounts[a]`
    /// outside the ledger. O(1).
    #[inline]
    pub(super) fn mark_dirty(&mut self, a: u32) {
        let f = &mut self.flags[a as usize];
        if !f.has(AccountFlags::DIRTY) {
            f.set(AccountFlags::DIRTY, true);
            self.dirty.push(a);
        }
    }

    /// Whether a liquidation of account `a` is scheduled (or between
    /// chunks).
    #[inline]
    pub(super) fn is_pending(&self, a: u32) -> bool {
        self.flags[a as usize].has(AccountFlags::PENDING)
    }

    /// Sets whether a liquidation of account `a` is scheduled (the caller
    /// has marked it dirty).
    #[inline]
    pub(super) fn set_pending(&mut self, a: u32, on: bool) {
        debug_assert!(self.is_dirty(a), "Invariant: a changed account is dirty");
        self.flags[a as usize].set(AccountFlags::PENDING, on);
    }

    /// Whether an ADL close has filled account `a`.
    #[inline]
    pub(super) fn adl_hit(&self, a: u32) -> bool {
        self.flags[a as usize].has(AccountFlags::ADL_HIT)
    }

    /// Records that an ADL close filled account `a` (the booking marked it
    /// dirty); true if it was not hit before.
    #[inline]
    pub(super) fn mark_adl_hit(&mut self, a: u32) -> bool {
        debug_assert!(self.is_dirty(a), "Invariant: a changed account is dirty");
        let f = &mut self.flags[a as usize];
        let first = !f.has(AccountFlags::ADL_HIT);
        f.set(AccountFlags::ADL_HIT, true);
        first
    }

    /// Whether account `a`'s triggers wait for the end of the step's
    /// executions (an ADL fill left it safe).
    #[inline]
    pub(super) fn index_deferred(&self, a: u32) -> bool {
        self.flags[a as usize].has(AccountFlags::INDEX_DEFERRED)
    }

    /// Sets whether account `a`'s triggers wait for the end of the step's
    /// executions. Setting it needs the account dirty (an ADL fill changed
    /// it); clearing a flag that is set does too.
    #[inline]
    pub(super) fn set_index_deferred(&mut self, a: u32, on: bool) {
        debug_assert!(
            self.is_dirty(a) || !self.index_deferred(a),
            "Invariant: a changed account is dirty"
        );
        self.flags[a as usize].set(AccountFlags::INDEX_DEFERRED, on);
    }

    /// Account `a`'s flags that a re-check tests (pending, one slot,
    /// deferred: [`WinnerFlags`]), in one load of its flag byte instead of
    /// one (with its bounds check) a test.
    #[inline]
    pub(super) fn recheck_flags(&self, a: u32) -> WinnerFlags {
        let flags = WinnerFlags(self.flags[a as usize]);
        debug_assert_eq!(
            flags.one_slot(),
            self.accounts[a as usize].slot_count == 1,
            "Invariant: the one-slot flag is the account's slot count"
        );
        flags
    }

    /// Clears account `a`'s deferral flag, read as set in `flags` (its
    /// [`Ledger::recheck_flags`], nothing written since): the read and the
    /// clear of [`Ledger::index_deferred`] and
    /// [`Ledger::set_index_deferred`] in one, no write when it is clear (a
    /// re-check replaces any deferred one; most find it clear). Returns
    /// whether it was set.
    #[inline]
    pub(super) fn take_index_deferred(&mut self, a: u32, flags: WinnerFlags) -> bool {
        debug_assert_eq!(
            flags,
            WinnerFlags(self.flags[a as usize]),
            "Invariant: the flags given are the account's"
        );
        let deferred = flags.index_deferred();
        if deferred {
            debug_assert!(self.is_dirty(a), "Invariant: a changed account is dirty");
            self.flags[a as usize].set(AccountFlags::INDEX_DEFERRED, false);
        }
        deferred
    }

    /// Replaces `out` with every account whose triggers are deferred
    /// ([`Ledger::index_deferred`]), in increasing account order: one pass
    /// over the flag bytes, 64 at a time, each block's deferred flags
    /// gathered into one word whose set bits are read off (no branch per
    /// account). O(accounts); no allocation while `out` has room for them.
    pub(super) fn index_deferred_accounts(&self, out: &mut Vec<u32>) {
        const BLOCK: usize = 64;
        out.clear();
        let blocks = self.flags.chunks_exact(BLOCK);
        let tail = blocks.remainder();
        for (b, block) in blocks.enumerate() {
            push_set_flags(out, (b * BLOCK) as u32, deferred_mask(block));
        }
        let base = (self.flags.len() - tail.len()) as u32;
        push_set_flags(out, base, deferred_mask(tail));
    }

    /// Whether account `a` holds exactly one position slot.
    #[inline]
    pub(super) fn holds_one_slot(&self, a: u32) -> bool {
        let one = self.flags[a as usize].has(AccountFlags::ONE_SLOT);
        debug_assert_eq!(
            one,
            self.accounts[a as usize].slot_count == 1,
            "Invariant: the one-slot flag is the account's slot count"
        );
        one
    }

    /// Whether the accounts `accounts` are pairwise different: marks each
    /// in its own line (the line its fill's booking writes next). When they
    /// are, the marks stay set for the booking to clear one by one
    /// ([`Ledger::trade_distinct_winner`]); on a repeat they are cleared
    /// before returning. The marks are
    /// transient (clear between closes), so the account's state, as
    /// anything reads or writes it, does not change: no dirty mark.
    /// O(accounts), no allocation.
    pub(super) fn mark_distinct(&mut self, accounts: impl Iterator<Item = u32> + Clone) -> bool {
        let mut distinct = true;
        let mut marked = 0;
        for a in accounts.clone() {
            let f = &mut self.flags[a as usize];
            if f.has(AccountFlags::CLOSE_MARK) {
                distinct = false;
                break;
            }
            f.set(AccountFlags::CLOSE_MARK, true);
            marked += 1;
        }
        if !distinct {
            for a in accounts.take(marked) {
                self.flags[a as usize].set(AccountFlags::CLOSE_MARK, false);
            }
        }
        distinct
    }

    /// Clears account `a`'s mark of [`Ledger::mark_distinct`] (the booking
    /// clears it in [`Ledger::trade_distinct_winner`]'s write; the tests
    /// here by this).
    #[cfg(test)]
    fn clear_distinct(&mut self, a: u32) {
        debug_assert!(
            self.flags[a as usize].has(AccountFlags::CLOSE_MARK),
            "Invariant: only a marked account's mark is cleared"
        );
        self.flags[a as usize].set(AccountFlags::CLOSE_MARK, false);
    }

    fn open_account(
        &mut self,
        spec: &AccountSpec,
        markets: usize,
        value: &impl Fn(MarketId, i64, i64) -> Micros,
    ) -> Result<(), OpenError> {
        if spec.isolated && spec.positions.len() != 1 {
            return Err(OpenError::IsolatedPositions(spec.id, spec.positions.len()));
        }
        let index = self.accounts.len() as u32;
        let first_slot = self.positions.len() as u32;
        for &(market, lots, entry) in &spec.positions {
            if market as usize >= markets {
                return Err(OpenError::UnknownMarket(spec.id, market));
            }
            let cost = value(market, lots, entry);
            self.market_slots[market as usize].push(self.positions.len() as u32);
            self.positions.push(Position { market, lots, cost });
            self.slot_owners.push(index);
            self.ext_lots[market as usize] -= lots;
            self.ext_cost[market as usize] -= cost;
        }
        self.opening_total += spec.collateral;
        self.stored_max_abs = self.stored_max_abs.max(spec.collateral.0.unsigned_abs());
        self.max_slots = self.max_slots.max(spec.positions.len() as u32);
        #[cfg(debug_assertions)]
        {
            self.collateral_total += spec.collateral;
        }
        self.accounts.push(Account {
            id: spec.id,
            collateral: spec.collateral,
            isolated: spec.isolated,
            first_slot,
            slot_count: spec.positions.len() as u32,
            version: 0,
            single_trigger: NO_SINGLE_TRIGGER,
            chunked: false,
            queued: false,
            liquidated: false,
            haircut: Micros::ZERO,
            deficit: Micros::ZERO,
            shortfall_recorded: Micros::ZERO,
        });
        let mut flags = AccountFlags::default();
        flags.set(AccountFlags::ONE_SLOT, spec.positions.len() == 1);
        self.flags.push(flags);
        Ok(())
    }

    // ------------------------------------------------------------------ money

    /// Moves `amount` from `from` to `to`, for `reason`: the only place where a
    /// balance of the ledger changes. `amount` is ≥ 0, except for funding, whose
    /// sign follows the rate and the side (a negative amount moves the other way:
    /// no branch on the sign in the funding loop). The journal records every
    /// transfer payer first, with a non-negative amount.
    ///
    /// O(1), no allocation unless the journal is on.
    #[inline]
    pub(super) fn transfer(
        &mut self,
        from: Party,
        to: Party,
        amount: Micros,
        reason: TransferReason,
    ) {
        debug_assert!(
            amount.0 >= 0 || reason == TransferReason::Funding,
            "Invariant: a transfer moves a non-negative amount, got {amount} for {reason:?}"
        );
        #[cfg(debug_assertions)]
        let before = (self.balance(from), self.balance(to));
        self.debit(from, amount, reason);
        self.credit(to, amount, reason);
        // Every balance stays within the engine's range: with both below
        // MAX_MICROS (i64::MAX / 16) before and an amount bounded by the same
        // range, neither wrapped; one past it fails the step.
        for party in [from, to] {
            let b = self.balance(party);
            if b.0.unsigned_abs() > MAX_MICROS as u64 && self.out_of_range.is_none() {
                self.out_of_range = Some((party, b));
            }
        }
        #[cfg(debug_assertions)]
        {
            debug_assert!(
                from == to
                    || (self.balance(from) == before.0 - amount
                        && self.balance(to) == before.1 + amount),
                "Invariant: a transfer of {amount} moves exactly that much from {from:?} to {to:?}"
            );
            debug_assert_eq!(
                self.parties_total(),
                self.total(),
                "Invariant: conservation of money after a {reason:?} transfer"
            );
        }
        if self.record {
            let (from, to, amount) = if amount.0 >= 0 {
                (from, to, amount)
            } else {
                (to, from, -amount)
            };
            self.journal.push(Transfer {
                from,
                to,
                amount,
                reason,
            });
        }
    }

    fn debit(&mut self, party: Party, amount: Micros, reason: TransferReason) {
        match party {
            Party::Account(a) => {
                self.touch(a);
                self.apply_pending(a);
                self.accounts[a as usize].collateral -= amount;
                self.note_stored(a);
                #[cfg(debug_assertions)]
                {
                    self.collateral_total -= amount;
                }
            }
            Party::External => {
                self.apply_all_pending();
                self.ext_cash -= amount;
            }
            Party::InsuranceFund => {
                debug_assert_eq!(
                    reason,
                    TransferReason::FundPayout,
                    "Invariant: the fund only pays deficits"
                );
                self.fund.pay_out(amount);
            }
            Party::MarketFund(m) => {
                debug_assert_eq!(
                    reason,
                    TransferReason::FundPayout,
                    "Invariant: a market fund only pays deficits"
                );
                self.market_fund_mut(m).pay_out(amount);
            }
            Party::Liquidators => self.liquidator_fees -= amount,
            Party::Venue => self.venue_balance -= amount,
            Party::Outside => self.outside -= amount,
            Party::Vault => self.vault_cash -= amount,
        }
    }

    fn credit(&mut self, party: Party, amount: Micros, reason: TransferReason) {
        match party {
            Party::Account(a) => {
                self.touch(a);
                self.apply_pending(a);
                self.accounts[a as usize].collateral += amount;
                self.note_stored(a);
                #[cfg(debug_assertions)]
                {
                    self.collateral_total += amount;
                }
            }
            Party::External => {
                self.apply_all_pending();
                self.ext_cash += amount;
            }
            Party::InsuranceFund => {
                debug_assert_eq!(
                    reason,
                    TransferReason::LiquidationFee,
                    "Invariant: the fund only receives fees"
                );
                self.fund.receive_fee(amount);
            }
            Party::MarketFund(m) => {
                debug_assert_eq!(
                    reason,
                    TransferReason::LiquidationFee,
                    "Invariant: a market fund only receives fees"
                );
                self.market_fund_mut(m).receive_fee(amount);
            }
            Party::Liquidators => self.liquidator_fees += amount,
            Party::Venue => self.venue_balance += amount,
            Party::Outside => self.outside += amount,
            Party::Vault => self.vault_cash += amount,
        }
    }

    /// A party's balance.
    pub(super) fn balance(&self, party: Party) -> Micros {
        match party {
            Party::Account(a) => self.collateral(a),
            Party::External => self.ext_cash + self.pending_total(),
            Party::InsuranceFund => self.fund.balance(),
            Party::MarketFund(m) => self.market_funds[m as usize]
                .as_ref()
                .map_or(Micros::ZERO, InsuranceFund::balance),
            Party::Liquidators => self.liquidator_fees,
            Party::Venue => self.venue_balance,
            Party::Outside => self.outside,
            Party::Vault => self.vault_cash,
        }
    }

    /// The total the ledger must hold: the opening balances less what left it.
    pub(super) fn total(&self) -> Micros {
        self.opening_total - self.outside
    }

    /// Σ over the parties inside the ledger, from the running collateral sum
    /// (O(1)); [`crate::engine::Engine::check_invariants`] sums the accounts
    /// afresh instead.
    #[cfg(debug_assertions)]
    fn parties_total(&self) -> Micros {
        self.collateral_total
            + self.ext_cash
            + self.fund.balance()
            + self.market_funds_total()
            + self.liquidator_fees
            + self.venue_balance
            + self.vault_cash
    }

    /// Opens the liquidity vault with `capital` of its own: money that enters
    /// the ledger's total at the opening, like the fund's (call before the
    /// first step, once).
    pub(super) fn open_vault(&mut self, capital: Micros) {
        debug_assert_eq!(
            self.vault_cash,
            Micros::ZERO,
            "Invariant: the vault is opened once"
        );
        self.vault_cash = capital;
        self.opening_total += capital;
    }

    /// The insurance fund (its statistics; its balance moves only by transfers).
    pub(super) fn fund(&self) -> &InsuranceFund {
        &self.fund
    }

    /// Opens market `market`'s own fund (call before the first step, once):
    /// its opening balance enters the ledger's total, like the shared fund's.
    pub(super) fn open_market_fund(&mut self, market: usize, fund: InsuranceFund) {
        debug_assert!(
            self.market_funds[market].is_none(),
            "Invariant: a market fund is opened once"
        );
        self.opening_total += fund.balance();
        self.market_funds[market] = Some(fund);
    }

    /// Each market's own fund (`None` where the market uses the shared fund).
    pub(super) fn market_funds(&self) -> &[Option<InsuranceFund>] {
        &self.market_funds
    }

    /// Σ of the market funds' balances (debug builds: the on-the-spot
    /// conservation check).
    #[cfg(debug_assertions)]
    fn market_funds_total(&self) -> Micros {
        self.market_funds
            .iter()
            .flatten()
            .fold(Micros::ZERO, |t, f| t + f.balance())
    }

    /// The party holding market `market`'s fund money: its own fund if it has
    /// one, else the shared insurance fund. O(1).
    #[inline]
    pub(super) fn fund_party(&self, market: usize) -> Party {
        if self.market_funds[market].is_some() {
            Party::MarketFund(market as MarketId)
        } else {
            Party::InsuranceFund
        }
    }

    /// The fund that pays market `market`'s bad debt: its own, else the shared.
    pub(super) fn fund_for(&self, market: usize) -> &InsuranceFund {
        self.market_funds[market].as_ref().unwrap_or(&self.fund)
    }

    /// [`Ledger::fund_for`], for its statistics (`ask`, `record_shortfall`).
    pub(super) fn fund_stats_for(&mut self, market: usize) -> &mut InsuranceFund {
        match &mut self.market_funds[market] {
            Some(f) => f,
            None => &mut self.fund,
        }
    }

    /// Every fund's end-of-step statistics (the shared fund, then each
    /// market's).
    pub(super) fn observe_funds(&mut self, step: u32) {
        self.fund.observe(step);
        for f in self.market_funds.iter_mut().flatten() {
            f.observe(step);
        }
    }

    /// Market `m`'s own fund; a transfer names it only when the market has
    /// one ([`Ledger::fund_party`]), so a missing one is the shared fund.
    fn market_fund_mut(&mut self, m: MarketId) -> &mut InsuranceFund {
        debug_assert!(
            self.market_funds[m as usize].is_some(),
            "Invariant: money moves to or from a market fund only where the market has one"
        );
        self.fund_stats_for(m as usize)
    }

    /// Keeps a journal of the current step's transfers (or stops).
    pub(super) fn set_journal(&mut self, on: bool) {
        self.record = on;
    }

    /// Starts a new step's journal.
    pub(super) fn clear_journal(&mut self) {
        self.journal.clear();
    }

    /// The transfers of the current step (when the journal is on).
    pub(super) fn journal(&self) -> &[Transfer] {
        &self.journal
    }

    /// Logs a change of account `a` (when the log is kept).
    #[inline]
    fn touch(&mut self, a: u32) {
        self.mark_dirty(a);
        if self.track_touched {
            self.touched.push(a);
        }
    }

    /// Starts (or stops) logging the accounts that change; either way the log
    /// starts empty.
    pub(super) fn track_touched(&mut self, on: bool) {
        self.track_touched = on;
        self.touched.clear();
        self.touched_epoch = next_origin();
        self.touched_base = 0;
    }

    /// Entries dropped from the log's front since its epoch started: an
    /// index's cursor into the log moves back by as many as were dropped
    /// since it read the base.
    pub(super) fn touched_base(&self) -> u64 {
        self.touched_base
    }

    /// The log's identity since it was last cleared or started (see
    /// `touched_epoch`): equal at two reads only if every change between
    /// them was logged and the log kept.
    pub(super) fn touched_epoch(&self) -> u64 {
        self.touched_epoch
    }

    /// Keeps the log across steps from now on ([`Ledger::start_step_log`]):
    /// a kept `pro_rata` side re-indexes the accounts changed since its last
    /// sync from it.
    pub(super) fn keep_touched_log(&mut self) {
        self.touched_kept = true;
    }

    /// The log at a step's start: dropped and stopped (the ADL indexes of
    /// the step before are stale), unless it is kept across steps
    /// ([`Ledger::keep_touched_log`]): then it goes on (started if it was
    /// not, a new epoch), and when longer than twice the cap (the accounts
    /// and [`KEPT_LOG_FLOOR`]) its front is dropped down to the cap
    /// (`touched_base` counts it): its memory stays within the accounts'
    /// order, each entry is moved at most once by a drop (amortized O(1)
    /// per entry, not a move of the whole log at every step), and an index
    /// whose cursor was in the front rebuilds in full.
    pub(super) fn start_step_log(&mut self) {
        if !self.touched_kept {
            if self.track_touched {
                self.track_touched(false);
            }
            return;
        }
        if !self.track_touched {
            self.track_touched(true);
            return;
        }
        let keep = self.accounts.len().max(KEPT_LOG_FLOOR);
        if self.touched.len() > keep.saturating_mul(2) {
            let drop = self.touched.len() - keep;
            self.touched.drain(..drop);
            self.touched_base += drop as u64;
        }
    }

    /// The most position slots of one account (1: every account holds at
    /// most one, so its equity is its slot's).
    pub(super) fn max_slots(&self) -> u32 {
        self.max_slots
    }

    /// Whether the log of changed accounts is kept.
    pub(super) fn tracking_touched(&self) -> bool {
        self.track_touched
    }

    /// The accounts changed since the log started, in order, with repeats.
    pub(super) fn touched(&self) -> &[u32] {
        &self.touched
    }

    // ------------------------------------------------------------- positions

    /// Funding of every open position of `market` at `entry` (rate and mark):
    /// `entry.payment(lots)` (signed, positive when the position pays) between
    /// its account and the external counterparty.
    ///
    /// Lazily where that is exact and safe (`engine/collateral_funding.rs`):
    /// O(1), the settlement joins the market's log and each position pays it
    /// when its account is next touched (or read). Eagerly, after applying
    /// every pending settlement, when the journal or the log of changed
    /// accounts is kept (both must see each payment now), when the market's
    /// log is full, or when the log's bounds cannot show that no balance
    /// leaves the engine's range (the step must fail at this settlement, as
    /// it would eagerly).
    pub(super) fn settle_funding(&mut self, market: usize, entry: FundingEntry) {
        if self.record || self.track_touched || self.funding.len(market) >= MAX_PENDING {
            self.apply_all_pending();
        } else if let Some((slot, total)) = self.lazy_bounds(market, &entry) {
            self.funding.push(market, entry, slot, total);
            return;
        } else {
            self.apply_all_pending();
        }
        self.settle_funding_now(market, entry);
    }

    /// The bounds of one position's payment and of all of `market`'s
    /// payments at `entry`, when with every pending settlement they show that
    /// no account and not the external counterparty could leave the engine's
    /// range (`None`: settle eagerly, which checks each balance).
    ///
    /// Every position is at most the market's long open interest in size, and
    /// the population's sizes sum to at most twice it (`Σ lots = 0` over
    /// every holder).
    fn lazy_bounds(&self, market: usize, entry: &FundingEntry) -> Option<(u128, u128)> {
        let long = self.long_lots[market];
        let slot = entry.bound(long)?;
        let total = entry
            .bound(long.checked_mul(2)?)?
            .checked_add(self.market_slots[market].len() as u128)?;
        let limit = MAX_MICROS as u128;
        let account = self
            .funding
            .slot_bound()
            .checked_add(slot)?
            .checked_mul(u128::from(self.max_slots))?
            .checked_add(u128::from(self.stored_max_abs))?;
        let external = self
            .funding
            .total_bound()
            .checked_add(total)?
            .checked_add(u128::from(self.ext_cash.0.unsigned_abs()))?;
        (account <= limit && external <= limit).then_some((slot, total))
    }

    /// The eager settlement of `market` at `entry` (nothing pending anywhere):
    /// the same transfers as [`Ledger::transfer`] makes, one per open
    /// position, in slot order, in a loop of their own: the payer is always an
    /// account and the payee the external counterparty, so each is two
    /// additions, the range checks in the same order (the account, then the
    /// external counterparty) and the log of changed accounts. With the
    /// journal on, every payment goes through [`Ledger::transfer`].
    /// O(positions of the market), no allocation.
    fn settle_funding_now(&mut self, market: usize, entry: FundingEntry) {
        debug_assert!(
            self.funding.is_empty(),
            "Invariant: an eager settlement starts with nothing pending"
        );
        let slots = std::mem::take(&mut self.market_slots[market]);
        if self.record {
            for &s in &slots {
                let lots = self.positions[s as usize].lots;
                if lots == 0 {
                    continue;
                }
                let owner = Party::Account(self.slot_owners[s as usize]);
                self.transfer(
                    owner,
                    Party::External,
                    entry.payment(lots),
                    TransferReason::Funding,
                );
            }
        } else {
            let limit = MAX_MICROS as u64;
            #[cfg(debug_assertions)]
            let mut paid = Micros::ZERO;
            let mut stored_max = self.stored_max_abs;
            for &s in &slots {
                let lots = self.positions[s as usize].lots;
                if lots == 0 {
                    continue;
                }
                let a = self.slot_owners[s as usize];
                let amount = entry.payment(lots);
                self.mark_dirty(a);
                if self.track_touched {
                    self.touched.push(a);
                }
                let balance = &mut self.accounts[a as usize].collateral;
                *balance -= amount;
                let after = *balance;
                stored_max = stored_max.max(after.0.unsigned_abs());
                self.ext_cash += amount;
                #[cfg(debug_assertions)]
                {
                    paid += amount;
                }
                if self.out_of_range.is_none() {
                    if after.0.unsigned_abs() > limit {
                        self.out_of_range = Some((Party::Account(a), after));
                    } else if self.ext_cash.0.unsigned_abs() > limit {
                        self.out_of_range = Some((Party::External, self.ext_cash));
                    }
                }
            }
            self.stored_max_abs = stored_max;
            #[cfg(debug_assertions)]
            {
                self.collateral_total -= paid;
                debug_assert_eq!(
                    self.parties_total(),
                    self.total(),
                    "Invariant: conservation of money after a funding settlement"
                );
            }
        }
        self.market_slots[market] = slots;
    }

    /// Account `a`'s collateral: the stored balance less the funding its
    /// positions still owe (the balance eager settlement would hold). O(its
    /// positions × the settlements pending in their markets).
    #[inline]
    pub(super) fn collateral(&self, a: u32) -> Micros {
        let acc = &self.accounts[a as usize];
        if self.funding.is_empty() {
            return acc.collateral;
        }
        let first = acc.first_slot;
        (first..first + acc.slot_count).fold(acc.collateral, |c, s| {
            let p = &self.positions[s as usize];
            c - self.funding.pending(s, p.market as usize, p.lots)
        })
    }

    /// [`Ledger::collateral`] inlined into its caller: with no settlement
    /// pending (every step but the few after a funding settlement) one
    /// load, the walk over the slots otherwise (a kept ADL winner's test,
    /// `engine/index.rs`: the call was ~26 instructions of ~200).
    #[inline(always)]
    pub(super) fn collateral_inlined(&self, a: u32) -> Micros {
        if self.funding.is_empty() {
            return self.accounts[a as usize].collateral;
        }
        self.collateral(a)
    }

    /// How many of its market's funding settlements slot `slot` has paid
    /// (a read for cache warming, `Engine::touch_popped`).
    #[inline]
    pub(super) fn funding_applied(&self, slot: u32) -> u32 {
        self.funding.applied(slot)
    }

    /// Σ of every position's pending funding: what the external counterparty
    /// is still due. O(positions) when anything is pending.
    fn pending_total(&self) -> Micros {
        if self.funding.is_empty() {
            return Micros::ZERO;
        }
        let mut t = Micros::ZERO;
        for (m, slots) in self.market_slots.iter().enumerate() {
            if self.funding.len(m) == 0 {
                continue;
            }
            for &s in slots {
                t += self.funding.pending(s, m, self.positions[s as usize].lots);
            }
        }
        t
    }

    /// Applies slot `slot`'s pending funding: its account's stored collateral
    /// pays it to the external counterparty's stored cash (the true balances
    /// do not change). Call before the slot's lots change.
    ///
    /// The test for an empty log is inlined at every call (an ADL fill calls
    /// this twice, nearly always with nothing pending); the work is not.
    #[inline(always)]
    fn apply_pending_slot(&mut self, slot: u32) {
        if !self.funding.is_empty() {
            self.apply_logged_slot(slot);
        }
    }

    /// [`Ledger::apply_pending_slot`] with settlements in the log.
    #[inline(never)]
    fn apply_logged_slot(&mut self, slot: u32) {
        let p = self.positions[slot as usize];
        let m = p.market as usize;
        let owed = self.funding.pending(slot, m, p.lots);
        self.funding.mark_applied(slot, m);
        self.mark_dirty(self.slot_owners[slot as usize]);
        if owed != Micros::ZERO {
            let a = self.slot_owners[slot as usize];
            self.accounts[a as usize].collateral -= owed;
            self.ext_cash += owed;
            #[cfg(debug_assertions)]
            {
                self.collateral_total -= owed;
            }
            self.note_stored(a);
        }
    }

    /// Applies every pending settlement to account `a`'s positions.
    #[inline]
    fn apply_pending(&mut self, a: u32) {
        if self.funding.is_empty() {
            return;
        }
        let acc = &self.accounts[a as usize];
        let first = acc.first_slot;
        for s in first..first + acc.slot_count {
            self.apply_pending_slot(s);
        }
    }

    /// Applies every pending settlement to every position and empties the
    /// log: afterwards every stored balance is the true one.
    /// O(positions of the markets with settlements pending).
    pub(super) fn apply_all_pending(&mut self) {
        if self.funding.is_empty() {
            return;
        }
        for m in 0..self.market_slots.len() {
            if self.funding.len(m) == 0 {
                continue;
            }
            let slots = std::mem::take(&mut self.market_slots[m]);
            for &s in &slots {
                self.apply_pending_slot(s);
            }
            self.funding.clear_market(m, &slots);
            self.market_slots[m] = slots;
        }
        debug_assert!(
            self.funding.is_empty(),
            "Invariant: nothing is pending after applying every settlement"
        );
    }

    /// Keeps the bound of the stored collateral after account `a`'s changed.
    #[inline]
    fn note_stored(&mut self, a: u32) {
        let c = self.accounts[a as usize].collateral.0.unsigned_abs();
        self.stored_max_abs = self.stored_max_abs.max(c);
    }

    /// Positions of an account.
    pub(super) fn positions_of(&self, account: u32) -> &[Position] {
        let a = &self.accounts[account as usize];
        &self.positions[a.first_slot as usize..(a.first_slot + a.slot_count) as usize]
    }

    /// Account index owning a position slot. O(1): funding, socialization and
    /// ADL scan whole markets.
    pub(super) fn slot_owner(&self, slot: u32) -> u32 {
        self.slot_owners[slot as usize]
    }

    /// Books `lots` (signed, for the position in `slot`) of value `value` against
    /// the external counterparty, which takes the other side.
    /// `owner`: the account holding `slot` (the caller knows it: reading
    /// `slot_owners` here was a cache miss per liquidation order).
    pub(super) fn trade_with_external(&mut self, owner: u32, slot: u32, lots: i64, value: Micros) {
        debug_assert_eq!(
            owner, self.slot_owners[slot as usize],
            "Invariant: the slot is the owner's"
        );
        self.touch(owner);
        self.apply_pending_slot(slot);
        let p = &mut self.positions[slot as usize];
        let mi = p.market as usize;
        let before = (p.lots, self.ext_lots[mi]);
        p.lots += lots;
        p.cost += value;
        self.ext_lots[mi] -= lots;
        self.ext_cost[mi] -= value;
        self.long_lots[mi] +=
            long_change(before.0, p.lots) + long_change(before.1, self.ext_lots[mi]);
    }

    /// Books `lots` (signed, for the position in `slot`) of value `value` against
    /// the liquidity vault, which takes the other side (a takeover).
    pub(super) fn trade_with_vault(&mut self, slot: u32, lots: i64, value: Micros) {
        self.touch(self.slot_owners[slot as usize]);
        self.apply_pending_slot(slot);
        let p = &mut self.positions[slot as usize];
        let mi = p.market as usize;
        let before = (p.lots, self.vault_lots[mi]);
        p.lots += lots;
        p.cost += value;
        self.vault_lots[mi] -= lots;
        self.vault_cost[mi] -= value;
        self.long_lots[mi] +=
            long_change(before.0, p.lots) + long_change(before.1, self.vault_lots[mi]);
    }

    /// Books `lots` (signed, for the vault) of value `value` in `market` between
    /// the liquidity vault and the external counterparty (an unwind).
    pub(super) fn vault_trade_with_external(&mut self, market: usize, lots: i64, value: Micros) {
        let before = (self.vault_lots[market], self.ext_lots[market]);
        self.vault_lots[market] += lots;
        self.vault_cost[market] += value;
        self.ext_lots[market] -= lots;
        self.ext_cost[market] -= value;
        self.long_lots[market] += long_change(before.0, self.vault_lots[market])
            + long_change(before.1, self.ext_lots[market]);
    }

    /// Books `lots` (signed, for the position in `slot`) of value `value` against
    /// the position in `counter` (same market), which takes the other side.
    /// `owners`: the accounts owning `slot` and `counter` (as
    /// [`Ledger::slot_owner`] gives them): an ADL fill knows both (its
    /// winner's candidate, the bankrupt account), so reads no owner entry (a
    /// random 4-byte read per fill at venue scale). Inlined into the
    /// booking, its one caller (a call per fill moved 8 registers).
    #[inline(always)]
    pub(super) fn trade_between(
        &mut self,
        slot: u32,
        counter: u32,
        owners: (u32, u32),
        lots: i64,
        value: Micros,
    ) {
        self.trade_winner_side(slot, counter, owners, lots, value);
        self.settle_counter(counter, lots, value);
    }

    /// [`Ledger::trade_between`] but for the counter position's lots and
    /// cost, left as they are: an ADL close's fills all take from one
    /// bankrupt position, which [`Ledger::settle_counter`] then moves once
    /// by their sum (nothing reads it between its fills). The accounts are
    /// touched and the pending funding applied as by `trade_between`: the
    /// counter's is applied at its first fill (with its lots before any
    /// fill, as before) and is none at the next ones, whatever their lots.
    #[inline(always)]
    pub(super) fn trade_winner_side(
        &mut self,
        slot: u32,
        counter: u32,
        owners: (u32, u32),
        lots: i64,
        value: Micros,
    ) {
        debug_assert_eq!(
            owners,
            (
                self.slot_owners[slot as usize],
                self.slot_owners[counter as usize]
            ),
            "Invariant: the owners given own the slots"
        );
        self.touch(owners.0);
        self.touch(owners.1);
        self.apply_pending_slot(slot);
        self.apply_pending_slot(counter);
        self.move_winner(slot, counter, lots, value);
    }

    /// The bankrupt position in `counter` made ready for the fills of an
    /// ADL close whose fills go to different accounts
    /// ([`Ledger::trade_distinct_winner`]), before the first: its pending
    /// funding applied, with its lots before any fill (as
    /// [`Ledger::trade_between`] applies it at a close's first fill; at the
    /// next ones none is left). Its account is dirty already: its
    /// liquidation marked it (`Engine::count_liquidated`, before any close)
    /// and only a restart clears the mark. Exact against applying it at
    /// the first fill, after that fill's winner's: the two slots' payments
    /// are to different accounts and both to the external counterparty's
    /// cash (sums), and nothing reads them in between.
    #[inline(always)]
    pub(super) fn ready_counter(&mut self, counter: u32) {
        debug_assert!(
            self.is_dirty(self.slot_owners[counter as usize]),
            "Invariant: an ADL close's bankrupt account is dirty before its fills (its liquidation marked it)"
        );
        self.apply_pending_slot(counter);
    }

    /// [`Ledger::trade_winner_side`] of one fill of a close whose fills go
    /// to different accounts (`marked`: the winners carry
    /// [`Ledger::mark_distinct`]'s mark), with the winner's flag changes of
    /// the booking made in the same write: dirty, hit by ADL
    /// ([`Ledger::mark_adl_hit`]), its close mark cleared
    /// ([`Ledger::clear_distinct`]). Returns the winner's flags as they
    /// were ([`WinnerFlags`]), for the booking's count and the re-check.
    ///
    /// Exact: the same writes in the same order where order shows (the
    /// winner's entry in the dirty list, the touched log's two entries).
    /// The bankrupt account is dirty and its position's pending funding
    /// applied before the close's first fill ([`Ledger::ready_counter`]),
    /// both debug-asserted; nothing reads the winner's hit or mark flags
    /// between its touch and the booking's later writes of them.
    #[inline(always)]
    pub(super) fn trade_distinct_winner(
        &mut self,
        slot: u32,
        counter: u32,
        owners: (u32, u32),
        lots: i64,
        value: Micros,
        marked: bool,
    ) -> WinnerFlags {
        debug_assert_eq!(
            owners,
            (
                self.slot_owners[slot as usize],
                self.slot_owners[counter as usize]
            ),
            "Invariant: the owners given own the slots"
        );
        debug_assert_eq!(
            self.flags[owners.0 as usize].has(AccountFlags::CLOSE_MARK),
            marked,
            "Invariant: a marked close's winners carry the mark, no other does"
        );
        let before = self.flags[owners.0 as usize];
        let clear = if marked { AccountFlags::CLOSE_MARK } else { 0 };
        self.flags[owners.0 as usize] =
            AccountFlags((before.0 | AccountFlags::DIRTY | AccountFlags::ADL_HIT) & !clear);
        if !before.has(AccountFlags::DIRTY) {
            self.dirty.push(owners.0);
        }
        debug_assert!(
            self.is_dirty(owners.1),
            "Invariant: the bankrupt account is dirty from before its close's first fill"
        );
        if self.track_touched {
            self.touched.extend_from_slice(&[owners.0, owners.1]);
        }
        self.apply_pending_slot(slot);
        self.move_winner(slot, counter, lots, value);
        WinnerFlags(before)
    }

    /// The winner's side of [`Ledger::trade_winner_side`]: the position in
    /// `slot` moves by `lots` of value `value`, the long open interest with
    /// it (the counter position in `counter` is settled apart).
    #[inline(always)]
    fn move_winner(&mut self, slot: u32, counter: u32, lots: i64, value: Micros) {
        let w = &mut self.positions[slot as usize];
        let mi = w.market as usize;
        debug_assert!(
            self.funding.is_empty()
                || self.funding.applied(counter) as usize == self.funding.len(mi),
            "Invariant: the counter's pending funding is applied (none is left for its next fills)"
        );
        let w_before = w.lots;
        w.lots += lots;
        w.cost += value;
        self.long_lots[mi] += long_change(w_before, w.lots);
    }

    /// Moves the position in `counter` by the other side of `lots` (signed,
    /// as the winners' side) of value `value`: the sum of the trades
    /// [`Ledger::trade_winner_side`] booked against it. Exact: the lots and
    /// the cost are sums, and the long open interest's changes telescope
    /// (`Σ long_change(b_i-1, b_i) = long_change(b_0, b_n)`).
    #[inline(always)]
    pub(super) fn settle_counter(&mut self, counter: u32, lots: i64, value: Micros) {
        let b = &mut self.positions[counter as usize];
        let mi = b.market as usize;
        let b_before = b.lots;
        b.lots -= lots;
        b.cost -= value;
        self.long_lots[mi] += long_change(b_before, b.lots);
    }
}

/// Change in long size when a position goes from `before` to `after` lots.
fn long_change(before: i64, after: i64) -> i64 {
    after.max(0) - before.max(0)
}

/// Bit `i` set where `block[i]` (at most 64 flags) has its triggers
/// deferred: eight flags at a time when the block is whole
/// ([`deferred_bits8`]), one by one otherwise (the last block).
#[inline]
fn deferred_mask(block: &[AccountFlags]) -> u64 {
    debug_assert!(block.len() <= 64, "Invariant: a block of at most 64 flags");
    if block.len() == 64 {
        return block
            .chunks_exact(8)
            .enumerate()
            .fold(0u64, |m, (k, eight)| m | (deferred_bits8(eight) << (8 * k)));
    }
    block.iter().enumerate().fold(0u64, |m, (i, f)| {
        m | (u64::from(f.has(AccountFlags::INDEX_DEFERRED)) << i)
    })
}

/// Bit `i` set where `eight[i]` (eight flags) has its triggers deferred:
/// the eight bytes read as one word, the flag's bit of each moved to the
/// byte's lowest bit, and the eight gathered into the top byte by one
/// multiplication (the partial products never overlap: no carries).
#[inline]
fn deferred_bits8(eight: &[AccountFlags]) -> u64 {
    const LOW_BITS: u64 = 0x0101_0101_0101_0101;
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let bytes: [u8; 8] = std::array::from_fn(|i| eight[i].0);
    let shift = AccountFlags::INDEX_DEFERRED.trailing_zeros();
    let low = (u64::from_le_bytes(bytes) >> shift) & LOW_BITS;
    low.wrapping_mul(GATHER) >> 56
}

/// Appends `base + i` to `out` for every bit `i` set in `mask`, lowest
/// first.
#[inline]
fn push_set_flags(out: &mut Vec<u32>, base: u32, mut mask: u64) {
    while mask != 0 {
        out.push(base + mask.trailing_zeros());
        mask &= mask - 1;
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{Account, AccountFlags, AccountSpec, Ledger};
    use crate::money::Micros;
    use crate::venue::insurance::InsuranceFund;

    /// `n` cross-margin accounts of 1,000 micro-USD each, account `i`
    /// holding `positions(i)`.
    fn cross_accounts(n: u64, positions: impl Fn(u64) -> Vec<(u16, i64, i64)>) -> Vec<AccountSpec> {
        (0..n)
            .map(|i| AccountSpec {
                id: i,
                collateral: Micros(1_000),
                isolated: false,
                positions: positions(i),
            })
            .collect()
    }

    /// A ledger of `specs` over `markets` markets, entry values `lots x
    /// entry`, an empty fund.
    fn open_ledger(specs: &[AccountSpec], markets: usize) -> Ledger {
        let ledger = Ledger::open(
            specs,
            markets,
            |_, lots, entry| Micros(lots * entry),
            InsuranceFund::new(Micros::ZERO, Micros::ZERO),
        );
        let Ok(ledger) = ledger else {
            panic!("the ledger opens");
        };
        ledger
    }

    /// `mark_distinct` answers as a plain pairwise comparison does, on lists
    /// with and without repeats; it leaves the marks set exactly when the
    /// accounts are distinct, and `clear_distinct` of each leaves none.
    #[test]
    fn mark_distinct_is_pairwise_comparison() {
        let specs = cross_accounts(40, |_| vec![(0, 1, 100)]);
        let mut ledger = open_ledger(&specs, 1);
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for _ in 0..5_000 {
            let len = rng.random_range(0..12);
            let range = rng.random_range(1..41);
            let list: Vec<u32> = (0..len).map(|_| rng.random_range(0..range)).collect();
            let want = list.iter().enumerate().all(|(i, a)| !list[..i].contains(a));
            assert_eq!(ledger.mark_distinct(list.iter().copied()), want, "{list:?}");
            let marked = ledger
                .flags
                .iter()
                .filter(|f| f.has(AccountFlags::CLOSE_MARK))
                .count();
            assert_eq!(marked, if want { list.len() } else { 0 }, "{list:?}");
            if want {
                for &a in &list {
                    ledger.clear_distinct(a);
                }
            }
            assert!(
                ledger
                    .flags
                    .iter()
                    .all(|f| !f.has(AccountFlags::CLOSE_MARK))
            );
        }
    }

    /// The flag byte answers as the fields it replaced would: one slot as
    /// the slot count, each flag as last set; a restart (full, then
    /// partial) brings back the template's flags, with no dirty mark.
    /// (A full restart the first time, a partial one the second.)
    #[test]
    fn flags_follow_their_writes_and_the_restart() {
        let specs = cross_accounts(60, |i| (0..i % 3).map(|m| (m as u16, 1, 100)).collect());
        let open = || open_ledger(&specs, 2);
        let mut template = open();
        let mut rng = ChaCha8Rng::seed_from_u64(16);
        let mut want = vec![(false, false, false); specs.len()];
        let mut write = |ledger: &mut Ledger, want: &mut Vec<(bool, bool, bool)>, n: usize| {
            for _ in 0..n {
                let a = rng.random_range(0..specs.len() as u32);
                ledger.mark_dirty(a);
                let w = &mut want[a as usize];
                match rng.random_range(0..3) {
                    0 => {
                        w.0 = rng.random_bool(0.5);
                        ledger.set_pending(a, w.0);
                    }
                    1 => {
                        assert_eq!(ledger.mark_adl_hit(a), !w.1);
                        w.1 = true;
                    }
                    _ => {
                        w.2 = rng.random_bool(0.5);
                        ledger.set_index_deferred(a, w.2);
                    }
                }
            }
            for (a, w) in want.iter().enumerate() {
                let a = a as u32;
                assert_eq!(
                    (
                        ledger.is_pending(a),
                        ledger.adl_hit(a),
                        ledger.index_deferred(a)
                    ),
                    *w
                );
                assert_eq!(
                    ledger.holds_one_slot(a),
                    ledger.accounts[a as usize].slot_count == 1
                );
            }
        };
        write(&mut template, &mut want, 200);
        template.rebase();
        let mut copy = open();
        copy.reset_from(&template);
        assert!(copy.flags == template.flags);
        let mut changed = want.clone();
        // Few accounts changed: the partial restart.
        write(&mut copy, &mut changed, 10);
        assert!(copy.flags != template.flags);
        assert!(copy.dirty.len() < specs.len() / 2);
        copy.reset_from(&template);
        assert!(copy.flags == template.flags);
        assert!(copy.flags.iter().all(|f| !f.has(AccountFlags::DIRTY)));
    }

    /// The eight-at-a-time gather is the flag test of each of the eight:
    /// every pattern of the deferred bit, under every pattern of the other
    /// bits.
    #[test]
    fn deferred_bits8_is_the_flag_test() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        for pattern in 0..256u32 {
            for _ in 0..16 {
                let eight: Vec<AccountFlags> = (0..8)
                    .map(|i| {
                        let other = rng.random::<u8>() & !AccountFlags::INDEX_DEFERRED;
                        let on = pattern >> i & 1 == 1;
                        AccountFlags(other | if on { AccountFlags::INDEX_DEFERRED } else { 0 })
                    })
                    .collect();
                assert_eq!(super::deferred_bits8(&eight), u64::from(pattern));
            }
        }
    }

    /// The scan of the flags finds the accounts whose triggers are
    /// deferred as the simple way does (the list of deferrals sorted,
    /// without repeats, those still deferred), in account order, across
    /// blocks of 64 flags and a partial last block.
    #[test]
    fn index_deferred_accounts_are_the_sorted_deferrals() {
        let specs = cross_accounts(300, |_| vec![(0, 1, 100)]);
        let mut ledger = open_ledger(&specs, 1);
        let mut rng = ChaCha8Rng::seed_from_u64(18);
        let mut listed: Vec<u32> = Vec::new();
        let mut out = vec![7];
        for round in 0..200 {
            let range = [1, 64, 65, 300][round % 4];
            for _ in 0..rng.random_range(0..40) {
                let a = rng.random_range(0..range);
                ledger.mark_dirty(a);
                let on = rng.random_bool(0.7);
                ledger.set_index_deferred(a, on);
                listed.push(a);
            }
            ledger.index_deferred_accounts(&mut out);
            let mut want = listed.clone();
            want.sort_unstable();
            want.dedup();
            want.retain(|&a| ledger.index_deferred(a));
            assert_eq!(out, want, "round {round}");
            if round % 3 == 0 {
                for &a in &out {
                    ledger.set_index_deferred(a, false);
                }
                listed.clear();
            }
        }
    }

    /// An account record is one cache line: a field added beyond 64 bytes
    /// would double it (to 128, by the alignment) and every random read of
    /// an account would cost two misses again.
    #[test]
    fn an_account_is_one_cache_line() {
        assert_eq!(std::mem::align_of::<Account>(), 64);
        assert_eq!(std::mem::size_of::<Account>(), 64);
        let accounts: Vec<Account> = Vec::with_capacity(3);
        assert_eq!(accounts.as_ptr() as usize % 64, 0);
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::{AccountFlags, AccountSpec, FundingEntry, Ledger, WinnerFlags};
    use crate::money::{Micros, Rate};
    use crate::venue::insurance::InsuranceFund;

    /// A ledger whose account 0 (the bankrupt one) holds `bankrupt` lots
    /// and account `i + 1` holds `winners[i]` lots, all in market 0, entry
    /// values `lots x 100`; the touched log kept.
    fn ledger(bankrupt: i64, winners: &[i64]) -> Ledger {
        let specs: Vec<AccountSpec> = std::iter::once(bankrupt)
            .chain(winners.iter().copied())
            .enumerate()
            .map(|(i, lots)| AccountSpec {
                id: i as u64,
                collateral: Micros(1_000),
                isolated: false,
                positions: vec![(0, lots, 100)],
            })
            .collect();
        let opened = Ledger::open(
            &specs,
            1,
            |_, lots, entry| Micros(lots * entry),
            InsuranceFund::new(Micros::ZERO, Micros::ZERO),
        );
        let Ok(mut ledger) = opened else {
            panic!("the ledger opens");
        };
        ledger.track_touched(true);
        ledger
    }

    proptest! {
        /// An ADL close's fills booked on the winners' side with the
        /// bankrupt position moved once by their sum leave the ledger as
        /// booking each fill against it does: the same positions, long
        /// open interest and touched log, for any lots (zero, crossing
        /// zero either way, on either side) and values (signs included).
        #[test]
        fn winner_side_then_settle_is_trade_between(
            bankrupt in prop_oneof![Just(0i64), Just(1), Just(-1), -1_000i64..=1_000],
            fills in proptest::collection::vec(
                (
                    prop_oneof![Just(0i64), Just(1), Just(-1), -1_000i64..=1_000],
                    prop_oneof![Just(0i64), Just(1), Just(-1), -1_000i64..=1_000],
                    prop_oneof![Just(0i64), Just(-1), -1_000_000i64..=1_000_000],
                ),
                0..12,
            ),
        ) {
            let winners: Vec<i64> = fills.iter().map(|f| f.0).collect();
            let (mut plain, mut fast) = (ledger(bankrupt, &winners), ledger(bankrupt, &winners));
            let counter = plain.accounts[0].first_slot;
            let (mut lots_sum, mut value_sum) = (0i64, Micros::ZERO);
            for (i, &(_, lots, value)) in fills.iter().enumerate() {
                let a = i as u32 + 1;
                let slot = plain.accounts[a as usize].first_slot;
                plain.trade_between(slot, counter, (a, 0), lots, Micros(value));
                fast.trade_winner_side(slot, counter, (a, 0), lots, Micros(value));
                (lots_sum, value_sum) = (lots_sum + lots, value_sum + Micros(value));
            }
            fast.settle_counter(counter, lots_sum, value_sum);
            let line = |l: &Ledger| {
                l.positions.iter().map(|p| (p.lots, p.cost)).collect::<Vec<_>>()
            };
            prop_assert_eq!(line(&plain), line(&fast));
            prop_assert_eq!(&plain.long_lots, &fast.long_lots);
            prop_assert_eq!(&plain.touched, &fast.touched);
        }

        /// A close of distinct winners booked by `trade_distinct_winner`
        /// (the bankrupt position settled once after) leaves the ledger as
        /// the plain booking does (`trade_between`, then the close mark
        /// cleared and the hit flag set at each fill): the same positions,
        /// long open interest, touched log, dirty list (in order), every
        /// flag byte, collateral and funding applied; and it returns each
        /// winner's flags as they were before its fill. Winners start dirty,
        /// hit, pending, deferred or not, the bankrupt account likewise but
        /// dirty (its liquidation marked it before any close); the fast
        /// booking's bankrupt position readied once before the fills;
        /// closes with and without the mark; with a funding settlement
        /// pending (the log of changed accounts off, so it is lazy) or not.
        #[test]
        fn distinct_winner_booking_is_the_plain_one(
            bankrupt in prop_oneof![Just(0i64), Just(1), Just(-1), -1_000i64..=1_000],
            bankrupt_flags in 0u8..32,
            fills in proptest::collection::vec(
                (
                    prop_oneof![Just(0i64), Just(1), Just(-1), -1_000i64..=1_000],
                    prop_oneof![Just(0i64), Just(1), Just(-1), -1_000i64..=1_000],
                    prop_oneof![Just(0i64), Just(-1), -1_000_000i64..=1_000_000],
                    0u8..32,
                ),
                0..12,
            ),
            marked in any::<bool>(),
            funding in prop_oneof![Just(None), (-1_000_000i64..=1_000_000).prop_map(Some)],
        ) {
            let winners: Vec<i64> = fills.iter().map(|f| f.0).collect();
            let start = |l: &mut Ledger| {
                // Flags other than the close mark (set by `mark_distinct`).
                let mut set = |a: usize, bits: u8| {
                    let f = &mut l.flags[a];
                    f.0 |= bits & !AccountFlags::CLOSE_MARK;
                    if f.has(AccountFlags::DIRTY) {
                        l.dirty.push(a as u32);
                    }
                };
                // The bankrupt account is dirty (its liquidation marked it).
                set(0, bankrupt_flags | AccountFlags::DIRTY);
                for (i, f) in fills.iter().enumerate() {
                    set(i + 1, f.3);
                }
                if let Some(rate) = funding {
                    l.track_touched(false);
                    let entry = FundingEntry {
                        rate: Rate(rate),
                        mark: 100,
                        micros_per_lot_tick: 1,
                    };
                    l.settle_funding(0, entry);
                    assert!(!l.funding.is_empty(), "the settlement is lazy");
                }
                if marked {
                    assert!(l.mark_distinct(1..=fills.len() as u32));
                }
            };
            let (mut plain, mut fast) = (ledger(bankrupt, &winners), ledger(bankrupt, &winners));
            start(&mut plain);
            start(&mut fast);
            let counter = plain.accounts[0].first_slot;
            let (mut lots_sum, mut value_sum) = (0i64, Micros::ZERO);
            if !fills.is_empty() {
                fast.ready_counter(counter);
            }
            for (i, &(_, lots, value, _)) in fills.iter().enumerate() {
                let a = i as u32 + 1;
                let slot = plain.accounts[a as usize].first_slot;
                let before = plain.flags[a as usize];
                plain.trade_between(slot, counter, (a, 0), lots, Micros(value));
                if marked {
                    plain.clear_distinct(a);
                }
                plain.mark_adl_hit(a);
                let got = fast.trade_distinct_winner(
                    slot, counter, (a, 0), lots, Micros(value), marked,
                );
                prop_assert_eq!(got, WinnerFlags(before));
                (lots_sum, value_sum) = (lots_sum + lots, value_sum + Micros(value));
            }
            fast.settle_counter(counter, lots_sum, value_sum);
            let line = |l: &Ledger| {
                l.positions.iter().map(|p| (p.lots, p.cost)).collect::<Vec<_>>()
            };
            let money = |l: &Ledger| {
                let applied: Vec<u32> =
                    (0..l.positions.len() as u32).map(|s| l.funding_applied(s)).collect();
                let collateral: Vec<Micros> = l.accounts.iter().map(|a| a.collateral).collect();
                (collateral, l.ext_cash, applied)
            };
            prop_assert_eq!(line(&plain), line(&fast));
            prop_assert_eq!(&plain.long_lots, &fast.long_lots);
            prop_assert_eq!(&plain.touched, &fast.touched);
            prop_assert_eq!(&plain.dirty, &fast.dirty);
            prop_assert_eq!(&plain.flags, &fast.flags);
            prop_assert_eq!(money(&plain), money(&fast));
        }
    }
}
