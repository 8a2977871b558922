//! The liquidity vault's rules and statistics (data only; the behaviour is
//! `vault.rs`, docs/model.md §6b).

use crate::money::{Micros, Rate};

/// The vault's rules, resolved from the scenario's `[vault]` table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VaultRules {
    /// Its own capital at the opening (cash).
    pub capital: Micros,
    /// A takeover that would leave its equity below this is refused.
    pub floor: Micros,
    /// Share of each market's inventory sold to the market per step (at least
    /// one lot while it holds any); 0 holds to the end.
    pub unwind_fraction: f64,
    /// An account whose equity is below this fraction of its maintenance
    /// requirement when its liquidation executes is taken over whole
    /// (Hyperliquid: 2/3); an account at or below zero equity always is.
    pub takeover_below: Rate,
}

/// What the vault did on a path, for the per-path metrics (docs/model.md §7).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VaultStats {
    /// Capital at the opening.
    pub capital: Micros,
    /// Equity now (cash + inventory at the marks), after the last step.
    pub equity: Micros,
    /// Lowest equity at a step's end (the capital before the first step).
    pub equity_min: Micros,
    /// Highest equity so far, for the drawdown.
    pub equity_peak: Micros,
    /// Largest fall of the equity from a running peak.
    pub max_drawdown: Micros,
    /// Positions taken over.
    pub takeovers: u32,
    /// Notional taken over, at the mark.
    pub takeover_notional: Micros,
    /// Deficits the vault absorbed: what it paid above the mark taking over
    /// accounts already below zero equity (part of the bad debt).
    pub bad_debt: Micros,
    /// Notional sold back to the market (unwinds), at execution prices.
    pub unwound_notional: Micros,
    /// Largest inventory at a step's end, gross notional at the marks.
    pub peak_inventory: Micros,
    /// Inventory after the last step, gross notional at the marks.
    pub inventory: Micros,
    /// The longest run of consecutive steps ending with inventory held.
    pub longest_hold_steps: u32,
    pub(super) hold_steps: u32,
    /// Takeovers refused because of the floor.
    pub refused: u32,
    /// First step a takeover was refused because of the floor.
    pub floor_step: Option<u32>,
}

/// The vault's rules and statistics inside the engine.
pub(super) struct VaultState {
    pub(super) rules: VaultRules,
    pub(super) stats: VaultStats,
}
