//! The data of the `pro_rata` ADL index (how the engine builds, updates and
//! reads it is `adl_pro_rata.rs`, which describes the design): one
//! (market, side)'s positions by lots, by profit threshold and by equity per
//! lot, and the allocation's walk over them.

use std::cell::Cell;
use std::cmp::Reverse;

mod equity_buckets;
mod lots_order;
pub(super) use equity_buckets::EquityBuckets;
pub(super) use lots_order::LotsOrder;
use lots_order::{LotsCursor, lots_and_slot};

use crate::venue::adl::AdlCandidate;
#[cfg(test)]
use crate::venue::adl::{self, AdlPolicy};

use super::threshold_sums::{NIL, SlotLines, ThresholdKey, ThresholdSums, cut_below};

/// What the index holds of one position of the side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// Owner of the position.
    pub(super) account: u32,
    /// Lots (absolute).
    pub(super) lots: i64,
    /// The position is in profit at price `p` iff `side × p ≥ threshold`.
    pub(super) threshold: i64,
    /// Account equity (micro-USD) when indexed: kept so that a fill reads
    /// it here rather than summing the account again.
    pub(super) equity: i64,
}

impl Entry {
    /// Account equity per lot of the position, rounded down: its lots are
    /// capped at a loss per lot above this.
    pub(super) fn equity_per_lot(&self) -> i64 {
        self.equity / self.lots
    }
}

/// A slot's record in the index: its [`Entry`] (`lots == 0`: none) and its
/// current node in the threshold sums (their per-slot line: [`SlotLines`]),
/// in 32 bytes on one cache line. The walk meets each position for the
/// first time in the close; with the entry, the set-aside mark and the
/// threshold in three arrays (the entry 40 bytes, across two lines half the
/// time) that was three or four misses a position, now one. A filled
/// winner's re-index reads and writes this line alone (round 24: the
/// threshold sums' own per-slot line, a second random line a fill, is
/// gone; the set-aside marks, a few slots a close, moved off it to
/// [`ProRataSide::aside_marks`]).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct Record {
    /// Owner of the position.
    account: u32,
    /// Its node in the threshold sums ([`NIL`]: not held there; written by
    /// them alone, kept by every write of the entry).
    current: u32,
    /// Lots (absolute); 0: no entry.
    lots: i64,
    /// See [`Entry::threshold`].
    threshold: i64,
    /// [`Entry::equity`] less `lots × offset` (the side's
    /// [`ProRataSide::offset`] when written): a pass-free build moves every
    /// entry's equity by raising the offset alone.
    base: i64,
}

impl Record {
    /// No entry.
    const EMPTY: Record = Record {
        account: 0,
        current: NIL,
        lots: 0,
        threshold: 0,
        base: 0,
    };

    /// The record of entry `e` (lots positive) whose equity less
    /// `e.lots × offset` is `base`, its threshold sums' node `current`.
    fn of(e: Entry, base: i64, current: u32) -> Record {
        debug_assert!(e.lots > 0, "Invariant: an indexed position holds lots");
        Record {
            account: e.account,
            current,
            lots: e.lots,
            threshold: e.threshold,
            base,
        }
    }

    /// Its entry, if any, under the side's `offset` (its equity `base +
    /// lots × offset` modulo `2^64`: exact, since `base` was written as the
    /// equity less `lots × offset` modulo `2^64` and the true equity fits,
    /// [`ProRataSide::shift_records`] raising the offset only when every
    /// record's does).
    #[inline(always)]
    fn entry(&self, offset: i64) -> Option<Entry> {
        // Eager (`then_some`): a multiply-add, no branch.
        (self.lots != 0).then_some(Entry {
            account: self.account,
            lots: self.lots,
            threshold: self.threshold,
            equity: equity_of(self.lots, self.base, offset),
        })
    }
}

/// The threshold sums' per-slot lines are the records: a slot's threshold
/// is its entry's, its current node the record's `current`.
impl SlotLines for [Record] {
    #[inline(always)]
    fn slot_count(&self) -> usize {
        self.len()
    }
    #[inline(always)]
    fn threshold(&self, slot: u32) -> i64 {
        self[slot as usize].threshold
    }
    #[inline(always)]
    fn current(&self, slot: u32) -> u32 {
        self[slot as usize].current
    }
    #[inline(always)]
    fn set_current(&mut self, slot: u32, node: u32) {
        self[slot as usize].current = node;
    }
}

/// One (market, side): its open positions in accounts with positive equity.
#[derive(Default, Clone)]
pub(super) struct ProRataSide {
    /// The step the index was built in and the accounts touched since its
    /// last allocation.
    pub(super) touched: super::adl_touched::TouchedSince,
    /// Per slot: its entry, if indexed, and its threshold sums' node.
    records: Vec<Record>,
    /// Per slot (grown on the first mark): the allocation that set it aside
    /// (`stamp`). Off the records: a close sets aside a few slots at most
    /// (the bankrupt account's, the capped ones under a gap), usually none.
    aside_marks: Vec<u32>,
    /// Slots set aside at the current `stamp`: while 0 (most closes), no
    /// mark is read.
    aside_count: u32,
    /// Records holding an entry: the last build's, then each insert and
    /// removal. Zero lets a build of a side with no open position skip its
    /// pass ([`ProRataSide::entries_kept`]).
    kept: usize,
    /// Entries in walk order (lots desc, then slot).
    pub(super) by_lots: LotsOrder,
    /// Lots by profit threshold (its per-slot lines: `records`).
    by_threshold: ThresholdSums,
    /// Entries by equity per lot.
    pub(super) by_equity: EquityBuckets,
    /// Whether `by_equity` is kept this step: built at the step's first
    /// allocation under a gap (the only reader), so a step without one pays
    /// no upkeep for it.
    pub(super) equity_indexed: bool,
    /// At most every entry's equity per lot since the index was built (the
    /// least one written): a gap's loss per lot at or below it caps no
    /// position, so the allocation skips `by_equity` (and its build).
    pub(super) min_equity_per_lot: i64,
    /// Allocations so far.
    pub(super) stamp: u32,
    /// Candidates whose lots are capped at this allocation's price.
    pub(super) capped: Vec<AdlCandidate>,
    /// The slots a gap may cap, listed before they are evaluated: kept
    /// between allocations (no allocation a close).
    pub(super) capped_slots: Vec<u32>,
    /// The allocation's `(account, slot, lots)` list, kept between
    /// allocations (one a close: no allocation per close).
    pub(super) chosen: Vec<(u32, u32, i64)>,
    /// [`sort_by_account`]'s buffers and its result's places, kept
    /// between allocations.
    pub(super) by_account: AccountSort,
    /// [`pro_rata_shares`]' buffers, kept between allocations.
    pub(super) shares: ShareScratch,
    /// Per slot: the profit threshold its last build computed, kept across
    /// steps (see [`ThresholdMemo`]).
    thresholds: Vec<ThresholdMemo>,
    /// The build's `(threshold key, lots)` list, kept between builds.
    pub(super) build_thresholds: Vec<((i64, u32), i64)>,
    /// The build's `(lots, slot)` list, kept between builds.
    pub(super) build_lots: Vec<(i64, u32)>,
    /// Whether the orders (`by_lots`, `by_threshold`) hold exactly the
    /// records' entries: set by a build, kept by every change since (each
    /// writes a record and its orders together). A later step's build may
    /// then diff the fresh entries against the records and move only what
    /// changed in the orders ([`ProRataSide::keep_entry`]).
    orders_whole: bool,
    /// A kept build's slots whose entry changes in an order (`None`: out),
    /// kept between builds.
    changes: Vec<(u32, Option<Entry>)>,
    /// What the kept builds did so far (measurement only).
    pub(super) keeps: KeepCounts,
    /// Where the side's records stand, set at each build: the ledger's
    /// touched-log epoch, the market's mark and its micro-USD per lot and
    /// tick (`None`: never built). A later build may then shift the records
    /// instead of its pass ([`ProRataSide::shift_records`]).
    pub(super) synced_at: Option<SyncPoint>,
    /// Equity per lot added to every record's `base` when read (see
    /// [`Record::entry`]): in `0..=OFFSET_MAX`, 0 after a re-base
    /// ([`ProRataSide::rebase`]).
    offset: i64,
    /// The OR of [`wide_bits`] of every entry written since the last shift
    /// one by one ([`ProRataSide::shift_each`]; at most the records'
    /// own after it): some record may be outside [`small`]'s bounds when
    /// not `small(wide)`, and the offset is then not raised
    /// (every later shift re-bases), since its products are not bounded.
    /// One OR a write, no branch.
    wide: i64,
}

/// Bits of the lots of an entry written at any offset without a check
/// ([`small`]).
const SMALL_LOTS_BITS: u32 = 24;

/// Bits of the equity of an entry written at any offset without a check.
const SMALL_EQUITY_BITS: u32 = 61;

/// The largest [`ProRataSide::offset`]: a small entry's `lots × offset`
/// is below `2^24 × 2^38 = 2^62`, so its equity, at most `2^61 + 2^62`
/// at any offset, and its base, above `−2^62`, fit in `i64`.
const OFFSET_MAX: i64 = 1 << 38;

/// Bits of an entry's lots and equity whose bits from [`SMALL_LOTS_BITS`]
/// up are all zero when it is [`small`]: ORed into
/// [`ProRataSide::wide`] by every write.
#[inline(always)]
fn wide_bits(lots: i64, equity: i64) -> i64 {
    (equity >> (SMALL_EQUITY_BITS - SMALL_LOTS_BITS)) | lots
}

/// Whether the entries whose [`wide_bits`] OR to `bits` stay within `i64`
/// at any offset up to [`OFFSET_MAX`] after their write: lots below `2^24`
/// and equity in `0..2^61` (one test of both).
#[inline(always)]
fn small(bits: i64) -> bool {
    bits >> SMALL_LOTS_BITS == 0
}

/// The base of an entry of `lots` and `equity` at `offset`: its equity less
/// `lots × offset`, modulo `2^64` (read back exactly by [`Record::entry`]
/// at any offset where the true equity fits).
#[inline(always)]
fn base_of(lots: i64, equity: i64, offset: i64) -> i64 {
    equity.wrapping_sub(lots.wrapping_mul(offset))
}

/// The equity of an entry of `lots` whose record holds `base` at `offset`
/// ([`base_of`]'s inverse, modulo `2^64`: exact where the true equity fits).
#[inline(always)]
fn equity_of(lots: i64, base: i64, offset: i64) -> i64 {
    base.wrapping_add(lots.wrapping_mul(offset))
}

/// What a side's records were evaluated at ([`ProRataSide::synced_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SyncPoint {
    /// The ledger's touched-log epoch: the accounts changed since are the
    /// log's tail from the side's cursor while it is unchanged.
    pub(super) epoch: u64,
    /// The log's entries dropped from its front then
    /// ([`super::ledger::Ledger::touched_base`]; none between a build and
    /// the syncs after it in its step).
    pub(super) base: u64,
    /// The market's mark (ticks).
    pub(super) mark: i64,
    /// The market's micro-USD per lot and tick.
    pub(super) per_lot_tick: i64,
}

