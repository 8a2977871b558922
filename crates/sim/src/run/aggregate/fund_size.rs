//! The fund a depletion target needs (docs/model.md §7c), from the paths'
//! uncensored needs: no sweep over fund sizes.
//!
//! A fund `F` with floor `f` depletes on a path exactly when the path's need
//! `N > F − f` (or `N = F − f` reached at a step's end, a tie of one micro-USD
//! that is counted below), so `P(depletion at F)` is the share of paths with
//! `N ≥ F − f`, taken conservatively, and the fund for a target `p` is
//! `f` plus an upper order statistic of the needs.

use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};

use super::{CONFIDENCE, probability};

/// Depletion probabilities the sizing reports by default.
pub const DEFAULT_TARGETS: [f64; 3] = [0.1, 0.01, 0.001];

/// The fund one depletion target needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FundForTarget {
    /// The target: P(depletion) ≤ `p`.
    pub p: f64,
    /// The smallest fund (USD) at which at most `⌊p n⌋` of the `n` paths
    /// deplete: `f + N₍ₖ₎`, `k = n − ⌊p n⌋` (order statistics ascending).
    pub fund: f64,
    /// 95% distribution-free interval of the `(1 − p)` quantile of `f + N`
    /// from order statistics (`[f + N₍ₗ₎, f + N₍ᵤ₎]`); the upper end is `None`
    /// when the run has too few paths to bound it.
    pub ci95: [Option<f64>; 2],
    /// Whether the run supports the target: its upper bound exists.
    pub supported: bool,
    /// Paths a run needs for the upper bound to exist: the smallest `n` with
    /// `(1 − p)ⁿ ≤ 2.5%`.
    pub paths_needed: u64,
}

/// A point of the depletion curve: `P(depletion)` at a fund size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DepletionPoint {
    /// Fund size, USD.
    pub fund: f64,
    /// Share of paths that deplete at this fund.
    pub probability: f64,
    /// Clopper–Pearson 95% interval.
    pub ci95: [f64; 2],
}

/// The answer of `backstop size-fund`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FundSizing {
    /// Paths the needs come from.
    pub paths: u64,
    /// Fund floor, USD.
    pub floor: f64,
    /// The scenario's fund, USD.
    pub current_fund: f64,
    /// P(depletion) at the scenario's fund, with its interval.
    pub current_depletion: DepletionPoint,
    /// One entry per target, smallest `p` last.
    pub targets: Vec<FundForTarget>,
    /// `P(depletion)` against fund size, at every distinct need (fund
    /// ascending): the chart's curve.
    pub curve: Vec<DepletionPoint>,
}

/// Paths a run needs for the 95% upper bound of the `(1 − p)` quantile: the
/// smallest `n` with `(1 − p)ⁿ ≤ 0.025` (then the largest need bounds it).
pub fn paths_needed(p: f64) -> u64 {
    if p <= 0.0 || !p.is_finite() {
        return u64::MAX;
    }
    if p >= 1.0 {
        return 1;
    }
    let tail = (1.0 - CONFIDENCE) / 2.0;
    (tail.ln() / (1.0 - p).ln()).ceil().max(1.0) as u64
}

/// The sizing from the paths' needs `needs` (USD, uncensored), the floor and the
/// scenario's fund, for the targets `targets`.
///
/// Needs with `N = F − f > 0` exactly (a tie at one micro-USD) are counted as
/// depleting at `F`: conservative only for the paths whose need was not reached
/// at a step's end (docs/model.md §7c).
pub fn size_fund(needs: &[f64], floor: f64, current_fund: f64, targets: &[f64]) -> FundSizing {
    let mut s = needs.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as u64;
    let at = |fund: f64| -> DepletionPoint {
        // Paths with N > fund − floor, or N = fund − floor > 0 (the tie).
        let i = s.partition_point(|&x| x < fund - floor || x <= 0.0);
        let p = probability(n - i as u64, n);
        DepletionPoint {
            fund,
            probability: p.probability,
            ci95: p.ci95,
        }
    };
    let mut targets: Vec<FundForTarget> = targets.iter().map(|&p| fund_for(&s, floor, p)).collect();
    targets.sort_by(|a, b| b.p.total_cmp(&a.p));
    let mut curve = vec![at(floor)];
    for (i, &x) in s.iter().enumerate() {
        if x > 0.0 && (i + 1 == s.len() || s[i + 1] != x) {
            // Just above this need: it and every smaller one are covered.
            curve.push(at(floor + x + 1e-6));
        }
    }
    FundSizing {
        paths: n,
        floor,
        current_fund,
        current_depletion: at(current_fund),
        targets,
        curve,
    }
}

