//! Liquidation (docs/model.md §5): executing the liquidations that are due, how
//! much of which position each closes, at what price, and the fee.
//!
//! A close that leaves the account bankrupt hands the deficit to the waterfall
//! ([`super::waterfall`]); a bankrupt position the fund cannot cover is split
//! between the market and ADL here, before it is booked.

use std::cmp::Reverse;

use crate::money::{Micros, Rate};

use super::Engine;
use super::events::Event;
use super::ledger::{Party, TransferReason};
use super::limit_book::LimitedClose;
use super::rules::{LastLine, LiquidationMode};
use crate::venue::adl::AdlScope;

/// How a close of a bankrupt position is split between the market and ADL.
struct AdlSplit {
    /// Lots deleveraged against the other side.
    adl_lots: i64,
    /// The fewest lots ADL had to take for the fund to cover the rest.
    minimum_lots: i64,
}

/// µUSD by which `requirement + fee` may fall below its unrounded line: three
/// ceilings of less than 1 µUSD each (plus the buffer's share, added where it
/// is used), with one to spare.
const ROUNDING_SLACK: i64 = 4;

/// How a liquidation of an account ends for this step.
enum LiquidationEnd {
    /// It continues after this many steps (a chunk's cooldown, a limit
    /// order that did not fill, the next block).
    Later(u32),
    /// It is over: the account is evaluated again, with its equity and
    /// maintenance requirement at the marks when the liquidation already
    /// computed them (the same numbers [`Engine::equity`] and
    /// [`Engine::maintenance`] give).
    Done(Option<(Micros, Micros)>),
}

impl Engine {
    /// Executes every liquidation due at step `t` (step stage 7), in order of
    /// (due step, account).
    pub(super) fn execute_due(&mut self, t: u32) {
        while let Some(&Reverse((due, a))) = self.index.due.peek() {
            if due > t {
                break;
            }
            self.index.due.pop();
            match self.liquidate_account(a) {
                LiquidationEnd::Later(steps) => self
                    .index
                    .due
                    .push(Reverse((t.saturating_add(steps.max(1)), a))),
                LiquidationEnd::Done(margin) => {
                    self.ledger.mark_dirty(a);
                    self.ledger.set_pending(a, false);
                    self.ledger.accounts[a as usize].chunked = false;
                    self.recheck_margin(a, margin);
                }
            }
        }
        self.index_deferred_winners();
    }

