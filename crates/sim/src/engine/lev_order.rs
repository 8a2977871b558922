//! The leverage order of one (market, side) for `min_max_leverage`
//! (`adl_lev_side.rs`, `adl_min_max.rs`): the keys in [`LevKey`] order,
//! highest leverage first, held so that a key landing deep in the order costs
//! a push, not a cold B-tree leaf.
//!
//! Closes read the order from its top, and a winner a close fills comes back
//! a lot lower (one lot of a few dozen): at venue scale it lands a median of
//! ~75,000 keys below the top of a ~400,000-key order (docs/performance.md,
//! "`min_max_leverage`, round 5") and is not read again for thousands of
//! closes. So the order is split by the keys' f64 leverage (`LevKey`'s
//! quotient, which orders keys whose quotients differ exactly as the exact
//! rationals do) into ranges:
//!
//! - `near`, every key whose quotient is at least `floor`, the lower bound of
//!   the ranges pulled so far, sorted in a `VecDeque`: the top of the order,
//!   where the reads happen (a few hundred keys, so in cache). A pull appends
//!   its keys at the back, a filled winner leaves near the front (a deque
//!   moves the shorter side), and a key read from it is known to be there by
//!   one comparison with `floor`;
//! - `far`, one unsorted bucket per range below, in chunks of a shared pool,
//!   the lowest range first and the next to pull last (a pull pops and pushes
//!   at the end, moving nothing else): an insertion there is a binary search
//!   of the ranges' bounds (a small array) and a push.
//!
//! A read that runs past the end of `near` pulls the next non-empty range: its
//! keys are placed by bucket of their quotients and cut into ranges of about
//! [`RANGE_KEYS`] keys at the buckets' ends, the first of which is sorted and
//! goes into `near` (each key at its end) and the others, unsorted, back into
//! `far` (the winners a wave fills pile up just below the top, so a range
//! may have grown far beyond its size at the build). Every key of `near`
//! comes before every key of `far` (its quotient is higher), and within a
//! range the order is the exact one, so reading `near` and pulling ranges in
//! turn gives the keys in exactly the order a single `BTreeSet` would.
//!
//! A key without an f64 quotient (an amount of 2^53 µUSD or more) has no
//! range: the first one sends every range to `near`, which then holds the
//! whole order until the next build.

use std::collections::VecDeque;

use super::lev_key::LevKey;

/// Keys per range when a range is cut (the build, a pull).
const RANGE_KEYS: usize = 512;

/// When `near` holds more than this many ranges' worth of keys, its lower
/// part goes back into `far` as one range ([`LevOrder::trim_near`]).
const NEAR_MAX_RANGES: usize = 2;

/// What a trim of `near` keeps, in ranges' worth of keys (the reads of a
/// close take a few hundred keys from its top).
const NEAR_KEEP_RANGES: usize = 1;

/// Up to this many cells of a build's histogram per key
/// ([`LevOrder::build_with`]; at most [`MAX_BUILD_CELLS`]).
const CELLS_PER_KEY: usize = 4;

/// At most this many cells in a build's histogram: ranges are runs of
/// whole cells, and the keys' quotients span many binades while most sit in
/// a few (at 2^16 cells over 27 binades a cell spans 0.03% of a quotient;
/// with 2^10 cells per 10,000 keys, round 13's first try, the crash's
/// densest cells held over a range's worth each).
const MAX_BUILD_CELLS: usize = 1 << 16;

/// A build's ranges hold at most this many quarters of [`RANGE_KEYS`]
/// (but for a cell that holds more): a quicksort's cuts, as the build made
/// before its cells, left 256-512 keys a range (round 13 measured 4/4 and
/// 3/4 against it).
const BUILD_FILL: usize = 3;

/// A build's cell whose keys go to `near`.
const TOP_CELL: u32 = u32::MAX;

/// Keys per chunk of the far buckets' pool.
const CHUNK: usize = 32;

/// No chunk.
const NONE: u32 = u32::MAX;

/// At most this many cells in the guide to the far ranges' bounds.
const MAX_CELLS: u64 = 1 << 14;

/// The guide's finest cells: a quotient's f64 bits shifted right by this
/// (2^8 cells per binade).
const FINEST_SHIFT: u32 = 44;

/// A far range's keys: a list of chunks of the pool, all full but the last.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    head: u32,
    tail: u32,
    len: u32,
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        head: NONE,
        tail: NONE,
        len: 0,
    };
}

/// One (market, side)'s keys in leverage order (see the module's doc).
#[derive(Clone)]
pub(super) struct LevOrder {
    /// The keys of the ranges pulled so far, in order (the top first).
    near: VecDeque<LevKey>,
    /// Lower bound of the quotients in `near`: a key with a quotient is in
    /// `near` iff its quotient is at least this (+∞ before the first pull,
    /// −∞ once every range is pulled).
    floor: f64,
    /// Lower bound of each far range's quotients, strictly increasing, the
    /// first −∞: range `i` holds the quotients in `[bounds[i], bounds[i + 1])`
    /// (`[bounds[i], floor)` for the last, the next to pull).
    bounds: Vec<f64>,
    /// Per far range, its keys in no order.
    far: Vec<Bucket>,
    /// Keys in `far`.
    far_len: usize,
    /// Keys per range when one is cut.
    range_keys: usize,
    /// The far buckets' chunks: chunk `c` is `pool[c × CHUNK..][..CHUNK]`.
    pool: Vec<LevKey>,
    /// Per chunk, the next of its bucket.
    next: Vec<u32>,
    /// Chunks not in any bucket.
    free: Vec<u32>,
    /// A pulled range's keys (kept for its capacity).
    pulled_keys: Vec<LevKey>,
    /// A pulled range's cuts: (end, lower bound) of each new range.
    cuts: Vec<(usize, f64)>,
    /// The build's histogram: per cell of the keys' quotients
    /// ([`BuildCells`]), its keys, then the range it goes to (kept for its
    /// capacity: the build allocates nothing once the order has its size).
    cells: Vec<u32>,
    /// The build's ranges, top first: `(lowest cell, keys)`.
    groups: Vec<(usize, usize)>,
    /// Per far range, where the build writes its next key in `pool`.
    cursors: Vec<usize>,
    /// Per far range, the bits of the build's lowest quotient in it.
    lowest: Vec<u64>,
    /// The guide to `bounds` (see [`Guide`]).
    guide: Guide,
    /// The buffers of the sorts and selections by quotient.
    by_quotient: QuotientSort,
    /// A batch's places in `near` ([`LevOrder::merge_near`]; kept for
    /// its capacity).
    near_at: Vec<usize>,
    /// Keys for `near` not yet in it ([`LevOrder::insert_later`]).
    later: Vec<LevKey>,
}

/// Where to start looking in the far ranges' bounds for a quotient: the
/// positive quotients cut into cells by their f64 bits (positive f64s order
/// as their bits do), cell `c` holding those whose bits shifted right by
/// `shift` are `base + c`; per cell, the range holding its lowest value. The
/// range of a quotient is then that of its cell or one a few bounds above it,
/// found by stepping up the bounds (a cell is narrower than most ranges),
/// instead of a binary search of all of them (a dependent chain of ten loads
/// for each key a sync pushes into `far`).
///
/// The bounds change only at their end (a pull pops the range it pulls and
/// pushes the ranges it cuts, all above the popped range's lower bound), so
/// a pull rewrites only the cells from that bound up to the new floor; a cell
/// above the floor is never read (a far key is below it) until a pull brings
/// the floor back over it and rewrites it. Quotients outside the cells (or
/// without any) take the binary search.
#[derive(Clone, Default)]
struct Guide {
    /// Per cell, the far range of its lowest value.
    first: Vec<u32>,
    /// The f64 bits of a cell's lowest value, shifted right by `shift`, of
    /// cell 0.
    base: u64,
    /// The cells' width in f64 bits (a power of two).
    shift: u32,
}

impl Default for LevOrder {
    fn default() -> Self {
        LevOrder {
            near: VecDeque::new(),
            floor: f64::INFINITY,
            bounds: vec![f64::NEG_INFINITY],
            far: vec![Bucket::EMPTY],
            far_len: 0,
            range_keys: RANGE_KEYS,
            pool: Vec::new(),
            next: Vec::new(),
            free: Vec::new(),
            pulled_keys: Vec::new(),
            cuts: Vec::new(),
            cells: Vec::new(),
            groups: Vec::new(),
            cursors: Vec::new(),
            lowest: Vec::new(),
            guide: Guide::default(),
            by_quotient: QuotientSort::default(),
            near_at: Vec::new(),
            later: Vec::new(),
        }
    }
}

impl LevOrder {
    /// Replaces the order by `keys` (any order, no two equal; left in no
    /// particular order).
    pub(super) fn build(&mut self, keys: &mut [LevKey]) {
        self.build_with(keys, RANGE_KEYS);
    }

    /// [`LevOrder::build`] with ranges of at most about `range_keys` keys
    /// (at least 1).
    ///
    /// Only the top range is sorted, and nothing is compared but its keys:
    /// the keys are counted into cells of their quotients' bits
    /// ([`BuildCells`], up to [`MAX_BUILD_CELLS`]), runs of whole cells
    /// from the top make the ranges (at most [`BUILD_FILL`] quarters of
    /// `range_keys` keys each but for a cell that holds more; each range's
    /// bound its lowest quotient, as before), and each far key is written
    /// straight into its range's chunks of the pool (a counting sort by
    /// range: three passes over the keys; a far range is unsorted until it
    /// is pulled, and most of a step's order is never read before the next
    /// step's build).
    fn build_with(&mut self, keys: &mut [LevKey], range_keys: usize) {
        self.range_keys = range_keys.max(1);
        self.near.clear();
        self.bounds.clear();
        self.far.clear();
        self.far_len = 0;
        self.pool.clear();
        self.next.clear();
        self.free.clear();
        self.floor = f64::NEG_INFINITY;
        self.guide.first.clear();
        #[cfg(debug_assertions)]
        {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            debug_assert!(
                sorted.windows(2).all(|w| w[0] < w[1]),
                "Invariant: the keys of a leverage order are distinct"
            );
        }
        if keys.iter().any(|k| k.ratio().is_nan()) {
            keys.sort_unstable();
            self.near.extend(keys.iter().copied());
            return;
        }
        let Some(grid) = BuildCells::over(keys) else {
            return;
        };
        self.cells.clear();
        self.cells.resize(grid.len, 0);
        for k in keys.iter() {
            self.cells[grid.cell(k)] += 1;
        }
        self.group_cells();
        self.lay_out_far(keys.len());
        self.scatter(keys, &grid);
        self.debug_check_bounds();
        self.build_guide();
    }

