//! The liquidity vault (docs/model.md §6b): a party with its own capital that
//! takes over the positions of accounts too far below maintenance (Hyperliquid's
//! backstop liquidation by its liquidator vault, HLP), at the bankruptcy price,
//! holds them, and unwinds a share of its inventory into the market every step,
//! paying the impact. Its equity (cash + inventory at the marks) is marked at
//! every step's end; a takeover that would leave it below its floor is refused,
//! and the account is liquidated as without a vault (then the fund and the last
//! line: ADL on Hyperliquid).
//!
//! Money: the vault's cash is [`Party::Vault`](super::Party) in the ledger and
//! its inventory a position per market, so it is inside conservation and the
//! positions' zero sum (docs/model.md §8).

use crate::money::Micros;

use super::Engine;
use super::vault_book::{VaultRules, VaultState, VaultStats};

impl Engine {
    /// Installs a liquidity vault with its capital (call before the first step,
    /// once).
    pub fn set_vault(&mut self, rules: VaultRules) {
        debug_assert!(self.vault.is_none(), "Invariant: one vault per engine");
        self.ledger.open_vault(rules.capital);
        let stats = VaultStats {
            capital: rules.capital,
            equity: rules.capital,
            equity_min: rules.capital,
            equity_peak: rules.capital,
            ..VaultStats::default()
        };
        self.vault = Some(VaultState { rules, stats });
    }

    /// The vault's statistics, when the venue has one.
    pub fn vault(&self) -> Option<&VaultStats> {
        self.vault.as_ref().map(|v| &v.stats)
    }

    /// The vault's equity now: its cash plus its inventory at the marks.
    /// O(markets).
    pub fn vault_equity(&self) -> Micros {
        let l = &self.ledger;
        let mut e = l.balance(super::Party::Vault);
        for (i, m) in self.markets.iter().enumerate() {
            e += m.value(l.vault_lots[i], self.marks[i]) - l.vault_cost[i];
        }
        e
    }

    /// The vault's lots in `market` and the signed sum of its trades' values.
    pub fn vault_position(&self, market: usize) -> (i64, Micros) {
        (
            self.ledger.vault_lots[market],
            self.ledger.vault_cost[market],
        )
    }

    /// Whether an account at `equity` against `maintenance` is for the vault.
    pub(super) fn vault_wants(&self, equity: Micros, maintenance: Micros) -> bool {
        self.vault.as_ref().is_some_and(|v| {
            equity.0 <= 0 || equity < v.rules.takeover_below.apply_floor(maintenance)
        })
    }

    /// Takes over every open position of account `a` at its bankruptcy price,
    /// position by position while the vault stays at or above its floor.
    /// Returns whether the account is flat (a refusal leaves the rest to the
    /// liquidation).
    pub(super) fn vault_take_over(&mut self, a: u32) -> bool {
        let (first, count) = {
            let acc = &self.ledger.accounts[a as usize];
            (acc.first_slot, acc.slot_count)
        };
        for s in first..first + count {
            let p = self.ledger.positions[s as usize];
            if p.lots == 0 {
                continue;
            }
            let mi = p.market as usize;
            let trade = -p.lots;
            let pb = self.bankruptcy_ticks(mi, trade, self.equity(a));
            let m = &self.markets[mi];
            let mark = self.marks[mi];
            // The vault's side is `p.lots` at `pb`: its gain against the mark
            // (the account's equity, negative when it was already bankrupt).
            let gain = m.value(p.lots, mark) - m.value(p.lots, pb);
            let notional = m.value(p.lots.abs(), mark);
            let value = m.value(trade, pb);
            let equity_after = self.vault_equity() + gain;
            let step = self.step;
            let Some(v) = self.vault.as_mut() else {
                return false;
            };
            if equity_after < v.rules.floor {
                v.stats.refused += 1;
                v.stats.floor_step.get_or_insert(step);
                return false;
            }
            v.stats.takeovers += 1;
            v.stats.takeover_notional += notional;
            let absorbed = (-gain).max(Micros::ZERO);
            v.stats.bad_debt += absorbed;
            self.ledger.trade_with_vault(s, trade, value);
            if absorbed.0 > 0 {
                self.ledger.mark_dirty(a);
                self.ledger.accounts[a as usize].deficit += absorbed;
                self.venue_flows.bad_debt += absorbed;
                self.venue_flows.covered_by_vault += absorbed;
                self.totals.bad_debt += absorbed;
                self.totals.covered_by_vault += absorbed;
            }
        }
        true
    }

    /// Step stage 7b: the vault sells `unwind_fraction` of each market's
    /// inventory (at least one lot) to the market at the impact price, its
    /// flow moving the impact like a liquidation's; then its equity is marked.
    /// O(markets).
    pub(super) fn vault_end_step(&mut self) {
        let Some(fraction) = self.vault.as_ref().map(|v| v.rules.unwind_fraction) else {
            return;
        };
        let mut unwound = Micros::ZERO;
        let mut inventory = Micros::ZERO;
        for mi in 0..self.markets.len() {
            let held = self.ledger.vault_lots[mi];
            if held != 0 && fraction > 0.0 {
                let q = ((held.abs() as f64 * fraction).ceil() as i64).clamp(1, held.abs());
                let trade = -held.signum() * q;
                let price = self.execution_ticks(mi, trade);
                let m = &self.markets[mi];
                let value = m.value(trade, price);
                let at_mark = m.value(trade, self.marks[mi]).to_usd();
                self.ledger.vault_trade_with_external(mi, trade, value);
                self.flows[mi].signed_flow_usd += at_mark;
                unwound += Micros(value.0.abs());
            }
            let m = &self.markets[mi];
            inventory += m.value(self.ledger.vault_lots[mi].abs(), self.marks[mi]);
        }
        let equity = self.vault_equity();
        let Some(v) = self.vault.as_mut() else {
            return;
        };
        let s = &mut v.stats;
        s.unwound_notional += unwound;
        s.equity = equity;
        s.equity_min = s.equity_min.min(equity);
        s.equity_peak = s.equity_peak.max(equity);
        s.max_drawdown = s.max_drawdown.max(s.equity_peak - equity);
        s.inventory = inventory;
        s.peak_inventory = s.peak_inventory.max(inventory);
        if inventory.0 > 0 {
            s.hold_steps += 1;
            s.longest_hold_steps = s.longest_hold_steps.max(s.hold_steps);
        } else {
            s.hold_steps = 0;
        }
    }
}