/// Kept builds of a side, the entries they moved in the orders and their
/// threshold sums' re-cuts: what docs/performance.md reports of them.
#[derive(Default, Clone, Copy, Debug)]
pub(super) struct KeepCounts {
    /// Builds that kept the orders.
    pub(super) builds: u64,
    /// Entries they moved (in, out or re-keyed).
    pub(super) changes: u64,
    /// Builds whose threshold sums were cut again.
    pub(super) recuts: u64,
    /// Builds whose threshold sums' stale cut was raised instead
    /// ([`ThresholdSums::raise_cut`]).
    pub(super) raises: u64,
    /// Kept builds without the pass: the records shifted with the mark and
    /// the log's tail re-indexed ([`ProRataSide::shift_records`]).
    pub(super) pass_free: u64,
    /// Accounts those re-indexed (the log's tails, each once).
    pub(super) tail_accounts: u64,
    /// Pass-free attempts that fell back to the pass after their shift (an
    /// on-side slot without an entry, or an overflow).
    pub(super) fallbacks: u64,
}

/// A kept build moves its changes one at a time while they are at most
/// `1 / KEEP_SHARE` of the market's slots; more, and it builds the orders
/// again from the records (a sort is then cheaper than the moves).
const KEEP_SHARE: usize = 8;

/// A slot's profit threshold as a build computed it, with the position's
/// signed lots and cost it was computed from (`lots == 0`: none). The
/// threshold depends only on those and the market's micro-USD per lot and
/// tick (fixed for the run; a side is one market's), not on the mark, so a
/// position left alone since the last build (most of the side) reuses it:
/// one read in slot order, where the division was ~1.7% of the
/// 1,000,000-account crash.
#[derive(Clone, Copy, Debug, Default)]
struct ThresholdMemo {
    /// Signed lots it was computed for.
    lots: i64,
    /// Cost it was computed for.
    cost: i64,
    /// The threshold.
    threshold: i64,
}

/// A share of the allocation: the position and the f64 numbers `allocate` uses.
#[derive(Clone, Copy)]
struct Share {
    account: u32,
    slot: u32,
    lots: i64,
    floor: i64,
    frac: f64,
}

impl Share {
    /// `allocate`'s order for the lots left: largest fractional part, then
    /// account, then slot.
    fn before(&self, other: &Share) -> bool {
        other
            .frac
            .total_cmp(&self.frac)
            .then(self.account.cmp(&other.account))
            .then(self.slot.cmp(&other.slot))
            .is_lt()
    }
}

/// [`pro_rata_shares`]' buffers, kept between closes (cleared, reused):
/// a close with whole shares allocated two vectors.
#[derive(Default, Clone)]
pub(super) struct ShareScratch {
    /// The whole shares in walk order, each with its extra lot (0 or 1).
    whole: Vec<(Share, i64)>,
    /// Places in `whole`, in `allocate`'s order of fractional parts.
    order: Vec<u32>,
}

/// Above this `needed × Σ lots` the f64 shares are not exact enough for the
/// walk to reproduce them (see the module documentation).
pub(super) const EXACT_LIMIT: i128 = 1 << 53;

impl ProRataSide {
    /// Empties the index of every slot, for `slots` slots: one pass over the
    /// array rather than the last step's entries at random (a cache miss
    /// each).
    #[cfg(test)]
    pub(super) fn clear_entries(&mut self, slots: usize) {
        self.min_equity_per_lot = i64::MAX;
        self.kept = 0;
        self.offset = 0;
        self.wide = 0;
        self.aside_marks.clear();
        if self.records.len() == slots {
            self.records.fill(Record::EMPTY);
        } else {
            self.records = vec![Record::EMPTY; slots];
        }
    }

    /// Starts a build for `slots` slots without the pass of
    /// [`ProRataSide::clear_entries`]: the caller then writes every slot of
    /// the side's market ([`ProRataSide::put_entry`] or
    /// [`ProRataSide::clear_entry`]), in slot order, where the fill wrote the
    /// whole array once more (32 bytes a slot, every step). The other
    /// markets' slots are never written by this side (a side is one market's,
    /// and a slot's market is fixed for an engine's life), so they stay
    /// empty.
    pub(super) fn start_build(&mut self, slots: usize) {
        self.min_equity_per_lot = i64::MAX;
        self.rebase();
        if self.records.len() != slots {
            self.aside_marks.clear();
            self.records = vec![Record::EMPTY; slots];
        }
    }

    /// Slots indexed, as counted (no pass): when 0, every record is empty
    /// and a build that indexes nothing need not write them.
    pub(super) fn entries_kept(&self) -> usize {
        debug_assert!(
            self.records.len() > 1 << 16 || self.entries_held() == self.kept,
            "Invariant: the count of entries is the records'"
        );
        self.kept
    }

    /// Ends a build that indexed `entries` slots (its records written, the
    /// orders built from them).
    pub(super) fn built(&mut self, entries: usize) {
        self.kept = entries;
        self.orders_whole = true;
    }

    /// Whether a build over `slots` slots may keep the orders and diff the
    /// fresh entries against the records ([`ProRataSide::start_keep`]): the
    /// side was built over as many slots and no entry is oversized (the
    /// lots order's moves across [`lots_order::LOTS_LIMIT`] are left to a
    /// sort).
    pub(super) fn can_keep(&self, slots: usize) -> bool {
        self.orders_whole && self.records.len() == slots && !self.by_lots.oversized()
    }

    /// Starts a kept build: the lots order's pending re-keys applied (the
    /// diff reads it as the records say), the equity bound reset as a
    /// build does (every entry written lowers it again), no change listed,
    /// `by_equity` dropped as a build drops it (built again under a gap).
    /// Returns whether the threshold sums' cut is stale for the step's
    /// first query `x` ([`ThresholdSums::stale_for`]) and could not be
    /// raised by whole buckets ([`ThresholdSums::raise_cut`]): the caller
    /// then lists the entries' threshold keys in `build_thresholds`
    /// (emptied here) for [`ProRataSide::recut`].
    pub(super) fn start_keep(&mut self, x: i64) -> bool {
        self.build_thresholds.clear();
        self.by_lots.flush();
        self.min_equity_per_lot = i64::MAX;
        self.changes.clear();
        self.by_equity.clear();
        self.equity_indexed = false;
        if !self.by_threshold.stale_for(x) {
            return false;
        }
        let raised = self.by_threshold.raise_cut(x);
        self.keeps.raises += u64::from(raised);
        !raised
    }

    /// A kept build's entry `new` for `slot` (in its market): written to the
    /// record at once when it keeps the orders' keys (owner, lots and
    /// threshold as recorded: only the equity moved with the mark), else
    /// listed for [`ProRataSide::end_keep`]. Exact: the orders depend on
    /// the entries' lots, thresholds and slots alone.
    #[inline(always)]
    pub(super) fn keep_entry(&mut self, slot: u32, new: Option<Entry>) {
        let r = &self.records[slot as usize];
        match new {
            Some(e) if r.lots == e.lots && r.threshold == e.threshold && r.account == e.account => {
                self.put_entry(slot, e);
            }
            None if r.lots == 0 => {}
            _ => self.changes.push((slot, new)),
        }
    }

    /// Ends a kept build of the side over `market_slots` (every slot of its
    /// market, in increasing order): applies the listed changes (`set`, the
    /// orders moved) when few, else writes them to the records and builds
    /// the orders from the records as a full build does (cut below `x`).
    /// Returns the changes and whether the orders were built.
    pub(super) fn end_keep(&mut self, market_slots: &[u32], x: i64) -> (usize, bool) {
        let changes = std::mem::take(&mut self.changes);
        let n = changes.len();
        let few = n * KEEP_SHARE <= market_slots.len();
        if few {
            for &(s, new) in &changes {
                self.set(s, new);
            }
            self.by_lots.flush();
        } else {
            for &(s, new) in &changes {
                match new {
                    Some(e) => self.put_entry(s, e),
                    None => self.clear_entry(s),
                }
            }
            self.build_orders(market_slots, x);
        }
        self.changes = changes;
        (n, !few)
    }

    /// A kept build without the pass, after [`ProRataSide::start_keep`]:
    /// every entry's equity moved by its lots times `per_lot` (the side-wide
    /// change of a one-slot account's equity per lot, `winners·k·Δmark`),
    /// and with `stale` each entry's threshold key listed for
    /// [`ProRataSide::recut`]. The move raises [`ProRataSide::offset`]
    /// alone when every record's equity surely stays within `i64`, and
    /// `min_equity_per_lot` becomes `min_before` (its value before
    /// `start_keep`, at most every entry's equity per lot) plus `per_lot`:
    /// an entry's equity is positive, so its quotient is a floor and moves
    /// by `per_lot` exactly. Else (in doubt) the records are re-based and
    /// shifted one by one ([`ProRataSide::shift_each`]). Returns false on an
    /// overflow there (the caller's pass then writes every record again).
    /// Exact for an entry whose account holds this one slot, no collateral
    /// asset, and whose lines have not changed since the records were
    /// written: its equity is `A + lots·k·side·mark`.
    pub(super) fn shift_records(&mut self, per_lot: i64, stale: bool, min_before: i64) -> bool {
        if stale {
            self.list_threshold_keys();
        }
        if self.raise_offset(per_lot) {
            self.min_equity_per_lot = min_before.saturating_add(per_lot);
            return true;
        }
        self.rebase();
        self.shift_each(per_lot)
    }

    /// Lists every entry's threshold key and lots in `build_thresholds`, in
    /// slot order (for [`ProRataSide::recut`]). Reads only the records.
    fn list_threshold_keys(&mut self) {
        for (s, r) in self.records.iter().enumerate() {
            if r.lots != 0 {
                self.build_thresholds
                    .push(((r.threshold, s as u32), r.lots));
            }
        }
    }

    /// Raises the offset by `per_lot` if every record's equity then surely
    /// fits: no record written outside [`small`]'s bounds since the last
    /// shift one by one, `per_lot` non-negative and the offset kept at most
    /// [`OFFSET_MAX`]. False changes nothing.
    fn raise_offset(&mut self, per_lot: i64) -> bool {
        let raised = self.offset.checked_add(per_lot);
        match raised {
            Some(offset) if small(self.wide) && per_lot >= 0 && offset <= OFFSET_MAX => {
                self.offset = offset;
                true
            }
            _ => false,
        }
    }

    /// Writes every record's equity at offset 0 (`base` becomes the
    /// equity) and sets the offset to 0: at a full build, and before a
    /// shift the offset cannot take. A no-op at offset 0.
    fn rebase(&mut self) {
        let offset = self.offset;
        if offset == 0 {
            return;
        }
        debug_assert!(
            (0..=OFFSET_MAX).contains(&offset),
            "Invariant: the offset is within its bound"
        );
        for r in &mut self.records {
            if r.lots != 0 {
                // Exact: the true equity at `offset` fits (see `Record::entry`).
                r.base = equity_of(r.lots, r.base, offset);
            }
        }
        self.offset = 0;
    }

    /// [`ProRataSide::shift_records`] one record at a time (offset 0):
    /// every entry's equity moved by `lots × per_lot` (checked: false on an
    /// overflow, some records moved, `wide` then big until the caller's pass
    /// writes them again), `min_equity_per_lot` the least moved quotient,
    /// lowered as a pass lowers it, and `wide` made the records' own (a
    /// raise after this one is not refused for an entry gone).
    fn shift_each(&mut self, per_lot: i64) -> bool {
        debug_assert_eq!(self.offset, 0, "Invariant: shifted one by one at offset 0");
        let (mut min, mut wide) = (i64::MAX, 0);
        for r in &mut self.records {
            if r.lots == 0 {
                continue;
            }
            let Some(equity) = r
                .lots
                .checked_mul(per_lot)
                .and_then(|d| r.base.checked_add(d))
            else {
                self.wide = i64::MIN;
                return false;
            };
            r.base = equity;
            wide |= wide_bits(r.lots, equity);
            // `lower_min_equity`'s product test, on a local minimum.
            if min.checked_mul(r.lots).is_none_or(|m| equity < m) {
                min = min.min(equity / r.lots);
            }
        }
        self.min_equity_per_lot = min;
        self.wide = wide;
        true
    }

