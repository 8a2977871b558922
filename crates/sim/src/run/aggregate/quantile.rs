//! Quantiles of a sample, the way numpy and R compute them by default.

/// The `q`-quantile of an ascending, non-empty `sorted` sample by linear
/// interpolation between order statistics (Hyndman & Fan type 7: numpy's
/// `quantile` default), so notebooks reproduce the numbers. `NaN` for an empty
/// sample.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "Invariant: sorted ascending"
    );
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// [`quantile_sorted`] at each of `qs` of `values` sorted by [`f64::total_cmp`],
/// bit for bit, without sorting them: only the order statistics type 7 reads
/// (ranks `⌊h⌋` and `⌊h⌋ + 1`, `h = q × (n − 1)`) are found, by radix
/// selection on the values' `total_cmp` order as integers ([`select_keys`]),
/// and the same interpolation is applied to them. `values` is left as it is.
/// The value of a rank is unique under `total_cmp` (values it orders equal
/// have the same bits), so it is the sorted sample's.
pub fn quantiles_select<const N: usize>(values: &mut [f64], qs: [f64; N]) -> [f64; N] {
    // A sorted sample (one value throughout, as bands of rare events often
    // are) is read as it is.
    if values.len() < 2 || values.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        return quantiles_sorted(values, qs);
    }
    let n = values.len();
    let mut ranks: Vec<usize> = qs
        .iter()
        .flat_map(|&q| {
            let (_, lo, hi) = type_7(q, n);
            [lo, hi]
        })
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    let mut keys: Vec<u64> = values.iter().map(|&v| key(v)).collect();
    let mut found = vec![0u64; ranks.len()];
    select_keys(&mut keys, &ranks, &mut found);
    let value = |rank: usize| from_key(found[ranks.partition_point(|&r| r < rank)]);
    qs.map(|q| {
        let (h, lo, hi) = type_7(q, n);
        value(lo) + (h - lo as f64) * (value(hi) - value(lo))
    })
}

/// [`quantiles_select`] of a sample already sorted by [`f64::total_cmp`]
/// (checked in debug builds): the ranks read where they are, the same
/// numbers bit for bit.
pub fn quantiles_sorted<const N: usize>(sorted: &[f64], qs: [f64; N]) -> [f64; N] {
    debug_assert!(
        sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()),
        "Invariant: sorted by total_cmp"
    );
    match sorted.len() {
        0 => [f64::NAN; N],
        1 => [sorted[0]; N],
        n => qs.map(|q| {
            let (h, lo, hi) = type_7(q, n);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }),
    }
}

/// As [`quantile_sorted`] for `n >= 2` values: the position `h`, the rank
/// below and the rank above.
fn type_7(q: f64, n: usize) -> (f64, usize, usize) {
    let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = h.floor() as usize;
    (h, lo, (lo + 1).min(n - 1))
}

/// `v`'s place in the [`f64::total_cmp`] order as an unsigned integer:
/// `key(a) < key(b)` exactly when `a.total_cmp(&b)` is `Less` (a negative
/// value's bits all flipped, a positive value's sign bit set).
#[inline]
fn key(v: f64) -> u64 {
    let bits = v.to_bits();
    bits ^ ((((bits as i64) >> 63) as u64) | (1 << 63))
}

/// The value whose [`key`] is `k`.
#[inline]
fn from_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k ^ (1 << 63) } else { !k })
}

/// Groups at most this long are sorted rather than split by a digit.
const SMALL_GROUP: usize = 48;

/// Bits of a radix digit.
const DIGIT_BITS: u32 = 8;