    /// Cuts the build's cells (their key counts in `cells`) into ranges,
    /// top first, into `groups`: whole cells, at most [`BUILD_FILL`]
    /// quarters of `range_keys` keys a range but for a single cell holding
    /// more.
    fn group_cells(&mut self) {
        self.groups.clear();
        let fill = self.range_keys * BUILD_FILL / 4;
        let mut len = 0;
        for (c, &n) in self.cells.iter().enumerate().rev() {
            let n = n as usize;
            if len > 0 && len + n > fill {
                self.groups.push((c + 1, len));
                len = 0;
            }
            len += n;
        }
        // Cell 0 holds the lowest key: the last range is not empty.
        self.groups.push((0, len));
    }

    /// The far ranges of the build's `groups` (all but the top, which goes
    /// to `near`), lowest first, each given its chunks of the pool in one
    /// run and a lower bound (−∞ until [`LevOrder::scatter`] sets each but
    /// the lowest's to its lowest quotient); then each cell's entry of
    /// `cells` becomes the far range of its keys ([`TOP_CELL`] for the top
    /// range's). `keys`: the keys built.
    fn lay_out_far(&mut self, keys: usize) {
        let ranges = self.groups.len() - 1;
        self.cursors.clear();
        let mut chunk = 0usize;
        for r in 0..ranges {
            let (_, len) = self.groups[ranges - r];
            let chunks = len.div_ceil(CHUNK);
            self.far.push(Bucket {
                head: chunk as u32,
                tail: (chunk + chunks - 1) as u32,
                len: len as u32,
            });
            // The lowest range's bound is −∞; `scatter` sets the others'
            // to their lowest quotients.
            self.bounds.push(f64::NEG_INFINITY);
            self.next
                .extend((chunk + 1..chunk + chunks).map(|c| c as u32).chain([NONE]));
            self.cursors.push(chunk * CHUNK);
            chunk += chunks;
        }
        self.far_len = keys - self.groups[0].1;
        let mut high = self.cells.len();
        for (g, &(low, _)) in self.groups.iter().enumerate() {
            let label = if g == 0 {
                TOP_CELL
            } else {
                (ranges - g) as u32
            };
            self.cells[low..high].fill(label);
            high = low;
        }
    }

    /// Writes each far key of `keys` at its range's cursor in the pool, and
    /// the top range's keys, sorted, into `near` (the layout of
    /// [`LevOrder::lay_out_far`]).
    fn scatter(&mut self, keys: &[LevKey], grid: &BuildCells) {
        let Some(&fill) = keys.first() else {
            return;
        };
        self.pool.resize(self.next.len() * CHUNK, fill);
        let mut top = std::mem::take(&mut self.pulled_keys);
        top.clear();
        // Per far range, its lowest quotient's bits so far.
        self.lowest.clear();
        self.lowest.resize(self.far.len(), u64::MAX);
        for k in keys {
            let r = self.cells[grid.cell(k)];
            if r == TOP_CELL {
                top.push(*k);
            } else {
                let r = r as usize;
                let at = &mut self.cursors[r];
                self.pool[*at] = *k;
                *at += 1;
                self.lowest[r] = self.lowest[r].min(k.ratio().to_bits());
            }
        }
        // Each range's bound is its lowest quotient (but the lowest
        // range's, −∞), the floor the top range's, as a pull leaves them.
        for (b, &low) in self.bounds.iter_mut().zip(&self.lowest).skip(1) {
            *b = f64::from_bits(low);
        }
        if !self.far.is_empty() {
            self.floor = top.iter().map(|k| k.ratio()).fold(f64::INFINITY, f64::min);
        }
        debug_assert!(
            self.far
                .iter()
                .zip(&self.cursors)
                .all(|(b, &at)| at == b.head as usize * CHUNK + b.len as usize),
            "Invariant: a build fills each far range's chunks with its keys"
        );
        self.by_quotient.sort(&mut top, None);
        self.near.extend(top.iter().copied());
        self.pulled_keys = top;
    }

    /// Debug builds: the far ranges' bounds increase, one per range, up to
    /// `near`'s floor (what a build and a pull leave).
    fn debug_check_bounds(&self) {
        debug_assert!(
            self.bounds.len() == self.far.len()
                && self.bounds.windows(2).all(|w| w[0] < w[1])
                && self
                    .bounds
                    .last()
                    .is_none_or(|&b| b < self.floor || self.floor == f64::NEG_INFINITY),
            "Invariant: the far ranges' bounds increase up to near's floor"
        );
    }

    /// Lays the guide's cells over the far ranges' bounds as a build leaves
    /// them: from the lowest finite bound to the floor, as fine as
    /// [`MAX_CELLS`] allows.
    fn build_guide(&mut self) {
        self.guide.first.clear();
        let (Some(&low), true) = (self.bounds.get(1), self.floor.is_finite()) else {
            return;
        };
        if !(low > 0.0 && self.floor >= low) {
            return;
        }
        let (lo, hi) = (low.to_bits(), self.floor.to_bits());
        let mut shift = FINEST_SHIFT;
        while (hi >> shift) - (lo >> shift) + 1 > MAX_CELLS {
            shift += 1;
        }
        self.guide.shift = shift;
        self.guide.base = lo >> shift;
        let cells = ((hi >> shift) - (lo >> shift) + 1) as usize;
        self.guide.first.resize(cells, 0);
        self.fill_guide(0, 0);
    }

    /// Rewrites the guide's cells from `cell` up to the floor's, stepping up
    /// the bounds from `from` (a range whose lower bound is at most the
    /// lowest value of `cell`).
    fn fill_guide(&mut self, cell: usize, from: usize) {
        let g = &mut self.guide;
        let mut i = from;
        for c in cell..g.first.len() {
            let start = f64::from_bits((g.base + c as u64) << g.shift);
            if start >= self.floor {
                break;
            }
            i = step_up(&self.bounds, i, start);
            g.first[c] = i as u32;
        }
    }

    /// After a pull of the range with lower bound `lower`, which is now far
    /// range `at` if the pull cut it (else `at` is past the last): the
    /// guide's cells whose lowest value is at least `lower`, up to the floor.
    fn refresh_guide(&mut self, lower: f64, at: usize) {
        let g = &self.guide;
        if g.first.is_empty() || at >= self.bounds.len() {
            return;
        }
        let cell = if lower > 0.0 {
            let c = (lower.to_bits() >> g.shift).saturating_sub(g.base);
            let start = f64::from_bits((g.base + c) << g.shift);
            if start < lower { c + 1 } else { c }
        } else {
            0
        };
        if let Ok(cell) = usize::try_from(cell) {
            self.fill_guide(cell, at);
        }
    }

