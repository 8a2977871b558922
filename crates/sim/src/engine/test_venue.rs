//! Small venues for the engine's property tests: two markets of whole lots
//! at a cent tick, and accounts holding a slot in either, both or neither
//! (one builder for the tests of the ADL indexes and the margin index).

use crate::engine::{AccountSpec, Engine, VenueConfig};
use crate::money::{Micros, Rate};
use crate::venue::market::{MarginSchedule, Market};

/// An account of [`venue`]: its collateral (µUSD, any sign) and per market
/// its slot `(lots, entry ticks)` (lots of any sign, 0 a flat slot), if any.
pub(super) type Spec = (i64, [Option<(i64, i64)>; 2]);

/// A rate of the margin schedules below.
fn rate(x: f64) -> Rate {
    Rate::from_fraction(x).expect("a test rate")
}

/// A market of whole lots at a cent tick (10,000 µUSD a lot-tick) whose
/// margin brackets start at `floors` (µUSD of notional; the first 0), the
/// `n`-th with rates `2n + 2`% initial and `n + 1`% maintenance.
pub(super) fn market(floors: &[i64]) -> Market {
    let tiers: Vec<(Micros, Rate, Rate)> = floors
        .iter()
        .enumerate()
        .map(|(n, &f)| {
            let n = n as f64;
            (Micros(f), rate(0.02 * (n + 1.0)), rate(0.01 * (n + 1.0)))
        })
        .collect();
    Market::plain("m", 0.01, 1.0, 10_000, MarginSchedule::new(&tiers))
}

/// A venue of two markets `market(floors)` (marks 100 and 3 USD) and
/// `accounts` (ids from 1).
pub(super) fn venue(accounts: &[Spec], floors: &[i64]) -> Engine {
    let pop: Vec<AccountSpec> = accounts
        .iter()
        .enumerate()
        .map(|(i, (collateral, slots))| AccountSpec {
            id: i as u64 + 1,
            collateral: Micros(*collateral),
            isolated: false,
            positions: (0..2u16)
                .filter_map(|m| slots[m as usize].map(|(lots, entry)| (m, lots, entry)))
                .collect(),
        })
        .collect();
    let built = Engine::new(
        vec![market(floors), market(floors)],
        &[100.0, 3.0],
        &pop,
        VenueConfig::plain(),
        Engine::test_rng(0),
    );
    built.expect("a test venue builds")
}