    /// Liquidates an account as far as the mode allows this step. Returns
    /// [`LiquidationEnd::Later`] when it must continue later.
    ///
    /// An account whose equity is not positive, or that a close leaves bankrupt, is
    /// taken over: every position is closed now, whatever the mode.
    ///
    /// The account's equity is computed once per close: the close hands back
    /// the equity it leaves (after the fee) when it knows it exactly, and the
    /// loop's last equity and requirement go to the re-check that follows.
    fn liquidate_account(&mut self, a: u32) -> LiquidationEnd {
        let mut takeover = false;
        // The account's equity at the marks, when the last close knows it.
        let mut known: Option<Micros> = None;
        let mut first = true;
        // `per_block`: the blocks of this step still to run (one order each).
        let mut blocks_left = match self.cfg.mode {
            LiquidationMode::PerBlock { blocks, .. } => blocks,
            _ => 0,
        };
        loop {
            let equity = known.take().unwrap_or_else(|| self.equity(a));
            debug_assert_eq!(
                equity,
                self.equity(a),
                "Invariant: the equity a close hands back is the account's"
            );
            let maintenance = self.maintenance(a);
            if !takeover && equity >= maintenance {
                return LiquidationEnd::Done(Some((equity, maintenance)));
            }
            if first && self.convert_collateral(a) {
                // Non-USD collateral is sold first, at market; the account is then
                // evaluated again on its USD equity.
                continue;
            }
            // Whether `equity` is still the account's (a refused takeover
            // may have moved some of its positions to the vault).
            let mut fresh = true;
            if !takeover && self.vault_wants(equity, maintenance) {
                // Backstop liquidation: the vault takes the account over whole
                // (unless its floor refuses; then the liquidation goes on).
                self.count_liquidated(a);
                if self.vault_take_over(a) {
                    return LiquidationEnd::Done(None);
                }
                fresh = false;
            }
            let Some(slot) = self.largest_position(a) else {
                return LiquidationEnd::Done(None);
            };
            // One slot: its position's requirement is the account's.
            let single = self.ledger.accounts[a as usize].slot_count == 1;
            if equity.0 <= 0 {
                takeover = true;
            }
            let held = self.ledger.positions[slot as usize].lots.abs();
            let wanted = if takeover {
                held
            } else {
                self.lots_to_close(slot, equity, maintenance, single)
            };
            // A limit order (dYdX's fillable price, `limit_book.rs`): what does
            // not fill waits for the next step.
            let (lots, deleverage) = match self.limit_close(slot, wanted, equity, maintenance) {
                LimitedClose::Fill(q) => (q, false),
                LimitedClose::Deleverage => (wanted, true),
                LimitedClose::Wait => return LiquidationEnd::Later(1),
            };
            if first {
                self.count_liquidated(a);
            }
            first = false;
            let (bankrupt, after) = self.close(a, slot, lots, deleverage, fresh.then_some(equity));
            if bankrupt {
                takeover = true;
            }
            known = after;
            if lots < wanted {
                return LiquidationEnd::Later(1);
            }
            match (self.cfg.mode, takeover) {
                (LiquidationMode::Chunked { cooldown_steps, .. }, false) => {
                    self.ledger.mark_dirty(a);
                    self.ledger.accounts[a as usize].chunked = true;
                    return match self.is_liquidatable(a) {
                        true => LiquidationEnd::Later(cooldown_steps),
                        false => LiquidationEnd::Done(None),
                    };
                }
                (LiquidationMode::PerBlock { .. }, false) => {
                    // The block's order is done; the next block re-checks the
                    // account at the loop's head. After the step's last
                    // block, the next step's first.
                    blocks_left -= 1;
                    if blocks_left == 0 {
                        return match self.is_liquidatable(a) {
                            true => LiquidationEnd::Later(1),
                            false => LiquidationEnd::Done(None),
                        };
                    }
                }
                _ => {}
            }
        }
    }

    /// Counts `a` among the accounts liquidated, once.
    pub(super) fn count_liquidated(&mut self, a: u32) {
        self.ledger.mark_dirty(a);
        let acc = &mut self.ledger.accounts[a as usize];
        if !acc.liquidated {
            acc.liquidated = true;
            self.accounts_liquidated += 1;
        }
    }

    /// Lots of the position in `slot` the mode closes now (no takeover).
    /// `single`: the slot is its account's only one (`maintenance` is then
    /// its position's requirement).
    fn lots_to_close(&self, slot: u32, equity: Micros, maintenance: Micros, single: bool) -> i64 {
        let held = self.ledger.positions[slot as usize].lots.abs();
        match self.cfg.mode {
            LiquidationMode::Full => held,
            LiquidationMode::ToTarget {
                buffer,
                step_fraction,
            } => self.to_target_lots(slot, equity, maintenance, single, buffer, step_fraction),
            LiquidationMode::Chunked {
                then_whole: true, ..
            } if self.ledger.accounts[self.ledger.slot_owner(slot) as usize].chunked => held,
            LiquidationMode::Chunked {
                max_fraction,
                min_chunk,
                full_below,
                ..
            } => self.chunk_lots(slot, max_fraction, min_chunk, full_below),
            LiquidationMode::PerBlock {
                portion,
                min_notional,
                max_account,
                ..
            } => self.block_lots(slot, portion, min_notional, max_account),
        }
    }

