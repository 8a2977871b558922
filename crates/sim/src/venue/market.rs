//! Perpetual markets: price and size grids, tiered margin brackets.
//!
//! Prices are integer **ticks** and sizes integer **lots** of the market. A market's
//! `tick_size × lot_size` must be a whole number `k ≥ 1` of micro-USD, so the value
//! of `lots` at `ticks` is exactly `lots × ticks × k` micro-USD: every notional,
//! unrealized PnL and trade value is an exact integer, and the zero-sum and
//! conservation invariants (docs/model.md §8) can be checked exactly.
//!
//! The maintenance requirement is computed here and nowhere else:
//! [`MarginSchedule::maintenance_requirement`] (exact, in integers) and
//! [`MarginSchedule::maintenance_line`] (the same function as a line per bracket,
//! in reals, for closed-form liquidation prices).

use crate::money::{Micros, PPB, Rate, div_ceil_i128};
use crate::venue::impact::{ImpactModel, NoImpact};

/// The largest relative change the tick and lot grids may make to a price or a
/// position's notional without a word: 1%. Scenario validation refuses prices
/// the tick grid would move by more ([`MIN_PRICE_TICKS`]), snapshot rows whose
/// size or entry price it would move by more are refused, and a generated
/// population counts the positions it moves by more and is refused when the
/// lot grid moves its total notional by more.
pub const GRID_TOLERANCE: f64 = 0.01;

/// The fewest ticks a price given in a scenario may be: rounding to the nearest
/// tick moves a price of `p` ticks by at most `0.5 / p`, within
/// [`GRID_TOLERANCE`] from 50 ticks up.
pub const MIN_PRICE_TICKS: f64 = 0.5 / GRID_TOLERANCE;

/// The most ticks a price may be: 2^53, below which every whole number of
/// ticks is exact in `f64`.
pub const MAX_PRICE_TICKS: f64 = 9_007_199_254_740_992.0;

/// Index of a market in the venue (its position in the scenario's sorted market table).
pub type MarketId = u16;

/// One margin bracket: positions whose notional is at least `notional_floor`
/// (and below the next floor) use these rates.
#[derive(Clone, Debug, PartialEq)]
pub struct MarginTier {
    /// Lowest notional of the bracket.
    pub notional_floor: Micros,
    /// Initial margin rate; max leverage of the bracket is `1 / imr`.
    pub imr: Rate,
    /// Maintenance margin rate.
    pub mmr: Rate,
    /// Maintenance amount `cum_k` in micro-USD × ppb (exact): makes the
    /// maintenance function continuous at each floor.
    cum_mm: i128,
    /// Same for the initial margin.
    cum_im: i128,
}

impl MarginTier {
    /// The maintenance amount `cum_k` exact, in micro-USD × ppb: what the
    /// bracket's requirement subtracts from `notional × mmr` before the
    /// division (for the engine's per-close second-bracket path).
    pub fn maintenance_cum(&self) -> i128 {
        self.cum_mm
    }

    /// Binance's "maintenance amount" (`cum`) of this bracket, in USD.
    pub fn maintenance_amount_usd(&self) -> f64 {
        self.cum_mm as f64 / (PPB as f64 * 1e6)
    }
}

/// Tiered margin brackets (Binance-style), continuous in notional.
///
/// Maintenance margin of notional `N` in bracket `k` is `N × mmr_k − cum_k` with
/// `cum_0 = 0`, `cum_k = cum_{k−1} + floor_k × (mmr_k − mmr_{k−1})`; same shape for
/// the initial margin. Requirements are rounded **up** to the micro-USD (the venue
/// rounds what it requires in its own favour).
#[derive(Clone, Debug, PartialEq)]
pub struct MarginSchedule {
    tiers: Vec<MarginTier>,
    /// Per bracket, `(mmr, cum_mm)` as fractions of one (µUSD for `cum_mm`):
    /// what [`MarginSchedule::maintenance_line`] scales, converted once (the
    /// `i128` conversion is a library call, and both are divisions, on the
    /// chain of every liquidation price).
    mm_lines: Vec<(f64, f64)>,
}

impl MarginSchedule {
    /// Builds a schedule from `(notional_floor, imr, mmr)` rows.
    ///
    /// The caller (scenario validation) guarantees: first floor 0, floors strictly
    /// increasing, rates in (0, 1], non-decreasing, `mmr ≤ imr`.
    pub fn new(rows: &[(Micros, Rate, Rate)]) -> MarginSchedule {
        let mut tiers: Vec<MarginTier> = Vec::with_capacity(rows.len());
        for &(floor, imr, mmr) in rows {
            let (cum_mm, cum_im) = match tiers.last() {
                None => (0, 0),
                Some(prev) => (
                    prev.cum_mm + floor.0 as i128 * (mmr.0 - prev.mmr.0) as i128,
                    prev.cum_im + floor.0 as i128 * (imr.0 - prev.imr.0) as i128,
                ),
            };
            tiers.push(MarginTier {
                notional_floor: floor,
                imr,
                mmr,
                cum_mm,
                cum_im,
            });
        }
        let mm_lines = tiers
            .iter()
            .map(|t| (t.mmr.as_fraction(), t.cum_mm as f64 / PPB as f64))
            .collect();
        MarginSchedule { tiers, mm_lines }
    }

