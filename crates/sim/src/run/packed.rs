//! One path's band values as the exact bands keep them until the `bands/v1`
//! table is written (`record.rs`, [`super::record::BandSketches`]).
//!
//! Most band columns are zero at most steps (bad debt, socialized loss, ADL,
//! the step's liquidations): kept as `f64`s, the zeros were most of a
//! 1,000-path run's memory, and faulting those pages in most of the cost of
//! recording the bands. A [`PackedValues`] keeps the values that are not `+0.0`
//! (compared bit for bit: `-0.0` and NaN are kept as they are) and one bit per
//! value; unpacking gives back every value bit for bit.

/// A path's band values (`values[t × width + k]`), the `+0.0`s left out.
#[derive(Clone, Debug)]
pub(super) struct PackedValues {
    /// Number of values.
    len: usize,
    /// Per 64 values: bit `i % 64` of word `i / 64` says whether value `i` is
    /// in `values`, and the number of kept values before the word (together:
    /// one cache line read per block of band rows).
    kept: Vec<(u64, usize)>,
    /// The kept values, in order.
    values: Vec<f64>,
}

impl PackedValues {
    /// Packs `values`.
    pub(super) fn pack(values: &[f64]) -> PackedValues {
        let kept_count = values.iter().filter(|v| v.to_bits() != 0).count();
        let words = values.len().div_ceil(64);
        let mut packed = PackedValues {
            len: values.len(),
            kept: Vec::with_capacity(words),
            values: Vec::with_capacity(kept_count),
        };
        for chunk in values.chunks(64) {
            let before = packed.values.len();
            let mut bits = 0u64;
            for (j, &v) in chunk.iter().enumerate() {
                if v.to_bits() != 0 {
                    bits |= 1 << j;
                    packed.values.push(v);
                }
            }
            packed.kept.push((bits, before));
        }
        debug_assert_eq!(
            packed.values.len(),
            kept_count,
            "Invariant: every value that is not +0.0 is kept"
        );
        packed
    }

    /// Number of values (kept or not).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Writes the values `start..start + out.len()` into `out`, in order; the
    /// range must lie within `0..len()`. O(`out.len()` / 64 + kept values).
    pub(super) fn unpack_into(&self, start: usize, out: &mut [f64]) {
        out.fill(0.0);
        self.for_each_kept(start, start + out.len(), |i, v| out[i] = v);
    }

    /// Calls `f(i - start, value)` for each kept value (the values that are
    /// not `+0.0`) of index `i` in `start..end`, in order; the range must lie
    /// within `0..len()`. O((`end` - `start`) / 64 + kept values).
    pub(super) fn for_each_kept(&self, start: usize, end: usize, mut f: impl FnMut(usize, f64)) {
        debug_assert!(end <= self.len, "Invariant: the range is in the path");
        if start >= end {
            return;
        }
        let mut w = start / 64;
        let before_start = (1u64 << (start % 64)) - 1;
        let (word, before) = self.kept[w];
        let mut next = before + (word & before_start).count_ones() as usize;
        let mut bits = word & !before_start;
        loop {
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                if i >= end {
                    return;
                }
                f(i - start, self.values[next]);
                next += 1;
                bits &= bits - 1;
            }
            w += 1;
            if w * 64 >= end {
                return;
            }
            bits = self.kept[w].0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every range of every packed sample unpacks to the sample bit for bit:
    /// zeros of both signs, NaN, runs of zeros across words.
    #[test]
    fn unpacking_gives_back_every_value_bit_for_bit() {
        let specials = [0.0, -0.0, f64::NAN, 1.5, -2.25, f64::INFINITY, 1e-310];
        for len in [0usize, 1, 63, 64, 65, 130, 200] {
            for seed in 0..4usize {
                let values: Vec<f64> = (0..len)
                    .map(|i| {
                        let h = (i * 31 + seed * 17) % 11;
                        if h < 6 {
                            0.0
                        } else {
                            specials[(i + seed) % specials.len()]
                        }
                    })
                    .collect();
                let packed = PackedValues::pack(&values);
                assert_eq!(packed.len(), len);
                for start in (0..=len).step_by(7) {
                    for end in (start..=len).step_by(5) {
                        let mut out = vec![f64::NAN; end - start];
                        packed.unpack_into(start, &mut out);
                        let got: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
                        let want: Vec<u64> =
                            values[start..end].iter().map(|v| v.to_bits()).collect();
                        assert_eq!(got, want, "len {len} seed {seed} {start}..{end}");
                    }
                }
            }
        }
    }
}