    /// `per_block`: the lots of the position in `slot` one block may close,
    /// as dYdX's `GetLiquidatablePositionSizeDelta`
    /// (`protocol/x/clob/keeper/liquidations.go`): with `N` the position's
    /// notional at the mark, `min(max(min(min_notional, N), ⌊portion × N⌋),
    /// max_account)` (`GetMaxAndMinPositionNotionalLiquidatable`, the
    /// account's block limit), converted to lots rounding down and clamped to
    /// [1 lot, the position]; the whole position when the limit covers it or
    /// it is one lot.
    ///
    /// The account's whole limit is this order's: dYdX places one
    /// liquidation order per subaccount per block
    /// (`LiquidateSubaccountsAgainstOrderbook`), so no earlier order of the
    /// block has used any of it.
    fn block_lots(
        &self,
        slot: u32,
        portion: Rate,
        min_notional: Micros,
        max_account: Micros,
    ) -> i64 {
        let p = self.ledger.positions[slot as usize];
        let held = p.lots.abs();
        let m = &self.markets[p.market as usize];
        let mark = self.marks[p.market as usize];
        let notional = m.value(held, mark);
        let position_min = min_notional.min(notional);
        let position_max = portion.apply_floor(notional).max(position_min);
        let limit = position_max.min(max_account);
        if notional <= limit || held <= 1 {
            return held;
        }
        let lot_value = m.value(1, mark).0.max(1);
        (limit.0 / lot_value).clamp(1, held)
    }

