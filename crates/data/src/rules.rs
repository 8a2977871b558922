//! The value rules of the schemas (finite, positive, not empty, ...): one check
//! each, failing with a [`Broken`] rule that says, in the words of the error
//! messages, what is wrong with the value. Writers check before writing and
//! readers after reading, with the same functions, so both report a bad value
//! alike ([`DataError::InvalidValue`](crate::DataError::InvalidValue)).

use std::fmt;
use std::path::Path;

use crate::error::DataError;

/// A value rule a value breaks, with the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Broken {
    /// NaN or infinite.
    NotFinite(f64),
    /// Not finite, or not above zero.
    NotPositive(f64),
    /// Not finite, or below zero.
    Negative(f64),
    /// Not finite, or zero.
    ZeroOrNotFinite(f64),
    /// Finite but below 1.
    BelowOne(f64),
    /// A whole number not above zero.
    NotPositiveWhole(i64),
    /// An empty string.
    Empty,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite(v) => write!(f, "must be finite, got {v}"),
            Self::NotPositive(v) => write!(f, "must be finite and > 0, got {v}"),
            Self::Negative(v) => write!(f, "must be finite and >= 0, got {v}"),
            Self::ZeroOrNotFinite(v) => write!(f, "must be finite and non-zero, got {v}"),
            Self::BelowOne(v) => write!(f, "must be at least 1, got {v}"),
            Self::NotPositiveWhole(v) => write!(f, "must be > 0, got {v}"),
            Self::Empty => f.write_str("must not be empty"),
        }
    }
}

impl Broken {
    /// The [`DataError::InvalidValue`] for this value at `row` of `column` in
    /// `path`.
    pub(crate) fn at(self, path: &Path, row: usize, column: &str) -> DataError {
        DataError::invalid(path, row, column, self.to_string())
    }
}

/// A broken rule and the column whose value broke it (the row is the caller's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BadValue {
    /// The column.
    pub(crate) column: &'static str,
    /// What is wrong with its value.
    pub(crate) broken: Broken,
}

impl BadValue {
    /// The [`DataError::InvalidValue`] for this value at `row` of `path`.
    pub(crate) fn at(self, path: &Path, row: usize) -> DataError {
        self.broken.at(path, row, self.column)
    }
}

/// Tags a rule check with its column: `finite(x).map_err(column("rate"))`.
pub(crate) fn column(name: &'static str) -> impl Fn(Broken) -> BadValue {
    move |broken| BadValue {
        column: name,
        broken,
    }
}

/// A finite float.
#[inline]
pub(crate) fn finite(value: f64) -> Result<(), Broken> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Broken::NotFinite(value))
    }
}

/// A finite float above zero.
#[inline]
pub(crate) fn positive(value: f64) -> Result<(), Broken> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Broken::NotPositive(value))
    }
}

/// A finite float not below zero.
#[inline]
pub(crate) fn non_negative(value: f64) -> Result<(), Broken> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Broken::Negative(value))
    }
}

/// A finite float other than zero.
#[inline]
pub(crate) fn non_zero(value: f64) -> Result<(), Broken> {
    if value.is_finite() && value != 0.0 {
        Ok(())
    } else {
        Err(Broken::ZeroOrNotFinite(value))
    }
}

/// A finite float of at least 1 (a multiplier).
#[inline]
pub(crate) fn at_least_one(value: f64) -> Result<(), Broken> {
    finite(value)?;
    if value >= 1.0 {
        Ok(())
    } else {
        Err(Broken::BelowOne(value))
    }
}

/// A whole number above zero.
#[inline]
pub(crate) fn positive_whole(value: i64) -> Result<(), Broken> {
    if value > 0 {
        Ok(())
    } else {
        Err(Broken::NotPositiveWhole(value))
    }
}

/// Lanes of a float column check: the values are folded into this many
/// independent minima and sums, which the compiler turns into vector
/// instructions (a fold into one bool, or an early exit, stays scalar).
const LANES: usize = 8;

