//! A mergeable quantile sketch for per-step bands across many paths.
//!
//! Up to its exact limit ([`EXACT_LIMIT`] unless made with
//! [`QuantileSketch::with_exact_limit`]: the band recorder keeps every path's
//! value when they fit in memory) values are kept as they are and quantiles are
//! exact (type 7, as [`super::quantile::quantile_sorted`]). Beyond that the values move
//! into logarithmic buckets of relative width [`RELATIVE_ACCURACY`] (the DDSketch
//! scheme): memory no longer grows with the number of paths, and any quantile is
//! within 0.5% of a value of the right rank. The state depends only on the
//! multiset of values inserted, never on their order, so merging sketches from
//! any split of the paths (threads, shards) gives identical bands. The mean is
//! summed in fixed point (1e-9) for the same reason.

/// Values kept exactly before switching to buckets, by default.
pub const EXACT_LIMIT: usize = 128;
/// Relative accuracy of a bucketed quantile.
pub const RELATIVE_ACCURACY: f64 = 0.005;
/// Magnitudes below this count as zero in buckets.
const ZERO: f64 = 1e-9;
/// Fixed-point scale of the sum.
const SUM_SCALE: f64 = 1e9;

/// The smaller of `a` and `b` in `total_cmp` order, so `-0.0` below `+0.0`.
/// Not `f64::min`: of two zeros it may return either, and which one it returns
/// has been seen to change with the optimisation level and the order of the
/// arguments (x86's `minsd` returns its second operand when they compare
/// equal), so the minimum would depend on the insertion order and the build.
fn total_min(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a).is_lt() { b } else { a }
}

/// The larger of `a` and `b` in `total_cmp` order (`+0.0` above `-0.0`); see
/// [`total_min`].
fn total_max(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a).is_gt() { b } else { a }
}

/// `x.round() as i128` (half away from zero), without the two library calls
/// when `x` fits an `i64` (the band values of every path go through it): the
/// part of `x` toward zero is `x as i64`, and `x` minus it is exact (`x`
/// and that part are within a factor of two of each other, or the part is 0;
/// from 2^52 up every `f64` is an integer and the difference is 0).
fn round_to_i128(x: f64) -> i128 {
    // Below 2^63 (9.223e18): the part toward zero and one more fit an `i64`.
    if x.abs() < 9.2e18 {
        let t = x as i64;
        let frac = x - t as f64;
        i128::from(if frac >= 0.5 {
            t + 1
        } else if frac <= -0.5 {
            t - 1
        } else {
            t
        })
    } else {
        x.round() as i128
    }
}

/// Dense logarithmic buckets of one sign.
#[derive(Clone, Debug, Default, PartialEq)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
}

impl Store {
    fn add(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(0);
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let at = (index - self.offset) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += n;
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// See the [module docs](self).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantileSketch {
    limit: usize,
    exact: Vec<f64>,
    /// Whether `exact` is in `total_cmp` order (left so by
    /// [`QuantileSketch::insert_zeros_sorted`], until the next insertion).
    sorted: bool,
    bucketed: bool,
    positive: Store,
    negative: Store,
    zeros: u64,
    count: u64,
    sum: i128,
    min: f64,
    max: f64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        QuantileSketch::new()
    }
}

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

impl QuantileSketch {
    /// An empty sketch keeping up to [`EXACT_LIMIT`] values exactly.
    pub fn new() -> QuantileSketch {
        QuantileSketch::with_exact_limit(EXACT_LIMIT)
    }

    /// An empty sketch keeping up to `limit` values exactly (sketches that are
    /// merged must share their limit).
    pub fn with_exact_limit(limit: usize) -> QuantileSketch {
        QuantileSketch {
            limit,
            exact: Vec::new(),
            sorted: false,
            bucketed: false,
            positive: Store::default(),
            negative: Store::default(),
            zeros: 0,
            count: 0,
            sum: 0,
            min: 0.0,
            max: 0.0,
        }
    }

    /// Empties the sketch (its exact limit kept), keeping the memory of its
    /// kept values for the next ones: the same sketch as
    /// [`QuantileSketch::with_exact_limit`] of that limit.
    pub fn clear(&mut self) {
        let mut exact = std::mem::take(&mut self.exact);
        exact.clear();
        *self = QuantileSketch {
            exact,
            ..QuantileSketch::with_exact_limit(self.limit)
        };
    }

    /// Whether every quantile is exact (the values are all kept), else within
    /// [`RELATIVE_ACCURACY`] of a value of the right rank.
    pub fn is_exact(&self) -> bool {
        !self.bucketed
    }

