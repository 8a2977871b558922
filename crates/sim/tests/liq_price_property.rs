//! The calculator's liquidation price is where the engine liquidates: for
//! every rule book, a position is safe at the last tick on its side of the
//! calculator's price and liquidated one tick past it (docs/venues.md,
//! "Calculator").
//!
//! The calculator's price is exact in reals; the engine rounds a requirement
//! up to the micro-USD, so cases where the margin left at the safe tick is
//! under two micro-USD (a price a hair from a tick) are not drawn.

use backstop_sim::engine::{AccountSpec, Engine, VenueConfig};
use backstop_sim::money::{Micros, Rate};
use backstop_sim::run::liq_price::{AccountFile, MarketInput, PositionInput, liquidation_prices};
use backstop_sim::venue::market::{MarginSchedule, Market};
use backstop_sim::venue::rulebook::Venue;
use proptest::prelude::*;

const TICK: f64 = 0.1;
const LOT: f64 = 0.001;
const K: f64 = 100.0; // micro-USD per lot per tick

fn market(v: Venue) -> Market {
    let rows: Vec<_> = v
        .rule_book()
        .btc_brackets
        .iter()
        .map(|&(f, i, m)| {
            (
                Micros::from_usd(f).unwrap(),
                Rate::from_fraction(i).unwrap(),
                Rate::from_fraction(m).unwrap(),
            )
        })
        .collect();
    Market::plain("btc", TICK, LOT, K as i64, MarginSchedule::new(&rows))
}

fn engine(v: Venue, entry_ticks: i64, lots: i64, collateral: Micros, isolated: bool) -> Engine {
    let cfg = VenueConfig {
        insurance_fund: Micros::from_usd(1e9).unwrap(),
        ..VenueConfig::plain()
    };
    let a = AccountSpec {
        id: 1,
        collateral,
        isolated,
        positions: vec![(0, lots, entry_ticks)],
    };
    Engine::new(
        vec![market(v)],
        &[entry_ticks as f64 * TICK],
        &[a],
        cfg,
        Engine::test_rng(3),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn the_engine_liquidates_one_tick_past_the_calculators_price(
        venue in 0usize..5,
        entry_ticks in 200_000i64..1_500_000,
        abs_lots in 1i64..300_000,
        long in any::<bool>(),
        isolated in any::<bool>(),
        lev_share in 0.05f64..0.95,
    ) {
        let v = Venue::ALL[venue];
        let lots = if long { abs_lots } else { -abs_lots };
        let notional = abs_lots as f64 * entry_ticks as f64 * K / 1e6;
        let m = market(v);
        let max_lev = m.margin.max_leverage(Micros::from_usd(notional).unwrap());
        let leverage = 1.5 + lev_share * (max_lev - 1.5).max(0.0);
        let collateral = Micros::from_usd((notional / leverage * 100.0).round() / 100.0).unwrap();
        // The calculator, from an account file.
        let file = AccountFile {
            venue: v.name().into(),
            collateral: if isolated { 0.0 } else { collateral.to_usd() },
            market: [("btc".to_string(), MarketInput {
                mark: entry_ticks as f64 * TICK,
                tick_size: TICK,
                lot_size: LOT,
                tiers: None,
            })].into_iter().collect(),
            position: vec![PositionInput {
                market: "btc".into(),
                size: lots as f64 * LOT,
                entry: entry_ticks as f64 * TICK,
                isolated_margin: isolated.then(|| collateral.to_usd()),
            }],
        };
        let rows = liquidation_prices(&file).unwrap();
        let Some(lp) = rows[0].liquidation_price else {
            prop_assume!(false);
            unreachable!()
        };
        let t = lp / TICK;
        let mmr = rows[0].bracket_mmr;
        let (safe, past, gap) = if long {
            let safe = t.ceil();
            (safe, safe - 1.0, (safe - t) * abs_lots as f64 * K * (1.0 - mmr))
        } else {
            let safe = t.floor();
            (safe, safe + 1.0, (t - safe) * abs_lots as f64 * K * (1.0 + mmr))
        };
        prop_assume!(gap >= 2.0);
        prop_assume!(past >= 1.0 && safe >= 1.0);
        // Not liquidatable at entry (inside the allowed leverage).
        let mut e = engine(v, entry_ticks, lots, collateral, isolated);
        prop_assume!(!e.is_liquidatable(0));
        e.step(&[safe * TICK]).unwrap();
        prop_assert_eq!(e.totals().liquidations, 0, "{:?}: liquidated at the safe tick {} (lp {})", v, safe, lp);
        e.step(&[past * TICK]).unwrap();
        prop_assert_eq!(e.totals().liquidations, 1, "{:?}: not liquidated one tick past {} (lp {})", v, past, lp);
    }
}