/// The least value of `values` not NaN (`+inf` if none), and whether every
/// value is finite, in one branch-free pass: a lane's `v * 0` is `±0` for a
/// finite `v` and NaN for an infinite or NaN one, so the lanes' sums stay
/// zero exactly when every value is finite.
#[inline]
fn min_and_finite(values: &[f64]) -> (f64, bool) {
    let mut blocks = values.chunks_exact(LANES);
    let mut low = [f64::INFINITY; LANES];
    let mut spread = [0.0_f64; LANES];
    for block in &mut blocks {
        for ((low, spread), &v) in low.iter_mut().zip(&mut spread).zip(block) {
            // `v < low` is false for NaN, which the sum catches.
            *low = if v < *low { v } else { *low };
            *spread += v * 0.0;
        }
    }
    let rest = blocks.remainder();
    let low = rest
        .iter()
        .chain(&low)
        .fold(f64::INFINITY, |low, &v| if v < low { v } else { low });
    let finite = rest.iter().chain(&spread).all(|&v| v * 0.0 == 0.0);
    (low, finite)
}

/// Whether every value passes [`positive`] (finite and above zero).
#[inline]
pub(crate) fn all_positive(values: &[f64]) -> bool {
    let (low, finite) = min_and_finite(values);
    finite && (values.is_empty() || low > 0.0)
}

/// Whether every value passes [`non_negative`] (finite, not below zero).
#[inline]
pub(crate) fn all_non_negative(values: &[f64]) -> bool {
    // -0.0 >= 0.0, as `non_negative` accepts it.
    let (low, finite) = min_and_finite(values);
    finite && (values.is_empty() || low >= 0.0)
}

/// Whether every value passes [`finite`].
#[inline]
pub(crate) fn all_finite(values: &[f64]) -> bool {
    min_and_finite(values).1
}

/// Values an integer column check reads before it looks at its verdict: a
/// block checked branch-free (vectorised), the blocks stopping at the first
/// bad one.
const CHECK_BLOCK: usize = 64;

/// Whether `ok` holds for every value of `values`, each block of
/// [`CHECK_BLOCK`] values folded without a branch.
#[inline]
fn all_values<T: Copy>(values: &[T], ok: impl Fn(T) -> bool) -> bool {
    values
        .chunks(CHECK_BLOCK)
        .all(|block| block.iter().fold(true, |all, &v| all & ok(v)))
}

/// Whether every value lies in `low..=high`.
#[inline]
pub(crate) fn all_within<T: Copy + PartialOrd>(values: &[T], low: T, high: T) -> bool {
    all_values(values, |v| (v >= low) & (v <= high))
}

/// Whether `values` never decrease (each at least the one before), as
/// `values.windows(2).all(|w| w[0] <= w[1])`, in branch-free blocks.
#[inline]
pub(crate) fn non_decreasing(values: &[i64]) -> bool {
    let (Some(before), Some(after)) = (
        values.get(..values.len().saturating_sub(1)),
        values.get(1..),
    ) else {
        return true;
    };
    before
        .chunks(CHECK_BLOCK)
        .zip(after.chunks(CHECK_BLOCK))
        .all(|(a, b)| a.iter().zip(b).fold(true, |all, (x, y)| all & (x <= y)))
}

/// A string that is not empty.
#[inline]
pub(crate) fn non_empty(value: &str) -> Result<(), Broken> {
    if value.is_empty() {
        Err(Broken::Empty)
    } else {
        Ok(())
    }
}

