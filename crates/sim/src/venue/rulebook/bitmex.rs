//! BitMEX linear perpetuals (docs/venues.md §4).

use super::book::{Bracket, RuleBook, Venue};

/// XBTUSDT: 1% initial, 0.5% maintenance margin (base risk limit).
pub const XBTUSDT_BRACKETS: &[Bracket] = &[(0.0, 0.01, 0.005)];

/// The rule book.
pub fn rule_book() -> RuleBook {
    RuleBook {
        venue: Venue::Bitmex,
        btc_brackets: XBTUSDT_BRACKETS,
        // Funding every 8 hours, capped at 75% of (initial − maintenance margin).
        funding_interval_seconds: 8 * 3600,
        funding_cap: 0.75 * (0.01 - 0.005),
        // The liquidation engine takes over the whole position; what is left of
        // the maintenance margin goes to the insurance fund.
        liquidation_mode: "full",
        liquidation_fee: 0.005,
        insurance_fund_share: 1.0,
        latency_seconds: 0,
        target_buffer: 0.0,
        chunk_fraction: 1.0,
        chunk_min_usd: 0.0,
        chunk_full_below_usd: 0.0,
        chunk_then_whole: false,
        cooldown_seconds: 0,
        insurance_fund_initial: None,
        // ADL ranked by PnL% × effective leverage, at the bankruptcy price.
        last_line: "adl",
        adl: "queue",
        ranking: "bitmex",
        adl_price: "bankruptcy",
        fillable_limit: None,
        block_limits: None,
    }
}