    /// Keys in the order.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.near.len() + self.far_len
    }

    /// The far range of quotient `r` (below `floor`): from its cell of the
    /// guide, stepping up the bounds, or by a binary search of them.
    #[inline]
    fn range_of(&self, r: f64) -> usize {
        debug_assert!(r < self.floor, "Invariant: a far key is below near's floor");
        let g = &self.guide;
        let c = (r.to_bits() >> g.shift).wrapping_sub(g.base);
        let i = match g.first.get(c as usize) {
            Some(&first) if r > 0.0 => step_up(&self.bounds, first as usize, r),
            _ => self.bounds.partition_point(|&b| b <= r) - 1,
        };
        debug_assert!(
            i == self.bounds.partition_point(|&b| b <= r) - 1,
            "Invariant: the guide finds the range a search of the bounds does"
        );
        i
    }

    /// Adds `k` (not in the order).
    pub(super) fn insert(&mut self, k: LevKey) {
        let r = k.ratio();
        if r.is_nan() {
            self.pull_all();
            self.insert_near(k);
            return;
        }
        if r >= self.floor {
            self.insert_near(k);
            if self.near.len() > NEAR_MAX_RANGES * self.range_keys {
                self.trim_near();
            }
        } else {
            let i = self.range_of(r);
            debug_assert!(
                !self.bucket_holds(i, k.slot),
                "Invariant: a slot has one key in the leverage order"
            );
            self.push(i, k);
        }
    }

    /// Adds `k` (not in the order, nor in the keys waiting): at once if it
    /// goes to `far` (or has no quotient), else at the next
    /// [`LevOrder::flush_later`], which must come before the order is read
    /// or changed otherwise. A close's winners whose new keys land in `near`
    /// are then merged into it in one pass where that moves fewer keys than
    /// one `VecDeque::insert` each (docs/performance.md, "`min_max_leverage`
    /// winners put back in one merge, round 21").
    ///
    /// A key below `floor` is pushed into its far range here, inline, as
    /// [`LevOrder::insert`] would (most of a close's winners land there:
    /// the call of `insert`, with its saved registers, was ~15 of the ~80
    /// instructions of each; docs/performance.md, "`min_max_leverage`
    /// per-close work, round 22").
    #[inline]
    pub(super) fn insert_later(&mut self, k: LevKey) {
        let r = k.ratio();
        if r >= self.floor {
            self.later.push(k);
        } else if r < self.floor {
            // Not NaN: `insert`'s far path.
            let i = self.range_of(r);
            debug_assert!(
                !self.bucket_holds(i, k.slot),
                "Invariant: a slot has one key in the leverage order"
            );
            self.push(i, k);
        } else {
            self.insert(k);
        }
    }

    /// Adds the keys [`LevOrder::insert_later`] kept to `near`, sorted,
    /// in one batch ([`LevOrder::merge_near`]), then trims `near` as
    /// [`LevOrder::insert`] does. The same set as inserting each key, so the
    /// same order read.
    pub(super) fn flush_later(&mut self) {
        if self.later.is_empty() {
            return;
        }
        let mut keys = std::mem::take(&mut self.later);
        keys.sort_unstable();
        self.merge_near(&keys);
        keys.clear();
        self.later = keys;
        if self.near.len() > NEAR_MAX_RANGES * self.range_keys {
            self.trim_near();
        }
    }

    /// Adds `keys` (sorted, each at least `floor`, none in `near`) to
    /// `near`: one `VecDeque::insert` each at its place found once, or one
    /// merge from the nearer end of the deque when that moves fewer keys.
    fn merge_near(&mut self, keys: &[LevKey]) {
        let n = self.near.len();
        let mut at = std::mem::take(&mut self.near_at);
        at.clear();
        for k in keys {
            let from = self.near_place(k);
            debug_assert!(
                self.near.get(from) != Some(k),
                "Invariant: a key enters the leverage order once"
            );
            at.push(from);
        }
        let each: usize = at
            .iter()
            .enumerate()
            .map(|(j, &p)| (p + j).min(n + j - p))
            .sum();
        match (at.first(), at.last()) {
            (Some(&first), Some(&last)) if last.min(n - first) + self.wrapped() < each => {
                if last <= n - first {
                    self.merge_front(keys, &at);
                } else {
                    self.merge_back(keys, &at);
                }
            }
            _ => {
                for (j, (&k, &p)) in keys.iter().zip(&at).enumerate() {
                    self.near.insert(p + j, k);
                }
            }
        }
        self.near_at = at;
    }

    /// Keys `VecDeque::make_contiguous` may move: the shorter of `near`'s
    /// two parts when it wraps around its buffer.
    fn wrapped(&self) -> usize {
        let (a, b) = self.near.as_slices();
        a.len().min(b.len())
    }

    /// Merges sorted `keys`, key `j` before `near`'s key `at[j]`, by moving
    /// the keys of `near` up to the last place forward: `near` grows at its
    /// front and each run between two places moves once.
    fn merge_front(&mut self, keys: &[LevKey], at: &[usize]) {
        let m = keys.len();
        keys.iter().rev().for_each(|&k| self.near.push_front(k));
        let s = self.near.make_contiguous();
        let mut start = 0;
        for (j, (&k, &p)) in keys.iter().zip(at).enumerate() {
            s.copy_within(start + m..p + m, start + j);
            s[p + j] = k;
            start = p;
        }
        debug_assert!(
            s.windows(2).all(|w| w[0] < w[1]),
            "Invariant: near is sorted after a merge"
        );
    }

    /// Merges sorted `keys`, key `j` before `near`'s key `at[j]`, by moving
    /// the keys of `near` from the first place backward: `near` grows at its
    /// back and each run between two places moves once.
    fn merge_back(&mut self, keys: &[LevKey], at: &[usize]) {
        let n = self.near.len();
        self.near.extend(keys.iter().copied());
        let s = self.near.make_contiguous();
        let mut end = n;
        for (j, (&k, &p)) in keys.iter().zip(at).enumerate().rev() {
            s.copy_within(p..end, p + j + 1);
            s[p + j] = k;
            end = p;
        }
        debug_assert!(
            s.windows(2).all(|w| w[0] < w[1]),
            "Invariant: near is sorted after a merge"
        );
    }

    /// Removes `k`; whether it was there.
    pub(super) fn remove(&mut self, k: &LevKey) -> bool {
        let r = k.ratio();
        if r.is_nan() || r >= self.floor {
            let p = self.near.partition_point(|x| x < k);
            if self.near.get(p) != Some(k) {
                return false;
            }
            self.near.remove(p);
            return true;
        }
        let i = self.range_of(r);
        self.remove_from(i, k)
    }

    /// Removes the keys of `slots`, every one of them in `near` and given in
    /// order, in one pass over the front of `near` up to the last of them:
    /// the keys a close read and filled or parked sit there, and one pass
    /// costs less than a binary search of `near` for each.
    ///
    /// A key is found by its slot, not by comparing keys (its f64 quotient,
    /// NaN tests and `Option<Ordering>`: ~60% of this pass's instructions,
    /// and the caller made each key again, a division a winner;
    /// docs/performance.md, "`min_max_leverage`, round 19"). Exact: a slot
    /// has one key in the order, so the key of `slot` found from `r` on is
    /// the one to remove, and each slot given is found (asserted) when they
    /// come in the order's order, as the keys read from its top do.
    pub(super) fn remove_read(&mut self, slots: impl IntoIterator<Item = u32>) {
        debug_assert!(self.later.is_empty(), "Invariant: no key waits for near");
        // The deque's two slices scanned directly: indexing the deque per
        // key (its wrap-around and bounds check) was ~70% of this pass
        // (docs/performance.md, "`min_max_leverage` per-close work, round
        // 22").
        let (a, b) = self.near.as_mut_slices();
        let (mut w, mut r) = (0, 0);
        for slot in slots {
            // Most often the key at `r` (the winners of a close sit one
            // after the other at the top).
            let found = if slot_at(a, b, r) == Some(slot) {
                Some(r)
            } else {
                find_slot(a, b, r, slot)
            };
            debug_assert!(
                found.is_some(),
                "Invariant: the keys a close takes out of the leverage order are in its top, in order"
            );
            let Some(p) = found else {
                break;
            };
            // The keys kept before `p` move up over the ones taken out
            // (none moves while none is taken out).
            if w == r {
                w = p;
            } else {
                for src in r..p {
                    let k = *two_slices_at(a, b, src);
                    *two_slices_at(a, b, w) = k;
                    w += 1;
                }
            }
            r = p + 1;
        }
        if w < r {
            self.near.drain(w..r);
        }
    }

    /// `near`'s keys, top first, as the deque's two slices.
    #[inline]
    pub(super) fn near_slices(&self) -> (&[LevKey], &[LevKey]) {
        self.near.as_slices()
    }

    /// Removes the first `m` keys of `near` (at most its length): what
    /// [`LevOrder::remove_read`] does for the slots of those keys, in order.
    pub(super) fn remove_front(&mut self, m: usize) {
        debug_assert!(self.later.is_empty(), "Invariant: no key waits for near");
        debug_assert!(
            m <= self.near.len(),
            "Invariant: the keys taken from the front of near are in it"
        );
        self.near.drain(..m);
    }

    /// Moves the keys of `near` below its first [`NEAR_KEEP_RANGES`]
    /// ranges' worth (and below every key sharing the lowest quotient of
    /// those) back into `far`, as one range above the others (the next to
    /// pull), and raises the floor to the lowest quotient kept. A winner's
    /// key that lands in `near` is an insertion into a sorted `VecDeque`,
    /// which moves the keys on its shorter side: `near` only grows through
    /// a step as the reads pull ranges (its keys below the top are never
    /// read before the next build but for the deepest closes), so those
    /// moves grew with it (docs/performance.md, "`min_max_leverage`, round
    /// 14"). Nothing is trimmed once every range is pulled (the floor at
    /// −∞: keys without a quotient may be in `near`).
    fn trim_near(&mut self) {
        let keep = NEAR_KEEP_RANGES * self.range_keys;
        if self.floor == f64::NEG_INFINITY || keep == 0 || self.near.len() <= keep {
            return;
        }
        let cut = self.near[keep - 1].ratio();
        let mut end = keep;
        while end < self.near.len() && self.near[end].ratio() == cut {
            end += 1;
        }
        if end == self.near.len() {
            return;
        }
        let lower = self.floor;
        debug_assert!(
            self.near
                .range(end..)
                .all(|k| k.ratio() >= lower && k.ratio() < cut),
            "Invariant: the keys trimmed from near lie between its floor and the quotient kept"
        );
        self.far.push(Bucket::EMPTY);
        self.bounds.push(lower);
        let i = self.far.len() - 1;
        let mut moved = std::mem::take(&mut self.pulled_keys);
        moved.clear();
        moved.extend(self.near.drain(end..));
        self.push_all(i, &moved);
        self.pulled_keys = moved;
        self.floor = cut;
        self.refresh_guide(lower, i);
        self.debug_check_bounds();
    }

    /// The place of `k` in `near`: how many of its keys come before `k`.
    ///
    /// When `near` holds only keys with a quotient (its floor above −∞:
    /// a key without one sends every range to `near` and the floor to −∞),
    /// the binary search compares quotients alone, and only the keys that
    /// share `k`'s quotient are compared whole: keys whose quotients differ
    /// are ordered by them (as [`LevKey`]'s order does), so those above
    /// `k`'s come first, then the run of equal ones, in which the keys
    /// before `k` are a prefix. The whole comparison in the search (its NaN
    /// tests and `Option<Ordering>`) cost ~260 instructions a key merged.
    fn near_place(&self, k: &LevKey) -> usize {
        let r = k.ratio();
        if r.is_nan() || self.floor == f64::NEG_INFINITY {
            return self.near.partition_point(|x| x < k);
        }
        debug_assert!(
            self.near.iter().all(|x| !x.ratio().is_nan()),
            "Invariant: near holds keys without a quotient only once its floor is -inf"
        );
        let above = self.near.partition_point(|x| x.ratio() > r);
        let p = above
            + self
                .near
                .range(above..)
                .take_while(|x| x.ratio() == r && *x < k)
                .count();
        debug_assert!(
            p == self.near.partition_point(|x| x < k),
            "Invariant: the search by quotient finds the place the whole keys' search does"
        );
        p
    }

    /// Adds `k` (not in the order) to `near`, in its place.
    fn insert_near(&mut self, k: LevKey) {
        let p = self.near_place(&k);
        debug_assert!(
            self.near.get(p) != Some(&k),
            "Invariant: a key enters the leverage order once"
        );
        self.near.insert(p, k);
    }

    /// Appends to `out` the next keys in order after `after` (from the top
    /// if `None`) that `skip` does not reject, until `want` of them; fewer
    /// only at the end of the order. Returns the last key it went past
    /// (`after` if none), to hand back as `after` for the keys that follow.
    pub(super) fn read_after(
        &mut self,
        after: Option<LevKey>,
        want: usize,
        skip: impl Fn(&LevKey) -> bool,
        out: &mut Vec<LevKey>,
    ) -> Option<LevKey> {
        debug_assert!(self.later.is_empty(), "Invariant: no key waits for near");
        let mut last = after;
        let mut taken = 0;
        if want == 0 {
            return last;
        }
        loop {
            let from = match &last {
                None => 0,
                Some(a) => self.near.partition_point(|x| x <= a),
            };
            // The keys after `from` that `skip` passes, up to `want`: the
            // last key gone past is the last one taken if that many were
            // taken, else `near`'s last (no key is copied for nothing).
            let before = out.len();
            self.copy_unskipped(from, want - taken, &skip, out);
            taken += out.len() - before;
            if taken == want {
                last = out.last().copied();
            } else if from < self.near.len() {
                last = self.near.back().copied();
            }
            if taken == want || !self.pull_next() {
                return last;
            }
        }
    }

    /// Appends to `out` the first `need` keys of `near` from place `from`
    /// on that `skip` does not reject (fewer at its end).
    ///
    /// The next `need` keys are first scanned for one `skip` rejects: with
    /// none (as for every read of the crash: a close skips its bankrupt's
    /// account, which holds no key on the winners' side), they are copied
    /// as one or two slices, else filtered one at a time
    /// ([`LevOrder::copy_unskipped_plain`]). Exact: when none of the next
    /// `need` keys is rejected, they are the first `need` that pass, and
    /// when fewer remain, every remaining key passes. The filtered
    /// `extend` was ~29 instructions a key read (docs/performance.md,
    /// "`min_max_leverage` per-close reads and take-out, round 26").
    #[inline]
    fn copy_unskipped(
        &self,
        from: usize,
        need: usize,
        skip: &impl Fn(&LevKey) -> bool,
        out: &mut Vec<LevKey>,
    ) {
        let end = from.saturating_add(need).min(self.near.len());
        let (a, b) = self.near.as_slices();
        let (x, y) = slices_range(a, b, from, end);
        if x.iter().any(skip) || y.iter().any(skip) {
            self.copy_unskipped_plain(from, need, skip, out);
        } else {
            out.extend_from_slice(x);
            out.extend_from_slice(y);
        }
    }

    /// [`LevOrder::copy_unskipped`]'s plain form: `near`'s keys from `from`
    /// on, filtered one at a time, up to `need` of them.
    fn copy_unskipped_plain(
        &self,
        from: usize,
        need: usize,
        skip: &impl Fn(&LevKey) -> bool,
        out: &mut Vec<LevKey>,
    ) {
        out.extend(
            self.near
                .range(from..)
                .filter(|k| !skip(k))
                .take(need)
                .copied(),
        );
    }

    /// Pulls the next non-empty range into `near`; false if none is left.
    fn pull_next(&mut self) -> bool {
        while let Some(b) = self.far.last() {
            if b.len == 0 {
                self.far.pop();
                self.floor = self.bounds.pop().unwrap_or(f64::NEG_INFINITY);
                continue;
            }
            let i = self.far.len() - 1;
            let mut keys = std::mem::take(&mut self.pulled_keys);
            keys.clear();
            self.drain_into(i, &mut keys);
            self.far.pop();
            let lower = self.bounds.pop().unwrap_or(f64::NEG_INFINITY);
            let span = bounds_span(lower, self.floor);
            if keys.len() > self.range_keys {
                self.pull_cut(lower, span, &mut keys);
            } else {
                self.by_quotient.sort(&mut keys, span);
                self.pull_sorted(lower, &keys);
            }
            self.refresh_guide(lower, i);
            self.pulled_keys = keys;
            return true;
        }
        false
    }

    /// The keys of the next range to pull (out of `far`, sorted in `keys`, at
    /// most `range_keys` of them), whose quotients are at least `lower`: all
    /// into `near`.
    fn pull_sorted(&mut self, lower: f64, keys: &[LevKey]) {
        debug_assert!(
            self.near
                .back()
                .is_none_or(|l| keys.first().is_none_or(|f| l < f)),
            "Invariant: a range pulled into the leverage order's top comes after all of it"
        );
        self.floor = lower;
        // After every key of `near`: appended at its back.
        self.near.extend(keys.iter().copied());
        self.debug_check_bounds();
    }

    /// The keys of the next range to pull (out of `far`, in no order, more
    /// than `range_keys`), whose quotients are at least `lower`: the
    /// `range_keys` with the highest quotients and every key sharing the
    /// lowest quotient of those are sorted and appended to `near`; the rest,
    /// as placed by bucket and unsorted, are cut at the buckets' ends into
    /// ranges of about `range_keys` keys ([`QuotientSort::cut_rest`]) that go
    /// back to the end of `far`, the lowest first.
    ///
    /// Round 20b: the rest went back as one range (a range grown by the
    /// winners a wave fills pulled a piece at a time), so each later pull of
    /// it placed all of its keys again (~1,070 keys placed a partial pull at
    /// 100,000 accounts, half of them pushed back). Cut here, each key is
    /// placed and pushed back about once.
    ///
    /// `span`: bits every key's quotient lies within, if known
    /// ([`bounds_span`]).
    fn pull_cut(&mut self, lower: f64, span: Option<(u64, u64)>, keys: &mut Vec<LevKey>) {
        let end = self.by_quotient.sort_top(keys, self.range_keys, span);
        let q = keys[end - 1].ratio();
        debug_assert!(
            self.near
                .back()
                .is_none_or(|l| keys.first().is_none_or(|f| l < f)),
            "Invariant: a range pulled into the leverage order's top comes after all of it"
        );
        let mut cuts = std::mem::take(&mut self.cuts);
        cuts.clear();
        cuts.push((end, if end == keys.len() { lower } else { q }));
        self.by_quotient
            .cut_rest(keys, end, self.range_keys, lower, &mut cuts);
        // The new far ranges, lowest (last cut) first, each pushed whole.
        for j in (1..cuts.len()).rev() {
            self.far.push(Bucket::EMPTY);
            self.bounds.push(cuts[j].1);
            let i = self.far.len() - 1;
            self.push_all(i, &keys[cuts[j - 1].0..cuts[j].0]);
        }
        self.floor = cuts[0].1;
        // After every key of `near`: appended at its back.
        self.near.extend(keys[..end].iter().copied());
        self.debug_check_bounds();
        self.cuts = cuts;
    }

    /// Moves every range into `near`.
    fn pull_all(&mut self) {
        while self.pull_next() {}
        self.floor = f64::NEG_INFINITY;
    }

    /// Adds `k` to far range `i`.
    ///
    /// Inlined, its rare new chunk out of line ([`LevOrder::new_chunk`]):
    /// round 20b measured the call's saves and restores of registers, which
    /// only the new chunk's path needs, at ~15 of its ~44 instructions.
    #[inline]
    fn push(&mut self, i: usize, k: LevKey) {
        let b = self.far[i];
        let at = b.len as usize % CHUNK;
        let tail = if at == 0 {
            self.new_chunk(i, k)
        } else {
            b.tail
        };
        self.pool[tail as usize * CHUNK + at] = k;
        self.far[i].len += 1;
        self.far_len += 1;
    }

    /// Adds `keys` to far range `i`, a chunk's worth at a time (a pull's
    /// ranges cut back into `far`, a trim of `near`).
    fn push_all(&mut self, i: usize, keys: &[LevKey]) {
        let mut rest = keys;
        while let Some(&first) = rest.first() {
            let b = self.far[i];
            let at = b.len as usize % CHUNK;
            let tail = if at == 0 {
                self.new_chunk(i, first)
            } else {
                b.tail
            };
            let n = (CHUNK - at).min(rest.len());
            let from = tail as usize * CHUNK + at;
            self.pool[from..from + n].copy_from_slice(&rest[..n]);
            self.far[i].len += n as u32;
            self.far_len += n;
            rest = &rest[n..];
        }
    }

    /// Links a chunk (from the free list, else a new one of the pool filled
    /// with `fill`) at the end of far range `i`, whose chunks are full;
    /// returns it.
    #[inline(never)]
    fn new_chunk(&mut self, i: usize, fill: LevKey) -> u32 {
        debug_assert!(
            (self.far[i].len as usize).is_multiple_of(CHUNK),
            "Invariant: a far range gets a new chunk when its last is full"
        );
        let c = match self.free.pop() {
            Some(c) => c,
            None => {
                let c = self.next.len() as u32;
                self.pool.resize(self.pool.len() + CHUNK, fill);
                self.next.push(NONE);
                c
            }
        };
        self.next[c as usize] = NONE;
        let b = self.far[i];
        if b.head == NONE {
            self.far[i].head = c;
        } else {
            self.next[b.tail as usize] = c;
        }
        self.far[i].tail = c;
        c
    }

    /// Moves the keys of far range `i` to `out`, its chunks to the free list.
    fn drain_into(&mut self, i: usize, out: &mut Vec<LevKey>) {
        let b = std::mem::replace(&mut self.far[i], Bucket::EMPTY);
        let mut left = b.len as usize;
        let mut c = b.head;
        while c != NONE {
            let n = left.min(CHUNK);
            let at = c as usize * CHUNK;
            out.extend_from_slice(&self.pool[at..at + n]);
            left -= n;
            self.free.push(c);
            c = self.next[c as usize];
        }
        self.far_len -= b.len as usize;
    }

    /// The chunks of far range `i` with the keys each holds.
    fn chunks(&self, i: usize) -> impl Iterator<Item = (u32, usize)> + '_ {
        let b = self.far[i];
        let mut left = b.len as usize;
        let mut c = b.head;
        std::iter::from_fn(move || {
            if c == NONE || left == 0 {
                return None;
            }
            let n = left.min(CHUNK);
            left -= n;
            let here = c;
            c = self.next[c as usize];
            Some((here, n))
        })
    }

    /// Whether far range `i` holds a key of `slot` (debug checks).
    fn bucket_holds(&self, i: usize, slot: u32) -> bool {
        self.chunks(i).any(|(c, n)| {
            let at = c as usize * CHUNK;
            self.pool[at..at + n].iter().any(|x| x.slot == slot)
        })
    }

    /// Removes `k` from far range `i` (its last key takes its place);
    /// whether it was there.
    fn remove_from(&mut self, i: usize, k: &LevKey) -> bool {
        let found = self.chunks(i).find_map(|(c, n)| {
            let at = c as usize * CHUNK;
            self.pool[at..at + n]
                .iter()
                .position(|x| x.slot == k.slot && x == k)
                .map(|p| at + p)
        });
        let Some(at) = found else {
            return false;
        };
        let b = self.far[i];
        let last = b.tail as usize * CHUNK + (b.len as usize - 1) % CHUNK;
        self.pool[at] = self.pool[last];
        self.far[i].len -= 1;
        self.far_len -= 1;
        if (b.len as usize - 1).is_multiple_of(CHUNK) {
            // The last chunk is empty now: back to the free list.
            self.free.push(b.tail);
            if b.head == b.tail {
                self.far[i] = Bucket::EMPTY;
            } else {
                let mut c = b.head;
                while self.next[c as usize] != b.tail {
                    c = self.next[c as usize];
                }
                self.next[c as usize] = NONE;
                self.far[i].tail = c;
            }
        }
        true
    }

    /// Every key in order (tests, debug checks).
    #[cfg(any(test, debug_assertions))]
    pub(super) fn to_vec(&self) -> Vec<LevKey> {
        let mut v: Vec<LevKey> = self.near.iter().copied().collect();
        for i in (0..self.far.len()).rev() {
            let mut b = Vec::new();
            for (c, n) in self.chunks(i) {
                let at = c as usize * CHUNK;
                b.extend_from_slice(&self.pool[at..at + n]);
            }
            b.sort_unstable();
            v.extend(b);
        }
        v
    }
}

