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
/// (ranks `⌊h⌋` and `⌊h⌋ + 1`, `h = q × (n − 1)`) are put in place, by selection
/// (the middle rank over the whole sample, then the lower ranks below it and the
/// higher ones above it), and the same interpolation is applied to them.
/// `values` is left reordered. The value of a rank is unique under
/// `total_cmp` (values it orders equal have the same bits), so it is the sorted
/// sample's.
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
    select_ranks(values, 0, &ranks);
    quantiles_sorted_at(values, qs)
}

/// [`quantiles_select`] of a sample already sorted by [`f64::total_cmp`]
/// (checked in debug builds): the ranks read where they are, the same
/// numbers bit for bit.
pub fn quantiles_sorted<const N: usize>(sorted: &[f64], qs: [f64; N]) -> [f64; N] {
    debug_assert!(
        sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()),
        "Invariant: sorted by total_cmp"
    );
    quantiles_sorted_at(sorted, qs)
}

/// Type 7's quantiles at `qs` of `values` whose ranks type 7 reads are where
/// a `total_cmp` sort puts them.
fn quantiles_sorted_at<const N: usize>(sorted: &[f64], qs: [f64; N]) -> [f64; N] {
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

/// Puts the values of ranks `ranks` (ascending, distinct, each at least
/// `offset`) of `values` (the ranks `offset..` of the whole sample) where a
/// `total_cmp` sort would put them.
fn select_ranks(values: &mut [f64], offset: usize, ranks: &[usize]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let at = ranks[mid] - offset;
    let (below, _, above) = values.select_nth_unstable_by(at, f64::total_cmp);
    select_ranks(below, offset, &ranks[..mid]);
    select_ranks(above, offset + at + 1, &ranks[mid + 1..]);
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

    /// Larger samples: clustered values a few ulps apart, a cluster among
    /// outliers, and many copies of a few values.
    #[test]
    fn selection_of_clustered_samples() {
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
