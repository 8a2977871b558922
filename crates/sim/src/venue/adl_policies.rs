//! The ADL allocations of the literature beside the venues' (docs/model.md §6,
//! "ADL policies of the literature"): water-filling on PnL and capped pro-rata.
//!
//! Both work on a candidate's **PnL share**: closing `q` of the `held` lots of a
//! position takes `q / held` of its unrealized PnL (the PnL-haircut domain of
//! Chitra et al., arXiv 2602.15182: ADL takes positive PnL, not principal).
//! Both return real-valued shares, each at most the candidate's offer, summing
//! to `needed`; [`super::adl`] rounds them to whole lots.

use super::adl_candidate::AdlCandidate;

/// Lots the candidate's whole position holds (`notional / lot value`) (its offer may be less: limited to
/// what its equity absorbs).
pub fn held(c: &AdlCandidate) -> f64 {
    if c.lot_value > 0.0 {
        (c.notional / c.lot_value).round().max(c.lots as f64)
    } else {
        c.lots as f64
    }
}

/// Bisection on a level in `[lo, hi]` for `closed(level) = needed`, where
/// `closed` falls (`decreasing`) or rises with the level; returns the level
/// at which at least `needed` is closed.
fn solve(lo: f64, hi: f64, decreasing: bool, needed: f64, closed: impl Fn(f64) -> f64) -> f64 {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        let enough = closed(mid) >= needed;
        if enough == decreasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if decreasing { lo } else { hi }
}

/// Scales raw shares to sum exactly to `needed` (each still at most its offer).
fn scaled(raw: Vec<f64>, candidates: &[AdlCandidate], needed: i64) -> Vec<f64> {
    let sum: f64 = raw.iter().sum();
    let scale = if sum > 0.0 { needed as f64 / sum } else { 0.0 };
    raw.iter()
        .zip(candidates)
        .map(|(r, c)| (r * scale).min(c.lots as f64))
        .collect()
}

/// Water-filling on PnL: the level `Λ` such that cutting every position whose
/// unrealized PnL exceeds `Λ` down to `Λ` (closing `held × (1 − Λ / pnl)` lots,
/// at most its offer) closes `needed` lots. The largest winners give first;
/// no winner is left with less PnL than one that gave less. The PnL analogue of
/// the leverage-draining rule of Campbell, Hey, Moallemi and Nutz (arXiv
/// 2603.15963), which [`super::adl::AdlPolicy::MinMaxLeverage`] implements.
pub fn water_fill_pnl(candidates: &[AdlCandidate], needed: i64) -> Vec<f64> {
    let lots_at = |c: &AdlCandidate, level: f64| -> f64 {
        if c.pnl <= level {
            return 0.0;
        }
        (held(c) * (1.0 - level / c.pnl)).clamp(0.0, c.lots as f64)
    };
    let top = candidates.iter().map(|c| c.pnl).fold(0.0, f64::max);
    let level = solve(0.0, top, true, needed as f64, |l| {
        candidates.iter().map(|c| lots_at(c, l)).sum()
    });
    let raw = candidates.iter().map(|c| lots_at(c, level)).collect();
    scaled(raw, candidates, needed)
}

/// Capped pro-rata (the capped haircut of arXiv 2602.15182): every candidate
/// gives the same share `φ` of its position (hence of its PnL), each at most
/// `cap` of it and at most its offer; what a capped candidate cannot give is
/// spread over the others by raising `φ`. Only when every candidate is at its
/// cap and that is not enough is the cap lifted: the rest is taken pro-rata to
/// what each still offers. Returns the shares and whether the cap was lifted.
pub fn capped_pro_rata(candidates: &[AdlCandidate], needed: i64, cap: f64) -> (Vec<f64>, bool) {
    let limit = |c: &AdlCandidate| (cap * held(c)).floor().min(c.lots as f64);
    let capacity: f64 = candidates.iter().map(limit).sum();
    if capacity < needed as f64 {
        // Everyone at the cap; the rest pro-rata to the remaining offers.
        let rest = needed as f64 - capacity;
        let left: f64 = candidates.iter().map(|c| c.lots as f64 - limit(c)).sum();
        let raw: Vec<f64> = candidates
            .iter()
            .map(|c| {
                let extra = c.lots as f64 - limit(c);
                limit(c) + if left > 0.0 { rest * extra / left } else { 0.0 }
            })
            .collect();
        return (scaled(raw, candidates, needed), true);
    }
    let lots_at = |c: &AdlCandidate, phi: f64| (phi * held(c)).min(limit(c));
    let phi = solve(0.0, 1.0, false, needed as f64, |phi| {
        candidates.iter().map(|c| lots_at(c, phi)).sum()
    });
    let raw = candidates.iter().map(|c| lots_at(c, phi)).collect();
    (scaled(raw, candidates, needed), false)
}