/// The place, from `from` on, of the key of `slot` in a deque's slices `a`
/// then `b` (places count from the start of `a`); `None` if none holds it.
#[inline]
fn find_slot(a: &[LevKey], b: &[LevKey], from: usize, slot: u32) -> Option<usize> {
    let in_b = |from_b: usize| {
        let rest = b.get(from_b..)?;
        let x = rest.iter().position(|k| k.slot == slot)?;
        Some(a.len() + from_b + x)
    };
    match a.get(from..) {
        Some(rest) if !rest.is_empty() => match rest.iter().position(|k| k.slot == slot) {
            Some(x) => Some(from + x),
            None => in_b(0),
        },
        _ => in_b(from - a.len().min(from)),
    }
}

/// The slot of the key at place `i` of a deque's slices `a` then `b`
/// (`None` past their end).
#[inline]
pub(super) fn slot_at(a: &[LevKey], b: &[LevKey], i: usize) -> Option<u32> {
    match a.get(i) {
        Some(k) => Some(k.slot),
        None => b.get(i - a.len()).map(|k| k.slot),
    }
}

/// Places `from..end` of a deque's slices `a` then `b` (places count from
/// the start of `a`; `from ≤ end ≤` their total length), as the part in `a`
/// and the part in `b`.
#[inline]
fn slices_range<'a>(
    a: &'a [LevKey],
    b: &'a [LevKey],
    from: usize,
    end: usize,
) -> (&'a [LevKey], &'a [LevKey]) {
    debug_assert!(
        from <= end && end <= a.len() + b.len(),
        "Invariant: a range of a deque's places lies within it"
    );
    let n = a.len();
    (
        &a[from.min(n)..end.min(n)],
        &b[from.saturating_sub(n)..end.saturating_sub(n)],
    )
}