/// Writes into `found[i]` the key of rank `ranks[i]` of `keys` (ranks
/// ascending, distinct, each below `keys.len()`), as a sort would place it:
/// the keys are split by the 8 bits below the ones they all share (one pass
/// for the smallest and largest, one to count each digit, one to gather the
/// groups holding a wanted rank), and each such group is split again, or
/// sorted once it is small. O(n) a level, at most 8 levels. `keys` is left
/// reordered.
fn select_keys(keys: &mut [u64], ranks: &[usize], found: &mut [u64]) {
    debug_assert!(
        ranks.windows(2).all(|w| w[0] < w[1]) && ranks.last().is_none_or(|&r| r < keys.len()),
        "Invariant: ranks ascending, distinct, in the sample"
    );
    if ranks.is_empty() {
        return;
    }
    if keys.len() <= SMALL_GROUP {
        keys.sort_unstable();
        for (f, &r) in found.iter_mut().zip(ranks) {
            *f = keys[r];
        }
        return;
    }
    let (min, max) = keys
        .iter()
        .fold((u64::MAX, 0u64), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    if min == max {
        found.fill(min);
        return;
    }
    // The highest bit that differs, and the digit of the 8 bits from it down.
    let top = 63 - (min ^ max).leading_zeros();
    let digit = |k: u64| -> usize {
        let d = if top >= DIGIT_BITS - 1 {
            k >> (top + 1 - DIGIT_BITS)
        } else {
            k << (DIGIT_BITS - 1 - top)
        };
        (d & ((1 << DIGIT_BITS) - 1)) as usize
    };
    let mut counts = [0usize; 1 << DIGIT_BITS];
    for &k in keys.iter() {
        counts[digit(k)] += 1;
    }
    // Each rank's digit (ranks ascending: the digits too) and the rank
    // within it.
    let mut starts = [0usize; 1 << DIGIT_BITS];
    let mut sum = 0;
    for (s, &c) in starts.iter_mut().zip(&counts) {
        *s = sum;
        sum += c;
    }
    let mut wanted: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    let mut d = 0;
    for (i, &r) in ranks.iter().enumerate() {
        while starts[d] + counts[d] <= r {
            d += 1;
        }
        match wanted.last_mut() {
            Some((last, range)) if *last == d => range.end = i + 1,
            _ => wanted.push((d, i..i + 1)),
        }
    }
    // The wanted groups side by side in `gathered`, every other key written
    // to its last slot (no branch a key).
    let total: usize = wanted.iter().map(|(d, _)| counts[*d]).sum();
    let mut next = [total; 1 << DIGIT_BITS];
    let mut step = [0usize; 1 << DIGIT_BITS];
    let mut at = 0;
    for (d, _) in &wanted {
        next[*d] = at;
        step[*d] = 1;
        at += counts[*d];
    }
    let mut gathered = vec![0u64; total + 1];
    for &k in keys.iter() {
        let d = digit(k);
        gathered[next[d]] = k;
        next[d] += step[d];
    }
    let mut at = 0;
    for (d, range) in wanted {
        let group = &mut gathered[at..at + counts[d]];
        at += counts[d];
        let local: Vec<usize> = ranks[range.clone()].iter().map(|r| r - starts[d]).collect();
        select_keys(group, &local, &mut found[range]);
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn matches_numpy_type_7() {
        // numpy.quantile([1, 2, 3, 4, 10], [0, .25, .5, .9, 1])
        //   -> [1, 2, 3, 7.6, 10]
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        let got: Vec<f64> = [0.0, 0.25, 0.5, 0.9, 1.0]
            .iter()
            .map(|&q| quantile_sorted(&x, q))
            .collect();
        let want = [1.0, 2.0, 3.0, 7.6, 10.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        assert!(quantile_sorted(&[], 0.5).is_nan());
        assert_eq!(quantile_sorted(&[4.0], 0.99), 4.0);
    }

    /// The keys order values as `total_cmp` does, and give them back.
    #[test]
    fn keys_follow_total_cmp() {
        let mut vs = vec![
            f64::NEG_INFINITY,
            -f64::MAX,
            -1.0,
            -f64::MIN_POSITIVE,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            f64::MIN_POSITIVE,
            1.0,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        vs.extend((0..2_000).map(|_| f64::from_bits(rng.random::<u64>())));
        for &a in &vs {
            assert_eq!(from_key(key(a)).to_bits(), a.to_bits());
            for &b in vs.iter().step_by(7) {
                assert_eq!(key(a).cmp(&key(b)), a.total_cmp(&b), "{a:e} {b:e}");
            }
        }
    }

    /// Samples that split over several digits: clustered values a few ulps
    /// apart (the digit below the lowest bits), a cluster among outliers, and
    /// many copies of a few values.
    #[test]
    fn radix_selection_over_many_levels() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let qs = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0];
        for case in 0..200 {
            let n = rng.random_range(40..5_000);
            let base = 100_000.0f64.to_bits();
            let values: Vec<f64> = (0..n)
                .map(|i| match case % 3 {
                    0 => f64::from_bits(base + rng.random_range(0..(1u64 << (case % 20)))),
                    1 if i % 50 == 0 => (rng.random::<f64>() - 0.5) * 1e12,
                    1 => 100_000.0 + rng.random::<f64>() * 1e-3,
                    _ => f64::from(rng.random_range(0..3u8)) * 1e5 - 1e5,
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let mut scratch = values.clone();
            let got = quantiles_select(&mut scratch, qs);
            let want = qs.map(|q| quantile_sorted(&sorted, q));
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "case {case}");
        }
    }

    #[test]
    fn selection_gives_the_sorted_quantiles_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        // Few distinct values (ties), signed zeros, negatives, extremes whose
        // differences overflow, and a spread of magnitudes.
        let special = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
            1e-300,
        ];
        let band_qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
        for case in 0..3_000 {
            let n = match case % 4 {
                0 => rng.random_range(0..8),
                1 => rng.random_range(0..100),
                _ => rng.random_range(0..1_500),
            };
            let distinct = rng.random_range(1..=n.max(1));
            let values: Vec<f64> = (0..n)
                .map(|_| match rng.random_range(0..10) {
                    0 => special[rng.random_range(0..special.len())],
                    1..=4 => {
                        f64::from(rng.random_range(0..distinct as u32)) - distinct as f64 / 3.0
                    }
                    _ => (rng.random::<f64>() - 0.4) * 10f64.powi(rng.random_range(-12..12)),
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let random_qs: [f64; 5] = std::array::from_fn(|_| rng.random::<f64>());
            let edge_qs = [0.0, 1.0, -0.5, 1.5, 0.999_999];
            let mut scratch = values.clone();
            let got = quantiles_select(&mut scratch, band_qs);
            // Sorted already, and sorted backwards.
            let mut reversed = sorted.clone();
            reversed.reverse();
            for mut sample in [sorted.clone(), reversed] {
                let got = quantiles_select(&mut sample, band_qs);
                let want = band_qs.map(|q| quantile_sorted(&sorted, q));
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "case {case}");
            }
            let want = band_qs.map(|q| quantile_sorted(&sorted, q));
            assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "case {case}");
            for qs in [random_qs, edge_qs] {
                let mut scratch = values.clone();
                let got = quantiles_select(&mut scratch, qs);
                let want = qs.map(|q| quantile_sorted(&sorted, q));
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "case {case}");
            }
        }
    }
}
