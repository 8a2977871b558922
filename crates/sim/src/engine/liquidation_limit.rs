//! The price limit of a liquidation order: dYdX v4's fillable price
//! (docs/model.md §5, "The fillable price as a limit"; docs/venues.md, dYdX).
//!
//! dYdX v4 liquidates with an immediate-or-cancel order at the *fillable
//! price* (`GetFillablePrice`, `protocol/x/clob/keeper/liquidations.go`):
//!
//! `fillable = (PNNV − ABR × SMMR × PMMR) / PS`, `ABR = clamp(BA × (1 − TNC / TMMR), 0, 1)`
//!
//! with `PNNV` the position's value at the oracle, `PS` its signed size,
//! `PMMR` its maintenance requirement, `TNC` the account's equity and `TMMR`
//! its total maintenance requirement. For a long, `oracle × (1 − ABR × SMMR ×
//! MMF)`: the oracle price for an account at its maintenance requirement, the
//! largest spread `SMMR × MMF` below it for an account at zero equity or
//! below. The limit is rounded to a tick toward the oracle (a sell's up, a
//! buy's down: `ConvertFillablePriceToSubticks`).
//!
//! Exact integer arithmetic (fractions in lowest terms), the price rounded
//! to a tick only at the end, as dYdX rounds its rational price. Plain
//! functions: the engine's use of them is `limit_book.rs`'s. Which part of the order fills at or better than the limit
//! is `limit_book.rs`'s.

use crate::money::{Micros, PPB, Rate, div_floor_i128};

/// The parameters of the fillable price, as the engine takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationLimit {
    /// SMMR: the largest spread from the oracle, a multiple of the
    /// position's maintenance fraction.
    pub spread_to_maintenance: Rate,
    /// BA: the bankruptcy adjustment scaling the rating (at least 1).
    pub bankruptcy_adjustment: Rate,
}

/// The adjusted bankruptcy rating `clamp(BA × (1 − TNC / TMMR), 0, 1)` as an
/// exact fraction `(numerator, denominator)` in lowest terms (`(1, 1)` when
/// the account has no maintenance requirement).
#[must_use]
pub fn adjusted_bankruptcy_rating(ba: Rate, equity: Micros, maintenance: Micros) -> (i128, i128) {
    let tmmr = i128::from(maintenance.0);
    if tmmr <= 0 {
        return (1, 1);
    }
    let num = i128::from(ba.0).saturating_mul(tmmr - i128::from(equity.0));
    let den = tmmr * i128::from(PPB);
    if num <= 0 {
        (0, 1)
    } else if num >= den {
        (1, 1)
    } else {
        reduced(num, den)
    }
}

/// The greatest common divisor (of non-negative numbers).
fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `n / d` in lowest terms (`d > 0`).
fn reduced(n: i128, d: i128) -> (i128, i128) {
    let g = gcd(n.abs(), d).max(1);
    (n / g, d / g)
}

/// The fillable price in ticks of a liquidation order closing a position of
/// signed size `lots` (lots of `micros_per_lot_tick` micro-USD per tick) at
/// oracle `mark` (ticks), with maintenance requirement `position_maintenance`,
/// in an account of `equity` and total requirement `maintenance`. Exact
/// (rational) before rounding toward the oracle to a tick; at least one tick.
#[must_use]
pub fn fillable_ticks(
    limit: &LiquidationLimit,
    mark: i64,
    lots: i64,
    position_maintenance: Micros,
    equity: Micros,
    maintenance: Micros,
    micros_per_lot_tick: i64,
) -> i64 {
    if lots == 0 {
        return mark;
    }
    // ABR × (SMMR × PMMR) / (|PS| × k): the spread from the oracle in ticks.
    let (an, ad) = adjusted_bankruptcy_rating(limit.bankruptcy_adjustment, equity, maintenance);
    let size = i128::from(lots.unsigned_abs().min(i64::MAX as u64) as i64);
    let (sn, sd) = reduced(
        i128::from(limit.spread_to_maintenance.0) * i128::from(position_maintenance.0.max(0)),
        i128::from(PPB) * size * i128::from(micros_per_lot_tick.max(1)),
    );
    let (an, sd) = reduced(an, sd);
    let (sn, ad) = reduced(sn, ad);
    let delta = match (an.checked_mul(sn), ad.checked_mul(sd)) {
        (Some(n), Some(d)) => div_floor_i128(n, d),
        // Past i128 even in lowest terms (not expected in range): the same
        // in floating point.
        _ => (an as f64 / ad as f64 * (sn as f64 / sd as f64)).floor() as i128,
    };
    let delta = i64::try_from(delta.max(0)).unwrap_or(i64::MAX);
    let ticks = if lots > 0 {
        mark.saturating_sub(delta)
    } else {
        mark.saturating_add(delta)
    };
    ticks.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dydx() -> LiquidationLimit {
        LiquidationLimit {
            spread_to_maintenance: Rate(1_500_000_000),
            bankruptcy_adjustment: Rate(PPB),
        }
    }

    /// Long 1 ETH at an oracle of 3,000.00 (ticks of 0.01, lots of 1), MMF 5%
    /// (150 USD): 60 USD of equity rates 0.6, the limit is 2,865.00.
    #[test]
    fn documented_account_limit() {
        let usd = |x: i64| Micros(x * 1_000_000);
        let l = fillable_ticks(&dydx(), 300_000, 1, usd(150), usd(60), usd(150), 10_000);
        assert_eq!(l, 286_500);
        let s = fillable_ticks(&dydx(), 300_000, -1, usd(150), usd(60), usd(150), 10_000);
        assert_eq!(s, 313_500);
        // At maintenance, the oracle; at zero equity or below, 7.5% away.
        assert_eq!(
            fillable_ticks(&dydx(), 300_000, 1, usd(150), usd(150), usd(150), 10_000),
            300_000
        );
        assert_eq!(
            fillable_ticks(&dydx(), 300_000, 1, usd(150), usd(-40), usd(150), 10_000),
            277_500
        );
    }

    #[test]
    fn rounds_toward_the_oracle() {
        // A spread of 1/3 tick: none.
        let l = LiquidationLimit {
            spread_to_maintenance: Rate(PPB),
            bankruptcy_adjustment: Rate(PPB),
        };
        let third = Micros(3_333);
        assert_eq!(
            fillable_ticks(&l, 1_000, 1, third, Micros(0), third, 10_000),
            1_000
        );
        assert_eq!(
            fillable_ticks(&l, 1_000, -1, third, Micros(0), third, 10_000),
            1_000
        );
    }
}
