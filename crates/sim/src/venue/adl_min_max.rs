//! `min_max_leverage` to the lot (docs/model.md §6): each lot of the bankrupt
//! position is taken from the candidate whose leverage is highest before that
//! lot, in exact integer arithmetic.
//!
//! Candidate `i` holds notional `N` and equity `E` (micro-USD, at the mark) and
//! offers `o` lots; the close has lot value `v` and loss per lot `ℓ` against the
//! mark, common to every candidate of one bankrupt position. Its `j`-th lot
//! (`j = 0..o`) is a **token** with key `(N − j·v) / (E − j·ℓ)`, the leverage
//! the position has before giving that lot, when that falls with `j`; when it
//! does not (`ℓ·N > E·v`, or `E − (o − 1)·ℓ ≤ 0`: the bankruptcy price costs
//! the candidate equity faster than notional), every one of its tokens keeps the
//! key `N / E`. Tokens are ordered by key (highest first, compared as exact
//! rationals), then account, slot and `j`; the allocation is the first `needed`
//! tokens. Each candidate's tokens come in its own order, so it gives a prefix:
//! `q_i` lots.
//!
//! [`greedy_lots`] is the rule as stated (one lot at a time, O(needed · log c));
//! [`select_lots`] finds the same first `needed` tokens from an estimate of the
//! water level and an exact fix-up, in O(c log c) for `c` candidates whatever
//! `needed` is.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// One candidate as the rule reads it, integer micro-USD at the mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevCandidate {
    /// Account index (first tie-break).
    pub account: u32,
    /// Position slot (second tie-break).
    pub slot: u32,
    /// Notional `|lots| × mark`, micro-USD (> 0).
    pub notional: i64,
    /// Account equity, micro-USD (> 0).
    pub equity: i64,
    /// Lots it offers (≥ 1).
    pub offer: i64,
}

/// What one close costs every candidate per lot, micro-USD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LotTerms {
    /// Mark value of one lot (> 0): the notional one lot closed removes.
    pub lot_value: i64,
    /// Equity one lot closed at the bankruptcy price costs against the mark
    /// (negative when that price is better than the mark for the candidate).
    pub loss_per_lot: i64,
}

/// One lot of one candidate, ordered as the rule takes them (`Less` = earlier).
#[derive(Clone, Copy, Debug)]
struct Token {
    /// Key numerator (notional after `j` lots).
    p: i128,
    /// Key denominator (> 0: equity after `j` lots).
    q: i128,
    /// `p / q` in f64 when both are exact in f64 (NaN otherwise): keys whose
    /// quotients differ are ordered by them, as [`lev_ratio`] orders
    /// candidates; equal quotients fall back to the exact `i128` products.
    key: f64,
    account: u32,
    slot: u32,
    /// Index of the candidate in the slice the tokens were made from.
    i: usize,
    j: i64,
}

impl Token {
    /// Its exact rank ([`token_order`]).
    #[inline]
    fn rank(&self) -> Rank {
        (self.p, self.q, self.account, self.slot, self.j)
    }
}

impl Ord for Token {
    fn cmp(&self, o: &Self) -> Ordering {
        // Quotients that differ decide; else the exact order.
        if let Some(order) = by_quotient(self.key, o.key) {
            return order;
        }
        token_order(self.rank(), o.rank())
    }
}

/// A token's exact rank, what [`token_order`] compares: its key's numerator
/// and denominator (`q > 0`), then account, slot and `j`.
type Rank = (i128, i128, u32, u32, i64);

/// The rule's order of two tokens, exact (`Less`: `a` is taken first): the
/// higher key `p / q` first, compared by the `i128` cross products (the
/// denominators are positive), then the lower account, slot and `j`.
/// Every exact comparison of tokens here is this one ([`Token`], [`Extra`],
/// [`lev_order_exact`], [`head_extras`], [`first_token_before`]): the tie
/// rule of docs/model.md §6 is written once.
#[inline(always)]
fn token_order(a: Rank, b: Rank) -> Ordering {
    let ((ap, aq, a_account, a_slot, aj), (bp, bq, b_account, b_slot, bj)) = (a, b);
    (bp * aq)
        .cmp(&(ap * bq))
        .then_with(|| (a_account, a_slot, aj).cmp(&(b_account, b_slot, bj)))
}

/// The rank of candidate `c`'s first token (`j = 0`): key `N / E` whether
/// its tokens fall or not.
#[inline]
fn first_rank(c: &LevCandidate) -> Rank {
    (
        i128::from(c.notional),
        i128::from(c.equity),
        c.account,
        c.slot,
        0,
    )
}

/// `PartialOrd`, `PartialEq` and `Eq` of a type from its `Ord`: tokens are
/// equal only when their ranks are (same candidate and `j`).
macro_rules! order_from_ord {
    ($t:ty) => {
        impl PartialOrd for $t {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }

        impl PartialEq for $t {
            fn eq(&self, o: &Self) -> bool {
                self.cmp(o) == Ordering::Equal
            }
        }

        impl Eq for $t {}
    };
}

order_from_ord!(Token);

/// Whether candidate `c`'s leverage falls as it gives lots (its tokens then
/// have keys `(N − j·v) / (E − j·ℓ)`), rather than staying at `N / E`.
fn falls(c: &LevCandidate, t: LotTerms) -> bool {
    let (n, e) = (i128::from(c.notional), i128::from(c.equity));
    let (v, l) = (i128::from(t.lot_value), i128::from(t.loss_per_lot));
    l * n <= e * v && e - i128::from(c.offer - 1) * l > 0
}

/// Token `j` of the candidate at index `i` (`falls` from [`falls`]).
fn token(cands: &[LevCandidate], t: LotTerms, falling: &[bool], i: usize, j: i64) -> Token {
    token_of(&cands[i], t, falling[i], i, j)
}

/// Token `j` of candidate `c`, at index `i` (`falling` from [`falls`]).
fn token_of(c: &LevCandidate, t: LotTerms, falling: bool, i: usize, j: i64) -> Token {
    let (n, e) = (i128::from(c.notional), i128::from(c.equity));
    let (p, q) = if falling {
        (
            n - i128::from(j) * i128::from(t.lot_value),
            e - i128::from(j) * i128::from(t.loss_per_lot),
        )
    } else {
        (n, e)
    };
    Token {
        p,
        q,
        key: token_ratio(p, q),
        account: c.account,
        slot: c.slot,
        i,
        j,
    }
}

/// The f64 key of candidate `c`'s first token (`j = 0`): its leverage
/// quotient `N / E` whether its tokens fall or not (NaN without one).
#[inline]
fn first_token_key(c: &LevCandidate) -> f64 {
    lev_ratio(c.notional, c.equity).unwrap_or(f64::NAN)
}

/// The f64 key of candidate `c`'s token `j` ([`Token::key`] of
/// [`token_of`]) without the rest of the token: its amounts in `i64` where
/// they stay in it (then [`token_ratio`] is [`lev_ratio`] of them), else
/// through the whole token.
#[inline]
fn token_key(c: &LevCandidate, t: LotTerms, falling: bool, j: i64) -> f64 {
    if !falling {
        return first_token_key(c);
    }
    let p = j
        .checked_mul(t.lot_value)
        .and_then(|x| c.notional.checked_sub(x));
    let q = j
        .checked_mul(t.loss_per_lot)
        .and_then(|x| c.equity.checked_sub(x));
    let key = match (p, q) {
        (Some(p), Some(q)) => lev_ratio(p, q).unwrap_or(f64::NAN),
        _ => token_of(c, t, falling, 0, j).key,
    };
    debug_assert!(
        key.to_bits() == token_of(c, t, falling, 0, j).key.to_bits(),
        "Invariant: a token's key from i64 amounts is its key"
    );
    key
}

/// The order of two tokens by their f64 quotients `a` and `b` (higher
/// first), when they decide it: a correctly rounded quotient of exact
/// operands is monotone, so quotients that differ order the exact ratios.
/// `None` when they are equal or either is NaN (no quotient): the exact
/// `i128` products decide.
#[inline]
fn by_quotient(a: f64, b: f64) -> Option<Ordering> {
    (a != b && !a.is_nan() && !b.is_nan()).then(|| b.total_cmp(&a))
}