    /// The brackets, lowest first.
    pub fn tiers(&self) -> &[MarginTier] {
        &self.tiers
    }

    /// Index of the bracket holding `notional` (binary search: O(log tiers)).
    pub fn tier_index(&self, notional: Micros) -> usize {
        self.tiers
            .partition_point(|t| t.notional_floor <= notional)
            .saturating_sub(1)
    }

    /// Maintenance margin of a position of this notional, rounded up.
    pub fn maintenance_margin(&self, notional: Micros) -> Micros {
        let t = &self.tiers[self.tier_index(notional)];
        Micros(div_ceil_i128(notional.0 as i128 * t.mmr.0 as i128 - t.cum_mm, PPB as i128) as i64)
    }

    /// Initial margin of a position of this notional, rounded up.
    pub fn initial_margin(&self, notional: Micros) -> Micros {
        let t = &self.tiers[self.tier_index(notional)];
        Micros(div_ceil_i128(notional.0 as i128 * t.imr.0 as i128 - t.cum_im, PPB as i128) as i64)
    }

    /// Maximum leverage allowed at this notional (`1 / imr` of its bracket).
    pub fn max_leverage(&self, notional: Micros) -> f64 {
        1.0 / self.tiers[self.tier_index(notional)].imr.as_fraction()
    }

    /// The highest maintenance rate of any bracket (a bound on the slope of the
    /// maintenance function).
    pub fn max_mmr(&self) -> Rate {
        self.tiers.last().map_or(Rate::ZERO, |t| t.mmr)
    }

    /// The maintenance requirement of a position of this notional when the
    /// margin rates are scaled by `multiplier` (volatility margin; [`Rate::ONE`]
    /// without it): `ceil(maintenance_margin(notional) × multiplier)`, rounded up
    /// like the requirement itself (docs/model.md §1 and §10).
    #[inline]
    pub fn maintenance_requirement(&self, notional: Micros, multiplier: Rate) -> Micros {
        let base = self.maintenance_margin(notional);
        match multiplier {
            Rate::ONE => base,
            m => m.apply_ceil(base),
        }
    }

    /// [`MarginSchedule::maintenance_requirement`] in bracket `tier` as a line in
    /// reals, `requirement ≈ notional × slope − intercept` (micro-USD, before
    /// rounding): `(mmr × multiplier, cum × multiplier)`. For closed-form
    /// liquidation prices, which solve `equity = requirement` bracket by bracket.
    pub fn maintenance_line(&self, tier: usize, multiplier: f64) -> (f64, f64) {
        let (mmr, cum) = self.mm_lines[tier];
        debug_assert_eq!(
            (mmr, cum),
            (
                self.tiers[tier].mmr.as_fraction(),
                self.tiers[tier].cum_mm as f64 / PPB as f64
            ),
            "Invariant: a bracket's line is its rate and amount as fractions"
        );
        (mmr * multiplier, cum * multiplier)
    }

    /// The steepest slope of the scaled maintenance function (the highest
    /// bracket's rate × `multiplier`): a bound for the liquidation index.
    pub fn max_maintenance_slope(&self, multiplier: f64) -> f64 {
        self.max_mmr().as_fraction() * multiplier
    }
}

/// A perpetual futures market (linear, USD-margined).
pub struct Market {
    /// Scenario key of the market (e.g. `btc`).
    pub name: String,
    /// Price increment, USD.
    pub tick_size: f64,
    /// Size increment, base units.
    pub lot_size: f64,
    /// `tick_size × lot_size` in micro-USD: the value of one lot moving one tick.
    pub micros_per_lot_tick: i64,
    /// Margin brackets.
    pub margin: MarginSchedule,
    /// Funding settles every this many steps (0 = never).
    pub funding_interval_steps: u32,
    /// Funding rate per interval (longs pay shorts when positive).
    pub funding_rate: Rate,
    /// Price impact of liquidation orders.
    pub impact: Box<dyn ImpactModel>,
    /// Share of impact that is permanent (moves the mark for good).
    pub permanent_impact_fraction: f64,
    /// Per-step decay factor of the temporary impact (`0.5^(1/half_life)`).
    pub temporary_impact_decay: f64,
    /// Whether the impact of liquidations moves later marks (`false` on a replay
    /// that keeps the recorded mark: orders still pay their slippage).
    pub impact_moves_mark: bool,
}

