//! The measures of an ADL wave (docs/model.md §6, "ADL waves"): a run of
//! consecutive steps with ADL, and what it needed, took and from whom, as the
//! ADL literature measures it (the excess of the queue over the needed amount:
//! Chitra, arXiv 2512.01112; concentration and PnL share: arXiv 2602.15182).
//!
//! Input: one [`AdlTake`] per winner per ADL close, in step order, and the
//! amount each step needed; output one [`AdlWave`] per wave. Pure arithmetic,
//! outside the engine's hot loop.

use serde::Serialize;

use crate::money::Micros;

/// One winner's part of one ADL close.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdlTake {
    /// Step of the close.
    pub step: u32,
    /// The winner's account.
    pub account: u32,
    /// Notional closed from the winner, USD at the mark.
    pub notional: f64,
    /// Lots closed from the winner.
    pub lots: i64,
    /// The winner's position before this close, lots.
    pub held: i64,
    /// The winner position's unrealized PnL before this close (in USD only
    /// at the wave's end: a wave reads its first take's, see [`WinnerTakes`]).
    pub pnl_before: Micros,
    /// The winner's equity after the close (in USD only at the wave's end:
    /// a wave reads its last take's).
    pub equity_after: Micros,
}

/// The measures of one wave.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdlWave {
    /// First step with ADL.
    pub first_step: u32,
    /// Last step with ADL (the next step has none).
    pub last_step: u32,
    /// Notional the shortfall needed closed, USD (Σ the closes' minimum).
    pub needed: f64,
    /// Notional closed, USD.
    pub taken: f64,
    /// `taken − needed`, USD.
    pub excess: f64,
    /// `taken / needed` (infinite when nothing was needed).
    pub multiple: f64,
    /// Σ of the winners' unrealized PnL taken with the lots closed, USD (the
    /// PnL haircut of arXiv 2602.15182 and 2512.01112).
    pub pnl_taken: f64,
    /// Largest share of one winner's PnL (at its first take in the wave) the
    /// wave took.
    pub max_pnl_share: f64,
    /// Share of the notional taken from the top 1% of the winners touched
    /// (at least one winner).
    pub top1_share: f64,
    /// Gini coefficient of the notional taken over the winners touched.
    pub gini: f64,
    /// Winners touched.
    pub accounts: u32,
    /// Σ of the touched winners' equity after their last take of the wave, USD.
    pub winners_equity_after: f64,
}

/// Splits `takes` (step order) into waves of consecutive steps and measures
/// each; `needed(step)` is the notional the step's closes needed.
pub fn adl_waves(takes: &[AdlTake], needed: impl Fn(u32) -> f64) -> Vec<AdlWave> {
    let mut waves = Vec::new();
    let mut fold = WaveFold::default();
    for t in takes {
        if let Some(wave) = fold.step(t.step, || needed(t.step)) {
            waves.push(wave);
        }
        fold.take(t);
    }
    waves.extend(fold.finish());
    waves
}

/// One winner's takes of the wave so far.
#[derive(Clone, Copy, Debug)]
struct WinnerTakes {
    notional: f64,
    lots: i64,
    /// Position at the first take, lots.
    held_first: i64,
    /// PnL at the first take, kept exact: converted to USD once, when the
    /// wave is measured (the same `f64` as at the take: `to_usd` is a function
    /// of the amount), not at each of the winner's takes.
    pnl_first: Micros,
    /// Equity after the last take, kept exact for the same reason.
    equity_last: Micros,
}

impl WinnerTakes {
    /// Adds a later take of the winner (not its first: that one also
    /// sets the first-take fields).
    #[inline]
    fn add(&mut self, t: &AdlTake) {
        self.notional += t.notional;
        self.lots += t.lots;
        self.equity_last = t.equity_after;
    }
}

/// A wave folded take by take as the steps run: memory in the winners the
/// current wave touched (one entry each), not in the takes of the path.
#[derive(Clone, Debug, Default)]
pub struct WaveFold {
    /// First and last step of the wave being folded (`None` between waves).
    steps: Option<(u32, u32)>,
    /// What each step of the wave needed, USD, in step order.
    needed: Vec<f64>,
    /// The wave's winners, in the order of their first take.
    winners: Vec<(u32, WinnerTakes)>,
    /// Per account, its index in `winners` plus one (0: not a winner of the
    /// wave); grown to the largest account seen, reset for the winners only.
    slot: Vec<u32>,
}