    /// Number of values inserted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds a finite value (non-finite values are ignored).
    pub fn insert(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        self.sorted = false;
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = total_min(self.min, v);
            self.max = total_max(self.max, v);
        }
        self.count += 1;
        self.sum += round_to_i128(v * SUM_SCALE);
        if self.bucketed {
            self.bucket(v);
        } else {
            self.exact.push(v);
            if self.exact.len() > self.limit {
                self.switch_to_buckets();
            }
        }
    }

    /// The same sketch as [`QuantileSketch::insert`] of each of `values` in
    /// order, in one pass while the kept values stay within the exact limit:
    /// the minimum, maximum and sum folded in the same order, the finite
    /// values appended at once.
    pub fn insert_slice(&mut self, values: &[f64]) {
        if self.bucketed || self.exact.len() + values.len() > self.limit {
            values.iter().for_each(|&v| self.insert(v));
            return;
        }
        self.sorted &= values.is_empty();
        let (mut min, mut max, mut sum, mut count) = (self.min, self.max, self.sum, self.count);
        let mut all_finite = true;
        for &v in values {
            if !v.is_finite() {
                all_finite = false;
                continue;
            }
            if count == 0 {
                min = v;
                max = v;
            } else {
                min = total_min(min, v);
                max = total_max(max, v);
            }
            count += 1;
            sum += round_to_i128(v * SUM_SCALE);
        }
        (self.min, self.max, self.sum, self.count) = (min, max, sum, count);
        if all_finite {
            self.exact.extend_from_slice(values);
        } else {
            self.exact.extend(values.iter().filter(|v| v.is_finite()));
        }
    }

    /// The same sketch as `n` calls of [`QuantileSketch::insert`]`(0.0)`
    /// (`+0.0`), in one step while the kept values stay within the exact
    /// limit: the count once, the zeros appended at once, the minimum and
    /// maximum folded with `0.0` once (folding again changes neither), the sum
    /// unchanged (each zero adds 0).
    pub fn insert_zeros(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.sorted = false;
        if self.bucketed || self.exact.len() + n > self.limit {
            for _ in 0..n {
                self.insert(0.0);
            }
            return;
        }
        if self.count == 0 {
            self.min = 0.0;
            self.max = 0.0;
        } else {
            self.min = total_min(self.min, 0.0);
            self.max = total_max(self.max, 0.0);
        }
        self.count += n as u64;
        self.exact.resize(self.exact.len() + n, 0.0);
    }

    /// [`QuantileSketch::insert_zeros`], and the kept values left in
    /// `total_cmp` order (the `n` zeros among them): the same values in
    /// another order, so the same figures (the quantiles select by
    /// `total_cmp`, the mean, minimum and maximum are kept apart), and
    /// [`QuantileSketch::quantiles_with`] finds them sorted (no selection).
    /// O(k log k + k + n) for k values kept before: for a few values among
    /// many zeros.
    pub fn insert_zeros_sorted(&mut self, n: usize) {
        if !self.bucketed {
            self.exact.sort_unstable_by(f64::total_cmp);
        }
        let before = self.exact.len();
        self.insert_zeros(n);
        if self.bucketed {
            return;
        }
        let at = self.exact[..before].partition_point(|v| v.total_cmp(&0.0).is_le());
        self.exact[at..].rotate_right(n);
        debug_assert!(
            self.exact.is_sorted_by(|a, b| a.total_cmp(b).is_le()),
            "Invariant: the kept values are in order"
        );
        self.sorted = true;
    }

    fn bucket(&mut self, v: f64) {
        if v.abs() < ZERO {
            self.zeros += 1;
        } else {
            let index = (v.abs().ln() / gamma_ln()).ceil() as i32;
            if v > 0.0 {
                self.positive.add(index, 1);
            } else {
                self.negative.add(index, 1);
            }
        }
    }

    fn switch_to_buckets(&mut self) {
        self.bucketed = true;
        for v in std::mem::take(&mut self.exact) {
            self.bucket(v);
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &QuantileSketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        self.sorted = false;
        self.min = total_min(self.min, other.min);
        self.max = total_max(self.max, other.max);
        self.count += other.count;
        self.sum += other.sum;
        if !self.bucketed && !other.bucketed && self.exact.len() + other.exact.len() <= self.limit {
            self.exact.extend_from_slice(&other.exact);
            return;
        }
        if !self.bucketed {
            self.switch_to_buckets();
        }
        if other.bucketed {
            self.zeros += other.zeros;
            for (store, from) in [
                (&mut self.positive, &other.positive),
                (&mut self.negative, &other.negative),
            ] {
                for (i, &n) in from.counts.iter().enumerate() {
                    if n > 0 {
                        store.add(from.offset + i as i32, n);
                    }
                }
            }
        } else {
            for &v in &other.exact {
                self.bucket(v);
            }
        }
    }

    /// Mean of the values (`NaN` if none).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        self.sum as f64 / SUM_SCALE / self.count as f64
    }

    /// Smallest value (`NaN` if none; `-0.0` if both zeros were inserted).
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Largest value (`NaN` if none; `+0.0` if both zeros were inserted).
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }

    /// [`QuantileSketch::quantile`] at each of `qs` (the same numbers, bit for
    /// bit): exact quantiles select the order statistics they read from a copy
    /// of the kept values ([`super::quantile::quantiles_select`]) rather than
    /// sort it.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        self.quantiles_with(qs, &mut Vec::new())
    }

    /// [`QuantileSketch::quantiles`], copying the kept values into `scratch`
    /// (its memory reused from call to call).
    pub fn quantiles_with<const N: usize>(&self, qs: [f64; N], scratch: &mut Vec<f64>) -> [f64; N] {
        if self.count == 0 || self.bucketed {
            return qs.map(|q| self.quantile(q));
        }
        if self.sorted {
            return super::quantile::quantiles_sorted(&self.exact, qs);
        }
        scratch.clear();
        scratch.extend_from_slice(&self.exact);
        super::quantile::quantiles_select(scratch, qs)
    }

    /// [`QuantileSketch::quantiles`] (the same numbers, bit for bit),
    /// selecting among the kept values where they are rather than in a copy:
    /// they are left in another order, the same multiset (every figure of the
    /// sketch stays the same: the quantiles select by `total_cmp`, the sum,
    /// minimum and maximum are kept apart).
    pub fn quantiles_in_place<const N: usize>(&mut self, qs: [f64; N]) -> [f64; N] {
        if self.count == 0 || self.bucketed {
            return qs.map(|q| self.quantile(q));
        }
        if self.sorted {
            return super::quantile::quantiles_sorted(&self.exact, qs);
        }
        super::quantile::quantiles_select(&mut self.exact, qs)
    }

    /// The `q`-quantile: exact while the sketch holds its values, else the bucket
    /// of the value at rank `round(q × (n − 1))`, clamped to `[min, max]`.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        if !self.bucketed {
            let mut sorted = self.exact.clone();
            sorted.sort_by(f64::total_cmp);
            return super::quantile::quantile_sorted(&sorted, q);
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).round() as u64;
        let g = gamma_ln();
        let value = |index: i32| 2.0 * (f64::from(index) * g).exp() / (1.0 + g.exp());
        let mut seen = 0u64;
        // Ascending: most negative first (largest magnitude), then zeros, then positives.
        let neg_total = self.negative.total();
        if rank < neg_total {
            for (i, &n) in self.negative.counts.iter().enumerate().rev() {
                seen += n;
                if rank < seen {
                    let v = -value(self.negative.offset + i as i32);
                    return v.clamp(self.min, self.max);
                }
            }
        }
        seen = neg_total;
        if rank < seen + self.zeros {
            return 0.0f64.clamp(self.min, self.max);
        }
        seen += self.zeros;
        for (i, &n) in self.positive.counts.iter().enumerate() {
            seen += n;
            if rank < seen {
                return value(self.positive.offset + i as i32).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::aggregate::quantile::quantile_sorted;

    /// Of `-0.0` and `+0.0` the minimum is `-0.0` and the maximum `+0.0`,
    /// whichever came first, one by one, in a slice or merged either way
    /// (`f64::min` may return either zero: the build and the order decided).
    #[test]
    fn signed_zeros_give_the_same_extremes_in_any_order() {
        let orders: [&[f64]; 4] = [
            &[-0.0, 0.0],
            &[0.0, -0.0],
            &[0.0, -0.0, 0.0],
            &[-0.0, 0.0, -0.0],
        ];
        for values in orders {
            let mut one_by_one = QuantileSketch::new();
            values.iter().for_each(|&v| one_by_one.insert(v));
            let mut slice = QuantileSketch::new();
            slice.insert_slice(values);
            for s in [&one_by_one, &slice] {
                assert_eq!(s.min().to_bits(), (-0.0f64).to_bits(), "{values:?}");
                assert_eq!(s.max().to_bits(), 0.0f64.to_bits(), "{values:?}");
            }
        }
        let mut zeros = QuantileSketch::new();
        zeros.insert(-0.0);
        zeros.insert_zeros(1);
        let (mut neg, mut pos) = (QuantileSketch::new(), QuantileSketch::new());
        neg.insert(-0.0);
        pos.insert(0.0);
        let mut neg_then_pos = neg.clone();
        neg_then_pos.merge(&pos);
        let mut pos_then_neg = pos;
        pos_then_neg.merge(&neg);
        for s in [&zeros, &neg_then_pos, &pos_then_neg] {
            assert_eq!(s.min().to_bits(), (-0.0f64).to_bits());
            assert_eq!(s.max().to_bits(), 0.0f64.to_bits());
        }
    }

    /// `insert_zeros(n)` is `n` inserts of `0.0`: from empty, after values of
    /// either sign (and `-0.0`), up to, at and past the exact limit, bucketed.
    #[test]
    fn inserting_zeros_at_once_is_inserting_them_one_by_one() {
        let starts: [&[f64]; 5] = [&[], &[1.5, -2.0], &[-0.0], &[3.0, -0.0, 7.0], &[-1.0; 9]];
        for start in starts {
            for n in [0, 1, 2, 5, 6, 20] {
                let mut at_once = QuantileSketch::with_exact_limit(10);
                let mut one_by_one = at_once.clone();
                for &v in start {
                    at_once.insert(v);
                    one_by_one.insert(v);
                }
                let mut sorted = at_once.clone();
                at_once.insert_zeros(n);
                sorted.insert_zeros_sorted(n);
                (0..n).for_each(|_| one_by_one.insert(0.0));
                assert_eq!(at_once, one_by_one, "{start:?} then {n} zeros");
                assert_eq!(at_once.min().to_bits(), one_by_one.min().to_bits());
                assert_eq!(at_once.max().to_bits(), one_by_one.max().to_bits());
                // The same figures, the kept values in order.
                let qs = [0.0, 0.01, 0.25, 0.5, 0.9, 1.0];
                let bits = |s: &QuantileSketch| {
                    let mut b: Vec<u64> = s.quantiles(qs).iter().map(|v| v.to_bits()).collect();
                    b.extend([s.mean(), s.min(), s.max()].map(f64::to_bits));
                    b.push(s.count());
                    b
                };
                assert_eq!(bits(&sorted), bits(&one_by_one), "{start:?} then {n} zeros");
                // An insertion after the sorted zeros: no longer read in order.
                for (s, v) in [(&mut sorted, -5.0), (&mut one_by_one, -5.0)] {
                    s.insert(v);
                    s.insert_slice(&[9.0, -7.5]);
                }
                assert_eq!(
                    bits(&sorted),
                    bits(&one_by_one),
                    "{start:?}, {n} zeros, more"
                );
            }
        }
    }

    /// `insert_slice` is `insert` of each value: from empty and after
    /// values, with non-finite values and signed zeros, up to and past the
    /// exact limit.
    #[test]
    fn inserting_a_slice_is_inserting_its_values_one_by_one() {
        let pool = [
            1.5,
            -2.0,
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            7.25,
            -1e12,
            3e-9,
        ];
        for start in 0..4 {
            for len in [0, 1, 3, 9, 14, 30] {
                let mut at_once = QuantileSketch::with_exact_limit(16);
                for &v in &pool[..start] {
                    at_once.insert(v);
                }
                let mut one_by_one = at_once.clone();
                let slice: Vec<f64> = (0..len)
                    .map(|i| pool[(i * 5 + start) % pool.len()])
                    .collect();
                at_once.insert_slice(&slice);
                slice.iter().for_each(|&v| one_by_one.insert(v));
                assert_eq!(at_once, one_by_one, "start {start} len {len}");
                assert_eq!(at_once.min().to_bits(), one_by_one.min().to_bits());
                assert_eq!(at_once.max().to_bits(), one_by_one.max().to_bits());
            }
        }
    }

    fn values(n: usize) -> Vec<f64> {
        // A spread of magnitudes and signs, deterministic.
        (0..n)
            .map(|i| {
                let x = (i as f64 * 0.618_033_988_75).fract();
                (x - 0.3) * 1e6 * (1.0 + (i % 7) as f64)
            })
            .collect()
    }

    #[test]
    fn exact_below_the_limit_and_within_accuracy_above() {
        for n in [1, 50, EXACT_LIMIT, 5_000] {
            let v = values(n);
            let mut s = QuantileSketch::new();
            v.iter().for_each(|&x| s.insert(x));
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] {
                let got = s.quantile(q);
                if n <= EXACT_LIMIT {
                    assert_eq!(got, quantile_sorted(&sorted, q));
                } else {
                    let rank = (q * (n - 1) as f64).round() as usize;
                    let want = sorted[rank];
                    assert!(
                        (got - want).abs() <= RELATIVE_ACCURACY * want.abs() + 1e-9,
                        "n={n} q={q}: {got} vs {want}"
                    );
                }
            }
            let mean = v.iter().sum::<f64>() / n as f64;
            assert!((s.mean() - mean).abs() < 1e-6 * mean.abs().max(1.0));
            assert_eq!(s.min(), sorted[0]);
            assert_eq!(s.max(), sorted[n - 1]);
        }
    }

    #[test]
    fn a_larger_exact_limit_keeps_quantiles_exact() {
        let v = values(5_000);
        let mut s = QuantileSketch::with_exact_limit(v.len());
        v.iter().for_each(|&x| s.insert(x));
        assert!(s.is_exact());
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.01, 0.5, 0.99] {
            assert_eq!(s.quantile(q), quantile_sorted(&sorted, q));
        }
        s.insert(1.0);
        assert!(
            !s.is_exact(),
            "one value over the limit switches to buckets"
        );
    }

    #[test]
    fn merging_any_split_in_any_order_gives_the_same_sketch() {
        let v = values(1_000);
        let mut whole = QuantileSketch::new();
        v.iter().for_each(|&x| whole.insert(x));
        for parts in [2, 3, 7, 300] {
            let chunks: Vec<QuantileSketch> = v
                .chunks(v.len().div_ceil(parts))
                .map(|c| {
                    let mut s = QuantileSketch::new();
                    c.iter().for_each(|&x| s.insert(x));
                    s
                })
                .collect();
            let mut merged = QuantileSketch::new();
            for c in chunks.iter().rev() {
                merged.merge(c);
            }
            for q in [0.01, 0.5, 0.99] {
                assert_eq!(merged.quantile(q).to_bits(), whole.quantile(q).to_bits());
            }
            assert_eq!(merged.mean().to_bits(), whole.mean().to_bits());
        }
    }

    #[test]
    fn quantiles_at_once_are_the_quantiles_one_by_one() {
        let qs = [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0];
        for limit in [usize::MAX, 16] {
            let mut s = QuantileSketch::with_exact_limit(limit);
            assert!(s.quantiles(qs).iter().all(|v| v.is_nan()));
            for v in values(200) {
                s.insert(v);
            }
            assert_eq!(s.is_exact(), limit == usize::MAX);
            let one_by_one = qs.map(|q| s.quantile(q));
            assert_eq!(
                s.quantiles(qs).map(f64::to_bits),
                one_by_one.map(f64::to_bits)
            );
            // In place: the same numbers, the same figures after.
            let before = s.clone();
            assert_eq!(
                s.quantiles_in_place(qs).map(f64::to_bits),
                one_by_one.map(f64::to_bits)
            );
            assert_eq!(
                s.quantiles(qs).map(f64::to_bits),
                one_by_one.map(f64::to_bits)
            );
            assert_eq!(
                [s.mean(), s.min(), s.max()].map(f64::to_bits),
                [before.mean(), before.min(), before.max()].map(f64::to_bits)
            );
            assert_eq!(s.count(), before.count());
        }
    }

    #[test]
    fn the_sum_rounds_as_f64_round() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let two = |e: i32| 2f64.powi(e);
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            two(52) - 0.5,
            -(two(52) - 0.5),
            two(52) + 1.0,
            two(53) + 2.0,
            two(63),
            -two(63),
            9.2e18,
            -9.2e18,
            9.199_999_999_999_999e18,
            1e30,
            -1e30,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        for _ in 0..200_000 {
            let magnitude = two(rng.random_range(-4..66));
            let x = (rng.random::<f64>() - 0.5) * magnitude;
            xs.extend([x, x.trunc() + 0.5, x.trunc() - 0.5]);
        }
        for x in xs {
            assert_eq!(round_to_i128(x), x.round() as i128, "{x:e}");
        }
    }

    #[test]
    fn a_cleared_sketch_is_a_new_one() {
        for limit in [usize::MAX, 16] {
            let mut s = QuantileSketch::with_exact_limit(limit);
            values(200).iter().for_each(|&x| s.insert(x));
            s.clear();
            assert_eq!(s, QuantileSketch::with_exact_limit(limit));
            let mut fresh = QuantileSketch::with_exact_limit(limit);
            for &x in &values(50) {
                s.insert(x);
                fresh.insert(x);
            }
            assert_eq!(s, fresh);
        }
    }
}
