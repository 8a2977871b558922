//! The liquidation index (docs/model.md §9): which accounts a move of the mark
//! can have made liquidatable, and the queue of liquidations due.
//!
//! Each account with open positions has, per position, a **trigger** in ticks: a
//! long is safe while the mark stays above its trigger, a short while it stays
//! below. Triggers sit in two heaps per market (max-heap for longs, min-heap for
//! shorts). A step compares the mark with the two heap tops: a quiet step is O(1)
//! per market (O(log n) to pop an entry when one is crossed), independent of the
//! number of accounts. A crossed trigger costs one exact evaluation of the account
//! (O(positions)). Triggers are the exact liquidation price for single-position
//! accounts (closed form per bracket, with a safety margin of a tick or two for
//! rounding), and conservative bands for multi-position cross accounts (the equity
//! buffer split across positions by notional, with worst-case slopes). Stale heap
//! entries are skipped by a version number and compacted when they pile up.
//!
//! Funding settlement touches every position (O(n)) and rebuilds the index
//! (O(n log n)); it happens once per funding interval (every 480 one-minute steps at
//! Binance's 8 hours).
//!
//! The heaps and the due queue are [`super::triggers::LiquidationIndex`]; this
//! file computes the triggers and detects breaches.

use std::cmp::Reverse;

use super::Engine;

impl Engine {
    /// Breach detection (step stage 6): every account whose trigger the marks
    /// crossed is evaluated exactly, in account order.
    pub(super) fn collect_breaches(&mut self) {
        let mut breached = std::mem::take(&mut self.scratch.breached);
        breached.clear();
        for i in 0..self.markets.len() {
            let mark = self.marks[i];
            let accounts = &mut self.ledger.accounts;
            self.index.pop_crossed(i, mark, |a, version| {
                let acc = &mut accounts[a as usize];
                if acc.version == version && !acc.pending && !acc.queued {
                    acc.queued = true;
                    breached.push(a);
                }
            });
        }
        breached.sort_unstable();
        for &a in &breached {
            self.ledger.accounts[a as usize].queued = false;
            self.recheck(a);
        }
        self.scratch.breached = breached;
    }

    /// Evaluates an account now: schedules its liquidation if it is liquidatable,
    /// otherwise refreshes its triggers.
    pub(super) fn recheck(&mut self, a: u32) {
        if self.ledger.accounts[a as usize].pending {
            return;
        }
        if self.is_liquidatable(a) {
            let acc = &mut self.ledger.accounts[a as usize];
            acc.pending = true;
            acc.version = acc.version.wrapping_add(1);
            self.index.due.push(Reverse((
                self.step.saturating_add(self.cfg.latency_steps),
                a,
            )));
        } else {
            self.index_account(a);
        }
    }

    /// Evaluates every account and rebuilds the triggers: at the start, after a
    /// funding settlement or a change of margin multipliers, and to compact.
    pub(super) fn reindex_all(&mut self) {
        self.index.clear_triggers();
        if let Some(c) = self.collateral.as_mut() {
            c.assumed.fill(0.0);
        }
        // Funding (or a population that starts underwater) can make accounts
        // liquidatable without any mark crossing a trigger: evaluate every account.
        for a in 0..self.ledger.accounts.len() as u32 {
            self.recheck(a);
        }
    }

    /// Recomputes the triggers of a safe account and pushes them (old entries go
    /// stale through the version number).
    fn index_account(&mut self, a: u32) {
        let acc = &mut self.ledger.accounts[a as usize];
        acc.version = acc.version.wrapping_add(1);
        let version = acc.version;
        let (first, count) = (acc.first_slot, acc.slot_count);
        let positions = &self.ledger.positions;
        let open: u32 = (first..first + count)
            .filter(|&s| positions[s as usize].lots != 0)
            .count() as u32;
        if open == 0 {
            return;
        }
        self.note_assumed_collateral(a);
        if open == 1 {
            self.index_single(a, version);
        } else {
            self.index_multi(a, version, open);
        }
    }

    /// The trigger of a single-position account: its exact liquidation price, a
    /// few ticks on the safe side to absorb rounding.
    fn index_single(&mut self, a: u32, version: u32) {
        let acc = &self.ledger.accounts[a as usize];
        let (first, count) = (acc.first_slot, acc.slot_count);
        let s = (first..first + count)
            .find(|&s| self.ledger.positions[s as usize].lots != 0)
            .unwrap_or(first);
        let p = self.ledger.positions[s as usize];
        let mi = p.market as usize;
        let mark = self.marks[mi];
        let m = &self.markets[mi];
        // Margin for rounding: enough ticks to cover a few micros of ceil error.
        let per_tick = (p.lots.abs() as f64) * m.micros_per_lot_tick as f64;
        let margin = 1 + (4.0 / per_tick).ceil() as i64;
        let liq = self
            .liquidation_ticks(a, (s - first) as usize, self.index_equity(a))
            .map(|(t, _)| t);
        if p.lots > 0 {
            let trigger = match liq {
                Some(l) => (l.floor() as i64 + margin).min(mark - 1),
                None => 0,
            };
            self.index.longs[mi].push((trigger, Reverse(a), version));
        } else {
            let trigger = match liq {
                Some(l) => (l.ceil() as i64 - margin).max(mark + 1),
                None => mark + 1,
            };
            self.index.shorts[mi].push((Reverse(trigger), Reverse(a), version));
        }
    }

    /// The triggers of a multi-position cross account: the equity buffer split
    /// over positions by notional, with worst-case slopes (long: `|s|·k` per tick
    /// down; short: `|s|·k·(1 + max mmr × multiplier)`).
    fn index_multi(&mut self, a: u32, version: u32, open: u32) {
        let acc = &self.ledger.accounts[a as usize];
        let (first, count) = (acc.first_slot, acc.slot_count);
        let buffer = (self.index_equity(a) - self.maintenance(a)).0 - open as i64;
        let buffer = buffer.max(0) as f64;
        let total_notional: f64 = (first..first + count)
            .map(|s| {
                let p = self.ledger.positions[s as usize];
                let m = &self.markets[p.market as usize];
                m.value(p.lots.abs(), self.marks[p.market as usize]).0 as f64
            })
            .sum();
        for s in first..first + count {
            let p = self.ledger.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            let mi = p.market as usize;
            let m = &self.markets[mi];
            let mark = self.marks[mi];
            let notional = m.value(p.lots.abs(), mark).0 as f64;
            let share = buffer * notional / total_notional.max(1.0);
            let per_tick = p.lots.abs() as f64 * m.micros_per_lot_tick as f64;
            if p.lots > 0 {
                let room = (share / per_tick).floor() as i64;
                self.index.longs[mi].push((
                    mark.saturating_sub(room).saturating_sub(1),
                    Reverse(a),
                    version,
                ));
            } else {
                let mult = self.margin_mult[mi].as_fraction();
                let slope = per_tick * (1.0 + m.margin.max_maintenance_slope(mult));
                let room = (share / slope).floor() as i64;
                self.index.shorts[mi].push((
                    Reverse(mark.saturating_add(room).saturating_add(1)),
                    Reverse(a),
                    version,
                ));
            }
        }
    }
}
