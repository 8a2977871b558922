//! Small venues for the engine's property tests: two markets of whole lots
//! at a cent tick, and accounts holding a slot in either, both or neither
//! (one builder for the tests of the ADL indexes and the margin index).

use proptest::prelude::*;

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

/// One change between two builds of a kept ADL side (the `pro_rata` and
/// `min_max_leverage` sides' property tests): a market's mark moved
/// by `ticks` (kept at 1 or above), a slot traded `lots` with the
/// external counterparty, or a funding settlement at `bps` basis points.
#[derive(Clone, Debug)]
pub(super) enum Change {
    /// Market, ticks.
    Mark(usize, i64),
    /// Slot (modulo the slots), lots.
    Fill(usize, i64),
    /// Market, basis points.
    Funding(usize, i64),
}

/// A random [`Change`]: marks by small and large moves (positions cross
/// zero equity both ways), fills that grow, shrink, close and flip a
/// position, and funding of either sign.
pub(super) fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0usize..2, prop_oneof![-5i64..=5, -3_000i64..3_000]).prop_map(|(m, t)| Change::Mark(m, t)),
        (0usize..80, prop_oneof![-3i64..=3, Just(0i64)]).prop_map(|(s, l)| Change::Fill(s, l)),
        (0usize..2, -50i64..50).prop_map(|(m, b)| Change::Funding(m, b)),
    ]
}

/// Applies `c` to `e`.
pub(super) fn apply(e: &mut Engine, c: &Change) {
    match *c {
        Change::Mark(m, t) => e.marks[m] = (e.marks[m] + t).max(1),
        Change::Fill(s, lots) => {
            let n = e.ledger.positions.len();
            if n == 0 || lots == 0 {
                return;
            }
            let s = (s % n) as u32;
            let m = e.ledger.positions[s as usize].market as usize;
            let owner = e.ledger.slot_owner(s);
            let value = e.markets[m].value(lots, e.marks[m]);
            e.ledger.trade_with_external(owner, s, lots, value);
        }
        Change::Funding(m, bps) => {
            e.settle_funding(m, rate(bps as f64 / 10_000.0));
        }
    }
}