    /// The record of entry `e` at the current offset (its `base`:
    /// [`base_of`]) with threshold sums' node `current`, its bits ORed into
    /// [`ProRataSide::wide`].
    #[inline(always)]
    fn record_of(&mut self, e: Entry, current: u32) -> Record {
        self.wide |= wide_bits(e.lots, e.equity);
        Record::of(e, base_of(e.lots, e.equity, self.offset), current)
    }

    /// Counts a kept build without the pass that re-indexed `tail`
    /// accounts (re-cut or not).
    pub(super) fn count_pass_free(&mut self, tail: usize, recut: bool) {
        self.count_keep(0, recut);
        self.keeps.pass_free += 1;
        self.keeps.tail_accounts += tail as u64;
    }

    /// Counts a kept build that moved `changed` entries (re-cut or not).
    pub(super) fn count_keep(&mut self, changed: usize, recut: bool) {
        self.keeps.builds += 1;
        self.keeps.changes += changed as u64;
        self.keeps.recuts += u64::from(recut);
    }

    /// Builds the lots order and the threshold sums (cut below `x`) from the
    /// records of `market_slots` (in increasing order, as a build's pass
    /// meets them), and counts the entries.
    fn build_orders(&mut self, market_slots: &[u32], x: i64) {
        let mut by_threshold = std::mem::take(&mut self.build_thresholds);
        let mut by_lots = std::mem::take(&mut self.build_lots);
        by_threshold.clear();
        by_lots.clear();
        for &s in market_slots {
            let r = &self.records[s as usize];
            if r.lots != 0 {
                by_threshold.push(((r.threshold, s), r.lots));
                by_lots.push((r.lots, s));
            }
        }
        self.by_threshold
            .build(&by_threshold, cut_below(x), &mut self.records[..]);
        self.by_lots.build(&by_lots);
        self.built(by_lots.len());
        self.build_thresholds = by_threshold;
        self.build_lots = by_lots;
    }

    /// After a kept build whose cut was stale for `x`
    /// ([`ProRataSide::start_keep`]): builds the threshold sums again, cut
    /// below `x`, from the entries' keys the pass listed in
    /// `build_thresholds` (every entry, as the records now hold them). The
    /// sums are the same either way; the cut keeps the step's queries and
    /// the fills' moves in the deep bucket cheap.
    pub(super) fn recut(&mut self, x: i64) {
        debug_assert_eq!(
            self.build_thresholds.len(),
            self.kept,
            "Invariant: the pass listed every entry's threshold key"
        );
        self.by_threshold
            .build(&self.build_thresholds, cut_below(x), &mut self.records[..]);
    }

    /// Builds the threshold sums from `entries` (exactly the records'
    /// entries' keys and lots), cut below `x`: a full build's.
    pub(super) fn build_threshold_sums(&mut self, entries: &[(ThresholdKey, i64)], x: i64) {
        self.by_threshold
            .build(entries, cut_below(x), &mut self.records[..]);
        self.debug_check_lines();
    }

    /// Debug builds, small indexes: a record holds a threshold sums' node
    /// iff it holds an entry (the sums' builds and compactions rely on the
    /// empty ones' [`NIL`]).
    fn debug_check_lines(&self) {
        debug_assert!(
            self.records.len() > 1 << 16
                || self
                    .records
                    .iter()
                    .all(|r| (r.lots != 0) == (r.current != NIL)),
            "Invariant: a record holds a threshold node iff it holds an entry"
        );
    }

    /// Σ lots of every entry.
    pub(super) fn threshold_total(&self) -> i64 {
        self.by_threshold.total()
    }

    /// Σ lots of the entries whose threshold is above `x`.
    pub(super) fn lots_above(&self, x: i64) -> i64 {
        let records = &self.records[..];
        self.by_threshold
            .sum_above(x, records, |s| records[s as usize].lots)
    }

    /// The threshold keys of the entries with threshold at most `x`, in no
    /// particular order.
    pub(super) fn keys_up_to(&self, x: i64) -> impl Iterator<Item = ThresholdKey> + '_ {
        self.by_threshold.up_to(x, &self.records[..])
    }

    /// Slots indexed (a pass over every record: for debug checks).
    pub(super) fn entries_held(&self) -> usize {
        self.records.iter().filter(|r| r.lots != 0).count()
    }

    /// Empties the entry of `slot` (a build: see
    /// [`ProRataSide::start_build`]).
    pub(super) fn clear_entry(&mut self, slot: u32) {
        self.unmark_aside(slot);
        self.records[slot as usize] = Record::EMPTY;
    }

    /// Sizes the per-slot threshold memo for `slots` slots (kept entries
    /// stay: a slot is one market's position for the whole run).
    pub(super) fn size_thresholds(&mut self, slots: usize) {
        if self.thresholds.len() != slots {
            self.thresholds.resize(slots, ThresholdMemo::default());
        }
    }

    /// The profit threshold of `slot` holding `lots` (signed, non-zero) at
    /// cost `cost`: the memo's if it was computed for those, else
    /// `compute()`, then kept. Call [`ProRataSide::size_thresholds`] first.
    pub(super) fn threshold_of(
        &mut self,
        slot: u32,
        lots: i64,
        cost: i64,
        compute: impl FnOnce() -> i64,
    ) -> i64 {
        let m = &mut self.thresholds[slot as usize];
        if m.lots == lots && m.cost == cost && lots != 0 {
            debug_assert_eq!(
                m.threshold,
                compute(),
                "Invariant: a kept threshold is the one its lots and cost give"
            );
            return m.threshold;
        }
        let threshold = compute();
        *m = ThresholdMemo {
            lots,
            cost,
            threshold,
        };
        threshold
    }

    /// The entry of `slot`, if indexed.
    pub(super) fn entry(&self, slot: u32) -> Option<Entry> {
        self.records[slot as usize].entry(self.offset)
    }

    /// Writes the entry of `slot` (a build: the other orders are built
    /// from the same entries by the caller).
    /// Its threshold sums' node stays: a kept build's keep (the orders
    /// kept), or a build's write (the sums then built set it).
    pub(super) fn put_entry(&mut self, slot: u32, e: Entry) {
        self.lower_min_equity(e);
        self.unmark_aside(slot);
        let r = self.record_of(e, self.records[slot as usize].current);
        self.records[slot as usize] = r;
    }

    /// Whether the current allocation set `slot` (indexed) aside.
    pub(super) fn is_set_aside(&self, slot: u32) -> bool {
        self.records[slot as usize].lots != 0 && self.marked_aside(slot)
    }

    /// Whether the current allocation set `slot` aside (its record not
    /// read): false without a read while none is (most closes).
    #[inline(always)]
    fn marked_aside(&self, slot: u32) -> bool {
        self.aside_count != 0 && self.aside_marks.get(slot as usize) == Some(&self.stamp)
    }

    /// Drops `slot`'s set-aside mark: a write of its record (set, put,
    /// insert, removal) ends it, as when the mark was on the record. One
    /// untaken branch while no slot is set aside.
    #[inline(always)]
    fn unmark_aside(&mut self, slot: u32) {
        if self.aside_count != 0
            && let Some(m) = self.aside_marks.get_mut(slot as usize)
        {
            *m = 0;
        }
    }

    /// Sets `slot` (indexed) aside for the current allocation.
    pub(super) fn set_aside(&mut self, slot: u32) {
        debug_assert!(
            self.records[slot as usize].lots != 0,
            "Invariant: only an indexed slot is set aside"
        );
        let s = slot as usize;
        if self.aside_marks.len() <= s {
            self.aside_marks.resize(self.records.len().max(s + 1), 0);
        }
        if self.aside_marks[s] != self.stamp {
            self.aside_marks[s] = self.stamp;
            self.aside_count += 1;
        }
    }

    /// Keeps [`ProRataSide::min_equity_per_lot`] at most `e`'s. Divides only
    /// when it may lower it: `equity ≥ min × lots` (lots positive) implies
    /// `equity / lots ≥ min` whatever the signs, a product where the
    /// re-index of every fill divided (a winner's equity per lot grows as it
    /// loses lots, so the test almost always holds).
    fn lower_min_equity(&mut self, e: Entry) {
        let min = self.min_equity_per_lot;
        if min.checked_mul(e.lots).is_some_and(|m| e.equity >= m) {
            debug_assert!(
                e.equity_per_lot() >= min,
                "Invariant: the product test is the quotient's"
            );
            return;
        }
        self.min_equity_per_lot = min.min(e.equity_per_lot());
    }

    /// Whether a gap's loss per lot `loss` may cap an entry (some entry's
    /// equity per lot may be below it): false is exact, true may not be.
    pub(super) fn may_cap(&self, loss: i64) -> bool {
        let may = self.min_equity_per_lot < loss;
        // Checked on small indexes (a pass over every record).
        debug_assert!(
            may || self.records.len() > 1 << 16
                || self
                    .records
                    .iter()
                    .filter_map(|r| r.entry(self.offset))
                    .all(|e| e.equity_per_lot() >= loss),
            "Invariant: min_equity_per_lot is at most every entry's equity per lot"
        );
        may
    }

    /// Removes the entry of `slot`, if any.
    pub(super) fn remove(&mut self, slot: u32) {
        if let Some(e) = self.entry(slot) {
            self.kept -= 1;
            self.by_lots.remove(e.lots, slot);
            self.by_threshold
                .remove((e.threshold, slot), e.lots, &mut self.records[..]);
            if self.equity_indexed {
                self.by_equity.remove(e.equity_per_lot(), slot);
            }
        }
        self.unmark_aside(slot);
        self.records[slot as usize] = Record::EMPTY;
    }

    /// Indexes `slot` with entry `e`.
    pub(super) fn insert(&mut self, slot: u32, e: Entry) {
        self.lower_min_equity(e);
        // The record first: the threshold sums read its threshold.
        self.unmark_aside(slot);
        let r = self.record_of(e, NIL);
        self.records[slot as usize] = r;
        self.by_lots.insert(e.lots, slot);
        self.by_threshold
            .insert((e.threshold, slot), e.lots, &mut self.records[..]);
        if self.equity_indexed {
            self.by_equity.insert(e.equity_per_lot(), slot);
        }
        self.kept += 1;
    }

    /// Sets the entry of `slot` to `new` (`None`: out of the index), re-keying
    /// only the orders whose key changed: a winner filled keeps its account
    /// and usually its threshold, so most re-indexing is one `by_lots` move
    /// and a bucket sum update rather than three sorted-set moves. Inlined
    /// into the re-index of every fill, the entry replaced in place being
    /// the common case; the rest (in, out, neither) is [`ProRataSide::set_rare`].
    #[inline(always)]
    pub(super) fn set(&mut self, slot: u32, new: Option<Entry>) {
        let Record {
            lots,
            threshold,
            base,
            current,
            ..
        } = self.records[slot as usize];
        match new {
            Some(new) if lots != 0 => {
                // The record read once and written once, here (its
                // threshold sums' node kept; they move it if its bucket
                // changes).
                let offset = self.offset;
                self.unmark_aside(slot);
                let r = self.record_of(new, current);
                self.records[slot as usize] = r;
                // The old equity formed only where read (`by_equity` kept).
                self.replace(slot, (lots, threshold), new, || {
                    equity_of(lots, base, offset)
                });
            }
            _ => self.set_rare(slot, lots != 0, new),
        }
    }

    /// [`ProRataSide::set`] where `slot` was not indexed or leaves the index
    /// (`held`: it was).
    #[inline(never)]
    fn set_rare(&mut self, slot: u32, held: bool, new: Option<Entry>) {
        match (held, new) {
            (true, None) => self.remove(slot),
            (false, Some(new)) => self.insert(slot, new),
            _ => {}
        }
    }

    /// Replaces the entry of `slot` whose `(lots, threshold)` were `old`
    /// (and equity `old_equity()`, read only when `by_equity` is kept) by
    /// `new` in every order but the records (the caller has written
    /// `slot`'s).
    #[inline(always)]
    fn replace(
        &mut self,
        slot: u32,
        (lots, threshold): (i64, i64),
        new: Entry,
        old_equity: impl FnOnce() -> i64,
    ) {
        self.lower_min_equity(new);
        if lots != new.lots {
            self.by_lots.rekey_later(slot, lots, new.lots);
        }
        self.by_threshold.replace(
            (threshold, slot),
            lots,
            (new.threshold, slot),
            new.lots,
            &mut self.records[..],
        );
        if self.equity_indexed {
            let old_per_lot = old_equity() / lots;
            if old_per_lot != new.equity_per_lot() {
                self.by_equity
                    .rekey(slot, old_per_lot, new.equity_per_lot());
            }
        }
    }

    /// Builds `by_equity` from the entries if this step has not yet. The
    /// entries are read in slot order (one pass over the array, where the
    /// walk order read them at random: a cache miss each, ~5% of the
    /// 1,000,000-account crash); the buckets' lists are unordered, so the
    /// order of insertion changes no query's answer (its caller sorts).
    pub(super) fn index_equity(&mut self) {
        if self.equity_indexed {
            return;
        }
        self.by_equity.clear();
        for (s, r) in self.records.iter().enumerate() {
            if let Some(e) = r.entry(self.offset) {
                self.by_equity.insert(e.equity_per_lot(), s as u32);
            }
        }
        self.equity_indexed = true;
    }

    /// Makes the threshold sums answer a query at `x` fast: rebuilt from
    /// the records with a cut below `x` if `x` is below theirs (rare: the
    /// cut is made at each step's first query, below it by more than one
    /// step's spread of bankruptcy prices). The sums are the same either
    /// way; only their bucketing changes.
    pub(super) fn cover_threshold(&mut self, x: i64) {
        if self.by_threshold.covers(x) {
            return;
        }
        let entries: Vec<((i64, u32), i64)> = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.lots != 0)
            .map(|(s, r)| ((r.threshold, s as u32), r.lots))
            .collect();
        self.by_threshold
            .build(&entries, cut_below(x), &mut self.records[..]);
    }

    /// Reads the index's lines of `slot` that its re-index after a fill
    /// writes besides its record (the equity links, when kept): see
    /// `Engine::touch_pro_rata_winners`. The threshold sums' line of a slot
    /// is its record (the caller's `entry` read brings it in).
    pub(super) fn touch(&self, slot: u32) -> u64 {
        if self.equity_indexed {
            self.by_equity.touch(slot)
        } else {
            0
        }
    }

    /// Reads the line the walk will read of each slot of `keys` (its record:
    /// entry and threshold), in one pass so that their misses overlap.
    /// Reads only.
    fn touch_walk(&self, keys: &[u64]) {
        let mut x = 0u64;
        for &k in keys {
            let s = lots_and_slot(k).1 as usize;
            x ^= self.records.get(s).map_or(0, |r| r.lots as u64);
        }
        std::hint::black_box(x);
    }

    /// Reads the records of `slots` in one pass (their misses overlap).
    /// Reads only.
    pub(super) fn touch_records(&self, slots: impl Iterator<Item = u32>) {
        let mut x = 0u64;
        for s in slots {
            x ^= self.records.get(s as usize).map_or(0, |r| r.lots as u64);
        }
        std::hint::black_box(x);
    }

    /// Starts a new allocation's set-aside marks (`stamp`, never 0: the
    /// mark of a record never set aside).
    pub(super) fn next_stamp(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        self.aside_count = 0;
        if self.stamp == 0 {
            self.aside_marks.fill(0);
            self.stamp = 1;
        }
    }
}

