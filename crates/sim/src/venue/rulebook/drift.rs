//! Drift v2 perpetuals (docs/venues.md §5).

use super::book::{Bracket, RuleBook, Venue};

/// BTC-PERP: 5% initial (20x), 2.5% maintenance margin ratio.
pub const BTC_BRACKETS: &[Bracket] = &[(0.0, 0.05, 0.025)];

/// Drift's quote precision (USDC, 6 decimals).
pub const QUOTE_PRECISION: u128 = 1_000_000;
/// Drift's base precision (9 decimals).
pub const BASE_PRECISION: u128 = 1_000_000_000;
/// `FUNDING_RATE_TO_QUOTE_PRECISION_PRECISION_RATIO`.
pub const FUNDING_TO_QUOTE_RATIO: u128 = 1_000;

/// The rule book.
pub fn rule_book() -> RuleBook {
    RuleBook {
        venue: Venue::Drift,
        btc_brackets: BTC_BRACKETS,
        // Hourly funding, clamped per contract tier (0.125% per hour, tier A).
        funding_interval_seconds: 3600,
        funding_cap: 0.001_25,
        // Liquidators take any portion until the account is above maintenance
        // plus the liquidation buffer.
        liquidation_mode: "to_target",
        // Liquidator fee 1% of the liquidated notional; half the penalty to the
        // insurance fund (the `if_liquidation_fee`).
        liquidation_fee: 0.01,
        insurance_fund_share: 0.5,
        latency_seconds: 0,
        target_buffer: 0.02,
        chunk_fraction: 1.0,
        chunk_min_usd: 0.0,
        chunk_full_below_usd: 0.0,
        chunk_then_whole: false,
        cooldown_seconds: 0,
        insurance_fund_initial: None,
        // What the fund cannot pay is spread over every open position of the
        // market, both sides, through the cumulative funding rate.
        last_line: "socialize_funding",
        adl: "queue",
        ranking: "binance",
        adl_price: "bankruptcy",
        fillable_limit: None,
        block_limits: None,
    }
}

/// `calculate_funding_rate_deltas_to_resolve_bankruptcy`: the change of the
/// cumulative funding rate (funding precision) that charges `loss` (quote
/// precision) to `base_long + base_short` (base precision, absolute), rounded up.
pub fn socialized_funding_delta(loss: u128, base_long: u128, base_short: u128) -> u128 {
    let total = base_long + base_short;
    (loss * BASE_PRECISION).div_ceil(total) * FUNDING_TO_QUOTE_RATIO
}