impl WaveFold {
    /// Opens step `step` (at or after the last step taken); `needed` gives what
    /// its closes needed, asked once per step. Returns the previous wave when
    /// `step` does not follow it.
    pub fn step(&mut self, step: u32, needed: impl FnOnce() -> f64) -> Option<AdlWave> {
        let mut done = None;
        match self.steps {
            Some((_, last)) if step == last => return None,
            Some((_, last)) if step == last + 1 => {}
            Some(_) => done = self.finish(),
            None => {}
        }
        let first = self.steps.map_or(step, |(first, _)| first);
        self.steps = Some((first, step));
        self.needed.push(needed());
        done
    }

    /// Reads what [`WaveFold::take`] will read for takes by `accounts` (the
    /// account's slot and its winner entry's fields) and nothing else, so that their
    /// cache misses overlap: a crash's step folds hundreds of thousands of
    /// takes, each a miss on a per-account array at venue scale, which
    /// `take` would meet one after the other (docs/performance.md,
    /// "`min_max_leverage`, round 7"). Call it on a few dozen takes, then
    /// take them. Writes each account's slot as it stands into `slots` (0:
    /// no entry yet, or an account beyond the table), in order, for
    /// [`WaveFold::take_at`]: the slot is read once a take, not twice.
    pub fn touch(&self, accounts: impl Iterator<Item = u32>, slots: &mut [u32]) {
        // Two passes: the slots first, then the entries they name, so that
        // no entry's load waits on its slot's (each pass's loads are
        // independent of each other and overlap).
        let mut n = 0;
        for (a, out) in accounts.zip(slots.iter_mut()) {
            *out = self.slot.get(a as usize).copied().unwrap_or(0);
            n += 1;
        }
        let mut fold = 0u64;
        for &s in &slots[..n] {
            // Every field `take` reads or writes: a 48-byte entry starting
            // at byte 48 or 32 of a cache line has them on two lines.
            let entry = (s as usize)
                .checked_sub(1)
                .and_then(|i| self.winners.get(i))
                .map_or(0, |w| {
                    (w.1.lots as u64) ^ w.1.notional.to_bits() ^ (w.1.equity_last.0 as u64)
                });
            fold = fold.wrapping_add(u64::from(s)).wrapping_add(entry);
        }
        std::hint::black_box(fold);
    }

    /// Adds one take of the current step. Inlined into its caller
    /// (`WaveRecorder::observe`, a call a take): a build whose code units
    /// fell otherwise called it, +83 M instructions at 100,000 accounts.
    #[inline]
    pub fn take(&mut self, t: &AdlTake) {
        debug_assert!(
            self.steps.is_some_and(|(_, last)| last == t.step),
            "Invariant: a take belongs to the step opened last"
        );
        let a = t.account as usize;
        if a >= self.slot.len() {
            self.slot.resize(a + 1, 0);
        }
        if self.slot[a] == 0 {
            self.winners.push((
                t.account,
                WinnerTakes {
                    notional: 0.0,
                    lots: 0,
                    held_first: t.held,
                    pnl_first: t.pnl_before,
                    equity_last: t.equity_after,
                },
            ));
            self.slot[a] = self.winners.len() as u32;
        }
        self.winners[self.slot[a] as usize - 1].1.add(t);
    }

    /// [`WaveFold::take`] given the slot [`WaveFold::touch`] read for
    /// `t.account` since the current step opened: a nonzero slot is the
    /// account's entry until the wave ends (slots are set once and cleared
    /// only by [`WaveFold::finish`]), so the take goes to it without
    /// re-reading the table; a zero one may have been set by a take since
    /// (the same winner twice in a chunk), so `take` looks again.
    #[inline]
    pub fn take_at(&mut self, t: &AdlTake, slot: u32) {
        debug_assert!(
            slot == 0 || self.slot.get(t.account as usize) == Some(&slot),
            "Invariant: a winner's slot stays until its wave ends"
        );
        match (slot as usize)
            .checked_sub(1)
            .and_then(|i| self.winners.get_mut(i))
        {
            Some(e) => e.1.add(t),
            None => self.take(t),
        }
    }

