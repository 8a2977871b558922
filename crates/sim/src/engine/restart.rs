//! Starting a path from a prepared engine instead of building one anew.
//!
//! A Monte Carlo run builds the same opening book for every path (a fixed
//! population): opening the ledger, collecting the market slots and indexing
//! every account's triggers (sorts and fresh allocations of O(accounts)) was
//! about 14% of `mc-garch-baseline`. [`Engine::restart_from`] makes an engine
//! that has run a path the same as a freshly built one by copying a prepared
//! engine's state into its own buffers (`Vec::clone_from` and
//! `BinaryHeap::clone_from` reuse the allocations): O(accounts) copying, no
//! sort, no allocation once warm.
//!
//! What differs between paths is handed in: the markets (their impact models
//! carry state), the venue's rules and the path's ADL random stream. The
//! controls are installed afterwards as for a new engine
//! ([`Engine::set_controls`]).

use rand_chacha::ChaCha8Rng;

use super::{Engine, VenueConfig};
use crate::venue::controls::Controls;
use crate::venue::market::Market;

impl Engine {
    /// Whether [`Engine::restart_from`] can start a path from this engine: built
    /// and not stepped, without non-USD collateral (whose pricing carries state
    /// the engine cannot copy).
    pub fn can_prepare(&self) -> bool {
        self.step == 0 && self.collateral.is_none()
    }

    /// Makes this engine the same as `template` (an engine built for the same
    /// population and rules, [`Engine::can_prepare`]) would be with `markets`,
    /// `cfg` and `rng` in place of its own, and no controls: the same as
    /// [`Engine::new`] of the same population (with the template's vault) would
    /// build. Reuses this engine's memory.
    ///
    /// Every field is listed (a new one fails to compile here until it is
    /// reset): a restarted engine must run a path bit-identically to a new one.
    pub fn restart_from(
        &mut self,
        template: &Engine,
        markets: Vec<Market>,
        cfg: VenueConfig,
        rng: ChaCha8Rng,
    ) {
        debug_assert!(template.can_prepare(), "Invariant: a prepared template");
        let Engine {
            markets: _,
            marks,
            impact,
            margin_mult,
            flows,
            venue_flows,
            ledger,
            cfg: _,
            index,
            step,
            totals,
            events: _,
            record_events,
            scratch: _,
            rng: _,
            accounts_liquidated,
            accounts_adl_hit,
            controls: _,
            liquidations_paused,
            oracle_prices,
            collateral: _,
            now_ns,
            adl_queues,
            adl_evaluations,
            adl_log: _,
            multi_position_accounts,
            vault,
            adl_price,
            prev_marks,
            liquidation_limit,
        } = template;
        self.markets = markets;
        self.marks.clone_from(marks);
        self.impact.clone_from(impact);
        self.margin_mult.clone_from(margin_mult);
        self.flows.clone_from(flows);
        self.venue_flows = *venue_flows;
        self.ledger.reset_from(ledger);
        self.cfg = cfg;
        self.index.reset_from(index);
        self.step = *step;
        self.totals.clone_from(totals);
        self.events.clear();
        self.record_events = *record_events;
        // Scratch buffers are emptied before every use; keep their capacity.
        self.scratch.breached.clear();
        self.scratch.popped.clear();
        self.scratch.candidates.clear();
        self.scratch.fills.clear();
        self.scratch.winners.clear();
        // The marks' memo is of the old markets (their ticks).
        self.scratch.marks.clear();
        // The quiet step's bands are of the old engine (`quiet.rs`).
        self.scratch.quiet.reset(self.step);
        self.rng = rng;
        self.accounts_liquidated = *accounts_liquidated;
        self.accounts_adl_hit = *accounts_adl_hit;
        self.controls = Controls::default();
        self.liquidations_paused = *liquidations_paused;
        self.oracle_prices.clone_from(oracle_prices);
        self.collateral = None;
        self.now_ns = *now_ns;
        self.adl_queues.clone_from(adl_queues);
        self.adl_evaluations = *adl_evaluations;
        self.adl_log = Default::default();
        self.multi_position_accounts
            .clone_from(multi_position_accounts);
        self.vault = vault.as_ref().map(|v| super::vault_book::VaultState {
            rules: v.rules,
            stats: v.stats.clone(),
        });
        self.adl_price = *adl_price;
        self.prev_marks.clone_from(prev_marks);
        self.liquidation_limit = *liquidation_limit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{AccountSpec, LastLine};
    use crate::money::{Micros, Rate};
    use crate::venue::adl::{AdlPolicy, BinanceRanking};
    use crate::venue::market::MarginSchedule;

    fn market() -> Market {
        let rate = |x: f64| Rate::from_fraction(x).unwrap();
        let margin = MarginSchedule::new(&[(Micros::ZERO, rate(0.01), rate(0.005))]);
        Market {
            funding_interval_steps: 5,
            funding_rate: rate(0.001),
            ..Market::plain("btc", 0.1, 0.001, 100, margin)
        }
    }

    fn cfg() -> VenueConfig {
        VenueConfig {
            fee: Rate::from_fraction(0.005).unwrap(),
            insurance_fund_share: Rate::from_fraction(0.5).unwrap(),
            insurance_fund: Micros::from_usd(10.0).unwrap(),
            last_line: LastLine::Adl {
                policy: AdlPolicy::Queue(Box::new(BinanceRanking)),
                scope: crate::engine::AdlScope::Position,
            },
            ..VenueConfig::plain()
        }
    }

    /// 400 accounts, longs at 5x to 40x and shorts at 3x, entries around 100.
    fn population() -> Vec<AccountSpec> {
        (0..400u64)
            .map(|i| {
                let long = i % 3 != 0;
                let lots: i64 = if long { 1000 } else { -1500 };
                let lev = if long { 5 + (i % 36) as i64 } else { 3 };
                let entry = 1000 - (i % 7) as i64;
                let notional = lots.abs() * entry * 100;
                AccountSpec {
                    id: i,
                    collateral: Micros(notional / lev),
                    isolated: i % 5 == 0,
                    positions: vec![(0, lots, entry)],
                }
            })
            .collect()
    }

    fn run(engine: &mut Engine) -> (Vec<(u64, i64)>, String) {
        for t in 0..40 {
            let p = 100.0 - 1.5 * f64::from(t) + if t % 2 == 0 { 0.7 } else { 0.0 };
            engine.step(&[p.max(1.0)]).unwrap();
        }
        let state = engine
            .accounts()
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, engine.collateral(i as u32).0))
            .collect();
        (state, format!("{:?}", engine.totals()))
    }

    #[test]
    fn a_restarted_engine_runs_a_path_like_a_new_one() {
        let pop = population();
        let new = |seed| {
            Engine::new(
                vec![market()],
                &[100.0],
                &pop,
                cfg(),
                Engine::test_rng(seed),
            )
        };
        let template = new(1).unwrap();
        assert!(template.can_prepare());
        let mut fresh = new(2).unwrap();
        let expected = run(&mut fresh);
        assert!(
            fresh.accounts_liquidated() > 0 && fresh.accounts_adl_hit() > 0,
            "the path liquidates and deleverages"
        );
        // An engine that has run a path, restarted, runs it again the same.
        let mut reused = new(3).unwrap();
        run(&mut reused);
        assert!(!reused.can_prepare());
        reused.restart_from(&template, vec![market()], cfg(), Engine::test_rng(2));
        assert_eq!(reused.steps_run(), 0);
        assert_eq!(run(&mut reused), expected);
        assert_eq!(reused.accounts_adl_hit(), fresh.accounts_adl_hit());
    }
}
