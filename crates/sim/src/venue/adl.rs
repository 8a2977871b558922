//! Auto-deleveraging: who is closed against a bankrupt position, and how much.
//!
//! When the insurance fund cannot pay a deficit, the venue closes the bankrupt
//! position against accounts on the other side at the bankruptcy price. This
//! module decides the allocation; the engine books the trades. Policies:
//!
//! - **queue**: rank candidates by a venue's score ([`AdlRanking`]: BitMEX, Binance,
//!   Hyperliquid) and close in rank order, partially for the last one;
//! - **dydx**: walk the candidates (ordered by account) from a pseudo-random start
//!   (the engine walks the opposite side's open positions itself, drawing the start
//!   over all of them as dYdX v4 does: `engine/adl_dydx.rs`);
//! - **pro_rata**: every candidate reduced by the same fraction (largest remainder
//!   for the last lots);
//! - **min_max_leverage**: water-filling to the lot: each lot from the candidate
//!   whose leverage is highest before that lot, so the most levered are
//!   deleveraged first until leverages meet (the optimum of the risk-based ADL
//!   formulation; exact integer rule in [`super::adl_min_max`]);
//! - **water_fill_pnl**, **capped_pro_rata**, **min_pnl_haircut**: the
//!   literature's, in [`super::adl_policies`].
//!
//! Every policy closes exactly `min(needed, Σ candidate lots)` lots and never more
//! than a candidate holds. Ties are broken by account index, so allocations are
//! deterministic.

use rand::RngExt;

use super::adl_min_max::{LevCandidate, LotTerms, greedy_lots, lev_order, select_lots};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much of a bankrupt position goes to ADL when the fund is short (the
/// scenario's `last_line.scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdlScope {
    /// The whole position (Binance, Hyperliquid): the fund pays nothing.
    Position,
    /// Only the part whose deficit the fund cannot pay.
    Shortfall,
}

pub use super::adl_candidate::{AdlCandidate, AdlFillTarget};

/// A venue's ADL ranking: higher score is deleveraged first.
pub trait AdlRanking: Send + Sync {
    /// Score of a candidate (higher = closed earlier).
    fn score(&self, c: &AdlCandidate) -> f64;
}

/// BitMEX: `pnl% × effective leverage` when `pnl% > 0`, else `pnl% / effective
/// leverage`; effective leverage = mark value / (mark value − bankrupt value),
/// i.e. notional / equity for the account.
#[derive(Clone, Copy, Debug, Default)]
pub struct BitmexRanking;

impl AdlRanking for BitmexRanking {
    fn score(&self, c: &AdlCandidate) -> f64 {
        let pnl_pct = c.pnl / c.entry_value.max(1e-12);
        let leverage = c.notional / c.equity.max(1e-6);
        if pnl_pct > 0.0 {
            pnl_pct * leverage
        } else {
            pnl_pct / leverage
        }
    }
}

/// Binance: `pnl% × margin ratio` with `pnl% = max(0, upnl) / max(1, wallet
/// balance)` and `margin ratio = maintenance / (wallet balance + upnl)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BinanceRanking;

impl AdlRanking for BinanceRanking {
    fn score(&self, c: &AdlCandidate) -> f64 {
        let pnl_pct = c.pnl.max(0.0) / c.wallet.max(1.0);
        let margin_ratio = c.maintenance / c.equity.max(1e-6);
        pnl_pct * margin_ratio
    }
}

/// Hyperliquid: `(mark / entry) × (notional / account value)` for longs, as the
/// venue documents it
/// (<https://hyperliquid.gitbook.io/hyperliquid-docs/trading/auto-deleveraging>);
/// for shorts the price factor is `2 − mark / entry`. Both sides are
/// `1 + pnl / entry value`, one plus the position's return on entry: a long
/// up 10% and a short up 10% (mark 10% below entry) score 1.1 × leverage.
/// (`entry / mark` for shorts, which an earlier comment said, would give the
/// short 1.111 and rank it above an equally profitable long.)
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperliquidRanking;