/// The key at place `i` of a deque's slices `a` then `b` (`i` below their
/// total length).
#[inline]
fn two_slices_at<'a>(a: &'a mut [LevKey], b: &'a mut [LevKey], i: usize) -> &'a mut LevKey {
    if i < a.len() {
        &mut a[i]
    } else {
        &mut b[i - a.len()]
    }
}

/// The lowest and highest f64 bits of `keys`' quotients (each a
/// non-negative f64, whose bits order as the values do); `None` without
/// keys.
fn quotient_bits_span(keys: &[LevKey]) -> Option<(u64, u64)> {
    debug_assert!(
        keys.iter().all(|k| k.ratio() >= 0.0),
        "Invariant: a far key's quotient is a non-negative f64"
    );
    let first = keys.first()?.ratio().to_bits();
    Some(keys.iter().fold((first, first), |(lo, hi), k| {
        let b = k.ratio().to_bits();
        (lo.min(b), hi.max(b))
    }))
}

/// The bits a far range's quotients lie within, from its bounds: at least
/// `lower`'s and below `upper`'s (the range above's bound, or `near`'s
/// floor), when both are finite and `lower` is non-negative (non-negative
/// f64s order as their bits do); `None` otherwise (the first range's −∞,
/// the floor's +∞ before the first pull), where the keys are searched.
///
/// Round 24: a range's bounds are its keys' lowest quotient at its cut
/// and the next range's, so they span about what its keys do, and the
/// sort skips its pass over the keys for their lowest and highest bits.
fn bounds_span(lower: f64, upper: f64) -> Option<(u64, u64)> {
    (lower >= 0.0 && lower.is_sign_positive() && upper.is_finite() && lower < upper)
        .then(|| (lower.to_bits(), upper.to_bits() - 1))
}

/// The buffers of the sorts by quotient ([`QuotientSort::sort`],
/// [`QuotientSort::sort_top`]), kept for their capacity.
///
/// A pulled range's keys are placed by a counting sort on their quotients'
/// f64 bits (non-negative f64s order as their bits do): about one bucket a
/// key, each bucket a run of the bits, the highest quotients in bucket 0.
/// Keys in different buckets have different quotients, so the buckets'
/// order is the keys' order, and only each bucket's few keys are compared
/// (by the whole key). Round 20 (docs/performance.md, "`min_max_leverage`
/// pulls' sorts by bucket, round 20"): the tags' comparison sort, the
/// selection of a partial pull's top and the sort of equal quotients' runs
/// it replaces were ~5% of the 100,000-account crash's instructions.
#[derive(Clone, Default)]
struct QuotientSort {
    /// Per bucket, the end of its keys in `gathered` (after
    /// [`QuotientSort::place`]).
    ends: Vec<u32>,
    /// The keys placed bucket by bucket.
    gathered: Vec<LevKey>,
}

/// At most this many keys in a bucket are sorted by insertion (more by
/// `sort_unstable`: a bucket that large is a cluster of quotients).
const INSERTION_MAX: usize = 16;

impl QuotientSort {
    /// Places `keys` (each with a quotient) bucket by bucket into
    /// `gathered`, the ends of the buckets in `ends`; `false` without keys.
    /// A key's bucket is `(hi − bits) >> shift`, `bits` its quotient's f64
    /// bits and `hi` the highest of them, `shift` the least that leaves at
    /// most one bucket a key: monotone in the quotient, highest first, and
    /// equal quotients share a bucket.
    ///
    /// `span`, when known (a far range's bounds, [`bounds_span`]), stands
    /// for the keys' lowest and highest bits: any `lo ≤ bits ≤ hi` of every
    /// key gives buckets monotone in the quotient (only their width
    /// changes), and it saves the pass over the keys that finds them.
    fn place(&mut self, keys: &[LevKey], span: Option<(u64, u64)>) -> bool {
        let Some((lo, hi)) = span
            .filter(|_| !keys.is_empty())
            .or_else(|| quotient_bits_span(keys))
        else {
            return false;
        };
        debug_assert!(
            keys.iter()
                .all(|k| (lo..=hi).contains(&k.ratio().to_bits())),
            "Invariant: a sort's span holds every key's quotient bits"
        );
        debug_assert!(
            u32::try_from(keys.len()).is_ok(),
            "Invariant: a sort by quotient counts its keys in u32"
        );
        // ⌊log2 n⌋ bits of buckets: at most n of them (two a key: +0.15%
        // instructions at 100,000 accounts).
        let room = usize::BITS - 1 - keys.len().leading_zeros();
        let shift = (u64::BITS - (hi - lo).leading_zeros()).saturating_sub(room);
        let bucket = |k: &LevKey| ((hi - k.ratio().to_bits()) >> shift) as usize;
        let ends = &mut self.ends;
        ends.clear();
        ends.resize(((hi - lo) >> shift) as usize + 2, 0);
        for k in keys {
            ends[bucket(k) + 1] += 1;
        }
        // `ends[b]`: where bucket `b` starts; its end once its keys are in.
        for b in 1..ends.len() {
            ends[b] += ends[b - 1];
        }
        // Every place is written below, so only the places `gathered`
        // lacks are filled first.
        self.gathered.truncate(keys.len());
        self.gathered.resize(keys.len(), keys[0]);
        for k in keys {
            let at = &mut ends[bucket(k)];
            self.gathered[*at as usize] = *k;
            *at += 1;
        }
        ends.pop();
        true
    }

    /// Sorts the keys of `gathered`'s buckets (as placed), from the first
    /// up to the bucket holding the key at place `k − 1` (all of them for
    /// `k = usize::MAX`), each by the whole key; returns the end of the
    /// last bucket sorted.
    fn sort_buckets(&mut self, k: usize) -> usize {
        let mut start = 0;
        for &end in &self.ends {
            let end = end as usize;
            if end > start + 1 {
                sort_small(&mut self.gathered[start..end]);
            }
            start = end;
            if start >= k {
                break;
            }
        }
        start
    }

    /// Sorts `keys` (each with a quotient) into order: placed by bucket,
    /// each bucket sorted by the whole key (`span`: as [`QuotientSort::place`]).
    fn sort(&mut self, keys: &mut Vec<LevKey>, span: Option<(u64, u64)>) {
        if !self.place(keys, span) {
            return;
        }
        self.sort_buckets(usize::MAX);
        std::mem::swap(keys, &mut self.gathered);
        debug_assert!(
            keys.is_sorted(),
            "Invariant: keys sorted by bucket are in the order"
        );
    }

    /// Puts first in `keys` (each with a quotient, more than `k ≥ 1`), in
    /// order, the `k` keys with the highest quotients and every other key
    /// sharing the lowest quotient of those; the rest after them in no
    /// order. Returns how many come first.
    ///
    /// Only the buckets up to the one holding the `k`-th key are sorted;
    /// the keys sharing its quotient are in that bucket, right after it.
    ///
    /// `span`: as [`QuotientSort::place`].
    fn sort_top(&mut self, keys: &mut Vec<LevKey>, k: usize, span: Option<(u64, u64)>) -> usize {
        debug_assert!(
            k >= 1 && keys.len() > k,
            "Invariant: a partial pull keeps some keys back"
        );
        if !self.place(keys, span) {
            return 0;
        }
        let sorted = self.sort_buckets(k);
        let g = &self.gathered;
        let q = g[k - 1].ratio().to_bits();
        let end = k + g[k..sorted]
            .iter()
            .take_while(|x| x.ratio().to_bits() == q)
            .count();
        std::mem::swap(keys, &mut self.gathered);
        debug_assert!(
            keys[..end].is_sorted() && keys[end..].iter().all(|x| x.ratio().to_bits() < q),
            "Invariant: a partial pull's top is sorted and above the rest"
        );
        end
    }