    /// The open position with the largest maintenance margin (lowest slot on ties).
    fn largest_position(&self, a: u32) -> Option<u32> {
        let acc = &self.ledger.accounts[a as usize];
        if acc.slot_count == 1 {
            // One slot: the largest open position if it is open, with no
            // requirement to compare.
            let s = acc.first_slot;
            return (self.ledger.positions[s as usize].lots != 0).then_some(s);
        }
        let mut best: Option<(Micros, u32)> = None;
        for s in acc.first_slot..acc.first_slot + acc.slot_count {
            let p = &self.ledger.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            let mm = self.position_maintenance(p, p.lots);
            if best.is_none_or(|(b, _)| mm > b) {
                best = Some((mm, s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// Execution price in ticks of `trade` lots (signed, account side) now: the mark
    /// moved by the impact of this step's flow including this order, rounded against
    /// the account (sells down, buys up), at least one tick.
    ///
    /// Never better than the mark for the liquidated account (docs/model.md §5;
    /// "mark ∓ slippage"). Opposite flow earlier in the step
    /// nets in the impact, so without the clamp a sell after larger buys would
    /// execute above the mark and *raise* the equity of the account being closed;
    /// the waterfall books each close's deficit as it happens, so a later close of
    /// the same bankrupt account recovering part of it left recorded insolvency
    /// above the account's shortfall under `none` (and gave back to it money the
    /// fund or the winners had already paid).
    pub(super) fn execution_ticks(&self, market: usize, trade: i64) -> i64 {
        let m = &self.markets[market];
        let mark = self.marks[market];
        let flow = self.flows[market].signed_flow_usd + m.value(trade, mark).to_usd();
        let price = mark as f64 * (1.0 + m.impact.impact(flow));
        let ticks = if trade < 0 {
            (price.floor() as i64).min(mark)
        } else {
            (price.ceil() as i64).max(mark)
        };
        ticks.max(1)
    }

    /// `to_target`: the smallest multiple of `step_fraction` of the position whose
    /// close (its slippage and fee included) restores `maintenance × (1 + buffer)`.
    /// `single`: the slot is its account's only one, so the position's
    /// requirement now is `maintenance`.
    fn to_target_lots(
        &self,
        slot: u32,
        equity: Micros,
        maintenance: Micros,
        single: bool,
        buffer: Rate,
        step_fraction: f64,
    ) -> i64 {
        let p = self.ledger.positions[slot as usize];
        let held = p.lots.abs();
        let market = p.market as usize;
        let m = &self.markets[market];
        let mark = self.marks[market];
        let mm_now = if single {
            maintenance
        } else {
            self.position_maintenance(&p, p.lots)
        };
        debug_assert_eq!(
            mm_now,
            self.position_maintenance(&p, p.lots),
            "Invariant: a one-slot account's requirement is its position's"
        );
        let steps = (1.0 / step_fraction).ceil().max(1.0) as i64;
        let lots_at =
            |i: i64| ((held as f64 * step_fraction * i as f64).ceil() as i64).clamp(1, held);
        // The required equity after closing `q` lots of the position.
        let required = |q: i64| {
            let remaining = p.lots - p.lots.signum() * q;
            let mm_after = maintenance - mm_now + self.position_maintenance(&p, remaining);
            mm_after + buffer.apply_ceil(mm_after)
        };
        // A close never raises equity (slippage is against the account, the fee
        // is not negative), so no `q` whose requirement is above `equity` can
        // pass the test below. That requirement falls as `q` grows (the
        // maintenance function grows with the notional): binary search for the
        // first `i` whose requirement is within `equity` and scan from there.
        // The same `q` as the scan from `i = 1`, in fewer evaluations. (A
        // negative buffer, which validation refuses, scans from 1.)
        let (mut lo, mut hi) = (1, if buffer.0 >= 0 { steps } else { 1 });
        let fee_in_unit = (0..=Rate::ONE.0).contains(&self.cfg.fee.0);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if equity >= required(lots_at(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let rising = self.fee_outgrows_maintenance(market, buffer);
        for i in lo..steps {
            let q = lots_at(i);
            if q == held {
                break;
            }
            // What the close costs (slippage and fee) is at least the fee at
            // the mark: a sell fills at or below the mark, a buy at or above,
            // and the fee rate is at most 1, so slippage + fee(price) ≥
            // fee(mark) (both integers, the fee rounded up). A `q` that fails
            // with that cost alone fails the test below: skip its execution
            // price (the impact model).
            let needed = required(q);
            let fee_at_mark = self.cfg.liquidation_fee(m.value(q, mark));
            if fee_in_unit && equity - fee_at_mark < needed {
                // Where `required + fee at the mark` cannot fall as `q` grows
                // (`fee_outgrows_maintenance`) and is already past the equity
                // by more than its rounding, every larger `q` fails too: the
                // scan would end at the whole position.
                let excess = (needed + fee_at_mark - equity).0;
                if let Some(floor) = rising
                    && m.value(held - q, mark) < floor
                    && excess > ROUNDING_SLACK + buffer.0 / crate::money::PPB
                {
                    debug_assert!(
                        (i..steps).map(lots_at).all(|q| q == held
                            || equity - self.cfg.liquidation_fee(m.value(q, mark)) < required(q)),
                        "Invariant: every larger close fails at the fee at the mark"
                    );
                    return held;
                }
                continue;
            }
            let trade = -p.lots.signum() * q;
            let price = self.execution_ticks(market, trade);
            let slippage = m.value(trade, mark) - m.value(trade, price);
            let fee = self.cfg.liquidation_fee(m.value(q, price));
            let e_after = equity + slippage - fee;
            if e_after >= needed {
                return q;
            }
        }
        held
    }

    /// Whether, in market `market`'s first bracket, closing more of a position
    /// raises `requirement after the close + fee at the mark` (up to rounding):
    /// the fee rate `φ` at least the first bracket's maintenance rate `μ`
    /// with the target's buffer `β`, `φ ≥ μ × (1 + β)`, and no margin
    /// multiplier. Then the bracket's notional floor above it (`i64::MAX` when
    /// there is none): below it, for `q' ≥ q` lots closed, with `ceil(x) ∈
    /// [x, x + 1)` on each of the three rounded terms (maintenance, buffer,
    /// fee), `g(q') ≥ L(q') ≥ L(q) > g(q) − 3 − β` where `L` is `g` without
    /// rounding, linear with slope `U × (φ − μ(1 + β)) ≥ 0` per lot
    /// (`to_target_lots`, [`ROUNDING_SLACK`]).
    fn fee_outgrows_maintenance(&self, market: usize, buffer: Rate) -> Option<Micros> {
        let fee = self.cfg.fee.0;
        let tiers = self.markets[market].margin.tiers();
        let first = tiers.first()?;
        let ppb = i128::from(crate::money::PPB);
        let rising = self.margin_mult[market] == Rate::ONE
            && buffer.0 >= 0
            && (0..=Rate::ONE.0).contains(&fee)
            && i128::from(fee) * ppb >= i128::from(first.mmr.0) * (ppb + i128::from(buffer.0));
        rising.then(|| tiers.get(1).map_or(Micros(i64::MAX), |t| t.notional_floor))
    }

    /// `chunked`: `max(fraction × size, min_chunk)`, the whole position at or
    /// below `full_below`.
    fn chunk_lots(
        &self,
        slot: u32,
        max_fraction: f64,
        min_chunk: Micros,
        full_below: Micros,
    ) -> i64 {
        let p = self.ledger.positions[slot as usize];
        let held = p.lots.abs();
        let m = &self.markets[p.market as usize];
        let mark = self.marks[p.market as usize];
        if m.value(held, mark) <= full_below {
            return held;
        }
        let by_fraction = (held as f64 * max_fraction).ceil() as i64;
        let lot_value = m.value(1, mark).0.max(1);
        let by_floor = (min_chunk.0 + lot_value - 1) / lot_value;
        by_fraction.max(by_floor).clamp(1, held)
    }

    /// Closes `lots` of the position in `slot` of account `a`, runs the waterfall if
    /// the account ends bankrupt, and returns whether it did, with the
    /// account's equity after the close and its fee when that is known
    /// without the waterfall (`None` after a deficit was covered).
    /// `deleverage`: all of it by ADL at the bankruptcy price (a limit order
    /// that filled nothing). `equity`: the account's equity now, when the
    /// caller holds it.
    fn close(
        &mut self,
        a: u32,
        slot: u32,
        lots: i64,
        deleverage: bool,
        equity: Option<Micros>,
    ) -> (bool, Option<Micros>) {
        let p = self.ledger.positions[slot as usize];
        let market = p.market as usize;
        let trade = -p.lots.signum() * lots;
        let price = self.execution_ticks(market, trade);
        let mark = self.marks[market];
        let equity_before = equity.unwrap_or_else(|| self.equity(a));
        debug_assert_eq!(
            equity_before,
            self.equity(a),
            "Invariant: the equity given is the account's at the marks"
        );
        let m = &self.markets[market];
        let e_after = equity_before + m.value(trade, mark) - m.value(trade, price);
        let split = if deleverage {
            AdlSplit {
                adl_lots: lots,
                minimum_lots: lots,
            }
        } else {
            self.adl_split(market, e_after, lots)
        };
        let market_lots = lots - split.adl_lots;
        if market_lots > 0 {
            let t = -p.lots.signum() * market_lots;
            self.trade_with_external(a, slot, t, price);
        }
        if split.adl_lots > 0 {
            let pb = self.bankruptcy_ticks(market, trade, equity_before);
            let unfilled = self.deleverage(a, slot, split.adl_lots, split.minimum_lots, pb);
            // Hyperliquid closes at the previous mark: the gap, fill by fill.
            self.settle_adl_price_gap(a, market, p.lots.signum(), pb);
            if unfilled > 0 {
                let t = -p.lots.signum() * unfilled;
                let price = self.execution_ticks(market, t);
                self.trade_with_external(a, slot, t, price);
            }
        }
        let mut equity = self.equity(a);
        if market_lots > 0 && equity.0 > 0 {
            // The fee leaves the account's collateral whole (applying its
            // pending funding moves none of its equity): the equity after it
            // is `equity - fee` exactly.
            equity -= self.charge_fee(a, market, market_lots, price, equity);
            debug_assert_eq!(
                equity,
                self.equity(a),
                "Invariant: the fee lowers the equity by itself"
            );
        }
        if equity.0 < 0 {
            // Only the part not already recorded (under `none` an account taken over
            // stays negative between the closes of its positions).
            let new = -equity - self.ledger.accounts[a as usize].shortfall_recorded;
            if new.0 > 0 {
                self.cover_deficit(a, p.market, p.lots.signum(), new);
                return (true, None);
            }
            return (true, Some(equity));
        }
        (split.adl_lots > 0, Some(equity))
    }

    /// The part of a close of `lots` that goes to ADL when it leaves equity
    /// `e_after` below zero and the market's fund cannot pay the deficit
    /// (docs/model.md §6).
    fn adl_split(&mut self, market: usize, e_after: Micros, lots: i64) -> AdlSplit {
        let mut split = AdlSplit {
            adl_lots: 0,
            minimum_lots: 0,
        };
        if e_after.0 >= 0 {
            return split;
        }
        let deficit = -e_after;
        let available = self.ledger.fund_for(market).available();
        if let (true, LastLine::Adl { scope, .. }) = (deficit > available, &self.cfg.last_line) {
            // The fund cannot cover this deficit: it is depleted for the
            // metrics even when ADL then leaves it nothing to pay. An unlimited
            // fund would have been asked this deficit (docs/model.md §7c).
            let fund = self.ledger.fund_stats_for(market);
            fund.ask(deficit, self.step);
            fund.record_shortfall(self.step);
            // The fewest lots whose deficit the fund cannot pay:
            // ceil(lots × (D − A) / D); the rest's deficit is at most A.
            let short = (deficit - available).0 as i128;
            split.minimum_lots =
                ((lots as i128 * short + deficit.0 as i128 - 1) / deficit.0 as i128) as i64;
            split.adl_lots = match scope {
                AdlScope::Position => lots,
                AdlScope::Shortfall => split.minimum_lots,
            };
        }
        split
    }

    /// Bankruptcy price in ticks of a close of `trade` lots from the state before
    /// it: `equity_before + trade × (mark − p_b) × k = 0`, rounded in the
    /// bankrupt's favour so its equity after ADL is ≥ 0.
    pub(super) fn bankruptcy_ticks(&self, market: usize, trade: i64, equity_before: Micros) -> i64 {
        let k = self.markets[market].micros_per_lot_tick as f64;
        let pb = self.marks[market] as f64 + equity_before.0 as f64 / (trade as f64 * k);
        let pb = if trade < 0 { pb.ceil() } else { pb.floor() };
        (pb as i64).max(1)
    }

    /// Charges the liquidation fee on `lots` closed at `price`, only out of the
    /// `equity` the account has left: the fund's share to the market's fund
    /// (its own, else the shared one), the rest to the liquidator. Returns the
    /// fee.
    fn charge_fee(
        &mut self,
        a: u32,
        market: usize,
        lots: i64,
        price: i64,
        equity: Micros,
    ) -> Micros {
        let notional = self.markets[market].value(lots, price);
        let fee = Micros(self.cfg.liquidation_fee(notional).0.min(equity.0));
        let to_fund = self.cfg.fund_share(fee);
        let account = Party::Account(a);
        let reason = TransferReason::LiquidationFee;
        self.ledger
            .transfer(account, self.ledger.fund_party(market), to_fund, reason);
        self.ledger
            .transfer(account, Party::Liquidators, fee - to_fund, reason);
        self.totals.liquidator_fees += fee - to_fund;
        if let Some(Event::Liquidation { fee: f, .. }) = self
            .events
            .iter_mut()
            .rev()
            .find(|e| matches!(e, Event::Liquidation { account, .. } if *account == a))
        {
            *f = fee;
        }
        fee
    }

    /// Books a trade of `trade` lots (account side) at `price` between account `a`
    /// and the external counterparty, with its flows.
    fn trade_with_external(&mut self, a: u32, slot: u32, trade: i64, price: i64) {
        let market = self.ledger.positions[slot as usize].market;
        let mi = market as usize;
        let m = &self.markets[mi];
        let v = m.value(trade, price);
        self.ledger.trade_with_external(a, slot, trade, v);
        let notional = Micros(v.0.abs());
        let f = &mut self.flows[mi];
        f.signed_flow_usd += m.value(trade, self.marks[mi]).to_usd();
        f.liquidations += 1;
        if trade < 0 {
            f.liquidated_long += notional;
        } else {
            f.liquidated_short += notional;
        }
        self.totals.liquidations += 1;
        self.totals.liquidated_notional += notional;
        if self.record_events {
            self.events.push(Event::Liquidation {
                account: a,
                market,
                lots: trade,
                price,
                fee: Micros::ZERO,
            });
        }
    }
}