impl AdlRanking for HyperliquidRanking {
    fn score(&self, c: &AdlCandidate) -> f64 {
        let price_ratio = 1.0 + c.pnl / c.entry_value.max(1e-12);
        price_ratio * c.notional / c.equity.max(1e-6)
    }
}

/// How ADL allocates a deficit position over the candidates.
pub enum AdlPolicy {
    /// Ranked queue.
    Queue(Box<dyn AdlRanking>),
    /// dYdX v4: walk from a pseudo-random start, no ranking. In the engine the
    /// start is drawn over the opposite side's open positions, not over the
    /// candidates [`allocate`] is given (docs/model.md §6).
    DydxWalk,
    /// Same fraction from everyone.
    ProRata,
    /// Water-filling on leverage.
    MinMaxLeverage,
    /// Water-filling on PnL ([`super::adl_policies::water_fill_pnl`]).
    WaterFillPnl,
    /// Pro-rata with no winner losing more than `cap` of its PnL unless all are
    /// at the cap ([`super::adl_policies::capped_pro_rata`]).
    CappedProRata {
        /// Largest share of a position (hence of its PnL) one ADL close takes.
        cap: f64,
    },
    /// The allocation taking the least PnL from the winners
    /// ([`super::adl_policies::min_pnl_haircut_order`]).
    MinPnlHaircut,
}

impl AdlPolicy {
    /// Whether the allocation reads a candidate's `maintenance` and `wallet`
    /// (its account's margin state, the costliest fields to compute): only the
    /// ranked queue does (Binance's score). For the other policies the engine
    /// leaves both at 0 rather than compute them for every candidate of every
    /// bankrupt position.
    pub fn reads_margin(&self) -> bool {
        matches!(self, AdlPolicy::Queue(_))
    }
}

/// Allocates `needed` lots over `candidates`, writing `(candidate index, lots)` into
/// `fills` (cleared first). Returns the lots allocated: `min(needed, Σ lots)`.
///
/// `candidates` may be reordered. O(c log c) for the queue, O(c) for the walk and
/// pro-rata, O(c log c) for `min_max_leverage`.
pub fn allocate(
    policy: &AdlPolicy,
    candidates: &mut [AdlCandidate],
    needed: i64,
    rng: &mut ChaCha8Rng,
    fills: &mut Vec<(usize, i64)>,
) -> i64 {
    fills.clear();
    if needed <= 0 || candidates.is_empty() {
        return 0;
    }
    let total: i64 = candidates.iter().map(|c| c.lots).sum();
    if total <= needed {
        fills.extend(candidates.iter().enumerate().map(|(i, c)| (i, c.lots)));
        return total;
    }
    match policy {
        AdlPolicy::Queue(ranking) => {
            candidates.sort_by(|a, b| {
                ranking
                    .score(b)
                    .total_cmp(&ranking.score(a))
                    .then(a.account.cmp(&b.account))
                    .then(a.slot.cmp(&b.slot))
            });
            fill_in_order(candidates, 0, needed, fills)
        }
        AdlPolicy::DydxWalk => {
            candidates.sort_by_key(|c| (c.account, c.slot));
            let start = rng.random_range(0..candidates.len());
            fill_in_order(candidates, start, needed, fills)
        }
        AdlPolicy::ProRata => {
            let shares: Vec<f64> = candidates
                .iter()
                .map(|c| needed as f64 * c.lots as f64 / total as f64)
                .collect();
            round_shares(candidates, &shares, needed, fills)
        }
        AdlPolicy::MinMaxLeverage => min_max_leverage(candidates, needed, fills),
        AdlPolicy::WaterFillPnl => {
            let shares = super::adl_policies::water_fill_pnl(candidates, needed);
            round_shares(candidates, &shares, needed, fills)
        }
        AdlPolicy::MinPnlHaircut => {
            let mut left = needed;
            for i in super::adl_policies::min_pnl_haircut_order(candidates) {
                if left == 0 {
                    break;
                }
                let take = candidates[i].lots.min(left);
                fills.push((i, take));
                left -= take;
            }
            needed - left
        }
        AdlPolicy::CappedProRata { cap } => {
            let (shares, _lifted) = super::adl_policies::capped_pro_rata(candidates, needed, *cap);
            round_shares(candidates, &shares, needed, fills)
        }
    }
}