    /// Measures the wave folded so far (`None` without one) and starts afresh.
    pub fn finish(&mut self) -> Option<AdlWave> {
        let (first_step, last_step) = self.steps.take()?;
        for &(a, _) in &self.winners {
            self.slot[a as usize] = 0;
        }
        // Account order, as every figure of the wave is summed in it.
        self.winners.sort_unstable_by_key(|&(a, _)| a);
        let wave = measure(first_step, last_step, &self.needed, &self.winners);
        self.needed.clear();
        self.winners.clear();
        Some(wave)
    }
}

fn measure(first_step: u32, last_step: u32, needed: &[f64], by: &[(u32, WinnerTakes)]) -> AdlWave {
    let need: f64 = needed.iter().sum();
    // Per account: (notional, PnL taken, PnL at first take, last equity),
    // the PnL taken being the share of the position held at the first take
    // that the wave closed, times its PnL then (a later take's PnL at the
    // mark also holds what earlier takes realized: not summed take by take).
    let share = |v: &WinnerTakes| {
        if v.held_first > 0 {
            v.lots as f64 / v.held_first as f64
        } else {
            0.0
        }
    };
    debug_assert!(
        by.windows(2).all(|w| w[0].0 < w[1].0),
        "Invariant: a wave's winners are measured once each, in account order"
    );
    let taken: f64 = by.iter().map(|(_, v)| v.notional).sum();
    let max_pnl_share = by
        .iter()
        .map(|(_, v)| {
            let pnl_first = v.pnl_first.to_usd();
            if pnl_first > 0.0 {
                share(v) * pnl_first / pnl_first
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max);
    let mut amounts: Vec<f64> = by.iter().map(|(_, v)| v.notional).collect();
    amounts.sort_by(|a, b| b.total_cmp(a));
    let n = amounts.len();
    let top = n.div_ceil(100).max(1);
    let top1_share = if taken > 0.0 {
        amounts[..top].iter().sum::<f64>() / taken
    } else {
        0.0
    };
    AdlWave {
        first_step,
        last_step,
        needed: need,
        taken,
        excess: taken - need,
        multiple: if need > 0.0 {
            taken / need
        } else {
            f64::INFINITY
        },
        pnl_taken: by
            .iter()
            .map(|(_, v)| share(v) * v.pnl_first.to_usd())
            .sum(),
        max_pnl_share,
        top1_share,
        gini: gini(&amounts),
        accounts: n as u32,
        winners_equity_after: by.iter().map(|(_, v)| v.equity_last.to_usd()).sum(),
    }
}

/// Gini coefficient of non-negative amounts: `Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n Σ x)`
/// (0: equal takes; → 1: one winner took everything), computed sorted in
/// O(n log n) as `Σ (2i − n − 1) x₍ᵢ₎ / (n Σ x)`, ascending, `i` from 1.
pub fn gini(amounts: &[f64]) -> f64 {
    let n = amounts.len();
    let total: f64 = amounts.iter().sum();
    if n == 0 || total <= 0.0 {
        return 0.0;
    }
    let mut s = amounts.to_vec();
    s.sort_by(f64::total_cmp);
    let weighted: f64 = s
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i + 1) as f64 - n as f64 - 1.0) * x)
        .sum();
    weighted / (n as f64 * total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(
        step: u32,
        account: u32,
        notional: f64,
        lots: i64,
        held: i64,
        pnl_before: f64,
    ) -> AdlTake {
        AdlTake {
            step,
            account,
            notional,
            lots,
            held,
            pnl_before: usd(pnl_before),
            equity_after: usd(1_000.0 + f64::from(account)),
        }
    }

    /// `usd` in µUSD (the test amounts are whole µUSD or rounded to them).
    fn usd(usd: f64) -> Micros {
        Micros::from_usd(usd).expect("a test amount in range")
    }

    /// Two waves by hand. Wave 1, steps 3-4: needs 100 + 50 = 150; takes 120 from
    /// account 1 (60 of its 100 lots, PnL 100: 60%), 40 from 2 (10 of 80 lots,
    /// PnL 80: 10), 40 from 1 again (20 of its 40 lots left, whose PnL at the
    /// mark, 55, holds 15 realized by the first take: 80 of the 100 lots in all,
    /// 80% of 100): PnL taken 80 + 10 = 90; taken 200 = 1.333× needed, excess 50;
    /// by account 160 and 40: top 1% (one winner) holds 160/200 = 80%; Gini of
    /// {40, 160} = |160 − 40| × 2 / (2 × 2 × 200) = 0.3; equity after 1001 +
    /// 1002. Wave 2, step 9: needs 30, takes 30 from account 3 (all 15 of its
    /// PnL): multiple 1, excess 0, share 100%, Gini 0.
    #[test]
    fn two_waves_by_hand() {
        let takes = [
            take(3, 1, 120.0, 60, 100, 100.0),
            take(3, 2, 40.0, 10, 80, 80.0),
            take(4, 1, 40.0, 20, 40, 55.0),
            take(9, 3, 30.0, 5, 5, 15.0),
        ];
        let needed = |s: u32| match s {
            3 => 100.0,
            4 => 50.0,
            9 => 30.0,
            _ => 0.0,
        };
        let w = adl_waves(&takes, needed);
        assert_eq!(w.len(), 2);
        let a = &w[0];
        assert_eq!((a.first_step, a.last_step, a.accounts), (3, 4, 2));
        assert_eq!((a.needed, a.taken, a.excess), (150.0, 200.0, 50.0));
        assert!((a.multiple - 200.0 / 150.0).abs() < 1e-12);
        assert!((a.max_pnl_share - 0.8).abs() < 1e-12);
        assert_eq!(a.pnl_taken, 90.0);
        assert!((a.top1_share - 0.8).abs() < 1e-12);
        assert!((a.gini - 0.3).abs() < 1e-12);
        assert_eq!(a.winners_equity_after, 2_003.0);
        let b = &w[1];
        assert_eq!((b.first_step, b.last_step, b.accounts), (9, 9, 1));
        assert_eq!(
            (b.multiple, b.excess, b.max_pnl_share, b.gini),
            (1.0, 0.0, 1.0, 0.0)
        );
    }

    /// Folded step by step as a run does (the fold hands back a wave when a
    /// step does not follow it), the waves are those of the whole list.
    #[test]
    fn a_fold_step_by_step_gives_the_waves_of_the_whole_list() {
        let takes: Vec<AdlTake> = (0..40u32)
            .filter(|i| i % 7 != 3)
            .flat_map(|i| {
                (0..1 + i % 3).map(move |k| {
                    take(
                        10 + i,
                        (i * 5 + k) % 11,
                        f64::from(1 + k) * 10.5,
                        i64::from(1 + k),
                        i64::from(4 + k + i % 5),
                        f64::from(i) - 7.25,
                    )
                })
            })
            .collect();
        let needed = |s: u32| f64::from(s % 4) * 3.5;
        let whole = adl_waves(&takes, needed);
        assert_eq!(
            whole.len(),
            7,
            "the gaps at steps 13, 20, 27, 34, 41 and 48"
        );
        let mut fold = WaveFold::default();
        let mut folded = Vec::new();
        for step in 0..60 {
            let of_step: Vec<&AdlTake> = takes.iter().filter(|t| t.step == step).collect();
            if of_step.is_empty() {
                continue;
            }
            folded.extend(fold.step(step, || needed(step)));
            for t in of_step {
                fold.take(t);
            }
        }
        folded.extend(fold.finish());
        assert_eq!(folded, whole);
        assert_eq!(fold.finish(), None, "a finished fold starts afresh");
    }

    /// The fold's slots and entries give, bit for bit, the measures of the
    /// simple way: each wave's takes summed per account in take order in an
    /// ordered map, over waves that reuse accounts.
    #[test]
    fn the_fold_measures_as_an_ordered_map_does() {
        use std::collections::BTreeMap;
        let takes: Vec<AdlTake> = (0..300u32)
            .filter(|i| i % 37 != 5)
            .map(|i| {
                let mut t = take(
                    i / 4 + 2 * (i / 48),
                    (i * 7919) % 53,
                    f64::from(i % 13) * 0.1 + 1e-3 * f64::from(i),
                    i64::from(1 + i % 6),
                    i64::from(10 + i % 9),
                    f64::from(i % 17) - 8.3,
                );
                t.equity_after = usd(f64::from(i) * 1.7 - 3.0);
                t
            })
            .collect();
        let needed = |s: u32| f64::from(s % 5) * 1.3 + 0.1;
        let mut simple = Vec::new();
        let mut wave: Vec<&AdlTake> = Vec::new();
        for (k, t) in takes.iter().enumerate() {
            wave.push(t);
            let ends = takes.get(k + 1).is_none_or(|n| n.step > t.step + 1);
            if !ends {
                continue;
            }
            let mut by: BTreeMap<u32, WinnerTakes> = BTreeMap::new();
            for t in &wave {
                let e = by.entry(t.account).or_insert(WinnerTakes {
                    notional: 0.0,
                    lots: 0,
                    held_first: t.held,
                    pnl_first: t.pnl_before,
                    equity_last: t.equity_after,
                });
                e.notional += t.notional;
                e.lots += t.lots;
                e.equity_last = t.equity_after;
            }
            let steps: Vec<f64> = (wave[0].step..=t.step).map(needed).collect();
            simple.push(measure(
                wave[0].step,
                t.step,
                &steps,
                &by.into_iter().collect::<Vec<_>>(),
            ));
            wave.clear();
        }
        let folded = adl_waves(&takes, needed);
        assert!(folded.len() > 3, "several waves, accounts reused");
        assert_eq!(folded, simple);
    }

    #[test]
    fn gini_of_equal_and_of_concentrated_takes() {
        assert_eq!(gini(&[5.0; 10]), 0.0);
        // One of n takes everything: (n − 1) / n.
        let mut v = vec![0.0; 9];
        v.push(7.0);
        assert!((gini(&v) - 0.9).abs() < 1e-12);
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    /// A take from `(step gap, account, notional µUSD, lots, held, PnL µUSD,
    /// equity µUSD)`, the steps accumulated by the caller.
    fn take_of(step: u32, r: (u32, i64, i64, i64, i64, i64)) -> AdlTake {
        let (account, notional, lots, held, pnl, equity) = r;
        AdlTake {
            step,
            account,
            notional: Micros(notional).to_usd(),
            lots,
            held,
            pnl_before: Micros(pnl),
            equity_after: Micros(equity),
        }
    }

    proptest! {
        /// The recorder's way (each chunk touched, its slots handed to
        /// `take_at`) gives, bit for bit, the waves of `take` alone: the same
        /// winner twice in a chunk, new winners, accounts past the table,
        /// waves reusing accounts, steps with gaps or not, chunks of 1 to 9.
        #[test]
        fn touched_slots_fold_as_take_does(
            steps in prop::collection::vec(
                (0u32..3, prop::collection::vec(
                    (prop_oneof![0u32..12, 0u32..400], -5i64..1_000_000_000,
                     0i64..50, 0i64..60, -2_000_000i64..2_000_000,
                     -1_000_000_000i64..1_000_000_000),
                    1..40)),
                1..12),
            chunk in 1usize..10,
        ) {
            let mut plain = WaveFold::default();
            let mut touched = WaveFold::default();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut step = 0u32;
            for (gap, rows) in steps {
                step += 1 + gap;
                let needed = || f64::from(step) * 0.75;
                a.extend(plain.step(step, needed));
                b.extend(touched.step(step, needed));
                let takes: Vec<AdlTake> = rows.into_iter().map(|r| take_of(step, r)).collect();
                for t in &takes {
                    plain.take(t);
                }
                let mut slots = [0u32; 9];
                for c in takes.chunks(chunk) {
                    touched.touch(c.iter().map(|t| t.account), &mut slots);
                    for (t, &s) in c.iter().zip(&slots) {
                        touched.take_at(t, s);
                    }
                }
            }
            a.extend(plain.finish());
            b.extend(touched.finish());
            prop_assert_eq!(a, b);
        }
    }
}