/// The fund for target `p` from the ascending needs `s`.
fn fund_for(s: &[f64], floor: f64, p: f64) -> FundForTarget {
    let n = s.len();
    let allowed = ((p * n as f64) + 1e-9).floor() as usize;
    let order = |k: usize| -> f64 {
        // 1-based order statistic, 0 below the first: a fund of `floor` suffices.
        if k == 0 { 0.0 } else { s[k - 1] }
    };
    // The fund must exceed every need but the `allowed` largest ones.
    let k = n.saturating_sub(allowed);
    let top = order(k);
    let fund = floor + top + if top > 0.0 { 1e-6 } else { 0.0 };
    // X = #{N_i ≤ q}, q the (1 − p) quantile: X ~ Binomial(n, 1 − p).
    // P(N₍ₗ₎ ≤ q ≤ N₍ᵤ₎) ≥ P(l ≤ X < u) ≥ 95%.
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let (lower, upper) = if n == 0 || !(0.0..1.0).contains(&(1.0 - p)) {
        (None, None)
    } else {
        match Binomial::new(1.0 - p, n as u64) {
            Ok(b) => {
                // largest l with P(X ≤ l − 1) ≤ tail
                let mut l = 0usize;
                while l < n && b.cdf(l as u64) <= tail {
                    l += 1;
                }
                // smallest u with P(X ≤ u − 1) ≥ 1 − tail
                let mut u = 1usize;
                while u <= n && b.cdf((u - 1) as u64) < 1.0 - tail {
                    u += 1;
                }
                let lower = (l >= 1).then(|| floor + order(l));
                let upper = (u <= n).then(|| floor + order(u));
                (lower.or(Some(floor)), upper)
            }
            Err(_) => (None, None),
        }
    };
    FundForTarget {
        p,
        fund,
        ci95: [lower, upper],
        supported: upper.is_some(),
        paths_needed: paths_needed(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_needed_is_the_upper_order_statistic_condition() {
        // (1 − 0.01)^367 = 0.0250…, ^368 = 0.02478
        assert_eq!(paths_needed(0.01), 368);
        assert_eq!(paths_needed(0.1), 36);
        assert_eq!(paths_needed(0.001), 3688);
    }

    #[test]
    fn fund_for_a_target_is_an_order_statistic_above_the_floor() {
        // Needs 1..=100 USD; floor 5.
        let needs: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = size_fund(&needs, 5.0, 50.0, &[0.1, 0.01, 0.001]);
        // p = 10%: 10 paths may deplete: the fund must exceed the 90th need.
        let t = &s.targets[0];
        assert!((t.fund - (5.0 + 90.0 + 1e-6)).abs() < 1e-9, "{}", t.fund);
        assert!(t.supported);
        let [lo, hi] = t.ci95;
        let (lo, hi) = (lo.unwrap(), hi.unwrap());
        assert!(lo < t.fund && t.fund < hi, "{lo} {} {hi}", t.fund);
        // p = 1%: one path may deplete; 100 paths cannot bound it from above.
        assert!((s.targets[1].fund - (5.0 + 99.0 + 1e-6)).abs() < 1e-9);
        assert!(!s.targets[1].supported);
        // p = 0.1%: no path may deplete.
        assert!((s.targets[2].fund - (5.0 + 100.0 + 1e-6)).abs() < 1e-9);
        // The scenario's 50 USD: needs ≥ 45 deplete it: 56 of 100.
        assert_eq!(s.current_depletion.probability, 0.56);
        // The curve falls from 1 at the floor to 0 above the largest need.
        assert_eq!(s.curve[0].probability, 1.0);
        assert_eq!(s.curve.last().unwrap().probability, 0.0);
        assert!(
            s.curve
                .windows(2)
                .all(|w| w[0].probability >= w[1].probability)
        );
    }

    #[test]
    fn paths_that_never_draw_need_only_the_floor() {
        let s = size_fund(&[0.0; 50], 7.0, 10.0, &[0.1]);
        assert_eq!(s.targets[0].fund, 7.0);
        assert_eq!(s.current_depletion.probability, 0.0);
    }
}
