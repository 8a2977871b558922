//! Integer money and rates.
//!
//! Every balance that moves between parties is an integer number of micro-USD
//! ([`Micros`]). Rates (margin, fee, funding) are integer parts per billion
//! ([`Rate`]), so that `notional × rate` is computed exactly in `i128` and
//! rounded once, by a rule chosen at the call site and written next to it.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::Serialize;

/// Micro-USD per USD.
pub const MICROS_PER_USD: i64 = 1_000_000;

/// Parts per billion in a rate of 1.0 (100%).
pub const PPB: i64 = 1_000_000_000;

/// The largest amount, in micro-USD, that any one balance, scenario amount or
/// the venue's gross open interest (every position valued at the mark, summed
/// over markets) may reach: `i64::MAX / 16`, about 5.8e11 USD.
///
/// The factor 16 is headroom: an account's equity adds its collateral, its
/// positions' values and their costs, and the running totals add up every close
/// of a run, each bounded by this amount, so with every term below it no sum the
/// engine forms leaves `i64` (docs/model.md §8). Scenario validation refuses
/// amounts above it; the engine checks the open interest at every step and every
/// balance at every transfer ([`crate::engine::EngineError::OutOfRange`]).
pub const MAX_MICROS: i64 = i64::MAX / 16;

/// [`MAX_MICROS`] in USD (about 5.8e11).
pub const MAX_USD: f64 = MAX_MICROS as f64 / MICROS_PER_USD as f64;

/// An amount of money in integer micro-USD (1e-6 USD).
///
/// The unit of every transfer in the venue ledger: collateral, fees, insurance
/// fund, bad debt, socialized loss, funding. `i64` holds ±9.2e12 USD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    /// Zero.
    pub const ZERO: Micros = Micros(0);

    /// Converts a USD amount, rounding half away from zero.
    ///
    /// Returns `None` for NaN, infinities and amounts above [`MAX_USD`] in size
    /// (the engine's range, with headroom for its sums). Used only at the edges
    /// (scenario parameters, loaded files), never in a transfer.
    pub fn from_usd(usd: f64) -> Option<Micros> {
        let m = (usd * MICROS_PER_USD as f64).round();
        if m.is_finite() && m.abs() <= MAX_MICROS as f64 {
            Some(Micros(m as i64))
        } else {
            None
        }
    }

    /// This amount in USD, for reports (exact for |amount| < 2^53 micros).
    pub fn to_usd(self) -> f64 {
        self.0 as f64 / MICROS_PER_USD as f64
    }

    /// The amount whose [`Micros::to_usd`] is `usd`, when `usd` is small
    /// enough for that to be exact: below 1e9 USD (1e15 µUSD < 2^50),
    /// `usd × 1e6` is within a quarter of a µUSD of the amount (two roundings
    /// of relative error 2^-53 each), so rounding it to the nearest integer
    /// gives the amount back. `None` above that (and for NaN).
    ///
    /// For figures the engine keeps in USD beside their exact amount (an ADL
    /// candidate's equity): unlike [`Micros::from_usd`] it calls no `round`
    /// (a libm call on the baseline x86-64 target), the sum being far from a
    /// half-micro.
    pub fn from_usd_exact(usd: f64) -> Option<Micros> {
        (usd.abs() < 1e9).then(|| {
            let scaled = usd * MICROS_PER_USD as f64;
            Micros((scaled + 0.5f64.copysign(scaled)) as i64)
        })
    }

    /// The larger of `self` and zero.
    pub fn positive_part(self) -> Micros {
        Micros(self.0.max(0))
    }

    /// Whether this amount is negative.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:06} USD", a / 1_000_000, a % 1_000_000)
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0 + rhs.0)
    }
}
impl Sub for Micros {
    type Output = Micros;
    fn sub(self, rhs: Micros) -> Micros {
        Micros(self.0 - rhs.0)
    }
}
impl Neg for Micros {
    type Output = Micros;
    fn neg(self) -> Micros {
        Micros(-self.0)
    }
}
impl AddAssign for Micros {
    fn add_assign(&mut self, rhs: Micros) {
        self.0 += rhs.0;
    }
}
impl SubAssign for Micros {
    fn sub_assign(&mut self, rhs: Micros) {
        self.0 -= rhs.0;
    }
}
impl Sum for Micros {
    fn sum<I: Iterator<Item = Micros>>(iter: I) -> Micros {
        Micros(iter.map(|m| m.0).sum())
    }
}

/// A rate in integer parts per billion (1e-9): 0.4% is `Rate(4_000_000)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub i64);

impl Rate {
    /// Zero.
    pub const ZERO: Rate = Rate(0);
    /// 100%.
    pub const ONE: Rate = Rate(PPB);

    /// Converts a fractional rate (0.004 = 0.4%), rounding to the nearest ppb.
    ///
    /// Returns `None` for NaN or infinite input.
    pub fn from_fraction(x: f64) -> Option<Rate> {
        let r = (x * PPB as f64).round();
        if r.is_finite() && r.abs() < 9.0e18 {
            Some(Rate(r as i64))
        } else {
            None
        }
    }

    /// The rate as a fraction.
    pub fn as_fraction(self) -> f64 {
        self.0 as f64 / PPB as f64
    }

    /// `amount × rate`, rounded up (toward +∞).
    ///
    /// The venue rounds what it charges up: margin requirements and fees.
    pub fn apply_ceil(self, amount: Micros) -> Micros {
        Micros(div_ceil_i128(amount.0 as i128 * self.0 as i128, PPB as i128) as i64)
    }