    /// After [`QuotientSort::sort_top`] left `keys` placed by bucket (the
    /// buckets' ends still in `ends`) and its top in `keys[..from]`: cuts
    /// the rest into ranges at the buckets' ends, each the first bucket's end
    /// at least `range_keys` keys past the range's start, and appends each
    /// range's `(end, lower bound)` to `cuts`, top first: its lowest
    /// quotient, `lower` for the last (which ends at `keys.len()`).
    ///
    /// Exact: a key in a later bucket has a lower quotient than every key
    /// of an earlier one, so each range's quotients lie above the next's,
    /// and the lowest of a range is in its last bucket (searched alone).
    fn cut_rest(
        &self,
        keys: &[LevKey],
        from: usize,
        range_keys: usize,
        lower: f64,
        cuts: &mut Vec<(usize, f64)>,
    ) {
        let mut start = from;
        while start < keys.len() {
            let target = start + range_keys.max(1);
            let b = self.ends.partition_point(|&e| (e as usize) < target);
            let end = self.ends.get(b).map_or(keys.len(), |&e| e as usize);
            if end >= keys.len() {
                cuts.push((keys.len(), lower));
                return;
            }
            let first = b.checked_sub(1).map_or(0, |p| self.ends[p] as usize);
            let low = keys[first.max(start)..end]
                .iter()
                .map(|k| k.ratio().to_bits())
                .min()
                .unwrap_or(u64::MAX);
            debug_assert!(
                keys[start..end].iter().all(|k| k.ratio().to_bits() >= low)
                    && keys[end..].iter().all(|k| k.ratio().to_bits() < low),
                "Invariant: a range cut at a bucket's end lies above the keys after it"
            );
            cuts.push((end, f64::from_bits(low)));
            start = end;
        }
    }
}

/// Sorts a bucket's keys by the whole key: by insertion when they are few
/// (most buckets hold 0-2 keys), else by `sort_unstable`.
#[inline]
fn sort_small(keys: &mut [LevKey]) {
    if keys.len() > INSERTION_MAX {
        keys.sort_unstable();
        return;
    }
    for i in 1..keys.len() {
        let x = keys[i];
        let mut j = i;
        while j > 0 && x < keys[j - 1] {
            keys[j] = keys[j - 1];
            j -= 1;
        }
        keys[j] = x;
    }
}

/// The cells a build counts the keys into: the keys' quotients' f64 bits
/// (non-negative f64s order as their bits do) shifted right by `shift`, from
/// `base` (the lowest key's), `len` cells up to the highest key's. A cell's
/// keys all go to one range, so a run of equal quotients is never split.
struct BuildCells {
    base: u64,
    shift: u32,
    len: usize,
}

impl BuildCells {
    /// The cells over `keys` (each with a non-negative quotient): as fine as
    /// gives at most [`CELLS_PER_KEY`] cells per key and
    /// [`MAX_BUILD_CELLS`]; `None` without keys.
    fn over(keys: &[LevKey]) -> Option<BuildCells> {
        let (lo, hi) = quotient_bits_span(keys)?;
        let want = keys
            .len()
            .saturating_mul(CELLS_PER_KEY)
            .clamp(1, MAX_BUILD_CELLS);
        // Bit 63 is 0 in both: at a shift of 63 there is one cell.
        let mut shift = 0;
        while (hi >> shift) - (lo >> shift) >= want as u64 {
            shift += 1;
        }
        Some(BuildCells {
            base: lo >> shift,
            shift,
            len: ((hi >> shift) - (lo >> shift) + 1) as usize,
        })
    }

    /// The cell of `k` (a key the cells were laid over).
    #[inline]
    fn cell(&self, k: &LevKey) -> usize {
        ((k.ratio().to_bits() >> self.shift) - self.base) as usize
    }
}

/// Steps [`step_up`] takes one at a time before it gallops.
const WALK_STEPS: usize = 4;

/// The last far range, from range `i` up, whose lower bound is at most `v`
/// (`bounds[i] <= v`): a step up the ascending bounds from a guide's cell.
///
/// A few steps one at a time (most walks end there), then galloping
/// strides (1, 2, 4, ...) and a binary search of the last stride: at
/// 1,000,000 accounts the guide's cells hold many ranges where the keys
/// are dense, and the plain walk went 5.9 ranges a call on average, the
/// quarter of its calls that went 8 or more taking 71% of its steps
/// (docs/performance.md, "`min_max_leverage` far ranges' walk, round 23").
/// Exact: the bounds ascend, so the last range whose bound is at most `v`
/// is `i` plus the bounds above `i` that are at most `v`, however they are
/// counted ([`step_up_plain`] in the tests).
#[inline]
fn step_up(bounds: &[f64], mut i: usize, v: f64) -> usize {
    for _ in 0..WALK_STEPS {
        if i + 1 < bounds.len() && bounds[i + 1] <= v {
            i += 1;
        } else {
            return i;
        }
    }
    step_up_galloping(bounds, i, v)
}

