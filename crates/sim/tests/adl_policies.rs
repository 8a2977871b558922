//! Property tests of the literature's ADL allocations (docs/model.md §6):
//! `water_fill_pnl` and `capped_pro_rata` close exactly `min(needed, Σ offers)`,
//! never more than an offer, never more than the cap unless the caps cannot
//! cover the need; water-filling levels the largest winners; hand-computed cases.

use backstop_sim::venue::adl::{AdlCandidate, AdlPolicy, allocate};
use backstop_sim::venue::adl_policies::held;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A candidate holding `held` lots worth 10 each at the mark, offering
/// `offer ≤ held`, with PnL `pnl`.
fn cand(account: u32, held: i64, offer: i64, pnl: f64) -> AdlCandidate {
    AdlCandidate {
        account,
        slot: account,
        lots: offer,
        pnl,
        entry_value: held as f64 * 10.0 - pnl,
        notional: held as f64 * 10.0,
        equity: 100.0 + pnl,
        wallet: 100.0,
        maintenance: held as f64 * 0.05,
        loss_per_lot: 0.0,
        lot_value: 10.0,
    }
}

fn fills(policy: &AdlPolicy, c: &[AdlCandidate], needed: i64) -> (i64, Vec<i64>) {
    let mut c = c.to_vec();
    let mut f = Vec::new();
    let got = allocate(
        policy,
        &mut c,
        needed,
        &mut ChaCha8Rng::seed_from_u64(1),
        &mut f,
    );
    // Back to input order by account.
    let mut by = vec![0; c.len()];
    for (i, l) in f {
        by[c[i].account as usize] += l;
    }
    (got, by)
}

fn candidates() -> impl Strategy<Value = Vec<AdlCandidate>> {
    prop::collection::vec((1i64..400, 0.0f64..1.0, 0.5f64..5_000.0), 1..25).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (held, f, pnl))| {
                let offer = ((held as f64 * f).ceil() as i64).clamp(1, held);
                cand(i as u32, held, offer, pnl)
            })
            .collect()
    })
}

proptest! {
    /// Both policies close exactly `min(needed, Σ offers)`, never more than a
    /// candidate offers; capped pro-rata never more than `⌊cap × held⌋` of a
    /// candidate unless the caps together cannot cover `needed`.
    #[test]
    fn close_exactly_what_is_needed_within_offers_and_caps(
        c in candidates(), frac in 0.0f64..1.2, cap in 0.05f64..1.0,
    ) {
        let total: i64 = c.iter().map(|x| x.lots).sum();
        let needed = ((total as f64 * frac).round() as i64).max(1);
        for policy in [AdlPolicy::WaterFillPnl, AdlPolicy::CappedProRata { cap }] {
            let (got, by) = fills(&policy, &c, needed);
            prop_assert_eq!(got, needed.min(total));
            prop_assert_eq!(by.iter().sum::<i64>(), got);
            for (x, &l) in c.iter().zip(&by) {
                prop_assert!(l >= 0 && l <= x.lots, "closed {} of an offer of {}", l, x.lots);
            }
            if let AdlPolicy::CappedProRata { cap } = policy {
                let limits: Vec<i64> = c
                    .iter()
                    .map(|x| ((cap * held(x)).floor() as i64).min(x.lots))
                    .collect();
                if limits.iter().sum::<i64>() >= needed {
                    for ((x, &l), &lim) in c.iter().zip(&by).zip(&limits) {
                        prop_assert!(l <= lim, "account {} closed {} above its cap {}", x.account, l, lim);
                    }
                } else if needed <= total {
                    // Cap lifted: everyone at least at its cap.
                    for (&l, &lim) in by.iter().zip(&limits) {
                        prop_assert!(l >= lim);
                    }
                }
            }
        }
    }

    /// Water-filling on PnL: the winners cut are left at a common level
    /// (within one lot's PnL, the rounding), and no winner left uncut had
    /// more PnL than that level.
    #[test]
    fn water_fill_pnl_levels_the_largest_winners(c in candidates(), frac in 0.05f64..0.9) {
        // Full offers, so that every winner can reach the level.
        let c: Vec<AdlCandidate> = c
            .iter()
            .map(|x| cand(x.account, held(x) as i64, held(x) as i64, x.pnl))
            .collect();
        let total: i64 = c.iter().map(|x| x.lots).sum();
        let needed = ((total as f64 * frac).round() as i64).max(1);
        let (_, by) = fills(&AdlPolicy::WaterFillPnl, &c, needed);
        let lot_pnl = c.iter().map(|y| y.pnl / held(y)).fold(0.0, f64::max);
        let left: Vec<f64> = c
            .iter()
            .zip(&by)
            .map(|(x, &l)| x.pnl * (held(x) - l as f64) / held(x))
            .collect();
        let cut: Vec<f64> = left.iter().zip(&by).filter(|(_, l)| **l > 0).map(|(v, _)| *v).collect();
        let (lo, hi) = cut.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        prop_assert!(hi - lo <= 2.0 * lot_pnl + 1e-6, "cut winners left between {} and {}", lo, hi);
        for (x, &l) in c.iter().zip(&by) {
            if l == 0 {
                prop_assert!(x.pnl <= hi + lot_pnl + 1e-6, "uncut winner with PnL {} above the level {}", x.pnl, hi);
            }
        }
    }
}

#[test]
fn capped_pro_rata_by_hand() {
    // Held 100 and 10 lots, full offers; cap 50%: limits 50 and 5.
    let c = [cand(0, 100, 100, 50.0), cand(1, 10, 10, 50.0)];
    // 44 lots: φ = 0.4 → 40 and 4, within the caps.
    assert_eq!(
        fills(&AdlPolicy::CappedProRata { cap: 0.5 }, &c, 44).1,
        vec![40, 4]
    );
    // 55 lots: everyone exactly at the cap.
    assert_eq!(
        fills(&AdlPolicy::CappedProRata { cap: 0.5 }, &c, 55).1,
        vec![50, 5]
    );
    // 66 lots: the caps (55) are not enough: lifted, the 11 left pro-rata to
    // the remaining offers 50 and 5: 10 and 1.
    assert_eq!(
        fills(&AdlPolicy::CappedProRata { cap: 0.5 }, &c, 66).1,
        vec![60, 6]
    );
    // With an offer below the cap: account 1 offers 2 lots only; 30 lots: its
    // limit is 2, account 0 takes the rest (28 ≤ 50).
    let c = [cand(0, 100, 100, 50.0), cand(1, 10, 2, 50.0)];
    assert_eq!(
        fills(&AdlPolicy::CappedProRata { cap: 0.5 }, &c, 30).1,
        vec![28, 2]
    );
}

#[test]
fn water_fill_pnl_by_hand() {
    // PnL 100 (10 lots) and 40 (10 lots). 3 lots: the first alone, down to
    // PnL 70 (> 40). 7 lots: level Λ with 10(1 − Λ/100) + 10(1 − Λ/40) = 7 →
    // Λ ≈ 37.1: 6.29 and 0.71 lots → 6 and 1.
    let c = [cand(0, 10, 10, 100.0), cand(1, 10, 10, 40.0)];
    assert_eq!(fills(&AdlPolicy::WaterFillPnl, &c, 3).1, vec![3, 0]);
    assert_eq!(fills(&AdlPolicy::WaterFillPnl, &c, 7).1, vec![6, 1]);
}