    /// `amount × rate`, rounded down (toward −∞).
    ///
    /// Used for a share of an amount already charged (the insurance-fund share of a
    /// fee), so the shares never exceed the whole.
    pub fn apply_floor(self, amount: Micros) -> Micros {
        Micros(div_floor_i128(amount.0 as i128 * self.0 as i128, PPB as i128) as i64)
    }

    /// `amount × rate`, rounded half away from zero.
    ///
    /// Used for funding, where neither side is the venue.
    pub fn apply_round(self, amount: Micros) -> Micros {
        let p = amount.0 as i128 * self.0 as i128;
        let half = PPB as i128 / 2;
        let q = if p >= 0 {
            (p + half) / PPB as i128
        } else {
            -((-p + half) / PPB as i128)
        };
        Micros(q as i64)
    }
}

/// `a / b` rounded toward +∞ (b > 0).
///
/// One hardware division when both fit in `i64` (nearly always): the 128-bit
/// branch is a software routine and margin requirements call this on every check.
pub fn div_ceil_i128(a: i128, b: i128) -> i128 {
    debug_assert!(b > 0, "Invariant: divisor is positive");
    if let (Ok(a), Ok(b)) = (i64::try_from(a), i64::try_from(b)) {
        let (q, r) = (a / b, a % b);
        return i128::from(q + i64::from(r > 0));
    }
    let (q, r) = (a / b, a % b);
    q + i128::from(r > 0)
}

/// `a / b` rounded toward −∞ (b > 0).
pub fn div_floor_i128(a: i128, b: i128) -> i128 {
    debug_assert!(b > 0, "Invariant: divisor is positive");
    if let (Ok(a), Ok(b)) = (i64::try_from(a), i64::try_from(b)) {
        let (q, r) = (a / b, a % b);
        return i128::from(q - i64::from(r < 0));
    }
    let (q, r) = (a / b, a % b);
    q - i128::from(r < 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `from_usd_exact` undoes `to_usd` for every amount below 1e9 USD,
    /// at the edges and at random, and refuses what it cannot undo.
    #[test]
    fn exact_usd_conversion_undoes_to_usd() {
        use rand::{RngExt, SeedableRng};
        let limit = 1_000_000_000 * MICROS_PER_USD;
        let back = |m: i64| Micros::from_usd_exact(Micros(m).to_usd());
        for m in [0, 1, -1, 499_999, 500_000, limit - 1, -(limit - 1), 1 << 49] {
            assert_eq!(back(m), Some(Micros(m)), "{m}");
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        for _ in 0..1_000_000 {
            let m = rng.random_range(-(limit - 1)..limit);
            assert_eq!(back(m), Some(Micros(m)), "{m}");
        }
        assert_eq!(back(limit), None);
        assert_eq!(Micros::from_usd_exact(f64::NAN), None);
        assert_eq!(Micros::from_usd_exact(f64::INFINITY), None);
    }

    #[test]
    fn usd_conversion_rounds_and_rejects_non_finite() {
        assert_eq!(Micros::from_usd(1.5), Some(Micros(1_500_000)));
        assert_eq!(Micros::from_usd(-0.0000005), Some(Micros(-1)));
        assert_eq!(Micros::from_usd(f64::NAN), None);
        assert_eq!(Micros::from_usd(f64::INFINITY), None);
        // Above the range: refused, never zero or wrapped.
        assert_eq!(Micros::from_usd(9e12), None);
        assert_eq!(Micros::from_usd(-1e13), None);
        assert_eq!(Micros::from_usd(1e300), None);
        assert!(Micros::from_usd(MAX_USD * 0.999).is_some());
        assert_eq!(Micros(-1_234_567).to_string(), "-1.234567 USD");
    }

    #[test]
    fn rate_rounding_directions() {
        let r = Rate::from_fraction(0.004).unwrap();
        assert_eq!(r, Rate(4_000_000));
        // 1 micro × 0.4% = 0.004 micro: ceil 1, floor 0, round 0.
        assert_eq!(r.apply_ceil(Micros(1)), Micros(1));
        assert_eq!(r.apply_floor(Micros(1)), Micros(0));
        assert_eq!(r.apply_round(Micros(1)), Micros(0));
        assert_eq!(r.apply_ceil(Micros(-1)), Micros(0));
        assert_eq!(r.apply_floor(Micros(-1)), Micros(-1));
        assert_eq!(Rate(500_000_000).apply_round(Micros(-3)), Micros(-2));
        assert_eq!(r.apply_ceil(Micros(50_000_000_000)), Micros(200_000_000));
    }

    #[test]
    fn divisions_round_the_right_way_in_both_paths() {
        let big = i128::from(i64::MAX) * 4;
        for (a, b) in [
            (7i128, 2i128),
            (-7, 2),
            (6, 3),
            (-6, 3),
            (0, 5),
            (big + 1, 4),
            (-big - 1, 4),
        ] {
            let exact = a as f64 / b as f64;
            assert_eq!(
                div_ceil_i128(a, b),
                a.div_euclid(b) + i128::from(a.rem_euclid(b) != 0),
                "{a}/{b} ≈ {exact}"
            );
            assert_eq!(div_floor_i128(a, b), a.div_euclid(b), "{a}/{b}");
        }
    }
}