/// `p / q` in f64 when both are exact in f64 and `q` is positive, else NaN
/// (a [`Token`]'s key, compared first): [`lev_ratio`] of the token's terms.
fn token_ratio(p: i128, q: i128) -> f64 {
    match (i64::try_from(p), i64::try_from(q)) {
        (Ok(p), Ok(q)) => lev_ratio(p, q).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// The order of candidates by leverage `N / E` (highest first, exact), then
/// account, then slot: the order of their first tokens.
pub fn lev_order(a: &LevCandidate, b: &LevCandidate) -> Ordering {
    // Fast path: with every amount exact in f64, a correctly rounded
    // quotient is monotone, so quotients that differ order the exact ratios.
    if let (Some(x), Some(y)) = (
        lev_ratio(a.notional, a.equity),
        lev_ratio(b.notional, b.equity),
    ) && x != y
    {
        return y.total_cmp(&x);
    }
    lev_order_exact(a, b)
}

/// `notional / equity` in f64 when both are exact in f64 and the equity is
/// positive (`None` otherwise): quotients that differ order the exact ratios
/// as [`lev_order`] does (a correctly rounded quotient is monotone).
pub fn lev_ratio(notional: i64, equity: i64) -> Option<f64> {
    const EXACT: i64 = 1 << 53;
    (notional.unsigned_abs() < EXACT.unsigned_abs() && equity > 0 && equity < EXACT)
        .then(|| notional as f64 / equity as f64)
}

/// [`lev_order`] without its f64 fast path: exact rationals in `i128`, then
/// account, then slot.
pub fn lev_order_exact(a: &LevCandidate, b: &LevCandidate) -> Ordering {
    // Their first tokens' order: both `j = 0`.
    token_order(first_rank(a), first_rank(b))
}

/// The rule as stated: `needed` lots one at a time, each from the candidate
/// whose next token comes first. Returns the lots per candidate (same order as
/// `cands`). O(needed · log c): the reference [`select_lots`] is checked against.
pub fn greedy_lots(cands: &[LevCandidate], t: LotTerms, needed: i64) -> Vec<i64> {
    let falling: Vec<bool> = cands.iter().map(|c| falls(c, t)).collect();
    let mut lots = vec![0i64; cands.len()];
    let mut heap: BinaryHeap<Reverse<Token>> = (0..cands.len())
        .filter(|&i| cands[i].offer > 0)
        .map(|i| Reverse(token(cands, t, &falling, i, 0)))
        .collect();
    let mut left = needed;
    while left > 0 {
        let Some(Reverse(tok)) = heap.pop() else {
            break;
        };
        lots[tok.i] += 1;
        left -= 1;
        if lots[tok.i] < cands[tok.i].offer {
            heap.push(Reverse(token(cands, t, &falling, tok.i, lots[tok.i])));
        }
    }
    lots
}

/// The first `needed` tokens of `cands` (sorted by [`lev_order`]), as lots per
/// candidate written into `lots`; returns Σ lots = `min(needed, Σ offers)`.
/// Same result as [`greedy_lots`]; O(c log c) plus O(log c) per token the
/// estimate of the level was off by.
pub fn select_lots(cands: &[LevCandidate], t: LotTerms, needed: i64, lots: &mut Vec<i64>) -> i64 {
    select_lots_with(cands, t, needed, lots, &mut LotScratch::default())
}

/// The buffers of [`select_lots_with`], kept by the caller so that the
/// closes of a wave allocate nothing (their contents are scratch).
#[derive(Clone, Debug, Default)]
pub struct LotScratch {
    /// Per candidate, whether its tokens fall ([`falls`]).
    falling: Vec<bool>,
    /// [`select_by_merge`]'s heap of next tokens of the candidates started.
    heap: Vec<Next>,
    /// [`select_by_merge`]'s queue of next tokens (in order from its front).
    pending: Vec<Next>,
    /// [`select_within_head`]'s later tokens (a candidate's second and
    /// after) that come before the last first token of the head.
    extras: Vec<Extra>,
}

/// Up to this many lots needed, [`select_lots_with`] takes them one at a
/// time ([`select_by_merge`], O(needed · log needed)) rather than from an
/// estimate of the level (passes over every candidate read).
const MERGE_MAX: i64 = 64;

/// Up to this many lots needed per candidate read, [`select_lots_with`]
/// merges too: the estimate of the level costs about a dozen passes over
/// the candidates (counts and the fix-up's scans), the merge a heap
/// operation or two per lot (docs/performance.md, "`min_max_leverage`,
/// round 9": at 1,000,000 accounts a close of more than 64 lots takes about
/// one lot per candidate).
const MERGE_PER_CANDIDATE: i64 = 4;

/// Whether [`select_lots_with`] takes `needed` lots from `cands` candidates
/// by [`select_by_merge`] (else by [`select_by_level`]).
fn merges(needed: i64, cands: usize) -> bool {
    needed <= MERGE_MAX || needed / MERGE_PER_CANDIDATE < i64::try_from(cands).unwrap_or(i64::MAX)
}

/// [`select_lots`] with the caller's buffers: the lots from the first
/// `needed` candidates alone when that is the selection (one each, with a
/// few later lots: [`select_within_head`]), else the merge or the level.
pub fn select_lots_with(
    cands: &[LevCandidate],
    t: LotTerms,
    needed: i64,
    lots: &mut Vec<i64>,
    scratch: &mut LotScratch,
) -> i64 {
    if select_within_head(cands, t, needed, lots, scratch) {
        return needed;
    }
    select_lots_general(cands, t, needed, lots, scratch)
}

/// At least this many later tokens (else `needed`) [`select_within_head`]
/// merges before it leaves the close to [`select_lots_general`].
const EXTRAS_MAX: usize = 64;

/// Whether the first `needed` tokens of `cands` (sorted by [`lev_order`])
/// are all of the first `needed` candidates' (their head), with at most
/// `max(`[`EXTRAS_MAX`]`, needed)` later tokens before the last first
/// token; if so, writes the lots into
/// `lots` (else leaves it as it was).
///
/// The head's `needed` first tokens all come at or before the last one's,
/// so the first `needed` tokens of all do too: they are the head's first
/// tokens merged with the head's later tokens that come before that last
/// first token (its extras; every token of a candidate past the head comes
/// after it, whatever follows `cands`). The extras are few at venue scale
/// (docs/performance.md, "`min_max_leverage` selection, round 17b"): sorted,
/// each is placed among the first tokens by a binary search, and the
/// merge's first `needed` are counted off without taking each lot through a
/// queue as [`select_by_merge`] does. With no extras it is one lot each
/// (round 17's `select_one_lot_each`, which this replaces).
pub fn select_within_head(
    cands: &[LevCandidate],
    t: LotTerms,
    needed: i64,
    lots: &mut Vec<i64>,
    scratch: &mut LotScratch,
) -> bool {
    debug_assert!(
        cands
            .windows(2)
            .all(|w| lev_order(&w[0], &w[1]) == Ordering::Less),
        "Invariant: min_max_leverage candidates come in leverage order"
    );
    let Some(n) = usize::try_from(needed).ok().filter(|&n| n > 0) else {
        return false;
    };
    let Some(head) = cands.get(..n) else {
        return false;
    };
    if !head_extras(head, t, &mut scratch.extras) {
        return false;
    }
    let extras = &mut scratch.extras;
    extras.sort_unstable();
    lots.clear();
    lots.resize(cands.len(), 0);
    // Extra `e` (in order) is at place `r + e` of the merge, `r` the head's
    // first tokens before it: taken iff that is below `needed`.
    let (mut r, mut taken) = (0, 0);
    for (e, x) in extras.iter().enumerate() {
        // The head's first tokens come in order: the first `r` before `x`'s
        // predecessor, so before `x` too.
        r += head[r..].partition_point(|c| first_token_before(c, x));
        if r + e >= n {
            break;
        }
        lots[x.i as usize] += 1;
        taken += 1;
    }
    lots[..n - taken].iter_mut().for_each(|q| *q += 1);
    debug_assert!(
        extras[..taken].iter().all(|x| (x.i as usize) < n - taken),
        "Invariant: an extra taken is of a candidate whose first lot is taken"
    );
    true
}

/// A later token (`j ≥ 1`) of a head candidate, as [`select_within_head`]
/// merges it: its key `p / q` in `i64` amounts (`q > 0`), ordered as
/// [`Token`] (higher key first, then account, slot and `j`) by the exact
/// `i128` cross products alone: no division, and 32 bytes to sort.
#[derive(Clone, Copy, Debug)]
struct Extra {
    /// Key numerator (notional after `j` lots).
    p: i64,
    /// Key denominator (> 0: equity after `j` lots).
    q: i64,
    account: u32,
    slot: u32,
    /// Index of the candidate in the head.
    i: u32,
    /// The token's place among its candidate's (≥ 1).
    j: u32,
}

impl Extra {
    /// Its exact rank ([`token_order`]).
    #[inline]
    fn rank(&self) -> Rank {
        (
            i128::from(self.p),
            i128::from(self.q),
            self.account,
            self.slot,
            i64::from(self.j),
        )
    }
}

impl Ord for Extra {
    fn cmp(&self, o: &Self) -> Ordering {
        token_order(self.rank(), o.rank())
    }
}

order_from_ord!(Extra);

/// Collects into `extras` the later tokens (`j ≥ 1`) of `head`'s
/// candidates that come before its last candidate's first token; `false`
/// if a candidate offers no lot, there are more than `max(`[`EXTRAS_MAX`]`,
/// head's length)`, or a token's amounts leave `i64` (then the general
/// path decides, exactly as before).
///
/// Each test is the exact order of the two tokens by their `i128` cross
/// products (the keys' denominators are positive), with no f64 quotient:
/// [`Token`]'s order is the exact one (its quotients only shortcut it), and
/// the products cost two multiplications where the quotient cost a
/// division.
fn head_extras(head: &[LevCandidate], t: LotTerms, extras: &mut Vec<Extra>) -> bool {
    extras.clear();
    let Some(last) = head.last() else {
        return false;
    };
    // Every `i` and `j` below fits in `u32`.
    if u32::try_from(head.len()).map_or(true, |n| n == u32::MAX) {
        return false;
    }
    let cap = EXTRAS_MAX.max(head.len());
    let last_first = LastFirst::of(last);
    let (v, l) = (i128::from(t.lot_value), i128::from(t.loss_per_lot));
    // [`falls`]' first test, `ℓ·N ≤ E·v`, is `N / E ≤ v / ℓ` for `ℓ > 0`
    // (and holds for `ℓ ≤ 0`): when the first candidate, the most levered,
    // passes it, every candidate does, so it is made once.
    let all_slow = l * i128::from(head[0].notional) <= i128::from(head[0].equity) * v;
    for (i, c) in head.iter().enumerate() {
        if c.offer <= 1 {
            if c.offer < 1 {
                return false;
            }
            continue;
        }
        let (n, e) = (i128::from(c.notional), i128::from(c.equity));
        let falling = (all_slow || l * n <= e * v) && lots_keep_equity(c, t);
        debug_assert!(
            falling == falls(c, t),
            "Invariant: the first candidate's test holds for all"
        );
        // Token 1's amounts: `N − v` and `E − ℓ` (every amount between two
        // in `i64` is in it).
        let (p, q) = if falling {
            let (Some(p), Some(q)) = (
                c.notional.checked_sub(t.lot_value),
                c.equity.checked_sub(t.loss_per_lot),
            ) else {
                return false;
            };
            (p, q)
        } else {
            (c.notional, c.equity)
        };
        // Most candidates have no extra: one test, and the loop over their
        // later tokens out of line.
        if last_first.after_token(p, q, c) {
            continue;
        }
        if !push_extras(c, i, t, falling, (p, q), &last_first, cap, extras) {
            return false;
        }
    }
    true
}

/// [`falls`]' second test, `E − (o − 1)·ℓ > 0`, for a candidate offering
/// `o ≥ 2` lots, in `i64`: `(o − 1)·ℓ < E`, where a product past `i64` has
/// the sign of `ℓ` (`o − 1 ≥ 1`), so past the top it is above any `E` and
/// past the bottom below it. One multiplication where the `i128` form
/// took a widening product and a 128-bit compare.
#[inline(always)]
fn lots_keep_equity(c: &LevCandidate, t: LotTerms) -> bool {
    debug_assert!(c.offer >= 2, "Invariant: the test is made for later tokens");
    let keeps = match (c.offer - 1).checked_mul(t.loss_per_lot) {
        Some(x) => x < c.equity,
        None => t.loss_per_lot < 0,
    };
    debug_assert!(
        keeps == (i128::from(c.equity) - i128::from(c.offer - 1) * i128::from(t.loss_per_lot) > 0),
        "Invariant: the i64 test is the i128 one"
    );
    keeps
}

/// The head's last candidate's first token, as [`head_extras`] tests later
/// tokens against it: its key's amounts, its account and slot.
struct LastFirst {
    /// Key numerator `N_L` (widened at each product: an `i128` field costs
    /// a full 128-bit multiplication).
    n: i64,
    /// Key denominator `E_L` (> 0).
    e: i64,
    account: u32,
    slot: u32,
}

impl LastFirst {
    /// Candidate `last`'s first token.
    #[inline]
    fn of(last: &LevCandidate) -> Self {
        LastFirst {
            n: last.notional,
            e: last.equity,
            account: last.account,
            slot: last.slot,
        }
    }

    /// Whether a later token (`j ≥ 1`) of `c` with key amounts `p / q`
    /// (`q > 0`) comes at or after this first token: [`token_order`] of the
    /// two is not `Less`. The cross products first (`p·E_L < N_L·q`: after,
    /// the common case), then on equal products the ids (`j ≥ 1` against
    /// the last's `j = 0`: the same account and slot is after).
    #[inline(always)]
    fn after_token(&self, p: i64, q: i64, c: &LevCandidate) -> bool {
        let (x, y) = (
            i128::from(p) * i128::from(self.e),
            i128::from(self.n) * i128::from(q),
        );
        let after = x < y || (x == y && (c.account, c.slot) >= (self.account, self.slot));
        debug_assert!(
            after
                == (token_order(
                    (i128::from(p), i128::from(q), c.account, c.slot, 1),
                    (
                        i128::from(self.n),
                        i128::from(self.e),
                        self.account,
                        self.slot,
                        0
                    )
                ) != Ordering::Less),
            "Invariant: the test of a later token is token_order's"
        );
        after
    }
}

/// Pushes onto `extras` candidate `c`'s (at index `i` of the head) later
/// tokens from `j = 1` (amounts `pq`, already known to come before the
/// last's first token) while they come before it; `false` past `cap`
/// extras or if an amount leaves `i64` ([`head_extras`]' cases). Out of
/// line: few candidates have extras, and the loop's registers would
/// otherwise weigh on every candidate's test.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn push_extras(
    c: &LevCandidate,
    i: usize,
    t: LotTerms,
    falling: bool,
    pq: (i64, i64),
    last_first: &LastFirst,
    cap: usize,
    extras: &mut Vec<Extra>,
) -> bool {
    let (mut p, mut q) = pq;
    let mut j = 1;
    loop {
        if extras.len() == cap {
            return false;
        }
        extras.push(Extra {
            p,
            q,
            account: c.account,
            slot: c.slot,
            i: i as u32,
            j: j as u32,
        });
        j += 1;
        if j >= c.offer {
            return true;
        }
        if falling {
            let (Some(p1), Some(q1)) = (p.checked_sub(t.lot_value), q.checked_sub(t.loss_per_lot))
            else {
                return false;
            };
            (p, q) = (p1, q1);
        }
        if last_first.after_token(p, q, c) {
            return true;
        }
    }
}

/// Whether candidate `c`'s first token comes before the extra `x` (of
/// another candidate or a later token of `c`), by the exact cross products
/// as [`Extra`]'s order.
#[inline]
fn first_token_before(c: &LevCandidate, x: &Extra) -> bool {
    token_order(first_rank(c), x.rank()) == Ordering::Less
}

/// [`select_lots_with`] without [`select_within_head`]: the merge or the
/// level, as [`merges`] picks.
pub fn select_lots_general(
    cands: &[LevCandidate],
    t: LotTerms,
    needed: i64,
    lots: &mut Vec<i64>,
    scratch: &mut LotScratch,
) -> i64 {
    debug_assert!(
        cands
            .windows(2)
            .all(|w| lev_order(&w[0], &w[1]) == Ordering::Less),
        "Invariant: min_max_leverage candidates come in leverage order"
    );
    if merges(needed, cands.len()) {
        select_by_merge(cands, t, needed, lots, scratch)
    } else {
        select_by_level(cands, t, needed, lots, &mut scratch.falling)
    }
}

/// [`select_lots`] from an estimate of the level and an exact fix-up
/// (`falling`: a buffer for the flags of [`falls`]).
fn select_by_level(
    cands: &[LevCandidate],
    t: LotTerms,
    needed: i64,
    lots: &mut Vec<i64>,
    falling: &mut Vec<bool>,
) -> i64 {
    lots.clear();
    falling.clear();
    falling.extend(cands.iter().map(|c| falls(c, t)));
    let falling = &falling[..];
    let total: i64 = cands.iter().map(|c| c.offer).sum();
    let want = needed.min(total).max(0);
    let estimate = estimate_level(cands, t, falling, needed);
    let level = refine_level(cands, t, falling, want, estimate);
    lots.extend(
        cands
            .iter()
            .zip(falling)
            .map(|(c, &f)| lots_above(c, t, f, level)),
    );
    fix_up(cands, t, falling, needed, lots)
}

/// The rule as stated, as [`greedy_lots`]: `needed` lots one at a time, each
/// the earliest next token, but with only the candidates it reaches started.
/// The candidates come in leverage order, which is the order of their first
/// tokens, so the earliest first token of those not started yet is the next
/// candidate's: each lot is the earliest of that and the earliest next token
/// of the candidates started. It reads no candidate past the last that gives
/// a lot but one. Writes the lots per candidate into `lots`; returns Σ lots =
/// `min(needed, Σ offers)`.
///
/// The started candidates' next tokens are in a queue (`pending` from
/// `head`, in order, earliest first) or a heap: a token goes to the back of
/// the queue when it comes after the back, else into the heap, and the
/// earliest is the earlier of the queue's front and the heap's top. At venue
/// scale a candidate gives about one lot and the candidates' next tokens
/// come in order, so most go to the queue and are never sifted
/// (docs/performance.md, "`min_max_leverage`, round 10"). An entry is 16
/// bytes ([`Next`]: its f64 key and candidate, the token being the
/// candidate's `lots[i]`-th), compared by key first and by the exact token
/// on equal keys.
fn select_by_merge(
    cands: &[LevCandidate],
    t: LotTerms,
    needed: i64,
    lots: &mut Vec<i64>,
    scratch: &mut LotScratch,
) -> i64 {
    let (falling, heap, pending) = (
        &mut scratch.falling,
        &mut scratch.heap,
        &mut scratch.pending,
    );
    lots.clear();
    lots.resize(cands.len(), 0);
    falling.clear();
    falling.resize(cands.len(), false);
    heap.clear();
    pending.clear();
    // The queue's front: `pending[head..]` is in order.
    let mut head = 0;
    let (mut p, mut sum) = (0, 0);
    // The key of candidate `p`'s first token, divided once per candidate
    // (and as soon as `p` moves, so that the division overlaps the lot's
    // other work).
    let first_key = |p: usize| cands.get(p).map_or(f64::NAN, first_token_key);
    let mut key_p = first_key(0);
    while sum < needed {
        while p < cands.len() && cands[p].offer <= 0 {
            p += 1;
            key_p = first_key(p);
        }
        // The earlier of the heap's top and the queue's front (a first
        // token's key is `N / E` whether the tokens fall or not, and
        // `lots[p]` is 0 while `p` is not started).
        let old = match (heap.first(), pending.get(head)) {
            (None, None) => None,
            (Some(&h), None) => Some((h, false)),
            (None, Some(&w)) => Some((w, true)),
            (Some(&h), Some(&w)) => Some(if earlier(cands, t, falling, lots, &w, &h) {
                (w, true)
            } else {
                (h, false)
            }),
        };
        let new = match (cands.get(p), old) {
            (None, None) => break,
            (None, Some(_)) => false,
            (Some(_), None) => true,
            (Some(_), Some((o, _))) => {
                debug_assert!(
                    key_p.to_bits() == first_key(p).to_bits(),
                    "Invariant: the first key kept is candidate p's"
                );
                let first = Next {
                    key: key_p,
                    i: p as u32,
                };
                earlier(cands, t, falling, lots, &first, &o)
            }
        };
        let i = if new {
            falling[p] = falls(&cands[p], t);
            p += 1;
            key_p = first_key(p);
            p - 1
        } else {
            match old {
                Some((o, false)) => {
                    heap_pop(heap, |a, b| earlier(cands, t, falling, lots, a, b));
                    o.i as usize
                }
                Some((o, true)) => {
                    head += 1;
                    if head == pending.len() {
                        pending.clear();
                        head = 0;
                    }
                    o.i as usize
                }
                None => break,
            }
        };
        lots[i] += 1;
        sum += 1;
        if lots[i] < cands[i].offer {
            let w = Next {
                key: token_key(&cands[i], t, falling[i], lots[i]),
                i: i as u32,
            };
            if pending.len() == head
                || pending
                    .last()
                    .is_some_and(|b| earlier(cands, t, falling, lots, b, &w))
            {
                pending.push(w);
            } else {
                heap_push(heap, w, |a, b| earlier(cands, t, falling, lots, a, b));
            }
        }
    }
    sum
}

/// An entry of [`select_by_merge`]: the next token of candidate `i` (its
/// `lots[i]`-th) by its f64 key ([`Token::key`], NaN where it has none).
#[derive(Clone, Copy, Debug)]
struct Next {
    key: f64,
    i: u32,
}

/// Whether `a`'s token comes before `b`'s (of other candidates), each the
/// `lots[i]`-th token of its candidate: by key where the keys differ, else
/// by the exact [`Token`] order ([`earlier_exact`], kept out of line).
#[inline(always)]
fn earlier(
    cands: &[LevCandidate],
    t: LotTerms,
    falling: &[bool],
    lots: &[i64],
    a: &Next,
    b: &Next,
) -> bool {
    if let Some(order) = by_quotient(a.key, b.key) {
        return order == Ordering::Less;
    }
    earlier_exact(cands, t, falling, lots, a.i as usize, b.i as usize)
}

/// [`earlier`] on equal keys or keys without a quotient: the exact tokens.
#[cold]
#[inline(never)]
fn earlier_exact(
    cands: &[LevCandidate],
    t: LotTerms,
    falling: &[bool],
    lots: &[i64],
    x: usize,
    y: usize,
) -> bool {
    token_of(&cands[x], t, falling[x], x, lots[x]) < token_of(&cands[y], t, falling[y], y, lots[y])
}

/// Adds `e` to the binary heap `heap` (earliest first by `before`).
fn heap_push(heap: &mut Vec<Next>, e: Next, before: impl Fn(&Next, &Next) -> bool) {
    let mut k = heap.len();
    heap.push(e);
    while k > 0 {
        let parent = (k - 1) / 2;
        if !before(&e, &heap[parent]) {
            break;
        }
        heap[k] = heap[parent];
        k = parent;
    }
    heap[k] = e;
}

/// Removes the top of the binary heap `heap` (earliest first by `before`).
fn heap_pop(heap: &mut Vec<Next>, before: impl Fn(&Next, &Next) -> bool) {
    let Some(e) = heap.pop() else { return };
    if heap.is_empty() {
        return;
    }
    let n = heap.len();
    let mut k = 0;
    loop {
        let mut c = 2 * k + 1;
        if c >= n {
            break;
        }
        if c + 1 < n && before(&heap[c + 1], &heap[c]) {
            c += 1;
        }
        if !before(&heap[c], &e) {
            break;
        }
        heap[k] = heap[c];
        k = c;
    }
    heap[k] = e;
}

/// At most this many steps of [`refine_level`].
const REFINE_STEPS: usize = 24;

/// The f64 tokens above `level` (by [`lots_above`]).
fn count_above(cands: &[LevCandidate], t: LotTerms, falling: &[bool], level: f64) -> i64 {
    cands
        .iter()
        .zip(falling)
        .map(|(c, &f)| lots_above(c, t, f, level))
        .sum()
}

/// `level` moved, by a few steps of bracketed interpolation and bisection on
/// the f64 counts of [`count_above`], until it counts within [`SCAN_MOVES`]
/// of `want` tokens, so that [`fix_up`] rarely builds its heaps. Any value
/// gives the same selection (the fix-up is exact); this only saves its moves.
fn refine_level(
    cands: &[LevCandidate],
    t: LotTerms,
    falling: &[bool],
    want: i64,
    level: f64,
) -> f64 {
    let near = |n: i64| n.abs_diff(want) <= SCAN_MOVES as u64;
    let n = count_above(cands, t, falling, level);
    let Some(top) = cands.first() else {
        return level;
    };
    if near(n) || !level.is_finite() {
        return level;
    }
    // Keys are positive and at most the first candidate's leverage: the
    // count is the total at 0 and falls (weakly) as the level rises. The
    // level is one end of the bracket; the count at the other is taken only
    // then.
    let hi0 = top.notional as f64 / top.equity as f64 * (1.0 + 1e-9);
    let (mut lo, mut n_lo, mut hi, mut n_hi) = if n > want {
        (level.max(0.0), n, hi0, count_above(cands, t, falling, hi0))
    } else {
        (
            0.0f64,
            count_above(cands, t, falling, 0.0),
            level.min(hi0),
            n,
        )
    };
    for step in 0..REFINE_STEPS {
        if !(n_lo > want && want > n_hi) || lo >= hi {
            break;
        }
        let spread = (n_lo - n_hi) as f64;
        let mut mid = lo + (hi - lo) * ((n_lo - want) as f64 / spread);
        if step % 2 == 1 || !(mid > lo && mid < hi) {
            mid = 0.5 * (lo + hi);
        }
        if !(mid > lo && mid < hi) {
            break;
        }
        let m = count_above(cands, t, falling, mid);
        if near(m) {
            return mid;
        }
        if m > want {
            (lo, n_lo) = (mid, m);
        } else {
            (hi, n_hi) = (mid, m);
        }
    }
    if n_lo.abs_diff(want) <= n_hi.abs_diff(want) {
        lo
    } else {
        hi
    }
}

/// The f64 leverage level at which the candidates' tokens number about
/// `needed` (a start for [`fix_up`]; any value gives the same result).
fn estimate_level(cands: &[LevCandidate], t: LotTerms, falling: &[bool], needed: i64) -> f64 {
    let (v, l) = (t.lot_value as f64, t.loss_per_lot as f64);
    let lev = |c: &LevCandidate| c.notional as f64 / c.equity as f64;
    let (mut sn, mut se, mut half, mut fixed) = (0.0, 0.0, 0.0, 0.0);
    for (k, c) in cands.iter().enumerate() {
        if falling[k] {
            sn += c.notional as f64;
            se += c.equity as f64;
            half += 0.5;
        } else {
            fixed += c.offer as f64;
        }
        let hi = lev(c);
        let lo = cands.get(k + 1).map_or(f64::NEG_INFINITY, lev);
        // Tokens above λ in (lo, hi]: (ΣN − λΣE)/(v − λℓ) + ½ per falling
        // candidate + the fixed offers.
        let rest = needed as f64 - half - fixed;
        if rest <= 0.0 {
            return hi;
        }
        let denom = se - rest * l;
        if denom > 0.0 {
            let level = (sn - rest * v) / denom;
            if level >= lo {
                return level.min(hi);
            }
        }
    }
    f64::NEG_INFINITY
}

/// About how many of `c`'s tokens have a key of at least `level` (f64).
fn lots_above(c: &LevCandidate, t: LotTerms, falling: bool, level: f64) -> i64 {
    if (c.notional as f64) < level * c.equity as f64 {
        return 0;
    }
    if !falling || level == f64::NEG_INFINITY {
        return c.offer;
    }
    let d = t.lot_value as f64 - level * t.loss_per_lot as f64;
    if d <= 0.0 {
        return c.offer;
    }
    // x ≥ 0 (the notional is at least `level × equity` as rounded, d > 0):
    // the cast's truncation is the floor, with no call to `floor`.
    let x = (c.notional as f64 - level * c.equity as f64) / d;
    if x.is_finite() {
        (x as i64).saturating_add(1).clamp(0, c.offer)
    } else {
        c.offer
    }
}

/// Moves `lots` (a prefix of each candidate's tokens) to exactly the first
/// `min(needed, Σ offers)` tokens: drops the last selected tokens while there
/// are too many, adds the first unselected while too few, then swaps while an
/// unselected token comes before a selected one. Returns Σ lots.
fn fix_up(
    cands: &[LevCandidate],
    t: LotTerms,
    falling: &[bool],
    needed: i64,
    lots: &mut [i64],
) -> i64 {
    let total: i64 = cands.iter().map(|c| c.offer).sum();
    let want = needed.min(total).max(0);
    let mut sum: i64 = lots.iter().sum();
    let tok = |i: usize, j: i64| token(cands, t, falling, i, j);
    if fix_up_by_scans(cands, want, lots, &mut sum, &tok) {
        return sum;
    }
    // Last selected token per candidate (latest first) and first unselected
    // (earliest first); an entry is live while `lots[i]` still matches it.
    let mut last: BinaryHeap<Token> = lots
        .iter()
        .enumerate()
        .filter(|(_, q)| **q > 0)
        .map(|(i, &q)| tok(i, q - 1))
        .collect::<Vec<_>>()
        .into();
    let mut next: BinaryHeap<Reverse<Token>> = lots
        .iter()
        .enumerate()
        .filter(|(i, q)| **q < cands[*i].offer)
        .map(|(i, &q)| Reverse(tok(i, q)))
        .collect::<Vec<_>>()
        .into();
    loop {
        while last.peek().is_some_and(|x| lots[x.i] != x.j + 1) {
            last.pop();
        }
        while next.peek().is_some_and(|x| lots[x.0.i] != x.0.j) {
            next.pop();
        }
        let drop = match (last.peek(), next.peek()) {
            _ if sum > want => true,
            _ if sum < want => false,
            (Some(l), Some(Reverse(n))) if n < l => {
                // Swap: take the earlier unselected token, drop the later selected one.
                let (li, ni) = (l.i, n.i);
                unselect(&mut last, &mut next, lots, li, &tok);
                select(&mut last, &mut next, lots, ni, cands[ni].offer, &tok);
                continue;
            }
            _ => break,
        };
        if drop {
            let Some(l) = last.peek() else { break };
            let li = l.i;
            unselect(&mut last, &mut next, lots, li, &tok);
            sum -= 1;
        } else {
            let Some(Reverse(n)) = next.peek() else {
                break;
            };
            let ni = n.i;
            select(&mut last, &mut next, lots, ni, cands[ni].offer, &tok);
            sum += 1;
        }
    }
    sum
}

/// At most this many moves of [`fix_up`] are made by scans of the candidates
/// before it builds its heaps (an estimate of the level is most often off by
/// a lot or two, or exact).
const SCAN_MOVES: usize = 4;

/// The moves of [`fix_up`] (drop the latest selected token, add the earliest
/// unselected, or swap them), each found by a scan of the candidates, while
/// they are at most [`SCAN_MOVES`]: true when `lots` (summing to `sum`) is
/// then the first `want` tokens, false to go on with the heaps.
fn fix_up_by_scans(
    cands: &[LevCandidate],
    want: i64,
    lots: &mut [i64],
    sum: &mut i64,
    tok: &impl Fn(usize, i64) -> Token,
) -> bool {
    let latest = |lots: &[i64]| {
        (0..lots.len())
            .filter(|&i| lots[i] > 0)
            .map(|i| tok(i, lots[i] - 1))
            .max()
    };
    let earliest = |lots: &[i64]| {
        (0..lots.len())
            .filter(|&i| lots[i] < cands[i].offer)
            .map(|i| tok(i, lots[i]))
            .min()
    };
    // Both in one pass over the candidates (the check every fix-up ends on).
    let ends = |lots: &[i64]| {
        let (mut l, mut n): (Option<Token>, Option<Token>) = (None, None);
        for (i, (&q, c)) in lots.iter().zip(cands).enumerate() {
            if q > 0 {
                let x = tok(i, q - 1);
                l = Some(l.map_or(x, |y| y.max(x)));
            }
            if q < c.offer {
                let x = tok(i, q);
                n = Some(n.map_or(x, |y| y.min(x)));
            }
        }
        (l, n)
    };
    for _ in 0..SCAN_MOVES {
        if *sum > want {
            let Some(l) = latest(lots) else { return true };
            lots[l.i] -= 1;
            *sum -= 1;
        } else if *sum < want {
            let Some(n) = earliest(lots) else { return true };
            lots[n.i] += 1;
            *sum += 1;
        } else {
            match ends(lots) {
                (Some(l), Some(n)) if n < l => {
                    lots[l.i] -= 1;
                    lots[n.i] += 1;
                }
                _ => return true,
            }
        }
    }
    false
}

/// Removes the last selected token of candidate `i`.
fn unselect(
    last: &mut BinaryHeap<Token>,
    next: &mut BinaryHeap<Reverse<Token>>,
    lots: &mut [i64],
    i: usize,
    tok: &impl Fn(usize, i64) -> Token,
) {
    lots[i] -= 1;
    if lots[i] > 0 {
        last.push(tok(i, lots[i] - 1));
    }
    next.push(Reverse(tok(i, lots[i])));
}

/// Adds the first unselected token of candidate `i` (offering `offer`).
fn select(
    last: &mut BinaryHeap<Token>,
    next: &mut BinaryHeap<Reverse<Token>>,
    lots: &mut [i64],
    i: usize,
    offer: i64,
    tok: &impl Fn(usize, i64) -> Token,
) {
    last.push(tok(i, lots[i]));
    lots[i] += 1;
    if lots[i] < offer {
        next.push(Reverse(tok(i, lots[i])));
    }
}

/// Whether the last token `lots` selects from `cands` comes before the first
/// token of `next` (a candidate after all of `cands` in [`lev_order`]): then
/// no candidate from `next` on has a token among the first Σ lots, and the
/// selection over `cands` is the selection over all of them.
pub fn ends_before(cands: &[LevCandidate], t: LotTerms, lots: &[i64], next: &LevCandidate) -> bool {
    // A token's key depends on its own candidate only (its index is never
    // compared): `j = 0` of `next`, and each selecting candidate's last.
    // Compared by their f64 keys where those decide (as `Token::cmp` does
    // first; a first token's key is `N / E` whether the tokens fall or
    // not), else by the whole tokens.
    let tok = |c: &LevCandidate, j: i64| token(std::slice::from_ref(c), t, &[falls(c, t)], 0, j);
    let first_key = first_token_key(next);
    debug_assert!(
        first_key.to_bits() == tok(next, 0).key.to_bits(),
        "Invariant: a first token's key is the candidate's leverage quotient"
    );
    cands
        .iter()
        .zip(lots)
        .filter(|(_, q)| **q > 0)
        .all(|(c, &q)| {
            let key = token_key(c, t, falls(c, t), q - 1);
            match by_quotient(key, first_key) {
                Some(order) => order == Ordering::Less,
                None => tok(c, q - 1) < tok(next, 0),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorted(mut c: Vec<LevCandidate>) -> Vec<LevCandidate> {
        c.sort_by(lev_order);
        c
    }

    fn candidates() -> impl Strategy<Value = Vec<LevCandidate>> {
        // Few distinct notionals and equities: ties in leverage and in keys.
        prop::collection::vec((0u32..6, 1i64..40, 1i64..12, 1i64..40), 1..24).prop_map(|v| {
            let c = v
                .into_iter()
                .enumerate()
                .map(|(k, (account, lots, e, offer))| LevCandidate {
                    account,
                    slot: k as u32,
                    notional: lots * 100,
                    equity: e * 37,
                    offer: offer.min(lots),
                })
                .collect();
            sorted(c)
        })
    }

    proptest! {
        /// The fast selection is the lot-by-lot rule, with and without a
        /// loss per lot (either sign), for every `needed`.
        #[test]
        fn select_is_the_greedy_rule(c in candidates(), loss in -30i64..60, frac in 0.0f64..1.3) {
            let t = LotTerms { lot_value: 100, loss_per_lot: loss };
            let total: i64 = c.iter().map(|x| x.offer).sum();
            let needed = (total as f64 * frac).round() as i64;
            let mut got = Vec::new();
            let sum = select_lots(&c, t, needed, &mut got);
            prop_assert_eq!(sum, needed.min(total));
            prop_assert_eq!(got, greedy_lots(&c, t, needed));
        }

        /// The merge and the level's estimate and fix-up (each for every
        /// `needed`, on either side of [`MERGE_MAX`]) are the lot-by-lot
        /// rule, their buffers reused from one selection to the next.
        #[test]
        fn the_merge_is_the_greedy_rule(c in candidates(), loss in -30i64..60) {
            let t = LotTerms { lot_value: 100, loss_per_lot: loss };
            let total: i64 = c.iter().map(|x| x.offer).sum();
            let mut scratch = LotScratch::default();
            let mut got = Vec::new();
            for needed in 0..=total + 2 {
                let want = greedy_lots(&c, t, needed);
                let sum = select_by_merge(&c, t, needed, &mut got, &mut scratch);
                prop_assert_eq!(sum, needed.min(total));
                prop_assert_eq!(&got, &want);
                let sum = select_by_level(&c, t, needed, &mut got, &mut scratch.falling);
                prop_assert_eq!(sum, needed.min(total));
                prop_assert_eq!(&got, &want);
            }
        }

        /// The merge is the lot-by-lot rule where keys have no f64
        /// quotient (amounts of 2^53 µUSD and more) beside keys that have
        /// one: its entries then compare by the exact tokens.
        #[test]
        fn the_merge_is_the_greedy_rule_past_2_53(
            v in prop::collection::vec((0u32..6, 1i64..40, 1i64..12, 1i64..40, any::<bool>()), 1..24),
            big in any::<bool>(),
            loss in -30i64..60,
        ) {
            let s: i64 = if big { 1 << 45 } else { 1 };
            let c = sorted(v.into_iter().enumerate().map(|(k, (account, lots, e, offer, rich))| LevCandidate {
                account,
                slot: k as u32,
                notional: lots * 100 * s,
                equity: e * 37 * if rich { 1 << 45 } else { 1 },
                offer: offer.min(lots),
            }).collect());
            let t = LotTerms { lot_value: 100 * s, loss_per_lot: loss * s };
            let total: i64 = c.iter().map(|x| x.offer).sum();
            let mut scratch = LotScratch::default();
            let mut got = Vec::new();
            for needed in 0..=total + 2 {
                let sum = select_by_merge(&c, t, needed, &mut got, &mut scratch);
                prop_assert_eq!(sum, needed.min(total));
                prop_assert_eq!(&got, &greedy_lots(&c, t, needed));
                // And with one lot each first (its keys without quotients).
                let sum = select_lots_with(&c, t, needed, &mut got, &mut scratch);
                prop_assert_eq!(sum, needed.min(total));
                prop_assert_eq!(&got, &greedy_lots(&c, t, needed));
            }
        }

        /// A token's order (its f64 quotient first) is the exact order of
        /// its key `p / q`, then account, slot and `j`: quotients near and
        /// past 2^53, equal keys in other terms (`m·p / m·q`) and keys a
        /// unit apart.
        #[test]
        fn a_tokens_order_is_the_exact_one(
            p in prop_oneof![1i64..1000, (1i64 << 50)..(1i64 << 55)],
            q in prop_oneof![1i64..1000, (1i64 << 50)..(1i64 << 55)],
            m in 1i64..4,
            dp in -2i64..3,
            dq in -2i64..3,
            ids in (0u32..2, 0u32..2, 0i64..2, 0u32..2, 0u32..2, 0i64..2),
        ) {
            let (p2, q2) = (p * m + dp, (q * m + dq).max(1));
            let tok = |p: i64, q: i64, account: u32, slot: u32, j: i64| Token {
                p: i128::from(p),
                q: i128::from(q),
                key: token_ratio(i128::from(p), i128::from(q)),
                account,
                slot,
                i: 0,
                j,
            };
            let (a, b) = (tok(p, q, ids.0, ids.1, ids.2), tok(p2, q2, ids.3, ids.4, ids.5));
            let exact = (i128::from(p2) * i128::from(q))
                .cmp(&(i128::from(p) * i128::from(q2)))
                .then(ids.0.cmp(&ids.3))
                .then(ids.1.cmp(&ids.4))
                .then(ids.2.cmp(&ids.5));
            prop_assert_eq!(a.cmp(&b), exact);
            prop_assert_eq!(b.cmp(&a), exact.reverse());
        }

        /// [`select_lots_with`] (the merge or the level, as [`merges`]
        /// picks) is the lot-by-lot rule for every `needed`, few candidates
        /// offering many lots each (the level's side of the choice).
        #[test]
        fn the_choice_of_selection_is_the_greedy_rule(
            c in prop::collection::vec((0u32..6, 1i64..400, 1i64..12), 1..6),
            loss in -30i64..60,
        ) {
            let c = sorted(c.into_iter().enumerate().map(|(k, (account, lots, e))| LevCandidate {
                account,
                slot: k as u32,
                notional: lots * 100,
                equity: e * 3700,
                offer: lots,
            }).collect());
            let t = LotTerms { lot_value: 100, loss_per_lot: loss };
            let total: i64 = c.iter().map(|x| x.offer).sum();
            let mut scratch = LotScratch::default();
            let mut got = Vec::new();
            for needed in (0..=total + 2).step_by(7) {
                let sum = select_lots_with(&c, t, needed, &mut got, &mut scratch);
                prop_assert_eq!(sum, needed.min(total));
                prop_assert_eq!(&got, &greedy_lots(&c, t, needed));
            }
        }

        /// The lots of the head with its extras, when
        /// [`select_within_head`] finds they are the selection, are the
        /// lot-by-lot rule's, over those candidates and over any longer
        /// list they start; it finds them whenever the head's later tokens
        /// are few enough to be sure to fit ([`EXTRAS_MAX`]), and it leaves
        /// `lots` alone when it fails. Ties and amounts past 2^53 (keys
        /// without quotients) included.
        #[test]
        fn the_head_with_its_extras_is_the_greedy_rule(
            c in candidates(),
            loss in -30i64..60,
            spread in 1i64..4,
            big in any::<bool>(),
        ) {
            let s: i64 = if big { 1 << 45 } else { 1 };
            let c = sorted(c.into_iter().map(|x| LevCandidate {
                notional: x.notional * s,
                equity: x.equity * spread.pow(x.slot % 4) * if x.slot % 3 == 0 { s } else { 1 },
                ..x
            }).collect());
            let t = LotTerms { lot_value: 100 * s, loss_per_lot: loss * s };
            let mut scratch = LotScratch::default();
            for needed in 0..=c.len() as i64 + 1 {
                let all = greedy_lots(&c, t, needed);
                for m in 1..=c.len() {
                    let mut got = vec![-7];
                    let fast = select_within_head(&c[..m], t, needed, &mut got, &mut scratch);
                    if fast {
                        prop_assert_eq!(&got[..], &all[..m]);
                        prop_assert!(all[m..].iter().all(|&q| q == 0));
                        prop_assert_eq!(got.iter().sum::<i64>(), needed);
                    } else {
                        prop_assert_eq!(&got, &vec![-7]);
                    }
                    let n = needed as usize;
                    if needed > 0 && n <= m {
                        let later: i64 = c[..n].iter().map(|x| x.offer - 1).sum();
                        if later <= EXTRAS_MAX.max(n) as i64 {
                            prop_assert!(fast);
                        }
                    }
                }
            }
        }

        /// [`Extra`]'s order and [`first_token_before`] (exact cross
        /// products, no quotient) are [`Token`]'s order: keys near and past
        /// 2^53, equal keys in other terms (`m·p / m·q`), keys a unit
        /// apart, and every tie of account, slot and `j`.
        #[test]
        fn an_extras_order_is_the_tokens(
            p in prop_oneof![1i64..1000, (1i64 << 50)..(1i64 << 60)],
            q in prop_oneof![1i64..1000, (1i64 << 50)..(1i64 << 60)],
            m in 1i64..4,
            dp in -2i64..3,
            dq in -2i64..3,
            ids in (0u32..2, 0u32..2, 1u32..3, 0u32..2, 0u32..2, 1u32..3),
        ) {
            let (p2, q2) = (p * m + dp, (q * m + dq).max(1));
            let extra = |p: i64, q: i64, account: u32, slot: u32, j: u32| Extra { p, q, account, slot, i: 0, j };
            let tok = |p: i64, q: i64, account: u32, slot: u32, j: i64| Token {
                p: i128::from(p),
                q: i128::from(q),
                key: token_ratio(i128::from(p), i128::from(q)),
                account,
                slot,
                i: 0,
                j,
            };
            let (a, b) = (extra(p, q, ids.0, ids.1, ids.2), extra(p2, q2, ids.3, ids.4, ids.5));
            let (ta, tb) = (
                tok(p, q, ids.0, ids.1, i64::from(ids.2)),
                tok(p2, q2, ids.3, ids.4, i64::from(ids.5)),
            );
            prop_assert_eq!(a.cmp(&b), ta.cmp(&tb));
            prop_assert_eq!(b.cmp(&a), tb.cmp(&ta));
            // A candidate holding key p / q: its first token against b.
            let c = LevCandidate { account: ids.0, slot: ids.1, notional: p, equity: q, offer: 1 };
            prop_assert_eq!(first_token_before(&c, &b), tok(p, q, ids.0, ids.1, 0) < tb);
        }

        /// A selection over a prefix that ends before the next candidate's
        /// first token is the selection over all.
        #[test]
        fn a_prefix_that_ends_before_the_next_is_the_whole(c in candidates(), loss in -30i64..60, needed in 1i64..60) {
            let t = LotTerms { lot_value: 100, loss_per_lot: loss };
            let all = greedy_lots(&c, t, needed);
            for m in 1..c.len() {
                let mut got = Vec::new();
                select_lots(&c[..m], t, needed, &mut got);
                if got.iter().sum::<i64>() == needed && ends_before(&c[..m], t, &got, &c[m]) {
                    prop_assert_eq!(&got[..], &all[..m]);
                    prop_assert!(all[m..].iter().all(|&q| q == 0));
                }
            }
        }

        /// `ends_before` (f64 keys first) answers as the comparison of
        /// the whole tokens does, for any lots per candidate (ties of keys
        /// and candidates whose tokens do not fall included).
        #[test]
        fn ends_before_compares_as_the_whole_tokens(c in candidates(), loss in -30i64..60, cut in 0u64..u64::MAX) {
            let t = LotTerms { lot_value: 100, loss_per_lot: loss };
            let m = 1 + (cut % c.len() as u64) as usize;
            if m < c.len() {
                let lots: Vec<i64> = c[..m]
                    .iter()
                    .enumerate()
                    .map(|(i, x)| ((cut >> (i % 32)) % (x.offer.unsigned_abs() + 1)) as i64)
                    .collect();
                let tok = |x: &LevCandidate, j: i64| token_of(x, t, falls(x, t), 0, j);
                let plain = c[..m]
                    .iter()
                    .zip(&lots)
                    .filter(|(_, q)| **q > 0)
                    .all(|(x, &q)| tok(x, q - 1) < tok(&c[m], 0));
                prop_assert_eq!(ends_before(&c[..m], t, &lots, &c[m]), plain);
            }
        }

        /// [`lots_keep_equity`] in `i64` is `falls`' second test in `i128`
        /// for any amounts: products past either end of `i64`, a loss per
        /// lot of 0 and of either sign, equities of either sign.
        #[test]
        fn lots_keep_equity_is_the_i128_test(
            offer in prop_oneof![2i64..50, 2i64..=i64::MAX],
            loss in prop_oneof![-3i64..4, any::<i64>()],
            equity in prop_oneof![-3i64..200, any::<i64>()],
        ) {
            let c = LevCandidate { account: 0, slot: 0, notional: 1, equity, offer };
            let t = LotTerms { lot_value: 1, loss_per_lot: loss };
            let plain =
                i128::from(equity) - i128::from(offer - 1) * i128::from(loss) > 0;
            prop_assert_eq!(lots_keep_equity(&c, t), plain);
        }

        /// [`head_extras`] (one test a candidate, its later tokens out of
        /// line, `falls`' second test in `i64`) collects the
        /// same extras, in the same order, and declines the same heads as
        /// the plain loop: every prefix of sorted candidates, a loss per
        /// lot of either sign, equal keys, offers of 0 and 1, the cap of
        /// extras reached, amounts past 2^53 and near `i64`'s ends (a token
        /// leaving `i64`), the empty head.
        #[test]
        fn head_extras_is_the_plain_loop(
            c in candidates(),
            loss in -30i64..60,
            lot in 1i64..150,
            scale in prop_oneof![Just(1i64), Just(1i64 << 45), Just(1i64 << 55)],
            zero_offer in any::<bool>(),
        ) {
            let c = sorted(c.into_iter().map(|x| LevCandidate {
                notional: x.notional.saturating_mul(scale),
                equity: x.equity.saturating_mul(scale),
                offer: if zero_offer && x.slot == 3 { 0 } else { x.offer },
                ..x
            }).collect());
            let t = LotTerms {
                lot_value: lot.saturating_mul(scale),
                loss_per_lot: loss.saturating_mul(scale),
            };
            let fields = |e: &[Extra]| -> Vec<(i64, i64, u32, u32, u32, u32)> {
                e.iter().map(|x| (x.p, x.q, x.account, x.slot, x.i, x.j)).collect()
            };
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for m in 0..=c.len() {
                let fast = head_extras(&c[..m], t, &mut got);
                let plain = head_extras_plain(&c[..m], t, &mut want);
                prop_assert_eq!(fast, plain);
                if fast {
                    prop_assert_eq!(fields(&got), fields(&want));
                }
            }
        }
    }

    /// [`head_extras`] as it was before its one test a candidate and its
    /// later tokens out of line (round 25, branch `minmax29`): the loop
    /// over every token of each candidate, `falls`' second test in `i128`
    /// and [`token_order`] for each; the reference of
    /// `head_extras_is_the_plain_loop`.
    fn head_extras_plain(head: &[LevCandidate], t: LotTerms, extras: &mut Vec<Extra>) -> bool {
        extras.clear();
        let Some(last) = head.last() else {
            return false;
        };
        // Every `i` and `j` below fits in `u32`.
        if u32::try_from(head.len()).map_or(true, |n| n == u32::MAX) {
            return false;
        }
        let cap = EXTRAS_MAX.max(head.len());
        let last_first = first_rank(last);
        let (v, l) = (i128::from(t.lot_value), i128::from(t.loss_per_lot));
        // [`falls`]' first test, `ℓ·N ≤ E·v`, is `N / E ≤ v / ℓ` for `ℓ > 0`
        // (and holds for `ℓ ≤ 0`): when the first candidate, the most levered,
        // passes it, every candidate does, so it is made once.
        let all_slow = l * i128::from(head[0].notional) <= i128::from(head[0].equity) * v;
        for (i, c) in head.iter().enumerate() {
            if c.offer <= 1 {
                if c.offer < 1 {
                    return false;
                }
                continue;
            }
            let (n, e) = (i128::from(c.notional), i128::from(c.equity));
            let falling = (all_slow || l * n <= e * v) && e - i128::from(c.offer - 1) * l > 0;
            debug_assert!(
                falling == falls(c, t),
                "Invariant: the first candidate's test holds for all"
            );
            // Token `j`'s amounts, one lot at a time: `N − j·v` and `E − j·ℓ`
            // (every amount between two in `i64` is in it).
            let (mut p, mut q) = (c.notional, c.equity);
            let mut j = 1;
            while j < c.offer {
                if falling {
                    let (Some(p1), Some(q1)) =
                        (p.checked_sub(t.lot_value), q.checked_sub(t.loss_per_lot))
                    else {
                        return false;
                    };
                    (p, q) = (p1, q1);
                }
                // On equal keys a later token of `c` comes before the last's
                // first iff `c` comes before the last by account, then slot (the
                // last's own later tokens come after its first: `j` decides).
                let rank = (i128::from(p), i128::from(q), c.account, c.slot, j);
                let before = token_order(rank, last_first) == Ordering::Less;
                debug_assert!(
                    before
                        == (token_of(c, t, falling, i, j)
                            < token_of(last, t, falls(last, t), 0, 0)),
                    "Invariant: the cross products order two tokens as Token does"
                );
                if !before {
                    break;
                }
                if extras.len() == cap {
                    return false;
                }
                extras.push(Extra {
                    p,
                    q,
                    account: c.account,
                    slot: c.slot,
                    i: i as u32,
                    j: j as u32,
                });
                j += 1;
            }
        }
        true
    }

    /// A later token whose equity leaves `i64` (a loss per lot of about
    /// −2^62 on an equity of 2^62: the key's denominator is past 2^63)
    /// sends the close to the general path, which is exact in `i128`; read
    /// with wrapped amounts its key would be negative and the cross
    /// products would put it before the last first token, one lot too many
    /// for the first candidate.
    #[test]
    fn a_token_past_i64_leaves_the_head_to_the_general_path() {
        let e = 1i64 << 62;
        let c = sorted(vec![
            LevCandidate {
                account: 1,
                slot: 1,
                notional: 1 << 41,
                equity: e,
                offer: 2,
            },
            LevCandidate {
                account: 2,
                slot: 2,
                notional: 1 << 40,
                equity: e,
                offer: 2,
            },
        ]);
        let t = LotTerms {
            lot_value: 1,
            loss_per_lot: -(e + 1),
        };
        assert!(falls(&c[0], t), "its tokens fall");
        let mut scratch = LotScratch::default();
        let mut got = vec![-7];
        assert!(!select_within_head(&c, t, 2, &mut got, &mut scratch));
        assert_eq!(got, vec![-7], "left as it was");
        for needed in 0..=5 {
            let sum = select_lots_with(&c, t, needed, &mut got, &mut scratch);
            assert_eq!(sum, needed.min(4));
            assert_eq!(got, greedy_lots(&c, t, needed));
        }
        assert_eq!(greedy_lots(&c, t, 2), vec![1, 1]);
    }

    #[test]
    fn the_most_levered_gives_until_it_meets_the_next() {
        // Leverage 20 (100 lots of 100 on 500) and 2 (100 lots on 5,000), no
        // loss per lot. After 90 lots the first is at 1,000 / 500 = 2: its
        // 91st lot (key 2) ties with the second's first and goes first (lower
        // account); its 92nd (key 900 / 500 = 1.8) comes after the second's
        // second (9,900 / 5,000 = 1.98).
        let c = sorted(vec![
            LevCandidate {
                account: 1,
                slot: 1,
                notional: 10_000,
                equity: 500,
                offer: 100,
            },
            LevCandidate {
                account: 2,
                slot: 2,
                notional: 10_000,
                equity: 5_000,
                offer: 100,
            },
        ]);
        let t = LotTerms {
            lot_value: 100,
            loss_per_lot: 0,
        };
        let mut got = Vec::new();
        select_lots(&c, t, 91, &mut got);
        assert_eq!(got, vec![91, 0]);
        select_lots(&c, t, 92, &mut got);
        assert_eq!(got, vec![91, 1]);
        assert_eq!(greedy_lots(&c, t, 92), got);
        // Everything offered.
        select_lots(&c, t, 200, &mut got);
        assert_eq!(got, vec![100, 100]);
    }
}