/// Ascending runs [`sort_by_account`] merges before it falls back to the
/// comparison sort.
const FEW_RUNS: usize = 4;

/// [`sort_by_account`]'s buffers, kept between allocations, and what it
/// found: its sort keys (`slot << 32 | place in the list given`), sorted.
/// 8 bytes a winner, plus at most 4 for the merge: a buffer grows to the
/// largest close's winners and stays (the 1M `pro_rata` crash's peak).
#[derive(Default, Clone)]
pub(super) struct AccountSort {
    /// The sort keys, sorted after [`sort_by_account`] (their upper halves
    /// overwritten by the gather: only the places are kept).
    keys: Vec<u64>,
    /// [`sort_runs`]' merge buffer: the shorter of the two runs merged.
    merged: Vec<u64>,
}

impl AccountSort {
    /// After [`sort_by_account`]: for each entry of the sorted list, in
    /// order, its place in the list as given (the walk's order: see
    /// [`LotsOrder::expect_order`]).
    pub(super) fn places(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.iter().map(|&k| k as u32)
    }
}

/// Sorts an allocation's `(account, slot, lots)` list (distinct slots) by
/// account, then slot, keeping in `buf` where each entry came from
/// ([`AccountSort::places`]).
///
/// Slots are allocated in account order and an account's slots are
/// consecutive (`Ledger::open_account`), so (account, slot) order is slot
/// order: the list is sorted as `u64` keys `slot << 32 | place` (distinct;
/// one compare a pair, where the tuples' key closure was two) and gathered
/// in place ([`gather_in_place`]).
/// The walk meets the candidates by lots (largest first), then account:
/// its one-lot fills are one ascending run of accounts a lots value, and a
/// close fills its largest positions, which hold one to three values; the
/// whole shares (appended after them in `allocate`'s order of fractional
/// parts) and the capped candidates (merged into the walk) add a few more
/// runs at most. So the keys are a few ascending runs, merged two at a time
/// ([`sort_runs`]); more than [`FEW_RUNS`] go to the comparison sort. The
/// keys are distinct, so both give the one sorted order.
pub(super) fn sort_by_account(list: &mut [(u32, u32, i64)], buf: &mut AccountSort) {
    debug_assert!(
        u32::try_from(list.len()).is_ok(),
        "Invariant: a place fits the key's lower half"
    );
    buf.keys.clear();
    buf.keys.extend(
        list.iter()
            .enumerate()
            .map(|(i, c)| (u64::from(c.1) << 32) | i as u64),
    );
    if sort_runs(&mut buf.keys, &mut buf.merged) {
        gather_in_place(list, &mut buf.keys);
    }
    debug_assert!(
        list.is_sorted_by_key(|c| (c.0, c.1)),
        "Invariant: slot order is (account, slot) order"
    );
}

/// The upper half of a key [`gather_in_place`] has moved its row to.
const GATHERED: u64 = (u32::MAX as u64) << 32;

/// Puts `list[keys[j] as u32]` at `j` for every `j` (the keys' lower halves
/// are a permutation of `0..n`), in place: each cycle of the permutation
/// followed once, one row held aside. Marks each key done by setting its
/// upper half ([`GATHERED`]: no slot is `u32::MAX`, as `first_slot +
/// slot_count` fits a `u32`), which the caller no longer reads; the lower
/// halves (the places) stay. Where a gathered copy and a copy back held 16
/// bytes a winner more at the largest close.
fn gather_in_place(list: &mut [(u32, u32, i64)], keys: &mut [u64]) {
    for i in 0..keys.len() {
        if keys[i] >= GATHERED {
            continue;
        }
        let held = list[i];
        let mut j = i;
        loop {
            debug_assert!(keys[j] < GATHERED, "Invariant: a cycle meets each key once");
            let from = keys[j] as u32 as usize;
            keys[j] |= GATHERED;
            if from == i {
                list[j] = held;
                break;
            }
            list[j] = list[from];
            j = from;
        }
    }
}

/// Sorts `keys` (distinct): a list of up to [`FEW_RUNS`] ascending runs by
/// merging them two at a time ([`merge_runs`]), more by the comparison
/// sort. Returns whether the keys were out of order.
fn sort_runs(keys: &mut [u64], merged: &mut Vec<u64>) -> bool {
    // The end of each run but the last (the last ends at the list's end).
    let mut ends = [0usize; FEW_RUNS];
    let mut runs = 1;
    for i in 1..keys.len() {
        if keys[i] < keys[i - 1] {
            if runs == FEW_RUNS {
                keys.sort_unstable();
                return true;
            }
            ends[runs - 1] = i;
            runs += 1;
        }
    }
    if runs == 1 {
        return false;
    }
    ends[runs - 1] = keys.len();
    // `keys[..done]` is sorted; merge the next run into it.
    let mut done = ends[0];
    for &end in &ends[1..runs] {
        merge_runs(&mut keys[..end], done, merged);
        done = end;
    }
    debug_assert!(
        keys.is_sorted(),
        "Invariant: merging the ascending runs sorts the keys"
    );
    true
}

/// Merges `keys[..mid]` and `keys[mid..]` (each ascending, keys distinct)
/// in place, the shorter run copied to `merged` first: from the front when
/// it is the first (a write never passes the second's next read), from the
/// back when it is the second (likewise: the lots order's
/// [`lots_order::merge_back`]). One linear pass; the buffer holds at most
/// half the keys.
fn merge_runs(keys: &mut [u64], mid: usize, merged: &mut Vec<u64>) {
    merged.clear();
    let n = keys.len();
    if mid <= n - mid {
        merged.extend_from_slice(&keys[..mid]);
        let (mut i, mut j, mut k) = (0, mid, 0);
        while i < merged.len() && j < n {
            if keys[j] < merged[i] {
                keys[k] = keys[j];
                j += 1;
            } else {
                keys[k] = merged[i];
                i += 1;
            }
            k += 1;
        }
        // Whatever is left of the second run is in place already.
        keys[k..k + merged.len() - i].copy_from_slice(&merged[i..]);
    } else {
        merged.extend_from_slice(&keys[mid..]);
        lots_order::merge_back(keys, mid, merged);
    }
}

/// Keys the walk reads ahead: their records (entry and threshold: one
/// line) are loaded together before the first of them is looked at.
///
/// 64: at 1,000,000 accounts `push_ones`' share of the `pro_rata` crash's
/// samples fell from ~5.5% (16) to ~4.6% (32) and ~3.5% (64), 128 no
/// better, for +0.04% instructions at 100,000 accounts (the records read
/// ahead and never reached cost a load each, and overlap);
/// docs/performance.md, "Issue 14 after round 33".
const READ_AHEAD: usize = 64;

/// The indexed candidates at `x = side × price` in walk order (lots desc,
/// slot): those in profit and not set aside. Counts in `visited` the index
/// entries it reads (skipped ones included), one when it reads it: the
/// same count as a filter over [`LotsOrder::iter`].
///
/// The walk meets each position for the first time in the close (at
/// 1,000,000 accounts, a cache miss a position: its record). It copies the
/// keys [`READ_AHEAD`] at a time and reads their records in one tight loop
/// first, so that those misses overlap; the positions read ahead and not
/// reached cost a load each, nothing else (no count, no state). A struct
/// rather than a chain of adapters: the flattened blocks, the `take` and
/// the buffer's `get` cost ~120 M of `Option` tests in the 100,000-account
/// crash (round 21).
struct IndexedWalk<'a> {
    /// The side walked.
    side: &'a ProRataSide,
    /// `side × price`: a position is in profit iff its threshold is at most this.
    x: i64,
    /// The next key to copy.
    cursor: LotsCursor,
    /// The keys copied, `ahead[at..len]` not read yet.
    ahead: [u64; READ_AHEAD],
    /// The next key of `ahead` to read.
    at: usize,
    /// Keys in `ahead`.
    len: usize,
    /// Index entries read.
    visited: &'a Cell<u64>,
}