/// [`step_up`]'s long walks: strides doubling from `i` while the bound
/// there is at most `v`, then a binary search of the last stride's bounds.
#[inline]
fn step_up_galloping(bounds: &[f64], mut i: usize, v: f64) -> usize {
    let mut stride = 1;
    while i + stride < bounds.len() && bounds[i + stride] <= v {
        i += stride;
        stride *= 2;
    }
    // `bounds[i] <= v` (or `i` is where the walk started) and the bound at
    // `i + stride`, if any, is above `v`: the last one at most `v` is
    // between them.
    let end = (i + stride).min(bounds.len());
    debug_assert!(
        bounds[i..end].windows(2).all(|w| w[0] < w[1]),
        "Invariant: the far ranges' bounds ascend"
    );
    i + bounds[i + 1..end].partition_point(|&b| b <= v)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A key for `slot` (account `slot / 2`): small amounts (many equal
    /// leverages), amounts near 2^52 (quotients that round alike but differ
    /// exactly), quotients spread over 100 binades (the guide's cells at
    /// their widest), or, in some cases, amounts without an f64 quotient.
    fn key(rng: &mut ChaCha8Rng, mode: u32, slot: u32) -> LevKey {
        let (n, e) = match mode {
            0 => (rng.random_range(1..20i64), rng.random_range(1..10i64)),
            1 => (
                (1i64 << 52) + rng.random_range(-40..40i64),
                (1i64 << 52) + rng.random_range(-40..40i64),
            ),
            3 => (
                (1i64 << rng.random_range(0..50)) + rng.random_range(0..1000),
                (1i64 << rng.random_range(0..50)) + rng.random_range(0..1000),
            ),
            _ if rng.random_range(0..40) == 0 => (
                (1i64 << 53) + rng.random_range(0..1000),
                rng.random_range(1..1000),
            ),
            _ => (
                rng.random_range(1..1_000_000i64),
                rng.random_range(1..100_000i64),
            ),
        };
        LevKey::new(n, e, slot / 2, slot)
    }

    /// The sorts by quotient through buckets give the keys' order, as a
    /// sort of the keys does: whole (`sort`), and the top `k` with their
    /// ties over the same set of keys (`sort_top`); over quotients a few
    /// bits apart and spread over binades (modes 1 and 3), with many equal
    /// quotients (mode 0).
    #[test]
    fn sorts_by_quotient_match_a_sort_of_the_keys() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let mut by = QuotientSort::default();
        for case in 0..600 {
            let mode = [0, 1, 2, 3][case % 4];
            let n = rng.random_range(0..200u32);
            let mut keys: Vec<LevKey> = (0..n)
                .map(|slot| key(&mut rng, mode, slot))
                .filter(|k| !k.ratio().is_nan())
                .collect();
            let mut want = keys.clone();
            want.sort_unstable();
            let mut got = keys.clone();
            by.sort(&mut got, None);
            assert_eq!(got, want);
            if keys.len() > 1 {
                let k = rng.random_range(1..keys.len());
                let end = by.sort_top(&mut keys, k, None);
                let q = want[k - 1].ratio().to_bits();
                let ties = want.iter().take_while(|x| x.ratio().to_bits() >= q).count();
                assert_eq!(end, ties.min(keys.len()));
                assert_eq!(&keys[..end], &want[..end]);
                let mut rest = keys[end..].to_vec();
                rest.sort_unstable();
                assert_eq!(rest, &want[end..]);
            }
        }
    }

    /// Builds, inserts, removes and reads from the top in chunks, as the
    /// engine does (the keys read and filled go back lower), against a plain
    /// `BTreeSet`: the same keys, read in the same order.
    #[test]
    fn reads_and_updates_match_a_plain_sorted_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for case in 0..400 {
            let mode = case % 4;
            let range_keys = rng.random_range(1..12usize);
            let mut by_slot: BTreeMap<u32, LevKey> = BTreeMap::new();
            for slot in 0..rng.random_range(0..300u32) {
                if rng.random_range(0..4) > 0 {
                    by_slot.insert(slot, key(&mut rng, mode, slot));
                }
            }
            let mut order = LevOrder::default();
            // A second build on the same order reuses its buffers.
            for _ in 0..2 {
                order.build_with(
                    &mut by_slot.values().copied().collect::<Vec<_>>(),
                    range_keys,
                );
            }
            let mut plain: BTreeSet<LevKey> = by_slot.values().copied().collect();
            assert_eq!(order.to_vec(), plain.iter().copied().collect::<Vec<_>>());
            for _ in 0..60 {
                match rng.random_range(0..4) {
                    0 => {
                        // A touched slot: out, and back with a new key or not.
                        let slot = rng.random_range(0..320u32);
                        if let Some(k) = by_slot.remove(&slot) {
                            assert!(order.remove(&k), "case {case}");
                            assert!(plain.remove(&k));
                        }
                        if rng.random_range(0..3) > 0 {
                            let k = key(&mut rng, mode, slot);
                            by_slot.insert(slot, k);
                            order.insert(k);
                            plain.insert(k);
                        }
                    }
                    _ => {
                        // A close: reads from the top in chunks, skipping one
                        // account; some of the keys read are filled and come
                        // back with a new key.
                        let skip = rng.random_range(0..160u32);
                        let mut got = Vec::new();
                        let mut after = None;
                        for _ in 0..rng.random_range(1..4) {
                            let want = rng.random_range(0..40usize);
                            after = order.read_after(after, want, |k| k.account == skip, &mut got);
                        }
                        let want: Vec<LevKey> = plain
                            .iter()
                            .filter(|k| k.account != skip)
                            .take(got.len())
                            .copied()
                            .collect();
                        assert_eq!(got, want, "case {case}");
                        // Half the cases take the filled keys out one by
                        // one, half in one pass over the top, as a close does.
                        let filled: Vec<LevKey> = got
                            .into_iter()
                            .filter(|_| rng.random_range(0..2) == 0)
                            .collect();
                        if case % 2 == 0 {
                            order.remove_read(filled.iter().map(|k| k.slot));
                        }
                        for k in &filled {
                            if case % 2 == 1 {
                                assert!(order.remove(k));
                            }
                            assert!(plain.remove(k));
                        }
                        assert_eq!(
                            order.to_vec(),
                            plain.iter().copied().collect::<Vec<_>>(),
                            "case {case}"
                        );
                        for k in filled {
                            let n = key(&mut rng, mode, k.slot);
                            by_slot.insert(k.slot, n);
                            order.insert(n);
                            plain.insert(n);
                        }
                    }
                }
                assert_eq!(order.len(), plain.len(), "case {case}");
            }
            assert_eq!(
                order.to_vec(),
                plain.iter().copied().collect::<Vec<_>>(),
                "case {case}"
            );
        }
    }

    /// Keys for slots `0..`, from `(notional, equity, account)`: small
    /// amounts (many equal leverages, ties broken by account and slot) or
    /// notionals past 2^53 (no f64 quotient).
    fn keys_of(amounts: &[(i64, i64, u32)]) -> Vec<LevKey> {
        amounts
            .iter()
            .enumerate()
            .map(|(s, &(n, e, a))| LevKey::new(n, e, a, s as u32))
            .collect()
    }

    proptest! {
        /// `remove_read` by slots (the fast path) is the plain removal of
        /// those keys from a sorted set: reads from the top of an order
        /// built with ranges of 1-15 keys (so that reads pull), a random
        /// subsequence of each read taken out, over keys with many equal
        /// quotients, ties on account and slot, and keys without a quotient.
        #[test]
        fn removing_read_keys_by_slot_is_a_plain_removal(
            amounts in prop::collection::vec(
                (prop_oneof![1i64..40, (1i64 << 53)..(1i64 << 53) + 4], 1i64..12, 0u32..6),
                0..120,
            ),
            range_keys in 1usize..16,
            reads in prop::collection::vec((0usize..60, any::<u64>()), 1..6),
        ) {
            let keys = keys_of(&amounts);
            let mut order = LevOrder::default();
            order.build_with(&mut keys.clone(), range_keys);
            let mut plain: BTreeSet<LevKey> = keys.iter().copied().collect();
            for (want, mask) in reads {
                let mut got = Vec::new();
                order.read_after(None, want, |_| false, &mut got);
                let taken: Vec<LevKey> = got
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> (i % 64) & 1 == 1)
                    .map(|(_, k)| *k)
                    .collect();
                order.remove_read(taken.iter().map(|k| k.slot));
                for k in &taken {
                    prop_assert!(plain.remove(k));
                }
                prop_assert_eq!(order.to_vec(), plain.iter().copied().collect::<Vec<_>>());
                prop_assert_eq!(order.len(), plain.len());
            }
        }
    }

    proptest! {
        /// `remove_read` over the deque's two slices (the fast path) is the
        /// plain removal of the slots' keys from a sorted `near` that wraps
        /// around its buffer or not, the slots given in order: runs taken
        /// one after the other, keys kept between them, the first and the
        /// last key, none; over keys with many equal quotients and ties on
        /// account and slot.
        #[test]
        fn removing_from_a_wrapped_near_is_a_plain_removal(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..200),
            picks in prop::collection::vec(0u8..4, 200),
            front in 0usize..200,
        ) {
            let mut all = keys_by_mode(&amounts, 0);
            all.sort_unstable();
            let mut order = LevOrder::default();
            let split = front.min(all.len());
            all[..split].iter().rev().for_each(|&k| order.near.push_front(k));
            order.near.extend(all[split..].iter().copied());
            // Runs taken: most keys of the top, fewer further down.
            let taken: Vec<bool> = all
                .iter()
                .enumerate()
                .map(|(i, _)| picks[i] > if i < all.len() / 2 { 0 } else { 2 })
                .collect();
            order.remove_read(
                all.iter()
                    .zip(&taken)
                    .filter(|(_, t)| **t)
                    .map(|(k, _)| k.slot),
            );
            let plain: Vec<LevKey> = all
                .iter()
                .zip(&taken)
                .filter(|(_, t)| !**t)
                .map(|(k, _)| *k)
                .collect();
            prop_assert_eq!(order.near.iter().copied().collect::<Vec<_>>(), plain);
        }

        /// `near_place` (the search by quotient, the fast path) finds the
        /// place the whole keys' search finds, in a `near` with many equal
        /// quotients and ties on account and slot (the key itself kept out
        /// of `near`), and with keys without a quotient once the floor is
        /// −∞ (the plain search then).
        #[test]
        fn near_place_matches_a_whole_key_search(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 1..200),
            probe in any::<prop::sample::Index>(),
            floor in prop_oneof![Just(f64::NEG_INFINITY), Just(0.0f64), Just(f64::INFINITY)],
            no_quotient in any::<bool>(),
        ) {
            let mut all = keys_by_mode(&amounts, 0);
            if no_quotient && floor == f64::NEG_INFINITY {
                all.push(LevKey::new((1 << 53) + 1, 1, 0, all.len() as u32));
            }
            all.sort_unstable();
            let k = all.remove(probe.index(all.len()));
            let mut order = LevOrder {
                floor,
                ..LevOrder::default()
            };
            order.near.extend(all.iter().copied());
            prop_assert_eq!(order.near_place(&k), all.partition_point(|x| *x < k));
        }
    }

    /// [`LevOrder::read_after`] as it was before its copy of unskipped
    /// slices ([`LevOrder::copy_unskipped`]): every key filtered one at a
    /// time.
    fn read_after_plain(
        order: &mut LevOrder,
        after: Option<LevKey>,
        want: usize,
        skip: impl Fn(&LevKey) -> bool,
        out: &mut Vec<LevKey>,
    ) -> Option<LevKey> {
        let mut last = after;
        let mut taken = 0;
        if want == 0 {
            return last;
        }
        loop {
            let from = match &last {
                None => 0,
                Some(a) => order.near.partition_point(|x| x <= a),
            };
            let before = out.len();
            order.copy_unskipped_plain(from, want - taken, &skip, out);
            taken += out.len() - before;
            if taken == want {
                last = out.last().copied();
            } else if from < order.near.len() {
                last = order.near.back().copied();
            }
            if taken == want || !order.pull_next() {
                return last;
            }
        }
    }

    proptest! {
        /// `read_after` with its copy of slices holding no skipped key (the
        /// fast path) reads what the plain filter of every key reads: the
        /// same keys, the same last key, the same order left after its
        /// pulls; over orders built with ranges of 1-15 keys (reads that
        /// pull), a `near` wrapped around its buffer by put-back keys,
        /// reads of 0-59 keys skipping an account that holds keys (often
        /// among those read) or none, and keys with many equal quotients.
        #[test]
        fn read_after_matches_the_plain_filter(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..250),
            range_keys in 1usize..16,
            reads in prop::collection::vec((0usize..60, 0u32..8, any::<bool>()), 1..8),
        ) {
            let keys = keys_by_mode(&amounts, 0);
            let mut fast = LevOrder::default();
            fast.build_with(&mut keys.clone(), range_keys);
            let mut plain = fast.clone();
            for (want, skip, put_back) in reads {
                let (mut got, mut want_keys) = (Vec::new(), Vec::new());
                let mut after = None;
                let mut after_plain = None;
                // Two reads a close, the second after the first's last key.
                for part in [want / 2, want - want / 2] {
                    after = fast.read_after(after, part, |k| k.account == skip, &mut got);
                    after_plain =
                        read_after_plain(&mut plain, after_plain, part, |k| k.account == skip, &mut want_keys);
                    prop_assert_eq!(after, after_plain);
                }
                prop_assert_eq!(&got, &want_keys);
                prop_assert_eq!(fast.to_vec(), plain.to_vec());
                // The keys read taken out and, some of them, put back at
                // the front (a `near` that wraps around its buffer).
                for order in [&mut fast, &mut plain] {
                    order.remove_read(got.iter().map(|k| k.slot));
                    if put_back {
                        for &k in &got {
                            order.insert(k);
                        }
                    }
                }
            }
        }
    }

    /// The plain walk [`super::step_up`] replaces: one range at a time.
    fn step_up_plain(bounds: &[f64], mut i: usize, v: f64) -> usize {
        while i + 1 < bounds.len() && bounds[i + 1] <= v {
            i += 1;
        }
        i
    }

    proptest! {
        /// `step_up` (a few steps, then galloping strides and a binary
        /// search: the fast path) ends where the plain walk one range at a
        /// time does: over ascending bounds from −∞ with gaps of one or
        /// more units (values at a bound, between two, below the start's
        /// and past the last), from any start, walks of 0 to past 300
        /// ranges.
        #[test]
        fn step_up_matches_the_plain_walk(
            gaps in prop::collection::vec(1u32..4, 0..400),
            start in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            offset in prop_oneof![Just(0.0f64), Just(0.5f64), Just(-0.5f64)],
            far in prop_oneof![Just(None), Just(Some(f64::INFINITY)), Just(Some(-1.0e9))],
        ) {
            let mut bounds = vec![f64::NEG_INFINITY];
            let mut b = 0.0;
            for g in &gaps {
                b += f64::from(*g);
                bounds.push(b);
            }
            let i = start.index(bounds.len());
            let v = far.unwrap_or_else(|| {
                let j = at.index(bounds.len());
                if j == 0 { -1.0 } else { bounds[j] + offset }
            });
            prop_assert_eq!(super::step_up(&bounds, i, v), step_up_plain(&bounds, i, v));
        }
    }

    /// A read that asks for more keys than the order holds gets all of them,
    /// in order, and the next read after its last key gets none.
    #[test]
    fn a_read_past_the_end_gets_every_key() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let keys: Vec<LevKey> = (0..100).map(|s| key(&mut rng, 2, s)).collect();
        let mut order = LevOrder::default();
        order.build_with(&mut keys.clone(), 3);
        let mut got = Vec::new();
        let last = order.read_after(None, 1000, |_| false, &mut got);
        let mut want = keys;
        want.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(last, want.last().copied());
        let mut more = Vec::new();
        assert_eq!(order.read_after(last, 5, |_| false, &mut more), last);
        assert!(more.is_empty());
    }

    /// Amounts for [`sorts_by_bucket_match_a_plain_sort`]'s keys by `mode`:
    /// small ones (many equal quotients), ones near 2^52 (clusters of
    /// quotients a few f64 bits apart), or spread over many binades.
    fn amounts_of(mode: u8, a: u32, b: u32) -> (i64, i64) {
        let (a, b) = (i64::from(a), i64::from(b));
        match mode {
            0 => (1 + a % 40, 1 + b % 12),
            1 => ((1 << 52) + a % 64, (1 << 52) + b % 64),
            _ => (1 + ((a % (1 << 28)) << (b % 24)), 1 + b % 1_000_000),
        }
    }

    /// Every key of `order`, read `chunk` at a time from its start.
    fn read_all(order: &mut LevOrder, chunk: usize) -> Vec<LevKey> {
        let (mut got, mut after) = (Vec::new(), None);
        loop {
            let before = got.len();
            after = order.read_after(after, chunk, |_| false, &mut got);
            if got.len() == before {
                return got;
            }
        }
    }

    /// Keys of drawn `(mode, a, b, account)` rows ([`amounts_of`]), in
    /// slots from `slot0` up.
    fn keys_by_mode(rows: &[(u8, u32, u32, u32)], slot0: usize) -> Vec<LevKey> {
        rows.iter()
            .enumerate()
            .map(|(s, &(m, a, b, acc))| {
                let (n, e) = amounts_of(m, a, b);
                LevKey::new(n, e, acc, (slot0 + s) as u32)
            })
            .collect()
    }

    /// A far range's bounds give a span only when both are finite and the
    /// lower is a non-negative f64 below the upper, and then it holds every
    /// quotient in `[lower, upper)` and none at `upper` or above.
    #[test]
    fn bounds_span_holds_the_range() {
        assert_eq!(bounds_span(f64::NEG_INFINITY, 1.0), None);
        assert_eq!(bounds_span(0.5, f64::INFINITY), None);
        assert_eq!(bounds_span(-0.0, 1.0), None);
        assert_eq!(bounds_span(-1.0, 1.0), None);
        assert_eq!(bounds_span(1.0, 1.0), None);
        assert_eq!(bounds_span(f64::NAN, 1.0), None);
        let (lo, hi) = bounds_span(0.0, 3.0).expect("finite bounds");
        for v in [
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            2.999_999_999,
            3.0f64.next_down(),
        ] {
            assert!((lo..=hi).contains(&v.to_bits()), "{v}");
        }
        assert!(!(lo..=hi).contains(&3.0f64.to_bits()));
    }

    proptest! {
        /// The sorts by bucket (the fast path) are the plain sort of the
        /// keys: whole (`sort`), and the top `k` with every key sharing
        /// the lowest quotient of those (`sort_top`), the rest the same
        /// keys; over clusters of quotients a few f64 bits apart beside
        /// far ones (buckets of more than [`INSERTION_MAX`] keys), many
        /// equal quotients (ties on account and slot), and one key; with
        /// the span searched from the keys or given wider than theirs (as a
        /// far range's bounds give it, [`bounds_span`]: coarser buckets).
        #[test]
        fn sorts_by_bucket_match_a_plain_sort(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..300),
            k in any::<prop::sample::Index>(),
            widen in prop::option::of((0u32..41, 0u32..41)),
        ) {
            let keys = keys_by_mode(&amounts, 0);
            let mut want = keys.clone();
            want.sort_unstable();
            let mut by = QuotientSort::default();
            // Widened by 0 (the keys' own span), a few bits or up to 2^40.
            let span = widen.and_then(|(below, above)| {
                let (below, above) = ((1u64 << below) - 1, (1u64 << above) - 1);
                quotient_bits_span(&keys).map(|(lo, hi)| (lo.saturating_sub(below), hi + above))
            });
            let mut got = keys.clone();
            by.sort(&mut got, span);
            prop_assert_eq!(&got, &want);
            if keys.len() > 1 {
                let k = 1 + k.index(keys.len() - 1);
                let mut top = keys.clone();
                let end = by.sort_top(&mut top, k, span);
                let q = want[k - 1].ratio().to_bits();
                let ties = want.iter().take_while(|x| x.ratio().to_bits() >= q).count();
                prop_assert_eq!(end, ties);
                prop_assert_eq!(&top[..end], &want[..end]);
                let mut rest = top[end..].to_vec();
                rest.sort_unstable();
                prop_assert_eq!(&rest[..], &want[end..]);
            }
        }
    }

    proptest! {
        /// A partial pull's rest cut at the buckets' ends
        /// ([`QuotientSort::cut_rest`], the fast path) is a plain sort's
        /// order cut into ranges: each range's keys (sorted) follow the
        /// top and the ranges before them in the plain sort, each bound is
        /// its range's lowest quotient (`lower` for the last), and every
        /// range but the last holds at least `range_keys` keys; over many
        /// equal quotients (ties on account and slot), clusters of
        /// quotients a few f64 bits apart, quotients over many binades, and
        /// ranges of one key.
        #[test]
        fn cut_rest_matches_a_plain_sort(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 2..300),
            range_keys in 1usize..40,
        ) {
            let mut keys = keys_by_mode(&amounts, 0);
            let range_keys = range_keys.min(keys.len() - 1);
            let mut want = keys.clone();
            want.sort_unstable();
            let mut by = QuotientSort::default();
            let end = by.sort_top(&mut keys, range_keys, None);
            let mut cuts = vec![(end, f64::NAN)];
            by.cut_rest(&keys, end, range_keys, -1.0, &mut cuts);
            prop_assert_eq!(cuts.last().map(|c| c.0), Some(keys.len()));
            let mut got = keys[..end].to_vec();
            for j in 1..cuts.len() {
                let mut range = keys[cuts[j - 1].0..cuts[j].0].to_vec();
                prop_assert!(!range.is_empty());
                range.sort_unstable();
                let low = range.last().map(|k| k.ratio());
                if j + 1 < cuts.len() {
                    prop_assert!(range.len() >= range_keys);
                    prop_assert_eq!(Some(cuts[j].1), low);
                } else {
                    prop_assert_eq!(cuts[j].1, -1.0);
                }
                got.extend(range);
            }
            prop_assert_eq!(got, want);
        }

        /// Pulls through the cut ranges read the plain sorted set's order:
        /// an order built with ranges of 1-15 keys over clustered and tied
        /// quotients, keys inserted (landing in the cut ranges), then the
        /// whole order read from the top in chunks.
        #[test]
        fn pulls_through_cut_ranges_read_a_plain_sorted_set(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..300),
            added in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..100),
            range_keys in 1usize..16,
            chunk in 1usize..40,
        ) {
            let keys = keys_by_mode(&amounts, 0);
            let mut order = LevOrder::default();
            order.build_with(&mut keys.clone(), range_keys);
            let mut plain: BTreeSet<LevKey> = keys.iter().copied().collect();
            // A first read pulls and cuts ranges; the keys added then land
            // in `near` or in the cut ranges.
            order.read_after(None, chunk, |_| false, &mut Vec::new());
            for k in keys_by_mode(&added, amounts.len()) {
                order.insert(k);
                plain.insert(k);
            }
            let got = read_all(&mut order, chunk);
            prop_assert_eq!(got, plain.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(order.len(), plain.len());
        }

        /// Keys inserted later in batches (`insert_later`, `flush_later`:
        /// a close's winners put back) after a first read give the order a
        /// plain sorted set gives them, whichever way each batch's keys of
        /// `near` are merged (one insert each, from the front or the back).
        #[test]
        fn batches_inserted_later_read_a_plain_sorted_set(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..300),
            added in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..100),
            batch in 1usize..40,
            range_keys in 1usize..16,
            chunk in 1usize..40,
        ) {
            let keys = keys_by_mode(&amounts, 0);
            let mut order = LevOrder::default();
            order.build_with(&mut keys.clone(), range_keys);
            let mut plain: BTreeSet<LevKey> = keys.iter().copied().collect();
            order.read_after(None, chunk, |_| false, &mut Vec::new());
            for part in keys_by_mode(&added, amounts.len()).chunks(batch) {
                for &k in part {
                    order.insert_later(k);
                    plain.insert(k);
                }
                order.flush_later();
            }
            let got = read_all(&mut order, chunk);
            prop_assert_eq!(got, plain.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(order.len(), plain.len());
        }

        /// `merge_front` and `merge_back` each merge any sorted keys into any
        /// `near` (wrapped around its buffer or not; ties of quotient, keys
        /// before, between and after its keys) as a plain sort does.
        #[test]
        fn merges_into_near_match_a_plain_sort(
            amounts in prop::collection::vec((0u8..3, any::<u32>(), any::<u32>(), 0u32..6), 0..200),
            picks in prop::collection::vec(any::<bool>(), 200),
            front in 0usize..200,
            from_back in any::<bool>(),
        ) {
            let mut all = keys_by_mode(&amounts, 0);
            all.sort_unstable();
            let (mut kept, mut batch) = (Vec::new(), Vec::new());
            for (i, &k) in all.iter().enumerate() {
                if picks[i] { batch.push(k) } else { kept.push(k) }
            }
            let mut order = LevOrder::default();
            // Some keys pushed at the front so that `near` may wrap.
            let split = front.min(kept.len());
            kept[..split].iter().rev().for_each(|&k| order.near.push_front(k));
            order.near.extend(kept[split..].iter().copied());
            let at: Vec<usize> = batch
                .iter()
                .map(|k| order.near.partition_point(|x| x < k))
                .collect();
            if batch.is_empty() {
                order.merge_near(&batch);
            } else if from_back {
                order.merge_back(&batch, &at);
            } else {
                order.merge_front(&batch, &at);
            }
            prop_assert_eq!(order.near.iter().copied().collect::<Vec<_>>(), all);
        }
    }
}