/// Closes candidates in slice order starting at `start` (wrapping), partially for
/// the last.
fn fill_in_order(
    candidates: &[AdlCandidate],
    start: usize,
    needed: i64,
    fills: &mut Vec<(usize, i64)>,
) -> i64 {
    let mut left = needed;
    let n = candidates.len();
    for k in 0..n {
        if left == 0 {
            break;
        }
        let i = (start + k) % n;
        let take = candidates[i].lots.min(left);
        fills.push((i, take));
        left -= take;
    }
    needed - left
}

/// Rounds real-valued shares (each ≤ its candidate's lots, summing to `needed`) to
/// integer lots summing exactly to `needed`: floors, then one more lot to the
/// largest fractional parts (ties by account), never above a candidate's lots.
fn round_shares(
    candidates: &[AdlCandidate],
    shares: &[f64],
    needed: i64,
    fills: &mut Vec<(usize, i64)>,
) -> i64 {
    let mut lots: Vec<i64> = shares
        .iter()
        .zip(candidates)
        .map(|(s, c)| (s.floor() as i64).clamp(0, c.lots))
        .collect();
    let mut left = needed - lots.iter().sum::<i64>();
    let frac: Vec<f64> = shares.iter().map(|s| s - s.floor()).collect();
    // Largest fractional part first, ties by account, then by index (the order
    // a stable sort by the first two leaves).
    let before = |a: &usize, b: &usize| {
        frac[*b]
            .total_cmp(&frac[*a])
            .then(candidates[*a].account.cmp(&candidates[*b].account))
            .then(a.cmp(b))
    };
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    // The first `left` of that order, found in O(c) rather than by a full sort:
    // when every one of them can take one more lot, the pass below gives one to
    // each of them and to nobody else, in any order.
    let k = usize::try_from(left).unwrap_or(0);
    if k > 0 && k < order.len() {
        order.select_nth_unstable_by(k - 1, before);
        if order[..k].iter().all(|&i| lots[i] < candidates[i].lots) {
            for &i in &order[..k] {
                lots[i] += 1;
            }
            left = 0;
        }
    }
    if left > 0 {
        order.sort_unstable_by(before);
    }
    // Usually one pass; more only when floors were clamped.
    while left > 0 {
        let before = left;
        for &i in &order {
            if left == 0 {
                break;
            }
            if lots[i] < candidates[i].lots {
                lots[i] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    fills.extend(
        lots.iter()
            .enumerate()
            .filter(|(_, l)| **l > 0)
            .map(|(i, l)| (i, *l)),
    );
    needed - left
}

/// `min_max_leverage` ([`super::adl_min_max`]): each lot from the candidate
/// whose leverage is highest before that lot, on the candidates' USD fields
/// rounded to micro-USD (the engine reads its integer ledger directly). The
/// lot value and loss per lot are the first candidate's (one close: common to
/// all).
fn min_max_leverage(
    candidates: &[AdlCandidate],
    needed: i64,
    fills: &mut Vec<(usize, i64)>,
) -> i64 {
    let micros = |usd: f64| (usd * 1e6).round() as i64;
    let terms = LotTerms {
        lot_value: micros(candidates[0].lot_value).max(1),
        loss_per_lot: micros(candidates[0].loss_per_lot),
    };
    let mut order: Vec<(usize, LevCandidate)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let lev = LevCandidate {
                account: c.account,
                slot: c.slot,
                notional: micros(c.notional),
                equity: micros(c.equity).max(1),
                offer: c.lots,
            };
            (i, lev)
        })
        .collect();
    order.sort_by(|a, b| lev_order(&a.1, &b.1).then(a.0.cmp(&b.0)));
    let levs: Vec<LevCandidate> = order.iter().map(|x| x.1).collect();
    let lots = greedy_or_select(&levs, terms, needed);
    fills.extend(
        order
            .iter()
            .zip(&lots)
            .filter(|(_, q)| **q > 0)
            .map(|((i, _), &q)| (*i, q)),
    );
    lots.iter().sum()
}

/// The exact selection of [`super::adl_min_max`] (the lot-by-lot rule when
/// two candidates share an (account, slot), which the selection's order
/// cannot tell apart).
fn greedy_or_select(levs: &[LevCandidate], terms: LotTerms, needed: i64) -> Vec<i64> {
    let distinct = levs
        .windows(2)
        .all(|w| lev_order(&w[0], &w[1]) == std::cmp::Ordering::Less);
    if !distinct {
        return greedy_lots(levs, terms, needed);
    }
    let mut lots = Vec::new();
    select_lots(levs, terms, needed, &mut lots);
    lots
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cand(account: u32, lots: i64, pnl: f64, equity: f64) -> AdlCandidate {
        AdlCandidate {
            account,
            slot: account,
            lots,
            pnl,
            entry_value: lots as f64 * 10.0,
            notional: lots as f64 * 10.0 + pnl,
            equity,
            wallet: equity - pnl,
            maintenance: lots as f64 * 0.05,
            loss_per_lot: 0.1,
            lot_value: 10.0 + pnl / lots as f64,
        }
    }

    fn run(policy: &AdlPolicy, cands: &mut [AdlCandidate], needed: i64) -> (i64, Vec<(u32, i64)>) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut fills = Vec::new();
        let got = allocate(policy, cands, needed, &mut rng, &mut fills);
        let mut by_account: Vec<(u32, i64)> =
            fills.iter().map(|&(i, l)| (cands[i].account, l)).collect();
        by_account.sort();
        (got, by_account)
    }

    #[test]
    fn queue_closes_highest_score_first_and_partially_the_last() {
        // Account 2 has the highest pnl% × leverage.
        let mut c = vec![
            cand(1, 10, 5.0, 50.0),
            cand(2, 10, 50.0, 60.0),
            cand(3, 10, 1.0, 100.0),
        ];
        let (got, fills) = run(&AdlPolicy::Queue(Box::new(BitmexRanking)), &mut c, 15);
        assert_eq!(got, 15);
        assert_eq!(fills, vec![(1, 5), (2, 10)]);
    }

    #[test]
    fn every_policy_closes_exactly_what_is_needed_and_never_more_than_held() {
        let base = vec![
            cand(1, 7, 5.0, 20.0),
            cand(2, 13, 40.0, 30.0),
            cand(3, 3, 1.0, 90.0),
            cand(4, 21, 9.0, 15.0),
        ];
        let policies = [
            AdlPolicy::Queue(Box::new(BitmexRanking)),
            AdlPolicy::Queue(Box::new(BinanceRanking)),
            AdlPolicy::Queue(Box::new(HyperliquidRanking)),
            AdlPolicy::DydxWalk,
            AdlPolicy::ProRata,
            AdlPolicy::MinMaxLeverage,
        ];
        for p in &policies {
            for needed in [1, 10, 25, 43, 44, 100] {
                let mut c = base.clone();
                let (got, fills) = run(p, &mut c, needed);
                assert_eq!(got, needed.min(44));
                assert_eq!(fills.iter().map(|f| f.1).sum::<i64>(), got);
                for (acct, l) in fills {
                    let held = base.iter().find(|c| c.account == acct).unwrap().lots;
                    assert!(l > 0 && l <= held, "account {acct} closed {l} of {held}");
                }
            }
        }
    }

    /// Hyperliquid's documented score, both sides. A long from 100 to 110 and a
    /// short from 100 to 90, each 1 unit at leverage 2 at the mark: the long
    /// scores (110 / 100) × (110 / 55) = 2.2; the short (2 − 90 / 100) × (90 / 45)
    /// = 2.2 too (with `entry / mark` it would be 2.2222…, ranked first).
    #[test]
    fn hyperliquid_score_is_mark_over_entry_for_longs_and_two_minus_it_for_shorts() {
        let side = |entry: f64, mark: f64, long: bool, equity: f64| AdlCandidate {
            account: 0,
            slot: 0,
            lots: 1,
            pnl: if long { mark - entry } else { entry - mark },
            entry_value: entry,
            notional: mark,
            equity,
            wallet: equity,
            maintenance: 0.0,
            loss_per_lot: 0.0,
            lot_value: mark,
        };
        let h = HyperliquidRanking;
        let long = h.score(&side(100.0, 110.0, true, 55.0));
        let short = h.score(&side(100.0, 90.0, false, 45.0));
        assert!((long - 1.1 * 2.0).abs() < 1e-12, "long {long}");
        assert!((short - (2.0 - 0.9) * 2.0).abs() < 1e-12, "short {short}");
        // A losing short (mark above entry) scores below its leverage.
        let loser = h.score(&side(100.0, 120.0, false, 60.0));
        assert!((loser - 0.8 * 2.0).abs() < 1e-12, "losing short {loser}");
    }

    /// The rounding of the shares before its O(c) selection: a full stable
    /// sort by fractional part (largest first), ties by account.
    fn round_shares_by_full_sort(
        candidates: &[AdlCandidate],
        shares: &[f64],
        needed: i64,
    ) -> (i64, Vec<(usize, i64)>) {
        let mut lots: Vec<i64> = shares
            .iter()
            .zip(candidates)
            .map(|(s, c)| (s.floor() as i64).clamp(0, c.lots))
            .collect();
        let mut left = needed - lots.iter().sum::<i64>();
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            let fa = shares[a] - shares[a].floor();
            let fb = shares[b] - shares[b].floor();
            fb.total_cmp(&fa)
                .then(candidates[a].account.cmp(&candidates[b].account))
        });
        while left > 0 {
            let before = left;
            for &i in &order {
                if left == 0 {
                    break;
                }
                if lots[i] < candidates[i].lots {
                    lots[i] += 1;
                    left -= 1;
                }
            }
            if left == before {
                break;
            }
        }
        let fills = lots
            .iter()
            .enumerate()
            .filter(|(_, l)| **l > 0)
            .map(|(i, l)| (i, *l))
            .collect();
        (needed - left, fills)
    }

    #[test]
    fn rounding_by_selection_is_the_full_sort_s() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..2000 {
            let n = rng.random_range(1..40usize);
            // Few distinct sizes and accounts: ties in fractional parts and in
            // accounts (two slots of one account) are common.
            let cands: Vec<AdlCandidate> = (0..n)
                .map(|i| {
                    let mut c = cand(
                        rng.random_range(0..8u32),
                        rng.random_range(1..6i64),
                        1.0,
                        10.0,
                    );
                    c.slot = i as u32;
                    c
                })
                .collect();
            let total: i64 = cands.iter().map(|c| c.lots).sum();
            let needed = rng.random_range(1..=total);
            let shares: Vec<f64> = if case % 3 == 0 {
                // Shares that clamp: some above the candidate's lots.
                cands
                    .iter()
                    .map(|c| c.lots as f64 * rng.random_range(0.0..1.5))
                    .collect()
            } else {
                cands
                    .iter()
                    .map(|c| needed as f64 * c.lots as f64 / total as f64)
                    .collect()
            };
            let mut fills = Vec::new();
            let got = round_shares(&cands, &shares, needed, &mut fills);
            assert_eq!(
                (got, fills),
                round_shares_by_full_sort(&cands, &shares, needed),
                "case {case}"
            );
        }
    }

    #[test]
    fn pro_rata_takes_the_same_fraction() {
        let mut c = vec![cand(1, 100, 1.0, 10.0), cand(2, 300, 1.0, 10.0)];
        let (_, fills) = run(&AdlPolicy::ProRata, &mut c, 200);
        assert_eq!(fills, vec![(1, 50), (2, 150)]);
    }

    #[test]
    fn min_max_leverage_hits_the_most_levered_first() {
        // Account 1: leverage 100/5 = 20; account 2: 100/50 = 2.
        let mut c = vec![cand(1, 10, 0.0, 5.0), cand(2, 10, 0.0, 50.0)];
        let (_, fills) = run(&AdlPolicy::MinMaxLeverage, &mut c, 3);
        assert_eq!(fills, vec![(1, 3)]);
    }
}