impl<'a> IndexedWalk<'a> {
    /// The walk of `side` at `x` from the order's start.
    fn new(side: &'a ProRataSide, x: i64, visited: &'a Cell<u64>) -> Self {
        IndexedWalk {
            side,
            x,
            cursor: LotsCursor::default(),
            ahead: [0; READ_AHEAD],
            at: 0,
            len: 0,
            visited,
        }
    }

    /// Copies the next keys and touches their records; false if none is left.
    fn refill(&mut self) -> bool {
        self.len = self
            .side
            .by_lots
            .read_keys(&mut self.cursor, &mut self.ahead);
        self.at = 0;
        self.side.touch_walk(&self.ahead[..self.len]);
        self.len > 0
    }
}

impl IndexedWalk<'_> {
    /// The next candidate as `(lots, account, slot)` (the body of `next`,
    /// inlined into [`Walk::push_ones`]' loop too).
    #[inline(always)]
    fn step(&mut self) -> Option<(i64, u32, u32)> {
        loop {
            if self.at >= self.len && !self.refill() {
                return None;
            }
            let k = self.ahead[self.at % READ_AHEAD];
            self.at += 1;
            self.visited.set(self.visited.get() + 1);
            let (lots, s) = lots_and_slot(k);
            // One line: the entry and its threshold (the set-aside mark read
            // only while some slot is set aside).
            debug_assert!(
                (s as usize) < self.side.records.len(),
                "Invariant: the lots order lists only slots the records hold"
            );
            let Some(r) = self.side.records.get(s as usize) else {
                continue;
            };
            if r.lots != 0 && r.threshold <= self.x && !self.side.marked_aside(s) {
                return Some((lots, r.account, s));
            }
        }
    }
}

impl Iterator for IndexedWalk<'_> {
    type Item = (i64, u32, u32);

    /// The next candidate as `(lots, account, slot)`.
    fn next(&mut self) -> Option<(i64, u32, u32)> {
        self.step()
    }
}

/// A walk's candidates `(lots, account, slot)` in walk order, and the one-lot
/// fills of the allocation's tail taken from it in one call.
trait Walk: Iterator<Item = (i64, u32, u32)> {
    /// Appends `(account, slot, 1)` for each of the next `n` candidates;
    /// returns how many (fewer: the walk ended).
    fn push_ones(&mut self, n: usize, out: &mut Vec<(u32, u32, i64)>) -> usize {
        let before = out.len();
        out.extend(self.take(n).map(|(_, account, slot)| (account, slot, 1)));
        out.len() - before
    }
}

impl Walk for IndexedWalk<'_> {
    /// One loop with the walk's step inlined, where a call a candidate
    /// cost ~18 instructions of calling alone (~2,500,000 one-lot fills in
    /// the 100,000-account crash).
    fn push_ones(&mut self, n: usize, out: &mut Vec<(u32, u32, i64)>) -> usize {
        out.reserve(n);
        let mut done = 0;
        while done < n {
            let Some((_, account, slot)) = self.step() else {
                break;
            };
            out.push((account, slot, 1));
            done += 1;
        }
        done
    }
}

/// A walk merged from adapters ([`merge_capped`]'s): the default one-lot
/// fills.
struct Merged<I>(I);

impl<I: Iterator<Item = (i64, u32, u32)>> Iterator for Merged<I> {
    type Item = (i64, u32, u32);

    /// The inner walk's next candidate.
    fn next(&mut self) -> Option<(i64, u32, u32)> {
        self.0.next()
    }
}

impl<I: Iterator<Item = (i64, u32, u32)>> Walk for Merged<I> {}

/// The capped candidates (`side.capped`, in walk order) merged into
/// `indexed`: the candidates at `x` in walk order (lots desc, account,
/// slot).
fn merge_capped<'a>(
    side: &'a ProRataSide,
    indexed: IndexedWalk<'a>,
) -> impl Iterator<Item = (i64, u32, u32)> + 'a {
    let mut indexed = indexed.peekable();
    let mut capped = side
        .capped
        .iter()
        .map(|c| (c.lots, c.account, c.slot))
        .peekable();
    std::iter::from_fn(move || match (indexed.peek(), capped.peek()) {
        (Some(&i), Some(&c)) => {
            if (Reverse(i.0), i.1, i.2) < (Reverse(c.0), c.1, c.2) {
                indexed.next()
            } else {
                capped.next()
            }
        }
        (Some(_), None) => indexed.next(),
        (None, _) => capped.next(),
    })
}

/// The allocation of `needed` lots over candidates holding `total > needed`
/// (`needed × total` below [`EXACT_LIMIT`]), as `allocate` rounds it, into
/// `out` as `(account, slot, lots)` in walk order, counting in `visited` the
/// index entries read; `scratch` holds the whole shares (kept between
/// closes: no allocation a close). Returns false if the walk ended with lots left (never under the
/// limit; the caller then falls back).
pub(super) fn pro_rata_shares(
    side: &ProRataSide,
    x: i64,
    needed: i64,
    total: i64,
    out: &mut Vec<(u32, u32, i64)>,
    scratch: &mut ShareScratch,
    visited: &Cell<u64>,
) -> bool {
    let indexed = IndexedWalk::new(side, x, visited);
    // No gap capped a position (the common case): the walk is the index's.
    if side.capped.is_empty() {
        shares_of_walk(indexed, needed, total, out, scratch)
    } else {
        let merged = Merged(merge_capped(side, indexed));
        shares_of_walk(merged, needed, total, out, scratch)
    }
}

/// [`pro_rata_shares`] over the candidates `walk` yields in walk order.
fn shares_of_walk(
    mut walk: impl Walk,
    needed: i64,
    total: i64,
    out: &mut Vec<(u32, u32, i64)>,
    scratch: &mut ShareScratch,
) -> bool {
    // The walk meets runs of equal lots (a levelled side: one run), whose
    // shares are the same numbers: computed once a run.
    let mut last = (0i64, 0i64, 0f64);
    let mut share_of = move |(lots, account, slot): (i64, u32, u32)| {
        if lots != last.0 {
            let s = needed as f64 * lots as f64 / total as f64;
            last = (lots, (s.floor() as i64).clamp(0, lots), s - s.floor());
        }
        Share {
            account,
            slot,
            lots,
            floor: last.1,
            frac: last.2,
        }
    };
    // The walk's next share, read and not used yet (`None`: not read, or
    // the walk ended): read only when needed, as the count of entries read
    // is the model's (`adl_evaluations`).
    let mut head: Option<Share> = None;
    // The shares of at least one lot: a prefix of the walk, kept in walk
    // order; `order` lists them in `allocate`'s order of fractional parts.
    let ShareScratch { whole, order } = scratch;
    whole.clear();
    loop {
        if head.is_none() {
            head = walk.next().map(&mut share_of);
        }
        match head {
            Some(s) if s.floor >= 1 => {
                whole.push((s, 0));
                head = None;
            }
            _ => break,
        }
    }
    let mut left = needed - whole.iter().map(|(s, _)| s.floor).sum::<i64>();
    order_by_fraction(whole, order);
    let mut w = 0;
    // The lots left, one each in `allocate`'s order: the merge of the whole
    // shares (by fractional part) and the rest of the walk (fractional part =
    // share, decreasing along the walk).
    let start = out.len();
    while left > 0 && w < order.len() {
        if head.is_none() {
            head = walk.next().map(&mut share_of);
        }
        let i = order[w] as usize;
        match head {
            Some(q) if !whole[i].0.before(&q) => {
                out.push((q.account, q.slot, 1));
                left -= 1;
                head = None;
            }
            _ => {
                let (s, extra) = &mut whole[i];
                if s.floor < s.lots {
                    *extra = 1;
                    left -= 1;
                }
                w += 1;
            }
        }
    }
    // The whole shares' extra lots all given: the rest of the walk takes one
    // lot each, in walk order (the merge above with no whole share left).
    if left > 0 && !fill_one_lot_each(&mut walk, head, left, out) {
        return false;
    }
    // The whole shares go first, in walk order (kept so: no sort back):
    // the walk met them before the one-lot fills, so the list is the
    // walk's order, which the lots order expects of the re-keys' old keys
    // (`LotsOrder::expect_order`; any order books the same, sorted by
    // account after).
    if !whole.is_empty() {
        out.splice(
            start..start,
            whole.iter().map(|(s, e)| (s.account, s.slot, s.floor + e)),
        );
    }
    true
}

/// Appends `(account, slot, 1)` for `head` (the share read and not used,
/// if any) and the next candidates of `walk`, `left` in all; false if the
/// walk ends first (the caller then falls back).
fn fill_one_lot_each(
    walk: &mut impl Walk,
    head: Option<Share>,
    left: i64,
    out: &mut Vec<(u32, u32, i64)>,
) -> bool {
    let Ok(mut left) = usize::try_from(left) else {
        return false;
    };
    if let Some(s) = head {
        out.push((s.account, s.slot, 1));
        left -= 1;
    }
    left == 0 || walk.push_ones(left, out) == left
}