impl Market {
    /// A market of the given grids (`micros_per_lot_tick` = `tick_size ×
    /// lot_size` in micro-USD) and margin brackets with no funding and no
    /// price impact. The market the liquidation-price calculator builds
    /// (`run/liq_price.rs`), and the plain market tests change a field of.
    pub fn plain(
        name: &str,
        tick_size: f64,
        lot_size: f64,
        micros_per_lot_tick: i64,
        margin: MarginSchedule,
    ) -> Market {
        Market {
            name: name.to_string(),
            tick_size,
            lot_size,
            micros_per_lot_tick,
            margin,
            funding_interval_steps: 0,
            funding_rate: Rate::ZERO,
            impact: Box::new(NoImpact),
            permanent_impact_fraction: 0.0,
            temporary_impact_decay: 0.0,
            impact_moves_mark: true,
        }
    }

    /// Nearest tick to a price, at least one tick.
    pub fn ticks(&self, price: f64) -> i64 {
        ((price / self.tick_size).round() as i64).max(1)
    }

    /// Nearest tick to a price of the path, or `None` for a price below one tick
    /// (or not finite, or above [`MAX_PRICE_TICKS`]): the engine refuses a mark
    /// the grid would hold at one tick.
    #[inline]
    pub fn checked_ticks(&self, price: f64) -> Option<i64> {
        let t = (price / self.tick_size).round();
        (1.0..=MAX_PRICE_TICKS).contains(&t).then_some(t as i64)
    }

    /// Price of a number of ticks.
    pub fn price(&self, ticks: i64) -> f64 {
        ticks as f64 * self.tick_size
    }

    /// Nearest number of lots to a signed size in base units.
    pub fn lots(&self, size: f64) -> i64 {
        (size / self.lot_size).round() as i64
    }

    /// Signed size in base units of a number of lots.
    pub fn size(&self, lots: i64) -> f64 {
        lots as f64 * self.lot_size
    }

    /// Exact value of `lots` at `ticks` in micro-USD (signed like `lots`).
    pub fn value(&self, lots: i64, ticks: i64) -> Micros {
        let v = lots as i128 * ticks as i128 * self.micros_per_lot_tick as i128;
        debug_assert!(
            v.abs() < i64::MAX as i128,
            "Invariant: position value fits in i64 micros"
        );
        Micros(v as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(x: f64) -> Micros {
        Micros::from_usd(x).unwrap()
    }
    fn rate(x: f64) -> Rate {
        Rate::from_fraction(x).unwrap()
    }

    /// Binance BTCUSDT brackets: the published maintenance amounts (cum) are
    /// 0, 50, 1,300, 16,300 … for floors 0, 50k, 250k, 1M with MMR 0.4/0.5/1/2.5%.
    #[test]
    fn cum_amounts_match_binance_brackets() {
        let s = MarginSchedule::new(&[
            (usd(0.0), rate(0.008), rate(0.004)),
            (usd(50_000.0), rate(0.01), rate(0.005)),
            (usd(250_000.0), rate(0.02), rate(0.01)),
            (usd(1_000_000.0), rate(0.05), rate(0.025)),
        ]);
        let cums: Vec<f64> = s
            .tiers()
            .iter()
            .map(|t| t.maintenance_amount_usd())
            .collect();
        assert_eq!(cums, vec![0.0, 50.0, 1_300.0, 16_300.0]);
        // Continuity at each floor: both formulas agree there.
        assert_eq!(s.maintenance_margin(usd(50_000.0)), usd(200.0));
        assert_eq!(s.maintenance_margin(usd(49_999.999999)), usd(200.0));
        assert_eq!(s.maintenance_margin(usd(250_000.0)), usd(1_200.0));
        assert_eq!(
            s.maintenance_margin(usd(2_000_000.0)),
            usd(50_000.0 - 16_300.0)
        );
        assert_eq!(s.tier_index(usd(249_999.0)), 1);
        assert_eq!(s.max_leverage(usd(10.0)), 125.0);
    }

    #[test]
    fn requirements_round_up() {
        let s = MarginSchedule::new(&[(Micros(0), rate(0.01), rate(0.004))]);
        assert_eq!(s.maintenance_margin(Micros(1)), Micros(1));
        assert_eq!(s.maintenance_margin(Micros(250)), Micros(1));
        assert_eq!(s.maintenance_margin(Micros(251)), Micros(2));
        assert_eq!(s.initial_margin(Micros(0)), Micros(0));
    }
}