/// Checks that every `(column, length)` has `expected` values, the length of
/// the column named `reference`.
///
/// # Errors
/// [`DataError::LengthMismatch`] naming the first column of another length.
pub(crate) fn check_lengths(
    path: &Path,
    (reference, expected): (&str, usize),
    lengths: &[(&str, usize)],
) -> Result<(), DataError> {
    match lengths.iter().find(|(_, found)| *found != expected) {
        None => Ok(()),
        Some((column, found)) => Err(DataError::LengthMismatch {
            path: Some(path.to_owned()),
            column: (*column).to_owned(),
            reference: format!("column `{reference}`"),
            expected,
            found: *found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rules_and_their_words() {
        assert!(finite(-1.0).is_ok());
        assert!(finite(f64::INFINITY).is_err());
        assert!(positive(0.0).is_err());
        assert!(positive(f64::NAN).unwrap_err().to_string().contains("NaN"));
        assert!(non_negative(0.0).is_ok());
        assert!(non_negative(-0.5).unwrap_err().to_string().contains("-0.5"));
        assert!(non_zero(0.0).is_err() && non_zero(-2.0).is_ok());
        assert!(non_empty("").is_err());
        assert_eq!(
            at_least_one(0.5).unwrap_err().to_string(),
            "must be at least 1, got 0.5"
        );
        assert_eq!(
            at_least_one(f64::NAN).unwrap_err().to_string(),
            "must be finite, got NaN"
        );
        assert_eq!(
            positive_whole(0).unwrap_err().to_string(),
            "must be > 0, got 0"
        );
        let err = check_lengths(Path::new("t"), ("a", 2), &[("a", 2), ("b", 1)]).unwrap_err();
        assert!(
            matches!(err, DataError::LengthMismatch { ref column, found: 1, .. } if column == "b")
        );
    }

    /// Floats that hit every edge of the rules: signed zeros, the smallest
    /// subnormal, the largest finite, the infinities and NaN.
    fn edgy_float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1e6..1e6_f64,
            prop::sample::select(vec![
                0.0,
                -0.0,
                f64::MIN_POSITIVE,
                -f64::MIN_POSITIVE,
                f64::from_bits(1),
                f64::MAX,
                f64::MIN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                -f64::NAN,
            ]),
        ]
    }

    /// Mostly-valid columns (so that the blocks are walked past the first),
    /// with a few edge values anywhere, of lengths around the block size.
    fn column_of(valid: impl Strategy<Value = f64> + Clone) -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(prop_oneof![8 => valid, 1 => edgy_float()], 0..300)
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_C01D),
            ..ProptestConfig::default()
        })]

        /// The column checks give the per-value rules' verdict.
        #[test]
        fn column_checks_are_the_per_value_rules(
            values in column_of(1e-9..1e9_f64),
            ints in prop::collection::vec(prop_oneof![20 => 0..1_000_i64, 1 => any::<i64>()], 0..300),
            sides in prop::collection::vec(prop_oneof![20 => -1..=1_i8, 1 => any::<i8>()], 0..300),
        ) {
            prop_assert_eq!(all_positive(&values), values.iter().all(|&v| positive(v).is_ok()));
            prop_assert_eq!(
                all_non_negative(&values),
                values.iter().all(|&v| non_negative(v).is_ok())
            );
            prop_assert_eq!(all_finite(&values), values.iter().all(|&v| finite(v).is_ok()));
            prop_assert_eq!(
                all_within(&sides, -1, 1),
                sides.iter().all(|s| (-1..=1).contains(s))
            );
            let mut sorted = ints.clone();
            sorted.sort_unstable();
            for column in [&ints, &sorted] {
                prop_assert_eq!(
                    non_decreasing(column),
                    column.windows(2).all(|w| w[0] <= w[1])
                );
            }
        }
    }

    #[test]
    fn column_checks_find_one_bad_value_anywhere() {
        for n in [0, 1, 2, 63, 64, 65, 129, 200] {
            let good = vec![1.5; n];
            assert!(all_positive(&good) && all_non_negative(&good) && all_finite(&good));
            let ts: Vec<i64> = (0..n as i64).collect();
            assert!(non_decreasing(&ts));
            for at in 0..n {
                for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
                    let mut column = good.clone();
                    column[at] = bad;
                    assert!(!all_positive(&column), "{bad} at {at} of {n}");
                }
                let mut column = good.clone();
                column[at] = -0.5;
                assert!(!all_non_negative(&column));
                column[at] = f64::NEG_INFINITY;
                assert!(!all_finite(&column));
                if at > 0 {
                    let mut ts = ts.clone();
                    ts[at] = ts[at - 1] - 1;
                    assert!(!non_decreasing(&ts), "a decrease at {at} of {n}");
                }
            }
        }
    }
}