/// Writes to `order` the places of `whole` (shares with their extra lot,
/// 0 yet) in `allocate`'s order of fractional parts ([`Share::before`]):
/// indexes sorted, the shares left in walk order.
fn order_by_fraction(whole: &[(Share, i64)], order: &mut Vec<u32>) {
    debug_assert!(
        u32::try_from(whole.len()).is_ok(),
        "Invariant: a share's place fits a u32"
    );
    order.clear();
    order.extend(0..whole.len() as u32);
    order.sort_unstable_by(|&p, &q| {
        if whole[p as usize].0.before(&whole[q as usize].0) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn candidate(account: u32, slot: u32, lots: i64) -> AdlCandidate {
        AdlCandidate {
            account,
            slot,
            lots,
            pnl: 1.0,
            entry_value: lots as f64,
            notional: lots as f64,
            equity: 1.0,
            wallet: 0.0,
            maintenance: 0.0,
            loss_per_lot: 0.0,
            lot_value: 1.0,
        }
    }

    /// A built side of `slots` slots and no entry (orders empty and whole).
    pub(super) fn empty_side(slots: usize) -> ProRataSide {
        let mut side = ProRataSide::default();
        side.clear_entries(slots);
        side.build_threshold_sums(&[], 0);
        side.by_lots.build(&[]);
        side.built(0);
        side
    }

    /// A side built from `(account, slot, lots, threshold)` entries (equity
    /// 0), cut at `x = 0`: the entries, the threshold sums and the lots order.
    pub(super) fn indexed_side(entries: &[(u32, u32, i64, i64)]) -> ProRataSide {
        let mut side = ProRataSide::default();
        side.clear_entries(entries.len());
        side.next_stamp();
        let (mut by_threshold, mut by_lots) = (Vec::new(), Vec::new());
        for &(account, slot, lots, threshold) in entries {
            let e = Entry {
                account,
                lots,
                threshold,
                equity: 0,
            };
            side.put_entry(slot, e);
            by_lots.push((lots, slot));
            by_threshold.push(((threshold, slot), lots));
        }
        side.build_threshold_sums(&by_threshold, 0);
        side.by_lots.build(&by_lots);
        side.built(entries.len());
        side
    }

    /// A random side: `(account, slot, lots, threshold, capped lots)`; the
    /// positions with `threshold ≤ 0` are in profit at `x = 0`.
    fn side_of(rows: &[(u32, u32, i64, i64, Option<i64>)]) -> (ProRataSide, i64) {
        let entries: Vec<_> = rows.iter().map(|&(a, s, l, t, _)| (a, s, l, t)).collect();
        let mut side = indexed_side(&entries);
        for &(_, slot, ..) in rows {
            side.by_equity.insert(0, slot);
        }
        let mut total = side.threshold_total() - side.lots_above(0);
        for &(account, slot, lots, threshold, capped) in rows {
            if let (Some(c), true) = (capped, threshold <= 0) {
                side.set_aside(slot);
                total += c - lots;
                if c > 0 {
                    side.capped.push(candidate(account, slot, c));
                }
            }
        }
        side.capped
            .sort_unstable_by_key(|c| (Reverse(c.lots), c.account, c.slot));
        (side, total)
    }

    /// The threshold memo gives what its computation gives for the lots and
    /// cost asked, whatever was kept before: positions changed (lots, cost,
    /// both, a flip of side) or left alone at random, against a plain
    /// recomputation; a kept threshold is returned without computing.
    #[test]
    fn threshold_memo_is_the_computation() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut side = ProRataSide::default();
        side.size_thresholds(40);
        let f = |lots: i64, cost: i64| cost.wrapping_mul(31) ^ lots.wrapping_mul(7);
        let mut pos: Vec<(i64, i64)> = (0..40).map(|_| (rng.random_range(-5..6), 0)).collect();
        for round in 0..4000 {
            let s = rng.random_range(0..40usize);
            match rng.random_range(0..4) {
                0 => pos[s].0 = rng.random_range(-5..6),
                1 => pos[s].1 = rng.random_range(-3..4),
                2 => pos[s] = (-pos[s].0, pos[s].1),
                _ => {}
            }
            let (lots, cost) = pos[s];
            if lots == 0 {
                continue;
            }
            let computed = Cell::new(false);
            let got = side.threshold_of(s as u32, lots, cost, || {
                computed.set(true);
                f(lots, cost)
            });
            assert_eq!(got, f(lots, cost), "round {round}");
            // Asked again unchanged: kept (debug builds compute it once more
            // to check it, and only then).
            let calls = Cell::new(0usize);
            let again = side.threshold_of(s as u32, lots, cost, || {
                calls.set(calls.get() + 1);
                f(lots, cost)
            });
            assert_eq!(again, got, "round {round}");
            assert_eq!(
                calls.get(),
                usize::from(cfg!(debug_assertions)),
                "round {round}: recomputed"
            );
        }
        // Grown: the kept entries stay.
        let kept = side.thresholds[..40].to_vec();
        side.size_thresholds(80);
        assert!(
            kept.iter()
                .zip(&side.thresholds)
                .all(|(a, b)| a.lots == b.lots && a.cost == b.cost && a.threshold == b.threshold)
        );
    }

    /// Shifts raise the offset alone (no record written) while the bounds
    /// fit, and every read and write goes through it; a shift the bounds
    /// may not take (an entry near `i64::MAX` once written) re-bases
    /// (offset 0, every record's equity written) and shifts one by one,
    /// after which the bounds are the records' again; an entry whose
    /// `lots × offset` overflows is written modulo `2^64`, read back
    /// exactly, and makes the next shift re-base.
    #[test]
    fn offset_accumulates_and_rebases() {
        let e = |s: u32, lots: i64, equity: i64| Entry {
            account: s,
            lots,
            threshold: 0,
            equity,
        };
        let equity = |side: &ProRataSide, s: u32| side.entry(s).map(|e| e.equity);
        let shift = |side: &mut ProRataSide, per_lot: i64| {
            let min = side.min_equity_per_lot;
            side.start_keep(0);
            side.shift_records(per_lot, false, min)
        };
        let mut side = empty_side(3);
        side.insert(0, e(0, 2, 100));
        side.insert(1, e(1, 3, 7));
        for step in 1..=100 {
            assert!(shift(&mut side, 5));
            assert_eq!(side.offset, 5 * step);
        }
        assert_eq!(
            (equity(&side, 0), equity(&side, 1)),
            (Some(1_100), Some(1_507))
        );
        assert_eq!((side.records[0].base, side.records[1].base), (100, 7));
        assert!(small(side.wide));
        assert_eq!(side.min_equity_per_lot, 502);
        side.set(2, Some(e(2, 1, 1_000)));
        assert_eq!((side.records[2].base, equity(&side, 2)), (500, Some(1_000)));
        side.set(2, Some(e(2, 1, i64::MAX - 10)));
        assert_eq!(equity(&side, 2), Some(i64::MAX - 10));
        side.set(2, None);
        assert!(shift(&mut side, 20));
        assert_eq!(side.offset, 0, "a big entry refused the raise: re-based");
        assert_eq!((side.records[0].base, side.records[1].base), (1_140, 1_567));
        assert_eq!(side.min_equity_per_lot, 522);
        assert!(shift(&mut side, OFFSET_MAX));
        assert_eq!(side.offset, OFFSET_MAX, "no big entry left: raised");
        assert!(shift(&mut side, 1));
        assert_eq!(side.offset, 0, "past OFFSET_MAX: re-based");
        assert!(shift(&mut side, 1 << 37));
        side.set(2, Some(e(2, 1 << 40, 9)));
        assert_eq!(side.offset, 1 << 37, "lots × offset wrapped: no re-base");
        assert!(!small(side.wide));
        let t = OFFSET_MAX + 1 + (1 << 37);
        let want = [1_140 + 2 * t, 1_567 + 3 * t, 9];
        for s in 0..3 {
            assert_eq!(equity(&side, s), Some(want[s as usize]));
        }
        assert!(shift(&mut side, 1));
        assert_eq!(side.offset, 0, "a wide entry refused the raise: re-based");
        assert_eq!(side.records[2].base, 9 + (1 << 40));
        for s in 0..3 {
            let lots = [2, 3, 1 << 40][s as usize];
            assert_eq!(equity(&side, s), Some(want[s as usize] + lots));
        }
    }

    /// The least equity per lot kept through the product test is the least
    /// quotient of the entries written, extremes included.
    #[test]
    fn min_equity_per_lot_is_the_least_quotient() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        for case in 0..2000 {
            let mut side = ProRataSide::default();
            side.clear_entries(0);
            let mut want = i64::MAX;
            for _ in 0..rng.random_range(1..20) {
                let lots = match rng.random_range(0..3) {
                    0 => rng.random_range(1..4),
                    1 => rng.random_range(1..i64::MAX),
                    _ => rng.random_range(1..1000),
                };
                let equity = match rng.random_range(0..3) {
                    0 => rng.random_range(0..i64::MAX),
                    _ => rng.random_range(0..1_000_000),
                };
                let e = Entry {
                    account: 0,
                    lots,
                    threshold: 0,
                    equity,
                };
                side.lower_min_equity(e);
                want = want.min(e.equity_per_lot());
                assert_eq!(side.min_equity_per_lot, want, "case {case}");
            }
        }
    }

    /// A record is one 32-byte line, and its set-aside mark holds for one
    /// allocation only: a new stamp releases every slot, the stamp's wrap
    /// included; re-indexing a slot keeps no mark, and the entry read back
    /// is the one written.
    #[test]
    fn set_aside_marks_last_one_allocation() {
        assert_eq!(std::mem::size_of::<Record>(), 32);
        assert_eq!(std::mem::align_of::<Record>(), 32);
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut side = ProRataSide::default();
        side.clear_entries(64);
        side.build_threshold_sums(&[], 0);
        side.by_lots.build(&[]);
        side.next_stamp();
        let mut held: Vec<Option<Entry>> = vec![None; 64];
        let mut aside = [false; 64];
        for round in 0..5000 {
            if round == 2000 {
                // Jump to the wrap: the next stamp is 0, then 1 again.
                side.stamp = u32::MAX - 1;
                aside.fill(false);
            }
            if rng.random_bool(0.2) {
                side.next_stamp();
                aside.fill(false);
            }
            let s = rng.random_range(0..64u32);
            match rng.random_range(0..3) {
                0 => {
                    let e = Entry {
                        account: s / 2,
                        lots: rng.random_range(1..100),
                        threshold: rng.random_range(-50..50),
                        equity: rng.random_range(1..1000),
                    };
                    side.set(s, Some(e));
                    held[s as usize] = Some(e);
                    aside[s as usize] = false;
                }
                1 => {
                    side.set(s, None);
                    held[s as usize] = None;
                    aside[s as usize] = false;
                }
                _ => {
                    if held[s as usize].is_some() {
                        side.set_aside(s);
                        aside[s as usize] = true;
                    }
                }
            }
            for t in 0..64u32 {
                let got = side
                    .entry(t)
                    .map(|e| (e.account, e.lots, e.threshold, e.equity));
                let want = held[t as usize].map(|e| (e.account, e.lots, e.threshold, e.equity));
                assert_eq!(got, want, "round {round} slot {t}");
                assert_eq!(
                    side.is_set_aside(t),
                    aside[t as usize],
                    "round {round} slot {t}"
                );
            }
        }
    }

    /// `sort_by_account` sorts as the comparison sort does: lists of one to
    /// [`FEW_RUNS`] + 2 ascending runs (the merges, and the fallback past
    /// [`FEW_RUNS`]), runs of one entry, empty and single lists, and lists
    /// in no order; the buffer passed in holding anything.
    #[test]
    fn sort_by_account_is_the_comparison_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let mut tmp = AccountSort::default();
        for case in 0..20_000 {
            let mut slots: Vec<u32> = (0..rng.random_range(0..150u32))
                .map(|_| rng.random_range(0..400))
                .collect();
            slots.sort_unstable();
            slots.dedup();
            let n = slots.len();
            // Cut into runs, each ascending, laid out in a random order.
            let mut list: Vec<(u32, u32, i64)> = Vec::new();
            if rng.random_bool(0.1) {
                list = slots.iter().map(|&s| (s / 3, s, 1)).collect();
                for i in (1..n).rev() {
                    list.swap(i, rng.random_range(0..=i));
                }
            } else {
                let runs = rng.random_range(1..FEW_RUNS + 3);
                let mut parts: Vec<Vec<u32>> = vec![Vec::new(); runs];
                for &s in &slots {
                    parts[rng.random_range(0..runs)].push(s);
                }
                for i in (1..runs).rev() {
                    parts.swap(i, rng.random_range(0..=i));
                }
                for p in parts {
                    list.extend(p.iter().map(|&s| (s / 3, s, i64::from(s % 7))));
                }
            }
            if rng.random_bool(0.3) {
                tmp.keys = (0..rng.random_range(0..200))
                    .map(|_| rng.random())
                    .collect();
                tmp.merged = (0..rng.random_range(0..200))
                    .map(|_| rng.random())
                    .collect();
            }
            let given = list.clone();
            let mut want = list.clone();
            want.sort_unstable_by_key(|c| (c.0, c.1));
            sort_by_account(&mut list, &mut tmp);
            assert_eq!(list, want, "case {case}");
            let from: Vec<_> = tmp.places().map(|i| given[i as usize]).collect();
            assert_eq!(from, want, "case {case}: the places");
        }
    }

    /// On random sides (few sizes and accounts: ties in shares and accounts
    /// are common; some positions out of profit, some capped; some walks
    /// of many read-aheads), the index's allocation is
    /// `allocate`'s on every candidate in account order; with nothing
    /// capped, it comes in the lots order's (whole shares first).
    #[test]
    fn index_allocation_is_allocate_s_on_every_candidate() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // Kept across cases, as the side keeps it across closes.
        let mut scratch = ShareScratch::default();
        for case in 0..3000 {
            let n = if case % 4 == 0 {
                rng.random_range(50..200u32)
            } else {
                rng.random_range(1..50u32)
            };
            let rows: Vec<(u32, u32, i64, i64, Option<i64>)> = (0..n)
                .map(|slot| {
                    let lots = if rng.random_bool(0.1) {
                        rng.random_range(1..2000)
                    } else {
                        rng.random_range(1..7)
                    };
                    let capped = rng.random_bool(0.15).then(|| rng.random_range(0..lots));
                    // Slots of one account are consecutive, as in the ledger.
                    (slot / 2, slot, lots, rng.random_range(-3..2), capped)
                })
                .collect();
            let (side, total) = side_of(&rows);
            let mut all: Vec<AdlCandidate> = rows
                .iter()
                .filter(|r| r.3 <= 0 && r.4 != Some(0))
                .map(|r| candidate(r.0, r.1, r.4.unwrap_or(r.2)))
                .collect();
            assert_eq!(
                all.iter().map(|c| c.lots).sum::<i64>(),
                total,
                "case {case}"
            );
            if total < 2 {
                continue;
            }
            let needed = rng.random_range(1..total);
            let mut want = Vec::new();
            let mut r = ChaCha8Rng::seed_from_u64(0);
            adl::allocate(&AdlPolicy::ProRata, &mut all, needed, &mut r, &mut want);
            let want: Vec<(u32, u32, i64)> = want
                .iter()
                .map(|&(i, l)| (all[i].account, all[i].slot, l))
                .collect();
            let mut got = Vec::new();
            assert!(
                pro_rata_shares(
                    &side,
                    0,
                    needed,
                    total,
                    &mut got,
                    &mut scratch,
                    &Cell::new(0)
                ),
                "case {case}"
            );
            // In walk order (the lots order's, when nothing is capped).
            if side.capped.is_empty() {
                let walk_key =
                    |c: &(u32, u32, i64)| (Reverse(side.entry(c.1).map_or(0, |e| e.lots)), c.1);
                assert!(got.is_sorted_by_key(walk_key), "case {case}: walk order");
            }
            got.sort_unstable();
            assert_eq!(got, want, "case {case}: needed {needed} of {total}");
        }
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::venue::adl::{self, AdlPolicy};

    /// `allocate`'s fills on the candidates of the side `side_of` builds
    /// from `rows` (`(account, slot, lots, in profit at 0)`), as
    /// `(account, slot, lots)` sorted.
    fn allocate_s(rows: &[(u32, u32, i64, bool)], needed: i64) -> Vec<(u32, u32, i64)> {
        let mut all: Vec<AdlCandidate> = rows
            .iter()
            .filter(|r| r.3)
            .map(|r| AdlCandidate {
                account: r.0,
                slot: r.1,
                lots: r.2,
                pnl: 1.0,
                entry_value: r.2 as f64,
                notional: r.2 as f64,
                equity: 1.0,
                wallet: 0.0,
                maintenance: 0.0,
                loss_per_lot: 0.0,
                lot_value: 1.0,
            })
            .collect();
        let mut want = Vec::new();
        let mut r = ChaCha8Rng::seed_from_u64(0);
        adl::allocate(&AdlPolicy::ProRata, &mut all, needed, &mut r, &mut want);
        let mut want: Vec<(u32, u32, i64)> = want
            .iter()
            .map(|&(i, l)| (all[i].account, all[i].slot, l))
            .collect();
        want.sort_unstable();
        want
    }

    /// The side of `rows` (nothing capped) and its candidates' lots.
    fn side_of(rows: &[(u32, u32, i64, bool)]) -> (ProRataSide, i64) {
        let entries: Vec<_> = rows
            .iter()
            .map(|&(a, s, l, profit)| (a, s, l, if profit { -1 } else { 1 }))
            .collect();
        let side = super::tests::indexed_side(&entries);
        let total = rows.iter().filter(|r| r.3).map(|r| r.2).sum();
        (side, total)
    }

    /// Rows from `(lots, in profit)` pairs: slot `i`, two slots an account
    /// (consecutive, as in the ledger).
    fn rows_of(spec: &[(i64, bool)]) -> Vec<(u32, u32, i64, bool)> {
        spec.iter()
            .enumerate()
            .map(|(i, &(l, p))| (i as u32 / 2, i as u32, l, p))
            .collect()
    }

    /// A run of keys ascending from `from`, `len` of them, steps of 1 to 3.
    fn ascending(from: u64, steps: &[u64]) -> Vec<u64> {
        let mut at = from;
        steps
            .iter()
            .map(|s| {
                at += s;
                at
            })
            .collect()
    }

    /// One change to a side under [`offset_side_is_the_plain_records`]:
    /// a slot's entry set (`(lots, threshold, equity)`, `None`: out), every
    /// entry's equity shifted by its lots times a per-lot amount (a
    /// pass-free build), or a kept build's pass writing every entry again.
    #[derive(Clone, Debug)]
    enum Op {
        /// Slot (modulo the slots) and its new entry.
        Set(usize, Option<(i64, i64, i64)>),
        /// Equity per lot added to every entry.
        Shift(i64),
        /// A kept build's pass (every entry written again).
        Pass,
    }

    /// An entry's `(lots, threshold, equity)`: small values (ties) and
    /// large ones (products with the offset near or past `i64`).
    fn entry_spec() -> impl Strategy<Value = (i64, i64, i64)> {
        (
            prop_oneof![1i64..=4, 1i64..1 << 31],
            -2i64..=2,
            prop_oneof![1i64..=1_000, 1i64..1 << 50, (i64::MAX / 2)..i64::MAX],
        )
    }

    /// A random [`Op`]: shifts mostly small (the offset accumulates), some
    /// large enough to force a re-base or to overflow.
    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0usize..12, proptest::option::of(entry_spec())).prop_map(|(s, e)| Op::Set(s, e)),
            4 => prop_oneof![0i64..=50, 0i64..1 << 30, (1i64 << 40)..i64::MAX].prop_map(Op::Shift),
            1 => Just(Op::Pass),
        ]
    }

    /// Slot `s`'s entry of `(lots, threshold, equity)` (its own account).
    fn entry_at(s: usize, spec: Option<(i64, i64, i64)>) -> Option<Entry> {
        spec.map(|(lots, threshold, equity)| Entry {
            account: s as u32,
            lots,
            threshold,
            equity,
        })
    }

    /// A kept build's pass writing `model`'s entries over `side`, as
    /// `Engine::keep_pro_rata` does (cut at 0).
    fn pass(side: &mut ProRataSide, model: &[Option<Entry>]) {
        side.start_keep(0);
        for (s, &e) in model.iter().enumerate() {
            side.keep_entry(s as u32, e);
        }
        let slots: Vec<u32> = (0..model.len() as u32).collect();
        side.end_keep(&slots, 0);
    }

    /// The plain shift of `model`'s entries by `lots × per_lot`, checked
    /// (`None`: some entry overflows).
    fn plain_shift(model: &[Option<Entry>], per_lot: i64) -> Option<Vec<Option<Entry>>> {
        model
            .iter()
            .map(|e| match e {
                None => Some(None),
                Some(e) => {
                    let equity = e.lots.checked_mul(per_lot)?.checked_add(e.equity)?;
                    Some(Some(Entry { equity, ..*e }))
                }
            })
            .collect()
    }

    /// One change or query under [`merged_line_side_is_the_plain_model`].
    #[derive(Clone, Debug)]
    enum LineOp {
        /// Slot (modulo the slots) and its new `(lots, threshold)` (`None`:
        /// out): a put, a re-key (within or across the cut and the
        /// buckets) or a removal.
        Set(usize, Option<(i64, i64)>),
        /// A slot set aside (if held) by the current allocation.
        Aside(usize),
        /// A new allocation (every mark dropped).
        Stamp,
        /// Many re-keys of one slot above the cut (the threshold sums'
        /// stale nodes compacted), ending at the given key.
        Churn(usize, (i64, i64)),
        /// A kept build's pass writing these slots' new entries and the
        /// rest unchanged (few: moved one by one; many: the orders built
        /// again from the records).
        Pass(Vec<(usize, Option<(i64, i64)>)>),
        /// The threshold sums cut below this price if it is below theirs.
        Cover(i64),
    }

    /// A slot's `(lots, threshold)`: few lots values (ties in the walk),
    /// thresholds around the cut at 0 (below, at, above).
    fn line_spec() -> impl Strategy<Value = (i64, i64)> {
        (1i64..=5, -8i64..=8)
    }

    /// A random [`LineOp`].
    fn line_op() -> impl Strategy<Value = LineOp> {
        prop_oneof![
            6 => (0usize..16, proptest::option::of(line_spec())).prop_map(|(s, e)| LineOp::Set(s, e)),
            2 => (0usize..16).prop_map(LineOp::Aside),
            1 => Just(LineOp::Stamp),
            1 => (0usize..16, line_spec()).prop_map(|(s, e)| LineOp::Churn(s, e)),
            1 => proptest::collection::vec((0usize..16, proptest::option::of(line_spec())), 0..6)
                .prop_map(LineOp::Pass),
            1 => (-12i64..4).prop_map(LineOp::Cover),
        ]
    }

    /// Slot `s`'s entry of `(lots, threshold)` (two slots an account).
    fn line_entry(s: usize, spec: Option<(i64, i64)>) -> Option<Entry> {
        spec.map(|(lots, threshold)| Entry {
            account: s as u32 / 2,
            lots,
            threshold,
            equity: 1_000,
        })
    }

    /// The plain model's answers at `x` against the side's: Σ lots, Σ lots
    /// above `x`, the keys up to `x`, the set-aside marks, and the walk
    /// (in profit at `x`, not set aside, lots desc then slot).
    fn check_lines(
        side: &mut ProRataSide,
        model: &std::collections::BTreeMap<(i64, u32), i64>,
        aside: &std::collections::BTreeSet<u32>,
        x: i64,
    ) -> Result<(), TestCaseError> {
        side.by_lots.flush();
        side.debug_check_lines();
        prop_assert_eq!(side.threshold_total(), model.values().sum::<i64>());
        let above: i64 = model.iter().filter(|(k, _)| k.0 > x).map(|(_, l)| l).sum();
        prop_assert_eq!(side.lots_above(x), above);
        let mut up: Vec<(i64, u32)> = side.keys_up_to(x).collect();
        up.sort_unstable();
        let want_up: Vec<(i64, u32)> = model.keys().filter(|k| k.0 <= x).copied().collect();
        prop_assert_eq!(up, want_up);
        for s in 0..side.records.len() as u32 {
            prop_assert_eq!(side.is_set_aside(s), aside.contains(&s), "slot {}", s);
        }
        let mut want: Vec<(i64, u32, u32)> = model
            .iter()
            .filter(|(k, _)| k.0 <= x && !aside.contains(&k.1))
            .map(|(k, &l)| (l, k.1 / 2, k.1))
            .collect();
        want.sort_unstable_by_key(|c| (Reverse(c.0), c.2));
        let walk: Vec<_> = IndexedWalk::new(side, x, &Cell::new(0)).collect();
        prop_assert_eq!(walk, want);
        Ok(())
    }

    proptest! {
        /// The side whose records hold the threshold sums' per-slot line
        /// (threshold and current node) and whose set-aside marks are off
        /// the records answers as a plain model, a map `(threshold, slot)
        /// → lots` with a set of marked slots: random puts, re-keys across
        /// the cut and the buckets, removals, marks, new allocations,
        /// churns that compact the sums' nodes, kept passes (moves and
        /// rebuilds) and re-cuts, each followed by queries at several
        /// prices (below, at and above the cut).
        #[test]
        fn merged_line_side_is_the_plain_model(
            ops in proptest::collection::vec(line_op(), 1..60),
            xs in proptest::collection::vec(-10i64..10, 3),
        ) {
            use std::collections::{BTreeMap, BTreeSet};
            let n = 16;
            let mut side = super::tests::empty_side(n);
            side.next_stamp();
            let mut held: Vec<Option<Entry>> = vec![None; n];
            let mut aside: BTreeSet<u32> = BTreeSet::new();
            for op in ops {
                match op {
                    LineOp::Set(s, e) => {
                        held[s] = line_entry(s, e);
                        side.set(s as u32, held[s]);
                        aside.remove(&(s as u32));
                    }
                    LineOp::Aside(s) => {
                        if held[s].is_some() {
                            side.set_aside(s as u32);
                            aside.insert(s as u32);
                        }
                    }
                    LineOp::Stamp => {
                        side.next_stamp();
                        aside.clear();
                    }
                    LineOp::Churn(s, e) => {
                        for k in 0..1200i64 {
                            let t = 1 + (k % 7);
                            side.set(s as u32, line_entry(s, Some((1 + k % 3, t))));
                        }
                        held[s] = line_entry(s, Some(e));
                        side.set(s as u32, held[s]);
                        aside.remove(&(s as u32));
                    }
                    LineOp::Pass(changes) => {
                        for (s, e) in changes {
                            held[s] = line_entry(s, e);
                        }
                        pass(&mut side, &held);
                        aside.clear();
                    }
                    LineOp::Cover(x) => side.cover_threshold(x),
                }
                let model: BTreeMap<(i64, u32), i64> = held
                    .iter()
                    .enumerate()
                    .filter_map(|(s, e)| e.map(|e| ((e.threshold, s as u32), e.lots)))
                    .collect();
                for &x in xs.iter().chain([-1, 0].iter()) {
                    check_lines(&mut side, &model, &aside, x)?;
                }
            }
        }

        /// The shares with kept buffers are `allocate`'s, on two sides in
        /// turn with one scratch (the second meets the first's leftovers):
        /// few lots values (ties in shares and fractional parts), sides
        /// with large positions (whole shares), `needed` from 1 to all but
        /// one lot; the list comes whole shares first, in walk order.
        #[test]
        fn shares_with_kept_buffers_are_allocate_s(
            a in prop::collection::vec((prop_oneof![1i64..4, 1i64..400], any::<bool>()), 1..90),
            b in prop::collection::vec((prop_oneof![1i64..4, 1i64..400], any::<bool>()), 1..90),
            na in any::<u64>(),
            nb in any::<u64>(),
        ) {
            let mut scratch = ShareScratch::default();
            for (spec, n) in [(a, na), (b, nb)] {
                let rows = rows_of(&spec);
                let (side, total) = side_of(&rows);
                if total < 2 {
                    continue;
                }
                let needed = 1 + (n % (total as u64 - 1)) as i64;
                let mut got = Vec::new();
                prop_assert!(pro_rata_shares(
                    &side, 0, needed, total, &mut got, &mut scratch, &Cell::new(0)
                ));
                let walk_key = |c: &(u32, u32, i64)| (Reverse(side.entry(c.1).map_or(0, |e| e.lots)), c.1);
                prop_assert!(got.is_sorted_by_key(walk_key));
                got.sort_unstable();
                prop_assert_eq!(got, allocate_s(&rows, needed));
            }
        }

        /// With positions set aside and capped (a gap: [`merge_capped`]),
        /// the shares are still `allocate`'s on the capped lots, and the
        /// walk is the plain one: the filter over [`LotsOrder::iter`]
        /// merged with the capped list, its count of entries read after
        /// each candidate the place of that candidate in the order plus one
        /// (ties in lots between capped and indexed ones included).
        #[test]
        fn capped_walk_and_shares_are_the_plain_ones(
            spec in prop::collection::vec(
                (prop_oneof![1i64..4, 1i64..60], any::<bool>(), prop::option::of(0i64..4)),
                1..90,
            ),
            n in any::<u64>(),
        ) {
            let rows = rows_of(&spec.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>());
            let (mut side, mut total) = side_of(&rows);
            side.next_stamp();
            let mut plain_rows = Vec::new();
            for (r, s) in rows.iter().zip(&spec) {
                let (Some(c), true) = (s.2, r.3) else {
                    plain_rows.push(*r);
                    continue;
                };
                let c = c.min(r.2);
                side.set_aside(r.1);
                total += c - r.2;
                plain_rows.push((r.0, r.1, c, c > 0));
                if c > 0 {
                    side.capped.push(AdlCandidate {
                        account: r.0, slot: r.1, lots: c, pnl: 1.0,
                        entry_value: c as f64, notional: c as f64, equity: 1.0,
                        wallet: 0.0, maintenance: 0.0, loss_per_lot: 0.0, lot_value: 1.0,
                    });
                }
            }
            side.capped.sort_unstable_by_key(|c| (Reverse(c.lots), c.account, c.slot));
            // The walk against the plain filter and sort.
            let order: Vec<(i64, u32)> = side.by_lots.iter().collect();
            let visited = Cell::new(0);
            let mut want: Vec<(i64, u32, u32)> = Vec::new();
            for (p, &(l, s)) in order.iter().enumerate() {
                let r = &side.records[s as usize];
                if r.lots != 0 && r.threshold <= 0 && !side.is_set_aside(s) {
                    let c = (l, r.account, s);
                    let mut walk = IndexedWalk::new(&side, 0, &visited);
                    visited.set(0);
                    prop_assert_eq!(walk.nth(want.len()), Some(c));
                    prop_assert_eq!(visited.get(), p as u64 + 1);
                    want.push(c);
                }
            }
            let mut walk = IndexedWalk::new(&side, 0, &visited);
            visited.set(0);
            prop_assert_eq!(walk.by_ref().count(), want.len());
            prop_assert_eq!(walk.next(), None);
            prop_assert_eq!(visited.get(), order.len() as u64);
            want.extend(side.capped.iter().map(|c| (c.lots, c.account, c.slot)));
            want.sort_unstable_by_key(|c| (Reverse(c.0), c.1, c.2));
            let merged: Vec<_> = merge_capped(&side, IndexedWalk::new(&side, 0, &visited)).collect();
            prop_assert_eq!(merged, want);
            // The shares.
            if total >= 2 {
                let needed = 1 + (n % (total as u64 - 1)) as i64;
                let mut got = Vec::new();
                let mut scratch = ShareScratch::default();
                prop_assert!(pro_rata_shares(
                    &side, 0, needed, total, &mut got, &mut scratch, &Cell::new(0)
                ));
                got.sort_unstable();
                prop_assert_eq!(got, allocate_s(&plain_rows, needed));
            }
        }

        /// The in-place merge of two ascending runs (either one the
        /// shorter, either one empty, equal lengths) is the sort, whatever
        /// the buffer held.
        #[test]
        fn merge_runs_is_the_sort(
            a in prop::collection::vec(1u64..4, 0..60),
            b in prop::collection::vec(1u64..4, 0..60),
            from_a in 0u64..40,
            from_b in 0u64..40,
            junk in prop::collection::vec(any::<u64>(), 0..80),
        ) {
            let (ra, rb) = (ascending(from_a, &a), ascending(from_b + 1000, &b));
            // Distinct keys: the second run's interleave with the first's by
            // their low bits.
            let rb: Vec<u64> = rb.iter().map(|k| (k - 1000) * 2 + 1).collect();
            let ra: Vec<u64> = ra.iter().map(|k| k * 2).collect();
            let mut keys = ra.clone();
            keys.extend_from_slice(&rb);
            let mut want = keys.clone();
            want.sort_unstable();
            let mut merged = junk;
            merge_runs(&mut keys, ra.len(), &mut merged);
            prop_assert_eq!(keys, want);
        }

        /// `sort_by_account` (runs merged in place, rows gathered in place
        /// by the permutation's cycles) is the comparison sort and gives
        /// each row's place: lists of distinct slots cut into up to
        /// [`FEW_RUNS`] + 2 runs laid out in any order, or shuffled.
        #[test]
        fn sort_by_account_in_place_is_the_comparison_sort(
            slots in prop::collection::btree_set(0u32..5000, 0..200),
            run_of in prop::collection::vec(0usize..FEW_RUNS + 2, 200),
            shuffle in prop::collection::vec(any::<u32>(), 200),
            keys_junk in prop::collection::vec(any::<u64>(), 0..50),
        ) {
            let mut parts: Vec<Vec<(u32, u32, i64)>> = vec![Vec::new(); FEW_RUNS + 2];
            for (i, &s) in slots.iter().enumerate() {
                parts[(run_of[i] + shuffle[0] as usize) % (FEW_RUNS + 2)].push((s / 3, s, i64::from(s % 7)));
            }
            let mut list: Vec<(u32, u32, i64)> = parts.concat();
            if shuffle[1] % 4 == 0 {
                for i in (1..list.len()).rev() {
                    list.swap(i, shuffle[i] as usize % (i + 1));
                }
            }
            let mut buf = AccountSort { keys: keys_junk.clone(), merged: keys_junk };
            let given = list.clone();
            let mut want = list.clone();
            want.sort_unstable_by_key(|c| (c.0, c.1));
            sort_by_account(&mut list, &mut buf);
            prop_assert_eq!(&list, &want);
            let from: Vec<_> = buf.places().map(|i| given[i as usize]).collect();
            prop_assert_eq!(from, want);
        }

        /// A side whose records hold equity less `lots × offset` reads as
        /// the plain records shifted one by one: random sets (in, out,
        /// replaced), shifts (the offset raised, re-based when its bound
        /// may overflow, or an overflow that the caller's pass repairs) and
        /// kept passes; every entry read equals the plain one, and
        /// `min_equity_per_lot` is at most every entry's quotient (equal
        /// after a pass, which writes every entry afresh).
        #[test]
        fn offset_side_is_the_plain_records(
            start in proptest::collection::vec(proptest::option::of(entry_spec()), 1..12),
            ops in proptest::collection::vec(op(), 0..40),
        ) {
            let n = start.len();
            let mut model: Vec<Option<Entry>> =
                start.iter().enumerate().map(|(s, &e)| entry_at(s, e)).collect();
            let mut side = super::tests::empty_side(n);
            pass(&mut side, &model);
            for op in ops {
                let is_pass = matches!(op, Op::Pass);
                match op {
                    Op::Set(s, e) => {
                        let s = s % n;
                        model[s] = entry_at(s, e);
                        side.set(s as u32, model[s]);
                    }
                    Op::Shift(per_lot) => {
                        let min_before = side.min_equity_per_lot;
                        side.start_keep(0);
                        let shifted = side.shift_records(per_lot, false, min_before);
                        let want = plain_shift(&model, per_lot);
                        prop_assert_eq!(shifted, want.is_some());
                        match want {
                            Some(w) => model = w,
                            // The caller's fallback: the pass, at the old equities.
                            None => pass(&mut side, &model),
                        }
                    }
                    Op::Pass => pass(&mut side, &model),
                }
                let got: Vec<Option<Entry>> = (0..n as u32).map(|s| side.entry(s)).collect();
                prop_assert_eq!(&got, &model);
                let least = model.iter().flatten().map(Entry::equity_per_lot).min();
                prop_assert!(least.is_none_or(|m| side.min_equity_per_lot <= m));
                if is_pass {
                    prop_assert_eq!(side.min_equity_per_lot, least.unwrap_or(i64::MAX));
                }
            }
        }
    }
}
